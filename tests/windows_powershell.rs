//! The SCCM import script under a real PowerShell parser (the tree-sitter grammar, through
//! tests/tools/ps_parse.py; PowerShell itself cannot run here): every script a build writes
//! parses, the values it embeds decode by PowerShell's quoting rules to exactly what was
//! intended, and the checker does reject broken scripts. Skips visibly without python3 or its
//! tree-sitter modules (fails under AGENTPACK_REQUIRE_TOOLS=1).

#[path = "windows_checks/mod.rs"]
mod checks;
mod common;
#[path = "windows_helpers.rs"]
mod helpers;

use checks::*;
use helpers::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// tests/fixtures/msi/hostile.msi's values (hostile-Property.idt).
const PRODUCT_NAME: &str = "Crash ‘Plan’ \"Pro\" $(Stop-Computer) `whoami` & 100% Ünï's";
const MANUFACTURER: &str = "Ç'ompany ‚Low‘ & ’Sons’ `n $env:PATH %TEMP% \"q\"";
const PRODUCT_CODE: &str = "{7A1B2C3D-4E5F-4061-8273-94A5B6C7D8E9}";
/// Every PowerShell quote character, `$()`, a backtick, `&` and non-ASCII; no `"` or `%`,
/// which a path on an msiexec command line cannot hold.
const MSI_NAME: &str = "Crash ‘Plan’ ‛x‚ 'q' $(calc) `t & é中.msi";
const LOG_NAME: &str = "crash ‘plan’ 'x' $(y) `z` & é.log";

struct Hostile {
    out: PathBuf,
    /// The policy's SCCM script.
    script: PathBuf,
}

/// A build whose every value reaching the script is hostile: the MSI's ProductName and
/// Manufacturer, the MSI's file name, the profile's display name and log name, and the
/// policy's organization (which the script does not embed).
fn hostile_build(dir: &Path) -> Hostile {
    for c in ["'", "‘", "’", "\"", "$(", "`", "&", "%", "Ü"] {
        assert!(PRODUCT_NAME.contains(c), "{c}");
    }
    let profiles = dir.join("profiles");
    std::fs::create_dir(&profiles).unwrap();
    let base = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/crashplan.yaml"),
    )
    .unwrap();
    let yaml = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let custom = base
        .replace("id: crashplan", "id: hostile")
        .replace(
            "display_name: CrashPlan",
            &format!("display_name: {}", yaml("Crash ‘Plan’ $(x) `y` & é's")),
        )
        .replace(
            "install_log: crashplan-install.log",
            &format!("install_log: {}", yaml(LOG_NAME)),
        );
    std::fs::write(profiles.join("hostile.yaml"), custom).unwrap();
    let msi = dir.join(MSI_NAME);
    std::fs::copy(msi_fixture("hostile.msi"), &msi).unwrap();
    let p = policy(dir, "acme", "");
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace("product: crashplan", "product: hostile")
        .replace(
            "organization: Acme",
            &format!(
                "organization: {}",
                yaml("O'Brien ‘Q’ \"D\" $(x) `b` & 100% Ünï")
            ),
        );
    std::fs::write(&p, text).unwrap();
    let b = build(dir, &[p], &msi, &["--profiles", profiles.to_str().unwrap()]);
    // Named from the display name's ASCII letters and digits.
    let script = b
        .out
        .join("acme/windows/sccm/New-CrashPlanxysApplication.ps1");
    assert!(script.is_file(), "{}", script.display());
    Hostile { out: b.out, script }
}

fn scripts(out: &Path) -> Vec<PathBuf> {
    let v: Vec<PathBuf> = walkdir::WalkDir::new(out)
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "ps1"))
        .collect();
    assert!(!v.is_empty(), "no .ps1 in {}", out.display());
    v
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

#[test]
fn hostile_values_parse_and_decode_to_exactly_what_was_intended() {
    let Some(checker) = ps_checker("hostile_values_parse_and_decode") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let h = hostile_build(dir.path());
    for s in scripts(&h.out) {
        assert_eq!(ps_problems(&checker, &s), None, "{}", s.display());
    }

    let w = h.out.join("acme/windows");
    let got = ps_assignments(&checker, &h.script);
    let want_strings = [
        ("ApplicationName", format!("{PRODUCT_NAME} 11.4.1 (acme)")),
        ("Publisher", MANUFACTURER.to_string()),
        ("SoftwareVersion", "11.4.1".into()),
        (
            "DeploymentTypeName",
            "acme - Windows Installer (.msi)".into(),
        ),
        ("MsiFile", MSI_NAME.into()),
        ("ProductCode", PRODUCT_CODE.into()),
        (
            "UninstallCommand",
            format!("msiexec /x {PRODUCT_CODE} /qn /norestart"),
        ),
        ("InstallBehavior", "InstallForSystem".into()),
        ("LogonRequirement", "WhetherOrNotUserLoggedOn".into()),
    ];
    for (name, want) in &want_strings {
        assert_eq!(got.get(*name).map(text), Some(want.as_str()), "${name}");
    }
    // The install command, split by msiexec's own rules.
    assert_eq!(
        msiexec_tokens(text(&got["InstallCommand"])),
        [
            "msiexec",
            "/i",
            MSI_NAME,
            "TRANSFORMS=acme.mst",
            "/qn",
            "/norestart",
            "/l*v",
            &format!(r"%WINDIR%\Temp\{LOG_NAME}"),
        ]
    );
    // The content files the script checks on the share: the files as written.
    let file = |name: &str| {
        let bytes = std::fs::read(w.join(name)).unwrap();
        json!({
            "Name": name,
            "Size": bytes.len().to_string(),
            "Sha256": agentpack::build::sha256_hex(&bytes),
        })
    };
    assert_eq!(
        got["ContentFiles"],
        // Sorted by name, as deployment-type.json lists them.
        json!([file(MSI_NAME), file("acme.mst")])
    );
    // And the same values as deployment-type.json (an independent serialisation).
    let dt: Value =
        serde_json::from_slice(&std::fs::read(w.join("sccm/deployment-type.json")).unwrap())
            .unwrap();
    for (name, key) in [
        ("ApplicationName", "application_name"),
        ("Publisher", "publisher"),
        ("InstallCommand", "install_command"),
        ("UninstallCommand", "uninstall_command"),
    ] {
        assert_eq!(got[name], dt[key], "${name}");
    }
    let codes: Vec<Value> = dt["return_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| json!({"Code": r["code"].to_string(), "Type": r["type"], "Name": r["name"]}))
        .collect();
    assert_eq!(got["ReturnCodes"], Value::Array(codes));
}

/// The checker fails: on a quote left undoubled (ASCII or curly, which the grammar alone would
/// accept) and on a missing brace, naming the line.
#[test]
fn the_checker_rejects_broken_scripts() {
    let Some(checker) = ps_checker("the_checker_rejects_broken_scripts") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let h = hostile_build(dir.path());
    let script = h.script;
    let raw = std::fs::read(&script).unwrap();
    let good = String::from_utf8(raw[3..].to_vec()).unwrap();
    assert_eq!(ps_problems(&checker, &script), None);

    let publisher_line = good
        .lines()
        .position(|l| l.starts_with("$Publisher "))
        .unwrap()
        + 1;
    let last_brace = good.rfind('}').unwrap();
    let cases = [
        (
            "ascii-quote",
            good.replacen("Ç''ompany", "Ç'ompany", 1),
            "ERROR",
        ),
        (
            "curly-quote",
            good.replacen("‚‚Low", "‚Low", 1),
            "lone quote",
        ),
        (
            "brace",
            format!("{}{}", &good[..last_brace], &good[last_brace + 1..]),
            "MISSING }",
        ),
    ];
    for (name, broken, complaint) in cases {
        assert_ne!(broken, good, "{name}: nothing changed");
        let file = dir.path().join(format!("{name}.ps1"));
        std::fs::write(&file, broken).unwrap();
        let err = ps_problems(&checker, &file)
            .unwrap_or_else(|| panic!("{name}: the checker accepted a broken script"));
        assert!(err.contains(complaint), "{name}: {err}");
        if name != "brace" {
            let at = format!("{}:{publisher_line}:", file.display());
            assert!(
                err.contains(&at),
                "{name}: not at line {publisher_line}: {err}"
            );
        }
    }
}

/// XML text or attribute value.
fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A ConfigMgr MSI deployment type's digest (SDMPackageXML) as the script would find it after
/// a run with these values, modelled on exported digests: the enhanced detection method inline
/// in CustomData, or (`escaped`) only as escaped text in the detect action. The uninstall and
/// detect actions carry arguments of the same names, so a loose XPath would pick them.
fn digest(v: &serde_json::Map<String, Value>, share: &str, escaped: bool) -> String {
    let s = |k: &str| xml(text(&v[k]));
    let (code, version) = (s("ProductCode"), s("SoftwareVersion"));
    let detection = format!(
        r#"<EnhancedDetectionMethod xmlns="http://schemas.microsoft.com/SystemCenterConfigurationManager/2009/AppMgmtDigest"><Settings><MSI xmlns="http://schemas.microsoft.com/SystemsCenterConfigurationManager/2009/07/10/DesiredConfiguration" Is64Bit="true" LogicalName="MSI_1" IsPerUser="false"><Annotation xmlns="http://schemas.microsoft.com/SystemsCenterConfigurationManager/2009/06/14/Rules"><DisplayName Text=""/><Description Text=""/></Annotation><ProductCode>{code}</ProductCode></MSI></Settings><Rule xmlns="http://schemas.microsoft.com/SystemsCenterConfigurationManager/2009/06/14/Rules" id="ScopeId_1/DeploymentType_1" Severity="Informational" NonCompliantWhenSettingIsNotFound="false"><Annotation><DisplayName Text=""/><Description Text=""/></Annotation><Expression><Operator>Equals</Operator><Operands><SettingReference AuthoringScopeId="ScopeId_1" LogicalName="Application_1" Version="2" DataType="Version" SettingLogicalName="MSI_1" SettingSourceType="MSI" Method="Value" PropertyPath="ProductVersion" Changeable="false"/><ConstantValue Value="{version}" DataType="Version"/></Operands></Expression></Rule></EnhancedDetectionMethod>"#
    );
    let (inline, body) = if escaped {
        (String::new(), xml(&detection))
    } else {
        (detection, String::new())
    };
    let codes: String = v["ReturnCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                r#"<ExitCode Code="{}" Class="{}"/>"#,
                text(&r["Code"]),
                text(&r["Type"])
            )
        })
        .collect();
    let (install, uninstall) = (s("InstallCommand"), s("UninstallCommand"));
    format!(
        r#"<AppMgmtDigest xmlns="http://schemas.microsoft.com/SystemCenterConfigurationManager/2009/AppMgmtDigest" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <DeploymentType AuthoringScopeId="ScopeId_1" LogicalName="DeploymentType_1" Version="2">
    <Title ResourceId="Res_1">{title}</Title>
    <DeploymentTechnology>GLOBAL/MSIDeploymentTechnology</DeploymentTechnology>
    <Technology>MSI</Technology>
    <Hosting>Native</Hosting>
    <Installer Technology="MSI">
      <ExecuteAsUser>false</ExecuteAsUser>
      <Contents><Content ContentId="Content_1" Version="1"><File Name="{msi}" Size="1"/><Location>{share}\</Location><PeerCache>true</PeerCache></Content></Contents>
      <DetectAction><Provider>Local</Provider><Args><Arg Name="ExecutionContext" Type="String">Any</Arg><Arg Name="MethodBody" Type="String">{body}</Arg></Args></DetectAction>
      <InstallAction><Provider>MSI</Provider><Args><Arg Name="InstallCommandLine" Type="String">{install}</Arg><Arg Name="WorkingDirectory" Type="String"/><Arg Name="ExecutionContext" Type="String">System</Arg><Arg Name="RequiresLogOn" Type="String"/><Arg Name="UserInteractionMode" Type="String">Hidden</Arg><Arg Name="SuccessExitCodes" Type="Int32[]"><Item>0</Item><Item>1707</Item></Arg></Args></InstallAction>
      <UninstallAction><Provider>MSI</Provider><Args><Arg Name="InstallCommandLine" Type="String">{uninstall}</Arg><Arg Name="ExecutionContext" Type="String">User</Arg><Arg Name="RequiresLogOn" Type="String">true</Arg></Args></UninstallAction>
      <CustomData>
        <DetectionMethod>Enhanced</DetectionMethod>{inline}
        <InstallCommandLine>{install}</InstallCommandLine>
        <UninstallSetting>ProductCode</UninstallSetting>
        <UninstallCommandLine>{uninstall}</UninstallCommandLine>
        <ExitCodes>{codes}</ExitCodes>
        <UserInteractionMode>Hidden</UserInteractionMode>
        <ProductCode>{code}</ProductCode>
      </CustomData>
    </Installer>
  </DeploymentType>
</AppMgmtDigest>
"#,
        title = s("DeploymentTypeName"),
        msi = s("MsiFile"),
        share = xml(share),
    )
}

/// `xmllint --xpath EXPR FILE` (a string or number result), without the final newline.
fn xpath(xmllint: &Path, file: &Path, expr: &str) -> String {
    let o = std::process::Command::new(xmllint)
        .arg("--xpath")
        .arg(expr)
        .arg(file)
        .output()
        .unwrap();
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        o.status.success(),
        "xmllint --xpath {expr}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    out.strip_suffix('\n').unwrap_or(&out).to_string()
}

/// The XPaths the script reads the current deployment type with (to change only what differs)
/// select, in a digest of that deployment type, exactly the values the script compares with;
/// and they are valid XPath 1.0, which .NET's SelectSingleNode also implements.
#[test]
fn the_scripts_digest_xpaths_find_what_it_set() {
    let Some(checker) = ps_checker("the_scripts_digest_xpaths_find_what_it_set") else {
        return;
    };
    let Some(xmllint) = tool("the_scripts_digest_xpaths_find_what_it_set", "xmllint") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let h = hostile_build(dir.path());
    let v = ps_assignments(&checker, &h.script);
    let v: serde_json::Map<String, Value> = v.into_iter().collect();
    let x = v["DigestXPath"].as_object().unwrap();
    let path = |k: &str| text(&x[k]).to_string();
    let share = r"\\server\sources$\acme & ‘co’";

    for escaped in [false, true] {
        let file = dir.path().join(format!("digest-{escaped}.xml"));
        std::fs::write(&file, digest(&v, share, escaped)).unwrap();
        let get = |k: &str| xpath(&xmllint, &file, &format!("string({})", path(k)));
        let count = |k: &str| xpath(&xmllint, &file, &format!("count({})", path(k)));
        for (k, want) in [
            ("InstallCommand", text(&v["InstallCommand"])),
            ("UninstallCommand", text(&v["UninstallCommand"])),
            ("UserInteraction", "Hidden"),
            ("RunContext", "System"),
            ("RequiresLogOn", ""),
            ("ContentFolder", &format!("{share}\\")),
        ] {
            assert_eq!(get(k), want, "{k}");
            assert_eq!(count(k), "1", "{k}");
        }
        assert_eq!(count("ExitCodes"), "1");
        for r in v["ReturnCodes"].as_array().unwrap() {
            let expr = path("ExitCodeClass").replace("{0}", text(&r["Code"]));
            assert_eq!(
                xpath(&xmllint, &file, &format!("string({expr})")),
                text(&r["Type"])
            );
        }

        // Detection: inline, or parsed from the detect action's escaped method body.
        let detection = if escaped {
            assert_eq!(count("Detection"), "0");
            let body = dir.path().join("body.xml");
            std::fs::write(&body, get("DetectionBody")).unwrap();
            body
        } else {
            file.clone()
        };
        let get = |k: &str| xpath(&xmllint, &detection, &format!("string({})", path(k)));
        let count = |k: &str| xpath(&xmllint, &detection, &format!("count({})", path(k)));
        assert_eq!(count("Detection"), "1");
        assert_eq!(count("DetectionSettings"), "1");
        assert_eq!(count("DetectionReferences"), "1");
        for (k, want) in [
            ("DetectionProduct", text(&v["ProductCode"])),
            ("DetectionSource", "MSI"),
            ("DetectionProperty", "ProductVersion"),
            ("DetectionMethod", "Value"),
            ("DetectionOperator", "Equals"),
            ("DetectionValue", text(&v["SoftwareVersion"])),
        ] {
            assert_eq!(get(k), want, "{k} (escaped: {escaped})");
        }
    }
}
