//! `agentpack::formats::quote` checked by the real consumers where they exist on Linux:
//! POSIX shells (sh, dash, bash, zsh), xmllint, and Java's `Properties.load`.
//! A missing program is skipped visibly (or fails under AGENTPACK_REQUIRE_TOOLS=1).
//! Not possible here: msiexec (Wine does not emulate quote doubling, msi-transforms.md §11.3),
//! cmd.exe and PowerShell (not packaged for Debian); tests/quote_props.rs covers those with oracles.

mod common;

use agentpack::formats::quote::*;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use std::path::{Path, PathBuf};
use std::process::Command;

fn tricky_char() -> impl Strategy<Value = char> {
    let specials = vec![
        '\'', '"', '$', '(', ')', '`', '\\', '\n', '\t', '\r', ' ', '%', '&', '|', '<', '>', '^',
        '!', ';', '#', '=', ':', '*', '?', '~', '{', '}', '[', ']', 'é', 'ÿ', '中', '😀',
        '\u{2019}', '\x01', '\x0C', '\x1B', '\x7F', '\u{85}', '\u{2028}', '\u{FEFF}',
    ];
    prop_oneof![
        3 => prop::sample::select(specials),
        2 => any::<char>().prop_filter("no NUL", |&c| c != '\0'),
        3 => prop::char::range('a', 'z'),
    ]
}

/// Strings with no NUL (argv and files cannot carry it; the escapers reject it). A fixed seed
/// keeps failures reproducible; each test batches all values into one process run.
fn tricky_strings(n: usize, seed_cases: &[&str]) -> Vec<String> {
    let mut runner = TestRunner::deterministic();
    let strat = prop::collection::vec(tricky_char(), 0..20).prop_map(String::from_iter);
    let mut out: Vec<String> = seed_cases.iter().map(|s| s.to_string()).collect();
    for _ in 0..n {
        out.push(strat.new_tree(&mut runner).expect("generate").current());
    }
    out
}

const SEEDS: &[&str] = &[
    "",
    "'",
    "''",
    "it's",
    "$(echo pwned)",
    "`echo pwned`",
    "${HOME}$HOME",
    "a\nb\r\nc",
    "\\",
    "'\\''",
    "-n",
    "--",
    "%s%d",
    "é中😀",
    "  spaced  ",
];

// ---------------------------------------------------------------- POSIX shells

fn shell_prints(shell: &Path, quoted: &str) -> Vec<u8> {
    let out = Command::new(shell)
        .arg("-c")
        .arg(format!("printf %s {quoted}"))
        .output()
        .expect("run shell");
    assert!(
        out.status.success(),
        "{shell:?} failed on {quoted:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn sh_single_round_trips_in_real_shells() {
    let values = tricky_strings(150, SEEDS);
    let mut ran = 0;
    for name in ["sh", "dash", "bash", "zsh"] {
        let Some(shell) = common::program("sh_single_round_trips_in_real_shells", name) else {
            continue;
        };
        // One process for all values: each printed followed by a NUL separator.
        let mut script = String::new();
        for v in &values {
            script.push_str(&format!("printf '%s\\000' {}\n", sh_single(v).unwrap()));
        }
        let out = Command::new(&shell)
            .arg("-c")
            .arg(&script)
            .output()
            .expect("run shell");
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut got: Vec<&[u8]> = out.stdout.split(|&b| b == 0).collect();
        assert_eq!(got.pop(), Some(&b""[..]), "{name}: trailing separator");
        assert_eq!(got.len(), values.len(), "{name}: value count");
        for (v, g) in values.iter().zip(got) {
            assert_eq!(g, v.as_bytes(), "{name} changed {v:?}");
        }
        // And the plain `printf %s <quoted>` form, one process per seed value.
        for v in SEEDS {
            assert_eq!(
                shell_prints(&shell, &sh_single(v).unwrap()),
                v.as_bytes(),
                "{name}: {v:?}"
            );
        }
        ran += 1;
    }
    assert!(ran > 0 || !common::tools_required());
}

#[test]
fn sh_single_does_not_execute_substitutions() {
    let Some(shell) = common::program("sh_single_does_not_execute_substitutions", "sh") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let m = |n: &str| dir.path().join(n);
    let attacks = [
        format!("$(touch {})", m("m1").display()),
        format!("`touch {}`", m("m2").display()),
        format!("'; touch {}; '", m("m3").display()),
        format!("\"; touch {}; \"", m("m4").display()),
        format!("x\ntouch {}\n", m("m5").display()),
        format!("'$(touch {})'", m("m6").display()),
    ];
    // Control: the first attack unquoted does run, so an absent marker below means something.
    shell_prints(&shell, &format!("\"{}\"", attacks[0]));
    assert!(
        m("m1").exists(),
        "control: command substitution did not run"
    );
    std::fs::remove_file(m("m1")).expect("remove control marker");

    for a in &attacks {
        assert_eq!(shell_prints(&shell, &sh_single(a).unwrap()), a.as_bytes());
    }
    for n in ["m1", "m2", "m3", "m4", "m5", "m6"] {
        assert!(!m(n).exists(), "{n} was created: quoted value executed");
    }
}

// ---------------------------------------------------------------- xmllint

fn xmllint(test: &str) -> Option<PathBuf> {
    common::program(test, "xmllint")
}

#[test]
fn xmllint_accepts_and_reads_back_escaped_values() {
    let Some(lint) = xmllint("xmllint_accepts_and_reads_back_escaped_values") else {
        return;
    };
    let values: Vec<String> = tricky_strings(150, SEEDS)
        .into_iter()
        .filter(|v| v.chars().all(is_xml_char))
        .collect();
    let mut doc = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<list>\n");
    for v in &values {
        doc.push_str(&format!(
            "<v a=\"{}\" b='{}'>{}</v>\n",
            xml_attr(v).unwrap(),
            xml_attr(v).unwrap(),
            xml_text(v).unwrap()
        ));
    }
    doc.push_str("</list>\n");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("doc.xml");
    std::fs::write(&file, &doc).expect("write");
    let (ok, _, err) = common::run(Command::new(&lint).arg("--noout").arg(&file));
    assert!(ok, "xmllint rejected the document: {err}");

    // libxml2 as an independent reader for values with whitespace and markup characters:
    // attribute normalisation and end-of-line handling must leave them intact.
    for v in ["x\ty\nz\r\nw", " a & <b> \"c\" 'd' ", "\r", "]]>"] {
        let doc = format!(
            "<r a=\"{}\">{}</r>",
            xml_attr(v).unwrap(),
            xml_text(v).unwrap()
        );
        std::fs::write(&file, doc).expect("write");
        for xpath in ["string(/r/@a)", "string(/r)"] {
            let out = Command::new(&lint)
                .args(["--xpath", xpath])
                .arg(&file)
                .output()
                .expect("xmllint");
            assert!(
                out.status.success(),
                "{xpath}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            // xmllint ends its --xpath output with one newline of its own.
            let text = String::from_utf8_lossy(&out.stdout);
            assert_eq!(text.strip_suffix('\n'), Some(v), "{xpath}");
        }
    }

    // An invalid character must be refused by us, as xmllint would refuse it.
    assert!(xml_text("a\x01b").is_err());
    std::fs::write(&file, "<r>a\x01b</r>").expect("write");
    let (ok, _, _) = common::run(Command::new(&lint).arg("--noout").arg(&file));
    assert!(!ok, "control: xmllint accepted U+0001");
}

// ---------------------------------------------------------------- Java Properties.load

const DUMP_JAVA: &str = r#"
import java.io.FileInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import java.util.TreeSet;

public class Dump {
    static String hex(String s) {
        StringBuilder b = new StringBuilder("x");
        for (byte x : s.getBytes(StandardCharsets.UTF_8)) b.append(String.format("%02x", x & 0xff));
        return b.toString();
    }
    public static void main(String[] args) throws Exception {
        Properties p = new Properties();
        try (FileInputStream in = new FileInputStream(args[0])) { p.load(in); }
        for (String k : new TreeSet<>(p.stringPropertyNames())) {
            System.out.println(hex(k) + " " + hex(p.getProperty(k)));
        }
    }
}
"#;

fn hex(s: &str) -> String {
    let mut out = String::from("x");
    for b in s.bytes() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

#[test]
fn java_properties_load_reads_back_values_and_keys() {
    let Some(java) = common::program("java_properties_load_reads_back_values_and_keys", "java")
    else {
        return;
    };
    let values = tricky_strings(200, SEEDS);
    let keys: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            if i % 2 == 0 || v.is_empty() {
                format!("K{i:04}")
            } else {
                format!("{v}{i:04}")
            }
        })
        .collect();
    let mut file = String::from("# generated by quote_tools\n! second comment style\n");
    let mut want: Vec<(String, String)> = Vec::new();
    for (k, v) in keys.iter().zip(&values) {
        file.push_str(&format!(
            "{}={}\n",
            java_properties_key(k).unwrap(),
            java_properties_value(v).unwrap()
        ));
        want.push((hex(k), hex(v)));
    }
    assert!(file.is_ascii(), "escaped properties must be ASCII");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("Dump.java"), DUMP_JAVA).expect("write java");
    std::fs::write(dir.path().join("t.properties"), &file).expect("write properties");
    let out = Command::new(&java)
        .current_dir(dir.path())
        .args(["Dump.java", "t.properties"])
        .output()
        .expect("run java");
    assert!(
        out.status.success(),
        "java: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut got: Vec<(String, String)> = String::from_utf8(out.stdout)
        .expect("hex output")
        .lines()
        .map(|l| {
            let (k, v) = l.split_once(' ').expect("two fields");
            (k.to_owned(), v.to_owned())
        })
        .collect();
    got.sort();
    want.sort();
    assert_eq!(
        got.len(),
        want.len(),
        "key count (a key or line break escaped wrongly?)"
    );
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w);
    }
}
