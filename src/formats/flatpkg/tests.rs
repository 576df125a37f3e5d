//! Unit tests of the flat package builders and inspector (external oracles live in
//! `tests/pkg_*.rs`).

use std::path::Path;

use super::inspect::{parse_distribution, parse_package_info};
use super::*;
use crate::formats::cpio::{gunzip, read_odc, MODE_DIR, MODE_FILE_EXEC};
use crate::formats::xar::XarReader;

fn sample() -> ComponentPackage {
    ComponentPackage::new("com.example.config", "1.2.3")
        .with_script("preinstall", b"#!/bin/sh\necho pre\n".to_vec())
        .with_script("postinstall", b"#!/bin/sh\necho post\n".to_vec())
}

#[test]
fn package_info_has_required_fields_and_escapes() {
    let pkg = ComponentPackage::new("com.ex<&>\"'", "1 & 2").with_script("postinstall", "x");
    let xml = pkg.package_info_xml().unwrap();
    assert!(
        xml.contains("identifier=\"com.ex&lt;&amp;&gt;&quot;&apos;\""),
        "{xml}"
    );
    let facts = parse_package_info(Path::new("t"), "", xml.as_bytes()).unwrap();
    assert_eq!(facts.identifier, "com.ex<&>\"'");
    assert_eq!(facts.version, "1 & 2");
    assert_eq!(facts.install_location.as_deref(), Some("/"));
    assert_eq!(facts.install_kbytes, Some(0));
    assert_eq!(facts.number_of_files, Some(0));
    assert_eq!(facts.scripts, ["./postinstall"]);
    let xml = sample().package_info_xml().unwrap();
    for needle in [
        "format-version=\"2\"",
        "auth=\"root\"",
        "<payload numberOfFiles=\"0\" installKBytes=\"0\"/>",
        "<preinstall file=\"./preinstall\"/>",
        "<postinstall file=\"./postinstall\"/>",
    ] {
        assert!(xml.contains(needle), "{needle} missing in {xml}");
    }
}

#[test]
fn scripts_archive_modes_and_order() {
    let scripts = sample().scripts_archive().unwrap().unwrap();
    let entries = read_odc(&gunzip(&scripts, 1 << 20).unwrap()).unwrap();
    let listing: Vec<_> = entries.iter().map(|e| (e.name.as_str(), e.mode)).collect();
    assert_eq!(
        listing,
        [
            (".", MODE_DIR),
            ("./postinstall", MODE_FILE_EXEC),
            ("./preinstall", MODE_FILE_EXEC)
        ]
    );
    assert_eq!(entries[2].data, b"#!/bin/sh\necho pre\n");
    assert!(entries
        .iter()
        .all(|e| e.uid == 0 && e.gid == 0 && e.mtime == 0));
}

#[test]
fn invalid_values_are_rejected() {
    let cases = [
        ComponentPackage::new("", "1"),
        ComponentPackage::new("a", " "),
        ComponentPackage::new("a\u{1}", "1"),
        ComponentPackage::new("a", "1").with_script("../x", "x"),
        ComponentPackage::new("a", "1").with_script("a/b", "x"),
        ComponentPackage::new("a", "1")
            .with_script("preinstall", "x")
            .with_script("preinstall", "y"),
    ];
    for pkg in cases {
        let err = pkg.build().unwrap_err();
        assert!(err.is_bad_input(), "{err}");
    }
}

#[test]
fn component_build_is_deterministic_and_readable() {
    let a = sample().build().unwrap();
    assert_eq!(a, sample().build().unwrap());
    let mut r = XarReader::new(std::io::Cursor::new(&a[..]), "mem").unwrap();
    let paths: Vec<_> = r.entries().iter().map(|e| e.path.clone()).collect();
    assert_eq!(paths, ["PackageInfo", "Scripts"]);
    assert!(r.read_member("PackageInfo", 1 << 20).is_ok());
}

#[test]
fn payload_free_without_scripts_has_no_scripts_member() {
    let bytes = ComponentPackage::new("a.b", "1").build().unwrap();
    let r = XarReader::new(std::io::Cursor::new(&bytes[..]), "mem").unwrap();
    assert!(r.find("Scripts").is_none());
}

#[test]
fn distribution_xml_lists_components_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d.pkg");
    let report = DistributionPackage::new("T & T", "com.example.product", "1")
        .component("config.pkg", sample())
        .component("two pkg.pkg", ComponentPackage::new("com.example.two", "2"))
        .write_file(&out)
        .unwrap();
    assert!(!report.signature_dropped);
    let names: Vec<_> = report.components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["config.pkg", "two pkg.pkg"]);
    let facts = inspect(&out).unwrap();
    assert_eq!(facts.kind, PkgKind::Distribution);
    assert_eq!(facts.title.as_deref(), Some("T & T"));
    let ids: Vec<_> = facts
        .components
        .iter()
        .map(|c| c.identifier.as_str())
        .collect();
    assert_eq!(ids, ["com.example.config", "com.example.two"]);
    assert_eq!(facts.pkg_refs[1].target.as_deref(), Some("#two%20pkg.pkg"));
    assert_eq!(facts.components[1].location, "two pkg.pkg");
}

#[test]
fn distribution_conflicts_are_errors() {
    let dup_name = DistributionPackage::new("T", "p", "1")
        .component("a.pkg", ComponentPackage::new("x", "1"))
        .component("a.pkg", ComponentPackage::new("y", "1"));
    let dup_id = DistributionPackage::new("T", "p", "1")
        .component("a.pkg", ComponentPackage::new("x", "1"))
        .component("b.pkg", ComponentPackage::new("x", "1"));
    let bad_name =
        DistributionPackage::new("T", "p", "1").component("a", ComponentPackage::new("x", "1"));
    let empty = DistributionPackage::new("T", "p", "1");
    for d in [dup_name, dup_id, bad_name, empty] {
        let err = d.write_to(Vec::new()).unwrap_err();
        assert!(err.is_bad_input(), "{err}");
    }
}

#[test]
fn distribution_facts_merge_pkg_refs() {
    let xml = br#"<installer-gui-script minSpecVersion="1"><title>X</title>
        <choice id="a"><pkg-ref id="a"/></choice>
        <pkg-ref id="a" version="1" installKBytes="5">#a%20b.pkg</pkg-ref>
        <pkg-ref id="b">file:../other.pkg</pkg-ref>
        <installation-check script="f()"/><product id="p"/></installer-gui-script>"#;
    let d = parse_distribution(Path::new("t"), xml).unwrap();
    assert_eq!(d.pkg_refs.len(), 2);
    assert_eq!(d.pkg_refs[0].install_kbytes, Some(5));
    let folders: Vec<_> = d.component_folders().into_iter().map(|f| f.0).collect();
    assert_eq!(folders, ["a b.pkg"]);
    assert_eq!(d.other_elements, ["installation-check"]);
    assert!(parse_distribution(Path::new("t"), b"<pkg-info/>").is_err());
}

#[test]
fn percent_coding_round_trips() {
    assert_eq!(percent_encode("a b&c.pkg"), "a%20b%26c.pkg");
    assert_eq!(percent_decode("a%20b%26c.pkg"), "a b&c.pkg");
    assert_eq!(percent_decode("bad%zz%"), "bad%zz%");
}
