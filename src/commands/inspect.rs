//! `agentpack inspect FILE [--base MSI]` and `agentpack mst diff BASE MODIFIED -o OUT`.
//!
//! Tokens never reach stdout, stderr or `--json`: every shown value goes through
//! `windows::redact` (token keys of packed properties and bare UUIDs are masked), unless the
//! user asks for them with `inspect --show-secrets`.

use super::print_json;
use crate::error::{Error, Problem, Result};
use crate::formats::mst::{
    self, Database, Identity, MstError, RowChange, TransformDump, TransformOptions, Value,
};
use crate::windows::redact::{holds_token, redact, token_keys};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

const INSPECT_HINT: &str = "inspect reads Windows Installer databases (.msi) and transforms (.mst); pass a complete, undamaged file";
const DIFF_HINT: &str = "mst diff writes inserts, updates and deletes of rows, new tables and appended non-key columns: make MODIFIED from a copy of BASE (e.g. with msibuild) so that nothing else changes";

/// An MST-layer error as a bad-input (or internal) error, tokens masked.
fn mst_err(file: &Path, e: MstError, keys: &[String]) -> Error {
    mst_err_hint(file, e, keys, INSPECT_HINT)
}

/// An error of `mst diff`: a change a transform cannot carry gets the diff's hint; an unreadable
/// file the inspect one.
fn diff_err(file: &Path, e: MstError, keys: &[String]) -> Error {
    let hint = if e.kind() == mst::ErrorKind::InvalidChange {
        DIFF_HINT
    } else {
        INSPECT_HINT
    };
    mst_err_hint(file, e, keys, hint)
}

fn mst_err_hint(file: &Path, e: MstError, keys: &[String], hint: &str) -> Error {
    if !e.is_bad_input() {
        return Error::internal(redact(&e.to_string(), keys));
    }
    let text = redact(&e.to_string(), keys);
    let shown = e.path().unwrap_or(file);
    let message = text
        .strip_prefix(&format!("{}: ", shown.display()))
        .unwrap_or(&text)
        .to_string();
    Error::bad_input(Problem::new(message).file(shown).hint(hint))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Msi,
    Transform,
}

/// Tell an MSI from a transform by the root class ID (never panics on garbage); any other
/// class is left to `Database::open` to explain.
fn sniff(file: &Path) -> Result<FileKind> {
    crate::build::regular_file(file, ".msi or .mst")?;
    let f = std::fs::File::open(file).map_err(|e| Error::io(file, "open", e))?;
    let clsid = crate::panic_guard::third_party(|| {
        cfb::CompoundFile::open(f)
            .ok()
            .map(|c| c.root_entry().clsid().hyphenated().to_string())
    })
    .ok()
    .flatten();
    let is_mst = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("mst"));
    Ok(match clsid.as_deref() {
        Some("000c1082-0000-0000-c000-000000000046") => FileKind::Transform,
        // Not even a compound file: let the reader the name suggests explain what is wrong.
        None if is_mst => FileKind::Transform,
        _ => FileKind::Msi,
    })
}

pub fn run_with(file: &Path, base: Option<&Path>, json: bool, show_secrets: bool) -> Result<i32> {
    let keys = token_keys();
    let mask = |s: &str| {
        if show_secrets {
            s.to_string()
        } else {
            redact(s, &keys)
        }
    };
    match sniff(file)? {
        FileKind::Msi => {
            let db = Database::open(file).map_err(|e| mst_err(file, e, &keys))?;
            let properties: BTreeMap<String, String> = db
                .properties()
                .into_iter()
                .map(|(n, v)| (n.to_string(), mask(v)))
                .collect();
            if json {
                print_json(&MsiJson {
                    kind: "msi",
                    identity: db.identity(),
                    properties,
                });
            } else {
                out_raw!("{}", msi_text(db.identity(), &properties));
            }
        }
        FileKind::Transform => {
            if let Some(b) = base {
                crate::build::regular_file(b, "base .msi")?;
            }
            let base = base
                .map(|b| Database::open(b).map_err(|e| mst_err(b, e, &keys)))
                .transpose()?;
            let mut dump = mst::read_transform_file(file, base.as_ref())
                .map_err(|e| mst_err(file, e, &keys))?;
            if !show_secrets {
                mask_dump(&mut dump, &keys);
            }
            if json {
                print_json(&MstJson {
                    kind: "transform",
                    dump: &dump,
                });
            } else {
                out_raw!("{dump}");
            }
        }
    }
    Ok(0)
}

#[derive(Serialize)]
struct MsiJson<'a> {
    kind: &'static str,
    identity: &'a Identity,
    properties: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct MstJson<'a> {
    kind: &'static str,
    #[serde(flatten)]
    dump: &'a TransformDump,
}

fn msi_text(id: &Identity, properties: &BTreeMap<String, String>) -> String {
    let mut s = String::new();
    let mut line = |k: &str, v: &str| s.push_str(&format!("{k:<17}{v}\n"));
    line("ProductName:", &id.product_name);
    line("ProductVersion:", &id.product_version);
    line("Manufacturer:", &id.manufacturer);
    line("ProductCode:", &id.product_code);
    line(
        "UpgradeCode:",
        id.upgrade_code.as_deref().unwrap_or("(none)"),
    );
    line("ProductLanguage:", &id.product_language);
    line("Codepage:", &id.codepage.to_string());
    line("Template:", &id.template);
    s.push_str(&format!("Property table ({} rows):\n", properties.len()));
    for (k, v) in properties {
        s.push_str(&format!("  {k}={v}\n"));
    }
    s
}

fn mask_values<'a>(values: impl Iterator<Item = &'a mut Value>, keys: &[String]) {
    for v in values {
        if let Value::Str(s) = v {
            *s = redact(s, keys);
        }
    }
}

/// Mask every string cell of every row change.
fn mask_dump(dump: &mut TransformDump, keys: &[String]) {
    for t in &mut dump.tables {
        for row in &mut t.rows {
            match row {
                RowChange::Insert { row } => mask_values(row.iter_mut(), keys),
                RowChange::Update { key, columns } => {
                    mask_values(key.iter_mut(), keys);
                    mask_values(columns.iter_mut().map(|(_, v)| v), keys);
                }
                RowChange::Delete { key } => mask_values(key.iter_mut(), keys),
            }
        }
    }
}

#[derive(Serialize)]
struct DiffSummary {
    output: String,
    tables: Vec<TableCount>,
    /// The transform holds a value that looks like a deployment token: written 0600.
    secret: bool,
}

#[derive(Serialize)]
struct TableCount {
    name: String,
    added: bool,
    added_columns: usize,
    inserts: usize,
    updates: usize,
    deletes: usize,
}

pub fn mst_diff(base: &Path, modified: &Path, output: &Path, json: bool) -> Result<i32> {
    let keys = token_keys();
    crate::build::regular_file(base, "base .msi")?;
    crate::build::regular_file(modified, "modified .msi")?;
    let base_db = Database::open(base).map_err(|e| diff_err(base, e, &keys))?;
    let mod_db = Database::open(modified).map_err(|e| diff_err(modified, e, &keys))?;
    let changes = mst::diff(&base_db, &mod_db).map_err(|e| diff_err(modified, e, &keys))?;
    // A diff may change the product's identity (e.g. between two builds): allowed here.
    // Its summary describes the modified database as the result.
    let opts = TransformOptions {
        allow_identity_change: true,
        result_template: Some(mod_db.template().to_string()),
        page_count: Some(mod_db.page_count()),
        ..TransformOptions::default()
    };
    let tables = mst::resolve(&base_db, &changes).map_err(|e| diff_err(modified, e, &keys))?;
    let bytes =
        mst::write_resolved(&base_db, &tables, &opts).map_err(|e| diff_err(modified, e, &keys))?;
    let secret = tables
        .iter()
        .flat_map(|t| &t.rows)
        .any(|r| row_holds_token(r, &keys));
    write_output(output, &bytes, if secret { 0o600 } else { 0o644 })?;

    let summary = DiffSummary {
        output: crate::build::display_path(output),
        secret,
        tables: tables
            .iter()
            .map(|t| {
                let count = |f: fn(&RowChange) -> bool| t.rows.iter().filter(|r| f(r)).count();
                TableCount {
                    name: t.schema.name.clone(),
                    added: t.added,
                    added_columns: t.added_columns,
                    inserts: count(|r| matches!(r, RowChange::Insert { .. })),
                    updates: count(|r| matches!(r, RowChange::Update { .. })),
                    deletes: count(|r| matches!(r, RowChange::Delete { .. })),
                }
            })
            .collect(),
    };
    if json {
        print_json(&summary);
    } else {
        out!("wrote {} ({} bytes)", summary.output, bytes.len());
        for t in &summary.tables {
            let new = match (t.added, t.added_columns) {
                (true, _) => " (new table)".to_string(),
                (false, 0) => String::new(),
                (false, n) => format!(" ({n} column(s) added)"),
            };
            out!(
                "  {}{new}: {} insert(s), {} update(s), {} delete(s)",
                t.name,
                t.inserts,
                t.updates,
                t.deletes
            );
        }
        if secret {
            eprintln!("note: the transform holds what looks like a deployment token; written with mode 0600");
        }
    }
    Ok(0)
}

fn row_holds_token(r: &RowChange, keys: &[String]) -> bool {
    let cells: Vec<&Value> = match r {
        RowChange::Insert { row } => row.iter().collect(),
        RowChange::Update { columns, .. } => columns.iter().map(|(_, v)| v).collect(),
        RowChange::Delete { .. } => Vec::new(),
    };
    cells
        .iter()
        .any(|v| v.as_str().is_some_and(|s| holds_token(s, keys)))
}

/// Write through a temporary file beside `output`, so a failure leaves no partial transform.
fn write_output(output: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, "create a file in", e))?;
    tmp.write_all(bytes)
        .map_err(|e| Error::io(output, "write", e))?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io(output, "set permissions of", e))?;
    tmp.persist(output)
        .map_err(|e| Error::io(output, "write", e.error))?;
    Ok(())
}
