//! Helpers shared by the integration tests: locating external checkers and skipping visibly.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// True when `AGENTPACK_REQUIRE_TOOLS=1`: every skip becomes a failure (CI sets it).
pub fn tools_required() -> bool {
    std::env::var("AGENTPACK_REQUIRE_TOOLS").is_ok_and(|v| v == "1")
}

/// Report a missing tool: a visible notice, or a panic when tools are required.
pub fn skip(test: &str, what: &str) {
    if tools_required() {
        panic!("{test}: {what} is missing and AGENTPACK_REQUIRE_TOOLS=1 (run ../shared/tools/install-test-deps)");
    }
    eprintln!("NOTICE: skipping {test}: {what} not found (install with ../shared/tools/install-test-deps)");
}

/// An executable on PATH, or None after a visible skip notice.
pub fn program(test: &str, name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return Some(candidate);
        }
    }
    skip(test, name);
    None
}

/// The shared test tools folder: `$AGENTPACK_SHARED_TOOLS` or `../shared/tools` beside the project.
pub fn shared_tools_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("AGENTPACK_SHARED_TOOLS") {
        return Some(PathBuf::from(dir));
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools");
    dir.is_dir().then_some(dir)
}

/// A tool from the shared folder (e.g. `verify-mst`), or None after a visible skip notice.
pub fn shared_tool(test: &str, name: &str) -> Option<PathBuf> {
    match shared_tools_dir().map(|d| d.join(name)) {
        Some(p) if p.is_file() => Some(p),
        _ => {
            skip(test, &format!("../shared/tools/{name}"));
            None
        }
    }
}

/// Run a command and return (success, stdout, stderr) as text.
pub fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().expect("spawn command");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Path of a committed fixture.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}
