//! Checking an output folder against its manifest.json and SHA256SUMS: every file re-hashed,
//! changed, missing and extra files reported, and files holding a token that others can read.
//!
//! Both lists are read streaming: the manifest is parsed from the file as it is hashed, and
//! only each output's path, digest and secrecy are kept; SHA256SUMS is compared line by line.

use super::{MANIFEST, SCHEMA, SUMS};
use crate::error::{Error, Problem, Result};
use serde::de::{IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Policies a manifest may describe, and the bytes each may take in it (a policy's records take
/// about 7 KiB with every artifact; 16 KiB leaves room).
const MAX_POLICIES: u64 = 100_000;
const PER_POLICY: u64 = 16 << 10;
/// Largest manifest.json (or SHA256SUMS) read: about 1.5 GiB.
pub(super) const MAX_MANIFEST: u64 = MAX_POLICIES * PER_POLICY;
/// Longest SHA256SUMS line considered (a digest, two spaces and a path).
const MAX_LINE: u64 = 8 << 10;

/// A file holding a token that others than its owner can read.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Exposed {
    pub path: String,
    /// Its permission bits, octal (e.g. `0644`).
    pub mode: String,
    /// The mode it should have: `600`, or `700` for a script.
    pub fix: String,
}

/// The result of checking an output folder.
#[derive(Debug, Default, Serialize)]
pub struct Verification {
    pub checked: usize,
    pub changed: Vec<String>,
    pub missing: Vec<String>,
    pub extra: Vec<String>,
    /// Secret files readable by group or others.
    pub exposed: Vec<Exposed>,
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.changed.is_empty()
            && self.missing.is_empty()
            && self.extra.is_empty()
            && self.exposed.is_empty()
    }
}

/// What verify needs of one output.
struct Expected {
    /// None when the manifest's digest is not 64 hex digits: nothing can match it.
    sha256: Option<[u8; 32]>,
    secret: bool,
}

fn unhex(text: &str) -> Option<[u8; 32]> {
    let b = text.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in b.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

/// The manifest as verify reads it: every field of the schema must be there; only the outputs
/// are kept.
#[derive(Deserialize)]
#[allow(dead_code)] // present to be required, not read
struct Listing {
    schema: String,
    tool: IgnoredAny,
    build_time: IgnoredAny,
    product: IgnoredAny,
    inputs: IgnoredAny,
    #[serde(deserialize_with = "outputs_map")]
    outputs: BTreeMap<String, Expected>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Record {
    path: String,
    size: IgnoredAny,
    sha256: String,
    kind: IgnoredAny,
    platform: IgnoredAny,
    secret: bool,
}

/// The outputs array, each record folded into the map as it is parsed.
fn outputs_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, Expected>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = BTreeMap<String, Expected>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list of output records")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut map = BTreeMap::new();
            while let Some(r) = seq.next_element::<Record>()? {
                let e = Expected {
                    sha256: unhex(&r.sha256),
                    secret: r.secret,
                };
                map.insert(r.path, e);
            }
            Ok(map)
        }
    }
    d.deserialize_seq(V)
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    sha256: sha2::Sha256,
    len: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        let n = self.inner.read(buf)?;
        self.sha256.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
}

fn too_large(path: &Path, what: &str) -> Error {
    Error::bad_input(
        Problem::new(format!(
            "is larger than {} MiB, more than a {what} of {MAX_POLICIES} policies takes",
            MAX_MANIFEST >> 20
        ))
        .file(path)
        .hint("this is not an agentpack output folder, or its manifest was damaged: rebuild it"),
    )
}

/// Parse `out/manifest.json` streaming: a regular file (never a link, pipe or device) of this
/// agentpack's schema. Returns the outputs and the file's SHA-256 (hex).
fn read_listing(out: &Path) -> Result<(BTreeMap<String, Expected>, String)> {
    let mpath = out.join(MANIFEST);
    let meta = std::fs::symlink_metadata(&mpath).map_err(|e| Error::io(&mpath, "read", e))?;
    if !meta.is_file() {
        return Err(Error::bad_input(
            Problem::new("is not a regular file (a link, folder, pipe or device)")
                .file(&mpath)
                .hint("this is not an agentpack output folder"),
        ));
    }
    if meta.len() > MAX_MANIFEST {
        return Err(too_large(&mpath, "manifest"));
    }
    let f = std::fs::File::open(&mpath).map_err(|e| Error::io(&mpath, "open", e))?;
    let mut hashing = Hashing {
        inner: f.take(MAX_MANIFEST + 1),
        sha256: <sha2::Sha256 as sha2::Digest>::new(),
        len: 0,
    };
    let parsed: std::result::Result<Listing, _> =
        serde_json::from_reader(std::io::BufReader::with_capacity(1 << 20, &mut hashing));
    if hashing.len > MAX_MANIFEST {
        return Err(too_large(&mpath, "manifest"));
    }
    let listing = parsed.map_err(|e| {
        if e.is_io() {
            Error::internal(format!("cannot read {}: {e}", mpath.display()))
        } else {
            Error::bad_input(
                Problem::new(format!("is not an agentpack manifest: {e}"))
                    .file(&mpath)
                    .line(Some(e.line())),
            )
        }
    })?;
    if listing.schema != SCHEMA {
        return Err(Error::bad_input(
            Problem::new(format!(
                "has schema '{}', expected '{SCHEMA}'",
                listing.schema
            ))
            .file(&mpath)
            .hint("verify it with the agentpack version that built it"),
        ));
    }
    let digest = <sha2::Sha256 as sha2::Digest>::finalize(hashing.sha256);
    Ok((listing.outputs, crate::build::hex(&digest)))
}

/// Compare SHA256SUMS, line by line, with the lines the manifest gives. Returns whether it is
/// exactly those lines, and whether it vouches for manifest.json (holds its line).
fn check_sums(
    path: &Path,
    expected: &BTreeMap<String, Expected>,
    manifest_sha256: &str,
) -> std::io::Result<(bool, bool)> {
    let manifest_line = format!("{manifest_sha256}  {MANIFEST}\n");
    // The manifest's outputs with manifest.json in its sorted place (as `Manifest::sums`).
    let mut lines = expected
        .iter()
        .filter(|(p, _)| p.as_str() != MANIFEST)
        .map(|(p, e)| {
            e.sha256
                .map(|d| format!("{}  {p}\n", crate::build::hex(&d)))
        })
        .peekable();
    let mut manifest_pending = true;
    let mut reader = std::io::BufReader::new(std::fs::File::open(path)?);
    let (mut same, mut vouches) = (true, false);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut reader).take(MAX_LINE).read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        if n as u64 == MAX_LINE && !line.ends_with(b"\n") {
            // Longer than any line we write: skip the rest of it.
            same = false;
            let mut rest = Vec::new();
            reader.read_until(b'\n', &mut rest)?;
            continue;
        }
        vouches |= line == manifest_line.as_bytes();
        if !same {
            continue;
        }
        // manifest.json's line goes before the first output whose path sorts after it.
        let manifest_now = manifest_pending
            && match lines.peek() {
                Some(Some(next)) => MANIFEST < &next[66..next.len() - 1],
                Some(None) => false,
                None => true,
            };
        same = if manifest_now {
            manifest_pending = false;
            line == manifest_line.as_bytes()
        } else {
            lines
                .next()
                .flatten()
                .is_some_and(|want| want.as_bytes() == line.as_slice())
        };
    }
    let done = lines.peek().is_none() && !manifest_pending;
    Ok((same && done, vouches))
}

/// The mode a secret file should have to fix `mode`, when others than its owner can read it.
fn exposure(mode: u32) -> Option<String> {
    (mode & 0o077 != 0).then(|| if mode & 0o100 != 0 { "700" } else { "600" }.to_string())
}

/// Re-hash every file in `out` against its manifest.json and SHA256SUMS, and check that files
/// holding a token are readable by their owner only. Links, pipes and devices where a file
/// should be count as changed and are never opened.
pub fn verify(out: &Path) -> Result<Verification> {
    let (mut expected, manifest_sha256) = read_listing(out)?;
    let mut v = Verification::default();
    // SHA256SUMS must agree with the manifest, and vouches for manifest.json itself.
    let sums_path = out.join(SUMS);
    match std::fs::symlink_metadata(&sums_path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => v.missing.push(SUMS.into()),
        Err(e) => return Err(Error::io(&sums_path, "read", e)),
        Ok(m) if !m.is_file() || m.len() > MAX_MANIFEST => {
            v.changed.push(SUMS.into());
            v.changed.push(MANIFEST.into());
        }
        Ok(_) => {
            let (same, vouches) = check_sums(&sums_path, &expected, &manifest_sha256)
                .map_err(|e| Error::io(&sums_path, "read", e))?;
            if !same {
                v.changed.push(SUMS.into());
            }
            if !vouches {
                v.changed.push(MANIFEST.into());
            }
        }
    }
    v.checked += 2;
    for entry in walkdir::WalkDir::new(out).sort_by_file_name() {
        let entry =
            entry.map_err(|e| Error::internal(format!("walking {}: {e}", out.display())))?;
        let file_type = entry.file_type();
        if file_type.is_dir() {
            continue;
        }
        let rel = entry.path().strip_prefix(out).unwrap_or(entry.path());
        // Paths are compared as they are: a name that is not UTF-8 is not one we wrote.
        let Some(rel) = rel.to_str() else {
            v.extra.push(rel.to_string_lossy().into_owned());
            continue;
        };
        if rel == MANIFEST || rel == SUMS {
            continue;
        }
        match expected.remove(rel) {
            None => v.extra.push(rel.to_string()),
            Some(_) if !file_type.is_file() => {
                v.checked += 1;
                v.changed.push(rel.to_string());
            }
            Some(want) => {
                v.checked += 1;
                let (_, actual) = crate::build::hash_file(entry.path(), false)?;
                if want.sha256.is_none_or(|d| crate::build::hex(&d) != actual) {
                    v.changed.push(rel.to_string());
                }
                let mode = entry
                    .metadata()
                    .map_err(|e| Error::internal(format!("{}: {e}", entry.path().display())))?
                    .permissions()
                    .mode()
                    & 0o7777;
                if let Some(fix) = exposure(mode).filter(|_| want.secret) {
                    v.exposed.push(Exposed {
                        path: rel.to_string(),
                        mode: format!("{mode:04o}"),
                        fix,
                    });
                }
            }
        }
    }
    v.missing.extend(expected.into_keys());
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expected(entries: &[(&str, char)]) -> BTreeMap<String, Expected> {
        entries
            .iter()
            .map(|(p, c)| {
                let hex: String = std::iter::repeat_n(*c, 64).collect();
                (
                    p.to_string(),
                    Expected {
                        sha256: unhex(&hex),
                        secret: false,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn sums_are_compared_line_by_line_with_the_manifest_in_its_place() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(SUMS);
        let m = "9".repeat(64);
        let e = expected(&[("a/x", 'a'), ("z/y", 'b')]);
        let a = "a".repeat(64);
        let b = "b".repeat(64);
        let good = format!("{a}  a/x\n{m}  manifest.json\n{b}  z/y\n");
        std::fs::write(&p, &good).unwrap();
        assert_eq!(check_sums(&p, &e, &m).unwrap(), (true, true));
        // Reordered, a line missing, one more, a manifest line that is not ours.
        for (bad, vouches) in [
            (format!("{m}  manifest.json\n{a}  a/x\n{b}  z/y\n"), true),
            (format!("{a}  a/x\n{m}  manifest.json\n"), true),
            (format!("{good}{b}  z/z\n"), true),
            (good.replace(&m, &"8".repeat(64)), false),
            (
                format!("{a}  a/x\n{}\n{b}  z/y\n", "x".repeat(10_000)),
                false,
            ),
        ] {
            std::fs::write(&p, &bad).unwrap();
            assert_eq!(check_sums(&p, &e, &m).unwrap(), (false, vouches), "{bad}");
        }
        // The manifest sorts last, and with no outputs at all.
        let e = expected(&[("a/x", 'a')]);
        std::fs::write(&p, format!("{a}  a/x\n{m}  manifest.json\n")).unwrap();
        assert_eq!(check_sums(&p, &e, &m).unwrap(), (true, true));
        std::fs::write(&p, format!("{m}  manifest.json\n")).unwrap();
        assert_eq!(check_sums(&p, &expected(&[]), &m).unwrap(), (true, true));
    }

    #[test]
    fn exposure_names_the_fix() {
        assert_eq!(exposure(0o600), None);
        assert_eq!(exposure(0o700), None);
        assert_eq!(exposure(0o644).as_deref(), Some("600"));
        assert_eq!(exposure(0o604).as_deref(), Some("600"));
        assert_eq!(exposure(0o750).as_deref(), Some("700"));
        assert!(unhex(&"g".repeat(64)).is_none());
    }
}
