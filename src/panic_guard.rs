//! Panics: expected ones from third-party readers, and bugs of ours.
//!
//! The `msi` and `cfb` crates panic on some malformed files. The few calls into them go through
//! [`third_party`], which catches such a panic so the caller can turn it into a bad-input error.
//! The process-wide hook ([`install`], set by `main`) keeps those silent, and only those: a
//! panic raised by agentpack's own code, guarded or not, is a bug and is reported as one (masked,
//! escaped, with a request to report it); `main` then exits 1.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, PanicHookInfo};

thread_local! {
    /// How many [`third_party`] calls this thread is inside.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// What the hook made of the last panic on this thread: `Some(true)` when expected.
    static LAST: Cell<Option<bool>> = const { Cell::new(None) };
}

/// Run `f`, a call into a third-party crate that may panic on malformed input; `Err` when it
/// did. A panic raised by agentpack's own code inside `f` is not caught: it is a bug, and
/// hiding it behind an "invalid file" error would keep it from being fixed.
pub fn third_party<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    DEPTH.with(|d| d.set(d.get() + 1));
    LAST.with(|l| l.set(None));
    let r = std::panic::catch_unwind(AssertUnwindSafe(f));
    DEPTH.with(|d| d.set(d.get() - 1));
    match r {
        // Only a hook that calls `note` (ours) tells the two apart; without one, every panic
        // in `f` counts as the reader's.
        Err(payload) if LAST.with(Cell::take) == Some(false) => std::panic::resume_unwind(payload),
        r => r,
    }
}

/// Whether this thread is inside a [`third_party`] call.
pub fn guarded() -> bool {
    DEPTH.with(Cell::get) > 0
}

/// Whether `file` (a panic location) is agentpack's own source.
fn ours(file: &str) -> bool {
    file.starts_with("src/") || file.starts_with(concat!(env!("CARGO_MANIFEST_DIR"), "/src/"))
}

/// Whether a panic is expected: raised inside [`third_party`] by code that is not agentpack's.
pub fn expected(info: &PanicHookInfo) -> bool {
    guarded() && info.location().is_none_or(|l| !ours(l.file()))
}

/// Classify a panic for the [`third_party`] call around it; true when expected. A panic hook
/// calls this first and stays silent when it returns true.
pub fn note(info: &PanicHookInfo) -> bool {
    let e = expected(info);
    LAST.with(|l| l.set(Some(e)));
    e
}

/// The report of an unexpected panic: where, and what (tokens masked, control characters
/// escaped), and what to do.
pub fn report(info: &PanicHookInfo) -> String {
    let payload = info.payload();
    let what = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    let at = info
        .location()
        .map_or_else(|| "an unknown place".to_string(), ToString::to_string);
    format!(
        "error: internal error, please report: agentpack panicked at {}: {}\n  hint: this is a bug in agentpack {}; please report it with the command you ran",
        crate::error::shown(&at),
        crate::error::shown(what),
        env!("CARGO_PKG_VERSION")
    )
}

/// Set the process's panic hook: silent for expected panics, a short report for the first of
/// the others (more panics on other threads are most likely its consequences).
pub fn install() {
    static REPORTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    std::panic::set_hook(Box::new(|info| {
        if !note(info) && !REPORTED.swap(true, std::sync::atomic::Ordering::SeqCst) {
            eprintln!("{}", report(info));
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_third_party_panic_is_caught_and_ours_is_not() {
        // A committed fuzz input on which the `msi` crate panics (an `unwrap` in its reader).
        let damaged = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/fuzz/msi_open/04c7ed7e74879a031523f81920e97ad2f9ce4b3d");
        let previous: std::sync::Arc<dyn Fn(&PanicHookInfo) + Send + Sync> =
            std::panic::take_hook().into();
        let keep = previous.clone();
        std::panic::set_hook(Box::new(move |info| {
            if !note(info) {
                keep(info);
            }
        }));
        let theirs = third_party(|| msi::open(&damaged).map(|p| p.database_codepage().id()));
        // `Option::unwrap` reports its caller's location, this file: a bug of ours.
        let none: Option<u8> = std::hint::black_box(None);
        let mine = std::panic::catch_unwind(|| third_party(|| none.unwrap()));
        std::panic::set_hook(Box::new(move |info| previous(info)));
        assert!(theirs.is_err(), "the msi crate's panic is caught");
        assert!(mine.is_err(), "a panic of ours is raised again, not hidden");
        assert!(!guarded());
        assert!(ours("src/build/mod.rs"));
        assert!(!ours(
            "/root/.cargo/registry/src/x/msi-0.11.1/src/internal/package.rs"
        ));
    }
}
