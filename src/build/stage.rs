//! Writing outputs atomically: everything goes into a staging folder beside OUT, which is
//! renamed into place only when complete. A lock on OUT's parent folder keeps two builds from
//! mixing their outputs.

use super::artifact::{Artifact, Contents};
use super::inputs::{sha256_hex, Input};
use crate::error::{Error, Problem, Result};
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// How an installer reached the output folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Placement {
    Hardlink,
    Copy,
}

/// A written file: what the manifest records.
#[derive(Debug, Clone)]
pub struct Written {
    pub size: u64,
    pub sha256: String,
    /// For streamed artifacts and installers: their SHA3-512 (Jamf package records).
    pub sha3_512: Option<String>,
    pub placement: Option<Placement>,
}

/// A sink that hashes (SHA-256 and SHA3-512) what passes through it.
struct HashingWriter<W> {
    inner: W,
    sha256: sha2::Sha256,
    sha3: sha3::Sha3_512,
    size: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        let n = self.inner.write(buf)?;
        self.sha256.update(&buf[..n]);
        self.sha3.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

pub struct Staging {
    dir: Option<tempfile::TempDir>,
    out: PathBuf,
    _lock: File,
}

fn out_name(out: &Path) -> String {
    out.file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned())
}

/// Whether `out` may be replaced: absent, empty, or a previous agentpack output.
fn check_replaceable(out: &Path) -> Result<()> {
    match std::fs::symlink_metadata(out) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(out, "inspect the output folder", e)),
        Ok(m) if !m.is_dir() => Err(Error::bad_input(
            Problem::new("exists and is not a folder")
                .file(out)
                .field("out")
                .hint("choose another --out"),
        )),
        Ok(_) => {
            let mut entries =
                std::fs::read_dir(out).map_err(|e| Error::io(out, "read the output folder", e))?;
            if entries.next().is_none() || out.join("manifest.json").is_file() {
                Ok(())
            } else {
                Err(Error::bad_input(
                    Problem::new("exists, is not empty and holds no manifest.json: it is not an agentpack output")
                        .file(out)
                        .field("out")
                        .hint("choose another --out, or empty the folder; agentpack only replaces its own outputs"),
                ))
            }
        }
    }
}

impl Staging {
    /// Lock OUT's parent and create a staging folder beside OUT.
    pub fn begin(out: &Path) -> Result<Staging> {
        check_replaceable(out)?;
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent)
            .map_err(|e| Error::io(&parent, "create the output's parent folder", e))?;
        let lock = File::open(&parent)
            .map_err(|e| Error::io(&parent, "open the output's parent folder", e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::bad_input(
                    Problem::new("another agentpack build is writing into this folder")
                        .file(&parent)
                        .hint("wait for it to finish, or build into another folder"),
                ))
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(Error::io(&parent, "lock the output's parent folder", e))
            }
        }
        let dir = tempfile::Builder::new()
            .prefix(&format!(".{}.staging-", out_name(out)))
            .tempdir_in(&parent)
            .map_err(|e| Error::io(&parent, "create a staging folder", e))?;
        Ok(Staging {
            dir: Some(dir),
            out: out.to_path_buf(),
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        self.dir.as_ref().map_or(Path::new("."), |d| d.path())
    }

    fn dest(&self, rel: &Path) -> Result<PathBuf> {
        let dest = self.path().join(rel);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, "create a folder", e))?;
        }
        Ok(dest)
    }

    /// Write bytes at `rel` with `mode`.
    pub fn write_bytes(&self, rel: &Path, data: &[u8], mode: u32) -> Result<Written> {
        let dest = self.dest(rel)?;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&dest)
            .map_err(|e| Error::io(&dest, "create", e))?;
        f.write_all(data)
            .map_err(|e| Error::io(&dest, "write", e))?;
        // The umask may have cleared bits we want (e.g. 0755); set them exactly.
        f.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io(&dest, "set permissions of", e))?;
        Ok(Written {
            size: data.len() as u64,
            sha256: sha256_hex(data),
            sha3_512: None,
            placement: None,
        })
    }

    /// Stream an artifact to `rel` through `produce`, hashing as it goes.
    pub fn write_stream(
        &self,
        rel: &Path,
        produce: &super::artifact::StreamFn,
        mode: u32,
    ) -> Result<Written> {
        use sha2::Digest;
        let dest = self.dest(rel)?;
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&dest)
            .map_err(|e| Error::io(&dest, "create", e))?;
        let mut w = HashingWriter {
            inner: std::io::BufWriter::with_capacity(1 << 20, f),
            sha256: sha2::Sha256::new(),
            sha3: sha3::Sha3_512::new(),
            size: 0,
        };
        produce(&mut w)?;
        w.flush().map_err(|e| Error::io(&dest, "write", e))?;
        let HashingWriter {
            inner,
            sha256,
            sha3,
            size,
        } = w;
        let f = inner
            .into_inner()
            .map_err(|e| Error::io(&dest, "write", e.into_error()))?;
        f.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io(&dest, "set permissions of", e))?;
        Ok(Written {
            size,
            sha256: super::inputs::hex(&sha256.finalize()),
            sha3_512: Some(super::inputs::hex(&sha3.finalize())),
            placement: None,
        })
    }

    /// Place an installer: hard link when possible (and not `copy`), else a streaming copy.
    pub fn place_installer(&self, rel: &Path, input: &Input, copy: bool) -> Result<Written> {
        let dest = self.dest(rel)?;
        let placement = if !copy && std::fs::hard_link(&input.abs, &dest).is_ok() {
            Placement::Hardlink
        } else {
            std::fs::copy(&input.abs, &dest)
                .map_err(|e| Error::io(&dest, "copy the installer to", e))?;
            Placement::Copy
        };
        Ok(Written {
            size: input.size,
            sha256: input.sha256.clone(),
            sha3_512: input.sha3_512.clone(),
            placement: Some(placement),
        })
    }

    /// Write one policy's artifacts: derived ones after those they are derived from.
    pub fn write_artifacts(
        &self,
        artifacts: &[Artifact],
        inputs: &[Input],
        copy_installers: bool,
    ) -> Result<Vec<Written>> {
        let mut written: Vec<Option<Written>> = vec![None; artifacts.len()];
        for pass in [false, true] {
            for (i, a) in artifacts.iter().enumerate() {
                let derived = matches!(a.contents, Contents::Derived { .. });
                if derived != pass {
                    continue;
                }
                let w = match &a.contents {
                    Contents::Bytes(b) => self.write_bytes(&a.path, b, a.mode())?,
                    Contents::Installer { input } => {
                        let input = inputs
                            .get(*input)
                            .ok_or_else(|| Error::internal("artifact names an unknown input"))?;
                        self.place_installer(&a.path, input, copy_installers)?
                    }
                    Contents::Stream(produce) => self.write_stream(&a.path, produce, a.mode())?,
                    Contents::Derived { from, render } => {
                        let source = artifacts
                            .iter()
                            .position(|x| &x.path == from)
                            .and_then(|j| written[j].as_ref())
                            .ok_or_else(|| {
                                Error::internal(format!(
                                    "{} is derived from a missing artifact",
                                    a.path.display()
                                ))
                            })?;
                        let bytes = render(source)?;
                        self.write_bytes(&a.path, &bytes, a.mode())?
                    }
                };
                written[i] = Some(w);
            }
        }
        written
            .into_iter()
            .map(|w| w.ok_or_else(|| Error::internal("an artifact was not written")))
            .collect()
    }

    /// Move the staging folder into place, replacing a previous OUT; on failure OUT is unchanged.
    pub fn commit(mut self) -> Result<()> {
        let staged = self
            .dir
            .take()
            .ok_or_else(|| Error::internal("staging folder already committed"))?
            .keep();
        let parent = staged.parent().map(Path::to_path_buf).unwrap_or_default();
        let result = (|| {
            if self.out.exists() {
                let old = tempfile::Builder::new()
                    .prefix(&format!(".{}.old-", out_name(&self.out)))
                    .tempdir_in(&parent)
                    .map_err(|e| Error::io(&parent, "create a folder for the previous output", e))?
                    .keep();
                // rename needs the target to be absent or an empty folder: it is empty.
                std::fs::rename(&self.out, &old)
                    .map_err(|e| Error::io(&self.out, "move the previous output aside", e))?;
                if let Err(e) = std::fs::rename(&staged, &self.out) {
                    let _ = std::fs::rename(&old, &self.out);
                    let _ = std::fs::remove_dir_all(&old);
                    return Err(Error::io(&self.out, "move the new output into place", e));
                }
                std::fs::remove_dir_all(&old)
                    .map_err(|e| Error::io(&old, "remove the previous output", e))?;
                Ok(())
            } else {
                std::fs::rename(&staged, &self.out)
                    .map_err(|e| Error::io(&self.out, "move the output into place", e))
            }
        })();
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&staged);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_replaces_and_drop_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("dist");
        let s = Staging::begin(&out).unwrap();
        s.write_bytes(Path::new("a/b.txt"), b"1", 0o600).unwrap();
        s.commit().unwrap();
        assert_eq!(std::fs::read(out.join("a/b.txt")).unwrap(), b"1");
        let mode = std::fs::metadata(out.join("a/b.txt"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        std::fs::write(out.join("manifest.json"), "{}").unwrap();
        {
            let s = Staging::begin(&out).unwrap();
            s.write_bytes(Path::new("c.txt"), b"2", 0o644).unwrap();
            // dropped without commit: OUT untouched, staging removed
        }
        assert!(out.join("a/b.txt").exists());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("dist")]);
    }

    #[test]
    fn refuses_foreign_folders_and_concurrent_builds() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("home");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("notes.txt"), "mine").unwrap();
        assert_eq!(Staging::begin(&out).err().unwrap().exit_code(), 2);
        let out2 = dir.path().join("dist");
        let first = Staging::begin(&out2).unwrap();
        let second = Staging::begin(&out2).err().unwrap();
        assert!(second.to_string().contains("another agentpack build"));
        drop(first);
        assert!(Staging::begin(&out2).is_ok());
    }
}
