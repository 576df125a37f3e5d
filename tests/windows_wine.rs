//! Transforms written by `agentpack build`, applied by Wine's msi.dll through
//! `../shared/tools/verify-mst` (skipped visibly without it; fails under AGENTPACK_REQUIRE_TOOLS=1).
//! Few calls on purpose: each takes a second or more. Wine applies leniently (an update of a
//! missing row becomes an insert), so each transform is also held to the native rules.

#[path = "windows_checks/mod.rs"]
mod checks;
mod common;
#[path = "windows_helpers.rs"]
mod helpers;

use agentpack::formats::mst::Database;
use helpers::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn verify_properties(tool: &Path, msi: &Path, mst: &Path) -> BTreeMap<String, String> {
    let (ok, out, err) = common::run(Command::new(tool).arg("--properties").arg(msi).arg(mst));
    assert!(ok, "verify-mst --properties failed: {err}");
    out.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The base's Property table plus what the policy sets.
fn expected(msi: &Path, set: &[(&str, &str)]) -> BTreeMap<String, String> {
    let base = Database::open(msi).unwrap();
    let mut props: BTreeMap<String, String> = base
        .properties()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for (k, v) in set {
        props.insert(k.to_string(), v.to_string());
    }
    props
}

#[test]
fn wine_applies_each_transform_to_exactly_the_policys_properties() {
    let Some(tool) = common::shared_tool("wine_applies_each_transform", "verify-mst") else {
        return;
    };
    if common::program("wine_applies_each_transform", "wine").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let url = "https://console.example.com:4285/Köln";
    let dev = dir.path().join("dev.yaml");
    let text = std::fs::read_to_string(policy(dir.path(), "dev", "")).unwrap();
    std::fs::write(&dev, text.replace("https://console.example.com:4285", url)).unwrap();
    let user = policy(dir.path(), "usr", "scope: user\ncloaked: true\n");
    let user_text = std::fs::read_to_string(&user)
        .unwrap()
        .replacen("cloaked: false\n", "", 1);
    std::fs::write(&user, user_text).unwrap();
    let packed_dev = format!("DEPLOYMENT_URL={url}&DEPLOYMENT_POLICY_TOKEN={TOKEN}");
    let packed_user =
        format!("DEPLOYMENT_URL=https://console.example.com:4285&DEPLOYMENT_POLICY_TOKEN={TOKEN}");

    for msi_name in ["vendor.msi", "vendor-silent.msi", "nonascii.msi"] {
        let msi = msi_fixture(msi_name);
        let sub = dir.path().join(msi_name);
        std::fs::create_dir(&sub).unwrap();
        // The user-scope policy only once: it differs from the device one by three rows.
        let policies = if msi_name == "vendor.msi" {
            vec![dev.clone(), user.clone()]
        } else {
            vec![dev.clone()]
        };
        let b = build(&sub, &policies, &msi, &[]);
        for p in &policies {
            let name = p.file_stem().unwrap().to_str().unwrap();
            let mst = b.out.join(format!("{name}/windows/{name}.mst"));
            checks::assert_native_rules("wine_applies_each_transform", &msi, &mst);
        }
        let got = verify_properties(&tool, &msi, &b.out.join("dev/windows/dev.mst"));
        let want = expected(
            &msi,
            &[
                ("CP_ARGS", &packed_dev),
                ("CP_SILENT", "true"),
                ("DEVICE_CLOAKED", "false"),
                // Keeps the token out of the verbose install log.
                ("MsiHiddenProperties", "CP_ARGS"),
            ],
        );
        assert_eq!(got, want, "{msi_name}");
        if msi_name == "vendor.msi" {
            let got = verify_properties(&tool, &msi, &b.out.join("usr/windows/usr.mst"));
            let want = expected(
                &msi,
                &[
                    ("CP_ARGS", &packed_user),
                    ("CP_SILENT", "true"),
                    ("DEVICE_CLOAKED", "true"),
                    ("ALLUSERS", "2"),
                    ("MSIINSTALLPERUSER", "1"),
                    ("MsiHiddenProperties", "CP_ARGS"),
                ],
            );
            assert_eq!(got, want, "user scope");
        }
    }
}

#[test]
fn wine_silent_install_sees_the_transformed_values() {
    let Some(tool) = common::shared_tool("wine_silent_install", "verify-mst") else {
        return;
    };
    if common::program("wine_silent_install", "wine").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = policy(
        dir.path(),
        "acme",
        "ssl_whitelist: 7746278a457e64737094c44eebe2a59e25d1a4f1\n",
    );
    let msi = msi_fixture("vendor.msi");
    let b = build(dir.path(), &[p], &msi, &[]);
    let (ok, out, err) = common::run(
        Command::new(&tool)
            .arg(&msi)
            .arg(b.out.join("acme/windows/acme.mst")),
    );
    assert!(ok, "verify-mst failed: {out}\n{err}");
    let packed = format!(
        "DEPLOYMENT_URL=https://console.example.com:4285&DEPLOYMENT_POLICY_TOKEN={TOKEN}&SSL_WHITELIST=7746278a457e64737094c44eebe2a59e25d1a4f1"
    );
    // CP_ARGS is in MsiHiddenProperties: native msiexec logs it as asterisks, Wine 8 in full.
    assert!(
        out.lines()
            .any(|l| l == format!("Property(S): CP_ARGS = {packed}")
                || l == "Property(S): CP_ARGS = **********"),
        "no CP_ARGS line in:\n{out}"
    );
    for line in [
        "Property(S): CP_SILENT = true".to_string(),
        "Property(S): DEVICE_CLOAKED = false".to_string(),
        format!("Property(S): ProductCode = {VENDOR_PRODUCT_CODE}"),
    ] {
        assert!(
            out.lines().any(|l| l == line),
            "missing `{line}` in:\n{out}"
        );
    }
    assert!(out.contains("exit 0"), "{out}");
}

/// The Wine prefix verify-mst uses (it creates it on first use; run verify-mst first).
fn wine_prefix() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("WINEPREFIX") {
        return p.into();
    }
    let uid = Command::new("id").arg("-u").output().unwrap().stdout;
    let tmp = std::env::var("TMPDIR").unwrap_or_else(|_| "/tmp".into());
    Path::new(&tmp).join(format!(
        "agentpack-wine-{}",
        String::from_utf8_lossy(&uid).trim()
    ))
}

/// Run `args` with Wine in verify-mst's prefix, under its lock (`flock -o`: a wineserver that
/// outlives the call must not keep holding it), from the root folder. The exit code is Wine's,
/// i.e. the Windows one modulo 256.
fn wine(prefix: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new("flock")
        .arg("-o")
        .arg(prefix.join(".agentpack-lock"))
        .arg("wine")
        .args(args)
        .current_dir("/")
        .env("WINEPREFIX", prefix)
        .env("WINEARCH", "win64")
        .env("WINEDEBUG", "-all")
        .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
        .env_remove("DISPLAY")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), text)
}

/// A Windows path for an absolute Unix path, through Wine's Z: drive.
fn z_path(p: &Path) -> String {
    format!("Z:{}", p.to_str().unwrap().replace('/', "\\"))
}

#[test]
fn wine_cmd_runs_install_cmd_and_uninstall_cmd_as_built() {
    let Some(tool) = common::shared_tool("wine_cmd_runs_install_cmd", "verify-mst") else {
        return;
    };
    if common::program("wine_cmd_runs_install_cmd", "wine").is_none()
        || common::program("wine_cmd_runs_install_cmd", "flock").is_none()
    {
        return;
    }
    // Content folder with spaces, an MSI name full of cmd metacharacters; ASCII only, because
    // Wine 8's cmd does not honour `chcp 65001` for the lines of a batch file.
    let dir = tempfile::tempdir().unwrap();
    let content = dir.path().join("SCCM content");
    std::fs::create_dir(&content).unwrap();
    let msi = content.join("CrashPlan (x64) & 'co' v1,2 ^!;=.msi");
    std::fs::copy(msi_fixture("vendor.msi"), &msi).unwrap();
    let p = policy(
        &content,
        "acme",
        "proxy_url: http://proxy.example.com:8080/proxy.pac\n",
    );
    let b = build(&content, &[p], &msi, &[]);
    let w = b.out.join("acme/windows");
    // Also creates the prefix on a fresh machine.
    let props = verify_properties(&tool, &msi, &w.join("acme.mst"));
    let packed = format!(
        "DEPLOYMENT_URL=https://console.example.com:4285&DEPLOYMENT_POLICY_TOKEN={TOKEN}&PROXY_URL=http://proxy.example.com:8080/proxy.pac"
    );
    assert_eq!(props["CP_ARGS"], packed);

    let prefix = wine_prefix();
    // A product left by an interrupted run would turn the install into maintenance mode.
    wine(&prefix, &["msiexec", "/x", VENDOR_PRODUCT_CODE, "/qn"]);
    let log = prefix.join("drive_c/windows/temp/crashplan-install.log");
    let _ = std::fs::remove_file(&log);

    let (code, text) = wine(&prefix, &["cmd", "/c", &z_path(&w.join("install.cmd"))]);
    assert_eq!(code, Some(0), "install.cmd failed: {text}");
    let log_text =
        String::from_utf8_lossy(&std::fs::read(&log).expect("install log")).replace('\r', "");
    assert!(
        log_text
            .lines()
            .any(|l| l == format!("Property(S): CP_ARGS = {packed}")
                || l == "Property(S): CP_ARGS = **********"),
        "no CP_ARGS line in the install log"
    );
    for want in [
        "Property(S): CP_SILENT = true".to_string(),
        "Property(S): DEVICE_CLOAKED = false".into(),
        "Property(S): TRANSFORMS = acme.mst".into(),
        format!(
            "Property(S): OriginalDatabase = {}",
            z_path(&w.join(msi.file_name().unwrap()))
        ),
    ] {
        assert!(
            log_text.lines().any(|l| l == want),
            "missing `{want}` in the install log"
        );
    }

    // What the installed product received, whatever the log shows: the fixture writes
    // [CP_ARGS] and [CP_SILENT] to the registry.
    let (code, reg) = wine(
        &prefix,
        &["reg", "query", r"HKLM\Software\CrashPlanFixture"],
    );
    assert_eq!(code, Some(0), "reg query failed: {reg}");
    let value = |name: &str| {
        reg.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(name)?.trim_start().strip_prefix("REG_SZ"))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| panic!("no {name} value in:\n{reg}"))
    };
    assert_eq!(value("Args"), packed);
    assert_eq!(value("Silent"), "true");
    assert_eq!(value("Cloaked"), "false");

    let uninstall = z_path(&w.join("uninstall.cmd"));
    let (code, text) = wine(&prefix, &["cmd", "/c", &uninstall]);
    assert_eq!(code, Some(0), "uninstall.cmd failed: {text}");
    // Gone: a second uninstall answers 1605 (unknown product), i.e. 1605 % 256.
    let (code, _) = wine(&prefix, &["cmd", "/c", &uninstall]);
    assert_eq!(code, Some(1605 % 256), "the product is still installed");
}
