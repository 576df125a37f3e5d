//! Property tests through the real build: for values a policy allows (any organization text
//! without control characters, URLs with any path characters validation lets through), every
//! artifact carries the value back exactly:
//! * install-args.txt, split by msiexec's rules (independent parser below), gives each value;
//! * the Jamf script, run by `sh` against a temporary volume (`$1`), writes a deploy.properties
//!   that parses (java.util.Properties rules) to the values, byte-identical to the built one,
//!   and logs the organization unchanged; nothing in a value is executed;
//! * configuration profiles parse as plists holding the organization; the Jamf Classic XML and
//!   API JSON embed the script byte for byte and the profile plist intact.
//!
//! Bounded (few cases, each one build) so it runs in seconds; `PROPTEST_CASES` raises it.

mod common;

use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Text validation allows for `organization`: no control characters, not blank, ≤ 2048 bytes.
/// Biased towards the metacharacters of every target.
fn organization() -> impl Strategy<Value = String> {
    let meta = prop::sample::select(vec![
        "$(touch MARKER)",
        "`touch MARKER`",
        "'",
        "\"",
        "\\",
        "%PATH%",
        "!x!",
        "^",
        "&",
        "|",
        "<",
        ">",
        ";",
        "&amp;",
        "]]>",
        "<!--",
        "${IFS}",
        "$HOME",
        "@(",
        "'@",
        "\u{e9}",
        "\u{4e2d}\u{6587}",
        "\u{1f600}",
        "\u{feff}",
        "\u{200b}",
        " ",
        "#",
        "=",
        ":",
        "\u{2028}",
        "\u{fffd}",
        "*",
        "?",
        "~",
        "{0}",
        "\\n",
    ]);
    let plain = "[A-Za-z0-9 .,-]{1,6}";
    let any = any::<char>()
        .prop_filter("no control characters", |c| !c.is_control())
        .prop_map(String::from);
    prop::collection::vec(prop_oneof![3 => meta.prop_map(str::to_string), 2 => plain.prop_map(String::from), 2 => any], 1..12)
        .prop_map(|parts| parts.concat())
        .prop_filter("not blank", |s| !s.trim().is_empty())
}

/// URL paths validation allows in packed values: no white space, `&`, `"`, `=` or controls.
/// ASCII only: the values also go into the MSI's Property table, whose codepage (1252 in the
/// fixture) cannot hold every character; that refusal is tested with the transform.
fn url_path() -> impl Strategy<Value = String> {
    let allowed =
        prop::char::range('!', '~').prop_filter("packable", |c| !matches!(c, '&' | '"' | '='));
    let meta = prop::sample::select(vec![
        "$(touch${IFS}MARKER)",
        "`id`",
        "'",
        "%TEMP%",
        "^",
        "!",
        "<",
        ">",
        ";",
        "|",
        "\\",
        "?",
        "#",
        "%26",
    ]);
    prop::collection::vec(
        prop_oneof![
            meta.prop_map(str::to_string),
            allowed.prop_map(String::from)
        ],
        0..10,
    )
    .prop_map(|p| p.concat())
}

#[derive(Debug, Clone)]
struct Values {
    organization: String,
    deployment_url: String,
    proxy_url: Option<String>,
    token: String,
    silent: bool,
    cloaked: bool,
}

fn values() -> impl Strategy<Value = Values> {
    (
        organization(),
        url_path(),
        prop::option::of(url_path()),
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(organization, path, proxy, token, silent, cloaked)| Values {
                organization,
                deployment_url: format!("https://backup.example.com:4285/{path}"),
                proxy_url: proxy.map(|p| format!("http://proxy.example.com:8080/{p}")),
                token,
                silent,
                cloaked,
            },
        )
}

/// msiexec's command line: white space separates; `"` toggles quoting; inside quotes `""` is a
/// literal quote. Returns NAME → VALUE for every NAME=VALUE token (options are skipped).
fn msiexec_properties(line: &str) -> BTreeMap<String, String> {
    let mut tokens = Vec::new();
    let (mut cur, mut quoted, mut any) = (String::new(), false, false);
    let chars: Vec<char> = line.trim_end_matches(['\r', '\n']).chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            if quoted && chars.get(i + 1) == Some(&'"') {
                cur.push('"');
                i += 1;
            } else {
                quoted = !quoted;
            }
            any = true;
        } else if c.is_whitespace() && !quoted {
            if any {
                tokens.push(std::mem::take(&mut cur));
            }
            any = false;
        } else {
            cur.push(c);
            any = true;
        }
        i += 1;
    }
    assert!(!quoted, "unbalanced quotes in {line:?}");
    if any {
        tokens.push(cur);
    }
    tokens
        .into_iter()
        .filter(|t| !t.starts_with('/'))
        .filter_map(|t| {
            t.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}

/// java.util.Properties: `key=value` lines, `\` escapes (`\uXXXX`, `\t`, `\n`, `\\`, `\:`, ...),
/// `#`/`!` comments, line continuations.
fn java_properties(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut logical = String::new();
    let mut lines = text.split('\n').map(|l| l.trim_end_matches('\r'));
    while let Some(line) = lines.next() {
        let mut l = line.trim_start().to_string();
        if logical.is_empty() && (l.is_empty() || l.starts_with('#') || l.starts_with('!')) {
            continue;
        }
        // An odd number of trailing backslashes continues the line.
        while l.chars().rev().take_while(|&c| c == '\\').count() % 2 == 1 {
            l.pop();
            logical.push_str(&l);
            l = lines.next().unwrap_or("").trim_start().to_string();
        }
        logical.push_str(&l);
        let s = std::mem::take(&mut logical);
        let mut key = String::new();
        let mut value = String::new();
        let mut in_key = true;
        let mut chars = s.chars().peekable();
        let mut sep_done = false;
        while let Some(c) = chars.next() {
            let ch = if c == '\\' {
                match chars.next() {
                    Some('u') => {
                        let hex: String = chars.by_ref().take(4).collect();
                        char::from_u32(u32::from_str_radix(&hex, 16).expect("\\u escape"))
                            .expect("char")
                    }
                    Some('t') => '\t',
                    Some('n') => '\n',
                    Some('r') => '\r',
                    Some('f') => '\u{c}',
                    Some(o) => o,
                    None => break,
                }
            } else if in_key && (c == '=' || c == ':' || c.is_whitespace()) {
                in_key = false;
                while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
                    chars.next();
                }
                if !sep_done
                    && (c.is_whitespace())
                    && chars.peek().is_some_and(|c| *c == '=' || *c == ':')
                {
                    chars.next();
                    while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
                        chars.next();
                    }
                }
                sep_done = true;
                continue;
            } else {
                c
            };
            if in_key {
                key.push(ch);
            } else {
                value.push(ch);
            }
        }
        out.insert(key, value);
    }
    out
}

fn expected_properties(v: &Values) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    m.insert("DEPLOYMENT_URL".to_string(), v.deployment_url.clone());
    m.insert("DEPLOYMENT_POLICY_TOKEN".to_string(), v.token.clone());
    if let Some(p) = &v.proxy_url {
        m.insert("PROXY_URL".to_string(), p.clone());
    }
    m.insert("CP_SILENT".to_string(), v.silent.to_string());
    m.insert("DEVICE_CLOAKED".to_string(), v.cloaked.to_string());
    m
}

fn find(out: &Path, suffix: &str) -> PathBuf {
    walkdir::WalkDir::new(out)
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .find(|p| p.to_string_lossy().ends_with(suffix))
        .unwrap_or_else(|| panic!("no *{suffix} in {}", out.display()))
}

/// All decoded text of an XML document, per element name (quick-xml decodes, we resolve refs).
fn xml_texts(bytes: &[u8]) -> BTreeMap<String, String> {
    use quick_xml::events::Event;
    let text = std::str::from_utf8(bytes).expect("UTF-8 XML");
    let mut r = quick_xml::Reader::from_str(text);
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let mut stack: Vec<String> = Vec::new();
    loop {
        let piece = match r.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                stack.push(e.name().as_ref().to_string());
                continue;
            }
            Event::End(_) => {
                stack.pop();
                continue;
            }
            Event::Text(t) => t.xml10_content().into_owned(),
            Event::CData(t) => t.xml10_content().into_owned(),
            Event::GeneralRef(e) => {
                let name = e.xml10_content().into_owned();
                match name.as_str() {
                    "lt" => "<".to_string(),
                    "gt" => ">".to_string(),
                    "amp" => "&".to_string(),
                    "apos" => "'".to_string(),
                    "quot" => "\"".to_string(),
                    n if n.starts_with("#x") => {
                        char::from_u32(u32::from_str_radix(&n[2..], 16).unwrap())
                            .unwrap()
                            .to_string()
                    }
                    n if n.starts_with('#') => {
                        char::from_u32(n[1..].parse().unwrap()).unwrap().to_string()
                    }
                    n => panic!("unknown entity &{n};"),
                }
            }
            Event::Eof => break,
            _ => continue,
        };
        out.entry(stack.last().cloned().unwrap_or_default())
            .or_default()
            .push_str(&piece);
    }
    out
}

fn plist_strings(v: &plist::Value, out: &mut Vec<String>) {
    match v {
        plist::Value::String(s) => out.push(s.clone()),
        plist::Value::Array(a) => a.iter().for_each(|x| plist_strings(x, out)),
        plist::Value::Dictionary(d) => d.values().for_each(|x| plist_strings(x, out)),
        _ => {}
    }
}

fn check(v: &Values) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let marker = d.join("MARKER");
    let fix = |s: &str| s.replace("MARKER", &marker.to_string_lossy());
    let v = Values {
        organization: fix(&v.organization),
        deployment_url: fix(&v.deployment_url),
        proxy_url: v.proxy_url.as_deref().map(fix),
        ..v.clone()
    };
    // JSON carries any text without YAML's quoting questions.
    let mut policy = serde_json::json!({
        "name": "prop", "product": "crashplan", "organization": v.organization,
        "deployment_url": v.deployment_url, "token": v.token,
        "registration": if v.silent { "silent" } else { "manual" }, "cloaked": v.cloaked,
    });
    if let Some(p) = &v.proxy_url {
        policy["proxy_url"] = p.clone().into();
    }
    std::fs::write(d.join("prop.json"), policy.to_string()).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_agentpack"))
        .args(["build", "--policy", "prop.json", "--out", "out", "--msi"])
        .arg(common::fixture("msi/vendor.msi"))
        .arg("--pkg")
        .arg(common::fixture("pkg/vendor-crashplan-dist.pkg"))
        .current_dir(d)
        .output()
        .unwrap();
    prop_assert!(
        o.status.success(),
        "build failed for {v:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = d.join("out");

    // install-args.txt by msiexec's rules.
    let args = std::fs::read_to_string(find(&out, "windows/install-args.txt")).unwrap();
    let props = msiexec_properties(&args);
    let packed: BTreeMap<String, String> = props["CP_ARGS"]
        .split('&')
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .unwrap()
        })
        .collect();
    let want = expected_properties(&v);
    prop_assert_eq!(packed.get("DEPLOYMENT_URL"), want.get("DEPLOYMENT_URL"));
    prop_assert_eq!(
        packed.get("DEPLOYMENT_POLICY_TOKEN"),
        want.get("DEPLOYMENT_POLICY_TOKEN")
    );
    prop_assert_eq!(packed.get("PROXY_URL"), want.get("PROXY_URL"));
    prop_assert_eq!(props.get("CP_SILENT"), want.get("CP_SILENT"));
    prop_assert_eq!(props.get("DEVICE_CLOAKED"), want.get("DEVICE_CLOAKED"));

    // deploy.properties as built.
    let built = std::fs::read(find(&out, "macos/deploy.properties")).unwrap();
    prop_assert_eq!(
        java_properties(&String::from_utf8(built.clone()).unwrap()),
        want.clone()
    );

    // The Jamf script, run against a temporary volume: writes the same file, logs the org.
    let script = find(&out, "jamf/install-prop.sh");
    let volume = d.join("volume");
    std::fs::create_dir(&volume).unwrap();
    let run = Command::new("sh")
        .arg(&script)
        .arg(&volume)
        .arg("computer")
        .arg("user")
        .current_dir(d)
        .output()
        .unwrap();
    prop_assert!(
        run.status.success(),
        "script failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let written = walkdir::WalkDir::new(&volume)
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .find(|p| p.ends_with("deploy.properties"));
    let written = written.expect("the script wrote deploy.properties");
    prop_assert_eq!(
        std::fs::read(&written).unwrap(),
        built,
        "the script wrote other bytes than deploy.properties"
    );
    let log = String::from_utf8_lossy(&run.stdout);
    prop_assert!(
        log.contains(&format!(" for {}", v.organization)),
        "the log does not carry the organization: {}",
        log
    );
    prop_assert!(!marker.exists(), "a value was executed");

    // Profiles: plists holding the organization; Jamf XML/JSON wrap script and plist intact.
    let script_text = std::fs::read_to_string(&script).unwrap();
    for entry in walkdir::WalkDir::new(&out) {
        let p = entry.unwrap().into_path();
        let name = p.to_string_lossy().into_owned();
        if name.ends_with(".mobileconfig") {
            let value = plist::Value::from_file(&p)
                .map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
            let mut strings = Vec::new();
            plist_strings(&value, &mut strings);
            prop_assert!(
                strings.contains(&v.organization),
                "{} lacks the organization",
                name
            );
        } else if name.ends_with("classic/script.xml") {
            let texts = xml_texts(&std::fs::read(&p).unwrap());
            prop_assert_eq!(texts.get("script_contents"), Some(&script_text));
        } else if name.ends_with(".xml") {
            let texts = xml_texts(&std::fs::read(&p).unwrap());
            if let Some(payload) = texts.get("payloads") {
                let value = plist::Value::from_reader_xml(payload.as_bytes())
                    .map_err(|e| TestCaseError::fail(format!("{name}: payload: {e}")))?;
                let mut strings = Vec::new();
                plist_strings(&value, &mut strings);
                prop_assert!(
                    strings.contains(&v.organization),
                    "{} payload lacks the organization",
                    name
                );
            }
        } else if name.ends_with("api/script.json") {
            let j: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            prop_assert_eq!(j["scriptContents"].as_str(), Some(script_text.as_str()));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24), max_shrink_iters: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_allowed_value_round_trips_through_the_build(v in values()) {
        check(&v)?;
    }
}

#[test]
fn the_parsers_follow_their_rules() {
    let p = msiexec_properties(r#"A="x ""y"" z" B=1 /qn C="" D=plain"#);
    assert_eq!(p["A"], r#"x "y" z"#);
    assert_eq!(p["B"], "1");
    assert_eq!(p["C"], "");
    assert_eq!(p["D"], "plain");
    let j = java_properties("# c\nA=x\\:y\\u00e9\\\\\nB : two\\\n   lines\nC\n");
    assert_eq!(j["A"], "x:y\u{e9}\\");
    assert_eq!(j["B"], "twolines");
    assert_eq!(j["C"], "");
}
