//! Flat packages written by `agentpack::formats::flatpkg`, checked with independent readers:
//! `pkgcheck.py`, bsdtar, 7-Zip, GNU cpio, and the `apple-xar` / `apple-flat-package` crates.

mod common;

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use agentpack::formats::flatpkg::{ComponentOrigin, ComponentPackage, DistributionPackage};
use agentpack::formats::xar::XarReader;

const PRE: &[u8] = b"#!/bin/sh\n# preinstall: \"quotes\" & <angles>\nexit 0\n";
const POST: &[u8] = b"#!/bin/sh\nmkdir -p \"$3/Library/Application Support/Example\"\n";

fn config_pkg() -> ComponentPackage {
    ComponentPackage::new("com.example.agentpack.config", "2024.5.1")
        .with_script("preinstall", PRE)
        .with_script("postinstall", POST)
}

fn vendor_fixture() -> PathBuf {
    common::fixture("pkg/vendor-crashplan-dist.pkg")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap();
    path
}

fn wrapped(dir: &Path, name: &str) -> PathBuf {
    let out = dir.join(name);
    DistributionPackage::new("Example Agent", "com.example.agentpack.product", "2024.5.1")
        .component("config.pkg", config_pkg())
        .include_package(vendor_fixture())
        .write_file(&out)
        .unwrap();
    out
}

/// Run `pkgcheck.py`, `bsdtar -tvf` and `7zz t` on `pkg`; each must succeed.
fn external_checks(test: &str, pkg: &Path) {
    if let (Some(python), Some(pkgcheck)) = (
        common::program(test, "python3"),
        common::shared_tool(test, "pkgcheck.py"),
    ) {
        let (ok, out, err) = common::run(Command::new(python).arg(pkgcheck).arg(pkg));
        assert!(ok, "pkgcheck failed on {}:\n{out}\n{err}", pkg.display());
        assert!(out.trim_end().ends_with("OK"), "{out}");
    }
    if let Some(bsdtar) = common::program(test, "bsdtar") {
        let (ok, out, err) = common::run(Command::new(bsdtar).arg("-tvf").arg(pkg));
        assert!(ok, "bsdtar -tvf failed on {}: {err}", pkg.display());
        assert!(out.contains("PackageInfo"), "{out}");
    }
    if let Some(sevenz) = common::program(test, "7zz") {
        let (ok, out, err) = common::run(Command::new(sevenz).arg("t").arg(pkg));
        assert!(ok, "7zz t failed on {}:\n{out}\n{err}", pkg.display());
        assert!(out.contains("Everything is Ok"), "{out}");
        assert!(
            !out.contains("WARNING"),
            "7-Zip warns (e.g. data after the end): {out}"
        );
    }
}

/// `bsdtar -xOf pkg member`: the member's extracted bytes.
fn bsdtar_extract(bsdtar: &Path, archive: &Path, member: &str) -> Vec<u8> {
    let out = Command::new(bsdtar)
        .arg("-xOf")
        .arg(archive)
        .arg(member)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "bsdtar -xOf {} {member}: {}",
        archive.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn component_package_passes_external_checkers() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = write(dir.path(), "config.pkg", &config_pkg().build().unwrap());
    external_checks("component_package_passes_external_checkers", &pkg);
}

#[test]
fn distribution_packages_pass_external_checkers() {
    let test = "distribution_packages_pass_external_checkers";
    let dir = tempfile::tempdir().unwrap();
    let own = dir.path().join("own.pkg");
    DistributionPackage::new("Example", "com.example.product", "1")
        .component("config.pkg", config_pkg())
        .write_file(&own)
        .unwrap();
    external_checks(test, &own);
    external_checks(test, &wrapped(dir.path(), "wrapped.pkg"));
    let from_component = dir.path().join("from-component.pkg");
    DistributionPackage::new("Example", "com.example.product", "1")
        .component("config.pkg", config_pkg())
        .include_package(common::fixture("pkg/vendor-crashplan-component.pkg"))
        .write_file(&from_component)
        .unwrap();
    external_checks(test, &from_component);
}

#[test]
fn fixtures_pass_external_checkers() {
    for name in [
        "vendor-crashplan-dist.pkg",
        "vendor-crashplan-dist-signed.pkg",
        "vendor-crashplan-component.pkg",
    ] {
        external_checks(
            "fixtures_pass_external_checkers",
            &common::fixture(&format!("pkg/{name}")),
        );
    }
}

#[test]
fn apple_xar_verifies_toc_checksum_and_reads_members() {
    let dir = tempfile::tempdir().unwrap();
    let component = write(dir.path(), "c.pkg", &config_pkg().build().unwrap());
    for pkg in [component, wrapped(dir.path(), "w.pkg")] {
        let mut xar = apple_xar::reader::XarReader::new(fs::File::open(&pkg).unwrap()).unwrap();
        assert!(xar.verify_table_of_contents_checksum().unwrap());
        let files = xar.files().unwrap();
        assert!(!files.is_empty());
        // Every member decodes and matches what our own reader returns.
        let mut ours = XarReader::open(&pkg).unwrap();
        for (path, file) in files {
            if file.data.is_none() {
                continue;
            }
            let theirs = xar.get_file_data_from_path(&path).unwrap().unwrap();
            assert_eq!(theirs, ours.read_member(&path, 1 << 30).unwrap(), "{path}");
        }
    }
}

fn cpio_listing(
    reader: &mut apple_flat_package::component_package::CpioReader,
) -> Vec<(String, u32, Vec<u8>)> {
    let mut out = Vec::new();
    while let Some(header) = reader.read_next().unwrap() {
        let mut data = Vec::new();
        reader.read_to_end(&mut data).unwrap();
        out.push((header.name().to_string(), header.mode(), data));
    }
    out
}

#[test]
fn apple_flat_package_reads_component_and_scripts() {
    let bytes = config_pkg().build().unwrap();
    let mut pkg = apple_flat_package::PkgReader::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(pkg.flavor(), apple_flat_package::PkgFlavor::Component);
    let component = pkg.root_component().unwrap().unwrap();
    let info = component.package_info().unwrap();
    assert_eq!(info.identifier, "com.example.agentpack.config");
    assert_eq!(info.version, "2024.5.1");
    assert_eq!(info.format_version, 2);
    assert_eq!(info.auth, "root");
    assert_eq!(info.install_location.as_deref(), Some("/"));
    assert_eq!(info.scripts.scripts.len(), 2);
    let payload = info.payload.as_ref().unwrap();
    assert_eq!((payload.number_of_files, payload.install_kbytes), (0, 0));
    assert!(component.bom().is_none() && component.payload_reader().unwrap().is_none());
    let listing = cpio_listing(&mut component.scripts_reader().unwrap().unwrap());
    let summary: Vec<_> = listing.iter().map(|(n, m, _)| (n.as_str(), *m)).collect();
    assert_eq!(
        summary,
        [
            (".", 0o040755),
            ("./postinstall", 0o100755),
            ("./preinstall", 0o100755)
        ]
    );
    assert_eq!(listing[2].2, PRE);
}

#[test]
fn apple_flat_package_reads_wrapped_distribution_in_order() {
    let dir = tempfile::tempdir().unwrap();
    // Wrapping the component fixture: apple-flat-package 0.20 cannot parse the <volume-check>
    // (no script attribute) that wrapping the distribution fixture carries over from it.
    let pkg = dir.path().join("w.pkg");
    DistributionPackage::new("Example Agent", "com.example.agentpack.product", "2024.5.1")
        .component("config.pkg", config_pkg())
        .include_package(common::fixture("pkg/vendor-crashplan-component.pkg"))
        .write_file(&pkg)
        .unwrap();
    let mut reader = apple_flat_package::PkgReader::new(fs::File::open(&pkg).unwrap()).unwrap();
    assert_eq!(reader.flavor(), apple_flat_package::PkgFlavor::Product);
    let dist = reader.distribution().unwrap().unwrap();
    let refs: Vec<_> = dist.pkg_ref.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        refs,
        ["com.example.agentpack.config", "com.crashplan.app.pkg"]
    );
    assert_eq!(dist.title.unwrap().title, "Example Agent");
    let components = reader.component_packages().unwrap();
    let ids: Vec<_> = components
        .iter()
        .map(|c| c.package_info().unwrap().identifier.clone())
        .collect();
    assert_eq!(
        ids,
        ["com.example.agentpack.config", "com.crashplan.app.pkg"]
    );
    assert!(components[1].bom().is_some());
    let scripts = cpio_listing(&mut components[0].scripts_reader().unwrap().unwrap());
    assert!(scripts
        .iter()
        .any(|(n, m, d)| n == "./postinstall" && *m == 0o100755 && d == POST));
}

#[test]
fn scripts_cpio_modes_and_bytes_via_cpio_and_bsdtar() {
    let test = "scripts_cpio_modes_and_bytes_via_cpio_and_bsdtar";
    let (Some(bsdtar), Some(cpio)) = (
        common::program(test, "bsdtar"),
        common::program(test, "cpio"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let component = write(dir.path(), "c.pkg", &config_pkg().build().unwrap());
    let wrapped = wrapped(dir.path(), "w.pkg");
    for (pkg, member) in [(&component, "Scripts"), (&wrapped, "config.pkg/Scripts")] {
        let scripts_gz = bsdtar_extract(&bsdtar, pkg, member);
        let scripts_path = write(dir.path(), "Scripts.cpio.gz", &scripts_gz);
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(&scripts_gz[..])
            .read_to_end(&mut raw)
            .unwrap();
        let mut child = Command::new(&cpio)
            .arg("-itv")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&raw).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listing = String::from_utf8_lossy(&out.stdout);
        for script in ["./preinstall", "./postinstall"] {
            let line = listing
                .lines()
                .find(|l| l.ends_with(script))
                .unwrap_or_else(|| panic!("{script} missing from cpio -itv:\n{listing}"));
            assert!(line.starts_with("-rwxr-xr-x"), "{line}");
        }
        assert!(listing
            .lines()
            .any(|l| l.starts_with("drwxr-xr-x") && l.ends_with(" .")));
        // bsdtar reads the gzip'd odc archive directly and must give back our exact bytes.
        assert_eq!(bsdtar_extract(&bsdtar, &scripts_path, "./preinstall"), PRE);
        assert_eq!(
            bsdtar_extract(&bsdtar, &scripts_path, "./postinstall"),
            POST
        );
    }
}

#[test]
fn builds_are_byte_identical() {
    assert_eq!(config_pkg().build().unwrap(), config_pkg().build().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let a = fs::read(wrapped(dir.path(), "a.pkg")).unwrap();
    let b = fs::read(wrapped(dir.path(), "b.pkg")).unwrap();
    assert_eq!(a, b);
    let changed = ComponentPackage::new("com.example.agentpack.config", "2024.5.2")
        .with_script("preinstall", PRE)
        .with_script("postinstall", POST);
    assert_ne!(config_pkg().build().unwrap(), changed.build().unwrap());
}

#[test]
fn wrapping_lists_components_in_order_and_copies_members_verbatim() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("w.pkg");
    let report = DistributionPackage::new("Example Agent", "com.example.product", "1")
        .component("config.pkg", config_pkg())
        .include_package(vendor_fixture())
        .write_file(&out)
        .unwrap();
    let summary: Vec<_> = report
        .components
        .iter()
        .map(|c| {
            (
                c.name.as_str(),
                c.identifier.as_str(),
                c.version.as_str(),
                c.install_kbytes,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("config.pkg", "com.example.agentpack.config", "2024.5.1", 0),
            ("crashplan.pkg", "com.crashplan.app.pkg", "11.7.0.911", 8)
        ]
    );
    assert_eq!(report.components[0].origin, ComponentOrigin::Built);
    assert_eq!(
        report.components[1].origin,
        ComponentOrigin::Copied {
            from: vendor_fixture()
        }
    );
    assert!(!report.signature_dropped);
    assert_eq!(report.bytes_written, fs::metadata(&out).unwrap().len());
    for dropped in ["<script>", "<welcome>", "member Resources"] {
        assert!(
            report.dropped.iter().any(|d| d.contains(dropped)),
            "{dropped} not reported in {:?}",
            report.dropped
        );
    }
    // The vendor's OS requirement and architectures are kept, verbatim in meaning.
    assert!(
        report.kept.iter().any(|k| k.contains("<volume-check>")),
        "{:?}",
        report.kept
    );
    assert!(!report.dropped.iter().any(|d| d.contains("volume-check")));
    let dist = String::from_utf8(
        XarReader::open(&out)
            .unwrap()
            .read_member("Distribution", 1 << 20)
            .unwrap(),
    )
    .unwrap();
    assert!(
        dist.contains(r#"hostArchitectures="arm64,x86_64""#),
        "{dist}"
    );
    let min: Vec<&str> = dist
        .split("<os-version ")
        .skip(1)
        .filter_map(|s| s.split("min=\"").nth(1)?.split('"').next())
        .collect();
    assert_eq!(min, ["12.0"], "{dist}");
    assert!(dist.find("<volume-check>").unwrap() < dist.find("<choices-outline>").unwrap());

    // Stored and decoded bytes of every copied member equal the source's.
    let mut src = XarReader::open(&vendor_fixture()).unwrap();
    let mut dst = XarReader::open(&out).unwrap();
    let copied: Vec<_> = src
        .entries()
        .iter()
        .filter(|e| e.path.starts_with("crashplan.pkg/"))
        .cloned()
        .collect();
    assert_eq!(copied.len(), 4, "Bom, PackageInfo, Payload, Scripts");
    for entry in copied {
        let target = dst.find(&entry.path).unwrap().clone();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        src.copy_member_raw(&entry, &mut a).unwrap();
        dst.copy_member_raw(&target, &mut b).unwrap();
        assert_eq!(a, b, "stored bytes of {}", entry.path);
        let sd = entry.data.as_ref().unwrap();
        let td = target.data.as_ref().unwrap();
        assert_eq!(sd.encoding, td.encoding, "{}", entry.path);
        assert_eq!(
            sd.extracted_checksum, td.extracted_checksum,
            "{}",
            entry.path
        );
        assert_eq!(
            src.read_member(&entry.path, 1 << 20).unwrap(),
            dst.read_member(&entry.path, 1 << 20).unwrap()
        );
    }
}

#[test]
fn wrapping_a_signed_package_reports_the_dropped_signature() {
    let signed = common::fixture("pkg/vendor-crashplan-dist-signed.pkg");
    let mut out = Vec::new();
    let report = DistributionPackage::new("Example", "com.example.product", "1")
        .component("config.pkg", config_pkg())
        .include_package(&signed)
        .write_to(&mut out)
        .unwrap();
    assert!(report.signature_dropped);
    assert_eq!(report.signed_sources, [signed]);
    let reader = XarReader::new(std::io::Cursor::new(&out[..]), "out").unwrap();
    assert!(!reader.toc().is_signed());
}

#[test]
fn wrapping_a_component_package_names_the_folder_after_the_file() {
    let mut out = Vec::new();
    let report = DistributionPackage::new("Example", "com.example.product", "1")
        .component("config.pkg", config_pkg())
        .include_package(common::fixture("pkg/vendor-crashplan-component.pkg"))
        .write_to(&mut out)
        .unwrap();
    assert_eq!(report.components[1].name, "vendor-crashplan-component.pkg");
    assert_eq!(report.components[1].identifier, "com.crashplan.app.pkg");
    let reader = XarReader::new(std::io::Cursor::new(&out[..]), "out").unwrap();
    for member in ["Bom", "PackageInfo", "Payload", "Scripts"] {
        assert!(reader
            .find(&format!("vendor-crashplan-component.pkg/{member}"))
            .is_some());
    }
}

#[test]
fn wrapping_streams_a_large_vendor_payload() {
    // A vendor-like component whose 24 MiB Payload is itself streamed from a file: both the
    // build and the wrap go through file ranges, never whole-member buffers.
    use agentpack::formats::xar::{Encoding, FileRange, MemberSource, XarBuilder};
    let dir = tempfile::tempdir().unwrap();
    let blob = dir.path().join("payload.bin");
    let mut f = fs::File::create(&blob).unwrap();
    let mut state = 0x1234_5678u32;
    let mut chunk = vec![0u8; 1 << 20];
    for _ in 0..24 {
        for b in chunk.iter_mut() {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            *b = (state >> 24) as u8;
        }
        f.write_all(&chunk).unwrap();
    }
    drop(f);
    let info = br#"<pkg-info format-version="2" identifier="com.vendor.big" version="1" auth="root"><payload numberOfFiles="1" installKBytes="24576"/></pkg-info>"#;
    let mut xar = XarBuilder::new();
    xar.add_file("PackageInfo", MemberSource::Bytes(info.to_vec()))
        .unwrap();
    xar.add_file("Bom", MemberSource::Bytes(b"BOMStore".to_vec()))
        .unwrap();
    xar.add_file(
        "Payload",
        MemberSource::FileRange(FileRange {
            path: blob.clone(),
            offset: 0,
            length: 24 << 20,
            encoding: Encoding::OctetStream,
            expected_archived: None,
        }),
    )
    .unwrap();
    let vendor = dir.path().join("big.pkg");
    xar.write_to(fs::File::create(&vendor).unwrap()).unwrap();

    let out = dir.path().join("wrapped-big.pkg");
    let report = DistributionPackage::new("Big", "com.example.big", "1")
        .component("config.pkg", config_pkg())
        .include_package(&vendor)
        .write_file(&out)
        .unwrap();
    assert_eq!(report.components[1].install_kbytes, 24576);
    let mut r = XarReader::open(&out).unwrap();
    let payload = r.find("big.pkg/Payload").unwrap().clone();
    let mut copied = Vec::new();
    r.copy_member(&payload, &mut copied).unwrap();
    assert_eq!(copied, fs::read(&blob).unwrap());
}

#[test]
fn wrapping_a_corrupt_vendor_member_fails_instead_of_rechecksumming() {
    // Flip one Payload byte: the source's archived checksum no longer matches, and the
    // wrapped package must not be written with fresh, valid-looking checksums.
    let source = vendor_fixture();
    let reader = XarReader::open(&source).unwrap();
    let payload = reader
        .find("crashplan.pkg/Payload")
        .unwrap()
        .data
        .clone()
        .unwrap();
    let at = (reader.heap_start() + payload.offset + 10) as usize;
    let mut bytes = fs::read(&source).unwrap();
    bytes[at] ^= 0xff;
    let dir = tempfile::tempdir().unwrap();
    let corrupt = write(dir.path(), "corrupt-vendor.pkg", &bytes);
    let out = dir.path().join("w.pkg");
    let err = DistributionPackage::new("Example", "com.example.product", "1")
        .component("config.pkg", config_pkg())
        .include_package(&corrupt)
        .write_file(&out)
        .unwrap_err();
    assert!(err.is_bad_input(), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("corrupt-vendor.pkg") && text.contains("Payload"),
        "{text}"
    );
    assert!(!out.exists(), "partial output must be removed");
}
