//! The deployment token never leaks: every command (succeeding and failing, plain and `--json`)
//! is run with a known token, and the token must appear in no stdout, stderr, error message,
//! manifest.json or SHA256SUMS. Every output file that holds it (also inside a package's
//! compressed members) must be marked `secret` in the manifest and be mode 0600, and every file
//! the manifest marks secret must be 0600.

mod common;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A token used nowhere else, so a match is a leak and not a coincidence.
const TOKEN: &str = "5ec7e7a1-0b5e-4c2d-9e11-7a6b5c4d3e2f";

fn policy(name: &str, token_line: &str) -> String {
    format!(
        "name: {name}\nproduct: crashplan\norganization: Secret Corp\ndeployment_url: https://backup.example.com:4285\n{token_line}\nssl_whitelist: 7746278a457e64737094c44eebe2a59e25d1a4f1\nproxy_url: http://proxy.example.com:8080/proxy.pac\nregistration: silent\n"
    )
}

struct Ran {
    what: String,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(dir: &Path, what: &str, args: &[&str]) -> Ran {
    let o = Command::new(env!("CARGO_BIN_EXE_agentpack"))
        .args(args)
        .current_dir(dir)
        .env("AGENTPACK_SECRET_TOKEN", TOKEN)
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .unwrap();
    Ran {
        what: format!("{what}: agentpack {}", args.join(" ")),
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Whether `bytes` hold the token as text: UTF-8/ASCII or UTF-16 (MSI streams, Windows text).
fn holds_token(bytes: &[u8]) -> bool {
    let utf16: Vec<u8> = TOKEN.encode_utf16().flat_map(u16::to_le_bytes).collect();
    contains(bytes, TOKEN.as_bytes())
        || contains(bytes, &utf16)
        || contains(bytes, TOKEN.to_uppercase().as_bytes())
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn gunzip(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(256 << 20)
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}

/// The file's bytes, plus (for a xar package) every member decoded, plus gzip'd members
/// (the Scripts and Payload archives) unpacked: where a token could hide from a plain search.
fn searchable(path: &Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(path).unwrap();
    let mut all = vec![];
    if bytes.starts_with(b"xar!") {
        if let Ok(mut r) = agentpack::formats::xar::XarReader::open(path) {
            let files: Vec<String> = r
                .entries()
                .iter()
                .filter(|e| e.kind == agentpack::formats::xar::EntryKind::File)
                .map(|e| e.path.clone())
                .collect();
            for f in files {
                if let Ok(m) = r.read_member(&f, 256 << 20) {
                    if let Some(g) = gunzip(&m) {
                        all.push(g);
                    }
                    all.push(m);
                }
            }
        }
    }
    all.push(bytes);
    all
}

fn files_below(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Check one build output: the manifest and sums hold no token, token holders are secret and
/// 0600, secret files are 0600. Returns the problems found.
fn check_out(out: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let manifest_bytes = std::fs::read(out.join("manifest.json")).unwrap();
    for name in ["manifest.json", "SHA256SUMS"] {
        if holds_token(&std::fs::read(out.join(name)).unwrap()) {
            problems.push(format!("{}: {name} holds the token", out.display()));
        }
    }
    let m: serde_json::Value = serde_json::from_slice(&manifest_bytes).unwrap();
    let mut secret_paths = Vec::new();
    let mut holders = Vec::new();
    for o in m["outputs"].as_array().unwrap() {
        let rel = o["path"].as_str().unwrap();
        let p = out.join(rel);
        let secret = o["secret"] == true;
        if secret {
            secret_paths.push(p.clone());
            if mode(&p) & 0o077 != 0 {
                problems.push(format!("{rel} is marked secret but is mode {:o}", mode(&p)));
            }
        }
        let holds = searchable(&p).iter().any(|b| holds_token(b));
        if holds {
            holders.push(rel.to_string());
        }
        if holds && !secret {
            problems.push(format!("{rel} holds the token but is not marked secret"));
        }
        if holds && mode(&p) & 0o077 != 0 {
            problems.push(format!("{rel} holds the token but is mode {:o}", mode(&p)));
        }
    }
    // The search itself works: the token is found where it must be (also compressed in a pkg).
    let paths: Vec<&str> = m["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["path"].as_str().unwrap())
        .collect();
    for must in ["/windows/install-args.txt", "-config.pkg", ".mst"] {
        if paths.iter().any(|p| p.ends_with(must)) && !holders.iter().any(|h| h.ends_with(must)) {
            problems.push(format!(
                "{}: no *{must} holds the token: the search is broken ({holders:?})",
                out.display()
            ));
        }
    }
    for f in files_below(out) {
        let rel = f.strip_prefix(out).unwrap().to_string_lossy().into_owned();
        let listed = m["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["path"] == rel.as_str());
        if !listed
            && !["manifest.json", "SHA256SUMS"].contains(&rel.as_str())
            && searchable(&f).iter().any(|b| holds_token(b))
        {
            problems.push(format!("{rel} holds the token and is not in the manifest"));
        }
    }
    problems
}

#[test]
fn the_token_leaks_nowhere() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let msi = common::fixture("msi/vendor.msi");
    let pkg = common::fixture("pkg/vendor-crashplan-dist.pkg");
    let (msi, pkg) = (msi.to_str().unwrap(), pkg.to_str().unwrap());
    std::fs::write(
        d.join("inline.yaml"),
        policy("inline", &format!("token: {TOKEN}")),
    )
    .unwrap();
    std::fs::write(
        d.join("env.yaml"),
        policy("env", "token_env: AGENTPACK_SECRET_TOKEN"),
    )
    .unwrap();
    std::fs::write(d.join("t.token"), format!("{TOKEN}\n")).unwrap();
    std::fs::write(d.join("file.yaml"), policy("file", "token_file: t.token")).unwrap();
    // Failing policies that hold the token next to mistakes.
    std::fs::write(
        d.join("bad.yaml"),
        policy("BAD", &format!("token: {TOKEN}\ncolour: {TOKEN}"))
            .replace("https://backup", "http://backup"),
    )
    .unwrap();
    std::fs::write(
        d.join("badtoken.yaml"),
        policy("badtoken", &format!("token: {TOKEN}x")),
    )
    .unwrap();
    std::fs::write(
        d.join("badjson.json"),
        format!("{{\"name\": \"j\", \"token\": \"{TOKEN}\", \"cloaked\": \"{TOKEN}\""),
    )
    .unwrap();
    // The token under the wrong key, or behind a YAML tag: the messages must not echo it.
    for (file, line) in [
        ("wrongenv.yaml", format!("token_env: {TOKEN}")),
        ("wrongfile.yaml", format!("token_file: {TOKEN}")),
        ("tagfloat.yaml", format!("token: !!float {TOKEN}")),
        ("tagbool.yaml", format!("token: !!bool {TOKEN}")),
        ("tagint.yaml", format!("token: !!int {TOKEN}")),
        ("intoport.yaml", format!("token: {TOKEN}\ncloaked: {TOKEN}")),
    ] {
        std::fs::write(d.join(file), policy("wrong", &line)).unwrap();
    }
    // The token in braces, next to hex digits or without its dashes, where a name, a path, a
    // choice or a key belongs: every message that quotes the value must still mask it.
    let bare = TOKEN.replace('-', "");
    for (file, line) in [
        ("bracedenv.yaml", format!("token_env: \"{{{TOKEN}}}\"")),
        ("bracedfile.yaml", format!("token_file: \"{{{TOKEN}}}\"")),
        ("hexfile.yaml", format!("token_file: \"ab{TOKEN}\"")),
        (
            "bracedscope.yaml",
            format!("token: {TOKEN}\nscope: \"{{{TOKEN}}}\""),
        ),
        (
            "hexscope.yaml",
            format!("token: {TOKEN}\nscope: \"cafe{TOKEN}\""),
        ),
        (
            "barescope.yaml",
            format!("token: {TOKEN}\nscope: \"{bare}\""),
        ),
        (
            "bracedkey.yaml",
            format!("token: {TOKEN}\n\"{{{TOKEN}}}\": 1"),
        ),
        (
            "barekey.yaml",
            format!("token: {TOKEN}\n{}: 1", bare.to_uppercase()),
        ),
        (
            "duptoken.yaml",
            format!("token: {TOKEN}\ntoken: \"{{{TOKEN}}}\"\nscope: {bare}"),
        ),
        (
            "envscope.yaml",
            format!("token_env: AGENTPACK_SECRET_TOKEN\nscope: \"x{bare}\""),
        ),
    ] {
        std::fs::write(d.join(file), policy("braced", &line)).unwrap();
    }
    // Copied into a value that reaches files not marked secret: refused, not echoed.
    std::fs::write(
        d.join("orgtoken.yaml"),
        policy("orgtoken", &format!("token: {TOKEN}"))
            .replace("Secret Corp", &format!("\"Acme {{{TOKEN}}}\"")),
    )
    .unwrap();
    std::fs::write(d.join("tokendoc.json"), format!("\"{{{TOKEN}}}\"")).unwrap();
    std::fs::write(d.join("tokenlist.json"), format!("[\"{bare}\"]")).unwrap();
    std::fs::write(
        d.join("portoken.yaml"),
        policy("portoken", &format!("token: {TOKEN}")).replace(":4285", &format!(":{TOKEN}")),
    )
    .unwrap();
    let args = format!(
        "msiexec /i CrashPlan.msi CP_ARGS=\"DEPLOYMENT_URL=https://backup.example.com:4285&DEPLOYMENT_POLICY_TOKEN={TOKEN}&SSL_WHITELIST=7746278a457e64737094c44eebe2a59e25d1a4f1\" CP_SILENT=true DEVICE_CLOAKED=false /qn"
    );
    let bad_args = args.replace("https://backup", "http://backup");
    let bad_args2 = format!("{args} FOO={TOKEN}");
    // Console strings with the token where something else belongs.
    let misplaced_args = [
        args.replace("CP_SILENT=true", &format!("CP_SILENT={TOKEN}")),
        args.replace(
            "backup.example.com:4285",
            &format!("backup.example.com:{TOKEN}"),
        ),
        format!("{args} {TOKEN}"),
        format!("{args} {}", &TOKEN[..30]),
        format!("{args} {TOKEN}=x"),
        args.replace("&SSL_WHITELIST", &format!("&{TOKEN}&SSL_WHITELIST")),
        args.replace("DEPLOYMENT_URL=", &format!("{TOKEN}=")),
    ];
    std::fs::write(d.join("deploy.properties"), format!("DEPLOYMENT_URL=https://backup.example.com\nDEPLOYMENT_POLICY_TOKEN={TOKEN}\nCP_SILENT=true\n")).unwrap();
    std::fs::write(d.join("bad.properties"), format!("DEPLOYMENT_URL=https://backup.example.com\nDEPLOYMENT_POLICY_TOKEN={TOKEN}\nNOPE={TOKEN}\n")).unwrap();

    let policies = [
        "--policy",
        "inline.yaml",
        "--policy",
        "env.yaml",
        "--policy",
        "file.yaml",
    ];
    let build = |out: &str, extra: &[&str]| {
        let mut a = vec!["build", "--out", out, "--msi", msi, "--pkg", pkg];
        a.extend(policies);
        a.extend(extra);
        a.into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    let mut runs = Vec::new();
    let mut outs = Vec::new();
    for (out, extra) in [
        ("plain", &[][..]),
        ("json", &["--json"][..]),
        ("params", &["--jamf-params"][..]),
        ("wrap", &["--wrap-vendor", "--json"][..]),
    ] {
        let a = build(out, extra);
        let r = run(
            d,
            "build",
            &a.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        assert_eq!(r.code, Some(0), "{}: {}", r.what, r.stderr);
        runs.push(r);
        outs.push(d.join(out));
    }
    let import = [
        "policy",
        "import",
        "--name",
        "imp",
        "--product",
        "crashplan",
    ];
    fn with<'a>(import: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        import.iter().chain(extra).copied().collect()
    }
    let check = ["policy", "check"];
    let json_check = ["--json", "policy", "check"];
    // Policies with the token where it does not belong: checked as text and as --json.
    const MISPLACED: &[&str] = &[
        "wrongenv.yaml",
        "wrongfile.yaml",
        "tagfloat.yaml",
        "tagbool.yaml",
        "tagint.yaml",
        "intoport.yaml",
        "portoken.yaml",
    ];
    const BRACED: &[&str] = &[
        "bracedenv.yaml",
        "bracedfile.yaml",
        "hexfile.yaml",
        "bracedscope.yaml",
        "hexscope.yaml",
        "barescope.yaml",
        "bracedkey.yaml",
        "barekey.yaml",
        "duptoken.yaml",
        "envscope.yaml",
        "orgtoken.yaml",
        "tokendoc.json",
        "tokenlist.json",
    ];
    let ok_runs: Vec<(&str, Vec<&str>)> = vec![
        (
            "check",
            vec!["policy", "check", "inline.yaml", "env.yaml", "file.yaml"],
        ),
        (
            "check --json",
            vec![
                "--json",
                "policy",
                "check",
                "inline.yaml",
                "env.yaml",
                "file.yaml",
            ],
        ),
        ("import stdout", with(&import, &["--windows-args", &args])),
        ("import --json", {
            let mut v = vec!["--json"];
            v.extend(with(&import, &["--windows-args", &args]));
            v
        }),
        (
            "import -o",
            with(&import, &["--windows-args", &args, "-o", "imported.yaml"]),
        ),
        ("import -o --json", {
            let mut v = vec!["--json"];
            v.extend(with(
                &import,
                &["--windows-args", &args, "-o", "imported-json.yaml"],
            ));
            v
        }),
        (
            "import --token-file",
            with(
                &import,
                &["--windows-args", &args, "--token-file", "imported.token"],
            ),
        ),
        (
            "import properties",
            with(&import, &["--deploy-properties", "deploy.properties"]),
        ),
        ("verify", vec!["verify", "plain"]),
        ("verify --json", vec!["--json", "verify", "wrap"]),
        ("products", vec!["products"]),
        ("products --json", vec!["--json", "products"]),
    ];
    for (what, a) in &ok_runs {
        let r = run(d, what, a);
        assert_eq!(r.code, Some(0), "{}: {}", r.what, r.stderr);
        runs.push(r);
    }
    // inspect every output it can read (transforms, MSIs), plain and --json.
    for f in files_below(&d.join("plain")) {
        let name = f.to_string_lossy().into_owned();
        if name.ends_with(".mst") || name.ends_with(".msi") {
            for json in [false, true] {
                let mut a = vec!["inspect", name.as_str()];
                if name.ends_with(".mst") {
                    a.extend(["--base", msi]);
                }
                if json {
                    a.insert(0, "--json");
                }
                let r = run(d, "inspect", &a);
                assert_eq!(r.code, Some(0), "{}: {}", r.what, r.stderr);
                runs.push(r);
            }
        }
    }
    // Failing variants of each command.
    std::fs::write(d.join("plain/inline/windows/install-args.txt"), "tampered").ok();
    let failing: Vec<(&str, Vec<&str>)> = vec![
        (
            "build bad",
            vec![
                "build",
                "--out",
                "plain",
                "--policy",
                "inline.yaml",
                "--policy",
                "bad.yaml",
            ],
        ),
        (
            "build bad --json",
            vec![
                "--json",
                "build",
                "--out",
                "plain",
                "--policy",
                "bad.yaml",
                "--policy",
                "badtoken.yaml",
            ],
        ),
        (
            "build keep-going",
            vec![
                "build",
                "--keep-going",
                "--out",
                "kept",
                "--policy",
                "inline.yaml",
                "--policy",
                "bad.yaml",
            ],
        ),
        (
            "build bad msi",
            vec![
                "build",
                "--out",
                "x",
                "--policy",
                "inline.yaml",
                "--msi",
                "inline.yaml",
            ],
        ),
        (
            "build bad pkg",
            vec![
                "--json",
                "build",
                "--out",
                "x",
                "--policy",
                "inline.yaml",
                "--pkg",
                "inline.yaml",
            ],
        ),
        (
            "check bad",
            vec![
                "policy",
                "check",
                "bad.yaml",
                "badtoken.yaml",
                "badjson.json",
            ],
        ),
        (
            "check bad --json",
            vec![
                "--json",
                "policy",
                "check",
                "bad.yaml",
                "badtoken.yaml",
                "badjson.json",
            ],
        ),
        ("import bad", with(&import, &["--windows-args", &bad_args])),
        (
            "import bad -o",
            with(&import, &["--windows-args", &bad_args2, "-o", "never.yaml"]),
        ),
        ("import bad --json", {
            let mut v = vec!["--json"];
            v.extend(with(&import, &["--windows-args", &bad_args]));
            v
        }),
        (
            "import bad properties",
            with(&import, &["--deploy-properties", "bad.properties"]),
        ),
        ("check misplaced tokens", with(&check, MISPLACED)),
        (
            "check misplaced tokens --json",
            with(&json_check, MISPLACED),
        ),
        (
            "build misplaced token",
            vec!["build", "--out", "x", "--policy", "wrongenv.yaml"],
        ),
        ("check braced tokens", with(&check, BRACED)),
        ("check braced tokens --json", with(&json_check, BRACED)),
        (
            "build braced tokens",
            vec![
                "build",
                "--keep-going",
                "--out",
                "braced-out",
                "--policy",
                "bracedenv.yaml",
                "--policy",
                "bracedfile.yaml",
                "--policy",
                "bracedscope.yaml",
                "--policy",
                "bracedkey.yaml",
                "--policy",
                "envscope.yaml",
                "--policy",
                "orgtoken.yaml",
            ],
        ),
        (
            "build braced tokens --json",
            vec![
                "--json",
                "build",
                "--out",
                "braced-out",
                "--policy",
                "hexscope.yaml",
                "--policy",
                "barekey.yaml",
                "--policy",
                "duptoken.yaml",
            ],
        ),
        ("inspect a token file", vec!["inspect", "t.token"]),
        (
            "build with a token file as MSI",
            vec![
                "build",
                "--out",
                "x",
                "--policy",
                "inline.yaml",
                "--msi",
                "t.token",
            ],
        ),
        ("verify tampered", vec!["verify", "plain"]),
        ("verify tampered --json", vec!["--json", "verify", "plain"]),
        ("inspect a policy", vec!["inspect", "inline.yaml"]),
        (
            "inspect --json a policy",
            vec!["--json", "inspect", "file.yaml"],
        ),
        (
            "products bad profiles",
            vec!["--profiles", "inline.yaml", "products"],
        ),
    ];
    let misplaced: Vec<(&str, Vec<&str>)> = misplaced_args
        .iter()
        .flat_map(|a| {
            [
                ("import misplaced", with(&import, &["--windows-args", a])),
                ("import misplaced --json", {
                    let mut v = vec!["--json"];
                    v.extend(with(&import, &["--windows-args", a]));
                    v
                }),
            ]
        })
        .collect();
    for (what, a) in failing.iter().chain(&misplaced) {
        let r = run(d, what, a);
        assert_ne!(r.code, Some(0), "{} should fail", r.what);
        assert!(!r.stderr.contains("panicked"), "{}: {}", r.what, r.stderr);
        runs.push(r);
    }

    let mut problems = Vec::new();
    // Not even a part of it, in either form: the first two groups are enough to tell.
    let part = &TOKEN[..13];
    let bare_part = &TOKEN.replace('-', "")[..12];
    for r in &runs {
        for (stream, text) in [("stdout", &r.stdout), ("stderr", &r.stderr)] {
            let lower = text.to_ascii_lowercase();
            if lower.contains(part) || lower.contains(bare_part) {
                problems.push(format!(
                    "{} printed (part of) the token on {stream}",
                    r.what
                ));
            }
        }
    }
    // Outputs of the four builds (plain was tampered with afterwards: check it first-hand).
    for out in &outs {
        problems.extend(check_out(out));
    }
    if d.join("kept").exists() {
        problems.extend(check_out(&d.join("kept")));
    }
    // Files written by import hold the token and are 0600; nothing else in the folder does.
    for f in ["imported.yaml", "imported-json.yaml", "imported.token"] {
        let p = d.join(f);
        assert!(
            std::fs::read_to_string(&p).unwrap().contains(TOKEN),
            "{f} lacks the token"
        );
        if mode(&p) != 0o600 {
            problems.push(format!("{f} holds the token but is mode {:o}", mode(&p)));
        }
    }
    assert!(
        !d.join("never.yaml").exists(),
        "a failed import wrote its -o file"
    );
    for entry in std::fs::read_dir(d).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if p.is_file()
            && holds_token(&std::fs::read(&p).unwrap())
            && !name.ends_with(".yaml")
            && !name.ends_with(".json")
            && !name.ends_with(".token")
            && !name.ends_with(".properties")
        {
            problems.push(format!("{name} holds the token (stray file)"));
        }
    }
    assert!(problems.is_empty(), "token leaks:\n{}", problems.join("\n"));
}

#[test]
fn inspect_masks_the_token_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("p.yaml"), policy("acme", &format!("token: {TOKEN}"))).unwrap();
    let msi = common::fixture("msi/vendor.msi");
    let r = run(
        d,
        "build",
        &[
            "build",
            "--out",
            "out",
            "--policy",
            "p.yaml",
            "--msi",
            msi.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let mst = files_below(&d.join("out"))
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "mst"))
        .expect("a transform");
    let masked = run(d, "inspect", &["inspect", mst.to_str().unwrap()]);
    assert_eq!(masked.code, Some(0), "{}", masked.stderr);
    assert!(
        !masked.stdout.contains(TOKEN) && !masked.stderr.contains(TOKEN),
        "inspect shows the token by default"
    );
    let shown = run(
        d,
        "inspect --show-secrets",
        &["inspect", "--show-secrets", mst.to_str().unwrap()],
    );
    assert!(
        shown.stdout.contains(TOKEN),
        "--show-secrets shows the token: {}",
        shown.stdout
    );
}
