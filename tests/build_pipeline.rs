//! The build pipeline end to end through the binary: outputs, manifest, SHA256SUMS, verify,
//! atomicity, determinism and secrecy.

mod common;

use assert_cmd::Command;
use std::path::{Path, PathBuf};

const TOKEN: &str = "0fb12341-246b-448d-b07f-c6573ad5ad02";

fn agentpack() -> Command {
    let mut c = Command::cargo_bin("agentpack").unwrap();
    c.env_remove("SOURCE_DATE_EPOCH");
    c
}

fn write_policy(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &p,
        format!(
            "name: {name}\nproduct: crashplan\norganization: Acme \"Corp\" & Sons\ndeployment_url: https://backup.example.com:4285\ntoken: {TOKEN}\nregistration: silent\n"
        ),
    )
    .unwrap();
    p
}

/// Every file below `dir` with its bytes, sorted by relative path.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path().strip_prefix(dir).unwrap().display().to_string(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

fn build(policies: &[&Path], out: &Path) -> std::process::Output {
    let mut c = agentpack();
    c.arg("build").arg("--out").arg(out);
    for p in policies {
        c.arg("--policy").arg(p);
    }
    c.output().unwrap()
}

#[test]
fn sha256sum_accepts_the_sums_and_manifest_lists_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_policy(dir.path(), "acme-prod");
    let out = dir.path().join("dist");
    assert!(build(&[&p], &out).status.success());
    if let Some(sha256sum) = common::program("sha256sum_accepts_the_sums", "sha256sum") {
        let o = std::process::Command::new(sha256sum)
            .arg("-c")
            .arg("SHA256SUMS")
            .current_dir(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    }
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["schema"], "agentpack.manifest.v1");
    let outputs: Vec<&str> = m["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["path"].as_str().unwrap())
        .collect();
    assert!(outputs.contains(&"acme-prod/macos/deploy.properties"));
    assert!(outputs.contains(&"acme-prod/windows/install-args.txt"));
    let mut sorted = outputs.clone();
    sorted.sort();
    assert_eq!(outputs, sorted, "outputs are sorted");
    assert_eq!(m["inputs"][0]["role"], "policy");
    assert_eq!(m["inputs"][0]["sha256"].as_str().unwrap().len(), 64);
    use std::os::unix::fs::PermissionsExt;
    for o in m["outputs"].as_array().unwrap() {
        let mode = std::fs::metadata(out.join(o["path"].as_str().unwrap()))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        if o["secret"] == true {
            assert_eq!(
                mode & 0o077,
                0,
                "{} holds the token but is mode {mode:o}",
                o["path"]
            );
        }
    }
}

#[test]
fn verify_catches_flipped_deleted_and_added_files() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_policy(dir.path(), "acme-prod");
    let out = dir.path().join("dist");
    assert!(build(&[&p], &out).status.success());
    agentpack().arg("verify").arg(&out).assert().success();

    let target = out.join("acme-prod/windows/install-args.txt");
    let mut bytes = std::fs::read(&target).unwrap();
    bytes[3] ^= 0x01;
    std::fs::write(&target, &bytes).unwrap();
    let o = agentpack().arg("verify").arg(&out).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("changed: acme-prod/windows/install-args.txt")
    );

    bytes[3] ^= 0x01;
    std::fs::write(&target, &bytes).unwrap();
    agentpack().arg("verify").arg(&out).assert().success();

    std::fs::remove_file(out.join("acme-prod/macos/deploy.properties")).unwrap();
    let o = agentpack().arg("verify").arg(&out).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("missing: acme-prod/macos/deploy.properties")
    );

    assert!(build(&[&p], &out).status.success());
    std::fs::write(out.join("acme-prod/extra.txt"), "x").unwrap();
    let o = agentpack()
        .args(["--json", "verify"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["extra"][0], "acme-prod/extra.txt");

    // A tampered manifest is caught by SHA256SUMS.
    std::fs::remove_file(out.join("acme-prod/extra.txt")).unwrap();
    let mpath = out.join("manifest.json");
    let m = std::fs::read_to_string(&mpath)
        .unwrap()
        .replace("\"secret\": true", "\"secret\": false");
    std::fs::write(&mpath, m).unwrap();
    assert_eq!(
        agentpack()
            .arg("verify")
            .arg(&out)
            .output()
            .unwrap()
            .status
            .code(),
        Some(2)
    );
}

/// The manifest with each input's path made absolute (relative ones are taken from `cwd`).
fn manifest_with_absolute_inputs(out: &Path, cwd: &Path) -> serde_json::Value {
    let mut m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    for i in m["inputs"].as_array_mut().unwrap() {
        let p = cwd.join(i["path"].as_str().unwrap());
        i["path"] = std::fs::canonicalize(p)
            .unwrap()
            .display()
            .to_string()
            .into();
    }
    m
}

/// `snapshot` without manifest.json and the manifest's line in SHA256SUMS.
fn snapshot_but_the_manifest(dir: &Path) -> Vec<(String, Vec<u8>)> {
    snapshot(dir)
        .into_iter()
        .filter(|(p, _)| p != "manifest.json")
        .map(|(p, b)| {
            if p == "SHA256SUMS" {
                let kept: String = String::from_utf8(b)
                    .unwrap()
                    .lines()
                    .filter(|l| !l.ends_with("  manifest.json"))
                    .map(|l| format!("{l}\n"))
                    .collect();
                (p, kept.into_bytes())
            } else {
                (p, b)
            }
        })
        .collect()
}

/// The same inputs give the same bytes: in another policy order, from another working folder
/// with absolute instead of relative paths, into another OUT. Two differences are by design and
/// checked exactly: the manifest records each input's path as it was given (relative to the
/// working folder, or absolute), and how each installer was placed (`hardlink`, or `copy` with
/// --copy-installers or across file systems); the files themselves are identical.
#[test]
fn two_builds_are_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let here = dir.path().join("here");
    std::fs::create_dir(&here).unwrap();
    write_policy(&here, "acme-prod");
    write_policy(&here, "acme-test");
    std::fs::copy(common::fixture("msi/vendor.msi"), here.join("vendor.msi")).unwrap();
    let pkg = here.join("vendor.pkg");
    std::fs::copy(common::fixture("pkg/vendor-crashplan-dist.pkg"), &pkg).unwrap();
    let relative = |out: &str, extra: &[&str]| {
        agentpack()
            .current_dir(&here)
            .args([
                "build",
                "--policy",
                "acme-prod.yaml",
                "--policy",
                "acme-test.yaml",
            ])
            .args(["--msi", "vendor.msi", "--pkg", "vendor.pkg", "--out", out])
            .args(extra)
            .assert()
            .success();
        here.join(out)
    };
    let one = relative("one", &[]);
    // Elsewhere, absolute paths, the other order, another OUT name and folder.
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let two = dir.path().join("outs/two");
    agentpack()
        .current_dir(&elsewhere)
        .arg("build")
        .arg("--policy")
        .arg(here.join("acme-test.yaml"))
        .arg("--policy")
        .arg(here.join("acme-prod.yaml"))
        .arg("--msi")
        .arg(here.join("vendor.msi"))
        .arg("--pkg")
        .arg(&pkg)
        .arg("--out")
        .arg(&two)
        .assert()
        .success();
    assert_eq!(
        snapshot_but_the_manifest(&one),
        snapshot_but_the_manifest(&two)
    );
    let (m1, m2) = (
        manifest_with_absolute_inputs(&one, &here),
        manifest_with_absolute_inputs(&two, &elsewhere),
    );
    assert_eq!(m1, m2, "the manifests differ beyond the inputs' paths");
    // The paths are recorded as given.
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(one.join("manifest.json")).unwrap()).unwrap();
    assert!(m["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["path"] == "vendor.msi"));
    // Built the same way, the manifest is identical too.
    let three = relative("three", &[]);
    assert_eq!(snapshot(&one), snapshot(&three));
    // Installers linked, or copied: the same files; the manifest says which.
    let placements = |m: &serde_json::Value| -> Vec<String> {
        m["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|o| o["placement"].as_str().map(String::from))
            .collect()
    };
    assert_eq!(placements(&m1), vec!["hardlink"; 4]);
    let copied = relative("copied", &["--copy-installers"]);
    assert_eq!(
        snapshot_but_the_manifest(&one),
        snapshot_but_the_manifest(&copied)
    );
    let mut m3 = manifest_with_absolute_inputs(&copied, &here);
    assert_eq!(placements(&m3), vec!["copy"; 4]);
    for o in m3["outputs"].as_array_mut().unwrap() {
        if o["placement"] == "copy" {
            o["placement"] = "hardlink".into();
        }
    }
    assert_eq!(m1, m3, "--copy-installers changes more than the placement");

    // SOURCE_DATE_EPOCH sets the recorded build time.
    let o3 = dir.path().join("three");
    agentpack()
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .args(["build", "--policy"])
        .arg(here.join("acme-prod.yaml"))
        .arg("--out")
        .arg(&o3)
        .assert()
        .success();
    let m = std::fs::read_to_string(o3.join("manifest.json")).unwrap();
    assert!(
        m.contains("\"build_time\": \"2023-11-14T22:13:20Z\""),
        "{m}"
    );
}

/// Installer file names end up in SHA256SUMS: a backslash or a line break there would make
/// `sha256sum -c` check another file or fail to read the line. Such names are refused up front
/// (exit 2, naming the file, saying why); other unusual names build and check.
#[test]
fn installer_names_that_sha256sum_cannot_list_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_policy(dir.path(), "acme-prod");
    let weird = dir.path().join("weird");
    std::fs::create_dir(&weird).unwrap();
    let pkg = common::fixture("pkg/vendor-crashplan-dist.pkg");
    let msi = common::fixture("msi/vendor.msi");
    for (name, flag, fixture, why) in [
        ("x\\y.pkg", "--pkg", &pkg, "contains a backslash"),
        ("x\ny.pkg", "--pkg", &pkg, "control character U+000A"),
        ("x\ty.msi", "--msi", &msi, "control character U+0009"),
        ("x\u{1b}[2Jy.pkg", "--pkg", &pkg, "control character U+001B"),
    ] {
        let file = weird.join(name);
        std::fs::copy(fixture, &file).unwrap();
        let out = dir.path().join("dist");
        let o = agentpack()
            .args(["build", "--policy"])
            .arg(&p)
            .arg(flag)
            .arg(&file)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name:?}: {stderr}");
        let shown = name.escape_default().to_string().replace("\\\\", "\\");
        assert!(stderr.contains(&shown), "{name:?} is not named: {stderr}");
        assert!(stderr.contains(why), "{name:?}: {stderr}");
        assert!(
            stderr.contains("hint: rename the installer file"),
            "{stderr}"
        );
        assert!(
            !stderr.contains('\u{1b}'),
            "raw control characters: {stderr:?}"
        );
        assert!(!out.exists());
        std::fs::remove_file(&file).unwrap();
    }
    // Spaces, quotes, `$`, `&`, non-ASCII: listed and checked as they are.
    let file = weird.join("Install 'Vendor' $x & ü.pkg");
    std::fs::copy(&pkg, &file).unwrap();
    let out = dir.path().join("dist");
    agentpack()
        .args(["build", "--policy"])
        .arg(&p)
        .arg("--pkg")
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    assert!(out
        .join("acme-prod/macos/Install 'Vendor' $x & ü.pkg")
        .is_file());
    if let Some(sha256sum) =
        common::program("installer_names_that_sha256sum_cannot_list", "sha256sum")
    {
        let o = std::process::Command::new(sha256sum)
            .args(["-c", "--strict", "SHA256SUMS"])
            .current_dir(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
        assert!(String::from_utf8_lossy(&o.stdout).contains("Install 'Vendor' $x & ü.pkg: OK"));
    }
}

/// `build --json` says `"ok": true` like every other command; a usage error under --json
/// prints a JSON error object too (exit 2), and never echoes a token.
#[test]
fn json_results_and_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_policy(dir.path(), "acme-prod");
    let o = agentpack()
        .args(["--json", "build", "--policy"])
        .arg(&p)
        .arg("--out")
        .arg(dir.path().join("dist"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["policies"][0]["name"], "acme-prod");
    for args in [
        &["--json", "build", "--bogus"][..],
        &["build", "--json", "--policy"],
        &["--json", "frobnicate"],
        &["--json", "products", TOKEN],
        &["--json", "verify"],
    ] {
        let o = agentpack().args(args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let v: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: no JSON on stdout ({e}): {:?}", o.stdout));
        assert_eq!(v["ok"], false, "{args:?}");
        assert_eq!(v["kind"], "bad-input", "{args:?}");
        let message = v["problems"][0]["message"].as_str().unwrap();
        assert!(
            !message.is_empty() && !message.starts_with("error:"),
            "{message}"
        );
        assert!(v["problems"][0]["hint"]
            .as_str()
            .unwrap()
            .contains("--help"));
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!all.contains(TOKEN), "{args:?}: {all}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("error: "),
            "{args:?}"
        );
    }
    // Without --json, usage errors print no JSON; help and version still work under --json.
    let o = agentpack().args(["build", "--bogus"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    let o = agentpack().args(["--json", "--version"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("agentpack "));
}

/// verify reports a secret file that others can read (exit 2, with the chmod that fixes it),
/// escapes control characters in the names it prints, and refuses a manifest larger than any
/// real one without reading it.
#[test]
fn verify_reports_exposed_secrets_and_escapes_names() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let p = write_policy(dir.path(), "acme-prod");
    let out = dir.path().join("dist");
    assert!(build(&[&p], &out).status.success());
    let props = out.join("acme-prod/macos/deploy.properties");
    std::fs::set_permissions(&props, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = agentpack().arg("verify").arg(&out).output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains(
            "acme-prod/macos/deploy.properties holds a deployment token but is mode 0644"
        ) && stdout.contains(&format!("chmod 600 {}", props.display())),
        "{stdout}"
    );
    let o = agentpack()
        .args(["--json", "verify"])
        .arg(&out)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["exposed"][0]["path"], "acme-prod/macos/deploy.properties");
    assert_eq!(v["exposed"][0]["mode"], "0644");
    // Group-readable only is exposed too; the fix makes verify pass.
    std::fs::set_permissions(&props, std::fs::Permissions::from_mode(0o640)).unwrap();
    assert_eq!(
        agentpack()
            .arg("verify")
            .arg(&out)
            .output()
            .unwrap()
            .status
            .code(),
        Some(2)
    );
    std::fs::set_permissions(&props, std::fs::Permissions::from_mode(0o600)).unwrap();
    agentpack().arg("verify").arg(&out).assert().success();

    // A file named to drive the terminal is shown escaped.
    let evil = out.join("acme-prod/x\u{1b}]0;pwned\u{7}\u{1b}[2J");
    std::fs::write(&evil, "x").unwrap();
    let o = agentpack().arg("verify").arg(&out).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        !stdout.contains('\u{1b}') && !stdout.contains('\u{7}'),
        "{stdout:?}"
    );
    assert!(
        stdout.contains("extra:   acme-prod/x\\u{1b}]0;pwned\\u{7}\\u{1b}[2J"),
        "{stdout}"
    );
    std::fs::remove_file(&evil).unwrap();

    // A manifest past the limit (100,000 policies' worth) is refused by its size, at once.
    let m = std::fs::OpenOptions::new()
        .write(true)
        .open(out.join("manifest.json"))
        .unwrap();
    m.set_len(2 << 30).unwrap();
    let started = std::time::Instant::now();
    let o = agentpack().arg("verify").arg(&out).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("manifest.json: is larger than") && stderr.contains("100000 policies"),
        "{stderr}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "it read the manifest"
    );
}

#[test]
fn failed_build_leaves_existing_out_untouched_and_no_staging() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_policy(dir.path(), "acme-prod");
    let out = dir.path().join("dist");
    assert!(build(&[&good], &out).status.success());
    let before = snapshot(&out);
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "name: x\nproduct: crashplan\n").unwrap();
    let o = build(&[&good, &bad], &out);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    assert_eq!(snapshot(&out), before);
    // A missing installer fails after policies loaded: still nothing changes.
    let o = agentpack()
        .args(["build", "--policy"])
        .arg(&good)
        .arg("--msi")
        .arg(dir.path().join("nope.msi"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nope.msi"));
    assert_eq!(snapshot(&out), before);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A new OUT is not created by a failed build.
    let fresh = dir.path().join("fresh");
    assert_eq!(build(&[&bad], &fresh).status.code(), Some(2));
    assert!(!fresh.exists());
}

#[test]
fn refuses_to_replace_a_folder_that_is_not_an_agentpack_output() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_policy(dir.path(), "acme-prod");
    let out = dir.path().join("home");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("thesis.tex"), "precious").unwrap();
    let o = build(&[&p], &out);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not an agentpack output"));
    assert_eq!(
        std::fs::read_to_string(out.join("thesis.tex")).unwrap(),
        "precious"
    );
}

#[test]
fn the_token_is_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_policy(dir.path(), "acme-prod");
    let out = dir.path().join("dist");
    for json in [false, true] {
        let mut c = agentpack();
        if json {
            c.arg("--json");
        }
        let o = c
            .args(["build", "--policy"])
            .arg(&p)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success());
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!all.contains(TOKEN), "token printed: {all}");
        if json {
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            assert_eq!(v["policies"][0]["name"], "acme-prod");
        }
    }
    assert!(!std::fs::read_to_string(out.join("manifest.json"))
        .unwrap()
        .contains(TOKEN));
    assert!(!std::fs::read_to_string(out.join("SHA256SUMS"))
        .unwrap()
        .contains(TOKEN));
    // And not in errors: a policy whose other fields are wrong.
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        format!("name: BAD\ntoken: {TOKEN}x\nproduct: crashplan\n"),
    )
    .unwrap();
    let o = agentpack()
        .arg("--json")
        .args(["build", "--policy"])
        .arg(&bad)
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!all.contains(TOKEN), "token printed: {all}");
}

#[test]
fn config_file_drives_the_build() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("policies")).unwrap();
    write_policy(&dir.path().join("policies"), "acme-prod");
    write_policy(&dir.path().join("policies"), "acme-test");
    std::fs::write(
        dir.path().join("agentpack.yaml"),
        "product: crashplan\npolicies: [\"policies/*.yaml\"]\nout: out\n",
    )
    .unwrap();
    agentpack()
        .current_dir(dir.path())
        .arg("build")
        .assert()
        .success();
    assert!(dir
        .path()
        .join("out/acme-test/windows/install-args.txt")
        .is_file());
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/manifest.json")).unwrap())
            .unwrap();
    let roles: Vec<&str> = m["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["config", "policy", "policy"]);
    assert_eq!(m["inputs"][1]["path"], "policies/acme-prod.yaml");
}

#[test]
fn keep_going_builds_the_valid_policies_and_still_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_policy(dir.path(), "acme-prod");
    let bad = dir.path().join("broken.yaml");
    std::fs::write(
        &bad,
        "name: broken\nproduct: crashplan\norganization: X\ndeployment_url: http://x\n",
    )
    .unwrap();
    let out = dir.path().join("dist");
    // Without --keep-going: every error listed, nothing written.
    let o = build(&[&good, &bad], &out);
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    for field in ["deployment_url", "token", "registration"] {
        assert!(
            stderr.contains(&format!("broken.yaml: {field}"))
                || stderr.contains(&format!(": {field}:")),
            "{field}: {stderr}"
        );
    }
    assert!(!out.exists());
    let o = agentpack()
        .args(["--json", "build", "--keep-going", "--policy"])
        .arg(&good)
        .arg("--policy")
        .arg(&bad)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], false, "a policy failed");
    assert_eq!(v["policies"].as_array().unwrap().len(), 1);
    assert!(v["failed"].as_array().unwrap().len() >= 3);
    assert!(out.join("acme-prod/windows/install-args.txt").is_file());
    assert!(!out.join("broken").exists());
    agentpack().arg("verify").arg(&out).assert().success();
}

#[test]
fn duplicate_policy_names_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_policy(dir.path(), "acme-prod");
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let b = write_policy(&sub, "acme-prod");
    let o = build(&[&a, &b], &dir.path().join("dist"));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("policy name 'acme-prod' is also used by"));
}
