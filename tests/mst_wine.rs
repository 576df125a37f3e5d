//! Transforms written by the library, applied by Wine's msi.dll through
//! `../shared/tools/verify-mst`: the transformed tables must be exactly what was intended.
//! Skips visibly when Wine or the tools are missing (fails under AGENTPACK_REQUIRE_TOOLS=1).
//! Five verify-mst calls in all (each takes a few seconds, serialised by flock). Wine applies
//! leniently, so every transform is also held to the native row rules (windows_checks/).

#[path = "windows_checks/mod.rs"]
mod checks;
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
/// into exactly the resolved records; and check it against the native rules.
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
    checks::assert_native_rules(name, base.path(), &path);
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
    // Wine would accept an insert here too (it overwrites): the record must be an update.
    let dump = checks::inspect_json(Some(&base_path), &mst);
    let ops: BTreeMap<String, String> = dump["tables"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["name"] == "Property")
        .flat_map(|t| t["changes"].as_array().unwrap())
        .map(|c| (checks::cell(&c["key"]["Property"]), checks::cell(&c["op"])))
        .collect();
    assert_eq!(
        ops,
        BTreeMap::from([
            ("CP_ARGS".to_string(), "insert".to_string()),
            ("CP_SILENT".into(), "update".into())
        ])
    );
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

/// More than 65,535 strings (the pool switches to 3-byte references) and a 70 KB value (longer
/// than a 2-byte pool length: a two-slot entry): a silent install under Wine sees every value
/// exactly. (Checked through the install, not a committed copy: Wine 8 commits a database whose
/// pool grew past 65,535 strings without rewriting its other tables, which msitools and the msi
/// crate then cannot read.)
#[test]
fn three_byte_string_references_and_long_values_apply() {
    let Some(t) = tools("three_byte_string_references_and_long_values_apply") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let base_path = fixture("vendor.msi");
    let base = Database::open(&base_path).expect("open");
    let long: String = (0..70_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let names: Vec<String> = (0..33_000).map(|i| format!("P{i:05}")).collect();
    let values: Vec<String> = (0..33_000).map(|i| format!("v{i}")).collect();
    let mut sets: Vec<(&str, &str)> = names
        .iter()
        .map(String::as_str)
        .zip(values.iter().map(String::as_str))
        .collect();
    sets.push(("LONGVALUE", &long));
    let mst = write_checked(dir.path(), &base, &change_set(&sets, &[]), "big.mst");
    let dump = read_transform(&std::fs::read(&mst).unwrap(), Some(&base)).unwrap();
    assert!(dump.long_string_refs, "the pool uses 3-byte references");
    let (ok, out, err) = common::run(Command::new(&t.verify).arg(&base_path).arg(&mst));
    assert!(ok, "verify-mst install failed:\n{err}");
    assert!(out.contains("exit 0"), "the install failed");
    let seen: BTreeMap<&str, &str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("Property(S): ")?.split_once(" = "))
        .collect();
    let want = expected(&base, &sets, &[]);
    let wrong: Vec<String> = want
        .iter()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, v)| seen.get(k) != Some(v))
        .map(|(k, _)| k.to_string())
        .take(5)
        .collect();
    assert!(
        wrong.is_empty(),
        "properties not seen with their value: {wrong:?}"
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

/// The bytes of the stream a transform stores for a binary cell (`Table.Key`, whose name is
/// stored in the MSI name compression; found by decoding every stream name).
fn transform_stream(mst: &Path, name: &str) -> Vec<u8> {
    use std::io::Read;
    let mut comp = cfb::open(mst).expect("open transform");
    let paths: Vec<_> = comp
        .walk()
        .filter(|e| e.is_stream())
        .map(|e| e.path().to_path_buf())
        .collect();
    for p in paths {
        let stored = p.file_name().unwrap().to_string_lossy().into_owned();
        if agentpack::formats::mst::decode_stream_name(&stored).0 == name {
            let mut data = Vec::new();
            comp.open_stream(&p)
                .unwrap()
                .read_to_end(&mut data)
                .unwrap();
            return data;
        }
    }
    panic!("no stream {name} in {}", mst.display());
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
    let lib = write_checked(dir.path(), &base, &changes, "diff-lib.mst");
    // What Wine applies is what `agentpack mst diff` writes.
    let mst = dir.path().join("diff.mst");
    let o = Command::new(env!("CARGO_BIN_EXE_agentpack"))
        .args(["mst", "diff"])
        .arg(&base_path)
        .arg(&mod_path)
        .arg("-o")
        .arg(&mst)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    checks::assert_native_rules(
        "diff_transform_reproduces_modified_tables",
        &base_path,
        &mst,
    );
    let cli = std::fs::read(&mst).unwrap();
    assert_eq!(
        normalize(read_transform(&cli, Some(&base)).unwrap().changes()),
        normalize(
            read_transform(&std::fs::read(&lib).unwrap(), Some(&base))
                .unwrap()
                .changes()
        ),
        "the CLI's transform holds the library's changes"
    );

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
    assert_eq!(
        transform_stream(&mst, "Binary.Blob1"),
        blob1,
        "the transform carries the new bytes of the updated cell"
    );
    std::fs::remove_dir_all(&work).ok();
    for must in [
        "Property", "Registry", "Feature", "Binary", "Widget", "Extra",
    ] {
        assert!(checked.iter().any(|c| c == must), "{must} not compared");
    }
}

/// Columns appended to an existing table (the modified MSI made from the base with msibuild's
/// `ALTER TABLE … ADD`): `mst diff` writes `_Columns` rows numbered after the base's columns
/// plus the updated cells, and Wine's result equals the modified table, header included.
#[test]
fn diff_of_appended_columns_applies() {
    let Some(t) = tools("diff_of_appended_columns_applies") else {
        return;
    };
    let Some(msibuild) = common::program("diff_of_appended_columns_applies", "msibuild") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let base_path = fixture("diff-base.msi");
    let mod_path = dir.path().join("appended.msi");
    std::fs::copy(&base_path, &mod_path).unwrap();
    for sql in [
        "ALTER TABLE `Widget` ADD `Color` CHAR(32)",
        "ALTER TABLE `Widget` ADD `Size` SHORT",
        "UPDATE `Widget` SET `Color`='red', `Size`=3 WHERE `Key1`='A' AND `Key2`=1",
        "UPDATE `Widget` SET `Color`='blue' WHERE `Key1`='B'",
        "INSERT INTO `Widget` (`Key1`, `Key2`, `Count`, `Color`) VALUES ('D', 9, 4, 'green')",
    ] {
        let (ok, out, err) = common::run(Command::new(&msibuild).arg(&mod_path).arg("-q").arg(sql));
        assert!(ok, "msibuild {sql}: {out}{err}");
    }
    let base = Database::open(&base_path).unwrap();
    let modified = Database::open(&mod_path).unwrap();
    let mst = dir.path().join("appended.mst");
    let o = Command::new(env!("CARGO_BIN_EXE_agentpack"))
        .args(["mst", "diff"])
        .arg(&base_path)
        .arg(&mod_path)
        .arg("-o")
        .arg(&mst)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    checks::assert_native_rules("diff_of_appended_columns_applies", &base_path, &mst);
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .contains("Widget (2 column(s) added): 1 insert(s), 2 update(s)"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // Our reader decodes it back into exactly what resolve intended.
    let want = normalize(resolve(&base, &diff(&base, &modified).unwrap()).unwrap());
    let dump = read_transform(&std::fs::read(&mst).unwrap(), Some(&base)).unwrap();
    assert_eq!(normalize(dump.changes()), want);
    assert_eq!(dump.table("Widget").unwrap().added_columns, 2);

    let (ok, out, err) = common::run(
        Command::new(&t.verify)
            .args(["--no-install", "--keep"])
            .arg(&base_path)
            .arg(&mst)
            .arg("Widget"),
    );
    assert!(ok, "verify-mst failed:\n{out}\n{err}");
    let work = err
        .lines()
        .find_map(|l| l.strip_prefix("work dir: "))
        .map(PathBuf::from)
        .expect("verify-mst --keep prints its work dir");
    let applied = work.join("applied.msi");
    for table in ["Widget", "Property"] {
        assert_eq!(
            export(&t, &applied, table),
            export(&t, &mod_path, table),
            "{table} differs after applying the transform"
        );
    }
    std::fs::remove_dir_all(&work).ok();
}
