//! Faults around the output folder: concurrent builds into one OUT (one wins, the other reports,
//! never a mix), a full disk (RLIMIT_FSIZE, and a small tmpfs when running as root with
//! `mount`), and an unwritable OUT: a clear error, the previous OUT intact, no staging debris.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TOKEN: &str = "0fb12341-246b-448d-b07f-c6573ad5ad02";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_agentpack")
}

fn write_policy(dir: &Path, name: &str, org: &str) -> PathBuf {
    let p = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &p,
        format!("name: {name}\nproduct: crashplan\norganization: {org}\ndeployment_url: https://backup.example.com:4285\ntoken: {TOKEN}\nregistration: silent\n"),
    )
    .unwrap();
    p
}

fn build_cmd(policies: &[PathBuf], out: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.arg("build")
        .arg("--out")
        .arg(out)
        .args(extra)
        .env_remove("SOURCE_DATE_EPOCH");
    for p in policies {
        c.arg("--policy").arg(p);
    }
    c
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Every file below `dir` with mode and bytes, sorted.
fn snapshot(dir: &Path) -> Vec<(String, u32, Vec<u8>)> {
    let mut v: Vec<_> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let mode = e.metadata().unwrap().permissions().mode();
            (
                e.path().strip_prefix(dir).unwrap().display().to_string(),
                mode,
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Names in `dir` other than `keep` (staging or old-output folders left behind).
fn debris(dir: &Path, keep: &[&str]) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !keep.contains(&n.as_str()))
        .collect()
}

fn verify(out: &Path) -> Output {
    Command::new(bin()).arg("verify").arg(out).output().unwrap()
}

/// A build started with `AGENTPACK_TEST_PAUSE=<point>:<file>` (a debug-build test hook): it
/// creates `<file>` at `<point>` and waits there until the file is removed.
struct Paused {
    child: std::process::Child,
    file: PathBuf,
}

impl Paused {
    fn start(mut cmd: Command, point: &str, file: &Path) -> Paused {
        let _ = std::fs::remove_file(file);
        cmd.env(
            "AGENTPACK_TEST_PAUSE",
            format!("{point}:{}", file.display()),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let start = std::time::Instant::now();
        while !file.exists() {
            if let Some(st) = child.try_wait().unwrap() {
                let o = child.wait_with_output().unwrap();
                panic!(
                    "the build ended ({st}) before pausing at {point} (the hook needs a debug build): {}",
                    text(&o)
                );
            }
            assert!(
                start.elapsed() < std::time::Duration::from_secs(60),
                "the build did not reach {point}"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        Paused {
            child,
            file: file.to_path_buf(),
        }
    }

    fn resume(self) -> Output {
        std::fs::remove_file(&self.file).unwrap();
        self.child.wait_with_output().unwrap()
    }

    fn signal(self, sig: &str) -> Output {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig}");
        let o = self.child.wait_with_output().unwrap();
        let _ = std::fs::remove_file(&self.file);
        o
    }
}

/// `.dist.staging-*` folders beside `out`.
fn staging_folders(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".dist.staging-")
        })
        .collect()
}

/// Files below `dir`, outside `skip` folders, that hold the token.
fn token_files(dir: &Path, skip: &[&str]) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_entry(|e| {
            e.depth() != 1 || !skip.contains(&e.file_name().to_string_lossy().as_ref())
        })
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .filter(|e| {
            std::fs::read(e.path())
                .unwrap()
                .windows(TOKEN.len())
                .any(|w| w == TOKEN.as_bytes())
        })
        .map(|e| e.into_path())
        .collect()
}

/// Two builds into one OUT: while the first holds it (paused with every policy written), the
/// second is refused with a message saying why and leaves nothing; the first then commits a
/// whole build of its own policies.
#[test]
fn concurrent_builds_never_mix() {
    let dir = tempfile::tempdir().unwrap();
    let pol = dir.path().join("policies");
    std::fs::create_dir(&pol).unwrap();
    let msi = common::fixture("msi/vendor.msi");
    let sets: Vec<Vec<PathBuf>> = ["a", "b"]
        .iter()
        .map(|set| {
            (0..10)
                .map(|i| write_policy(&pol, &format!("{set}-{i:02}"), &format!("Org {set}")))
                .collect()
        })
        .collect();
    let out = dir.path().join("dist");
    let extra = ["--copy-installers", "--msi", msi.to_str().unwrap()];
    let pause = dir.path().join("paused");
    let first = Paused::start(build_cmd(&sets[0], &out, &extra), "staged", &pause);
    let second = build_cmd(&sets[1], &out, &extra).output().unwrap();
    assert_eq!(second.status.code(), Some(2), "{}", text(&second));
    assert!(
        text(&second).contains("another agentpack build is writing into this folder"),
        "{}",
        text(&second)
    );
    assert!(
        text(&second).contains("hint: wait for it to finish"),
        "{}",
        text(&second)
    );
    assert!(!out.exists(), "the refused build created OUT");
    let first = first.resume();
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let v = verify(&out);
    assert!(v.status.success(), "OUT does not verify: {}", text(&v));
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains('-'))
        .collect();
    assert_eq!(names.len(), 10, "{names:?}");
    assert!(
        names.iter().all(|n| n.starts_with("a-")),
        "OUT mixes builds: {names:?}"
    );
    assert_eq!(
        debris(dir.path(), &["dist", "policies"]),
        Vec::<String>::new()
    );

    // Racing for real: whichever wins, OUT is one whole build and nothing is left beside it.
    for round in 0..2 {
        let children: Vec<_> = sets
            .iter()
            .map(|s| {
                let mut c = build_cmd(s, &out, &extra);
                c.stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let o = c.wait_with_output().unwrap();
            match o.status.code() {
                Some(0) => {}
                Some(2) => assert!(
                    text(&o).contains("another agentpack build"),
                    "round {round}: {}",
                    text(&o)
                ),
                other => panic!("round {round}: exit {other:?}: {}", text(&o)),
            }
        }
        assert!(verify(&out).status.success(), "round {round}");
        let sets_seen: std::collections::BTreeSet<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains('-'))
            .map(|n| n[..1].to_string())
            .collect();
        assert_eq!(sets_seen.len(), 1, "round {round}: OUT mixes builds");
        assert_eq!(
            debris(dir.path(), &["dist", "policies"]),
            Vec::<String>::new(),
            "round {round}"
        );
    }
}

/// SIGTERM, SIGINT or SIGHUP during a build: it removes its staging folder (full of files
/// holding the token) and its lock file, exits 128 + the signal, and OUT is as it was.
#[test]
fn a_signal_removes_the_unfinished_build() {
    let dir = tempfile::tempdir().unwrap();
    let pol = dir.path().join("policies");
    std::fs::create_dir(&pol).unwrap();
    let policies: Vec<PathBuf> = (0..20)
        .map(|i| write_policy(&pol, &format!("org-{i:02}"), "Org"))
        .collect();
    let out = dir.path().join("dist");
    let o = build_cmd(&policies[..1], &out, &[]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let before = snapshot(&out);
    let pause = dir.path().join("paused");
    for (sig, code) in [("TERM", 143), ("INT", 130), ("HUP", 129)] {
        let paused = Paused::start(build_cmd(&policies, &out, &[]), "staged", &pause);
        // Paused with every policy written: the staging folder holds the token, 20 times.
        let staging = staging_folders(dir.path());
        assert_eq!(staging.len(), 1, "{sig}: {staging:?}");
        let secrets = token_files(&staging[0], &[]);
        assert!(
            (0..20).all(|i| secrets
                .iter()
                .any(|f| f.ends_with(format!("org-{i:02}/macos/deploy.properties")))),
            "{sig}: {secrets:?}"
        );
        let o = paused.signal(sig);
        assert_eq!(o.status.code(), Some(code), "{sig}: {}", text(&o));
        assert!(
            text(&o).contains(&format!("error: interrupted by SIG{sig}")),
            "{sig}: {}",
            text(&o)
        );
        assert!(!text(&o).contains(TOKEN), "{sig}: {}", text(&o));
        assert_eq!(
            debris(dir.path(), &["dist", "policies"]),
            Vec::<String>::new(),
            "{sig}: left beside OUT"
        );
        assert_eq!(
            token_files(dir.path(), &["dist", "policies"]),
            Vec::<PathBuf>::new()
        );
        assert_eq!(snapshot(&out), before, "{sig}: OUT changed");
    }
}

/// The same while the build is writing (no pause): the handler waits for the writes in flight
/// and no write lands after it removed the staging folder.
#[test]
fn a_signal_while_writing_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let pol = dir.path().join("policies");
    std::fs::create_dir(&pol).unwrap();
    let policies: Vec<PathBuf> = (0..300)
        .map(|i| write_policy(&pol, &format!("org-{i:03}"), "Org"))
        .collect();
    let msi = common::fixture("msi/vendor.msi");
    let out = dir.path().join("dist");
    let mut child = build_cmd(
        &policies,
        &out,
        &["--copy-installers", "--msi", msi.to_str().unwrap()],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    // Wait until some policies are written, then stop it.
    let start = std::time::Instant::now();
    loop {
        let written = staging_folders(dir.path())
            .first()
            .map_or(0, |s| std::fs::read_dir(s).map_or(0, |d| d.count()));
        if written >= 5 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the build ended before it was stopped"
        );
        assert!(start.elapsed() < std::time::Duration::from_secs(60));
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let ok = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(143), "{}", text(&o));
    // Nothing appears later either (a write racing the cleanup would recreate the folder).
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(
        debris(dir.path(), &["policies"]),
        Vec::<String>::new(),
        "left beside OUT"
    );
}

/// A build killed outright (SIGKILL: no cleanup possible) between moving OUT aside and moving
/// the new output in leaves OUT missing, the previous output in `.dist.old-*` and the new one
/// in `.dist.staging-*`. The next build into OUT puts the previous output back and removes the
/// rest, even when that build fails; a build killed while writing leaves a staging folder that
/// the next build removes.
#[test]
fn the_next_build_sweeps_up_after_a_killed_build() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = write_policy(d, "acme-prod", "Acme");
    let q = write_policy(d, "acme-test", "Acme");
    let out = d.join("dist");
    let o = build_cmd(std::slice::from_ref(&p), &out, &[])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let before = snapshot(&out);
    let pause = d.join("paused");
    let keep = ["dist", "acme-prod.yaml", "acme-test.yaml"];

    let paused = Paused::start(
        build_cmd(&[p.clone(), q.clone()], &out, &[]),
        "commit",
        &pause,
    );
    let o = paused.signal("KILL");
    assert_eq!(o.status.code(), None, "killed");
    assert!(!out.exists(), "the kill came after OUT was moved aside");
    let mut left = debris(d, &keep);
    left.sort();
    assert_eq!(left.len(), 3, "{left:?}");
    assert!(left[0].starts_with(".dist.lock"), "{left:?}");
    assert!(left[1].starts_with(".dist.old-"), "{left:?}");
    assert!(left[2].starts_with(".dist.staging-"), "{left:?}");

    // The next build fails after taking OUT's lock: the previous output is back, nothing else.
    let o = build_cmd(&[p.clone(), q.clone()], &out, &[])
        .env(
            "AGENTPACK_TEST_FAIL_WRITE",
            "acme-test/macos/deploy.properties",
        )
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("Permission denied"), "{}", text(&o));
    assert_eq!(snapshot(&out), before, "OUT is not the previous output");
    assert_eq!(debris(d, &keep), Vec::<String>::new());
    assert!(verify(&out).status.success());

    // Killed while writing: the staging folder (tokens included) is removed by the next build.
    let paused = Paused::start(
        build_cmd(&[p.clone(), q.clone()], &out, &[]),
        "staged",
        &pause,
    );
    paused.signal("KILL");
    assert_eq!(staging_folders(d).len(), 1);
    let o = build_cmd(&[p, q], &out, &[]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("note: removed .dist.staging-")
            && text(&o).contains("by an interrupted build"),
        "{}",
        text(&o)
    );
    assert_eq!(debris(d, &keep), Vec::<String>::new());
    assert_eq!(
        token_files(d, &["dist", "acme-prod.yaml", "acme-test.yaml"]),
        Vec::<PathBuf>::new()
    );
    assert!(verify(&out).status.success());
    assert!(out.join("acme-test").is_dir());
}

/// A bug (a panic, here in a worker writing policies, through a debug-build test hook) is
/// reported once and briefly, tokens masked and control characters escaped; the build exits 1
/// (with a JSON error under --json), and what it had written is removed as for any failure.
#[test]
fn a_bug_is_reported_briefly_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let policies: Vec<PathBuf> = (0..4)
        .map(|i| write_policy(d, &format!("p{i}"), "Org"))
        .collect();
    let out = d.join("dist");
    let o = build_cmd(&policies[..1], &out, &[]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let before = snapshot(&out);
    let o = build_cmd(&policies, &out, &["--json"])
        .env(
            "AGENTPACK_TEST_PANIC",
            format!("policy:boom {TOKEN} \u{1b}[2J"),
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr
            .matches("error: internal error, please report: agentpack panicked at src/")
            .count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("boom <redacted> \\u{1b}[2J"), "{stderr}");
    assert!(
        stderr.contains("hint: this is a bug in agentpack"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(TOKEN) && !stderr.contains('\u{1b}'),
        "{stderr:?}"
    );
    assert!(
        !stderr.contains("thread '"),
        "the default panic message: {stderr}"
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (v["ok"].as_bool(), v["kind"].as_str()),
        (Some(false), Some("internal"))
    );
    assert_eq!(snapshot(&out), before, "OUT changed");
    assert_eq!(
        debris(d, &["dist", "p0.yaml", "p1.yaml", "p2.yaml", "p3.yaml"]),
        Vec::<String>::new()
    );
}

/// With --keep-going, a policy that fails while its files are being written leaves none of
/// them: OUT holds the other policies, whole, and verifies.
#[test]
fn keep_going_drops_a_policy_that_failed_while_writing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let policies: Vec<PathBuf> = ["a", "b", "c"]
        .iter()
        .map(|n| write_policy(d, n, "Org"))
        .collect();
    let out = d.join("dist");
    // The Windows files of `b` are written before its deploy.properties fails.
    let o = build_cmd(&policies, &out, &["--keep-going"])
        .env("AGENTPACK_TEST_FAIL_WRITE", "b/macos/deploy.properties")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("b/macos/deploy.properties") && text(&o).contains("Permission denied"),
        "{}",
        text(&o)
    );
    assert!(out.join("a").is_dir() && out.join("c").is_dir());
    assert!(
        !out.join("b").exists(),
        "the failed policy's folder was committed"
    );
    let v = verify(&out);
    assert!(v.status.success(), "{}", text(&v));
    let m = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(!m.contains("\"b/"), "{m}");
}

/// Run agentpack with its largest file size limited to `blocks` × 512 bytes and SIGXFSZ
/// ignored, so that a write past the limit fails with EFBIG instead of killing the process.
fn build_with_fsize(blocks: u32, policies: &[PathBuf], out: &Path, extra: &[&str]) -> Output {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f {blocks} && exec \"$0\" \"$@\""
        ))
        .arg(bin());
    c.arg("build")
        .arg("--out")
        .arg(out)
        .args(extra)
        .env_remove("SOURCE_DATE_EPOCH");
    for p in policies {
        c.arg("--policy").arg(p);
    }
    c.output().unwrap()
}

fn assert_clean_failure(o: &Output, what: &str, reasons: &[&str]) {
    let t = text(o);
    assert!(
        matches!(o.status.code(), Some(1) | Some(2)),
        "{what}: exit {:?}: {t}",
        o.status.code()
    );
    assert!(!t.contains("panicked"), "{what}: {t}");
    assert!(
        reasons.iter().any(|r| t.contains(r)),
        "{what}: the message does not say why ({reasons:?}): {t}"
    );
    assert!(t.contains("error: "), "{what}: {t}");
}

#[test]
fn a_write_failure_leaves_the_previous_out() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_policy(dir.path(), "acme-prod", "Acme");
    let out = dir.path().join("dist");
    assert!(build_cmd(std::slice::from_ref(&p), &out, &[])
        .status()
        .unwrap()
        .success());
    let before = snapshot(&out);
    // The MSI copy (9.7 KB) and the transform exceed 4 KiB.
    let msi = common::fixture("msi/vendor.msi");
    let o = build_with_fsize(
        8,
        &[p],
        &out,
        &["--copy-installers", "--msi", msi.to_str().unwrap()],
    );
    assert_clean_failure(&o, "RLIMIT_FSIZE", &["File too large", "too large"]);
    assert_eq!(snapshot(&out), before, "the previous OUT changed");
    assert_eq!(
        debris(dir.path(), &["dist", "acme-prod.yaml"]),
        Vec::<String>::new(),
        "staging debris"
    );
}

struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// A tmpfs of `size` at `dir`, when running as root where `mount` works; else None.
fn tmpfs(dir: &Path, size: &str) -> Option<Mount> {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .is_some_and(|o| o.stdout.starts_with(b"0\n"));
    if !root {
        return None;
    }
    std::fs::create_dir_all(dir).unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success());
    ok.then(|| Mount(dir.to_path_buf()))
}

#[test]
fn a_full_disk_leaves_the_previous_out() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("small");
    let Some(_mount) = tmpfs(&mnt, "256k") else {
        eprintln!("NOTICE: skipping a_full_disk_leaves_the_previous_out: not root or mount unavailable (RLIMIT_FSIZE covers write failures)");
        return;
    };
    let pol = dir.path().join("policies");
    std::fs::create_dir(&pol).unwrap();
    let first = write_policy(&pol, "acme-prod", "Acme");
    let out = mnt.join("dist");
    let o = build_cmd(std::slice::from_ref(&first), &out, &[])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let before = snapshot(&out);
    // 40 policies, each with a copy of the MSI: far more than 256 KiB.
    let many: Vec<PathBuf> = (0..40)
        .map(|i| write_policy(&pol, &format!("p-{i:02}"), "Org"))
        .collect();
    let msi = common::fixture("msi/vendor.msi");
    let o = build_cmd(
        &many,
        &out,
        &["--copy-installers", "--msi", msi.to_str().unwrap()],
    )
    .output()
    .unwrap();
    assert_clean_failure(&o, "full tmpfs", &["No space left on device"]);
    assert_eq!(snapshot(&out), before, "the previous OUT changed");
    assert_eq!(
        debris(&mnt, &["dist"]),
        Vec::<String>::new(),
        "staging debris on the full disk"
    );
    assert!(verify(&out).status.success());
}

#[test]
fn an_unwritable_out_leaves_the_previous_out() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_policy(dir.path(), "acme-prod", "Acme");
    let parent = dir.path().join("ro");
    std::fs::create_dir(&parent).unwrap();
    let out = parent.join("dist");
    // Root ignores permission bits: make the folder read-only with a read-only tmpfs instead.
    let mount = tmpfs(&parent, "1m");
    assert!(build_cmd(std::slice::from_ref(&p), &out, &[])
        .status()
        .unwrap()
        .success());
    let before = snapshot(&out);
    match &mount {
        Some(m) => {
            let ok = Command::new("mount")
                .args(["-o", "remount,ro"])
                .arg(&m.0)
                .status()
                .unwrap()
                .success();
            assert!(ok, "remount read-only");
        }
        None => std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o555)).unwrap(),
    }
    let o = build_cmd(std::slice::from_ref(&p), &out, &[])
        .output()
        .unwrap();
    if mount.is_none() {
        std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    assert_clean_failure(
        &o,
        "read-only OUT",
        &["Read-only file system", "Permission denied", "permission"],
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(&*parent.to_string_lossy()),
        "the message names the folder: {}",
        text(&o)
    );
    assert_eq!(snapshot(&out), before, "the previous OUT changed");
    assert_eq!(
        debris(&parent, &["dist"]),
        Vec::<String>::new(),
        "staging debris"
    );
}

#[test]
fn out_that_is_a_file_or_foreign_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_policy(dir.path(), "acme-prod", "Acme");
    let file = dir.path().join("out.txt");
    std::fs::write(&file, "mine").unwrap();
    let o = build_cmd(std::slice::from_ref(&p), &file, &[])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
    // A symlink named OUT pointing at a foreign folder is not followed into.
    let foreign = dir.path().join("home");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("thesis.tex"), "precious").unwrap();
    let link = dir.path().join("dist");
    std::os::unix::fs::symlink(&foreign, &link).unwrap();
    let o = build_cmd(std::slice::from_ref(&p), &link, &[])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(foreign.join("thesis.tex")).unwrap(),
        "precious"
    );
    assert_eq!(std::fs::read_dir(&foreign).unwrap().count(), 1);
}

/// A folder that merely holds a `manifest.json` of some other program, an agentpack output
/// with files added by hand, an OUT holding the build's own inputs, and the working folder
/// itself are all refused (exit 2), and every file in them is kept.
#[test]
fn outputs_that_hold_other_files_or_the_inputs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = write_policy(d, "acme-prod", "Acme");

    let web = d.join("web");
    std::fs::create_dir(&web).unwrap();
    std::fs::write(web.join("manifest.json"), r#"{"name": "my pwa"}"#).unwrap();
    std::fs::write(web.join("index.html"), "precious").unwrap();
    let o = build_cmd(std::slice::from_ref(&p), &web, &[])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("not an agentpack manifest"),
        "{}",
        text(&o)
    );
    assert_eq!(
        std::fs::read_to_string(web.join("index.html")).unwrap(),
        "precious"
    );

    // An agentpack output with a file added by hand: named, kept.
    let out = d.join("dist");
    assert!(build_cmd(std::slice::from_ref(&p), &out, &[])
        .status()
        .unwrap()
        .success());
    std::fs::write(out.join("acme-prod/NOTES.txt"), "mine").unwrap();
    let o = build_cmd(std::slice::from_ref(&p), &out, &[])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("acme-prod/NOTES.txt"), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(out.join("acme-prod/NOTES.txt")).unwrap(),
        "mine"
    );
    std::fs::remove_file(out.join("acme-prod/NOTES.txt")).unwrap();

    // The policy (or its token file) inside OUT.
    let inside = out.join("acme-prod/inside.yaml");
    std::fs::copy(&p, &inside).unwrap();
    let o = build_cmd(std::slice::from_ref(&inside), &out, &[])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("holds an input"), "{}", text(&o));
    assert!(inside.exists());
    std::fs::remove_file(&inside).unwrap();
    let tok = out.join("acme-prod/t.token");
    std::fs::write(&tok, "0fb12341-246b-448d-b07f-c6573ad5ad02\n").unwrap();
    let tp = d.join("tokfile.yaml");
    std::fs::write(
        &tp,
        std::fs::read_to_string(&p).unwrap().replace(
            "token: 0fb12341-246b-448d-b07f-c6573ad5ad02",
            "token_file: dist/acme-prod/t.token",
        ),
    )
    .unwrap();
    let o = build_cmd(std::slice::from_ref(&tp), &out, &[])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(tok.exists());

    // The working folder, or a parent of it.
    for here in [".", ".."] {
        let o = build_cmd(std::slice::from_ref(&p), Path::new(here), &[])
            .current_dir(&out)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "--out {here}: {}", text(&o));
        assert!(text(&o).contains("working folder"), "{}", text(&o));
    }
    assert_eq!(
        debris(d, &["dist", "web", "acme-prod.yaml", "tokfile.yaml"]),
        Vec::<String>::new()
    );
}

/// Builds into sibling folders (one per organisation group, as CI jobs do) run at the same
/// time without refusing each other; the lock files are gone afterwards.
#[test]
fn builds_into_sibling_folders_run_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pol = d.join("policies");
    std::fs::create_dir(&pol).unwrap();
    let policies: Vec<PathBuf> = (0..30)
        .map(|i| write_policy(&pol, &format!("org-{i:02}"), "Org"))
        .collect();
    for round in 0..3 {
        let children: Vec<_> = ["out-a", "out-b", "out-c"]
            .iter()
            .map(|o| {
                build_cmd(&policies, &d.join(o), &[])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let o = c.wait_with_output().unwrap();
            assert_eq!(o.status.code(), Some(0), "round {round}: {}", text(&o));
        }
    }
    assert_eq!(
        debris(d, &["out-a", "out-b", "out-c", "policies"]),
        Vec::<String>::new()
    );
}

/// `verify` never opens what is not a regular file where an output should be: a FIFO or a
/// link (to /dev/zero, or out of OUT) counts as changed, at once.
#[test]
fn verify_reports_links_and_pipes_without_opening_them() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_policy(dir.path(), "acme-prod", "Acme");
    let out = dir.path().join("dist");
    assert!(build_cmd(std::slice::from_ref(&p), &out, &[])
        .status()
        .unwrap()
        .success());
    let args = out.join("acme-prod/windows/install-args.txt");
    std::fs::remove_file(&args).unwrap();
    let st = Command::new("mkfifo").arg(&args).status().unwrap();
    assert!(st.success());
    let props = out.join("acme-prod/macos/deploy.properties");
    std::fs::remove_file(&props).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &props).unwrap();
    let mut child = Command::new(bin())
        .arg("verify")
        .arg(&out)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(20) {
            child.kill().unwrap();
            panic!("verify hung on a FIFO or /dev/zero");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("install-args.txt") && t.contains("deploy.properties"),
        "{t}"
    );
}

/// Paths that cannot work are the user's to fix (exit 2, with a hint), not internal errors.
#[test]
fn impossible_paths_are_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = write_policy(d, "acme-prod", "Acme");
    let file = d.join("afile");
    std::fs::write(&file, "x").unwrap();
    let cases: Vec<Vec<std::ffi::OsString>> = vec![
        vec![
            "build".into(),
            "--policy".into(),
            p.clone().into(),
            "--out".into(),
            file.join("sub").into(),
        ],
        vec![
            "build".into(),
            "--policy".into(),
            file.join("x.yaml").into(),
            "--out".into(),
            d.join("o1").into(),
        ],
        vec![
            "build".into(),
            "--policy".into(),
            p.clone().into(),
            "--msi".into(),
            file.join("x.msi").into(),
            "--out".into(),
            d.join("o2").into(),
        ],
        vec!["verify".into(), file.clone().into()],
        vec![
            "build".into(),
            "--policy".into(),
            p.clone().into(),
            "--out".into(),
            d.join("n".repeat(300)).into(),
        ],
    ];
    for args in cases {
        let o = Command::new(bin())
            .args(&args)
            .current_dir(d)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(text(&o).contains("hint:"), "{args:?}: {}", text(&o));
    }
    assert_eq!(
        debris(d, &["acme-prod.yaml", "afile"]),
        Vec::<String>::new()
    );
}
