//! What an unfinished build leaves beside OUT (`.<OUT>.staging-*`, `.<OUT>.old-*`, the lock
//! file) and how it is cleaned up: at once when the process is stopped by a signal, and by the
//! next build into OUT when it was killed outright (SIGKILL, a power cut).
//!
//! Every change to a staging folder happens while holding [`writing`] (shared) and every
//! change to the set of leftovers while holding [`exclusive`]; [`remove_unfinished`], called
//! by the signal handler, takes the exclusive side, so it waits for the file writes in flight,
//! removes everything registered, and keeps any later write from recreating a folder.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Files and folders this process would leave behind if stopped now.
static UNFINISHED: RwLock<Vec<PathBuf>> = RwLock::new(Vec::new());

/// Held while writing into a staging folder.
pub(super) fn writing() -> RwLockReadGuard<'static, Vec<PathBuf>> {
    UNFINISHED.read().unwrap_or_else(PoisonError::into_inner)
}

/// Held while creating, renaming or removing what a build leaves behind, and while changing
/// the list of it.
pub(super) fn exclusive() -> RwLockWriteGuard<'static, Vec<PathBuf>> {
    UNFINISHED.write().unwrap_or_else(PoisonError::into_inner)
}

/// Remove `path` (a folder with its contents, or a file); absent is fine.
fn remove(path: &Path) -> std::io::Result<()> {
    let r = match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) => Err(e),
    };
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}

/// Remove every staging folder and lock file of the builds running in this process (for a
/// signal handler, before it exits). The returned guard keeps them from writing again: hold it
/// until the process exits.
pub fn remove_unfinished() -> RwLockWriteGuard<'static, Vec<PathBuf>> {
    let mut list = exclusive();
    remove_all(&mut list);
    list
}

fn remove_all(list: &mut Vec<PathBuf>) {
    // Staging folders first, lock files last: another build may start once the lock is gone.
    list.sort_by_key(|p| p.extension().is_some_and(|e| e == "lock"));
    for p in list.drain(..) {
        let _ = remove(&p);
    }
}

/// Forget `path` (it was committed or removed).
pub(super) fn forget(list: &mut Vec<PathBuf>, path: &Path) {
    list.retain(|p| p != path);
}

/// `.<OUT>.<kind>-XXXXXX`, the name `tempfile` gives a staging (`kind` = `staging`) or
/// previous-output (`old`) folder: six random letters or digits, nothing else, so that the
/// folders of a sibling OUT (`dist.staging-x` has `.dist.staging-x.staging-XXXXXX`) never match.
pub(super) fn is_named(file_name: &str, out_name: &str, kind: &str) -> bool {
    file_name
        .strip_prefix(&format!(".{out_name}.{kind}-"))
        .is_some_and(|rest| {
            rest.len() == RAND_LEN && rest.bytes().all(|b| b.is_ascii_alphanumeric())
        })
}

/// Length of the random part of staging and previous-output folder names.
pub(super) const RAND_LEN: usize = 6;

/// Clean up after builds into `out` that died (the caller holds OUT's lock, so none of them
/// is running): remove their staging folders; if OUT is missing because a build died between
/// moving it aside and moving the new one in, move the previous output back; remove the
/// other previous outputs. Returns notes saying what was done.
pub(super) fn sweep(out: &Path, parent: &Path, out_name: &str) -> Result<Vec<String>> {
    let _held = exclusive();
    let entries = match std::fs::read_dir(parent) {
        Ok(e) => e,
        // The parent was just created or checked; nothing to sweep where nothing can be read.
        Err(_) => return Ok(Vec::new()),
    };
    let mut staging = Vec::new();
    let mut old = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        // Only folders: tempfile makes folders, anything else is not ours.
        if !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if is_named(&name, out_name, "staging") {
            staging.push(e.path());
        } else if is_named(&name, out_name, "old") {
            old.push(e.path());
        }
    }
    staging.sort();
    old.sort();
    let mut notes = Vec::new();
    let out_missing =
        std::fs::symlink_metadata(out).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound);
    if out_missing {
        // A previous output is whole (it was renamed aside in one step) and holds its manifest;
        // with several (left by older agentpack versions), the newest is the last OUT.
        let newest = old
            .iter()
            .filter(|p| p.join(crate::manifest::MANIFEST).is_file())
            .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
            .cloned();
        if let Some(prev) = newest {
            std::fs::rename(&prev, out).map_err(|e| {
                Error::io(
                    out,
                    "move back the previous output left by an interrupted build",
                    e,
                )
            })?;
            notes.push(format!(
                "{} was missing after an interrupted build: moved its previous contents back from {}",
                super::display_path(out),
                name_of(&prev)
            ));
            old.retain(|p| p != &prev);
        }
    }
    let mut removed = Vec::new();
    for p in staging.iter().chain(&old) {
        remove(p).map_err(|e| Error::io(p, "remove a folder left by an interrupted build", e))?;
        removed.push(name_of(p));
    }
    if !removed.is_empty() {
        notes.push(format!(
            "removed {} left beside {} by an interrupted build",
            removed.join(", "),
            super::display_path(out)
        ));
    }
    Ok(notes)
}

fn name_of(p: &Path) -> String {
    crate::error::shown(&p.file_name().unwrap_or_default().to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_exact_leftover_names_match() {
        assert!(is_named(".dist.staging-aB3xYz", "dist", "staging"));
        assert!(is_named(".dist.old-000000", "dist", "old"));
        // A sibling OUT named `dist.staging-x` has its own folders.
        assert!(!is_named(
            ".dist.staging-x.staging-aB3xYz",
            "dist",
            "staging"
        ));
        assert!(!is_named(".dist.staging-aB3xY", "dist", "staging"));
        assert!(!is_named(".dist.staging-aB3xY.", "dist", "staging"));
        assert!(!is_named(".dist2.staging-aB3xYz", "dist", "staging"));
        assert!(!is_named("dist.staging-aB3xYz", "dist", "staging"));
    }

    /// Every state a build killed in `Staging::begin`, writing, or `commit` can leave.
    #[test]
    fn sweep_makes_every_dead_build_state_safe() {
        let manifest = |dir: &Path, tag: &str| {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(dir.join("manifest.json"), tag).unwrap();
        };
        let names = |d: &Path| {
            let mut v: Vec<String> = std::fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        // Killed while writing: OUT as it was, a staging folder beside it.
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("dist");
        manifest(&out, "before");
        manifest(&d.path().join(".dist.staging-abc123/p"), "partial");
        // Killed after creating the folder for the previous output, before moving it.
        std::fs::create_dir(d.path().join(".dist.old-abc123")).unwrap();
        // A sibling's leftovers and a file that only looks like one are not touched.
        std::fs::create_dir(d.path().join(".dist2.staging-abc123")).unwrap();
        std::fs::write(d.path().join(".dist.staging-zzzzzz"), "a file").unwrap();
        let notes = sweep(&out, d.path(), "dist").unwrap();
        assert_eq!(
            names(d.path()),
            [".dist.staging-zzzzzz", ".dist2.staging-abc123", "dist"]
        );
        assert_eq!(
            std::fs::read_to_string(out.join("manifest.json")).unwrap(),
            "before"
        );
        assert!(
            notes[0].contains(".dist.old-abc123") && notes[0].contains(".dist.staging-abc123"),
            "{notes:?}"
        );

        // Killed between the two renames: OUT missing, the previous output aside, the new one
        // complete in staging. The previous one goes back; the new one is dropped.
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("dist");
        manifest(&d.path().join(".dist.old-prev01"), "before");
        manifest(&d.path().join(".dist.staging-new001"), "new");
        let notes = sweep(&out, d.path(), "dist").unwrap();
        assert_eq!(names(d.path()), ["dist"]);
        assert_eq!(
            std::fs::read_to_string(out.join("manifest.json")).unwrap(),
            "before"
        );
        assert!(
            notes[0].contains("moved its previous contents back"),
            "{notes:?}"
        );

        // Killed while removing the previous output after the new one is in place.
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("dist");
        manifest(&out, "new");
        std::fs::create_dir_all(d.path().join(".dist.old-prev01/p/macos")).unwrap();
        sweep(&out, d.path(), "dist").unwrap();
        assert_eq!(names(d.path()), ["dist"]);
        assert_eq!(
            std::fs::read_to_string(out.join("manifest.json")).unwrap(),
            "new"
        );

        // A first build (no OUT before) killed at any point: nothing to restore.
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("dist");
        manifest(&d.path().join(".dist.staging-new001"), "new");
        assert!(!sweep(&out, d.path(), "dist").unwrap().is_empty());
        assert_eq!(names(d.path()), Vec::<String>::new());
        assert!(sweep(&out, d.path(), "dist").unwrap().is_empty());
    }

    #[test]
    fn remove_all_removes_what_is_registered() {
        let d = tempfile::tempdir().unwrap();
        let staging = d.path().join(".x.staging-abcdef");
        std::fs::create_dir_all(staging.join("a/b")).unwrap();
        std::fs::write(staging.join("a/b/deploy.properties"), "t").unwrap();
        let lock = d.path().join(".x.lock");
        std::fs::write(&lock, "").unwrap();
        let mut list = vec![lock, staging, d.path().join("gone")];
        remove_all(&mut list);
        assert!(list.is_empty());
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
    }
}
