//! Hostile input, end to end through the binary: every case in [`CASES`] must exit 2 with a
//! message naming the file and the field (or offset) and a hint, never panic or hang, create
//! no OUT and leave an existing OUT byte for byte (and mode for mode) as it was.
//!
//! Values that validation *allows* although they hold shell / cmd / msiexec / XML / PowerShell
//! metacharacters are in [`ALLOWED`]: those builds must succeed, with every script and XML file
//! still well-formed, and the scripts that write deploy.properties (the config package's
//! preinstall and the Jamf script), run with /bin/sh, write exactly the expected file and
//! execute nothing.
//!
//! Hostile installers are made at run time from the committed fixtures (truncated, bit-flipped,
//! the other platform's format, ...); only the fuzz corpus is committed as binaries.

mod common;
#[path = "macos_support.rs"]
mod support;

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "0fb12341-246b-448d-b07f-c6573ad5ad02";
/// A value no case may echo back (it stands for a secret pasted into the wrong field).
const CANARY: &str = "c4n4ry-5ecret-9f8e7d6c5b4a";
/// Each run gets this long before it counts as a hang.
const TIMEOUT: Duration = Duration::from_secs(15);

const GOOD: &str = "name: acme-prod
product: crashplan
organization: Acme Corp
deployment_url: https://backup.example.com:4285
token: 0fb12341-246b-448d-b07f-c6573ad5ad02
registration: silent
";

/// What a case feeds to agentpack.
#[derive(Clone, Copy)]
enum Input {
    /// GOOD with edits, one per line: `key: value` replaces (or adds) that key, `-key` removes
    /// it, `+raw line` appends the line as it is. Written as `<case>.yaml`.
    Edit(&'static str),
    /// A whole policy file, written as `<case>.yaml`.
    Yaml(&'static str),
    /// A whole policy file, written as `<case>.json`.
    Json(&'static str),
    /// Policy bytes made at run time, written as `<case>.yaml`.
    Bytes(fn() -> Vec<u8>),
    /// `policy import --windows-args VALUE`.
    WindowsArgs(&'static str),
    /// `policy import --deploy-properties <case>.properties` with these bytes.
    DeployProperties(&'static [u8]),
    /// `build --msi FILE` with GOOD; the function makes the file in the folder.
    Msi(fn(&Path) -> PathBuf),
    /// `build --pkg FILE` with GOOD.
    Pkg(fn(&Path) -> PathBuf),
}

struct Case {
    id: &'static str,
    input: Input,
    /// Fragments the error output must hold (besides the file name and `hint:`).
    expect: &'static [&'static str],
}

macro_rules! case {
    ($id:literal, $input:expr, [$($e:literal),* $(,)?]) => {
        Case { id: $id, input: $input, expect: &[$($e),*] }
    };
}

use Input::*;

/// Every hostile case and the fragments its message must hold.
const CASES: &[Case] = &[
    // --- wrong types -------------------------------------------------------------------------
    case!("name-number", Edit("name: 42"), ["name", "must be text, not a number"]),
    case!("name-list", Edit("name: [acme, prod]"), ["name", "not a list"]),
    case!("organization-mapping", Edit("organization: {a: b}"), ["organization", "not a mapping"]),
    case!("cloaked-string", Edit("cloaked: \"yes\""), ["cloaked", "true or false"]),
    case!("cloaked-number", Edit("cloaked: 1"), ["cloaked", "true or false"]),
    case!("token-number", Edit("token: 12345"), ["token", "must be text"]),
    case!("token-tagged", Edit("token: !!binary MGZiMTIzNDEtMjQ2Yi00NDhkLWIwN2YtYzY1NzNhZDVhZDAy"), ["token"]),
    case!("url-empty", Edit("deployment_url:"), ["deployment_url", "empty"]),
    case!("registration-bool", Edit("registration: true"), ["registration", "not a boolean"]),
    case!("scope-unknown", Edit("scope: machine"), ["scope", "machine"]),
    case!("product-unknown", Edit("product: crashplam"), ["product", "crashplam"]),
    case!("product-path", Edit("product: ../../etc/passwd"), ["product"]),
    // --- unknown, misspelled, missing, duplicate keys ------------------------------------------
    case!("key-misspelled", Edit("-deployment_url\n+deploymet_url: https://h.example.com"), ["deploymet_url", "did you mean 'deployment_url'"]),
    case!("key-unknown", Edit("+color: blue"), ["color", "unknown key"]),
    case!("key-wrong-case", Edit("+Token: x"), ["Token", "unknown key"]),
    case!("key-merge", Edit("+<<: {cloaked: true}"), ["<<"]),
    case!("key-not-text", Edit("+1: x"), ["key"]),
    case!("token-missing", Edit("-token"), ["token", "missing"]),
    case!("token-and-env", Edit("+token_env: AGENTPACK_HOSTILE_UNSET"), ["only one of token"]),
    case!("token-env-unset", Edit("-token\n+token_env: AGENTPACK_HOSTILE_UNSET"), ["token_env", "AGENTPACK_HOSTILE_UNSET", "not set"]),
    case!("token-file-missing", Edit("-token\n+token_file: nope.token"), ["token_file", "nope.token"]),
    case!("token-file-dev-zero", Edit("-token\n+token_file: /dev/zero"), ["token_file", "not a regular file"]),
    case!("token-file-fifo", Edit("-token\n+token_file: fifo.token"), ["token_file", "not a regular file"]),
    case!("token-file-folder", Edit("-token\n+token_file: dir.token"), ["token_file", "dir.token"]),
    case!("token-file-huge", Edit("-token\n+token_file: big.token"), ["token_file", "larger than"]),
    case!("duplicate-yaml", Edit("+name: acme-other"), ["name", "appears twice (first at line 1)", ":7:"]),
    case!("token-env-is-a-token", Edit("-token\n+token_env: 0fb12341-246b-448d-b07f-c6573ad5ad02"), ["token_env", "looks like the token itself"]),
    case!("token-file-is-a-token", Edit("-token\n+token_file: 0fb12341-246b-448d-b07f-c6573ad5ad02"), ["token_file", "looks like the token itself"]),
    case!("key-terminal-escape", Edit("+\"\\e]0;pwned\\a\\e[2J\\rfake\": ok"), ["unknown key", "\\u{1b}]0;pwned\\u{7}"]),
    case!("duplicate-json", Json(r#"{"name": "a", "name": "b"}"#), ["name", "appears twice"]),
    case!("document-empty", Yaml(""), ["name", "missing"]),
    case!("document-list", Yaml("- name\n- token\n"), ["a list", "not a mapping"]),
    case!("document-scalar", Yaml("just some text\n"), ["not a mapping"]),
    case!("document-multi", Yaml("name: a\n---\nname: b\n"), ["YAML"]),
    case!("json-syntax", Json("{\"name\": "), ["not valid JSON"]),
    case!("json-array", Json("[1, 2]"), ["JSON"]),
    case!("json-deep", Bytes(json_deep), ["nested more than"]),
    case!("json-cloaked-string", Json(r#"{"name": "a", "product": "crashplan", "organization": "A", "deployment_url": "https://h.example.com", "token": "0fb12341-246b-448d-b07f-c6573ad5ad02", "registration": "silent", "cloaked": "true"}"#), ["cloaked", "true or false"]),
    // --- YAML bombs and huge inputs ------------------------------------------------------------
    case!("alias-bomb", Yaml(BILLION_LAUGHS), ["YAML"]),
    case!("alias-undefined", Edit("name: *nothing"), ["YAML"]),
    case!("alias-key-bomb", Bytes(alias_key_bomb), ["YAML"]),
    case!("nesting-deep", Bytes(yaml_deep), ["nested more than"]),
    case!("value-huge", Bytes(value_huge), ["organization", "at most 2048"]),
    case!("token-huge", Bytes(token_huge), ["token", "not a UUID"]),
    case!("file-huge", Bytes(file_huge), ["1 MiB"]),
    case!("keys-many", Bytes(keys_many), ["unknown key"]),
    // --- control characters, line breaks, encodings -----------------------------------------
    case!("organization-tab", Edit("organization: \"Acme\\tCorp\""), ["organization", "U+0009"]),
    case!("organization-newline", Edit("organization: \"Acme\\nCorp\""), ["organization", "U+000A"]),
    case!("organization-literal-block", Edit("organization: |\n  Acme\n  Corp"), ["organization", "U+000A"]),
    case!("organization-del", Edit("organization: \"Acme\\x7fCorp\""), ["organization", "U+007F"]),
    case!("organization-c1", Edit("organization: \"Acme\\u0085Corp\""), ["organization"]),
    case!("organization-escape-seq", Edit("organization: \"Acme\\e[31mCorp\""), ["organization", "U+001B"]),
    case!("url-cr", Edit("deployment_url: \"https://h.example.com\\r\""), ["deployment_url", "U+000D"]),
    case!("token-newline", Edit("token: \"0fb12341-246b-448d-b07f-c6573ad5ad02\\n\""), ["token", "U+000A"]),
    case!("name-nul", Edit("name: \"acme\\0prod\""), ["name"]),
    case!("bytes-latin1", Bytes(latin1), ["not UTF-8", "offset"]),
    case!("bytes-utf16", Bytes(utf16), ["not UTF-8"]),
    case!("bytes-random", Bytes(random_policy), ["not UTF-8"]),
    case!("bytes-nul-in-file", Bytes(nul_in_file), ["YAML", "control characters"]),
    // --- metacharacters in fields that do not allow them ------------------------------------
    case!("name-subshell", Edit("name: \"$(touch MARKER)\""), ["name", "lowercase"]),
    case!("name-traversal", Edit("name: ../../etc"), ["name", "lowercase"]),
    case!("name-slash", Edit("name: acme/prod"), ["name"]),
    case!("name-cmd", Edit("name: \"acme&calc\""), ["name"]),
    case!("name-upper", Edit("name: ACME"), ["name"]),
    case!("name-windows-device", Edit("name: nul"), ["name", "reserved device name"]),
    case!("name-windows-com", Edit("name: com1"), ["name", "reserved device name"]),
    case!("url-packed-amp", Edit("deployment_url: https://h.example.com/a&b"), ["deployment_url", "'&'"]),
    case!("url-packed-eq", Edit("deployment_url: https://h.example.com/?a=b"), ["deployment_url", "'='"]),
    case!("url-quote", Edit("deployment_url: 'https://h.example.com/\"x'"), ["deployment_url", "'\"'"]),
    case!("url-host-semicolon", Edit("deployment_url: https://h.example.com;calc"), ["deployment_url", "host"]),
    case!("url-host-subshell", Edit("deployment_url: https://$(touch${IFS}MARKER)"), ["deployment_url", "host"]),
    case!("url-host-xml", Edit("deployment_url: https://<x>/"), ["deployment_url", "host"]),
    case!("url-javascript", Edit("deployment_url: javascript:alert(1)"), ["deployment_url", "not a URL"]),
    case!("url-http", Edit("deployment_url: http://h.example.com"), ["deployment_url", "https"]),
    case!("url-space", Edit("deployment_url: https://h.example.com/a b"), ["deployment_url", "white space"]),
    case!("url-userinfo", Edit("deployment_url: https://u:p@h.example.com"), ["deployment_url", "host"]),
    case!("url-port", Edit("deployment_url: https://h.example.com:99999"), ["deployment_url", "port"]),
    case!("url-port-sign", Edit("deployment_url: https://h.example.com:+443"), ["deployment_url", "port"]),
    case!("url-ipv6-subshell", Edit("deployment_url: \"https://[$(touch${IFS}MARKER)';<x>]:4285\""), ["deployment_url", "host"]),
    case!("url-ipv6-empty", Edit("deployment_url: https://[]"), ["deployment_url", "host"]),
    case!("url-host-dots", Edit("deployment_url: https://...."), ["deployment_url", "host"]),
    case!("proxy-ftp", Edit("+proxy_url: ftp://p.example.com/x.pac"), ["proxy_url", "ftp"]),
    case!("proxy-packed-eq", Edit("+proxy_url: http://p.example.com/x.pac?a=b"), ["proxy_url", "'='"]),
    case!("fingerprint-xml", Edit("+ssl_whitelist: \"<x/>\""), ["ssl_whitelist", "fingerprint"]),
    case!("fingerprint-colons", Edit("+ssl_whitelist: 77:46:27:8a:45:7e:64:73:70:94:c4:4e:eb:e2:a5:9e:25:d1:a4:f1"), ["ssl_whitelist", "fingerprint"]),
    case!("token-subshell", Edit("token: \"$(touch MARKER)\""), ["token", "UUID"]),
    case!("token-packed", Edit("token: \"0fb12341-246b-448d-b07f-c6573ad5ad02&CP_SILENT=false\""), ["token", "UUID"]),
    case!("token-powershell", Edit("token: \"'; Remove-Item -Recurse C:\\\\ ; '\""), ["token", "UUID"]),
    case!("token-canary", Edit("token: c4n4ry-5ecret-9f8e7d6c5b4a"), ["token", "UUID"]),
    case!("registration-shell", Edit("registration: silent; rm -rf /"), ["registration", "not one of"]),
    // --- console arguments for `policy import` ----------------------------------------------
    case!("args-empty", WindowsArgs(""), ["CP_ARGS"]),
    case!("args-unclosed-quote", WindowsArgs("CP_ARGS=\"DEPLOYMENT_URL=https://h.example.com"), ["quote"]),
    case!("args-unknown-property", WindowsArgs("FOO=1 CP_ARGS=\"DEPLOYMENT_URL=https://h.example.com\""), ["FOO"]),
    case!("args-unknown-packed-key", WindowsArgs("CP_ARGS=\"FOO=1\""), ["FOO"]),
    case!("args-packed-not-pair", WindowsArgs("CP_ARGS=\"DEPLOYMENT_URL\""), ["KEY=VALUE"]),
    case!("args-bare-word", WindowsArgs("calc.exe CP_ARGS=\"DEPLOYMENT_URL=https://h.example.com\""), ["calc.exe"]),
    case!("args-cmd-chain", WindowsArgs("CP_ARGS=\"DEPLOYMENT_URL=https://h.example.com\" & calc"), ["neither NAME=VALUE nor an msiexec option"]),
    case!("args-silent-maybe", WindowsArgs("CP_ARGS=\"DEPLOYMENT_URL=https://h.example.com&DEPLOYMENT_POLICY_TOKEN=0fb12341-246b-448d-b07f-c6573ad5ad02\" CP_SILENT=maybe"), ["true or false"]),
    case!("args-url-subshell", WindowsArgs("CP_ARGS=\"DEPLOYMENT_URL=https://h.example.com/$(touch MARKER)&DEPLOYMENT_POLICY_TOKEN=0fb12341-246b-448d-b07f-c6573ad5ad02\" CP_SILENT=true"), ["DEPLOYMENT_URL", "white space"]),
    case!("args-url-newline", WindowsArgs("CP_ARGS=\"DEPLOYMENT_URL=https://h.example.com\n&DEPLOYMENT_POLICY_TOKEN=0fb12341-246b-448d-b07f-c6573ad5ad02\" CP_SILENT=true"), ["DEPLOYMENT_URL", "U+000A"]),
    case!("args-token-canary", WindowsArgs("CP_ARGS=\"DEPLOYMENT_URL=https://h.example.com&DEPLOYMENT_POLICY_TOKEN=c4n4ry-5ecret-9f8e7d6c5b4a\" CP_SILENT=true"), ["token", "UUID"]),
    case!("args-huge", WindowsArgs(HUGE_ARGS), ["neither NAME=VALUE"]),
    case!("props-unknown-key", DeployProperties(b"DEPLOYMENT_URL=https://h.example.com\nFOO=bar\n"), ["FOO"]),
    case!("props-not-pair", DeployProperties(b"DEPLOYMENT_URL https\n"), ["KEY=VALUE"]),
    case!("props-escaped-newline", DeployProperties(b"DEPLOYMENT_URL=https://h.example.com\\nCP_SILENT=false\n"), ["DEPLOYMENT_URL", "U+000A"]),
    case!("props-not-utf8", DeployProperties(b"DEPLOYMENT_URL=https://h.example.com/\xff\xfe\n"), ["UTF-8"]),
    case!("props-silent-maybe", DeployProperties(b"CP_SILENT=maybe\n"), ["true or false"]),
    // --- Windows installers ------------------------------------------------------------------
    case!("msi-empty", Msi(msi_empty), ["empty"]),
    case!("msi-truncated-header", Msi(msi_truncated_header), ["not a Windows Installer database", "not a valid compound file", "300 bytes is too small"]),
    case!("msi-truncated-half", Msi(msi_truncated_half), ["not a Windows Installer database", "not a valid compound file", "sector"]),
    case!("msi-random", Msi(msi_random), ["not a Windows Installer database"]),
    case!("msi-bad-magic", Msi(msi_bad_magic), ["not a Windows Installer database"]),
    case!("msi-is-pkg", Msi(msi_is_pkg), ["not a Windows Installer database"]),
    case!("msi-is-transform", Msi(msi_is_transform), ["is a transform (.mst), not an MSI database"]),
    case!("msi-compound-not-msi", Msi(msi_compound_not_msi), ["compound file with class ID", "is not an MSI database"]),
    // Damaged databases on which the msi crate panics (committed fuzz inputs, one per place
    // in its reader): an error naming the file, never a panic message.
    case!("msi-fuzz-string-pool", Msi(msi_fuzz_317), ["malformed MSI database", "the MSI reader gave up"]),
    case!("msi-fuzz-columns-a", Msi(msi_fuzz_348), ["malformed MSI database", "the MSI reader gave up"]),
    case!("msi-fuzz-columns-b", Msi(msi_fuzz_350), ["malformed MSI database", "the MSI reader gave up"]),
    case!("msi-fuzz-columns-c", Msi(msi_fuzz_358), ["malformed MSI database", "the MSI reader gave up"]),
    case!("msi-fuzz-columns-d", Msi(msi_fuzz_359), ["malformed MSI database", "the MSI reader gave up"]),
    case!("msi-no-property-table", Msi(msi_no_property_table), ["Property"]),
    case!("msi-is-dmg", Msi(msi_is_dmg), ["not a Windows Installer database"]),
    case!("msi-is-text", Msi(msi_is_text), ["not a Windows Installer database"]),
    case!("msi-missing", Msi(|d| d.join("missing.msi")), ["check the path"]),
    case!("msi-folder", Msi(msi_folder), ["folder"]),
    case!("msi-dev-zero", Msi(|_| PathBuf::from("/dev/zero")), ["not a regular file"]),
    case!("msi-fifo", Msi(msi_fifo), ["not a regular file"]),
    // --- macOS installers --------------------------------------------------------------------
    case!("pkg-empty", Pkg(pkg_empty), ["truncated", "xar magic", "at byte offset 0"]),
    case!("pkg-truncated", Pkg(pkg_truncated), ["truncated"]),
    case!("pkg-random", Pkg(pkg_random), ["xar"]),
    case!("pkg-is-msi", Pkg(pkg_is_msi), ["xar"]),
    case!("pkg-bad-toc-checksum", Pkg(pkg_bad_toc_checksum), ["checksum"]),
    case!("pkg-bad-toc-zlib", Pkg(pkg_bad_toc_zlib), ["table of contents"]),
    case!("pkg-huge-toc-length", Pkg(pkg_huge_toc), ["table of contents"]),
    case!("pkg-is-dmg", Pkg(pkg_is_dmg), ["disk image"]),
    case!("pkg-is-zip", Pkg(pkg_is_zip), ["xar"]),
    case!("pkg-missing", Pkg(|d| d.join("missing.pkg")), ["check the path"]),
    case!("pkg-bundle-folder", Pkg(pkg_folder), ["folder"]),
    case!("pkg-dev-zero", Pkg(|_| PathBuf::from("/dev/zero")), ["not a regular file"]),
];

const BILLION_LAUGHS: &str =
    "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
name: *i
";

const HUGE_ARGS: &str = concat!(
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    " CP_ARGS=\"DEPLOYMENT_URL=https://h.example.com\""
);

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

fn json_deep() -> Vec<u8> {
    format!(
        "{{\"name\": {}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    )
    .into_bytes()
}
fn alias_key_bomb() -> Vec<u8> {
    let mut s = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 0..12 {
        let prev = if i == 0 {
            "a".to_string()
        } else {
            format!("k{}", i - 1)
        };
        s += &format!(
            "k{i}: &k{i} [{}]\n",
            vec![format!("*{prev}"); 10].join(", ")
        );
    }
    s += "organization: *k11\n";
    s.into_bytes()
}
fn yaml_deep() -> Vec<u8> {
    format!(
        "{GOOD}scope: {}{}\n",
        "[".repeat(50_000),
        "]".repeat(50_000)
    )
    .into_bytes()
}
fn value_huge() -> Vec<u8> {
    GOOD.replace(
        "organization: Acme Corp",
        &format!("organization: {}", "A".repeat(100_000)),
    )
    .into_bytes()
}
fn token_huge() -> Vec<u8> {
    GOOD.replace(TOKEN, &"0fb12341-".repeat(300)).into_bytes()
}
fn file_huge() -> Vec<u8> {
    let mut v = GOOD.as_bytes().to_vec();
    v.extend(
        b"# "
            .iter()
            .chain(&[b'x'; 78])
            .chain(b"\n")
            .copied()
            .cycle()
            .take(2 << 20),
    );
    v
}
fn keys_many() -> Vec<u8> {
    let mut s = GOOD.to_string();
    for i in 0..40_000 {
        s += &format!("k{i}: v\n");
    }
    s.into_bytes()
}
fn latin1() -> Vec<u8> {
    GOOD.replace("Acme Corp", "Acme Caf\u{e9}")
        .replace('\u{e9}', "\u{1}")
        .into_bytes()
        .iter()
        .map(|&b| if b == 1 { 0xe9 } else { b })
        .collect()
}
fn utf16() -> Vec<u8> {
    let mut v = vec![0xff, 0xfe];
    for u in GOOD.encode_utf16() {
        v.extend(u.to_le_bytes());
    }
    v
}
fn random_policy() -> Vec<u8> {
    let mut v = noise(4096, 0x9e37_79b9_7f4a_7c15);
    v[0] = 0xc3; // an invalid UTF-8 sequence for sure: 0xc3 followed by a non-continuation byte
    v[1] = 0x28;
    v
}
fn nul_in_file() -> Vec<u8> {
    GOOD.replace("name: acme-prod", "name: acme\0prod")
        .into_bytes()
}

fn fixture_bytes(rel: &str) -> Vec<u8> {
    std::fs::read(common::fixture(rel)).unwrap()
}
fn put(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}
fn msi_empty(d: &Path) -> PathBuf {
    put(d, "vendor.msi", b"")
}
fn msi_truncated_header(d: &Path) -> PathBuf {
    put(d, "vendor.msi", &fixture_bytes("msi/vendor.msi")[..300])
}
fn msi_truncated_half(d: &Path) -> PathBuf {
    let b = fixture_bytes("msi/vendor.msi");
    put(d, "vendor.msi", &b[..b.len() / 2])
}
fn msi_random(d: &Path) -> PathBuf {
    put(d, "vendor.msi", &noise(64 << 10, 42))
}
fn msi_bad_magic(d: &Path) -> PathBuf {
    let mut b = fixture_bytes("msi/vendor.msi");
    b[0] ^= 0xff;
    put(d, "vendor.msi", &b)
}
fn msi_is_pkg(d: &Path) -> PathBuf {
    put(
        d,
        "vendor.msi",
        &fixture_bytes("pkg/vendor-crashplan-dist.pkg"),
    )
}
fn msi_is_transform(d: &Path) -> PathBuf {
    use agentpack::formats::mst::{write_transform, ChangeSet, Database, TransformOptions};
    let base = Database::open(&common::fixture("msi/vendor.msi")).unwrap();
    let mut changes = ChangeSet::new();
    changes.set_property("EXTRAPROP", "x");
    let mst = write_transform(&base, &changes, &TransformOptions::default()).unwrap();
    put(d, "vendor.msi", &mst)
}
fn msi_compound_not_msi(d: &Path) -> PathBuf {
    let p = d.join("vendor.msi");
    let mut c = cfb::create(&p).unwrap();
    let mut s = c.create_stream("/WordDocument").unwrap();
    std::io::Write::write_all(&mut s, b"not an installer").unwrap();
    drop(s);
    c.flush().unwrap();
    p
}
/// `fn NAME(dir) -> path`: the committed fuzz input HASH as `vendor.msi`.
macro_rules! fuzz_msi {
    ($($name:ident = $hash:literal),* $(,)?) => {$(
        fn $name(d: &Path) -> PathBuf {
            put(d, "vendor.msi", &fixture_bytes(concat!("fuzz/msi_open/", $hash)))
        }
    )*};
}
// Named for the line of msi-0.11.1's src/internal/package.rs whose `unwrap` they reach.
fuzz_msi! {
    msi_fuzz_317 = "04c7ed7e74879a031523f81920e97ad2f9ce4b3d",
    msi_fuzz_348 = "0d6affe8c53bdb11b9696564d8375dea1dc4f6d2",
    msi_fuzz_350 = "06101a5ee4b2b56377c92bf6f3b13888d36d8f7b",
    msi_fuzz_358 = "13bb500db1d74758e87f07203544a9f284e679cc",
    msi_fuzz_359 = "5fef02a7687cf2662fbc742b287ad18d3a79e521",
}
fn msi_no_property_table(d: &Path) -> PathBuf {
    let p = d.join("vendor.msi");
    let f = std::fs::File::create(&p).unwrap();
    let pkg = msi::Package::create(msi::PackageType::Installer, f).unwrap();
    drop(pkg);
    p
}
fn dmg_bytes() -> Vec<u8> {
    let mut b = noise(8192, 7);
    let at = b.len() - 512;
    b[at..at + 4].copy_from_slice(b"koly");
    b[at + 4..at + 8].copy_from_slice(&4u32.to_be_bytes());
    b
}
fn msi_is_dmg(d: &Path) -> PathBuf {
    put(d, "vendor.msi", &dmg_bytes())
}
fn msi_is_text(d: &Path) -> PathBuf {
    put(d, "vendor.msi", GOOD.as_bytes())
}
fn msi_folder(d: &Path) -> PathBuf {
    let p = d.join("vendor.msi");
    std::fs::create_dir(&p).unwrap();
    p
}
fn mkfifo(p: &Path) {
    let ok = Command::new("mkfifo")
        .arg(p)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "mkfifo {}", p.display());
}
fn msi_fifo(d: &Path) -> PathBuf {
    let p = d.join("vendor.msi");
    mkfifo(&p);
    p
}
fn pkg_empty(d: &Path) -> PathBuf {
    put(d, "vendor.pkg", b"")
}
fn pkg_truncated(d: &Path) -> PathBuf {
    put(
        d,
        "vendor.pkg",
        &fixture_bytes("pkg/vendor-crashplan-dist.pkg")[..100],
    )
}
fn pkg_random(d: &Path) -> PathBuf {
    put(d, "vendor.pkg", &noise(64 << 10, 4242))
}
fn pkg_is_msi(d: &Path) -> PathBuf {
    put(d, "vendor.pkg", &fixture_bytes("msi/vendor.msi"))
}
/// The fixture with one byte of the stored TOC checksum (heap offset 0) flipped.
fn pkg_bad_toc_checksum(d: &Path) -> PathBuf {
    let mut b = fixture_bytes("pkg/vendor-crashplan-dist.pkg");
    let header = u16::from_be_bytes([b[4], b[5]]) as usize;
    let toc_len = u64::from_be_bytes(b[8..16].try_into().unwrap()) as usize;
    b[header + toc_len] ^= 0x01;
    put(d, "vendor.pkg", &b)
}
/// One byte inside the compressed TOC flipped.
fn pkg_bad_toc_zlib(d: &Path) -> PathBuf {
    let mut b = fixture_bytes("pkg/vendor-crashplan-dist.pkg");
    let header = u16::from_be_bytes([b[4], b[5]]) as usize;
    b[header + 1] ^= 0xff;
    b[header + 7] ^= 0xff;
    put(d, "vendor.pkg", &b)
}
fn pkg_huge_toc(d: &Path) -> PathBuf {
    let mut b = fixture_bytes("pkg/vendor-crashplan-dist.pkg");
    b[8..16].copy_from_slice(&(1u64 << 60).to_be_bytes());
    put(d, "vendor.pkg", &b)
}
fn pkg_is_dmg(d: &Path) -> PathBuf {
    put(d, "vendor.pkg", &dmg_bytes())
}
fn pkg_is_zip(d: &Path) -> PathBuf {
    let mut b = b"PK\x03\x04".to_vec();
    b.extend(noise(1000, 99));
    put(d, "vendor.pkg", &b)
}
fn pkg_folder(d: &Path) -> PathBuf {
    let p = d.join("vendor.pkg");
    std::fs::create_dir_all(p.join("Contents")).unwrap();
    p
}

/// GOOD with the edits of an `Input::Edit`.
fn edited(edits: &str) -> String {
    let mut lines: Vec<String> = GOOD.lines().map(str::to_string).collect();
    // Where the previous edit's line is: indented continuation lines (block scalars) follow it.
    let mut last = lines.len();
    for e in edits.lines() {
        if e.starts_with(' ') {
            last += 1;
            lines.insert(last.min(lines.len()), e.to_string());
        } else if let Some(k) = e.strip_prefix('-') {
            lines.retain(|l| !l.starts_with(&format!("{k}:")));
            last = lines.len();
        } else if let Some(raw) = e.strip_prefix('+') {
            lines.push(raw.to_string());
            last = lines.len() - 1;
        } else if let Some((k, _)) = e.split_once(':') {
            match lines.iter().position(|l| l.starts_with(&format!("{k}:"))) {
                Some(i) => {
                    lines[i] = e.to_string();
                    last = i;
                }
                None => {
                    lines.push(e.to_string());
                    last = lines.len() - 1;
                }
            }
        }
    }
    lines.join("\n") + "\n"
}

pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

/// Run agentpack in `cwd` with a deadline; a hang is killed and reported, never waited out.
pub fn agentpack(args: &[OsString], cwd: &Path) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_agentpack"))
        .args(args)
        .current_dir(cwd)
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("AGENTPACK_HOSTILE_UNSET")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn agentpack");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > TIMEOUT {
            timed_out = true;
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&t_out.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&t_err.join().unwrap()).into_owned(),
        timed_out,
    }
}

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

/// Every file below `dir` with its mode and bytes, sorted by path.
fn snapshot(dir: &Path) -> Vec<(String, u32, Vec<u8>)> {
    let mut v: Vec<_> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .map(|e| {
            let meta = e.path().symlink_metadata().unwrap();
            let bytes = if meta.is_file() {
                std::fs::read(e.path()).unwrap()
            } else {
                Vec::new()
            };
            (
                e.path().strip_prefix(dir).unwrap().display().to_string(),
                meta.permissions().mode(),
                bytes,
            )
        })
        .collect();
    v.sort();
    v
}

fn copy_tree(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.unwrap();
        let dest = to.join(e.path().strip_prefix(from).unwrap());
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
        let mode = e.metadata().unwrap().permissions().mode();
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(mode)).unwrap();
    }
}

/// A previous good build, made once and copied into each case's folder.
fn template_out() -> &'static Path {
    static T: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    T.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("good.yaml"), GOOD).unwrap();
        let r = agentpack(
            &os(&["build", "--policy", "good.yaml", "--out", "dist"]),
            dir.path(),
        );
        assert_eq!(r.code, Some(0), "template build failed: {}", r.stderr);
        dir
    })
    .path()
}

/// The helper files every case folder holds (referenced by token_file cases).
fn case_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&template_out().join("dist"), &dir.path().join("dist"));
    std::fs::write(dir.path().join("good.yaml"), GOOD).unwrap();
    std::fs::write(dir.path().join("big.token"), "0".repeat(1 << 20)).unwrap();
    std::fs::create_dir(dir.path().join("dir.token")).unwrap();
    mkfifo(&dir.path().join("fifo.token"));
    dir
}

/// The invocations of one case: (what, args, file the message must name).
fn invocations(case: &Case, dir: &Path) -> Vec<(String, Vec<OsString>, String)> {
    let policy_file = |ext: &str, bytes: &[u8]| {
        let name = format!("{}.{ext}", case.id);
        std::fs::write(dir.join(&name), bytes).unwrap();
        name
    };
    let builds = |extra: &[&str], named: &str| {
        let mut v = Vec::new();
        for out in ["dist", "fresh"] {
            let mut a = os(&["build", "--out", out]);
            a.extend(os(extra));
            v.push((format!("build into {out}"), a, named.to_string()));
        }
        v
    };
    let import = |source: &[&str], named: &str| {
        let base = [
            "policy",
            "import",
            "--name",
            "acme-prod",
            "--product",
            "crashplan",
        ];
        let mut stdout = os(&base);
        stdout.extend(os(source));
        let mut file = stdout.clone();
        file.extend(os(&["-o", "fresh.yaml"]));
        let mut json = os(&["--json"]);
        json.extend(stdout.clone());
        vec![
            ("import to stdout".to_string(), stdout, named.to_string()),
            ("import -o".to_string(), file, named.to_string()),
            ("import --json".to_string(), json, named.to_string()),
        ]
    };
    match case.input {
        Edit(_) | Yaml(_) | Json(_) | Bytes(_) => {
            let name = match case.input {
                Edit(e) => policy_file("yaml", edited(e).as_bytes()),
                Yaml(t) => policy_file("yaml", t.as_bytes()),
                Json(t) => policy_file("json", t.as_bytes()),
                Bytes(f) => policy_file("yaml", &f()),
                _ => unreachable!(),
            };
            let mut v = builds(&["--policy", &name], &name);
            v.push((
                "policy check".into(),
                os(&["policy", "check", &name]),
                name.clone(),
            ));
            v
        }
        WindowsArgs(a) => import(&["--windows-args", a], "--windows-args"),
        DeployProperties(b) => {
            let name = policy_file("properties", b);
            import(&["--deploy-properties", &name], &name)
        }
        Msi(make) | Pkg(make) => {
            let file = make(dir);
            let flag = if matches!(case.input, Msi(_)) {
                "--msi"
            } else {
                "--pkg"
            };
            let shown = file.file_name().unwrap().to_string_lossy().into_owned();
            let path = file.to_string_lossy().into_owned();
            let mut v = builds(&["--policy", "good.yaml", flag, &path], &shown);
            // A transform is a valid input of `inspect`.
            if matches!(case.input, Msi(_)) && case.id != "msi-is-transform" {
                v.push(("inspect".into(), os(&["inspect", &path]), shown));
            }
            v
        }
    }
}

/// Run every case whose id starts with one of `prefixes`; report all failures at once.
fn run_cases(prefixes: &[&str]) {
    let cases: Vec<&Case> = CASES
        .iter()
        .filter(|c| prefixes.iter().any(|p| c.id.starts_with(p)))
        .collect();
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for case in cases {
        let dir = case_folder();
        let before = snapshot(&dir.path().join("dist"));
        for (what, args, named) in invocations(case, dir.path()) {
            let r = agentpack(&args, dir.path());
            let mut wrong = Vec::new();
            if r.timed_out {
                wrong.push(format!("hung (killed after {TIMEOUT:?})"));
            }
            if r.code != Some(2) {
                wrong.push(format!("exit {:?}, expected 2", r.code));
            }
            let all = format!("{}{}", r.stdout, r.stderr);
            if all.contains("panicked") || r.code == Some(101) {
                wrong.push("panicked".into());
            }
            if !r.stderr.contains(&named) {
                wrong.push(format!("message does not name {named}"));
            }
            if !r.stderr.contains("hint:") {
                wrong.push("message gives no hint".into());
            }
            // The fragments describe the build's message; `inspect` words its own.
            for e in case.expect.iter().filter(|_| what != "inspect") {
                if !r.stderr.contains(e) {
                    wrong.push(format!("message lacks {e:?}"));
                }
            }
            if all.contains(CANARY) || all.contains(TOKEN) {
                wrong.push("a secret value was echoed".into());
            }
            if !args.iter().any(|a| a == "--json") && !r.stdout.is_empty() {
                wrong.push(format!(
                    "printed on stdout: {}",
                    r.stdout.chars().take(200).collect::<String>()
                ));
            }
            if args.iter().any(|a| a == "--json")
                && serde_json::from_str::<serde_json::Value>(&r.stdout)
                    .map_or(true, |v| v["ok"] != false)
            {
                wrong.push("--json did not print {\"ok\": false, ...}".into());
            }
            if dir.path().join("fresh").exists() || dir.path().join("fresh.yaml").exists() {
                wrong.push("created an output".into());
                let _ = std::fs::remove_dir_all(dir.path().join("fresh"));
                let _ = std::fs::remove_file(dir.path().join("fresh.yaml"));
            }
            if snapshot(&dir.path().join("dist")) != before {
                wrong.push("changed the existing OUT".into());
            }
            let debris: Vec<String> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| {
                    n.starts_with('.') || n.contains("staging") || n.contains("agentpack-tmp")
                })
                .collect();
            if !debris.is_empty() {
                wrong.push(format!("left {debris:?}"));
            }
            if !wrong.is_empty() {
                let msg = r.stderr.chars().take(600).collect::<String>();
                failures.push(format!(
                    "{} [{what}]: {}\n    stderr: {msg}",
                    case.id,
                    wrong.join("; ")
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} hostile case run(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_case_table_is_large_and_unique() {
    assert!(CASES.len() >= 60, "{} cases", CASES.len());
    let mut ids: Vec<_> = CASES.iter().map(|c| c.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), CASES.len(), "case ids are unique");
    for c in CASES {
        let known = [
            "name",
            "organization",
            "cloaked",
            "token",
            "url",
            "registration",
            "scope",
            "product",
            "key",
            "duplicate",
            "document",
            "json",
            "alias",
            "nesting",
            "value",
            "file",
            "keys",
            "bytes",
            "proxy",
            "fingerprint",
            "args",
            "props",
            "msi",
            "pkg",
        ];
        assert!(
            known.iter().any(|k| c.id.starts_with(k)),
            "{} is run by no test",
            c.id
        );
    }
}

#[test]
fn hostile_policy_values() {
    run_cases(&[
        "name",
        "organization",
        "cloaked",
        "token",
        "url",
        "registration",
        "scope",
        "product",
        "proxy",
        "fingerprint",
    ]);
}

#[test]
fn hostile_policy_structure() {
    run_cases(&[
        "key",
        "duplicate",
        "document",
        "json",
        "alias",
        "nesting",
        "value",
        "file",
        "keys",
        "bytes",
    ]);
}

#[test]
fn hostile_console_arguments() {
    run_cases(&["args", "props"]);
}

#[test]
fn hostile_windows_installers() {
    run_cases(&["msi"]);
}

/// Every committed MSI fuzz input through `agentpack inspect`: a result or an error naming the
/// file, never a panic message (the msi crate panics on some; those panics are caught and kept
/// quiet, and the input is reported as damaged).
#[test]
fn msi_fuzz_corpus_through_inspect_prints_no_panic() {
    let corpus = common::fixture("fuzz/msi_open");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() > 100, "{} inputs", files.len());
    let dir = tempfile::tempdir().unwrap();
    let check = |f: &PathBuf| -> Result<bool, String> {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let r = agentpack(&[OsString::from("inspect"), f.clone().into()], dir.path());
        let wrong = if r.timed_out {
            "hung".to_string()
        } else if r.stderr.contains("panicked") || r.stdout.contains("panicked") {
            format!("printed a panic: {}", r.stderr.lines().next().unwrap_or(""))
        } else if !matches!(r.code, Some(0) | Some(2)) {
            format!("exit {:?}: {}", r.code, r.stderr)
        } else if r.code == Some(2) && !r.stderr.contains(&name) {
            format!("the error does not name the file: {}", r.stderr)
        } else {
            return Ok(r.stderr.contains("malformed MSI database"));
        };
        Err(format!("{name}: {wrong}"))
    };
    // Two at a time: a process each.
    let (a, b) = files.split_at(files.len() / 2);
    let results: Vec<Result<bool, String>> = std::thread::scope(|s| {
        let t = s.spawn(|| a.iter().map(check).collect::<Vec<_>>());
        let mut r: Vec<_> = b.iter().map(check).collect();
        r.extend(t.join().unwrap());
        r
    });
    let failures: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    let damaged = results.iter().filter(|r| matches!(r, Ok(true))).count();
    assert!(
        failures.is_empty(),
        "{}",
        failures
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The inputs on which the msi crate panics are among them.
    assert!(damaged >= 5, "{damaged} reported as malformed");
}

#[test]
fn hostile_macos_installers() {
    run_cases(&["pkg"]);
}

/// Values validation allows although they hold metacharacters of every target.
const ALLOWED: &[(&str, &str)] = &[
    ("organization", "Acme \"Corp\" & Sons <b>&amp;</b> ]]> <!-- --> $(touch MARKER) `touch MARKER` ; | ^ %PATH% !PATH! ' \\ $HOME ${IFS} @(a) {0} \u{e9}\u{4e2d}\u{1f600}"),
    ("organization", "'; touch MARKER; echo '"),
    ("organization", "\"; touch MARKER; echo \""),
    ("organization", "</string><key>x</key><string>"),
    ("organization", "%~dp0 & calc & rem ^"),
    ("organization", "$(Remove-Item MARKER) ; Write-Host '@'"),
    ("deployment_url", "https://backup.example.com:4285/$(touch${IFS}MARKER)/`touch${IFS}MARKER`/'x'/;|<>%PATH%^!$HOME"),
    ("proxy_url", "http://proxy.example.com:8080/$(touch${IFS}MARKER)/'a'/<b>/%TEMP%/x.pac"),
];

fn files_below(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect()
}

/// The deploy.properties GOOD with `key: value` must give (written independently of agentpack's
/// renderer: KEY=VALUE lines, values as they are).
fn expected_properties(key: &str, value: &str) -> String {
    let url = if key == "deployment_url" {
        value
    } else {
        "https://backup.example.com:4285"
    };
    let mut s = format!("DEPLOYMENT_URL={url}\nDEPLOYMENT_POLICY_TOKEN={TOKEN}\n");
    if key == "proxy_url" {
        s += &format!("PROXY_URL={value}\n");
    }
    s + "CP_SILENT=true\nDEVICE_CLOAKED=false\n"
}

/// What running one of the scripts that write deploy.properties got wrong.
fn script_run_problems(what: &str, run: &support::Run, want: &str, marker: &Path) -> Vec<String> {
    let mut wrong = Vec::new();
    if !run.ok {
        wrong.push(format!("{what} failed: {}{}", run.stdout, run.stderr));
    }
    match run.written(support::PROPS_PATH) {
        Some((bytes, mode)) => {
            if bytes != want.as_bytes() {
                wrong.push(format!(
                    "{what} wrote {:?}, expected {want:?}",
                    String::from_utf8_lossy(&bytes)
                ));
            }
            if mode != 0o600 {
                wrong.push(format!("{what} wrote mode {mode:o}"));
            }
        }
        None => wrong.push(format!("{what} wrote no deploy.properties")),
    }
    let created: Vec<_> = std::fs::read_dir(run.cwd.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    if !created.is_empty() || marker.exists() {
        wrong.push(format!("{what} executed a value (created {created:?})"));
    }
    if run.stdout.contains(TOKEN) || run.stderr.contains(TOKEN) {
        wrong.push(format!("{what} logged the token"));
    }
    wrong
}

#[test]
fn allowed_metacharacters_build_safely() {
    let xmllint = common::program("allowed_metacharacters_build_safely", "xmllint");
    let pkg = common::fixture("pkg/vendor-crashplan-dist.pkg");
    let msi = common::fixture("msi/vendor.msi");
    let mut failures = Vec::new();
    for (i, (key, value)) in ALLOWED.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("MARKER");
        let value = value.replace("MARKER", &marker.to_string_lossy());
        let text = edited(&format!(
            "{key}: {}",
            serde_json::to_string(&value).unwrap()
        ));
        std::fs::write(dir.path().join("p.yaml"), &text).unwrap();
        for extra in [&[][..], &["--jamf-params"][..], &["--wrap-vendor"][..]] {
            let mut args = os(&["build", "--policy", "p.yaml", "--out", "dist", "--msi"]);
            args.push(msi.clone().into());
            args.push("--pkg".into());
            args.push(pkg.clone().into());
            args.extend(os(extra));
            let r = agentpack(&args, dir.path());
            let tag = format!("allowed #{i} {key} {extra:?}");
            if r.code != Some(0) {
                failures.push(format!("{tag}: exit {:?}: {}", r.code, r.stderr));
                continue;
            }
            for f in files_below(&dir.path().join("dist")) {
                let name = f.file_name().unwrap().to_string_lossy().into_owned();
                let bytes = std::fs::read(&f).unwrap();
                let is_xml = [".xml", ".mobileconfig", ".plist"]
                    .iter()
                    .any(|x| name.ends_with(x))
                    || bytes.starts_with(b"<?xml");
                if is_xml {
                    if let Some(x) = &xmllint {
                        let o = Command::new(x).arg("--noout").arg(&f).output().unwrap();
                        if !o.status.success() {
                            failures.push(format!(
                                "{tag}: {name} is not well-formed XML: {}",
                                String::from_utf8_lossy(&o.stderr)
                            ));
                        }
                    }
                }
                if name.ends_with(".json")
                    && serde_json::from_slice::<serde_json::Value>(&bytes).is_err()
                {
                    failures.push(format!("{tag}: {name} is not valid JSON"));
                }
                if name.ends_with(".sh")
                    || bytes.starts_with(b"#!/bin/sh")
                    || bytes.starts_with(b"#!/bin/bash")
                {
                    let o = Command::new("sh").arg("-n").arg(&f).output().unwrap();
                    if !o.status.success() {
                        failures.push(format!(
                            "{tag}: {name} fails sh -n: {}",
                            String::from_utf8_lossy(&o.stderr)
                        ));
                    }
                }
            }
            // Run what writes deploy.properties on a Mac, against a scratch target volume.
            let pol = dir.path().join("dist/acme-prod");
            let want = expected_properties(key, &value);
            let built = std::fs::read(pol.join("macos/deploy.properties")).unwrap();
            if built != want.as_bytes() {
                failures.push(format!(
                    "{tag}: deploy.properties is {:?}, expected {want:?}",
                    String::from_utf8_lossy(&built)
                ));
            }
            let preinstall = support::preinstall_of(&pol.join("macos/acme-prod-config.pkg"), None);
            let run = support::run_sh(&preinstall, |vol| {
                vec!["/pkg".into(), "/".into(), vol.into(), "/".into()]
            });
            let problems = script_run_problems("preinstall", &run, &want, &marker);
            failures.extend(problems.into_iter().map(|p| format!("{tag}: {p}")));
            let jamf = std::fs::read_to_string(pol.join("jamf/install-acme-prod.sh")).unwrap();
            let params = extra.contains(&"--jamf-params");
            let run = support::run_sh(&jamf, |vol| {
                let mut v = vec![vol.to_string(), "mac-01".into(), "jdoe".into()];
                if params {
                    // The token is the one value the script needs; the others are built in.
                    v.extend(["".to_string(), TOKEN.into()]);
                    v.extend(std::iter::repeat_n(String::new(), 6));
                }
                v
            });
            let problems = script_run_problems("Jamf script", &run, &want, &marker);
            failures.extend(problems.into_iter().map(|p| format!("{tag}: {p}")));
            let v = agentpack(&os(&["verify", "dist"]), dir.path());
            if v.code != Some(0) {
                failures.push(format!("{tag}: verify failed: {}{}", v.stdout, v.stderr));
            }
            if marker.exists() {
                failures.push(format!("{tag}: a value was executed (the marker exists)"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
