//! The packages we write (config and wrapped) read back with independent tools, are
//! byte-identical across builds, and the vendor pkg's facts reach the manifest; bad vendor
//! files get clear errors.

mod common;
#[path = "macos_support.rs"]
mod support;

use std::path::{Path, PathBuf};
use support::*;

const CONFIG_ID: &str = "com.agentpack.crashplan.config.acme-prod";

fn build_with(pkg: &str, wrap: bool) -> Option<(tempfile::TempDir, PathBuf, std::process::Output)> {
    let vendor = fixture_pkg("macos_pkg", pkg)?;
    let dir = tempfile::tempdir().unwrap();
    let p = write_policy(dir.path(), "acme-prod", &[]);
    let out = dir.path().join("dist");
    let vendor_arg = vendor.to_str().unwrap().to_string();
    let mut args = vec!["--pkg", vendor_arg.as_str()];
    if wrap {
        args.push("--wrap-vendor");
    }
    let o = build(&[&p], &out, &args);
    Some((dir, out, o))
}

/// Every external and crate reader accepts `pkg`; script modes carry S_IFREG.
fn check_pkg(pkg: &Path, components: &[Option<&str>]) {
    let test = "check_pkg";
    if let Some(t) = common::shared_tool(test, "pkgcheck.py") {
        let (ok, out, err) = common::run(std::process::Command::new("python3").arg(t).arg(pkg));
        assert!(ok, "pkgcheck {}:\n{out}{err}", pkg.display());
    }
    if let Some(bsdtar) = common::program(test, "bsdtar") {
        let (ok, _, err) = common::run(std::process::Command::new(bsdtar).arg("-tvf").arg(pkg));
        assert!(ok, "bsdtar -tvf: {err}");
    }
    if let Some(z) = common::program(test, "7zz") {
        let (ok, out, err) = common::run(std::process::Command::new(z).arg("t").arg(pkg));
        assert!(ok && out.contains("Everything is Ok"), "7zz t:\n{out}{err}");
    }
    let mut xar = apple_xar::reader::XarReader::new(std::fs::File::open(pkg).unwrap()).unwrap();
    assert!(
        xar.verify_table_of_contents_checksum().unwrap(),
        "TOC checksum"
    );
    for c in components {
        let scripts = scripts_of(pkg, *c);
        assert!(!scripts.is_empty());
        for (name, mode, _) in &scripts {
            if name != "." {
                assert_eq!(*mode, 0o100755, "{name} in {c:?}");
            }
        }
    }
}

#[test]
fn config_pkg_passes_every_reader_and_is_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_policy(dir.path(), "acme-prod", &[]);
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    build(&[&p], &a, &[]);
    build(&[&p], &b, &[]);
    let rel = "acme-prod/macos/acme-prod-config.pkg";
    check_pkg(&a.join(rel), &[None]);
    assert_eq!(
        std::fs::read(a.join(rel)).unwrap(),
        std::fs::read(b.join(rel)).unwrap(),
        "byte-identical"
    );
    let mut r =
        apple_flat_package::PkgReader::new(std::fs::File::open(a.join(rel)).unwrap()).unwrap();
    let info = r
        .root_component()
        .unwrap()
        .unwrap()
        .package_info()
        .unwrap()
        .clone();
    assert_eq!(info.identifier, CONFIG_ID);
    assert!(info.version.starts_with("1."));
    assert_eq!(info.auth, "root");
    // A different policy value gives a different version.
    let p2 = write_policy(dir.path(), "acme-prod", &[("registration", "manual")]);
    let c = dir.path().join("c");
    build(&[&p2], &c, &[]);
    let mut r2 =
        apple_flat_package::PkgReader::new(std::fs::File::open(c.join(rel)).unwrap()).unwrap();
    assert_ne!(
        r2.root_component()
            .unwrap()
            .unwrap()
            .package_info()
            .unwrap()
            .version,
        info.version
    );
}

#[test]
fn wrapped_pkg_holds_config_first_then_vendor_and_notes_the_signature() {
    for fixture in [
        "vendor-crashplan-component.pkg",
        "vendor-crashplan-dist.pkg",
        "vendor-crashplan-dist-signed.pkg",
    ] {
        let Some((_d, out, o)) = build_with(fixture, true) else {
            return;
        };
        let wrapped = out.join("acme-prod/macos/acme-prod-crashplan.pkg");
        check_pkg(&wrapped, &[Some(CONFIG_ID)]);
        let mut r =
            apple_flat_package::PkgReader::new(std::fs::File::open(&wrapped).unwrap()).unwrap();
        let ids: Vec<String> = r
            .component_packages()
            .unwrap()
            .iter()
            .map(|c| c.package_info().unwrap().identifier.clone())
            .collect();
        assert_eq!(
            ids.first().map(String::as_str),
            Some(CONFIG_ID),
            "{fixture}: {ids:?}"
        );
        assert!(
            ids.len() >= 2,
            "{fixture}: vendor components missing: {ids:?}"
        );
        // The choices outline, from the Distribution as bsdtar extracts it (apple-flat-package
        // 0.20 cannot parse a <volume-check> without a script attribute, which productbuild
        // writes and the wrapped package keeps from the vendor's).
        let Some(bsdtar) = common::program("wrapped_pkg", "bsdtar") else {
            return;
        };
        let dist = std::process::Command::new(bsdtar)
            .arg("-xOf")
            .arg(&wrapped)
            .arg("Distribution")
            .output()
            .unwrap();
        assert!(dist.status.success());
        let dist = String::from_utf8(dist.stdout).unwrap();
        let outline = dist
            .split("<choices-outline>")
            .nth(1)
            .and_then(|s| s.split("</choices-outline>").next())
            .unwrap_or_else(|| panic!("no choices-outline in {dist}"))
            .to_string();
        if fixture.contains("dist") {
            assert!(
                dist.contains("<os-version min=\"12.0\"/>"),
                "{fixture}: the vendor's OS requirement is lost: {dist}"
            );
        }
        assert!(
            outline.find(CONFIG_ID) < outline.find(&ids[1]),
            "config installs first: {outline}"
        );
        // The preinstall inside the wrapped package is the config package's.
        assert_eq!(
            preinstall_of(&wrapped, Some(CONFIG_ID)),
            preinstall_of(&out.join("acme-prod/macos/acme-prod-config.pkg"), None)
        );
        let stderr = String::from_utf8_lossy(&o.stderr);
        let stdout = String::from_utf8_lossy(&o.stdout);
        let said = format!("{stdout}{stderr}");
        if fixture.contains("signed") {
            assert!(
                said.contains("signature"),
                "{fixture}: no note about the signature: {said}"
            );
        }
        if fixture.contains("dist") {
            // The user is told what of the vendor's Distribution is kept and what is not.
            assert!(
                said.contains("keep the vendor's requirements (<volume-check>)"),
                "{said}"
            );
            assert!(
                said.contains("<script>") && said.contains("<welcome>"),
                "{said}"
            );
        }
        assert!(!said.contains(TOKEN));
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
        let wrapped_rec = m["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["kind"] == "wrapped-pkg")
            .unwrap();
        assert_eq!(wrapped_rec["secret"], true);
    }
}

#[test]
fn vendor_facts_are_recorded_in_the_manifest() {
    let Some((_d, out, _)) = build_with("vendor-crashplan-dist-signed.pkg", false) else {
        return;
    };
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let input = m["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["role"] == "macos-installer")
        .unwrap();
    let facts = &input["facts"];
    assert_eq!(facts["signed"], true);
    assert_eq!(facts["kind"], "distribution");
    let comp = &facts["components"][0];
    assert!(comp["identifier"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(comp["version"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(comp["bundles"].as_array().is_some_and(|b| b
        .iter()
        .any(|b| b["id"].is_string() && b["version"].is_string())));
    // The vendor package is linked beside the config package, unmodified.
    let linked = out.join("acme-prod/macos/vendor-crashplan-dist-signed.pkg");
    assert_eq!(
        std::fs::read(linked).unwrap(),
        std::fs::read(fixture_pkg("vendor_facts", "vendor-crashplan-dist-signed.pkg").unwrap())
            .unwrap()
    );
}

#[test]
fn bad_vendor_files_get_clear_errors() {
    let Some(good) = fixture_pkg("bad_vendor_files", "vendor-crashplan-component.pkg") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = write_policy(dir.path(), "acme-prod", &[]);
    let bytes = std::fs::read(&good).unwrap();
    // A DMG: some data and a UDIF `koly` trailer in the last 512 bytes.
    let mut dmg = vec![0u8; 4096];
    dmg.extend_from_slice(b"koly");
    dmg.extend_from_slice(&[0u8; 508]);
    let mut bad_toc = bytes.clone();
    bad_toc[40] ^= 0xff; // inside the compressed TOC
    let cases: [(&str, Vec<u8>, &str); 3] = [
        ("disk.dmg", dmg, "pass the .pkg inside it"),
        (
            "truncated.pkg",
            bytes[..bytes.len() / 3].to_vec(),
            "truncated.pkg",
        ),
        ("badtoc.pkg", bad_toc, "badtoc.pkg"),
    ];
    for (name, data, want) in cases {
        let f = dir.path().join(name);
        std::fs::write(&f, data).unwrap();
        let o = agentpack()
            .arg("build")
            .arg("--policy")
            .arg(&p)
            .arg("--pkg")
            .arg(&f)
            .arg("--out")
            .arg(dir.path().join("out"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(want), "{name}: {err}");
        assert!(!dir.path().join("out").exists());
    }
}
