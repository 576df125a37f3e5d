//! Hooks for the integration tests, in debug builds only (release builds compile them to
//! nothing): pause a build at a known point, or make one file's write fail, so that tests can
//! interrupt, race and break builds deterministically instead of by timing.
//!
//! - `AGENTPACK_TEST_PAUSE=<point>:<file>`: at `<point>` (`staged`: every policy written, before
//!   the manifest; `commit`: between moving OUT aside and moving the new output in) create
//!   `<file>` and wait until the test removes it (at most two minutes). At `commit` a signal
//!   waits for the pause to end (the commit is never interrupted): stop it with SIGKILL.
//! - `AGENTPACK_TEST_FAIL_WRITE=<path>`: writing the output `<path>` (relative to OUT) fails
//!   as a permission error would.
//! - `AGENTPACK_TEST_PANIC=<point>:<message>`: panic with `<message>` at `<point>` (`policy`:
//!   in a worker, after a policy's files are written), standing for a bug.

#[cfg(debug_assertions)]
pub fn pause(point: &str) {
    let Ok(v) = std::env::var("AGENTPACK_TEST_PAUSE") else {
        return;
    };
    let Some((at, file)) = v.split_once(':') else {
        return;
    };
    if at != point || std::fs::write(file, std::process::id().to_string()).is_err() {
        return;
    }
    let start = std::time::Instant::now();
    while std::path::Path::new(file).exists() && start.elapsed().as_secs() < 120 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[cfg(not(debug_assertions))]
pub fn pause(_point: &str) {}

#[cfg(debug_assertions)]
pub fn fail_write(rel: &std::path::Path) -> Option<std::io::Error> {
    let target = std::env::var_os("AGENTPACK_TEST_FAIL_WRITE")?;
    (rel.as_os_str() == target).then(|| {
        std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "Permission denied (AGENTPACK_TEST_FAIL_WRITE)",
        )
    })
}

#[cfg(not(debug_assertions))]
pub fn fail_write(_rel: &std::path::Path) -> Option<std::io::Error> {
    None
}

#[cfg(debug_assertions)]
pub fn panic_at(point: &str) {
    if let Some((at, message)) = std::env::var("AGENTPACK_TEST_PANIC")
        .ok()
        .as_deref()
        .and_then(|v| v.split_once(':'))
    {
        if at == point {
            panic!("{message}");
        }
    }
}

#[cfg(not(debug_assertions))]
pub fn panic_at(_point: &str) {}
