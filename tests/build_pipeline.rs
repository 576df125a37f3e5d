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

#[test]
fn two_builds_are_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_policy(dir.path(), "acme-prod");
    let b = write_policy(dir.path(), "acme-test");
    let (o1, o2) = (dir.path().join("one"), dir.path().join("two"));
    assert!(build(&[&a, &b], &o1).status.success());
    assert!(build(&[&b, &a], &o2).status.success());
    assert_eq!(snapshot(&o1), snapshot(&o2));
    // SOURCE_DATE_EPOCH sets the recorded build time.
    let o3 = dir.path().join("three");
    agentpack()
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .args(["build", "--policy"])
        .arg(&a)
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
