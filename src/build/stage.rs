//! Writing outputs atomically: everything goes into a staging folder beside OUT, which is
//! renamed into place only when complete. A lock file beside OUT (`.<OUT>.lock`, removed when
//! the build ends) keeps two builds into the same OUT from mixing their outputs, while builds
//! into sibling folders run side by side. What a stopped or killed build leaves is handled in
//! `leftovers`.

use super::artifact::{Artifact, Contents};
use super::inputs::{sha256_hex, Input};
use super::leftovers::{self, RAND_LEN};
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
    /// The staging folder; None once committed.
    dir: Option<PathBuf>,
    out: PathBuf,
    /// What cleaning up after dead builds did (build notes).
    notes: Vec<String>,
    _lock: OutLock,
}

fn out_name(out: &Path) -> String {
    out.file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned())
}

fn parent_of(out: &Path) -> PathBuf {
    match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn refuse(out: &Path, message: impl Into<String>, hint: &str) -> Error {
    Error::bad_input(Problem::new(message).file(out).field("out").hint(hint))
}

/// An exclusive lock on `.<OUT>.lock` beside OUT. The file is removed when the lock is
/// released; a lock taken on a file that was removed meanwhile is retried on the new file.
struct OutLock {
    path: PathBuf,
    file: File,
}

impl OutLock {
    fn acquire(out: &Path) -> Result<OutLock> {
        use std::os::unix::fs::MetadataExt;
        let parent = parent_of(out);
        std::fs::create_dir_all(&parent).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                // create_dir_all met a file where a folder should be.
                refuse(
                    &parent,
                    "is a file, or has a file in its path, where a folder should be",
                    "check the --out path",
                )
            } else {
                Error::io(&parent, "create the output's parent folder", e)
            }
        })?;
        let path = parent.join(format!(".{}.lock", out_name(out)));
        for _ in 0..8 {
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(&path)
                .map_err(|e| Error::io(&path, "create the lock file", e))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(refuse(
                        out,
                        "another agentpack build is writing into this folder",
                        "wait for it to finish, or build into another folder",
                    ))
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, "lock", e)),
            }
            // The build that held it may have removed the file just before we locked it.
            let held = file
                .metadata()
                .map_err(|e| Error::io(&path, "inspect", e))?;
            match std::fs::symlink_metadata(&path) {
                Ok(m) if m.dev() == held.dev() && m.ino() == held.ino() => {
                    leftovers::exclusive().push(path.clone());
                    return Ok(OutLock { path, file });
                }
                _ => continue,
            }
        }
        Err(refuse(
            out,
            "another agentpack build is writing into this folder",
            "wait for it to finish, or build into another folder",
        ))
    }
}

impl Drop for OutLock {
    fn drop(&mut self) {
        let mut list = leftovers::exclusive();
        // Removed while still locked, so a waiting build locks a new file, never a stale one.
        let _ = std::fs::remove_file(&self.path);
        leftovers::forget(&mut list, &self.path);
        let _ = self.file.unlock();
    }
}

/// Whether `out` may be replaced: absent, empty, or a previous agentpack output holding only
/// the files its manifest lists. Anything else may be somebody's data: refuse.
fn check_replaceable(out: &Path) -> Result<()> {
    match std::fs::symlink_metadata(out) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(out, "inspect the output folder", e)),
        Ok(m) if m.file_type().is_symlink() => Err(refuse(
            out,
            "is a symbolic link",
            "give the folder itself as --out: a build replaces OUT, it would replace the link",
        )),
        Ok(m) if !m.is_dir() => Err(refuse(
            out,
            "exists and is not a folder",
            "choose another --out",
        )),
        Ok(_) => {
            let mut entries =
                std::fs::read_dir(out).map_err(|e| Error::io(out, "read the output folder", e))?;
            if entries.next().is_none() {
                return Ok(());
            }
            let not_ours = "choose another --out, or empty the folder; agentpack only replaces its own outputs";
            if std::fs::symlink_metadata(out.join(crate::manifest::MANIFEST)).is_err() {
                return Err(refuse(
                    out,
                    "exists, is not empty and holds no manifest.json: it is not an agentpack output",
                    not_ours,
                ));
            }
            let mut listed = crate::manifest::listed_paths(out).map_err(|_| {
                refuse(
                    out,
                    "holds a manifest.json that is not an agentpack manifest: it is not an agentpack output",
                    not_ours,
                )
            })?;
            listed.push(crate::manifest::MANIFEST.into());
            listed.push(crate::manifest::SUMS.into());
            listed.sort_unstable();
            let mut foreign = Vec::new();
            for entry in walkdir::WalkDir::new(out).min_depth(1).sort_by_file_name() {
                let entry = entry.map_err(|e| {
                    Error::internal(format!(
                        "cannot read the output folder {}: {e}",
                        out.display()
                    ))
                })?;
                if entry.file_type().is_dir() {
                    continue;
                }
                let rel = entry.path().strip_prefix(out).unwrap_or(entry.path());
                // Compared as they are: a name that is not UTF-8 is not one we wrote.
                let listed_here = rel
                    .to_str()
                    .is_some_and(|r| listed.binary_search_by(|l| l.as_str().cmp(r)).is_ok());
                if !listed_here {
                    foreign.push(rel.to_string_lossy().into_owned());
                }
            }
            if foreign.is_empty() {
                return Ok(());
            }
            let n = foreign.len();
            foreign.truncate(5);
            let more = if n > 5 {
                format!(" and {} more", n - 5)
            } else {
                String::new()
            };
            Err(refuse(
                out,
                format!(
                    "holds files its manifest does not list ({}{more}); a build would delete them",
                    foreign.join(", ")
                ),
                "move them out of the output folder (or remove them), or choose another --out",
            ))
        }
    }
}

/// OUT is replaced as a whole: it must not hold an input, nor be the working folder or one
/// of its parents.
fn check_not_holding(out: &Path, inputs: &[PathBuf]) -> Result<()> {
    let Ok(out_abs) = std::fs::canonicalize(out) else {
        return Ok(()); // absent: holds nothing
    };
    if let Ok(cwd) = std::env::current_dir().and_then(std::fs::canonicalize) {
        if cwd.starts_with(&out_abs) {
            return Err(refuse(
                out,
                "is the working folder or one of its parents",
                "build into a folder of its own, e.g. --out dist",
            ));
        }
    }
    for input in inputs {
        if let Ok(abs) = std::fs::canonicalize(input) {
            if abs.starts_with(&out_abs) {
                return Err(refuse(
                    out,
                    format!("holds an input of this build ({})", input.display()),
                    "keep policies, token files and installers outside the output folder: a build replaces it whole",
                ));
            }
        }
    }
    Ok(())
}

impl Staging {
    /// Lock OUT, clean up after builds into it that died (`leftovers::sweep`), check that it
    /// may be replaced and holds none of `inputs`, and create a staging folder beside it.
    pub fn begin(out: &Path, inputs: &[PathBuf]) -> Result<Staging> {
        let lock = OutLock::acquire(out)?;
        let parent = parent_of(out);
        let notes = leftovers::sweep(out, &parent, &out_name(out))?;
        check_not_holding(out, inputs)?;
        check_replaceable(out)?;
        let dir = {
            let mut list = leftovers::exclusive();
            let dir = tempfile::Builder::new()
                .prefix(&format!(".{}.staging-", out_name(out)))
                .rand_bytes(RAND_LEN)
                .tempdir_in(&parent)
                .map_err(|e| Error::io(&parent, "create a staging folder", e))?
                .keep();
            list.push(dir.clone());
            dir
        };
        Ok(Staging {
            dir: Some(dir),
            out: out.to_path_buf(),
            notes,
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        self.dir.as_deref().unwrap_or(Path::new("."))
    }

    /// What cleaning up after builds that died did, for the build's notes.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Remove what a policy wrote so far (a policy that failed with --keep-going).
    pub fn discard(&self, rel: &Path) -> Result<()> {
        let _w = leftovers::writing();
        let dir = self.path().join(rel);
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(
                &dir,
                "remove the failed policy's unfinished folder",
                e,
            )),
            _ => Ok(()),
        }
    }

    fn dest(&self, rel: &Path) -> Result<PathBuf> {
        let dest = self.path().join(rel);
        if let Some(e) = super::test_hooks::fail_write(rel) {
            return Err(Error::io(&dest, "create", e));
        }
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, "create a folder", e))?;
        }
        Ok(dest)
    }

    /// Write bytes at `rel` with `mode`.
    pub fn write_bytes(&self, rel: &Path, data: &[u8], mode: u32) -> Result<Written> {
        let _w = leftovers::writing();
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
        self.write_with(rel, mode, |w| produce(w))
    }

    /// Write `rel` with `mode` through `produce`, hashing (SHA-256 and SHA3-512) as it goes.
    pub fn write_with(
        &self,
        rel: &Path,
        mode: u32,
        produce: impl FnOnce(&mut dyn Write) -> Result<()>,
    ) -> Result<Written> {
        use sha2::Digest;
        let _w = leftovers::writing();
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
        let _w = leftovers::writing();
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
    /// A signal waits for the whole of it (see `leftovers`): it never sees OUT moved aside.
    pub fn commit(mut self) -> Result<()> {
        let staged = self
            .dir
            .clone()
            .ok_or_else(|| Error::internal("staging folder already committed"))?;
        let parent = parent_of(&self.out);
        let mut list = leftovers::exclusive();
        let result = (|| {
            if std::fs::symlink_metadata(&self.out).is_ok() {
                let old = tempfile::Builder::new()
                    .prefix(&format!(".{}.old-", out_name(&self.out)))
                    .rand_bytes(RAND_LEN)
                    .tempdir_in(&parent)
                    .map_err(|e| Error::io(&parent, "create a folder for the previous output", e))?
                    .keep();
                // rename needs the target to be absent or an empty folder: it is empty.
                if let Err(e) = std::fs::rename(&self.out, &old) {
                    let _ = std::fs::remove_dir(&old);
                    return Err(Error::io(&self.out, "move the previous output aside", e));
                }
                super::test_hooks::pause("commit");
                if let Err(e) = std::fs::rename(&staged, &self.out) {
                    let mut err = Error::io(&self.out, "move the new output into place", e);
                    // Never remove the previous output unless it is back in place: if it
                    // cannot be moved back, the next build into OUT does it.
                    if std::fs::rename(&old, &self.out).is_err() {
                        err.problems.push(
                            Problem::new(format!(
                                "the previous output is kept in {}",
                                old.display()
                            ))
                            .file(&self.out)
                            .hint("the next build into this folder moves it back"),
                        );
                    }
                    return Err(err);
                }
                self.dir = None;
                std::fs::remove_dir_all(&old)
                    .map_err(|e| Error::io(&old, "remove the previous output", e))?;
                Ok(())
            } else {
                std::fs::rename(&staged, &self.out)
                    .map_err(|e| Error::io(&self.out, "move the output into place", e))?;
                self.dir = None;
                Ok(())
            }
        })();
        if self.dir.is_none() {
            leftovers::forget(&mut list, &staged);
        }
        // On failure the staging folder is still registered; dropping `self` removes it.
        drop(list);
        result
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let mut list = leftovers::exclusive();
            let _ = std::fs::remove_dir_all(&dir);
            leftovers::forget(&mut list, &dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_replaces_and_drop_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("dist");
        let s = Staging::begin(&out, &[]).unwrap();
        s.write_bytes(Path::new("a/b.txt"), b"1", 0o600).unwrap();
        s.commit().unwrap();
        assert_eq!(std::fs::read(out.join("a/b.txt")).unwrap(), b"1");
        let mode = std::fs::metadata(out.join("a/b.txt"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        // A previous agentpack output (its manifest lists what it holds) may be replaced.
        let manifest = crate::manifest::Manifest::new(
            0,
            crate::manifest::ProductRef {
                id: "p".into(),
                display_name: "P".into(),
                era: "e".into(),
            },
            &[],
            vec![crate::manifest::OutputRecord {
                path: "a/b.txt".into(),
                size: 1,
                sha256: String::new(),
                kind: "k".into(),
                platform: "any".into(),
                policy: None,
                secret: true,
                placement: None,
            }],
        );
        std::fs::write(out.join("manifest.json"), manifest.to_json()).unwrap();
        {
            let s = Staging::begin(&out, &[]).unwrap();
            s.write_bytes(Path::new("c.txt"), b"2", 0o644).unwrap();
            // dropped without commit: OUT untouched, staging and lock file removed
        }
        assert!(out.join("a/b.txt").exists());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("dist")]);

        // A file the manifest does not list is somebody's: refused, named, kept.
        std::fs::write(out.join("a/notes.txt"), "mine").unwrap();
        let e = Staging::begin(&out, &[]).err().unwrap();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("a/notes.txt"), "{e}");
        assert!(out.join("a/notes.txt").exists());
    }

    #[test]
    fn refuses_foreign_folders_and_concurrent_builds() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("home");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("notes.txt"), "mine").unwrap();
        assert_eq!(Staging::begin(&out, &[]).err().unwrap().exit_code(), 2);
        // A manifest.json of another program does not make a folder ours.
        std::fs::write(out.join("manifest.json"), r#"{"name":"my app"}"#).unwrap();
        let e = Staging::begin(&out, &[]).err().unwrap();
        assert!(e.to_string().contains("not an agentpack manifest"), "{e}");
        assert!(out.join("notes.txt").exists());

        let out2 = dir.path().join("dist");
        let first = Staging::begin(&out2, &[]).unwrap();
        let second = Staging::begin(&out2, &[]).err().unwrap();
        assert!(second.to_string().contains("another agentpack build"));
        // A sibling output folder is not blocked.
        let sibling = Staging::begin(&dir.path().join("dist2"), &[]).unwrap();
        drop(first);
        drop(sibling);
        assert!(Staging::begin(&out2, &[]).is_ok());
    }

    #[test]
    fn refuses_outputs_holding_inputs_or_the_working_folder() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("dist");
        std::fs::create_dir(&out).unwrap();
        let input = out.join("policy.yaml");
        std::fs::write(&input, "name: x").unwrap();
        let e = check_not_holding(&out, std::slice::from_ref(&input))
            .err()
            .unwrap();
        assert!(e.to_string().contains("holds an input"), "{e}");
        assert!(check_not_holding(&out, &[dir.path().join("elsewhere.yaml")]).is_ok());
        let cwd = std::env::current_dir().unwrap();
        let e = check_not_holding(&cwd, &[]).err().unwrap();
        assert!(e.to_string().contains("working folder"), "{e}");
        let e = check_not_holding(Path::new("/"), &[]).err().unwrap();
        assert!(e.to_string().contains("working folder"), "{e}");
    }

    #[test]
    fn a_symlinked_out_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        let link = dir.path().join("dist");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let e = Staging::begin(&link, &[]).err().unwrap();
        assert!(e.to_string().contains("symbolic link"), "{e}");
    }
}
