//! Replays every committed fuzz input (`tests/fixtures/fuzz/<target>/`: the minimized corpus
//! and the reproducers of crashes found) through the same entry points the `cargo fuzz`
//! targets call, on the stable toolchain. A panic here is a regression of a fixed crash or a
//! new one; the input's file name says which.
//!
//! The only panics allowed are those of the third-party MSI readers inside
//! `agentpack::panic_guard::third_party`, which turns them into errors. Any other panic fails
//! the input, even one that something caught: the panic hook counts them.

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
    entry::install_panic_hook(false);
    let mut failed = Vec::new();
    for f in &files {
        let data = std::fs::read(f).unwrap();
        let before = entry::unexpected_panics();
        let caught = std::panic::catch_unwind(|| run(&data)).is_err();
        if caught || entry::unexpected_panics() != before {
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
    replay("msi_open", entry::msi_open);
}

#[test]
fn mst_read_corpus() {
    replay("mst_read", entry::mst_read);
}

#[test]
fn xar_read_corpus() {
    replay("xar_read", entry::xar_read);
}

/// The replay fails on a panic of agentpack's own code that is caught and turned into an
/// error, as a `catch_unwind` around a whole reader would do, and not on a guarded
/// third-party panic.
#[test]
fn a_caught_panic_of_ours_fails_the_replay() {
    entry::install_panic_hook(false);
    let before = entry::unexpected_panics();
    let _ = std::panic::catch_unwind(|| {
        let none: Option<u8> = std::hint::black_box(None);
        none.unwrap()
    });
    assert_eq!(
        entry::unexpected_panics(),
        before + 1,
        "an unguarded panic counts"
    );
    // A panic of the msi crate inside the guard is what the guard is for: not counted.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz/msi_open");
    let damaged = dir.join("04c7ed7e74879a031523f81920e97ad2f9ce4b3d");
    let before = entry::unexpected_panics();
    let r = agentpack::panic_guard::third_party(|| msi::open(&damaged).map(|_| ()));
    assert!(r.is_err(), "the msi crate panics on this input");
    assert_eq!(
        entry::unexpected_panics(),
        before,
        "a guarded msi panic is expected"
    );
}
