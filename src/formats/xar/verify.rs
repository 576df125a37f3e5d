//! Verifying every member's archived checksum while the whole archive streams past once, in
//! file order, in chunks of any size — so a caller that already reads the file (to hash it) can
//! check the heap without seeking or reading it a second time.
//!
//! Members may lie in the heap in any order and may share byte ranges; each distinct range
//! gets its own incremental hasher, fed the part of every chunk that falls inside it. Memory is
//! one hasher per range, whatever the archive's size; members that overlap far beyond the heap's
//! size (which no xar writer produces, and which would multiply the hashing work) are refused.

use super::checksum::{hex, ChecksumAlg, Hasher};
use super::error::{XarError, XarErrorKind};
use super::toc::Toc;

/// A member whose archived checksum could not be checked, and why. It is reported, never
/// trusted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnverifiedMember {
    pub path: String,
    /// e.g. `md5 checksum, not verifiable`, `no archived checksum`.
    pub reason: String,
}

/// What a completed verification found: every member either matched or is listed here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberChecks {
    /// Members whose archived checksum was computed and matched.
    pub verified: usize,
    pub unverified: Vec<UnverifiedMember>,
}

/// A byte range to hash with one algorithm, and the members that claim a digest for it.
struct Range {
    /// Absolute file offsets: `start..end`.
    start: u64,
    end: u64,
    alg: ChecksumAlg,
    /// (member path, expected lowercase hex digest).
    claims: Vec<(String, String)>,
}

struct Active {
    range: usize,
    hasher: Hasher,
}

/// Checks members' archived checksums from sequential chunks; see the module documentation.
pub struct HeapVerifier {
    file: String,
    /// Ranges to verify, by start offset.
    ranges: Vec<Range>,
    /// The first range that has not begun yet.
    next: usize,
    active: Vec<Active>,
    /// File offset the next chunk must start at.
    pos: u64,
    failure: Option<XarError>,
    checks: MemberChecks,
}

impl HeapVerifier {
    /// A verifier for the members of `toc`, whose heap starts at file offset `heap_start` and
    /// holds `heap_len` bytes. `file` names the archive in errors.
    pub fn new(file: &str, toc: &Toc, heap_start: u64, heap_len: u64) -> Self {
        let mut members = Vec::new();
        let mut checks = MemberChecks::default();
        for entry in &toc.entries {
            let Some(data) = &entry.data else { continue };
            let unverified = |reason: String| UnverifiedMember {
                path: entry.path.clone(),
                reason,
            };
            let Some(sum) = &data.archived_checksum else {
                checks
                    .unverified
                    .push(unverified("no archived checksum".into()));
                continue;
            };
            match sum.alg {
                Some(alg) if Hasher::new(alg).is_some() => {
                    let start = heap_start.saturating_add(data.offset);
                    let end = start.saturating_add(data.length);
                    members.push((start, end, alg.style(), alg, &entry.path, &sum.hex));
                }
                Some(alg) => checks.unverified.push(unverified(format!(
                    "{} checksum, not verifiable",
                    alg.style()
                ))),
                None => checks
                    .unverified
                    .push(unverified("unknown checksum style".into())),
            }
        }
        members.sort_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
        let mut ranges: Vec<Range> = Vec::new();
        for (start, end, _, alg, path, hex) in members {
            let claim = (path.clone(), hex.clone());
            match ranges.last_mut() {
                Some(r) if (r.start, r.end, r.alg) == (start, end, alg) => r.claims.push(claim),
                _ => ranges.push(Range {
                    start,
                    end,
                    alg,
                    claims: vec![claim],
                }),
            }
        }
        let mut verifier = HeapVerifier {
            file: file.to_string(),
            ranges,
            next: 0,
            active: Vec::new(),
            pos: 0,
            failure: None,
            checks,
        };
        verifier.check_overlap(heap_len);
        verifier
    }

    /// Refuse ranges that together cover more than twice the heap (plus 1 MiB of slack).
    fn check_overlap(&mut self, heap_len: u64) {
        let budget = heap_len.saturating_mul(2).saturating_add(1 << 20);
        let mut total = 0u64;
        for r in &self.ranges {
            total = total.saturating_add(r.end - r.start);
            if total > budget {
                self.failure = Some(XarError::new(
                    &self.file,
                    Some(r.start),
                    XarErrorKind::BadMemberOffset {
                        member: r.claims[0].0.clone(),
                        detail: format!(
                            "the members' data overlap: they add up to more than {budget} bytes in a heap of {heap_len}"
                        ),
                    },
                ));
                return;
            }
        }
    }

    /// Feed the file's bytes at `offset`. Chunks must follow each other without gaps, from
    /// offset 0. After a failure further chunks are ignored (the caller may keep streaming).
    pub fn feed(&mut self, offset: u64, chunk: &[u8]) {
        if self.failure.is_some() {
            return;
        }
        if offset != self.pos {
            self.failure = Some(XarError::new(
                &self.file,
                Some(offset),
                XarErrorKind::OutOfOrder {
                    expected: self.pos,
                    got: offset,
                },
            ));
            return;
        }
        let end = offset + chunk.len() as u64;
        // Ranges that begin in this chunk (an empty range at its end counts: it is complete).
        while let Some(r) = self.ranges.get(self.next) {
            if r.start < end || (r.start == r.end && r.start <= end) {
                let hasher = Hasher::new(r.alg).expect("verifiable algorithms only");
                self.active.push(Active {
                    range: self.next,
                    hasher,
                });
                self.next += 1;
            } else {
                break;
            }
        }
        let mut i = 0;
        while i < self.active.len() {
            let r = &self.ranges[self.active[i].range];
            let from = r.start.max(offset) - offset;
            let to = r.end.min(end) - offset;
            if from < to {
                self.active[i]
                    .hasher
                    .update(&chunk[from as usize..to as usize]);
            }
            if r.end <= end {
                let done = self.active.swap_remove(i);
                self.complete(done);
                if self.failure.is_some() {
                    return;
                }
            } else {
                i += 1;
            }
        }
        self.pos = end;
    }

    fn complete(&mut self, done: Active) {
        let r = &self.ranges[done.range];
        let got = hex(&done.hasher.finalize());
        for (path, expected) in &r.claims {
            if got == *expected {
                self.checks.verified += 1;
                continue;
            }
            self.failure = Some(XarError::new(
                &self.file,
                Some(r.start),
                XarErrorKind::MemberCorrupt {
                    member: path.clone(),
                    detail: format!(
                        "its {} checksum is {got} but the table of contents says {expected}",
                        r.alg.style()
                    ),
                },
            ));
            return;
        }
    }

    /// The result once the whole file has been fed: a mismatch, or a member reaching past the
    /// end of the file, is an error naming the member.
    pub fn finish(self) -> Result<MemberChecks, XarError> {
        if let Some(e) = self.failure {
            return Err(e);
        }
        let unfinished = self
            .active
            .iter()
            .map(|a| a.range)
            .chain(self.next..self.ranges.len())
            .map(|i| &self.ranges[i])
            .min_by_key(|r| r.start);
        if let Some(r) = unfinished {
            return Err(XarError::new(
                &self.file,
                Some(r.start),
                XarErrorKind::Truncated {
                    what: format!("member {:?}", r.claims[0].0),
                    needed: r.end,
                    available: self.pos,
                },
            ));
        }
        let mut checks = self.checks;
        checks.unverified.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(checks)
    }
}

#[cfg(test)]
mod tests {
    use super::super::checksum::sha1;
    use super::super::toc::{Encoding, EntryData, EntryKind, MemberChecksum, XarEntry};
    use super::*;
    use sha2::Digest;

    /// A TOC listing (path, heap offset, length, style, digest).
    fn toc(members: &[(&str, u64, u64, &str, String)]) -> Toc {
        Toc {
            creation_time: None,
            checksum: None,
            has_signature: false,
            has_x_signature: false,
            entries: members
                .iter()
                .enumerate()
                .map(|(i, (path, offset, length, style, digest))| XarEntry {
                    id: i as u64 + 1,
                    path: path.to_string(),
                    kind: EntryKind::File,
                    mode: None,
                    data: Some(EntryData {
                        offset: *offset,
                        length: *length,
                        size: *length,
                        encoding: Encoding::OctetStream,
                        archived_checksum: (!style.is_empty()).then(|| MemberChecksum {
                            alg: ChecksumAlg::from_style(style),
                            hex: digest.clone(),
                        }),
                        extracted_checksum: None,
                    }),
                })
                .collect(),
        }
    }

    fn feed_in_chunks(v: &mut HeapVerifier, file: &[u8], size: usize) {
        let mut at = 0;
        for chunk in file.chunks(size) {
            v.feed(at, chunk);
            at += chunk.len() as u64;
        }
    }

    const HEAP: u64 = 10;

    /// A 10-byte "header", then heap bytes 0..64.
    fn file() -> Vec<u8> {
        (0u8..10).map(|_| 0xee).chain(0u8..64).collect()
    }

    fn heap(file: &[u8], offset: u64, length: u64) -> &[u8] {
        &file[(HEAP + offset) as usize..(HEAP + offset + length) as usize]
    }

    fn sha256_hex(data: &[u8]) -> String {
        hex(&sha2::Sha256::digest(data))
    }

    fn sha512_hex(data: &[u8]) -> String {
        hex(&sha2::Sha512::digest(data))
    }

    /// Members out of heap order, overlapping, sharing a range, empty, and of every
    /// verifiable algorithm, all verify for any chunk size.
    #[test]
    fn members_in_any_order_and_overlapping_verify_for_any_chunk_size() {
        let f = file();
        let t = toc(&[
            ("late", 40, 24, "sha1", hex(&sha1(heap(&f, 40, 24)))),
            ("early", 0, 30, "sha256", sha256_hex(heap(&f, 0, 30))),
            ("overlap", 20, 30, "sha512", sha512_hex(heap(&f, 20, 30))),
            ("same-range", 20, 30, "SHA1", hex(&sha1(heap(&f, 20, 30)))),
            ("empty", 64, 0, "sha1", hex(&sha1(b""))),
            ("one", 5, 1, "sha1", hex(&sha1(heap(&f, 5, 1)))),
        ]);
        for size in [1, 2, 3, 7, 16, 33, 74, 1000] {
            let mut v = HeapVerifier::new("x.pkg", &t, HEAP, 64);
            feed_in_chunks(&mut v, &f, size);
            let checks = v
                .finish()
                .unwrap_or_else(|e| panic!("chunk size {size}: {e}"));
            assert_eq!(checks.verified, 6, "chunk size {size}");
            assert!(checks.unverified.is_empty());
        }
    }

    /// Members sharing one range are hashed once; each claim is still checked on its own.
    #[test]
    fn members_sharing_a_range_are_each_checked() {
        let f = file();
        let right = hex(&sha1(heap(&f, 8, 16)));
        let t = toc(&[
            ("a", 8, 16, "sha1", right.clone()),
            ("b", 8, 16, "sha1", right.clone()),
        ]);
        let mut v = HeapVerifier::new("x.pkg", &t, HEAP, 64);
        feed_in_chunks(&mut v, &f, 5);
        assert_eq!(v.finish().unwrap().verified, 2);
        let t = toc(&[
            ("a", 8, 16, "sha1", right),
            ("b", 8, 16, "sha1", "00".repeat(20)),
        ]);
        let mut v = HeapVerifier::new("x.pkg", &t, HEAP, 64);
        feed_in_chunks(&mut v, &f, 5);
        let text = v.finish().unwrap_err().to_string();
        assert!(text.contains("member \"b\" is corrupt"), "{text}");
    }

    /// Ranges overlapping far beyond the heap's size would multiply the hashing work: refused
    /// before any byte is hashed.
    #[test]
    fn members_overlapping_far_beyond_the_heap_are_refused() {
        let many: Vec<(&str, u64, u64, &str, String)> = (0..3)
            .map(|i| ("big", i, 600_000, "sha1", "00".repeat(20)))
            .collect();
        let mut v = HeapVerifier::new("x.pkg", &toc(&many), HEAP, 64);
        v.feed(0, &file());
        let e = v.finish().unwrap_err();
        assert!(e.is_bad_input());
        assert!(e.to_string().contains("overlap"), "{e}");
    }

    #[test]
    fn a_flipped_byte_is_named_with_its_member() {
        let f = file();
        let t = toc(&[
            ("Distribution", 0, 20, "sha1", hex(&sha1(heap(&f, 0, 20)))),
            (
                "x.pkg/Scripts",
                20,
                30,
                "sha256",
                sha256_hex(heap(&f, 20, 30)),
            ),
        ]);
        for at in [HEAP + 20, HEAP + 35, HEAP + 49] {
            let mut bad = f.clone();
            bad[at as usize] ^= 1;
            for size in [1, 8, 1000] {
                let mut v = HeapVerifier::new("x.pkg", &t, HEAP, 64);
                feed_in_chunks(&mut v, &bad, size);
                let e = v.finish().unwrap_err();
                let text = e.to_string();
                assert!(e.is_bad_input());
                assert!(
                    text.contains("x.pkg: member \"x.pkg/Scripts\" is corrupt")
                        && text.contains("sha256"),
                    "{text}"
                );
            }
        }
        // A byte outside every member changes nothing.
        let mut outside = f.clone();
        outside[(HEAP + 60) as usize] ^= 1;
        let mut v = HeapVerifier::new("x.pkg", &t, HEAP, 64);
        feed_in_chunks(&mut v, &outside, 4);
        assert_eq!(v.finish().unwrap().verified, 2);
    }

    #[test]
    fn md5_missing_and_unknown_checksums_are_reported_not_trusted() {
        let f = file();
        let t = toc(&[
            ("b-md5", 0, 4, "md5", "00".repeat(16)),
            ("a-none", 4, 4, "", String::new()),
            ("c-odd", 8, 4, "crc32", "00".into()),
            ("d-ok", 12, 4, "sha1", hex(&sha1(heap(&f, 12, 4)))),
        ]);
        let mut v = HeapVerifier::new("x.pkg", &t, HEAP, 64);
        feed_in_chunks(&mut v, &f, 5);
        let checks = v.finish().unwrap();
        assert_eq!(checks.verified, 1);
        let listed: Vec<(&str, &str)> = checks
            .unverified
            .iter()
            .map(|u| (u.path.as_str(), u.reason.as_str()))
            .collect();
        assert_eq!(
            listed,
            [
                ("a-none", "no archived checksum"),
                ("b-md5", "md5 checksum, not verifiable"),
                ("c-odd", "unknown checksum style"),
            ]
        );
    }

    #[test]
    fn a_member_past_the_end_of_the_file_is_truncation() {
        let f = file();
        let t = toc(&[
            ("ok", 0, 4, "sha1", hex(&sha1(heap(&f, 0, 4)))),
            ("Payload", 60, 10, "sha1", "00".repeat(20)),
            ("beyond", 100, 0, "sha1", hex(&sha1(b""))),
        ]);
        let mut v = HeapVerifier::new("x.pkg", &t, HEAP, 64);
        feed_in_chunks(&mut v, &f, 16);
        let e = v.finish().unwrap_err();
        assert!(e.is_bad_input());
        let text = e.to_string();
        assert!(
            text.contains("member \"Payload\" needs 80 byte(s) but only 74 remain"),
            "{text}"
        );
    }

    /// The verifier of an archive our writer made accepts it and names the member whose
    /// stored bytes were changed afterwards (the TOC, and so the reader, cannot notice that).
    #[test]
    fn a_written_archive_verifies_and_a_damaged_member_is_found() {
        use super::super::{MemberSource, XarBuilder, XarReader};
        let mut b = XarBuilder::new();
        b.add_file("PackageInfo", MemberSource::Bytes(b"<pkg-info/>".to_vec()))
            .unwrap();
        b.add_file("x.pkg/Scripts", MemberSource::Bytes(vec![7; 300]))
            .unwrap();
        let bytes = b.to_bytes().unwrap();
        let reader = XarReader::new(std::io::Cursor::new(&bytes[..]), "w.pkg").unwrap();
        let mut v = reader.heap_verifier();
        feed_in_chunks(&mut v, &bytes, 64);
        assert_eq!(v.finish().unwrap().verified, 2);

        let mut bad = bytes.clone();
        let n = bad.len();
        bad[n - 10] ^= 0x40;
        let reader = XarReader::new(std::io::Cursor::new(&bad[..]), "w.pkg").unwrap();
        let mut v = reader.heap_verifier();
        feed_in_chunks(&mut v, &bad, 64);
        let text = v.finish().unwrap_err().to_string();
        assert!(text.contains("\"x.pkg/Scripts\" is corrupt"), "{text}");
    }

    #[test]
    fn chunks_out_of_order_are_refused_as_misuse() {
        let f = file();
        let t = toc(&[("ok", 0, 4, "sha1", hex(&sha1(heap(&f, 0, 4))))]);
        let mut v = HeapVerifier::new("x.pkg", &t, HEAP, 64);
        v.feed(0, &f[..8]);
        v.feed(9, &f[9..]);
        let e = v.finish().unwrap_err();
        assert!(!e.is_bad_input(), "{e}");
    }
}
