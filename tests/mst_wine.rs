//! Transforms written by the library, applied by Wine's msi.dll through
//! `../shared/tools/verify-mst`: the transformed tables must be exactly what was intended.
//! Skips visibly when Wine or the tools are missing (fails under AGENTPACK_REQUIRE_TOOLS=1).
//! Five verify-mst calls in all (each takes a few seconds, serialised by flock).

mod common;

use agentpack::formats::mst::{
    diff, read_transform, resolve, write_transform, ChangeSet, Database, TableChanges,
    TransformOptions,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Tools {
    verify: PathBuf,
    msiinfo: PathBuf,
}

fn tools(test: &str) -> Option<Tools> {
    common::program(test, "wine")?;
    let msiinfo = common::program(test, "msiinfo")?;
    let verify = common::shared_tool(test, "verify-mst")?;
    Some(Tools { verify, msiinfo })
}

fn fixture(name: &str) -> PathBuf {
    common::fixture(&format!("msi/{name}"))
}

/// Write the transform for `changes` to a temp dir, after checking the reader decodes it back
/// into exactly the resolved records.
fn write_checked(dir: &Path, base: &Database, changes: &ChangeSet, name: &str) -> PathBuf {
    let mst = write_transform(base, changes, &TransformOptions::default()).expect("write");
    let want = normalize(resolve(base, changes).expect("resolve"));
    let got = normalize(
        read_transform(&mst, Some(base))
            .expect("read back")
            .changes(),
    );
    assert_eq!(got, want, "read_transform must return the intended changes");
    let path = dir.join(name);
    std::fs::write(&path, mst).expect("write mst");
    path
}

fn normalize(mut tables: Vec<TableChanges>) -> Vec<TableChanges> {
    tables.sort_by(|a, b| a.schema.name.cmp(&b.schema.name));
    for t in &mut tables {
        let s = t.schema.clone();
        t.rows.sort_by_key(|r| r.key(&s));
    }
    tables
}

/// `verify-mst --properties`: the transformed Property table as sorted NAME=VALUE lines.
fn applied_properties(t: &Tools, base: &Path, mst: &Path) -> Vec<String> {
    let (ok, out, err) = common::run(
        Command::new(&t.verify)
            .arg("--properties")
            .arg(base)
            .arg(mst),
    );
    assert!(ok, "verify-mst --properties failed:\n{out}\n{err}");
    out.lines().map(str::to_string).collect()
}

/// What the Property table should be: the base's rows with `sets` applied and `deletes` gone.
fn expected(base: &Database, sets: &[(&str, &str)], deletes: &[&str]) -> Vec<String> {
    let mut map: BTreeMap<String, String> = base
        .properties()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for (k, v) in sets {
        map.insert(k.to_string(), v.to_string());
    }
    for k in deletes {
        map.remove(*k);
    }
    let mut lines: Vec<String> = map.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    lines.sort(); // verify-mst sorts with LC_ALL=C, i.e. by bytes
    lines
}

fn change_set(sets: &[(&str, &str)], deletes: &[&str]) -> ChangeSet {
    let mut c = ChangeSet::new();
    for (k, v) in sets {
        c.set_property(k, v);
    }
    for k in deletes {
        c.delete_property(k);
    }
    c
}

const VENDOR_SETS: &[(&str, &str)] = &[
    ("CP_ARGS", "--server=backup.example.com --org=Engineering"),
    ("CP_SILENT", "true"),
    ("DEVICE_CLOAKED", "true"),
    ("SERVERADDRESS", "backup.example.com:4285"),
];

/// Inserts (CP_*), an update (SERVERADDRESS) and a delete (INSTALLMODE) on the vendor-like MSI.
#[test]
fn vendor_property_inserts_updates_deletes() {
    let Some(t) = tools("vendor_property_inserts_updates_deletes") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let base_path = fixture("vendor.msi");
    let base = Database::open(&base_path).expect("open");
    let deletes = ["INSTALLMODE"];
    let mst = write_checked(
        dir.path(),
        &base,
        &change_set(VENDOR_SETS, &deletes),
        "vendor.mst",
    );
    assert_eq!(
        applied_properties(&t, &base_path, &mst),
        expected(&base, VENDOR_SETS, &deletes)
    );
}

/// A base that already has CP_SILENT: the transform updates it and inserts the rest.
#[test]
fn existing_property_row_is_updated() {
    let Some(t) = tools("existing_property_row_is_updated") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let base_path = fixture("vendor-silent.msi");
    let base = Database::open(&base_path).expect("open");
    let sets = [("CP_SILENT", "true"), ("CP_ARGS", "--quiet")];
    let mst = write_checked(dir.path(), &base, &change_set(&sets, &[]), "silent.mst");
    let got = applied_properties(&t, &base_path, &mst);
    assert!(got.contains(&"CP_SILENT=true".to_string()), "{got:?}");
    assert_eq!(got, expected(&base, &sets, &[]));
}

/// Non-ASCII values in a codepage-1252 base: encoded in 1252, applied intact.
#[test]
fn non_ascii_values_in_codepage_1252() {
    let Some(t) = tools("non_ascii_values_in_codepage_1252") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let base_path = fixture("nonascii.msi");
    let base = Database::open(&base_path).expect("open");
    let sets = [
        ("GREETING", "Größere Grüße, señor"),
        ("PRICE", "€ 5 — Zoë Ærøskøbing"),
    ];
    let deletes = ["CITY"];
    let mst = write_checked(
        dir.path(),
        &base,
        &change_set(&sets, &deletes),
        "nonascii.mst",
    );
    // The pool really is codepage 1252 (ü = 0xFC), not UTF-8.
    let bytes = std::fs::read(&mst).expect("read");
    assert!(bytes.windows(4).any(|w| w == b"Gr\xFC\xDF"));
    assert_eq!(
        applied_properties(&t, &base_path, &mst),
        expected(&base, &sets, &deletes)
    );
}

/// A full silent install under Wine shows the transformed values in `Property(S):` lines.
#[test]
fn silent_install_sees_transformed_properties() {
    let Some(t) = tools("silent_install_sees_transformed_properties") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let base_path = fixture("vendor.msi");
    let base = Database::open(&base_path).expect("open");
    let mst = write_checked(
        dir.path(),
        &base,
        &change_set(VENDOR_SETS, &[]),
        "install.mst",
    );
    let (ok, out, err) = common::run(Command::new(&t.verify).arg(&base_path).arg(&mst));
    assert!(ok, "verify-mst install failed:\n{out}\n{err}");
    assert!(out.contains("exit 0"), "{out}");
    for (k, v) in VENDOR_SETS {
        let line = format!("Property(S): {k} = {v}");
        assert!(
            out.lines().any(|l| l == line),
            "missing {line:?} in:\n{out}"
        );
    }
}

/// `msiinfo export` rows (sorted) after the 3 header lines. It writes the streams of binary
/// columns into `./Table/`, so it runs inside a scratch directory.
fn export(t: &Tools, msi: &Path, table: &str) -> (Vec<String>, Vec<String>) {
    let scratch = tempfile::tempdir().expect("tempdir");
    let out = Command::new(&t.msiinfo)
        .current_dir(scratch.path())
        .arg("export")
        .arg(msi)
        .arg(table)
        .output()
        .expect("run msiinfo");
    assert!(
        out.status.success(),
        "msiinfo export {} {table} failed",
        msi.display()
    );
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let rows = lines.split_off(3.min(lines.len()));
    let mut rows = rows;
    rows.sort();
    (lines, rows)
}

fn extract(t: &Tools, msi: &Path, stream: &str) -> Vec<u8> {
    let out = Command::new(&t.msiinfo)
        .arg("extract")
        .arg(msi)
        .arg(stream)
        .output()
        .expect("run msiinfo");
    assert!(out.status.success(), "msiinfo extract {stream} failed");
    out.stdout
}

/// diff(base, modified) as a transform, applied by Wine to the base, gives the modified
/// database table by table (Property, Registry, Feature, Binary, multi-key Widget, new Extra).
#[test]
fn diff_transform_reproduces_modified_tables() {
    let Some(t) = tools("diff_transform_reproduces_modified_tables") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let base_path = fixture("diff-base.msi");
    let mod_path = fixture("diff-modified.msi");
    let base = Database::open(&base_path).expect("open base");
    let modified = Database::open(&mod_path).expect("open modified");
    let changes = diff(&base, &modified).expect("diff");
    let mst = write_checked(dir.path(), &base, &changes, "diff.mst");

    let (ok, out, err) = common::run(
        Command::new(&t.verify)
            .args(["--no-install", "--keep"])
            .arg(&base_path)
            .arg(&mst)
            .arg("Property"),
    );
    let work = err
        .lines()
        .find_map(|l| l.strip_prefix("work dir: "))
        .map(PathBuf::from);
    assert!(ok, "verify-mst failed:\n{out}\n{err}");
    let work = work.expect("verify-mst --keep prints its work dir");
    let applied = work.join("applied.msi");
    let mut checked = Vec::new();
    for table in modified.tables() {
        let name = &table.schema().name;
        assert_eq!(
            export(&t, &applied, name),
            export(&t, &mod_path, name),
            "table {name} differs after applying the diff transform"
        );
        checked.push(name.clone());
    }
    // An inserted binary row brings its stream along.
    let blob2 = extract(&t, &mod_path, "Binary.Blob2");
    assert_eq!(extract(&t, &applied, "Binary.Blob2"), blob2);
    // An *updated* binary cell: Wine 8's msi.dll handles the update record but keeps the
    // database's existing stream (its `add_stream` does not replace one), so the new data
    // is checked in the transform itself rather than in Wine's result.
    let dump = read_transform(&std::fs::read(&mst).expect("read mst"), Some(&base)).expect("read");
    let blob1 = extract(&t, &mod_path, "Binary.Blob1");
    assert!(dump
        .streams
        .contains(&("Binary.Blob1".to_string(), blob1.len())));
    std::fs::remove_dir_all(&work).ok();
    for must in [
        "Property", "Registry", "Feature", "Binary", "Widget", "Extra",
    ] {
        assert!(checked.iter().any(|c| c == must), "{must} not compared");
    }
}
