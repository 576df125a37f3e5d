//! Configuration profiles and Jamf import files: Apple's schemas accept every profile, UUIDs are
//! stable across builds and distinct across policies, the Jamf XML is well-formed and carries
//! each profile losslessly, the JSON records hash the packages, and nothing that is not marked
//! secret holds the token.

mod common;
#[path = "macos_support.rs"]
mod support;

use std::collections::BTreeSet;
use std::path::Path;
use support::*;

fn uuids(v: &plist::Value, out: &mut Vec<String>) {
    match v {
        plist::Value::Dictionary(d) => {
            for (k, x) in d {
                if k == "PayloadUUID" {
                    out.push(x.as_string().unwrap().to_string());
                }
                uuids(x, out);
            }
        }
        plist::Value::Array(a) => a.iter().for_each(|x| uuids(x, out)),
        _ => {}
    }
}

fn profile_uuids(out: &Path) -> Vec<String> {
    let mut v = Vec::new();
    for f in files_with_ext(out, "mobileconfig") {
        uuids(&plist::Value::from_file(&f).unwrap(), &mut v);
    }
    v
}

#[test]
fn profiles_validate_and_uuids_are_stable_and_distinct() {
    let dir = tempfile::tempdir().unwrap();
    let a = hostile_policy(dir.path(), "acme-prod");
    let b = write_policy(dir.path(), "acme-test", &[]);
    let (o1, o2) = (dir.path().join("o1"), dir.path().join("o2"));
    build(&[&a, &b], &o1, &[]);
    build(&[&a, &b], &o2, &[]);
    let files = files_with_ext(&o1, "mobileconfig");
    let names: BTreeSet<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for kind in ["pppc", "notifications", "login-items"] {
        assert!(
            names.contains(&format!("acme-prod-{kind}.mobileconfig")),
            "{names:?}"
        );
    }
    assert!(
        !names.iter().any(|n| n.contains("system-extension")),
        "crashplan has no system extension facts"
    );
    for f in &files {
        let v = plist::Value::from_file(f).unwrap();
        let d = v.as_dictionary().unwrap();
        assert_eq!(d["PayloadScope"].as_string(), Some("System"));
        if f.to_string_lossy().contains("acme-prod") {
            assert_eq!(d["PayloadOrganization"].as_string(), Some(HOSTILE_ORG));
        }
        if let Some(t) = common::shared_tool("profiles_validate", "validate-profile.py") {
            let (ok, out, err) = common::run(std::process::Command::new("python3").arg(t).arg(f));
            assert!(
                ok && out.contains("0 errors"),
                "{}:\n{out}{err}",
                f.display()
            );
        }
        if let Some(x) = common::program("profiles_validate", "xmllint") {
            let (ok, _, err) = common::run(std::process::Command::new(x).arg("--noout").arg(f));
            assert!(ok, "{err}");
        }
    }
    let pppc =
        plist::Value::from_file(o1.join("acme-prod/macos/acme-prod-pppc.mobileconfig")).unwrap();
    let services = pppc.as_dictionary().unwrap()["PayloadContent"]
        .as_array()
        .unwrap()[0]
        .as_dictionary()
        .unwrap()["Services"]
        .as_dictionary()
        .unwrap()
        .clone();
    assert!(services.contains_key("SystemPolicyAllFiles"));
    let identity = services["SystemPolicyAllFiles"].as_array().unwrap()[0]
        .as_dictionary()
        .unwrap()
        .clone();
    assert_eq!(
        identity["Identifier"].as_string(),
        Some("com.crashplan.desktop")
    );
    assert!(identity["CodeRequirement"]
        .as_string()
        .unwrap()
        .contains("UGHXR79U6M"));
    assert_eq!(identity["Allowed"].as_boolean(), Some(true));

    let (u1, u2) = (profile_uuids(&o1), profile_uuids(&o2));
    assert_eq!(u1, u2, "UUIDs change between builds");
    assert_eq!(
        u1.iter().collect::<BTreeSet<_>>().len(),
        u1.len(),
        "UUIDs repeat across profiles or policies"
    );
    assert_eq!(
        std::fs::read(o1.join("acme-prod/macos/acme-prod-pppc.mobileconfig")).unwrap(),
        std::fs::read(o2.join("acme-prod/macos/acme-prod-pppc.mobileconfig")).unwrap()
    );
}

/// The text of `<tag>` in `xml`, unescaped, via quick-xml.
fn element_text(xml: &str, tag: &str) -> String {
    let mut r = quick_xml::Reader::from_str(xml);
    let mut inside = false;
    let mut text = String::new();
    loop {
        match r.read_event().unwrap() {
            quick_xml::events::Event::Start(e) if e.name().as_ref() == tag => inside = true,
            quick_xml::events::Event::End(e) if e.name().as_ref() == tag => return text,
            quick_xml::events::Event::Text(t) if inside => text.push_str(&t.xml10_content()),
            quick_xml::events::Event::GeneralRef(g) if inside => {
                let name = g.into_inner();
                let resolved = match name.as_ref() {
                    "amp" => "&".to_string(),
                    "lt" => "<".to_string(),
                    "gt" => ">".to_string(),
                    "quot" => "\"".to_string(),
                    "apos" => "'".to_string(),
                    other => {
                        let code = other.strip_prefix('#').unwrap();
                        char::from_u32(code.parse().unwrap()).unwrap().to_string()
                    }
                };
                text.push_str(&resolved);
            }
            quick_xml::events::Event::Eof => panic!("no <{tag}>"),
            _ => {}
        }
    }
}

#[test]
fn jamf_files_are_well_formed_and_carry_the_profiles_and_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let p = hostile_policy(dir.path(), "acme-prod");
    let out = dir.path().join("dist");
    build(&[&p], &out, &[]);
    let jamf = out.join("acme-prod/jamf");
    for f in files_with_ext(&jamf, "xml") {
        if let Some(x) = common::program("jamf_files", "xmllint") {
            let (ok, _, err) = common::run(std::process::Command::new(x).arg("--noout").arg(&f));
            assert!(ok, "{}: {err}", f.display());
        }
    }
    for kind in ["pppc", "notifications", "login-items"] {
        let xml =
            std::fs::read_to_string(jamf.join(format!("classic/profile-{kind}.xml"))).unwrap();
        let embedded = element_text(&xml, "payloads");
        let from_jamf = plist::Value::from_reader_xml(embedded.as_bytes()).unwrap();
        let file = plist::Value::from_file(
            out.join(format!("acme-prod/macos/acme-prod-{kind}.mobileconfig")),
        )
        .unwrap();
        assert_eq!(
            from_jamf, file,
            "{kind}: the Jamf payload differs from the .mobileconfig"
        );
        let uuid = file.as_dictionary().unwrap()["PayloadUUID"]
            .as_string()
            .unwrap()
            .to_string();
        assert_eq!(element_text(&xml, "uuid"), uuid);
    }
    let script = std::fs::read_to_string(jamf.join("install-acme-prod.sh")).unwrap();
    let xml = std::fs::read_to_string(jamf.join("classic/script.xml")).unwrap();
    assert_eq!(element_text(&xml, "script_contents"), script);
    assert_eq!(element_text(&xml, "priority"), "Before");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(jamf.join("api/script.json")).unwrap()).unwrap();
    assert_eq!(json["scriptContents"], script.as_str());
    assert_eq!(json["priority"], "BEFORE");
    // The policy installs the config package before the vendor package.
    let policy = std::fs::read_to_string(jamf.join("classic/policy.xml")).unwrap();
    let (c, v) = (
        policy.find("acme-prod-config.pkg").unwrap(),
        policy.find("Install CrashPlan.pkg").unwrap(),
    );
    assert!(c < v);
    let pkg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(jamf.join("api/package-config.json")).unwrap())
            .unwrap();
    assert_eq!(pkg["fileName"], "acme-prod-config.pkg");
    assert_eq!(pkg["priority"], 9);
    assert_eq!(pkg["hashType"], "SHA3_512");
    let bytes = std::fs::read(out.join("acme-prod/macos/acme-prod-config.pkg")).unwrap();
    assert_eq!(pkg["hashValue"], agentpack::macos::sha3_512_hex(&bytes));
    if let Some(py) = common::program("jamf_files", "python3") {
        let (ok, hex, err) = common::run(
            std::process::Command::new(py)
                .arg("-c")
                .arg("import hashlib,sys;print(hashlib.sha3_512(open(sys.argv[1],'rb').read()).hexdigest())")
                .arg(out.join("acme-prod/macos/acme-prod-config.pkg")),
        );
        assert!(ok, "{err}");
        assert_eq!(pkg["hashValue"], hex.trim());
    }
}

#[test]
fn only_secret_outputs_hold_the_token() {
    for args in [&[][..], &["--jamf-params"][..]] {
        let dir = tempfile::tempdir().unwrap();
        let p = write_policy(dir.path(), "acme-prod", &[]);
        let out = dir.path().join("dist");
        build(&[&p], &out, args);
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
        for o in m["outputs"].as_array().unwrap() {
            let path = o["path"].as_str().unwrap();
            let bytes = std::fs::read(out.join(path)).unwrap();
            let holds = bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes())
                || path.ends_with(".pkg") && o["kind"] != "vendor-pkg";
            if holds {
                assert_eq!(
                    o["secret"], true,
                    "{path} holds the token but is not secret ({args:?})"
                );
            }
        }
        let script = out.join("acme-prod/jamf/install-acme-prod.sh");
        let secret = m["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["kind"] == "jamf-script")
            .unwrap()["secret"]
            .clone();
        assert_eq!(
            secret,
            args.is_empty(),
            "the Jamf script is secret exactly when values are embedded"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(script).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, if args.is_empty() { 0o700 } else { 0o755 });
    }
}
