//! The packages we write (config and wrapped) read back with independent tools, are
//! byte-identical across builds, and the vendor pkg's facts reach the manifest; bad vendor
//! files get clear errors.

mod common;
#[path = "macos_support.rs"]
mod support;

use std::io::Read;
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
        // Both must be there: `find` gives Options, and None sorts before any Some.
        let config_at = outline
            .find(CONFIG_ID)
            .unwrap_or_else(|| panic!("{fixture}: config missing from {outline}"));
        let vendor_at = outline
            .find(ids[1].as_str())
            .unwrap_or_else(|| panic!("{fixture}: vendor missing from {outline}"));
        assert!(config_at < vendor_at, "config installs first: {outline}");
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
        // Its Jamf record's SHA3-512 (computed while the package streamed to disk) is that of
        // the file as written, by an independent implementation.
        let record: serde_json::Value = serde_json::from_slice(
            &std::fs::read(out.join("acme-prod/jamf/api/package-wrapped.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(record["fileName"], "acme-prod-crashplan.pkg");
        assert_eq!(record["hashType"], "SHA3_512");
        if let Some(py) = common::program("wrapped_pkg_sha3", "python3") {
            let (ok, hex, err) = common::run(
                std::process::Command::new(py)
                    .arg("-c")
                    .arg("import hashlib,sys;print(hashlib.sha3_512(open(sys.argv[1],'rb').read()).hexdigest())")
                    .arg(&wrapped),
            );
            assert!(ok, "{err}");
            assert_eq!(record["hashValue"], hex.trim(), "{fixture}");
        }
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

/// The TOC of a xar file, read here independently of agentpack: (header size, compressed TOC
/// length, TOC XML).
fn toc_of(bytes: &[u8]) -> (usize, usize, String) {
    let header = u16::from_be_bytes([bytes[4], bytes[5]]) as usize;
    let toc_len = u64::from_be_bytes(bytes[8..16].try_into().unwrap()) as usize;
    let mut xml = String::new();
    flate2::read::ZlibDecoder::new(&bytes[header..header + toc_len])
        .read_to_string(&mut xml)
        .unwrap();
    (header, toc_len, xml)
}

/// File offset and stored length of the member whose `<file>` element comes first after
/// `<name>name</name>` in the TOC.
fn member_range(bytes: &[u8], name: &str) -> (usize, usize) {
    let (header, toc_len, xml) = toc_of(bytes);
    let file = xml
        .split(&format!("<name>{name}</name>"))
        .nth(1)
        .unwrap_or_else(|| panic!("no member {name}"));
    let number = |tag: &str| -> usize {
        file.split(&format!("<{tag}>"))
            .nth(1)
            .and_then(|r| r.split('<').next())
            .unwrap()
            .parse()
            .unwrap()
    };
    (header + toc_len + number("offset"), number("length"))
}

/// `bytes` with its TOC edited, recompressed and its SHA-1 TOC checksum (heap offset 0) redone:
/// a package as a tool other than agentpack could have written it.
fn with_toc(bytes: &[u8], edit: impl Fn(&str) -> String) -> Vec<u8> {
    use sha1::Digest;
    use std::io::Write;
    let (header, toc_len, xml) = toc_of(bytes);
    let xml = edit(&xml);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(xml.as_bytes()).unwrap();
    let z = z.finish().unwrap();
    let mut out = bytes[..header].to_vec();
    out[8..16].copy_from_slice(&(z.len() as u64).to_be_bytes());
    out[16..24].copy_from_slice(&(xml.len() as u64).to_be_bytes());
    out.extend_from_slice(&z);
    out.extend_from_slice(&sha1::Sha1::digest(&z));
    out.extend_from_slice(&bytes[header + toc_len + 20..]);
    out
}

/// `agentpack build --pkg pkg` (no --wrap-vendor) into `dir/out`: (exit code, stdout, stderr).
fn build_pkg(dir: &Path, pkg: &Path, extra: &[&str]) -> (Option<i32>, String, String) {
    let p = write_policy(dir, "acme-prod", &[]);
    let o = agentpack()
        .args(extra)
        .arg("build")
        .arg("--policy")
        .arg(&p)
        .arg("--pkg")
        .arg(pkg)
        .arg("--out")
        .arg(dir.join("out"))
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// One flipped byte inside a member's stored data (which the TOC checksum does not cover) is
/// refused, without --wrap-vendor too: exit 2, the file, the member and what to do; nothing
/// written, so no Jamf record carries the damaged file's hash.
#[test]
fn a_vendor_pkg_with_a_damaged_member_is_refused() {
    for (fixture, member, shown) in [
        ("vendor-crashplan-component.pkg", "Scripts", "Scripts"),
        (
            "vendor-crashplan-dist.pkg",
            "Payload",
            "crashplan.pkg/Payload",
        ),
        (
            "vendor-crashplan-dist.pkg",
            "Welcome.rtf",
            "Resources/en.lproj/Welcome.rtf",
        ),
    ] {
        let Some(good) = fixture_pkg("damaged_member", fixture) else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = std::fs::read(&good).unwrap();
        let (at, len) = member_range(&bytes, member);
        bytes[at + len / 2] ^= 0x01;
        let bad = dir.path().join("bad.pkg");
        std::fs::write(&bad, &bytes).unwrap();
        // An independent reader agrees that the package is damaged.
        if let Some(t) = common::shared_tool("damaged_member", "pkgcheck.py") {
            let (ok, out, err) =
                common::run(std::process::Command::new("python3").arg(t).arg(&bad));
            assert!(!ok, "pkgcheck accepts it:\n{out}{err}");
        }
        let (code, stdout, stderr) = build_pkg(dir.path(), &bad, &[]);
        assert_eq!(code, Some(2), "{fixture}/{member}: {stderr}");
        assert!(stdout.is_empty(), "{stdout}");
        for want in [
            "bad.pkg",
            &format!("member \"{shown}\" is corrupt"),
            "sha1 checksum",
            "download the vendor's installer again",
        ] {
            assert!(stderr.contains(want), "{fixture}: no {want:?} in {stderr}");
        }
        assert!(!dir.path().join("out").exists(), "{fixture}: wrote output");
        // The same in --json, on stdout.
        let (code, stdout, _) = build_pkg(dir.path(), &bad, &["--json"]);
        assert_eq!(code, Some(2));
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let problem = &v["problems"][0];
        assert!(
            problem["file"].as_str().unwrap().ends_with("bad.pkg"),
            "{v}"
        );
        assert!(problem["message"].as_str().unwrap().contains(shown), "{v}");
        assert!(
            problem["hint"].as_str().unwrap().contains("download"),
            "{v}"
        );
        assert!(!dir.path().join("out").exists());
    }
}

/// A member whose declared data reaches past the end of the file: the same kind of refusal.
#[test]
fn a_vendor_pkg_member_past_the_end_of_the_file_is_refused() {
    let Some(good) = fixture_pkg("member_past_end", "vendor-crashplan-component.pkg") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let (_, len) = member_range(&bytes, "Scripts");
    let longer = with_toc(&bytes, |xml| {
        let (head, tail) = xml.split_once("<name>Scripts</name>").unwrap();
        format!(
            "{head}<name>Scripts</name>{}",
            tail.replacen(
                &format!("<length>{len}</length>"),
                &format!("<length>{}</length>", len + 4096),
                1
            )
        )
    });
    let bad = dir.path().join("short.pkg");
    std::fs::write(&bad, longer).unwrap();
    let (code, _, stderr) = build_pkg(dir.path(), &bad, &[]);
    assert_eq!(code, Some(2), "{stderr}");
    for want in [
        "short.pkg",
        "member \"Scripts\"",
        "truncated",
        "download the vendor's installer again",
    ] {
        assert!(stderr.contains(want), "no {want:?} in {stderr}");
    }
    assert!(!dir.path().join("out").exists());
}

/// A good package: every member verified, recorded in the manifest, and no note. A member
/// with an MD5 checksum cannot be verified: it is recorded and noted as unverified, not trusted.
#[test]
fn member_checksums_are_recorded_and_md5_is_reported_unverified() {
    let Some(good) = fixture_pkg("member_checksums", "vendor-crashplan-dist.pkg") else {
        return;
    };
    let facts = |dir: &Path| {
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("out/manifest.json")).unwrap()).unwrap();
        m["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["role"] == "macos-installer")
            .unwrap()["facts"]["member_checksums"]
            .clone()
    };
    let bytes = std::fs::read(&good).unwrap();
    let members = toc_of(&bytes).2.matches("<archived-checksum").count();
    assert!(members >= 6, "{members}");
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = build_pkg(dir.path(), &good, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    let checks = facts(dir.path());
    assert_eq!(checks["verified"], members as u64, "{checks}");
    assert_eq!(checks["unverified"], serde_json::json!([]));
    assert!(!stderr.contains("could not be verified"), "{stderr}");

    let md5 = with_toc(&bytes, |xml| {
        let (head, tail) = xml.split_once("<name>Scripts</name>").unwrap();
        let start = tail.find("<archived-checksum style=\"sha1\">").unwrap();
        let end = start + tail[start..].find("</archived-checksum>").unwrap();
        format!(
            "{head}<name>Scripts</name>{}<archived-checksum style=\"md5\">{}{}",
            &tail[..start],
            "0".repeat(32),
            &tail[end..]
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("md5.pkg");
    std::fs::write(&pkg, md5).unwrap();
    let (code, _, stderr) = build_pkg(dir.path(), &pkg, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains(
            "md5.pkg: 1 member(s) could not be verified against the package's table of contents: \
             crashplan.pkg/Scripts (md5 checksum, not verifiable)"
        ),
        "{stderr}"
    );
    let checks = facts(dir.path());
    assert_eq!(checks["verified"], members as u64 - 1, "{checks}");
    assert_eq!(
        checks["unverified"],
        serde_json::json!([{"path": "crashplan.pkg/Scripts", "reason": "md5 checksum, not verifiable"}])
    );
}
