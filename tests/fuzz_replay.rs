//! Replays every committed fuzz input (`tests/fixtures/fuzz/<target>/`: the minimized corpus
//! and the reproducers of crashes found) through the same entry points the `cargo fuzz`
//! targets call, on the stable toolchain. A panic here is a regression of a fixed crash or a
//! new one; the input's file name says which.

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod entry;

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no corpus", dir.display());
    let mut failed = Vec::new();
    for f in &files {
        let data = std::fs::read(f).unwrap();
        if std::panic::catch_unwind(|| run(&data)).is_err() {
            failed.push(f.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: {} of {} inputs panic: {failed:?}",
        failed.len(),
        files.len()
    );
}

#[test]
fn policy_text_corpus() {
    replay("policy_text", entry::policy_text);
}

#[test]
fn import_args_corpus() {
    replay("import_args", entry::import_args);
}

#[test]
fn msi_open_corpus() {
    entry::install_panic_hook(false);
    replay("msi_open", entry::msi_open);
}

#[test]
fn mst_read_corpus() {
    entry::install_panic_hook(false);
    replay("mst_read", entry::mst_read);
}

#[test]
fn xar_read_corpus() {
    replay("xar_read", entry::xar_read);
}
