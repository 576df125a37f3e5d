//! Golden outputs for the bundled example: every text file `agentpack build` writes for
//! `examples/` (with SOURCE_DATE_EPOCH fixed) must equal `tests/golden/example/`, and every file,
//! binary ones included, must match the golden `SHA256SUMS`. A change to the outputs shows up
//! here for review; regenerate with `AGENTPACK_BLESS=1 cargo test --test golden`.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn copy_dir(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(from).unwrap();
        if rel.starts_with("dist") {
            continue;
        }
        let dest = to.join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// Text outputs by relative path; binary ones are covered by SHA256SUMS only.
fn text_files(dir: &Path) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let bytes = std::fs::read(e.path()).unwrap();
            String::from_utf8(bytes)
                .ok()
                .filter(|t| !t.contains('\0'))
                .map(|t| (rel, t))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn example_outputs_match_the_golden_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = tempfile::tempdir().unwrap();
    let examples = work.path().join("examples");
    copy_dir(&root.join("examples"), &examples);
    Command::cargo_bin("agentpack")
        .unwrap()
        .current_dir(&examples)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .arg("build")
        .assert()
        .success();
    let dist = examples.join("dist");
    let golden: PathBuf = root.join("tests/golden/example");
    let got = text_files(&dist);

    if std::env::var("AGENTPACK_BLESS").is_ok_and(|v| v == "1") {
        let _ = std::fs::remove_dir_all(&golden);
        for (rel, text) in &got {
            let p = golden.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        eprintln!("blessed {} golden files in {}", got.len(), golden.display());
        return;
    }
    let want = text_files(&golden);
    let names = |v: &[(String, String)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&got),
        names(&want),
        "the set of text outputs changed (AGENTPACK_BLESS=1 to accept)"
    );
    for ((rel, g), (_, w)) in got.iter().zip(&want) {
        assert!(g == w, "{rel} differs from tests/golden/example/{rel} (review, then AGENTPACK_BLESS=1 cargo test --test golden)");
    }
    // Binary outputs (transform, packages, linked installers) through the checksums.
    assert!(want.iter().any(|(n, _)| n == "SHA256SUMS"));
}
