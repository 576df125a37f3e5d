//! `flatpkg::inspect` on the vendor-like fixtures, and hostile inputs: every damaged file must
//! give a clear bad-input error naming the file, never a panic.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use agentpack::formats::flatpkg::{
    inspect, inspect_with_verifier, ComponentPackage, PkgError, PkgKind,
};
use agentpack::formats::xar::{MemberSource, XarBuilder, XarErrorKind};
use proptest::prelude::*;

fn fixture(name: &str) -> PathBuf {
    common::fixture(&format!("pkg/{name}"))
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap();
    path
}

/// The error for `bytes` written as `name`; asserts it is a bad-input error naming the file.
fn bad_input(name: &str, bytes: &[u8]) -> PkgError {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), name, bytes);
    let err = inspect(&path).expect_err("hostile input must be rejected");
    assert!(err.is_bad_input(), "not a bad-input error: {err}");
    assert!(
        err.to_string().contains(name),
        "message does not name the file: {err}"
    );
    err
}

#[test]
fn inspect_vendor_distribution() {
    let facts = inspect(&fixture("vendor-crashplan-dist.pkg")).unwrap();
    assert_eq!(facts.kind, PkgKind::Distribution);
    assert_eq!(facts.title.as_deref(), Some("CrashPlan"));
    assert!(!facts.signed);
    let product = facts.product.as_ref().unwrap();
    assert_eq!(
        (product.id.as_str(), product.version.as_deref()),
        ("com.crashplan.app", Some("11.7.0.911"))
    );
    assert_eq!(facts.pkg_refs.len(), 1);
    let r = &facts.pkg_refs[0];
    assert_eq!(r.id, "com.crashplan.app.pkg");
    assert_eq!(r.version.as_deref(), Some("11.7.0.911"));
    assert_eq!(r.install_kbytes, Some(8));
    assert_eq!(r.target.as_deref(), Some("#crashplan.pkg"));

    assert_eq!(facts.components.len(), 1);
    let c = &facts.components[0];
    assert_eq!(c.location, "crashplan.pkg");
    assert_eq!(c.identifier, "com.crashplan.app.pkg");
    assert_eq!(c.version, "11.7.0.911");
    assert_eq!(c.install_kbytes, Some(8));
    assert!(c.has_payload && c.has_scripts_archive);
    assert_eq!(c.scripts, ["./preinstall", "./postinstall"]);
    let bundles: Vec<_> = c
        .bundles
        .iter()
        .map(|b| {
            (
                b.id.as_str(),
                b.path.as_str(),
                b.short_version.as_deref(),
                b.version.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        bundles,
        [
            (
                "com.crashplan.desktop",
                "./Applications/CrashPlan.app",
                Some("11.7.0"),
                Some("11.7.0.911")
            ),
            (
                "com.crashplan.service",
                "./Applications/CrashPlan.app/Contents/Helpers/CrashPlanService.app",
                Some("11.7.0"),
                Some("11.7.0.911")
            ),
        ]
    );
}

#[test]
fn inspect_vendor_component_and_signature() {
    let facts = inspect(&fixture("vendor-crashplan-component.pkg")).unwrap();
    assert_eq!(facts.kind, PkgKind::Component);
    assert_eq!(facts.title, None);
    assert_eq!(facts.components.len(), 1);
    assert_eq!(facts.components[0].location, "");
    assert_eq!(facts.components[0].identifier, "com.crashplan.app.pkg");
    assert_eq!(facts.components[0].bundles[0].id, "com.crashplan.desktop");
    assert!(!facts.signed);
    assert!(
        inspect(&fixture("vendor-crashplan-dist-signed.pkg"))
            .unwrap()
            .signed
    );
}

#[test]
fn inspect_our_payload_free_component() {
    let dir = tempfile::tempdir().unwrap();
    let pkg =
        ComponentPackage::new("com.example.config", "3").with_script("postinstall", "#!/bin/sh\n");
    let path = write(dir.path(), "c.pkg", &pkg.build().unwrap());
    let facts = inspect(&path).unwrap();
    let c = &facts.components[0];
    assert_eq!(
        (c.identifier.as_str(), c.version.as_str()),
        ("com.example.config", "3")
    );
    assert_eq!((c.install_kbytes, c.number_of_files), (Some(0), Some(0)));
    assert!(!c.has_payload && c.has_scripts_archive);
    assert!(c.bundles.is_empty());
}

#[test]
fn inspect_reads_no_payload() {
    // Corrupt every Payload byte: inspect must still succeed because it never reads it.
    let mut bytes = fs::read(fixture("vendor-crashplan-dist.pkg")).unwrap();
    let reader =
        agentpack::formats::xar::XarReader::open(&fixture("vendor-crashplan-dist.pkg")).unwrap();
    let payload = reader
        .find("crashplan.pkg/Payload")
        .unwrap()
        .data
        .clone()
        .unwrap();
    let start = (reader.heap_start() + payload.offset) as usize;
    for b in &mut bytes[start..start + payload.length as usize] {
        *b ^= 0xa5;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "payload-corrupt.pkg", &bytes);
    assert_eq!(
        inspect(&path).unwrap().components[0].identifier,
        "com.crashplan.app.pkg"
    );
}

#[test]
fn bad_toc_checksum_is_rejected() {
    let mut bytes = fs::read(fixture("vendor-crashplan-dist.pkg")).unwrap();
    let toc_len = u64::from_be_bytes(bytes[8..16].try_into().unwrap()) as usize;
    bytes[28 + toc_len + 3] ^= 0x01;
    let err = bad_input("bad-checksum.pkg", &bytes);
    assert!(
        matches!(&err, PkgError::Xar(e) if matches!(e.kind, XarErrorKind::BadTocChecksum)),
        "{err}"
    );
    assert!(err.to_string().contains("checksum"), "{err}");
}

#[test]
fn truncated_files_are_rejected() {
    let bytes = fs::read(fixture("vendor-crashplan-dist.pkg")).unwrap();
    for cut in [0, 2, 20, 28, 100, bytes.len() / 2, bytes.len() - 1] {
        let err = bad_input("truncated.pkg", &bytes[..cut]);
        let text = err.to_string();
        assert!(
            text.contains("truncated") || text.contains("table of contents"),
            "cut {cut}: {text}"
        );
    }
}

#[test]
fn disk_image_gets_a_helpful_message() {
    let mut dmg = vec![0x42u8; 4096];
    let trailer_at = dmg.len() - 512;
    dmg[trailer_at..trailer_at + 4].copy_from_slice(b"koly");
    let err = bad_input("CrashPlan_11.7.0_Mac.dmg", &dmg);
    assert!(matches!(err, PkgError::Dmg { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("disk image") && text.contains(".pkg inside"),
        "{text}"
    );
}

#[test]
fn non_xar_files_are_rejected() {
    let err = bad_input(
        "notes.pkg",
        b"this is not a package at all, just some text padding",
    );
    assert!(err.to_string().contains("not a xar archive"), "{err}");
    let zip = bad_input("x.pkg", b"PK\x03\x04rest-of-a-zip-file-header-goes-here");
    assert!(matches!(zip, PkgError::Xar(_)));
}

#[test]
fn missing_package_info_is_rejected() {
    let mut xar = XarBuilder::new();
    xar.add_file("Scripts", MemberSource::Bytes(b"x".to_vec()))
        .unwrap();
    let err = bad_input("no-info.pkg", &xar.to_bytes().unwrap());
    assert!(matches!(err, PkgError::MissingPackageInfo { .. }), "{err}");

    let mut xar = XarBuilder::new();
    let dist = br#"<installer-gui-script minSpecVersion="1"><pkg-ref id="a">#missing.pkg</pkg-ref></installer-gui-script>"#;
    xar.add_file("Distribution", MemberSource::Bytes(dist.to_vec()))
        .unwrap();
    let err = bad_input("dangling.pkg", &xar.to_bytes().unwrap());
    assert!(err.to_string().contains("missing.pkg"), "{err}");
}

#[test]
fn malformed_xml_members_are_rejected() {
    for (member, text) in [
        ("PackageInfo", &b"<pkg-info identifier=\"x\""[..]),
        ("PackageInfo", b"<pkg-info version=\"1\"/>"),
        ("PackageInfo", b"\xff\xfe<"),
        (
            "Distribution",
            b"<installer-gui-script><title>x</installer-gui-script>",
        ),
    ] {
        let mut xar = XarBuilder::new();
        xar.add_file(member, MemberSource::Bytes(text.to_vec()))
            .unwrap();
        bad_input("malformed.pkg", &xar.to_bytes().unwrap());
    }
}

#[test]
fn missing_file_is_bad_input() {
    let err = inspect(Path::new("/nonexistent/agentpack/x.pkg")).unwrap_err();
    assert!(
        err.is_bad_input() && err.to_string().contains("/nonexistent/agentpack/x.pkg"),
        "{err}"
    );
}

/// Inspect `path`, then stream it through the verifier `inspect_with_verifier` returned, in
/// chunks of `chunk` bytes: the number of members verified, or the (bad-input) error.
fn inspect_and_verify(path: &Path, chunk: usize) -> Result<usize, String> {
    let (_, mut verifier) = inspect_with_verifier(path).map_err(|e| {
        assert!(e.is_bad_input(), "{e}");
        e.to_string()
    })?;
    let bytes = fs::read(path).unwrap();
    for (i, c) in bytes.chunks(chunk).enumerate() {
        verifier.feed((i * chunk) as u64, c);
    }
    verifier.finish().map(|c| c.verified).map_err(|e| {
        assert!(e.is_bad_input(), "{e}");
        e.to_string()
    })
}

/// Every member of the fixtures verifies, and no single flipped byte anywhere in the file goes
/// unnoticed: the header and TOC by the reader, the heap by the verifier.
#[test]
fn every_single_byte_flip_is_caught_by_inspect_or_the_verifier() {
    let dir = tempfile::tempdir().unwrap();
    for (name, members) in [
        ("vendor-crashplan-component.pkg", 4),
        ("vendor-crashplan-dist.pkg", 6),
    ] {
        let good = fs::read(fixture(name)).unwrap();
        assert_eq!(
            inspect_and_verify(&fixture(name), 100),
            Ok(members),
            "{name}"
        );
        for at in 0..good.len() {
            let mut bad = good.clone();
            bad[at] ^= 0x10;
            let path = write(dir.path(), "flipped.pkg", &bad);
            let result = inspect_and_verify(&path, 64);
            assert!(
                result.is_err(),
                "{name}: a flip at byte {at} went unnoticed"
            );
            assert!(result.unwrap_err().contains("flipped.pkg"));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Random byte flips and truncations of a real fixture never panic.
    #[test]
    fn mutated_fixtures_never_panic(
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cut in any::<usize>(),
    ) {
        let mut bytes = fs::read(fixture("vendor-crashplan-dist.pkg")).unwrap();
        for (at, value) in flips {
            let i = at % bytes.len();
            bytes[i] ^= value | 1;
        }
        let keep = bytes.len() - cut % 64;
        bytes.truncate(keep);
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "fuzz.pkg", &bytes);
        if let Err(e) = inspect(&path) {
            prop_assert!(e.is_bad_input(), "{}", e);
        }
    }
}
