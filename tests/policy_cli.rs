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
        .filter(|l| l.contains("five-mistakes.yaml"))
        .collect();
    let expected = [
        (3, "name", "must be lowercase"),
        (6, "deployment_url", "uses 'http', not https"),
        (7, "token", "is not a UUID"),
        (8, "registraton", "unknown key 'registraton'"),
        (9, "ssl_whitelist", "is not a certificate fingerprint"),
    ];
    assert_eq!(
        problems.len(),
        expected.len(),
        "exactly five problems: {stderr}"
    );
    for (line, field, what) in expected {
        let prefix = format!("five-mistakes.yaml:{line}: {field}: ");
        assert!(
            problems
                .iter()
                .any(|p| p.contains(&prefix) && p.contains(what)),
            "no '{what}' for {field} at line {line}: {stderr}"
        );
    }
    // The typo is reported once, as a typo of a required key, not also as a missing key.
    assert!(
        stderr.contains("did you mean 'registration'? It is required"),
        "{stderr}"
    );
    assert!(!stderr.contains("is required but missing"), "{stderr}");
    assert!(
        !stderr.contains("not-a-token"),
        "the token is not echoed: {stderr}"
    );
    assert_eq!(
        stderr.matches("hint:").count(),
        5,
        "every problem says what to do: {stderr}"
    );
}

/// A duplicate key does not hide the other mistakes, in YAML or JSON: every message at once.
#[test]
fn a_duplicate_key_is_reported_with_every_other_problem() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("dup.yaml");
    std::fs::write(
        &yaml,
        "name: Bad Name\nproduct: crashplan\norganization: Acme\ndeployment_url: http://backup.example.com\ntoken: nope\nregistration: silent\nregistration: manual\n",
    )
    .unwrap();
    let json = dir.path().join("dup.json");
    std::fs::write(
        &json,
        "{\n  \"name\": \"Bad Name\",\n  \"product\": \"crashplan\",\n  \"organization\": \"Acme\",\n  \"deployment_url\": \"http://backup.example.com\",\n  \"token\": \"nope\",\n  \"registration\": \"silent\",\n  \"registration\": \"manual\"\n}\n",
    )
    .unwrap();
    for (file, name, dup_line) in [(&yaml, "dup.yaml", 7), (&json, "dup.json", 8)] {
        let o = agentpack()
            .args(["policy", "check"])
            .arg(file)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2));
        let (_, stderr) = out_text(&o);
        let first = dup_line - 1;
        let json_offset = usize::from(name.ends_with("json"));
        for expected in [
            format!("{name}:{dup_line}: registration: key 'registration' appears twice (first at line {first})"),
            format!("{name}:{}: name: must be lowercase", 1 + json_offset),
            format!("{name}:{}: deployment_url: uses 'http', not https", 4 + json_offset),
            format!("{name}:{}: token: is not a UUID", 5 + json_offset),
        ] {
            assert!(stderr.contains(&expected), "no '{expected}' in: {stderr}");
        }
        assert_eq!(stderr.matches("hint:").count(), 4, "{stderr}");
    }
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
    let problems = v["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 5, "{v}");
    assert!(
        problems.iter().all(
            |p| p["file"].as_str().unwrap().ends_with("five-mistakes.yaml")
                && p["line"].is_u64()
                && p["field"].is_string()
                && p["hint"].is_string()
        ),
        "{v}"
    );
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

/// Garbage in the console string is refused (exit 2) with a message saying what is wrong,
/// without echoing the garbage or anything token-like in it.
#[test]
fn import_rejects_garbage_without_echoing_it() {
    let import = |args: &[&str]| {
        let o = agentpack()
            .args(["policy", "import", "--name", "x"])
            .args(args)
            .output()
            .unwrap();
        let (stdout, stderr) = out_text(&o);
        (o.status.code(), stdout, stderr)
    };
    let secretish = "d3adbeef-0000-4c2d-9e11-7a6b5c4d3e2f";
    for (args, garbage, what) in [
        // An unknown key inside the packed property, holding a token-like value.
        (
            format!("CP_ARGS=\"DEPLOYMENT_URL=https://h&BOGUS={secretish}\""),
            secretish.to_string(),
            "unknown key 'BOGUS' inside CP_ARGS",
        ),
        // A token-like word where NAME=VALUE belongs: described by its length only.
        (
            format!("CP_ARGS=\"DEPLOYMENT_URL=https://h\" {{{secretish}}}"),
            secretish[..8].to_string(),
            "is neither NAME=VALUE nor an msiexec option",
        ),
        // An unknown property whose name is a token.
        (
            format!("CP_ARGS=\"DEPLOYMENT_URL=https://h\" {secretish}=1"),
            secretish[..8].to_string(),
            "unknown property",
        ),
        // Plain garbage.
        (
            "CP_ARGS=\"DEPLOYMENT_URL=https://h\" $(rm${IFS}-rf${IFS}~)=1".to_string(),
            "rm${IFS}".to_string(),
            "unknown property",
        ),
    ] {
        let (code, stdout, stderr) = import(&["--product", "crashplan", "--windows-args", &args]);
        assert_eq!(code, Some(2), "{args}: {stderr}");
        assert!(stdout.is_empty(), "{args}: {stdout}");
        assert!(stderr.contains(what), "{args}: no '{what}' in {stderr}");
        assert!(stderr.contains("hint:"), "{stderr}");
        for text in [&stdout, &stderr] {
            assert!(!text.contains(&garbage), "{args}: echoed: {text}");
            assert!(
                !text.contains(&secretish[..13]),
                "{args}: token-like echoed: {text}"
            );
        }
    }
    // An unknown product: named as what is wrong, with the known ones; the arguments (holding
    // a token-like value) are not echoed.
    let (code, stdout, stderr) = import(&[
        "--product",
        "nope",
        "--windows-args",
        &format!("A={secretish}"),
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("--product: unknown product 'nope'") && stderr.contains("known products:"),
        "{stderr}"
    );
    assert!(!stderr.contains(&secretish[..8]), "{stderr}");
}

/// Import problems speak of the console string or deploy.properties being imported: their
/// property names and where to find them, not policy keys the user never wrote.
#[test]
fn import_errors_name_the_console_properties() {
    // CP_SILENT left out of the pasted arguments.
    let partial = ARGS.replace(" CP_SILENT=true", "");
    let o = agentpack()
        .args([
            "policy",
            "import",
            "--name",
            "acme",
            "--product",
            "crashplan",
        ])
        .args(["--windows-args", &partial])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let (_, stderr) = out_text(&o);
    assert!(
        stderr.contains("--windows-args: CP_SILENT: is missing from the console's arguments"),
        "{stderr}"
    );
    assert!(stderr.contains("CP_SILENT=true or false"), "{stderr}");
    assert!(!stderr.contains("registration"), "policy keys: {stderr}");
    // An http URL and no token inside CP_ARGS.
    let bad = ARGS
        .replace("https://backup", "http://backup")
        .replace(&format!("&DEPLOYMENT_POLICY_TOKEN={TOKEN}"), "");
    let o = agentpack()
        .args([
            "policy",
            "import",
            "--name",
            "Acme",
            "--product",
            "crashplan",
        ])
        .args(["--windows-args", &bad])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let (_, stderr) = out_text(&o);
    for expected in [
        "--windows-args: DEPLOYMENT_URL (in CP_ARGS): uses 'http', not https",
        "--windows-args: DEPLOYMENT_POLICY_TOKEN (in CP_ARGS): is missing from the console's arguments",
        "CP_ARGS=\"…&DEPLOYMENT_POLICY_TOKEN=<token>&…\"",
        "--name: must be lowercase",
    ] {
        assert!(stderr.contains(expected), "no '{expected}' in {stderr}");
    }
    for policy_word in ["deployment_url", "token:", "add `"] {
        assert!(!stderr.contains(policy_word), "'{policy_word}' in {stderr}");
    }
    // deploy.properties: the file, its line and its key.
    let dir = tempfile::tempdir().unwrap();
    let props = dir.path().join("deploy.properties");
    std::fs::write(
        &props,
        format!("DEPLOYMENT_URL=http\\://backup.example.com\nDEPLOYMENT_POLICY_TOKEN={TOKEN}\n"),
    )
    .unwrap();
    let o = agentpack()
        .args([
            "policy",
            "import",
            "--name",
            "acme",
            "--product",
            "crashplan",
        ])
        .arg("--deploy-properties")
        .arg(&props)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let (_, stderr) = out_text(&o);
    for expected in [
        "deploy.properties:1: DEPLOYMENT_URL: uses 'http', not https",
        "deploy.properties: CP_SILENT: is missing from deploy.properties",
        "add a line CP_SILENT=true or false",
    ] {
        assert!(stderr.contains(expected), "no '{expected}' in {stderr}");
    }
    assert!(
        !stderr.contains(TOKEN) && !stderr.contains("registration"),
        "{stderr}"
    );
}

/// Printed to stdout, the policy reads the token from a variable: the note on stderr names
/// it and says to set it before building; --json reports it too.
#[test]
fn import_to_stdout_says_which_variable_to_set() {
    let o = agentpack()
        .args([
            "policy",
            "import",
            "--name",
            "acme-prod",
            "--product",
            "crashplan",
        ])
        .args(["--windows-args", ARGS])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let (_, stderr) = out_text(&o);
    assert!(
        stderr.contains(
            "environment variable AGENTPACK_TOKEN_ACME_PROD: set it before `agentpack build`"
        ) && stderr.contains("export AGENTPACK_TOKEN_ACME_PROD=<token>"),
        "{stderr}"
    );
    let o = agentpack()
        .args([
            "--json",
            "policy",
            "import",
            "--name",
            "acme-prod",
            "--product",
            "crashplan",
        ])
        .args(["--windows-args", ARGS, "--token-env", "ACME_TOKEN"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["token_env"], "ACME_TOKEN");
    assert!(v["policy_yaml"]
        .as_str()
        .unwrap()
        .contains("token_env: \"ACME_TOKEN\""));
    assert!(
        v["notes"][0]
            .as_str()
            .unwrap()
            .contains("export ACME_TOKEN=<token>"),
        "{v}"
    );
    // A --token-env that is no variable name is refused before anything is written.
    let o = agentpack()
        .args([
            "policy",
            "import",
            "--name",
            "acme-prod",
            "--product",
            "crashplan",
        ])
        .args([
            "--windows-args",
            ARGS,
            "--token-env",
            &format!("{{{TOKEN}}}"),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let (stdout, stderr) = out_text(&o);
    assert!(
        stderr.contains("--token-env: is not an environment variable name"),
        "{stderr}"
    );
    assert!(!stdout.contains(&TOKEN[..8]) && !stderr.contains(&TOKEN[..8]));
}

/// The insider-risk agent's profile marks what the vendor reference does not confirm.
#[test]
fn products_lists_unconfirmed_facts() {
    let o = agentpack().args(["--json", "products"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let incydr = v
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "incydr-agent")
        .unwrap();
    let unconfirmed: Vec<&str> = incydr["unconfirmed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    for fact in [
        "detection",
        "macos.vendor_pkg_name",
        "macos.team_id",
        "properties",
    ] {
        assert!(unconfirmed.contains(&fact), "{fact}: {unconfirmed:?}");
    }
    let text = agentpack().arg("products").output().unwrap();
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains("detection"), "{stdout}");
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
