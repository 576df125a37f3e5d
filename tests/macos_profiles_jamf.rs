//! Configuration profiles and Jamf import files: Apple's schemas accept every profile, UUIDs are
//! stable across builds and distinct across policies, the Jamf XML is well-formed and carries
//! each profile losslessly, the JSON records hash the packages, and nothing that is not marked
//! secret holds the token.

mod common;
#[path = "macos_support.rs"]
mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
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

/// Apple's schemas (validate-profile.py) accept the profile with no error and no warning, and
/// it is well-formed XML.
fn validate_profile(f: &Path) {
    if let Some(t) = common::shared_tool("profiles_validate", "validate-profile.py") {
        let (ok, out, err) = common::run(std::process::Command::new("python3").arg(t).arg(f));
        assert!(
            ok && out.lines().any(|l| l.trim() == "0 errors, 0 warnings"),
            "{}:\n{out}{err}",
            f.display()
        );
    }
    if let Some(x) = common::program("profiles_validate", "xmllint") {
        let (ok, _, err) = common::run(std::process::Command::new(x).arg("--noout").arg(f));
        assert!(ok, "{}: {err}", f.display());
    }
}

/// A product profile file (profiles/<id>.yaml), read as plain data.
fn product_facts(id: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("profiles/{id}.yaml"));
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The first payload of a .mobileconfig.
fn payload(file: &Path) -> plist::Dictionary {
    plist::Value::from_file(file)
        .unwrap()
        .as_dictionary()
        .unwrap()["PayloadContent"]
        .as_array()
        .unwrap()[0]
        .as_dictionary()
        .unwrap()
        .clone()
}

fn string_list(v: &plist::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_string().unwrap().to_string())
        .collect()
}

fn json_strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

/// A policy of `product` built into `dir/<product>`, with `args`: (out, stderr).
fn build_product(
    dir: &Path,
    product: &str,
    extra: &[(&str, &str)],
    args: &[&str],
) -> (PathBuf, String) {
    let mut keys = vec![("product", product)];
    keys.extend_from_slice(extra);
    let p = write_policy(dir, "acme-prod", &keys);
    let out = dir.join(product);
    let o = build(&[&p], &out, args);
    (out, String::from_utf8_lossy(&o.stderr).into_owned())
}

/// The Team IDs and identifiers in the login-items and system-extension profiles are the
/// product profile's facts, for every product that has them; each such profile validates.
#[test]
fn login_items_and_system_extension_profiles_carry_the_products_facts() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked_extensions = 0;
    for product in ["crashplan", "code42", "incydr-agent"] {
        let facts = product_facts(product);
        let mac = &facts["macos"];
        let (out, _) = build_product(dir.path(), product, &[], &[]);
        let macos = out.join("acme-prod/macos");
        for f in files_with_ext(&macos, "mobileconfig") {
            validate_profile(&f);
        }
        let pppc = payload(&macos.join("acme-prod-pppc.mobileconfig"));
        let services = pppc["Services"].as_dictionary().unwrap();
        assert_eq!(
            services.keys().cloned().collect::<BTreeSet<_>>(),
            json_strings(&mac["tcc_services"]).into_iter().collect(),
            "{product}"
        );
        for (_, identities) in services {
            let id = identities.as_array().unwrap()[0].as_dictionary().unwrap();
            assert_eq!(id["Identifier"].as_string(), mac["bundle_id"].as_str());
            assert_eq!(
                id["CodeRequirement"].as_string(),
                mac["code_requirement"].as_str()
            );
        }
        let login = macos.join("acme-prod-login-items.mobileconfig");
        match mac["login_items"]["team_id"].as_str() {
            Some(team) => {
                let rules = payload(&login)["Rules"].as_array().unwrap().clone();
                assert_eq!(rules.len(), 1, "{product}");
                let rule = rules[0].as_dictionary().unwrap();
                assert_eq!(rule["RuleType"].as_string(), Some("TeamIdentifier"));
                assert_eq!(rule["RuleValue"].as_string(), Some(team), "{product}");
            }
            None => assert!(!login.exists(), "{product}"),
        }
        let ext = macos.join("acme-prod-system-extension.mobileconfig");
        let want = &mac["system_extension"];
        if want.is_null() {
            assert!(!ext.exists(), "{product}");
            continue;
        }
        checked_extensions += 1;
        let team = want["team_id"].as_str().unwrap();
        let got = payload(&ext);
        let allowed = got["AllowedSystemExtensions"].as_dictionary().unwrap();
        assert_eq!(allowed.keys().collect::<Vec<_>>(), [team], "{product}");
        assert_eq!(
            string_list(&allowed[team]),
            json_strings(&want["identifiers"])
        );
        let types = got["AllowedSystemExtensionTypes"].as_dictionary().unwrap();
        assert_eq!(types.keys().collect::<Vec<_>>(), [team], "{product}");
        assert_eq!(string_list(&types[team]), json_strings(&want["types"]));
    }
    assert_eq!(checked_extensions, 1, "incydr-agent has a system extension");
}

/// A product with unconfirmed facts: the build names, per artifact, the unconfirmed facts it
/// relies on (stderr and --json alike) and the affected profiles say so in their description.
#[test]
fn builds_name_the_unconfirmed_facts_their_artifacts_use() {
    let dir = tempfile::tempdir().unwrap();
    let (out, stderr) = build_product(dir.path(), "incydr-agent", &[], &[]);
    let notes: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("note: "))
        .filter(|l| l.contains("unconfirmed"))
        .collect();
    let has = |what: &str, facts: &str| {
        notes.iter().any(|n| {
            n.starts_with("incydr-agent: ")
                && n.contains(what)
                && n.contains(&format!(": {facts}: check"))
                && n.ends_with("against a real installer (agentpack products)")
        })
    };
    assert!(
        has(
            "(PPPC) profile",
            "macos.bundle_id, macos.team_id, macos.code_requirement"
        ),
        "{notes:#?}"
    );
    assert!(
        has(
            "system extensions profile",
            "macos.team_id, macos.system_extension"
        ),
        "{notes:#?}"
    );
    assert!(
        has(
            "the config package",
            "properties, macos.deploy_properties_path"
        ),
        "{notes:#?}"
    );
    assert!(
        has("install-args.txt", "properties, windows.packed_property"),
        "{notes:#?}"
    );
    // Every fact named is one the product profile marks unconfirmed.
    let unconfirmed: BTreeSet<String> = json_strings(&product_facts("incydr-agent")["unconfirmed"])
        .into_iter()
        .collect();
    for n in &notes {
        let facts = n.split(": ").nth(2).unwrap();
        for f in facts.split(", ") {
            assert!(unconfirmed.contains(f), "{f} in {n}");
        }
    }
    let description = |kind: &str| {
        plist::Value::from_file(out.join(format!("acme-prod/macos/acme-prod-{kind}.mobileconfig")))
            .unwrap()
            .as_dictionary()
            .unwrap()["PayloadDescription"]
            .as_string()
            .unwrap()
            .to_string()
    };
    assert!(
        description("pppc").contains(
            "It relies on unconfirmed vendor facts (macos.bundle_id, macos.team_id, macos.code_requirement): check them against a real installer"
        ),
        "{}",
        description("pppc")
    );
    assert!(description("system-extension").contains("(macos.team_id, macos.system_extension)"));
    let classic =
        std::fs::read_to_string(out.join("acme-prod/jamf/classic/profile-pppc.xml")).unwrap();
    assert!(
        classic.contains("It relies on unconfirmed vendor facts"),
        "{classic}"
    );

    // --json carries the same notes.
    let p = dir.path().join("acme-prod.yaml");
    let o = agentpack()
        .arg("--json")
        .arg("build")
        .arg("--policy")
        .arg(&p)
        .arg("--out")
        .arg(dir.path().join("json"))
        .output()
        .unwrap();
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let json_notes: Vec<String> = json_strings(&v["notes"])
        .into_iter()
        .filter(|n| n.contains("unconfirmed"))
        .collect();
    assert_eq!(
        json_notes, notes,
        "--json notes differ from the printed ones"
    );

    // code42: the Team ID is confirmed, the bundle id and deploy.properties folder are not.
    let (_, stderr) = build_product(dir.path(), "code42", &[], &[]);
    assert!(stderr.contains("code42: unconfirmed facts used by the privacy permissions (PPPC) profile: macos.bundle_id, macos.code_requirement: check them"), "{stderr}");
    assert!(stderr.contains("code42: unconfirmed fact used by deploy.properties, the config package and the Jamf script: macos.deploy_properties_path: check it"), "{stderr}");
}

/// A build that relies on no unconfirmed fact says nothing about them; a policy with
/// `scope: user` relies on the per-user facts, which crashplan marks unconfirmed.
#[test]
fn builds_using_no_unconfirmed_fact_say_nothing_and_user_scope_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (out, stderr) = build_product(dir.path(), "crashplan", &[], &[]);
    assert!(!stderr.contains("unconfirmed"), "{stderr}");
    for f in files_with_ext(&out, "mobileconfig") {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(!text.contains("relies on"), "{}", f.display());
    }
    let dir = tempfile::tempdir().unwrap();
    let (_, stderr) = build_product(dir.path(), "crashplan", &[("scope", "user")], &[]);
    assert!(stderr.contains("crashplan: unconfirmed fact used by the Windows files of policies with scope: user: windows.user_scope_properties: check it"), "{stderr}");
    assert!(stderr.contains("crashplan: unconfirmed fact used by the macOS files of policies with scope: user: macos.user_scope: check it"), "{stderr}");
    assert!(
        !stderr.contains("transform_route"),
        "no MSI, no transform: {stderr}"
    );
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
        validate_profile(f);
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
