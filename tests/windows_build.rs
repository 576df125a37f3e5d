//! Windows and SCCM artifacts of `agentpack build --msi` (no external tools needed).

#[path = "windows_helpers.rs"]
mod helpers;

use agentpack::formats::mst::{read_transform_file, Database, RowChange};
use helpers::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

fn read(p: &Path) -> String {
    String::from_utf8(std::fs::read(p).unwrap()).unwrap()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn artifacts_carry_the_msi_identity_and_keep_the_token_in_the_transform() {
    let dir = tempfile::tempdir().unwrap();
    let p = policy(dir.path(), "acme-prod", "");
    let b = build(dir.path(), &[p], &msi_fixture("vendor.msi"), &[]);
    let w = b.out.join("acme-prod/windows");
    for f in [
        "acme-prod.mst",
        "vendor.msi",
        "install.cmd",
        "uninstall.cmd",
        "install-args.txt",
    ] {
        assert!(w.join(f).is_file(), "{f} missing");
    }
    assert_eq!(mode(&w.join("acme-prod.mst")), 0o600);
    assert_eq!(mode(&w.join("install.cmd")), 0o644);

    // Command lines: documented shape, CRLF, ProductCode read from the MSI.
    let install = read(&w.join("install.cmd"));
    let uninstall = read(&w.join("uninstall.cmd"));
    for text in [&install, &uninstall] {
        assert!(
            text.ends_with("\r\n") && !text.replace("\r\n", "").contains('\n'),
            "not CRLF: {text:?}"
        );
        assert!(text.contains("exit /b %ERRORLEVEL%"));
    }
    assert!(install.contains("pushd \"%~dp0\""));
    assert!(install.contains(
        r#"msiexec /i "vendor.msi" TRANSFORMS="acme-prod.mst" /qn /norestart /l*v "%WINDIR%\Temp\crashplan-install.log""#
    ));
    assert!(uninstall.contains(&format!(
        "msiexec /x {VENDOR_PRODUCT_CODE} /qn /norestart\r\n"
    )));

    // SCCM deployment type: parses, names the files with checksums, detection, return codes.
    let dt: serde_json::Value =
        serde_json::from_str(&read(&w.join("sccm/deployment-type.json"))).unwrap();
    assert_eq!(dt["detection"]["product_code"], VENDOR_PRODUCT_CODE);
    assert_eq!(dt["detection"]["value"], "11.4.1");
    assert_eq!(
        dt["uninstall_command"],
        format!("msiexec /x {VENDOR_PRODUCT_CODE} /qn /norestart")
    );
    let codes: Vec<(i64, String)> = dt["return_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["code"].as_i64().unwrap(),
                r["type"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = [
        (0, "Success"),
        (1707, "Success"),
        (3010, "SoftReboot"),
        (1641, "HardReboot"),
        (1618, "FastRetry"),
    ];
    assert_eq!(codes, want.map(|(c, t)| (c, t.to_string())));
    let files = dt["content_files"].as_array().unwrap();
    let names: Vec<&str> = files.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["acme-prod.mst", "vendor.msi"]);
    let mst_sha = agentpack::build::sha256_hex(&std::fs::read(w.join("acme-prod.mst")).unwrap());
    assert_eq!(files[0]["sha256"], mst_sha);

    // SCCM script: BOM, cmdlets, -WhatIf support, same values as the JSON, no token.
    let raw = std::fs::read(w.join("sccm/New-CrashPlanApplication.ps1")).unwrap();
    assert_eq!(&raw[..3], b"\xEF\xBB\xBF");
    let script = String::from_utf8(raw[3..].to_vec()).unwrap();
    for needle in [
        "[CmdletBinding(SupportsShouldProcess)]",
        "Get-CMApplication",
        "New-CMApplication",
        "Add-CMMsiDeploymentType",
        "Set-CMMsiDeploymentType",
        "New-CMDetectionClauseWindowsInstaller",
        "Add-CMDeploymentTypeReturnCode",
        "Update-CMDistributionPoint",
        "Start-CMContentDistribution",
        "RemoveDetectionClause",
        "$SiteCode",
        "$ContentShare",
    ] {
        assert!(script.contains(needle), "{needle} missing");
    }
    assert_eq!(ps_assignment(&script, "ProductCode"), VENDOR_PRODUCT_CODE);
    assert_eq!(
        ps_assignment(&script, "LogonRequirement"),
        "WhetherOrNotUserLoggedOn"
    );
    // Detection is replaced in one call (never a deployment type without one).
    assert_eq!(script.matches("@detection").count(), 1, "{script}");
    assert_eq!(
        ps_assignment(&script, "InstallCommand"),
        dt["install_command"].as_str().unwrap()
    );
    assert_eq!(
        ps_assignment(&script, "UninstallCommand"),
        dt["uninstall_command"].as_str().unwrap()
    );

    // The token is only in secret files (and never on stdout/stderr).
    let m = manifest(&b.out);
    for o in m["outputs"].as_array().unwrap() {
        let path = b.out.join(o["path"].as_str().unwrap());
        let holds = std::fs::read(&path)
            .unwrap()
            .windows(TOKEN.len())
            .any(|w| w == TOKEN.as_bytes());
        assert!(
            !holds || o["secret"] == true,
            "{} holds the token but is not secret",
            o["path"]
        );
    }
    assert!(!read(&b.out.join("manifest.json")).contains(TOKEN));
    assert!(!b.stdout.contains(TOKEN) && !b.stderr.contains(TOKEN));

    // Manifest: the MSI's facts, the hard link.
    let input = m["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["role"] == "windows-installer")
        .unwrap();
    let facts = &input["facts"];
    assert_eq!(facts["product_code"], VENDOR_PRODUCT_CODE);
    assert_eq!(
        facts["upgrade_code"],
        "{113B48D9-4965-4FAA-A583-A61ADAE58355}"
    );
    assert_eq!(facts["product_version"], "11.4.1");
    assert_eq!(facts["product_name"], "CrashPlan");
    assert_eq!(facts["manufacturer"], "CrashPlan Group LLC");
    assert_eq!(facts["product_language"], "1033");
    assert_eq!(facts["codepage"], 1252);
    assert_eq!(facts["template"], "x64;1033");
    assert_eq!(facts["deployment_properties"], serde_json::json!([]));
    let placed = m["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["path"] == "acme-prod/windows/vendor.msi")
        .unwrap();
    assert_eq!(placed["placement"], "hardlink");
    assert_eq!(
        std::fs::metadata(w.join("vendor.msi")).unwrap().ino(),
        std::fs::metadata(msi_fixture("vendor.msi")).unwrap().ino()
    );
    // A matching UpgradeCode gives no note.
    assert!(!b.stderr.contains("UpgradeCode"), "{}", b.stderr);
}

#[test]
fn copy_installers_is_recorded_and_existing_rows_are_updated() {
    let dir = tempfile::tempdir().unwrap();
    let p = policy(dir.path(), "acme", "");
    let b = build(dir.path(), &[p], &msi_fixture("vendor-silent.msi"), &[]);
    let out = b.out;
    let _ = std::fs::remove_dir_all(&out);
    let p = policy(dir.path(), "acme", "");
    assert_cmd::Command::cargo_bin("agentpack")
        .unwrap()
        .arg("build")
        .arg("--policy")
        .arg(&p)
        .arg("--msi")
        .arg(msi_fixture("vendor-silent.msi"))
        .arg("--out")
        .arg(&out)
        .arg("--copy-installers")
        .assert()
        .success();
    let m = manifest(&out);
    let placed = m["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["path"] == "acme/windows/vendor-silent.msi")
        .unwrap();
    assert_eq!(placed["placement"], "copy");
    assert_eq!(
        std::fs::metadata(out.join("acme/windows/vendor-silent.msi"))
            .unwrap()
            .nlink(),
        1
    );
    let input = m["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["role"] == "windows-installer")
        .unwrap();
    assert_eq!(
        input["facts"]["deployment_properties"],
        serde_json::json!(["CP_SILENT"])
    );

    // CP_SILENT exists in the base (false): an update; CP_ARGS and DEVICE_CLOAKED are inserts.
    let base = Database::open(&msi_fixture("vendor-silent.msi")).unwrap();
    let dump = read_transform_file(&out.join("acme/windows/acme.mst"), Some(&base)).unwrap();
    let ops: Vec<(String, &str)> = dump
        .table("Property")
        .unwrap()
        .rows
        .iter()
        .map(|r| match r {
            RowChange::Insert { row } => (row[0].as_str().unwrap().to_string(), "insert"),
            RowChange::Update { key, .. } => (key[0].as_str().unwrap().to_string(), "update"),
            RowChange::Delete { key } => (key[0].as_str().unwrap().to_string(), "delete"),
        })
        .collect();
    let mut ops = ops;
    ops.sort();
    assert_eq!(
        ops,
        [
            ("CP_ARGS".to_string(), "insert"),
            ("CP_SILENT".into(), "update"),
            ("DEVICE_CLOAKED".into(), "insert"),
            ("MsiHiddenProperties".into(), "insert")
        ]
    );
}

#[test]
fn file_names_with_spaces_and_quotes_survive_cmd_msiexec_and_powershell() {
    let dir = tempfile::tempdir().unwrap();
    // A profile whose log name and display name need quoting, and an MSI name full of
    // cmd.exe metacharacters and PowerShell quotes.
    let profiles = dir.path().join("profiles");
    std::fs::create_dir(&profiles).unwrap();
    let base = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/crashplan.yaml"),
    )
    .unwrap();
    let custom = base
        .replace("id: crashplan", "id: quoting")
        .replace("display_name: CrashPlan", "display_name: Crash Plan's")
        .replace(
            "install_log: crashplan-install.log",
            "install_log: \"crash plan (x64) & more.log\"",
        );
    std::fs::write(profiles.join("quoting.yaml"), custom).unwrap();
    let msi_name = "Crash Plan (x64) & 'co' ; v1,2 ^é!.msi";
    let msi = dir.path().join(msi_name);
    std::fs::copy(msi_fixture("vendor.msi"), &msi).unwrap();
    let p = policy(dir.path(), "acme", "");
    std::fs::write(
        &p,
        std::fs::read_to_string(&p)
            .unwrap()
            .replace("product: crashplan", "product: quoting"),
    )
    .unwrap();
    let b = build(
        dir.path(),
        &[p],
        &msi,
        &["--profiles", profiles.to_str().unwrap()],
    );
    let w = b.out.join("acme/windows");
    assert!(w.join(msi_name).is_file());

    let want = vec![
        "msiexec".to_string(),
        "/i".into(),
        msi_name.into(),
        "TRANSFORMS=acme.mst".into(),
        "/qn".into(),
        "/norestart".into(),
        "/l*v".into(),
        r"%WINDIR%\Temp\crash plan (x64) & more.log".into(),
    ];
    let install = read(&w.join("install.cmd"));
    assert!(
        install.contains("chcp 65001"),
        "non-ASCII name needs UTF-8: {install}"
    );
    let line = install.lines().find(|l| l.starts_with("msiexec ")).unwrap();
    assert_eq!(msiexec_tokens(&batch_percent(line)), want);

    let dt: serde_json::Value =
        serde_json::from_str(&read(&w.join("sccm/deployment-type.json"))).unwrap();
    assert_eq!(
        msiexec_tokens(dt["install_command"].as_str().unwrap()),
        want
    );
    let raw = std::fs::read(w.join("sccm/New-CrashPlansApplication.ps1")).unwrap();
    let script = String::from_utf8(raw[3..].to_vec()).unwrap();
    assert_eq!(ps_assignment(&script, "MsiFile"), msi_name);
    assert_eq!(
        msiexec_tokens(&ps_assignment(&script, "InstallCommand")),
        want
    );
}

#[test]
fn a_percent_in_the_msi_name_is_refused_for_configmgr() {
    let dir = tempfile::tempdir().unwrap();
    let msi = dir.path().join("100%.msi");
    std::fs::copy(msi_fixture("vendor.msi"), &msi).unwrap();
    let p = policy(dir.path(), "acme", "");
    let mut cmd = assert_cmd::Command::cargo_bin("agentpack").unwrap();
    let o = cmd
        .arg("build")
        .arg("--policy")
        .arg(&p)
        .arg("--msi")
        .arg(&msi)
        .arg("--out")
        .arg(dir.path().join("out"));
    let o = o.output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("U+0025") && err.contains("rename"), "{err}");
}

#[test]
fn broken_msis_fail_with_exit_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = policy(dir.path(), "acme", "");
    let full = std::fs::read(msi_fixture("vendor.msi")).unwrap();
    let cases: [(&str, Vec<u8>); 3] = [
        ("truncated.msi", full[..full.len() / 3].to_vec()),
        ("empty.msi", Vec::new()),
        ("text.msi", b"not an installer\n".to_vec()),
    ];
    for (name, bytes) in cases {
        let msi = dir.path().join(name);
        std::fs::write(&msi, bytes).unwrap();
        let o = assert_cmd::Command::cargo_bin("agentpack")
            .unwrap()
            .arg("build")
            .arg("--policy")
            .arg(&p)
            .arg("--msi")
            .arg(&msi)
            .arg("--out")
            .arg(dir.path().join("out"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(name), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
        assert!(!dir.path().join("out").exists());
    }
}

#[test]
fn user_scope_and_a_foreign_upgrade_code() {
    let dir = tempfile::tempdir().unwrap();
    let p = policy(dir.path(), "acme-user", "scope: user\n");
    let b = build(dir.path(), &[p], &msi_fixture("nonascii.msi"), &[]);
    assert!(
        b.stderr.contains("note:") && b.stderr.contains("UpgradeCode"),
        "{}",
        b.stderr
    );
    let w = b.out.join("acme-user/windows");
    let dt: serde_json::Value =
        serde_json::from_str(&read(&w.join("sccm/deployment-type.json"))).unwrap();
    assert_eq!(dt["installation_behavior"], "InstallForUser");
    // ConfigMgr refuses a logon requirement with InstallForUser: none in the JSON or script.
    assert_eq!(dt["logon_requirement"], serde_json::Value::Null);
    let raw = std::fs::read(w.join("sccm/New-CrashPlanApplication.ps1")).unwrap();
    let script = String::from_utf8_lossy(&raw[3..]);
    assert!(script.contains("$LogonRequirement   = $null"), "{script}");
    assert!(!script.contains("LoggedOn'"), "{script}");
    assert!(dt["install_command"]
        .as_str()
        .unwrap()
        .ends_with(r#"/l*v "%TEMP%\crashplan-install.log""#));
    let base = Database::open(&msi_fixture("nonascii.msi")).unwrap();
    let dump = read_transform_file(&w.join("acme-user.mst"), Some(&base)).unwrap();
    let after = property_values(&base, &dump);
    assert_eq!(after.get("ALLUSERS").map(String::as_str), Some("2"));
    assert_eq!(
        after.get("MSIINSTALLPERUSER").map(String::as_str),
        Some("1")
    );
}

#[test]
fn an_unencodable_value_fails_without_printing_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p.yaml");
    std::fs::write(
        &p,
        format!(
            "name: acme\nproduct: crashplan\norganization: Acme\ndeployment_url: https://console.example.com/中\ntoken: {TOKEN}\nregistration: silent\ncloaked: false\n"
        ),
    )
    .unwrap();
    let o = assert_cmd::Command::cargo_bin("agentpack")
        .unwrap()
        .arg("build")
        .arg("--policy")
        .arg(&p)
        .arg("--msi")
        .arg(msi_fixture("nonascii.msi"))
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("codepage 1252"), "{err}");
    assert!(!err.contains(TOKEN), "{err}");
}

/// The SCCM script checks every content file on the share before changing anything, and makes
/// each ConfigMgr change only when the deployment type differs, behind -WhatIf/-Confirm.
/// (PowerShell cannot run here: windows_powershell.rs parses the script and checks its digest
/// XPaths; this checks the script's structure.)
#[test]
fn sccm_script_checks_the_share_and_changes_only_what_differs() {
    let dir = tempfile::tempdir().unwrap();
    let p = policy(dir.path(), "acme", "");
    let b = build(dir.path(), &[p], &msi_fixture("vendor.msi"), &[]);
    let raw = std::fs::read(b.out.join("acme/windows/sccm/New-CrashPlanApplication.ps1")).unwrap();
    let script = String::from_utf8(raw[3..].to_vec())
        .unwrap()
        .replace("\r\n", "\n");
    let lines: Vec<&str> = script.lines().collect();
    let at = |needle: &str| {
        lines
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no `{needle}` in the script"))
    };

    // Content: every file, its size and (unless -SkipHashCheck) its SHA-256, before the
    // ConfigurationManager module is even loaded; one error listing every problem.
    for needle in [
        "[switch] $SkipHashCheck",
        "$problems = @(foreach ($file in $ContentFiles) {",
        "Test-Path -LiteralPath $fsPath -PathType Leaf",
        "if ($size -ne $file.Size) {",
        "if (-not $SkipHashCheck) {",
        "Get-FileHash -LiteralPath $fsPath -Algorithm SHA256",
        "($problems -join",
    ] {
        assert!(at(needle) < at("Import-Module"), "{needle}");
    }

    // Each change only when the digest says it differs; every change behind ShouldProcess.
    assert!(
        at("(Test-DeploymentTypeCurrent (Read-Digest $dt))") + 2
            == at("Set-CMMsiDeploymentType @settings")
    );
    assert!(
        at("(Test-DetectionCurrent (Read-Digest $dt))")
            < at("New-CMDetectionClauseWindowsInstaller")
    );
    assert!(
        at("elseif ($class -ceq $rc.Type) { continue }") < at("Set-CMDeploymentTypeReturnCode")
    );
    for cmdlet in [
        "New-CMApplication ",
        "Set-CMApplication ",
        "Add-CMMsiDeploymentType ",
        "Set-CMMsiDeploymentType ",
        "Set-CMDeploymentTypeReturnCode ",
        "Add-CMDeploymentTypeReturnCode ",
        "Update-CMDistributionPoint ",
        "Start-CMContentDistribution ",
    ] {
        let calls = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.contains(cmdlet) && !l.contains("ShouldProcess"));
        for (i, _) in calls {
            assert!(
                guarded(&lines, i),
                "line {}: {cmdlet}not behind ShouldProcess",
                i + 1
            );
        }
    }
    // The content is refreshed on every run for an existing application (a rotated token
    // changes only the .mst), saying why.
    assert!(
        script.contains("a\n    # rotated token changes only the .mst")
            || script.contains("rotated token changes only the .mst")
    );
}

/// Whether line `i` of a PowerShell script runs only inside a block whose opening statement
/// (from its first line to the line ending in `{`) calls `$PSCmdlet.ShouldProcess`, walking out
/// through the enclosing blocks by indentation.
fn guarded(lines: &[&str], mut i: usize) -> bool {
    let indent = |l: &str| l.len() - l.trim_start().len();
    loop {
        let depth = indent(lines[i]);
        let Some(opener) = (0..i)
            .rev()
            .find(|&j| !lines[j].trim().is_empty() && indent(lines[j]) < depth)
        else {
            return false;
        };
        let end = (opener..lines.len())
            .find(|&j| lines[j].trim_end().ends_with('{'))
            .unwrap();
        if lines[opener..=end]
            .iter()
            .any(|l| l.contains("$PSCmdlet.ShouldProcess("))
        {
            return true;
        }
        i = opener;
    }
}
