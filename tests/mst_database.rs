//! `Database::open` on good and bad inputs, and `diff` on the fixture pair (no external tools).

mod common;

use agentpack::formats::mst::{
    diff, read_transform, resolve, write_transform, ColumnKind, Database, ErrorKind, RowChange,
    TransformOptions, Value,
};
use std::io::{Cursor, Write};
use std::path::Path;

fn open(name: &str) -> Database {
    Database::open(&common::fixture(&format!("msi/{name}"))).expect("fixture opens")
}

fn write_temp(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write temp file");
    path
}

#[test]
fn vendor_identity_and_properties() {
    let db = open("vendor.msi");
    let id = db.identity();
    assert_eq!(id.product_name, "CrashPlan");
    assert_eq!(id.manufacturer, "CrashPlan Group LLC");
    assert_eq!(
        id.upgrade_code.as_deref(),
        Some("{113B48D9-4965-4FAA-A583-A61ADAE58355}")
    );
    assert_eq!(id.product_code, "{6F1A2B3C-4D5E-4F60-8172-93A4B5C6D7E8}");
    assert_eq!(id.product_version, "11.4.1");
    assert_eq!(id.product_language, "1033");
    assert_eq!(id.codepage, 1252);
    assert_eq!(db.template(), "x64;1033");
    assert_eq!(
        db.property("SERVERADDRESS"),
        Some("console.example.invalid:4285")
    );
    assert_eq!(db.property("CP_SILENT"), None);
    let names: Vec<&str> = db.properties().iter().map(|(n, _)| *n).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    assert!(db.has_table("Registry"));
    let reg = db.table("Registry").expect("Registry");
    assert_eq!(reg.schema().columns[1].kind, ColumnKind::Int16);
    assert!(reg.rows().any(|r| r[4] == Value::str("[CP_ARGS]")));
    assert_eq!(
        open("vendor-silent.msi").property("CP_SILENT"),
        Some("false")
    );
}

#[test]
fn non_ascii_values_decode_from_codepage_1252() {
    let db = open("nonascii.msi");
    assert_eq!(db.codepage(), 1252);
    assert_eq!(db.property("GREETING"), Some("Grüße aus Köln"));
    assert_eq!(db.identity().manufacturer, "Société Exemple");
}

#[test]
fn binary_cells_are_read_lazily() {
    let db = open("diff-base.msi");
    let blob = db
        .table("Binary")
        .expect("Binary")
        .row(&[Value::str("Blob1")])
        .expect("row");
    assert_eq!(blob[1], Value::Stream);
    let data = db
        .read_stream("Binary", &[Value::str("Blob1")])
        .expect("read");
    assert_eq!(data.as_deref(), Some(&b"blob one, version A\n"[..]));
}

/// Every broken input is an error that names the file and counts as bad input; none panics.
#[test]
fn broken_inputs_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let msi = std::fs::read(common::fixture("msi/vendor.msi")).expect("fixture");
    let mut random = Vec::with_capacity(8192);
    let mut x: u32 = 0x2545_F491;
    for _ in 0..8192 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        random.push(x as u8);
    }
    let plain_cfb = {
        let mut comp = cfb::CompoundFile::create(Cursor::new(Vec::new())).expect("cfb");
        comp.create_stream("/hello")
            .expect("stream")
            .write_all(b"hi")
            .expect("write");
        comp.flush().expect("flush");
        comp.into_inner().into_inner()
    };
    let no_property = {
        let mut pkg = msi::Package::create(msi::PackageType::Installer, Cursor::new(Vec::new()))
            .expect("package");
        pkg.create_table(
            "Thing",
            vec![msi::Column::build("Id").primary_key().id_string(72)],
        )
        .expect("table");
        pkg.flush().expect("flush");
        pkg.into_inner().expect("inner").into_inner()
    };
    let transform = {
        let base = open("vendor.msi");
        let mut c = agentpack::formats::mst::ChangeSet::new();
        c.set_property("A", "b");
        write_transform(&base, &c, &TransformOptions::default()).expect("write")
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.msi", Vec::new(), "empty"),
        ("truncated.msi", msi[..3000].to_vec(), "not"),
        ("half.msi", msi[..msi.len() / 2].to_vec(), ""),
        ("random.msi", random, "compound file"),
        ("plain.msi", plain_cfb, "not an MSI database"),
        ("noprop.msi", no_property, "no Property table"),
        ("transform.msi", transform, "is a transform"),
    ];
    for (name, bytes, expect) in cases {
        let path = write_temp(dir.path(), name, &bytes);
        let err = Database::open(&path).expect_err(name);
        let text = err.to_string();
        assert!(err.is_bad_input(), "{name}: {text}");
        assert_eq!(err.kind(), ErrorKind::BadDatabase, "{name}");
        assert!(
            text.contains(name),
            "{name}: message must name the file: {text}"
        );
        assert!(text.contains(expect), "{name}: {text}");
    }
    let err = Database::open(&dir.path().join("missing.msi")).expect_err("missing");
    assert!(err.is_bad_input() && err.to_string().contains("missing.msi"));
}

#[test]
fn diff_finds_every_change() {
    let base = open("diff-base.msi");
    let modified = open("diff-modified.msi");
    let changes = diff(&base, &modified).expect("diff");
    let tables = resolve(&base, &changes).expect("resolve");
    let by_name = |n: &str| {
        tables
            .iter()
            .find(|t| t.schema.name == n)
            .unwrap_or_else(|| panic!("no changes for {n}: {tables:#?}"))
    };
    let prop = by_name("Property");
    assert!(prop.rows.contains(&RowChange::Delete {
        key: vec![Value::str("DROPME")]
    }));
    assert!(prop.rows.contains(&RowChange::Insert {
        row: vec![Value::str("ADDME"), Value::str("brand new")]
    }));
    assert!(prop.rows.contains(&RowChange::Update {
        key: vec![Value::str("CHANGEME")],
        columns: vec![(1, Value::str("new value"))]
    }));
    let widget = by_name("Widget");
    assert!(widget.rows.contains(&RowChange::Update {
        key: vec![Value::str("B"), Value::Int(1)],
        columns: vec![(2, Value::Null), (3, Value::str("now noted"))]
    }));
    assert!(widget.rows.contains(&RowChange::Delete {
        key: vec![Value::str("C"), Value::Int(5)]
    }));
    assert!(widget.rows.contains(&RowChange::Insert {
        row: vec![
            Value::str("A"),
            Value::Int(3),
            Value::Int(-70000),
            Value::str("third")
        ]
    }));
    let extra = by_name("Extra");
    assert!(extra.added);
    assert_eq!(extra.rows.len(), 2);
    let binary = by_name("Binary");
    assert!(binary.rows.contains(&RowChange::Update {
        key: vec![Value::str("Blob1")],
        columns: vec![(
            1,
            Value::Binary(b"blob one, version B (changed)\n".to_vec())
        )]
    }));
    assert!(by_name("Feature").rows.len() == 1);
    assert!(by_name("Registry").rows.len() == 3);
    assert!(tables.iter().all(|t| !t.rows.is_empty() || t.added));

    // A database diffed with itself needs no records.
    assert!(resolve(&base, &diff(&base, &base).expect("diff"))
        .expect("resolve")
        .is_empty());
    // The written transform decodes back to the same records.
    let mst = write_transform(&base, &changes, &TransformOptions::default()).expect("write");
    let dump = read_transform(&mst, Some(&base)).expect("read");
    let mut got = dump.changes();
    let mut want = tables.clone();
    for list in [&mut got, &mut want] {
        list.sort_by(|a, b| a.schema.name.cmp(&b.schema.name));
        for t in list.iter_mut() {
            let s = t.schema.clone();
            t.rows.sort_by_key(|r| r.key(&s));
        }
    }
    assert_eq!(got, want);
}

/// Truncated and bit-flipped MSIs and transforms give errors or results, never a panic.
#[test]
fn corrupted_inputs_never_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let msi = std::fs::read(common::fixture("msi/diff-base.msi")).expect("fixture");
    let base = open("diff-base.msi");
    let changes = diff(&base, &open("diff-modified.msi")).expect("diff");
    let mst = write_transform(&base, &changes, &TransformOptions::default()).expect("write");
    let mut x: u32 = 0x9E37_79B9;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x as usize
    };
    for round in 0..60 {
        for (source, is_msi) in [(&msi, true), (&mst, false)] {
            let mut bytes = source.clone();
            if round % 3 == 0 {
                bytes.truncate(next() % bytes.len());
            } else {
                for _ in 0..(1 + round % 8) {
                    let at = next() % bytes.len();
                    bytes[at] ^= 1 << (next() % 8);
                }
            }
            if is_msi {
                let path = write_temp(dir.path(), "corrupt.msi", &bytes);
                if let Err(e) = Database::open(&path) {
                    assert!(
                        e.is_bad_input() && e.to_string().contains("corrupt.msi"),
                        "{e}"
                    );
                }
            } else if let Err(e) = read_transform(&bytes, Some(&base)) {
                assert!(e.is_bad_input(), "{e}");
            }
        }
    }
}
