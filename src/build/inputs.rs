//! Input files: hashed once, streaming, with a progress bar for large files on a terminal.

use crate::error::{Error, Result};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// What an input is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Config,
    Policy,
    WindowsInstaller,
    MacosInstaller,
}

/// An input file with its checksum and the facts read from it.
#[derive(Debug, Clone, Serialize)]
pub struct Input {
    /// As shown in the manifest: relative to the working folder when possible.
    pub path: String,
    #[serde(skip)]
    pub abs: PathBuf,
    pub role: Role,
    pub size: u64,
    pub sha256: String,
    /// SHA3-512, computed in the same pass for installers (Jamf's package records use it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha3_512: Option<String>,
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    pub facts: serde_json::Value,
    /// Last modification time (seconds since the epoch), for the default build time.
    #[serde(skip)]
    pub mtime: u64,
}

/// Files at least this large get a progress bar (on a terminal only).
const PROGRESS_THRESHOLD: u64 = 64 << 20;
const BUF: usize = 1 << 20;

/// Stream a file through SHA-256. Returns (size, lowercase hex digest).
pub fn hash_file(path: &Path, progress: bool) -> Result<(u64, String)> {
    hash_file_with(path, progress, false).map(|(size, sha256, _)| (size, sha256))
}

/// Stream a file once through SHA-256 and, when `sha3` is set, SHA3-512 too.
pub fn hash_file_with(
    path: &Path,
    progress: bool,
    sha3: bool,
) -> Result<(u64, String, Option<String>)> {
    hash_file_observed(path, progress, sha3, None)
}

/// Something that wants every chunk of a file as it is hashed, with the chunk's file offset
/// (e.g. a verifier of the file's inner checksums). Chunks arrive in order, without gaps.
pub type ChunkObserver<'a> = &'a mut (dyn FnMut(u64, &[u8]) + Send);

/// A chunk shared by the threads that consume it: (file offset, bytes).
type Chunk = (u64, std::sync::Arc<Vec<u8>>);

/// [`hash_file_with`], also handing every chunk to `observer` on a thread of its own, so the
/// file is still read once and the wall time is that of the slowest consumer, not the sum.
pub fn hash_file_observed(
    path: &Path,
    progress: bool,
    sha3: bool,
    observer: Option<ChunkObserver<'_>>,
) -> Result<(u64, String, Option<String>)> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, "open", e))?;
    let total = f.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = (progress && total >= PROGRESS_THRESHOLD).then(|| {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message(format!(
            "hashing {}",
            path.file_name().unwrap_or_default().to_string_lossy()
        ));
        bar
    });
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    // SHA3-512 is several times slower than SHA-256 with the CPU's SHA extensions: it runs on a
    // second thread fed the same chunks (at most a few MiB in flight), so the file is read once
    // and the wall time is that of the slower digest, not the sum. The observer gets a thread
    // of its own on the same terms.
    let sha3_hex = std::thread::scope(|scope| -> Result<Option<String>> {
        let (sha3_tx, worker) = if sha3 {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Chunk>(4);
            let worker = scope.spawn(move || {
                let mut h = sha3::Sha3_512::new();
                for (_, chunk) in rx {
                    h.update(&chunk[..]);
                }
                hex(&h.finalize())
            });
            (Some(tx), Some(worker))
        } else {
            (None, None)
        };
        let (observer_tx, observer_worker) = match observer {
            Some(observe) => {
                let (tx, rx) = std::sync::mpsc::sync_channel::<Chunk>(4);
                let worker = scope.spawn(move || {
                    for (offset, chunk) in rx {
                        observe(offset, &chunk[..]);
                    }
                });
                (Some(tx), Some(worker))
            }
            None => (None, None),
        };
        loop {
            let mut buf = vec![0u8; BUF];
            let n = match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io(path, "read", e)),
            };
            buf.truncate(n);
            hasher.update(&buf);
            let chunk = std::sync::Arc::new(buf);
            if let Some(tx) = &sha3_tx {
                tx.send((size, chunk.clone()))
                    .map_err(|_| Error::internal("the SHA3-512 hasher stopped"))?;
            }
            if let Some(tx) = &observer_tx {
                tx.send((size, chunk))
                    .map_err(|_| Error::internal("the chunk observer stopped"))?;
            }
            size += n as u64;
            if let Some(b) = &bar {
                b.set_position(size);
            }
        }
        drop(sha3_tx);
        drop(observer_tx);
        if let Some(w) = observer_worker {
            w.join()
                .map_err(|_| Error::internal("the chunk observer panicked"))?;
        }
        worker
            .map(|w| {
                w.join()
                    .map_err(|_| Error::internal("the SHA3-512 hasher panicked"))
            })
            .transpose()
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok((size, hex(&hasher.finalize()), sha3_hex))
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

pub fn sha3_512_hex(data: &[u8]) -> String {
    hex(&sha3::Sha3_512::digest(data))
}

/// A path as the manifest shows it: relative to the working folder when below it.
pub fn display_path(path: &Path) -> String {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let shown = std::env::current_dir()
        .ok()
        .and_then(|cwd| abs.strip_prefix(&cwd).ok().map(Path::to_path_buf))
        .unwrap_or(abs);
    shown.to_string_lossy().replace('\\', "/")
}

/// The metadata of `path` when it is a regular file. A folder is refused with a hint, and so is
/// a FIFO, socket or device (`/dev/zero`, `/dev/stdin`), which would block or never end.
pub fn regular_file(path: &Path, what: &str) -> Result<std::fs::Metadata> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, "read", e))?;
    if meta.is_dir() {
        return Err(Error::bad_input(
            crate::error::Problem::new("is a folder, not a file")
                .file(path)
                .hint(format!("pass the {what} file itself")),
        ));
    }
    if !meta.is_file() {
        return Err(Error::bad_input(
            crate::error::Problem::new("is not a regular file (a device, pipe or socket)")
                .file(path)
                .hint(format!("pass the {what} file itself, not a device or pipe")),
        ));
    }
    Ok(meta)
}

/// A small text file (a policy, a deploy.properties): a regular file of at most `limit` bytes,
/// in UTF-8. `what` names it in messages; `hint` says how to fix an encoding problem.
pub fn read_text(path: &Path, what: &str, limit: u64, hint: &str) -> Result<String> {
    regular_file(path, what)?;
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, "open", e))?;
    let mut bytes = Vec::new();
    f.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, "read", e))?;
    if bytes.len() as u64 > limit {
        return Err(Error::bad_input(
            crate::error::Problem::new(format!(
                "is larger than {} ({limit} bytes), too large for a {what}",
                human_size(limit)
            ))
            .file(path)
            .hint(format!(
                "a {what} is a small text file: check that this is the right file"
            )),
        ));
    }
    // Windows editors save UTF-8 with a byte order mark; it is not part of the text.
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    String::from_utf8(bytes).map_err(|e| {
        Error::bad_input(
            crate::error::Problem::new(format!(
                "is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ))
            .file(path)
            .hint(hint),
        )
    })
}

/// `limit` for people: whole MiB or KiB where it is one, else bytes.
fn human_size(limit: u64) -> String {
    match limit {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

impl Input {
    /// Hash `path` and record it.
    pub fn read(path: &Path, role: Role, progress: bool) -> Result<Input> {
        Self::read_with(path, role, progress, false)
    }

    /// Hash `path` (also with SHA3-512 when `sha3`), in one pass, and record it.
    pub fn read_with(path: &Path, role: Role, progress: bool, sha3: bool) -> Result<Input> {
        Self::read_observed(path, role, progress, sha3, None)
    }

    /// [`Input::read_with`], handing every chunk read to `observer` too (see
    /// [`hash_file_observed`]).
    pub fn read_observed(
        path: &Path,
        role: Role,
        progress: bool,
        sha3: bool,
        observer: Option<ChunkObserver<'_>>,
    ) -> Result<Input> {
        let meta = regular_file(path, "installer")?;
        let (size, sha256, sha3_512) = hash_file_observed(path, progress, sha3, observer)?;
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs());
        Ok(Input {
            path: display_path(path),
            abs: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
            role,
            size,
            sha256,
            sha3_512,
            facts: serde_json::Value::Null,
            mtime,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_stream_to_the_known_digest() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        std::fs::write(&p, b"abc").unwrap();
        let (size, h) = hash_file(&p, false).unwrap();
        assert_eq!(size, 3);
        assert_eq!(
            h,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(sha256_hex(b"abc"), h);
        let (_, _, sha3) = hash_file_with(&p, false, true).unwrap();
        // FIPS 202 example value for "abc".
        assert!(sha3.unwrap().starts_with("b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e10e116e9192af3c91a7ec57647e3934057340b4cf408d5a56592f8274eec53f0"));
        assert_eq!(sha3_512_hex(b"abc").len(), 128);
    }

    /// The observer sees every byte once, in order, at its offset, in the same single pass.
    #[test]
    fn the_observer_gets_every_chunk_at_its_offset() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big");
        let data: Vec<u8> = (0..(BUF * 2 + BUF / 2)).map(|i| (i % 251) as u8).collect();
        std::fs::write(&p, &data).unwrap();
        let mut seen = Vec::new();
        let mut offsets = Vec::new();
        let mut observe = |offset: u64, chunk: &[u8]| {
            offsets.push(offset);
            assert_eq!(offset as usize, seen.len(), "chunks in order, no gaps");
            seen.extend_from_slice(chunk);
        };
        let (size, sha256, sha3) = hash_file_observed(&p, false, true, Some(&mut observe)).unwrap();
        assert_eq!(seen, data);
        assert!(offsets.len() >= 3, "{offsets:?}");
        assert_eq!(size, data.len() as u64);
        assert_eq!(sha256, sha256_hex(&data));
        assert_eq!(sha3.unwrap(), sha3_512_hex(&data));
    }

    #[test]
    fn text_files_over_the_limit_are_refused_with_the_limit_in_words() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.yaml");
        std::fs::write(&p, vec![b'a'; 2049]).unwrap();
        let err = read_text(&p, "policy", 2048, "utf8")
            .unwrap_err()
            .to_string();
        assert!(err.contains("2 KiB") && err.contains("big.yaml"), "{err}");
        std::fs::write(&p, vec![b'a'; 2048]).unwrap();
        assert_eq!(read_text(&p, "policy", 2048, "utf8").unwrap().len(), 2048);
        std::fs::write(&p, b"\xEF\xBB\xBFname: x\n").unwrap();
        assert_eq!(read_text(&p, "policy", 2048, "utf8").unwrap(), "name: x\n");
        assert_eq!(human_size(1 << 20), "1 MiB");
        assert_eq!(human_size(1000), "1000 bytes");
    }
}
