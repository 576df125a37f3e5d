//! `agentpack policy check` and `policy import`, driven through the binary.

mod common;

use assert_cmd::Command;
use std::path::Path;

const TOKEN: &str = "0fb12341-246b-448d-b07f-c6573ad5ad02";

fn agentpack() -> Command {
    Command::cargo_bin("agentpack").unwrap()
}

fn out_text(o: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn five_mistakes_give_five_messages_and_exit_2() {
    let f = common::fixture("policies/five-mistakes.yaml");
    let o = agentpack()
        .args(["policy", "check"])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let (stdout, stderr) = out_text(&o);
    assert!(stdout.is_empty(), "{stdout}");
    let problems: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("five-mistakes.yaml:"))
        .collect();
    assert_eq!(problems.len(), 5, "{stderr}");
    for (line, field) in [
        (3, "name"),
        (6, "deployment_url"),
        (7, "token"),
        (8, "registraton"),
        (10, "ssl_whitelist"),
    ] {
        assert!(
            stderr.contains(&format!("five-mistakes.yaml:{line}: {field}:")),
            "no message for {field} at line {line}: {stderr}"
        );
    }
    assert!(stderr.contains("did you mean 'registration'"));
    assert_eq!(
        stderr.matches("hint:").count(),
        5,
        "every problem says what to do: {stderr}"
    );
}

#[test]
fn all_files_are_checked_and_json_reports_problems() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    std::fs::write(
        &good,
        format!(r#"{{"name": "a", "product": "crashplan", "organization": "A", "deployment_url": "https://h:4285", "token": "{TOKEN}", "registration": "manual"}}"#),
    )
    .unwrap();
    let bad = common::fixture("policies/five-mistakes.yaml");
    let o = agentpack()
        .args(["--json", "policy", "check"])
        .arg(&good)
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["problems"].as_array().unwrap().len(), 5);
    let ok = agentpack()
        .args(["--json", "policy", "check"])
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0));
    let (stdout, stderr) = out_text(&ok);
    assert!(
        !stdout.contains(TOKEN) && !stderr.contains(TOKEN),
        "token leaked: {stdout}{stderr}"
    );
    assert!(stdout.contains("<redacted>"));
}

const ARGS: &str = "msiexec /i CrashPlan_11.7.0_911_Win64.msi CP_ARGS=\"DEPLOYMENT_URL=https://backup.example.com:4285&DEPLOYMENT_POLICY_TOKEN=0fb12341-246b-448d-b07f-c6573ad5ad02&SSL_WHITELIST=7746278a457e64737094c44eebe2a59e25d1a4f1&PROXY_URL=http://proxy.example.com:8080/proxy.pac\" CP_SILENT=true DEVICE_CLOAKED=false /norestart /qn";

#[test]
fn import_prints_a_policy_without_the_token() {
    let o = agentpack()
        .args([
            "policy",
            "import",
            "--name",
            "acme-prod",
            "--product",
            "crashplan",
            "--windows-args",
            ARGS,
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{:?}", out_text(&o));
    let (stdout, stderr) = out_text(&o);
    assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN));
    assert!(
        stdout.contains("token_env: \"AGENTPACK_TOKEN_ACME_PROD\""),
        "{stdout}"
    );
    assert!(stdout.contains("registration: \"silent\""));
    // The printed policy checks out once the variable holds the token.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("acme-prod.yaml");
    std::fs::write(&p, &stdout).unwrap();
    agentpack()
        .args(["policy", "check"])
        .arg(&p)
        .env("AGENTPACK_TOKEN_ACME_PROD", TOKEN)
        .assert()
        .success();
}

/// Import the console string, build, and compare the property values with the console's.
#[test]
fn imported_console_string_builds_the_same_values() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("acme-prod.yaml");
    agentpack()
        .args([
            "policy",
            "import",
            "--name",
            "acme-prod",
            "--product",
            "crashplan",
            "--windows-args",
            ARGS,
            "-o",
        ])
        .arg(&p)
        .assert()
        .success();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let out = dir.path().join("dist");
    agentpack()
        .args(["build", "--policy"])
        .arg(&p)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let args = std::fs::read_to_string(out.join("acme-prod/windows/install-args.txt")).unwrap();
    let console = ARGS.trim_start_matches("msiexec /i CrashPlan_11.7.0_911_Win64.msi ");
    assert_eq!(args.trim_end(), console);
    // And from deploy.properties back again.
    let props = out.join("acme-prod/macos/deploy.properties");
    let p2 = dir.path().join("again.yaml");
    agentpack()
        .args([
            "policy",
            "import",
            "--name",
            "acme-prod",
            "--product",
            "crashplan",
            "--deploy-properties",
        ])
        .arg(&props)
        .arg("-o")
        .arg(&p2)
        .assert()
        .success();
    let out2 = dir.path().join("dist2");
    agentpack()
        .args(["build", "--policy"])
        .arg(&p2)
        .arg("--out")
        .arg(&out2)
        .assert()
        .success();
    assert_eq!(
        std::fs::read(&props).unwrap(),
        std::fs::read(out2.join("acme-prod/macos/deploy.properties")).unwrap()
    );
}

#[test]
fn import_rejects_garbage_without_echoing_it() {
    let o = agentpack()
        .args([
            "policy",
            "import",
            "--name",
            "x",
            "--product",
            "crashplan",
            "--windows-args",
            "CP_ARGS=\"DEPLOYMENT_URL=https://h&BOGUS=1\"",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(out_text(&o).1.contains("unknown key 'BOGUS'"));
    let o = agentpack()
        .args([
            "policy",
            "import",
            "--name",
            "x",
            "--product",
            "nope",
            "--windows-args",
            "A=1",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(Path::new(env!("CARGO_MANIFEST_DIR")).exists());
}

/// `-o FILE --token-file F`: the token goes to F (0600), the policy (no secret, 0644) refers to
/// it relative to the policy's folder, and the pair checks out from any working folder.
#[test]
fn import_with_a_token_file_writes_a_policy_that_finds_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("policies")).unwrap();
    std::fs::create_dir_all(d.join("secrets")).unwrap();
    let o = agentpack()
        .current_dir(d)
        .args([
            "policy",
            "import",
            "--name",
            "acme-prod",
            "--product",
            "crashplan",
        ])
        .args(["--windows-args", ARGS])
        .args([
            "-o",
            "policies/acme-prod.yaml",
            "--token-file",
            "secrets/acme.token",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{:?}", out_text(&o));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let policy = d.join("policies/acme-prod.yaml");
    let text = std::fs::read_to_string(&policy).unwrap();
    assert!(!text.contains(TOKEN), "{text}");
    assert!(
        text.contains("token_file: \"../secrets/acme.token\""),
        "{text}"
    );
    assert_eq!(mode(&policy), 0o644);
    let token = d.join("secrets/acme.token");
    assert_eq!(std::fs::read_to_string(&token).unwrap().trim(), TOKEN);
    assert_eq!(mode(&token), 0o600);
    // No temporary file is left beside either.
    for sub in ["policies", "secrets"] {
        let names: Vec<_> = std::fs::read_dir(d.join(sub))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 1, "{sub}: {names:?}");
    }
    agentpack()
        .current_dir(d.join("secrets"))
        .args(["policy", "check"])
        .arg(&policy)
        .assert()
        .success();
}

/// The policy written with -o replaces a symbolic link at that name instead of writing
/// through it, and a failed write leaves no temporary file holding the token.
#[test]
fn import_never_writes_through_a_link_or_leaves_a_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("elsewhere"), "untouched").unwrap();
    std::os::unix::fs::symlink(d.join("elsewhere"), d.join("p.yaml")).unwrap();
    let o = agentpack()
        .current_dir(d)
        .args([
            "policy",
            "import",
            "--name",
            "acme",
            "--product",
            "crashplan",
        ])
        .args(["--windows-args", ARGS, "-o", "p.yaml"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{:?}", out_text(&o));
    assert_eq!(
        std::fs::read_to_string(d.join("elsewhere")).unwrap(),
        "untouched"
    );
    assert!(!std::fs::symlink_metadata(d.join("p.yaml"))
        .unwrap()
        .file_type()
        .is_symlink());
    // A folder where the file should go: the write fails, exit 2, nothing else appears.
    std::fs::create_dir(d.join("taken.yaml")).unwrap();
    std::fs::write(d.join("taken.yaml/x"), "x").unwrap();
    let o = agentpack()
        .current_dir(d)
        .args([
            "policy",
            "import",
            "--name",
            "acme",
            "--product",
            "crashplan",
        ])
        .args(["--windows-args", ARGS, "-o", "taken.yaml"])
        .output()
        .unwrap();
    assert_ne!(o.status.code(), Some(0));
    let mut names: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["elsewhere", "p.yaml", "taken.yaml"]);
}
