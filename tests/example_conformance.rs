//! The bundled example, built as a newcomer builds it (`cd examples && agentpack build`, plus
//! `--wrap-vendor`), and every artifact checked by the independent tool for its kind: each
//! transform applied by Wine's msi.dll (verify-mst) and held to native Windows Installer's row
//! rules against msiinfo's reading of the MSI, each package by pkgcheck.py, bsdtar and 7zz, each
//! profile against Apple's schemas, each shell script by shellcheck, each PowerShell script by
//! the tree-sitter grammar (tests/tools/ps_parse.py), each XML file by xmllint, the sums by
//! sha256sum. Also the profiles of every product era, since the example
//! only builds CrashPlan's. Skips visibly without the tools (fails under
//! AGENTPACK_REQUIRE_TOOLS=1).

#[path = "windows_checks/mod.rs"]
mod checks;
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn copy_examples(to: &Path) -> PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let dest = to.join("examples");
    for e in walkdir::WalkDir::new(&from) {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(&from).unwrap();
        if rel.starts_with("dist") {
            continue;
        }
        if e.file_type().is_dir() {
            std::fs::create_dir_all(dest.join(rel)).unwrap();
        } else {
            std::fs::copy(e.path(), dest.join(rel)).unwrap();
        }
    }
    dest
}

fn agentpack(dir: &Path, args: &[&str]) {
    let o = Command::new(env!("CARGO_BIN_EXE_agentpack"))
        .args(args)
        .current_dir(dir)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "agentpack {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no .{ext} file in {}", dir.display());
    v
}

/// Run a checker on a file; collect a failure message instead of stopping at the first.
fn check(failures: &mut Vec<String>, what: &str, cmd: &mut Command) -> String {
    let (ok, out, err) = common::run(cmd);
    if !ok {
        failures.push(format!("{what}:\n{out}{err}"));
    }
    out
}

/// `KEY=VALUE` words of install-args.txt, `CP_ARGS="…"` unquoted: what the transform must set.
fn console_properties(args: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = args.trim();
    while let Some((name, tail)) = rest.split_once('=') {
        let name = name.trim().to_string();
        let (value, next) = match tail.strip_prefix('"') {
            Some(q) => {
                let end = q.find('"').unwrap();
                (q[..end].to_string(), &q[end + 1..])
            }
            None => {
                let end = tail.find(' ').unwrap_or(tail.len());
                (tail[..end].to_string(), &tail[end..])
            }
        };
        out.insert(name, value);
        rest = next.trim_start();
        if rest.starts_with('/') {
            break;
        }
    }
    out
}

#[test]
fn every_example_artifact_passes_its_independent_check() {
    let work = tempfile::tempdir().unwrap();
    let examples = copy_examples(work.path());
    agentpack(&examples, &["build"]);
    agentpack(
        &examples,
        &["build", "--wrap-vendor", "--out", "dist-wrapped"],
    );
    let dist = examples.join("dist");
    let mut failures = Vec::new();

    if let Some(sha) = common::program("example_conformance", "sha256sum") {
        for out in [&dist, &examples.join("dist-wrapped")] {
            check(
                &mut failures,
                "sha256sum -c",
                Command::new(&sha)
                    .args(["--quiet", "-c", "SHA256SUMS"])
                    .current_dir(out),
            );
        }
    }

    // Windows: each transform, applied by Wine, turns the MSI's Property table (as msiinfo
    // reads it) into exactly that table with the console line's properties set, plus the
    // token's property in MsiHiddenProperties; and it follows the native rules.
    if let (Some(verify), Some(_), Some(msiinfo)) = (
        common::shared_tool("example_conformance", "verify-mst"),
        common::program("example_conformance", "wine"),
        checks::msiinfo_tool("example_conformance"),
    ) {
        for mst in files(&dist, "mst") {
            let folder = mst.parent().unwrap();
            let msi = files(folder, "msi").remove(0);
            let out = check(
                &mut failures,
                &format!("verify-mst {}", mst.display()),
                Command::new(&verify)
                    .arg("--properties")
                    .arg(&msi)
                    .arg(&mst),
            );
            let applied: BTreeMap<String, String> = out
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let args = std::fs::read_to_string(folder.join("install-args.txt")).unwrap();
            let set = console_properties(&args);
            assert!(
                set.contains_key("CP_ARGS") && set.len() >= 3,
                "install-args.txt not understood: {set:?}"
            );
            let mut want = checks::msiinfo_properties(&msiinfo, &msi);
            let mut hidden: Vec<String> = want
                .get("MsiHiddenProperties")
                .map(|h| h.split(';').map(String::from).collect())
                .unwrap_or_default();
            if !hidden.iter().any(|h| h == "CP_ARGS") {
                hidden.push("CP_ARGS".into());
            }
            want.insert("MsiHiddenProperties".into(), hidden.join(";"));
            want.extend(set);
            if applied != want {
                let keys: std::collections::BTreeSet<&String> =
                    applied.keys().chain(want.keys()).collect();
                let differ: Vec<&&String> = keys
                    .iter()
                    .filter(|k| applied.get(**k) != want.get(**k))
                    .collect();
                failures.push(format!(
                    "{}: the transformed Property table differs from the base's plus install-args.txt in {differ:?}",
                    mst.display()
                ));
            }
            let wrong = checks::native_rule_violations(&msiinfo, &msi, &mst);
            if !wrong.is_empty() {
                failures.push(format!("{}: {}", mst.display(), wrong.join("; ")));
            }
        }
    }

    // Every PowerShell script, parsed.
    if let Some(checker) = checks::ps_checker("example_conformance") {
        for dir in [&dist, &examples.join("dist-wrapped")] {
            for p in files(dir, "ps1") {
                if let Some(err) = checks::ps_problems(&checker, &p) {
                    failures.push(format!("ps_parse {}:\n{err}", p.display()));
                }
            }
        }
    }

    // macOS: every package (config, wrapped, the vendor's) read by three independent readers.
    let wrapped = examples.join("dist-wrapped");
    let mut pkgs = files(&dist, "pkg");
    pkgs.extend(files(&wrapped, "pkg"));
    if let Some(pkgcheck) = common::shared_tool("example_conformance", "pkgcheck.py") {
        for p in &pkgs {
            check(
                &mut failures,
                &format!("pkgcheck {}", p.display()),
                Command::new("python3").arg(&pkgcheck).arg(p),
            );
        }
    }
    if let Some(bsdtar) = common::program("example_conformance", "bsdtar") {
        for p in &pkgs {
            check(
                &mut failures,
                &format!("bsdtar {}", p.display()),
                Command::new(&bsdtar).arg("-tvf").arg(p),
            );
        }
    }
    if let Some(sevenz) = common::program("example_conformance", "7zz") {
        for p in &pkgs {
            let out = check(
                &mut failures,
                &format!("7zz t {}", p.display()),
                Command::new(&sevenz).arg("t").arg(p),
            );
            // 7zz exits 0 on some damage it reports (a bad TOC checksum): read its verdict.
            if !out.contains("Everything is Ok") {
                failures.push(format!("7zz t {}: {out}", p.display()));
            }
        }
    }
    if let Some(validate) = common::shared_tool("example_conformance", "validate-profile.py") {
        for p in files(&dist, "mobileconfig") {
            let out = check(
                &mut failures,
                &format!("validate-profile {}", p.display()),
                Command::new("python3").arg(&validate).arg(&p),
            );
            if !out.lines().any(|l| l.trim() == "0 errors, 0 warnings") {
                failures.push(format!("validate-profile {}: {out}", p.display()));
            }
        }
    }
    if let Some(shellcheck) = common::program("example_conformance", "shellcheck") {
        for p in files(&dist, "sh") {
            check(
                &mut failures,
                &format!("shellcheck {}", p.display()),
                Command::new(&shellcheck).arg("--shell=sh").arg(&p),
            );
        }
    }
    if let Some(xmllint) = common::program("example_conformance", "xmllint") {
        for p in files(&dist, "xml") {
            check(
                &mut failures,
                &format!("xmllint {}", p.display()),
                Command::new(&xmllint).arg("--noout").arg(&p),
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The configuration profiles of every product era (the system-extension policy and the
/// Accessibility service appear only for some) against Apple's schemas.
#[test]
fn every_products_profiles_pass_apples_schemas() {
    let Some(validate) = common::shared_tool("every_products_profiles", "validate-profile.py")
    else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_agentpack"))
        .args(["--json", "products"])
        .output()
        .unwrap();
    let products: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<String> = products
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    assert!(ids.len() >= 4, "{ids:?}");
    let mut failures = Vec::new();
    let mut kinds = std::collections::BTreeSet::new();
    for id in &ids {
        let dir = work.path().join(id);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("p.yaml"),
            format!("name: org-{id}\nproduct: {id}\norganization: Org \"{id}\" & Co\ndeployment_url: https://console.example.com:4285\ntoken: 0fb12341-246b-448d-b07f-c6573ad5ad02\nregistration: silent\n"),
        )
        .unwrap();
        agentpack(&dir, &["build", "--policy", "p.yaml"]);
        let Ok(found) = std::panic::catch_unwind(|| files(&dir.join("dist"), "mobileconfig"))
        else {
            continue; // an era without macOS facts has no profiles
        };
        for p in found {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            kinds.insert(name.trim_start_matches(&format!("org-{id}-")).to_string());
            let (ok, text, err) = common::run(Command::new("python3").arg(&validate).arg(&p));
            if !ok || !text.lines().any(|l| l.trim() == "0 errors, 0 warnings") {
                failures.push(format!("{id}: {name}:\n{text}{err}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        kinds.contains("system-extension.mobileconfig"),
        "no product era has a system-extension profile: {kinds:?}"
    );
}
