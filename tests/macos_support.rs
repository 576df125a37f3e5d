//! Helpers for the macOS tests (included by them with `#[path]`): policies with hostile values,
//! builds through the binary, and package readers built on the apple-* crates (independent of
//! our own xar/cpio code).
#![allow(dead_code)]

use assert_cmd::Command;
use std::io::Read;
use std::path::{Path, PathBuf};

pub const TOKEN: &str = "0fb12341-246b-448d-b07f-c6573ad5ad02";

/// An organisation name validation allows, holding everything a shell or XML could trip on.
pub const HOSTILE_ORG: &str =
    "Acme \"Corp\" & Sons 'R' Us $(touch MARK) `touch MARK` ${HOME} \\ <b>Ünïcödé 中文 😀</b>";
/// URL values validation allows (no white space, no `& " =` since they are packed on Windows).
pub const HOSTILE_URL: &str =
    "https://console.example.com:4285/a'b/$(touch${IFS}MARK)/`touch${IFS}MARK`/ä;x?y";
pub const HOSTILE_PROXY: &str = "http://proxy.example.com:8080/p'ac$(touch${IFS}MARK)\\x;.pac";

pub fn agentpack() -> Command {
    let mut c = Command::cargo_bin("agentpack").unwrap();
    c.env("SOURCE_DATE_EPOCH", "1700000000");
    c
}

/// A crashplan policy; `extra` overrides or adds keys.
pub fn write_policy(dir: &Path, name: &str, extra: &[(&str, &str)]) -> PathBuf {
    let mut v = serde_json::json!({
        "name": name,
        "product": "crashplan",
        "organization": "Acme Corp",
        "deployment_url": "https://console.us2.crashplan.com",
        "token": TOKEN,
        "registration": "silent",
    });
    for (k, val) in extra {
        v[*k] = serde_json::Value::String(val.to_string());
    }
    let p = dir.join(format!("{name}.yaml"));
    std::fs::write(&p, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    p
}

pub fn hostile_policy(dir: &Path, name: &str) -> PathBuf {
    write_policy(
        dir,
        name,
        &[
            ("organization", HOSTILE_ORG),
            ("deployment_url", HOSTILE_URL),
            ("proxy_url", HOSTILE_PROXY),
        ],
    )
}

/// `agentpack build` for `policies` into `out`, with extra arguments; panics on failure.
pub fn build(policies: &[&Path], out: &Path, args: &[&str]) -> std::process::Output {
    let mut c = agentpack();
    c.arg("build").arg("--out").arg(out);
    for p in policies {
        c.arg("--policy").arg(p);
    }
    c.args(args);
    let o = c.output().unwrap();
    assert!(
        o.status.success(),
        "build failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Every file under `dir` with the given extension, sorted.
pub fn files_with_ext(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

/// A fixture package, or None (with a visible notice) when the pkg helper has not made it.
pub fn fixture_pkg(test: &str, name: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/pkg")
        .join(name);
    if p.is_file() {
        Some(p)
    } else {
        let msg = format!("fixture tests/fixtures/pkg/{name}");
        if std::env::var("AGENTPACK_REQUIRE_TOOLS").is_ok_and(|v| v == "1") {
            panic!("{test}: {msg} is missing");
        }
        eprintln!("NOTICE: skipping {test}: {msg} not found");
        None
    }
}

/// One Scripts entry: (name, mode, data).
pub type ScriptEntry = (String, u32, Vec<u8>);

/// Scripts of a component: the root one (`None`) or a distribution's `name.pkg`.
pub fn scripts_of(pkg: &Path, component: Option<&str>) -> Vec<ScriptEntry> {
    let mut r = apple_flat_package::PkgReader::new(std::fs::File::open(pkg).unwrap()).unwrap();
    let comp = match component {
        None => r.root_component().unwrap().expect("a component package"),
        Some(name) => r
            .component_packages()
            .unwrap()
            .into_iter()
            .find(|c| c.package_info().is_some_and(|i| i.identifier == name))
            .unwrap_or_else(|| panic!("no component {name}")),
    };
    let mut cpio = comp.scripts_reader().unwrap().expect("a Scripts archive");
    let mut out = Vec::new();
    while let Some(h) = cpio.next() {
        let h = h.unwrap();
        let mut data = Vec::new();
        cpio.read_to_end(&mut data).unwrap();
        out.push((h.name().to_string(), h.mode(), data));
    }
    out
}

/// The `preinstall` script of a package component.
pub fn preinstall_of(pkg: &Path, component: Option<&str>) -> String {
    let scripts = scripts_of(pkg, component);
    let (_, _, data) = scripts
        .iter()
        .find(|(n, _, _)| n.trim_start_matches("./") == "preinstall")
        .expect("a preinstall script");
    String::from_utf8(data.clone()).unwrap()
}

/// The result of running a script in a fresh working folder.
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
    /// The working folder (where `touch MARK` would land) and the target volume.
    pub cwd: tempfile::TempDir,
    pub volume: tempfile::TempDir,
}

/// Run `script` with `/bin/sh`; `args` is built from the target volume path.
pub fn run_sh(script: &str, args: impl Fn(&str) -> Vec<String>) -> Run {
    let cwd = tempfile::tempdir().unwrap();
    let volume = tempfile::tempdir().unwrap();
    let path = cwd.path().join("script.sh");
    std::fs::write(&path, script).unwrap();
    let o = std::process::Command::new("/bin/sh")
        .arg(&path)
        .args(args(volume.path().to_str().unwrap()))
        .current_dir(cwd.path())
        .env("HOME", cwd.path())
        .output()
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    Run {
        ok: o.status.success(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        cwd,
        volume,
    }
}

impl Run {
    /// Nothing was created in the working folder (no `touch MARK` ran).
    pub fn assert_nothing_ran(&self) {
        let left: Vec<_> = std::fs::read_dir(self.cwd.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(
            left.is_empty(),
            "the script created {left:?}: a value was evaluated"
        );
    }

    /// The written file under the volume: (bytes, mode).
    pub fn written(&self, rel: &str) -> Option<(Vec<u8>, u32)> {
        use std::os::unix::fs::PermissionsExt;
        let p = self.volume.path().join(rel.trim_start_matches('/'));
        let bytes = std::fs::read(&p).ok()?;
        Some((
            bytes,
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o7777,
        ))
    }
}

pub const PROPS_PATH: &str = "/Library/Application Support/CrashPlan/deploy.properties";
