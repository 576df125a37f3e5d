//! The fuzz entry points, shared by the `cargo fuzz` targets (`fuzz_targets/*.rs`) and by the
//! stable-toolchain corpus replay in `tests/fuzz_replay.rs` (which includes this file by path).
//!
//! Each entry feeds untrusted bytes to one of agentpack's readers and checks the invariants that
//! must hold for *any* input: no panic, errors are bad-input errors (exit 2) rather than internal
//! ones, and what comes out of a successful parse can be used (rendered, re-read) without panics.

use agentpack::error::Kind;
use agentpack::formats::mst::{self, ChangeSet, Database, TransformOptions};
use agentpack::formats::xar::{EntryKind, XarReader};
use agentpack::policy::{self, LoadOptions, TokenOut};
use agentpack::product::Products;
use std::cell::Cell;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The token `token_env: FUZZ_TOKEN` resolves to.
pub const TOKEN: &str = "0fb12341-246b-448d-b07f-c6573ad5ad02";

fn products() -> &'static Products {
    static P: OnceLock<Products> = OnceLock::new();
    P.get_or_init(|| Products::load(None).expect("embedded profiles load"))
}

fn env(name: &str) -> Option<String> {
    (name == "FUZZ_TOKEN").then(|| TOKEN.to_string())
}

thread_local! {
    /// Panics on this thread that were not a third-party reader's inside a guarded call.
    static UNEXPECTED: Cell<usize> = const { Cell::new(0) };
}

/// How many unexpected panics this thread has seen: a panic of agentpack's own code, or one
/// outside [`agentpack::panic_guard::third_party`], counts even when something caught it.
pub fn unexpected_panics() -> usize {
    UNEXPECTED.with(Cell::get)
}

/// Set the process's panic hook (once): silent for the panics `panic_guard::third_party`
/// expects (the `msi`/`cfb` crates on malformed files, turned into errors), else counted, the
/// previous hook's report, and with `abort` an abort, so that libFuzzer records the crash with
/// its message.
pub fn install_panic_hook(abort: bool) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if agentpack::panic_guard::note(info) {
                return;
            }
            UNEXPECTED.with(|c| c.set(c.get() + 1));
            previous(info);
            if abort {
                std::process::abort();
            }
        }));
    });
}

/// `agentpack::policy::load_policy_text` on YAML and JSON, then the renderers on success.
pub fn policy_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let opts = LoadOptions {
        products: products(),
        default_product: Some("crashplan"),
        env: &env,
    };
    for name in ["fuzz.yaml", "fuzz.json"] {
        match policy::load_policy_text(Path::new(name), text, &opts) {
            Ok(p) => {
                let product = products()
                    .get(&p.product)
                    .expect("a loaded policy names a known product");
                if let Some(props) = agentpack::windows::windows_properties(&p, product) {
                    let r = agentpack::windows::render_install_args(&props);
                    assert!(
                        r.as_ref()
                            .map_or_else(|e| e.kind == Kind::BadInput, |_| true),
                        "{r:?}"
                    );
                }
                let r = agentpack::macos::render_deploy_properties(&p, product);
                assert!(
                    r.as_ref()
                        .map_or_else(|e| e.kind == Kind::BadInput, |_| true),
                    "{r:?}"
                );
                assert!(
                    !format!("{p:?}").contains(p.token.expose()),
                    "Debug shows the token"
                );
            }
            Err(e) => {
                assert_eq!(e.kind, Kind::BadInput, "{e}");
                assert!(!e.problems.is_empty());
                let _ = e.to_string();
            }
        }
    }
}

/// `import_windows_args` and `import_deploy_properties` for every product; an import that
/// succeeds renders a policy that is valid YAML and loads (or fails on a field, never on syntax).
pub fn import_args(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let opts = LoadOptions {
        products: products(),
        default_product: None,
        env: &env,
    };
    for product in products().all() {
        for imported in [
            policy::import_windows_args(text, product),
            policy::import_deploy_properties(text, product),
        ] {
            let v = match imported {
                Ok(v) => v,
                Err(e) => {
                    assert_eq!(e.kind, Kind::BadInput, "{e}");
                    continue;
                }
            };
            let yaml =
                policy::render_policy_yaml("fuzz", &product.id, "Fuzz Org", &v, TokenOut::Inline);
            if let Err(e) = policy::load_policy_text(Path::new("fuzz.yaml"), &yaml, &opts) {
                assert_eq!(e.kind, Kind::BadInput, "{e}");
                assert!(
                    e.problems.iter().all(|p| p.field.is_some()),
                    "the rendered policy is not valid YAML: {e}\n{yaml}"
                );
            }
        }
    }
}

fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("agentpack-fuzz-{}-{name}", std::process::id()))
}

/// `Database::open` on the bytes (written to a scratch file), then everything a build does
/// with a base MSI: identity, properties, tables, a transform written and read back, a diff.
pub fn msi_open(data: &[u8]) {
    let path = scratch(&format!("{:?}.msi", std::thread::current().id()).replace(['(', ')'], ""));
    std::fs::write(&path, data).expect("write scratch file");
    let db = Database::open(&path);
    let _ = std::fs::remove_file(&path);
    let db = match db {
        Ok(db) => db,
        Err(e) => {
            assert!(e.is_bad_input(), "{e}");
            assert!(
                e.to_string().contains("agentpack-fuzz"),
                "the error names the file: {e}"
            );
            return;
        }
    };
    let _ = serde_json::to_string(db.identity());
    let _ = db.properties();
    for t in db.tables() {
        let _ = t.len();
    }
    let mut changes = ChangeSet::new();
    changes.set_property("DEPLOYMENT_URL", "https://fuzz.example.com:4285");
    changes.set_property("ProductName", "");
    if let Ok(mst) = mst::write_transform(&db, &changes, &TransformOptions::default()) {
        let back = mst::read_transform(&mst, Some(&db));
        assert!(
            back.is_ok(),
            "a transform we wrote does not read back: {:?}",
            back.err()
        );
    }
    let _ = mst::diff(&db, &db);
}

fn base_msi() -> Option<&'static Database> {
    static BASE: OnceLock<Option<Database>> = OnceLock::new();
    BASE.get_or_init(|| {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        [
            here.join("tests/fixtures/msi/vendor.msi"),
            here.join("../tests/fixtures/msi/vendor.msi"),
        ]
        .iter()
        .find(|p| p.is_file())
        .and_then(|p| Database::open(p).ok())
    })
    .as_ref()
}

/// `read_transform` without and with a base database; a decoded transform prints and serializes.
pub fn mst_read(data: &[u8]) {
    for base in [None, base_msi()] {
        match mst::read_transform(data, base) {
            Ok(dump) => {
                let _ = dump.to_string();
                let _ = serde_json::to_string(&dump);
                let _ = dump.changes();
            }
            Err(e) => assert!(e.is_bad_input(), "{e}"),
        }
    }
}

/// `XarReader::new` on the bytes, then every member read (bounded) and checked; then
/// `flatpkg::inspect` (what a build does with `--pkg`) on the same bytes as a file.
pub fn xar_read(data: &[u8]) {
    xar_members(data);
    let path = scratch(&format!("{:?}.pkg", std::thread::current().id()).replace(['(', ')'], ""));
    std::fs::write(&path, data).expect("write scratch file");
    let r = agentpack::formats::flatpkg::inspect(&path);
    let _ = std::fs::remove_file(&path);
    match r {
        Ok(facts) => {
            let _ = facts.components.len();
        }
        Err(e) => {
            assert!(e.is_bad_input(), "{e}");
            assert!(
                e.to_string().contains("agentpack-fuzz"),
                "the error names the file: {e}"
            );
        }
    }
}

fn xar_members(data: &[u8]) {
    let mut r = match XarReader::new(Cursor::new(data), "fuzz.pkg") {
        Ok(r) => r,
        Err(e) => {
            assert!(e.is_bad_input(), "{e}");
            assert!(
                e.to_string().contains("fuzz.pkg"),
                "the error names the file: {e}"
            );
            return;
        }
    };
    let _ = r.toc().is_signed();
    let files: Vec<String> = r
        .entries()
        .iter()
        .filter(|e| e.kind == EntryKind::File)
        .map(|e| e.path.clone())
        .collect();
    for path in files.iter().take(64) {
        if let Err(e) = r.read_member(path, 1 << 20) {
            assert!(e.is_bad_input(), "{e}");
        }
    }
}
