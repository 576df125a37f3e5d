//! Unit tests: header layout, TOC checksum, reader(writer(x)) round trips, hostile input.

use std::io::{Cursor, Write};

use super::checksum::{hex, sha1};
use super::*;

fn sample() -> XarBuilder {
    let mut b = XarBuilder::new();
    b.add_file("PackageInfo", MemberSource::Bytes(b"<pkg-info/>".to_vec()))
        .unwrap();
    b.add_file("dir.pkg/Scripts", MemberSource::Bytes(vec![1, 2, 3]))
        .unwrap();
    b.add_file("dir.pkg/Empty", MemberSource::Bytes(Vec::new()))
        .unwrap();
    b
}

fn open(bytes: &[u8]) -> Result<XarReader<Cursor<&[u8]>>, XarError> {
    XarReader::new(Cursor::new(bytes), "test.pkg")
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_be_bytes(b)
}

#[test]
fn header_and_toc_checksum_layout() {
    let bytes = sample().to_bytes().unwrap();
    assert_eq!(&bytes[..4], b"xar!");
    assert_eq!(&bytes[4..8], &[0, 28, 0, 1]);
    assert_eq!(&bytes[24..28], &[0, 0, 0, 1], "SHA-1");
    let toc_len = u64_at(&bytes, 8) as usize;
    let toc_z = &bytes[28..28 + toc_len];
    assert_eq!(&toc_z[..1], &[0x78], "zlib stream, not gzip");
    let mut xml = Vec::new();
    flate2::read::ZlibDecoder::new(toc_z).read_to_end_checked(&mut xml);
    assert_eq!(xml.len() as u64, u64_at(&bytes, 16));
    assert_eq!(&bytes[28 + toc_len..28 + toc_len + 20], &sha1(toc_z)[..]);
    let text = String::from_utf8(xml).unwrap();
    assert!(text.contains("<checksum style=\"sha1\">"));
    assert!(text.contains("<creation-time>1970-01-01T00:00:00</creation-time>"));
    // The first member starts right after the 20-byte TOC checksum.
    assert!(text.contains("<offset>20</offset>"));
}

trait ReadAll {
    fn read_to_end_checked(&mut self, out: &mut Vec<u8>);
}

impl<R: std::io::Read> ReadAll for R {
    fn read_to_end_checked(&mut self, out: &mut Vec<u8>) {
        self.read_to_end(out).unwrap();
    }
}

#[test]
fn round_trip_lists_and_reads_members() {
    let bytes = sample().to_bytes().unwrap();
    let mut r = open(&bytes).unwrap();
    assert!(r.toc_checksum_verified());
    assert!(!r.toc().is_signed());
    let paths: Vec<_> = r.entries().iter().map(|e| e.path.clone()).collect();
    assert_eq!(
        paths,
        ["PackageInfo", "dir.pkg", "dir.pkg/Scripts", "dir.pkg/Empty"]
    );
    let ids: Vec<_> = r.entries().iter().map(|e| e.id).collect();
    assert_eq!(ids, [1, 2, 3, 4]);
    assert_eq!(r.find("dir.pkg").unwrap().kind, EntryKind::Directory);
    assert_eq!(r.read_member("PackageInfo", 100).unwrap(), b"<pkg-info/>");
    assert_eq!(r.read_member("dir.pkg/Scripts", 100).unwrap(), [1, 2, 3]);
    assert_eq!(r.read_member("dir.pkg/Empty", 100).unwrap(), b"");
    let data = r.find("dir.pkg/Scripts").unwrap().data.clone().unwrap();
    assert_eq!(data.archived_checksum.unwrap().hex, hex(&sha1(&[1, 2, 3])));
    assert!(r.read_member("PackageInfo", 3).is_err(), "limit enforced");
    assert!(
        r.read_member("dir.pkg", 100).is_err(),
        "directory has no data"
    );
    assert!(matches!(
        r.read_member("missing", 100).unwrap_err().kind,
        XarErrorKind::NotFound { .. }
    ));
}

#[test]
fn output_is_deterministic() {
    assert_eq!(sample().to_bytes().unwrap(), sample().to_bytes().unwrap());
}

#[test]
fn writer_rejects_bad_paths() {
    let mut b = sample();
    let src = || MemberSource::Bytes(Vec::new());
    assert!(b.add_file("PackageInfo", src()).is_err(), "duplicate");
    assert!(
        b.add_file("PackageInfo/x", src()).is_err(),
        "parent is a file"
    );
    assert!(b.add_file("a//b", src()).is_err());
    assert!(b.add_file("../x", src()).is_err());
    assert!(b.add_file("bad\u{1}name", src()).is_err());
    assert!(b.add_dir("dir.pkg").is_ok(), "existing directory is fine");
}

#[test]
fn streamed_members_match_in_memory_ones() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("source.bin");
    let payload: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(b"zlib member").unwrap();
    let zbytes = z.finish().unwrap();
    let mut file = std::fs::File::create(&src).unwrap();
    file.write_all(b"prefix").unwrap();
    file.write_all(&payload).unwrap();
    file.write_all(&zbytes).unwrap();
    drop(file);

    let mut b = XarBuilder::new();
    let range = |offset: u64, length: u64, encoding| {
        MemberSource::FileRange(FileRange {
            path: src.clone(),
            offset,
            length,
            encoding,
            expected_archived: None,
        })
    };
    b.add_file("big", range(6, payload.len() as u64, Encoding::OctetStream))
        .unwrap();
    let zoff = 6 + payload.len() as u64;
    b.add_file("small", range(zoff, zbytes.len() as u64, Encoding::Zlib))
        .unwrap();
    let out = dir.path().join("out.xar");
    b.write_to(std::fs::File::create(&out).unwrap()).unwrap();

    let mut r = XarReader::open(&out).unwrap();
    assert_eq!(r.read_member("big", 1 << 20).unwrap(), payload);
    assert_eq!(r.read_member("small", 100).unwrap(), b"zlib member");
    let small = r.find("small").unwrap().clone();
    assert_eq!(small.data.as_ref().unwrap().encoding, Encoding::Zlib);
    let mut raw = Vec::new();
    r.copy_member_raw(&small, &mut raw).unwrap();
    assert_eq!(raw, zbytes, "stored bytes copied verbatim");
    // The reader exposes the member as a range, so it can be re-streamed.
    let again = r.member_range(&small).unwrap();
    assert_eq!(again.length, zbytes.len() as u64);

    // A source whose bytes do not match the checksum it came with is refused.
    let mut wrong = again.clone();
    wrong.expected_archived = Some(MemberChecksum {
        alg: Some(ChecksumAlg::Sha1),
        hex: hex(&sha1(b"something else")),
    });
    let mut refuse = XarBuilder::new();
    refuse
        .add_file("x", MemberSource::FileRange(wrong))
        .unwrap();
    let err = refuse.to_bytes().unwrap_err();
    assert!(
        matches!(err.kind, XarErrorKind::MemberCorrupt { .. }),
        "{err}"
    );

    // A source shorter than declared is an error, not a short archive.
    let mut bad = XarBuilder::new();
    bad.add_file("x", range(zoff, 10_000, Encoding::OctetStream))
        .unwrap();
    assert!(bad.to_bytes().is_err());
}

#[test]
fn bad_magic_and_truncation_are_errors() {
    let bytes = sample().to_bytes().unwrap();
    let mut wrong = bytes.clone();
    wrong[0] = b'X';
    let err = open(&wrong).err().unwrap();
    assert!(matches!(err.kind, XarErrorKind::BadMagic { .. }));
    assert!(
        err.to_string().starts_with("test.pkg: not a xar archive"),
        "{err}"
    );
    assert!(err.is_bad_input());
    for cut in [0, 3, 10, 27, 28, 40, bytes.len() - 1] {
        let err = open(&bytes[..cut]).err().unwrap();
        assert!(err.is_bad_input(), "cut {cut}: {err}");
    }
    let err = open(&bytes[..bytes.len() - 1]).err().unwrap();
    assert!(err.to_string().contains("truncated"), "{err}");
}

#[test]
fn bad_toc_checksum_is_detected() {
    let bytes = sample().to_bytes().unwrap();
    let toc_len = u64_at(&bytes, 8) as usize;
    let mut bad = bytes.clone();
    bad[28 + toc_len] ^= 0xff;
    let err = open(&bad).err().unwrap();
    assert!(matches!(err.kind, XarErrorKind::BadTocChecksum), "{err}");
    assert_eq!(err.offset, Some(28 + toc_len as u64));
    // Corrupting the compressed TOC itself breaks the zlib stream.
    let mut bad = bytes.clone();
    bad[40] ^= 0x55;
    assert!(open(&bad).is_err());
}

#[test]
fn member_corruption_is_detected_on_read() {
    let bytes = sample().to_bytes().unwrap();
    let toc_len = u64_at(&bytes, 8) as usize;
    let mut bad = bytes.clone();
    bad[28 + toc_len + 20] ^= 1; // first byte of PackageInfo
    let mut r = open(&bad).unwrap();
    let err = r.read_member("PackageInfo", 100).unwrap_err();
    assert!(
        matches!(err.kind, XarErrorKind::MemberCorrupt { .. }),
        "{err}"
    );
}

fn archive_with_header(toc_z_len: u64, toc_len: u64) -> Vec<u8> {
    let mut h = XarHeader::sha1(toc_z_len, toc_len).to_bytes().to_vec();
    h.extend_from_slice(&[0u8; 64]);
    h
}

#[test]
fn huge_declared_lengths_do_not_allocate() {
    let err = open(&archive_with_header(1 << 60, 10)).err().unwrap();
    assert!(
        matches!(err.kind, XarErrorKind::TocTooLarge { .. }),
        "{err}"
    );
    let err = open(&archive_with_header(10, 1 << 60)).err().unwrap();
    assert!(
        matches!(err.kind, XarErrorKind::TocTooLarge { .. }),
        "{err}"
    );
    let err = open(&archive_with_header(1000, 10)).err().unwrap();
    assert!(matches!(err.kind, XarErrorKind::Truncated { .. }), "{err}");
}

/// Build an archive from hand-written TOC XML plus a heap, with a correct TOC checksum.
fn handmade(toc: &str, heap_tail: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(toc.as_bytes()).unwrap();
    let toc_z = z.finish().unwrap();
    let mut out = XarHeader::sha1(toc_z.len() as u64, toc.len() as u64)
        .to_bytes()
        .to_vec();
    out.extend_from_slice(&toc_z);
    out.extend_from_slice(&sha1(&toc_z));
    out.extend_from_slice(heap_tail);
    out
}

fn toc_with_data(offset: &str, length: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><xar><toc><checksum style="sha1"><offset>0</offset><size>20</size></checksum>
        <file id="1"><name>m</name><type>file</type><data><offset>{offset}</offset><length>{length}</length><size>3</size>
        <encoding style="application/octet-stream"/></data></file></toc></xar>"#
    )
}

#[test]
fn bad_member_offsets_are_errors() {
    let ok = handmade(&toc_with_data("20", "3"), b"abc");
    assert_eq!(open(&ok).unwrap().read_member("m", 10).unwrap(), b"abc");
    for (offset, length) in [
        ("21", "3"),
        ("18446744073709551615", "3"),
        ("20", "18446744073709551615"),
        ("-1", "3"),
        ("x", "3"),
    ] {
        let err = open(&handmade(&toc_with_data(offset, length), b"abc"))
            .err()
            .unwrap();
        assert!(err.is_bad_input(), "{offset}/{length}: {err}");
    }
}

#[test]
fn unknown_toc_elements_and_signatures_are_tolerated() {
    let toc = r#"<?xml version="1.0"?><xar><toc><checksum style="sha1"><offset>0</offset><size>20</size></checksum>
        <signature style="RSA"><offset>20</offset><size>0</size></signature>
        <x-signature style="CMS"><offset>20</offset><size>0</size></x-signature>
        <file id="1"><name>d</name><type>directory</type><ext2>x</ext2>
          <file id="2"><name>m</name><type>file</type><data><offset>20</offset><length>1</length><size>1</size></data></file>
        </file></toc></xar>"#;
    let bytes = handmade(toc, b"z");
    let r = open(&bytes).unwrap();
    assert!(r.toc().has_signature && r.toc().has_x_signature && r.toc().is_signed());
    assert_eq!(r.entries()[1].path, "d/m");
}

#[test]
fn zlib_member_round_trip_and_bad_zlib() {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(b"hello").unwrap();
    let zb = z.finish().unwrap();
    let toc = |size: usize, sum: &str| {
        format!(
            r#"<xar><toc><checksum style="sha1"><offset>0</offset><size>20</size></checksum>
            <file id="1"><name>m</name><data><offset>20</offset><length>{}</length><size>{size}</size>
            <encoding style="application/x-gzip"/><extracted-checksum style="sha1">{sum}</extracted-checksum></data></file></toc></xar>"#,
            zb.len()
        )
    };
    let good = handmade(&toc(5, &hex(&sha1(b"hello"))), &zb);
    assert_eq!(open(&good).unwrap().read_member("m", 10).unwrap(), b"hello");
    let wrong_sum = handmade(&toc(5, &hex(&sha1(b"other"))), &zb);
    assert!(open(&wrong_sum).unwrap().read_member("m", 10).is_err());
    let wrong_size = handmade(&toc(4, &hex(&sha1(b"hello"))), &zb);
    assert!(open(&wrong_size).unwrap().read_member("m", 10).is_err());
    let mut garbage = zb.clone();
    garbage[3] ^= 0xff;
    let bad = handmade(&toc(5, &hex(&sha1(b"hello"))), &garbage);
    assert!(open(&bad).unwrap().read_member("m", 10).is_err());
}
