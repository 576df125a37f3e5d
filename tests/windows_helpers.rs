//! Helpers for the `windows_*` tests (included with `#[path]`; as its own test target it is
//! empty). Builds run the real binary; parsers here follow the target's documented rules, not
//! agentpack's code.
#![allow(dead_code)]

use assert_cmd::Command;
use std::path::{Path, PathBuf};

pub const TOKEN: &str = "0fb12341-246b-448d-b07f-c6573ad5ad02";
pub const VENDOR_PRODUCT_CODE: &str = "{6F1A2B3C-4D5E-4F60-8172-93A4B5C6D7E8}";

pub fn msi_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/msi")
        .join(name)
}

/// Write a policy file; `extra` is appended YAML.
pub fn policy(dir: &Path, name: &str, extra: &str) -> PathBuf {
    let p = dir.join(format!("{name}.yaml"));
    let text = format!(
        "name: {name}\nproduct: crashplan\norganization: Acme\ndeployment_url: https://console.example.com:4285\ntoken: {TOKEN}\nregistration: silent\ncloaked: false\n{extra}"
    );
    std::fs::write(&p, text).unwrap();
    p
}

pub struct Built {
    pub out: PathBuf,
    pub stdout: String,
    pub stderr: String,
}

/// `agentpack build --policy P... --msi MSI --out DIR/out [extra args]`, asserting success.
pub fn build(dir: &Path, policies: &[PathBuf], msi: &Path, extra: &[&str]) -> Built {
    let out = dir.join("out");
    let mut cmd = Command::cargo_bin("agentpack").unwrap();
    cmd.current_dir(dir).args(extra).arg("build");
    for p in policies {
        cmd.arg("--policy").arg(p);
    }
    let o = cmd
        .arg("--msi")
        .arg(msi)
        .arg("--out")
        .arg(&out)
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "build failed: {stdout}\n{stderr}");
    Built {
        out,
        stdout,
        stderr,
    }
}

pub fn manifest(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap()
}

/// Undo cmd.exe's batch-file percent phase for text without variables: `%%` → `%`.
pub fn batch_percent(line: &str) -> String {
    line.replace("%%", "%")
}

/// Split an msiexec command line per msiexec's rules (reference §12): whitespace separates
/// tokens outside quotes; `"` toggles quoting; inside quotes `""` is one literal `"`.
pub fn msiexec_tokens(line: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut started = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            '"' => {
                quoted = !quoted;
                started = true;
            }
            c if c.is_whitespace() && !quoted => {
                if started {
                    tokens.push(std::mem::take(&mut cur));
                    started = false;
                }
            }
            c => {
                cur.push(c);
                started = true;
            }
        }
    }
    assert!(!quoted, "unbalanced quotes in {line}");
    if started {
        tokens.push(cur);
    }
    tokens
}

/// The value of a PowerShell verbatim string literal `'...'` at the start of `s` (`''` = `'`).
pub fn ps_single(s: &str) -> String {
    let body = s.strip_prefix('\'').expect("a single-quoted literal");
    let mut out = String::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            if chars.peek() == Some(&'\'') {
                chars.next();
                out.push('\'');
            } else {
                return out;
            }
        } else {
            out.push(c);
        }
    }
    panic!("unterminated literal: {s}");
}

/// `$Name = '...'` from a script.
pub fn ps_assignment(script: &str, name: &str) -> String {
    let prefix = format!("${name}");
    let line = script
        .lines()
        .find(|l| l.split_whitespace().next() == Some(prefix.as_str()))
        .unwrap_or_else(|| panic!("no ${name} in the script"));
    ps_single(line.split_once('=').unwrap().1.trim_start())
}

/// The Property table after applying a decoded transform's Property changes to `base`.
pub fn property_values(
    base: &agentpack::formats::mst::Database,
    dump: &agentpack::formats::mst::TransformDump,
) -> std::collections::BTreeMap<String, String> {
    use agentpack::formats::mst::RowChange;
    let mut props: std::collections::BTreeMap<String, String> = base
        .properties()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let text = |v: &agentpack::formats::mst::Value| v.as_str().unwrap_or("").to_string();
    for r in dump
        .table("Property")
        .map(|t| t.rows.as_slice())
        .unwrap_or_default()
    {
        match r {
            RowChange::Insert { row } => {
                props.insert(text(&row[0]), text(&row[1]));
            }
            RowChange::Update { key, columns } => {
                for (i, v) in columns {
                    assert_eq!(*i, 1, "Property has one non-key column");
                    props.insert(text(&key[0]), text(v));
                }
            }
            RowChange::Delete { key } => {
                props.remove(&text(&key[0]));
            }
        }
    }
    props
}
