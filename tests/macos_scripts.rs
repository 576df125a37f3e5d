//! The scripts that write deploy.properties — the config package's preinstall and the Jamf
//! script — run with /bin/sh against a temporary target volume: exact content, mode 0600, and
//! nothing evaluated from policy values. shellcheck must be clean on every script.

mod common;
#[path = "macos_support.rs"]
mod support;

use std::path::Path;
use support::*;

struct Built {
    _dir: tempfile::TempDir,
    out: std::path::PathBuf,
    name: String,
}

impl Built {
    fn new(hostile: bool, args: &[&str]) -> Built {
        let dir = tempfile::tempdir().unwrap();
        let name = "acme-prod".to_string();
        let p = if hostile {
            hostile_policy(dir.path(), &name)
        } else {
            write_policy(dir.path(), &name, &[])
        };
        let out = dir.path().join("dist");
        build(&[&p], &out, args);
        Built {
            _dir: dir,
            out,
            name,
        }
    }
    fn path(&self, rel: &str) -> std::path::PathBuf {
        self.out.join(&self.name).join(rel)
    }
    fn props(&self) -> Vec<u8> {
        std::fs::read(self.path("macos/deploy.properties")).unwrap()
    }
    fn preinstall(&self) -> String {
        preinstall_of(&self.path(&format!("macos/{}-config.pkg", self.name)), None)
    }
    fn jamf_script(&self) -> String {
        std::fs::read_to_string(self.path(&format!("jamf/install-{}.sh", self.name))).unwrap()
    }
}

fn assert_writes_exactly(run: &Run, want: &[u8]) {
    assert!(run.ok, "script failed: {}{}", run.stdout, run.stderr);
    let (bytes, mode) = run.written(PROPS_PATH).expect("deploy.properties written");
    assert_eq!(bytes, want, "written file differs from deploy.properties");
    assert_eq!(mode, 0o600);
    assert_root_owned(&run.volume.path().join(PROPS_PATH.trim_start_matches('/')));
    run.assert_nothing_ran();
    assert!(
        !run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN),
        "the log shows the token"
    );
}

/// Run as root (as Installer and Jamf run them), the scripts hand the file to root:wheel (0:0);
/// otherwise it keeps the test's own owner, which the scripts log.
fn assert_root_owned(file: &Path) {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(file).unwrap();
    // A folder this process just made is owned by its effective user.
    let me = tempfile::tempdir().unwrap();
    let euid = std::fs::metadata(me.path()).unwrap().uid();
    if euid == 0 {
        assert_eq!((meta.uid(), meta.gid()), (0, 0), "{}", file.display());
    } else {
        assert_eq!(meta.uid(), euid, "{}", file.display());
    }
}

#[test]
fn preinstall_writes_the_rendered_file_for_hostile_values() {
    let b = Built::new(true, &[]);
    let props = b.props();
    assert!(
        String::from_utf8_lossy(&props).contains("$(touch${IFS}MARK)"),
        "hostile value reached the file"
    );
    let run = run_sh(&b.preinstall(), |vol| {
        vec!["/pkg".into(), "/".into(), vol.into(), "/".into()]
    });
    assert_writes_exactly(&run, &props);
    assert!(
        run.stdout.contains("Ünïcödé"),
        "the organisation is logged as is: {}",
        run.stdout
    );
    // A second run replaces the file.
    let run2 = run_sh(&b.preinstall(), |vol| {
        vec!["/pkg".into(), "/".into(), format!("{vol}/"), "/".into()]
    });
    assert_writes_exactly(&run2, &props);
}

#[test]
fn preinstall_fails_loudly_without_a_target_or_when_it_cannot_write() {
    let b = Built::new(false, &[]);
    let run = run_sh(&b.preinstall(), |_| {
        vec!["/pkg".into(), "/".into(), "".into()]
    });
    assert!(!run.ok && run.stderr.contains("ERROR"), "{}", run.stderr);
    // A target volume that does not exist (not mounted) is not created: the script fails and
    // leaves nothing behind.
    let run = run_sh(&b.preinstall(), |vol| {
        vec![
            "/pkg".into(),
            "/".into(),
            format!("{vol}/Volumes/Gone"),
            "/".into(),
        ]
    });
    assert!(
        !run.ok && run.stderr.contains("is not an existing folder"),
        "{}",
        run.stderr
    );
    assert!(!run.volume.path().join("Volumes").exists(), "created it");
    // A file is not a volume either.
    let run = run_sh(&b.preinstall(), |vol| {
        std::fs::write(Path::new(vol).join("plain"), b"x").unwrap();
        vec!["/pkg".into(), "/".into(), format!("{vol}/plain")]
    });
    assert!(!run.ok && run.stderr.contains("ERROR"), "{}", run.stderr);
    // The target folder's place is taken by a file: mkdir fails, the script exits non-zero.
    let run = run_sh(&b.preinstall(), |vol| {
        std::fs::write(Path::new(vol).join("Library"), b"x").unwrap();
        vec!["/pkg".into(), "/".into(), vol.into()]
    });
    assert!(
        !run.ok && run.stderr.contains("cannot create"),
        "{}",
        run.stderr
    );
}

/// A target volume path with spaces, quotes, `$(...)`, a backtick and non-ASCII reaches the
/// scripts as one argument and is used literally, by the preinstall ($3) and the Jamf script ($1).
#[test]
fn scripts_take_a_target_volume_with_spaces_quotes_and_non_ascii() {
    let b = Built::new(false, &[]);
    let props = b.props();
    let volume_name = "Volumes/Macintosh HD 'o\"q\" $(touch MARK) `touch MARK` Ünïcödé 中文";
    for (what, script, arg) in [
        ("preinstall", b.preinstall(), 2usize),
        ("jamf", b.jamf_script(), 0),
    ] {
        let run = run_sh(&script, |vol| {
            let target = format!("{vol}/{volume_name}");
            std::fs::create_dir_all(&target).unwrap();
            let mut args = vec!["/pkg".to_string(), "/".into(), "/".into()];
            args[arg] = target;
            args
        });
        assert!(run.ok, "{what}: {}{}", run.stdout, run.stderr);
        let file = run
            .volume
            .path()
            .join(volume_name)
            .join(PROPS_PATH.trim_start_matches('/'));
        assert_eq!(std::fs::read(&file).unwrap(), props, "{what}");
        assert_root_owned(&file);
        run.assert_nothing_ran();
        // Nothing went to the volume's parent or the working folder under a split name.
        let top: Vec<_> = std::fs::read_dir(run.volume.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(top, ["Volumes"], "{what}");
    }
}

#[test]
fn jamf_script_fails_for_a_target_volume_that_does_not_exist() {
    let b = Built::new(false, &[]);
    let run = run_sh(&b.jamf_script(), |vol| {
        vec![format!("{vol}/Volumes/Gone"), "mac".into(), "jdoe".into()]
    });
    assert!(
        !run.ok && run.stderr.contains("is not an existing folder"),
        "{}",
        run.stderr
    );
    assert!(!run.volume.path().join("Volumes").exists(), "created it");
}

#[test]
fn jamf_script_writes_the_rendered_file_for_hostile_values() {
    let b = Built::new(true, &[]);
    let script = b.jamf_script();
    assert!(script.contains(TOKEN), "embedded mode holds the token");
    let run = run_sh(&script, |vol| {
        vec![vol.into(), "mac-01".into(), "jdoe".into()]
    });
    assert_writes_exactly(&run, &b.props());
}

#[test]
fn jamf_params_script_holds_no_token_and_matches_the_embedded_output() {
    let b = Built::new(false, &["--jamf-params"]);
    let script = b.jamf_script();
    assert!(!script.contains(TOKEN));
    for label in [
        "Parameter 4: DEPLOYMENT_URL",
        "Parameter 5: DEPLOYMENT_POLICY_TOKEN",
    ] {
        assert!(script.contains(label), "header documents {label}");
    }
    // Token given, everything else empty: the build-time values apply.
    let args = |vol: &str, token: &str| {
        let mut v = vec![
            vol.to_string(),
            "mac".into(),
            "user".into(),
            "".into(),
            token.into(),
        ];
        v.extend(std::iter::repeat_n(String::new(), 6));
        v
    };
    let run = run_sh(&script, |vol| args(vol, TOKEN));
    assert_writes_exactly(&run, &b.props());
    // Uppercase, and pasted with spaces around it: the same token, written as the build would.
    let upper = format!(" {}\t", TOKEN.to_uppercase());
    let run = run_sh(&script, |vol| args(vol, &upper));
    assert_writes_exactly(&run, &b.props());
}

/// With the hostile policy the script's built-in values (URLs holding quotes, `$()`, backticks,
/// `\` and non-ASCII, which the checks of typed-in parameters refuse) are used as built: the
/// written file equals the embedded build's deploy.properties byte for byte.
#[test]
fn jamf_params_defaults_of_a_hostile_policy_are_written_as_built() {
    let b = Built::new(true, &["--jamf-params"]);
    let script = b.jamf_script();
    let run = run_sh(&script, |vol| {
        let mut v = vec![
            vol.to_string(),
            "mac".into(),
            "user".into(),
            "".into(),
            TOKEN.into(),
        ];
        v.extend(std::iter::repeat_n(String::new(), 6));
        v
    });
    assert_writes_exactly(&run, &b.props());
    // `none` clears an optional value that has a built-in default.
    let run = run_sh(&script, |vol| {
        let mut v = vec![
            vol.to_string(),
            "mac".into(),
            "user".into(),
            "".into(),
            TOKEN.into(),
        ];
        v.extend(["", "none", "", ""].map(String::from));
        v
    });
    assert!(run.ok, "{}", run.stderr);
    let text = String::from_utf8(run.written(PROPS_PATH).unwrap().0).unwrap();
    assert!(
        text.contains("DEPLOYMENT_URL=") && !text.contains("PROXY_URL="),
        "{text}"
    );
    run.assert_nothing_ran();
}

/// Every package the Jamf policy installs has a package record of that name (Jamf resolves a
/// policy's packages by name), in the Jamf Pro API JSON and in the Classic API XML alike, and
/// both give the config package priority 9 and the vendor's 10: the priority is what orders
/// them (by name alone `zz-last-config.pkg` would install after `vendor-….pkg`).
#[test]
fn the_jamf_policy_names_the_packages_its_records_create() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_policy(dir.path(), "zz-last", &[]);
    let out = dir.path().join("dist");
    let pkg = common::fixture("pkg/vendor-crashplan-component.pkg");
    build(
        &[&p],
        &out,
        &["--pkg", pkg.to_str().unwrap(), "--wrap-vendor"],
    );
    let jamf = out.join("zz-last/jamf");
    let policy = std::fs::read_to_string(jamf.join("classic/policy.xml")).unwrap();
    let names: Vec<String> = policy
        .split("<package>")
        .skip(1)
        .map(|s| {
            s.split("<name>")
                .nth(1)
                .unwrap()
                .split("</name>")
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(names.len(), 2, "{policy}");
    let mut records = std::collections::BTreeMap::new();
    for f in std::fs::read_dir(jamf.join("api")).unwrap() {
        let f = f.unwrap().path();
        if f.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("package-")
        {
            let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
            assert_eq!(v["packageName"], v["fileName"], "{}", f.display());
            assert!(out
                .join("zz-last/macos")
                .join(v["fileName"].as_str().unwrap())
                .is_file());
            records.insert(
                v["packageName"].as_str().unwrap().to_string(),
                v["priority"].as_u64().unwrap(),
            );
        }
    }
    for n in &names {
        assert!(
            records.contains_key(n),
            "the policy installs {n}, which no record creates: {records:?}"
        );
    }
    let config = &names[0];
    assert!(config.ends_with("-config.pkg"), "{names:?}");
    assert!(
        config > &names[1],
        "the test needs a config name sorting last: {names:?}"
    );
    assert_eq!(records[config], 9, "{records:?}");
    assert_eq!(records[&names[1]], 10, "{records:?}");
    assert_eq!(records["zz-last-crashplan.pkg"], 10, "{records:?}");

    // The Classic API records: the same names, file names and priorities.
    let xmllint = common::program("jamf_classic_packages", "xmllint");
    let mut classic = std::collections::BTreeMap::new();
    for role in ["config", "vendor", "wrapped"] {
        let f = jamf.join(format!("classic/package-{role}.xml"));
        let xml = std::fs::read_to_string(&f).unwrap();
        if let Some(x) = &xmllint {
            let (ok, _, err) = common::run(std::process::Command::new(x).arg("--noout").arg(&f));
            assert!(ok, "{}: {err}", f.display());
        }
        // The element, not the comment above it.
        let body = xml.split("-->").nth(1).unwrap();
        let field = |tag: &str| {
            let open = format!("<{tag}>");
            let close = format!("</{tag}>");
            body.split(&open)
                .nth(1)
                .and_then(|r| r.split(&close).next())
                .unwrap_or_else(|| panic!("{role}: no <{tag}> in {xml}"))
                .to_string()
        };
        assert!(xml.contains("<package>"), "{xml}");
        assert_eq!(field("name"), field("filename"), "{role}");
        assert!(out.join("zz-last/macos").join(field("filename")).is_file());
        assert!(field("info").contains("CrashPlan"), "{role}: {xml}");
        classic.insert(field("name"), field("priority").parse::<u64>().unwrap());
    }
    assert_eq!(classic, records, "Classic and Jamf Pro API records differ");
    // The policy says what orders its packages, and where the priorities are set.
    let comment = policy
        .split("-->")
        .next()
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        comment.contains("classic/package-*.xml")
            && comment.contains("config package priority 9, vendor package 10"),
        "{comment}"
    );
}

/// XML text as written by our templates: the five predefined entities.
fn xml_unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The labels Jamf shows for parameters 4-11 (Classic XML and Jamf Pro API JSON) name the key
/// the script itself writes from that parameter, and agree with the script's own header.
#[test]
fn jamf_parameter_labels_match_the_scripts_own_mapping() {
    let b = Built::new(true, &["--jamf-params"]);
    let script = b.jamf_script();
    // The script's mapping: `pN=$(trim "${N:-}")` reads $N, `add 'KEY' "$pN"` writes it.
    let mut mapping = std::collections::BTreeMap::new();
    for n in 4..=11u8 {
        let var = format!("p{n}=$(trim \"${{{n}:-}}\")");
        let add = format!("\"$p{n}\"");
        let key = script
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("add '") && l.ends_with(&add))
            .map(|l| l["add '".len()..].split('\'').next().unwrap().to_string())
            .next();
        assert_eq!(script.contains(&var), key.is_some(), "${n}: {key:?}");
        if let Some(key) = key {
            mapping.insert(n, key);
        }
    }
    assert_eq!(
        mapping.values().map(String::as_str).collect::<Vec<_>>(),
        [
            "DEPLOYMENT_URL",
            "DEPLOYMENT_POLICY_TOKEN",
            "SSL_WHITELIST",
            "PROXY_URL",
            "CP_SILENT",
            "DEVICE_CLOAKED"
        ],
        "{mapping:?}"
    );
    let xml = std::fs::read_to_string(b.path("jamf/classic/script.xml")).unwrap();
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(b.path("jamf/api/script.json")).unwrap()).unwrap();
    for n in 4..=11u8 {
        let tag = format!("parameter{n}");
        let classic = xml
            .split(&format!("<{tag}>"))
            .nth(1)
            .and_then(|r| r.split(&format!("</{tag}>")).next())
            .map(xml_unescape)
            .unwrap_or_else(|| panic!("no <{tag}> in script.xml"));
        assert_eq!(json[&tag].as_str(), Some(classic.as_str()), "{tag}");
        let header = script
            .lines()
            .find_map(|l| l.strip_prefix(&format!("#   Parameter {n}: ")));
        match mapping.get(&n) {
            Some(key) => {
                assert!(classic.starts_with(&format!("{key} (")), "{tag}: {classic}");
                assert_eq!(header, Some(classic.as_str()), "{tag}");
            }
            None => {
                assert_eq!(classic, "", "{tag} is unused but labelled");
                assert_eq!(header, None, "{tag}");
            }
        }
    }
}

#[test]
fn jamf_params_are_checked_before_anything_is_written() {
    let b = Built::new(false, &["--jamf-params"]);
    let script = b.jamf_script();
    let with = |n: usize, value: &str| {
        let value = value.to_string();
        move |vol: &str| {
            let mut v = vec![vol.to_string(), "mac".into(), "user".into()];
            v.extend((4..=11).map(|i| match i {
                5 if n != 5 => TOKEN.to_string(),
                i if i == n => value.clone(),
                _ => String::new(),
            }));
            v
        }
    };
    let bad = [
        (4, "https://console.example.com\nDEPLOYMENT_POLICY_TOKEN=x"),
        (4, "https://h.example.com/a b"),
        (4, "https://h.example.com/a\\b"),
        (4, "https://h.example.com/ä"),
        (4, "http://plain.example.com"),
        (5, ""),
        (5, "0fb12341-246b-448d-b07f-c6573ad5ad0z"),
        (5, "0fb12341246b448db07fc6573ad5ad02xxxx"),
        (6, "abc"),
        (7, "ftp://proxy"),
        (8, "yes"),
        (9, "1"),
    ];
    for (n, value) in bad {
        let run = run_sh(&script, with(n, value));
        assert!(!run.ok, "parameter {n} = {value:?} was accepted");
        assert!(
            run.stderr.contains(&format!("parameter {n}")),
            "{}",
            run.stderr
        );
        assert!(
            run.written(PROPS_PATH).is_none(),
            "a file was written for a rejected value"
        );
        run.assert_nothing_ran();
    }
    // A value with shell syntax that passes the checks is written literally, not run.
    for odd in [
        "https://h.example.com/$(id)*;x?a=b&c=%41!",
        "https://h.example.com/$(touch${IFS}MARK)/`touch${IFS}MARK`/'q'\"<x>|^{}[::1]",
    ] {
        let run = run_sh(&script, with(4, odd));
        assert!(run.ok, "{}", run.stderr);
        let text = String::from_utf8(run.written(PROPS_PATH).unwrap().0).unwrap();
        assert!(
            text.starts_with(&format!("DEPLOYMENT_URL={odd}\n")),
            "{text}"
        );
        run.assert_nothing_ran();
    }
}

#[test]
fn shellcheck_is_clean_on_every_script() {
    let Some(shellcheck) = common::program("shellcheck_is_clean_on_every_script", "shellcheck")
    else {
        return;
    };
    let hostile = Built::new(true, &[]);
    let params = Built::new(false, &["--jamf-params"]);
    let hostile_params = Built::new(true, &["--jamf-params"]);
    let scripts = [
        ("preinstall", hostile.preinstall()),
        ("jamf embedded", hostile.jamf_script()),
        ("jamf params", params.jamf_script()),
        (
            "jamf params, hostile defaults",
            hostile_params.jamf_script(),
        ),
    ];
    let zsh = common::program("shellcheck_is_clean_on_every_script", "zsh");
    for (what, text) in scripts {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), &text).unwrap();
        let (ok, out, err) = common::run(
            std::process::Command::new(&shellcheck)
                .arg("--shell=sh")
                .arg(f.path()),
        );
        assert!(ok, "shellcheck on the {what} script:\n{out}{err}");
        if let Some(zsh) = &zsh {
            let (ok, _, err) = common::run(std::process::Command::new(zsh).arg("-n").arg(f.path()));
            assert!(ok, "zsh -n on the {what} script: {err}");
        }
    }
}
