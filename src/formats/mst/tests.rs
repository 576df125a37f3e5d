//! End-to-end unit tests: the reference's worked example byte for byte, determinism, and
//! reader(writer(x)) == x round trips (including generated change sets).

use super::*;
use proptest::prelude::*;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/msi")
        .join(name)
}

fn open(name: &str) -> Database {
    Database::open(&fixture(name)).expect("fixture opens")
}

fn stream(mst: &[u8], name: &str) -> Vec<u8> {
    let mut comp = cfb::CompoundFile::open(Cursor::new(mst)).expect("cfb");
    let mut data = Vec::new();
    comp.open_stream(format!("/{name}"))
        .expect("stream exists")
        .read_to_end(&mut data)
        .expect("read");
    data
}

fn worked_example() -> (Database, Vec<u8>) {
    let base = open("tiny.msi");
    let mut changes = ChangeSet::new();
    changes
        .set_property("SERVERNAME", "corp.example.com")
        .set_property("EXTRAPROP", "hello");
    let mst = write_transform(&base, &changes, &TransformOptions::default()).expect("write");
    (base, mst)
}

#[test]
fn worked_example_streams_byte_for_byte() {
    let (_, mst) = worked_example();
    assert_eq!(mst.len(), 3584, "file size of the reference example");
    assert_eq!(&mst[..8], &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]);
    assert_eq!(&mst[0x1A..0x1C], &[3, 0], "CFB major version 3");
    assert_eq!(
        stream(&mst, &streamname::encode("_StringPool", true)),
        [0xE4, 0x04, 0, 0, 0x0A, 0, 1, 0, 0x10, 0, 1, 0, 0x09, 0, 1, 0, 0x05, 0, 1, 0]
    );
    assert_eq!(
        stream(&mst, &streamname::encode("_StringData", true)),
        b"SERVERNAMEcorp.example.comEXTRAPROPhello"
    );
    assert_eq!(
        stream(&mst, &streamname::encode("Property", true)),
        [0x02, 0x00, 0x01, 0x00, 0x02, 0x00, 0x01, 0x02, 0x03, 0x00, 0x04, 0x00]
    );
    let summary = stream(&mst, "\u{5}SummaryInformation");
    assert_eq!(summary.len(), 360);
    let rev = b"{11111111-2222-3333-4444-555555555555}1.0.0;{11111111-2222-3333-4444-555555555555}1.0.0;{AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE}\0";
    assert!(summary.windows(rev.len()).any(|w| w == rev));
    assert_eq!(
        &summary[0x30 + 0x11C..0x30 + 0x124],
        &[3, 0, 0, 0, 0, 0, 2, 0]
    );
}

/// The root entry carries the transform CLSID; no directory entry has a timestamp.
#[test]
fn root_clsid_and_no_timestamps() {
    let (_, mst) = worked_example();
    // Directory sector: header says where it starts (offset 0x30), 512-byte sectors after it.
    let dir_sector = u32::from_le_bytes([mst[0x30], mst[0x31], mst[0x32], mst[0x33]]) as usize;
    let dir = &mst[512 * (dir_sector + 1)..512 * (dir_sector + 2)];
    assert_eq!(
        &dir[0x50..0x60],
        &[0x82, 0x10, 0x0C, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46]
    );
    for entry in dir.chunks(128) {
        assert!(entry[0x64..0x74].iter().all(|&b| b == 0), "timestamp set");
    }
}

#[test]
fn output_is_deterministic() {
    let (_, a) = worked_example();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let (_, b) = worked_example();
    assert_eq!(a, b);
}

#[test]
fn worked_example_reads_back() {
    let (base, mst) = worked_example();
    let dump = read_transform(&mst, Some(&base)).expect("read");
    assert_eq!(dump.summary.template.as_deref(), Some("x64;1033"));
    assert_eq!(dump.summary.last_author.as_deref(), Some("x64;1033"));
    assert_eq!(dump.summary.validation_names, ["PRODUCT"]);
    assert_eq!(dump.summary.error_suppression, 0);
    assert_eq!(dump.summary.page_count, Some(200));
    assert_eq!(dump.summary.app_name.as_deref(), Some("agentpack"));
    let rev = dump
        .summary
        .revision_parts
        .as_ref()
        .expect("revision parses");
    assert_eq!(
        rev.old_product_code,
        "{11111111-2222-3333-4444-555555555555}"
    );
    assert_eq!(rev.new_version, "1.0.0");
    assert_eq!(rev.upgrade_code, "{AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE}");
    let prop = dump.table("Property").expect("Property stream");
    assert_eq!(prop.schema_source, SchemaSource::Base);
    assert_eq!(
        prop.rows,
        [
            RowChange::Update {
                key: vec![Value::str("SERVERNAME")],
                columns: vec![(1, Value::str("corp.example.com"))]
            },
            RowChange::Insert {
                row: vec![Value::str("EXTRAPROP"), Value::str("hello")]
            },
        ]
    );
    // Without the base, Property still decodes through the standard schema list.
    let bare = read_transform(&mst, None).expect("read without base");
    assert_eq!(bare.table("Property").map(|t| &t.rows), Some(&prop.rows));
    let text = dump.to_string();
    assert!(
        text.contains("update [\"SERVERNAME\"] set Value=\"corp.example.com\""),
        "{text}"
    );
    assert!(
        text.contains("Validation:       0x0002 (PRODUCT)"),
        "{text}"
    );
    let json = serde_json::to_value(&dump).expect("json");
    assert_eq!(json["tables"][0]["changes"][0]["op"], "update");
    assert_eq!(
        json["tables"][0]["changes"][0]["key"]["Property"],
        "SERVERNAME"
    );
    assert_eq!(json["tables"][0]["changes"][1]["values"]["Value"], "hello");
}

fn sorted(mut tables: Vec<TableChanges>) -> Vec<TableChanges> {
    tables.sort_by(|a, b| a.schema.name.cmp(&b.schema.name));
    for t in &mut tables {
        let schema = t.schema.clone();
        t.rows.sort_by_key(|r| r.key(&schema));
    }
    tables
}

fn round_trip(base: &Database, changes: &ChangeSet) -> (Vec<TableChanges>, Vec<TableChanges>) {
    let want = resolve(base, changes).expect("resolve");
    let mst = write_transform(base, changes, &TransformOptions::default()).expect("write");
    let got = read_transform(&mst, Some(base)).expect("read").changes();
    (sorted(want), sorted(got))
}

#[test]
fn round_trip_every_kind_of_change() {
    let base = open("diff-base.msi");
    let mut changes = ChangeSet::new();
    changes
        .set_property("CHANGEME", "x")
        .set_property("NEWPROP", "y")
        .delete_property("DROPME")
        .set_property("KEEPME", "same") // identical: no record
        .set(
            "Widget",
            vec![
                Value::str("A"),
                Value::Int(2),
                Value::Int(-123456),
                Value::Null,
            ],
        )
        .delete("Widget", vec![Value::str("C"), Value::Int(5)])
        .set(
            "Binary",
            vec![Value::str("Blob1"), Value::Binary(b"new data".to_vec())],
        )
        .set(
            "Binary",
            vec![Value::str("Blob3"), Value::Binary(vec![0, 1, 2, 255])],
        )
        .update("Feature", vec![Value::str("Main")], "Display", Value::Null)
        .add_table(TableSchema::new(
            "Gadget",
            vec![
                ColumnDef::new("Id", ColumnKind::Str(32)).key(),
                ColumnDef::new("Slot", ColumnKind::Int16).key(),
                ColumnDef::new("Big", ColumnKind::Int32).nullable(),
                ColumnDef::new("Blob", ColumnKind::Binary).nullable(),
            ],
        ))
        .set(
            "Gadget",
            vec![
                Value::str("g"),
                Value::Int(-7),
                Value::Int(i32::MAX),
                Value::Binary(b"zz".to_vec()),
            ],
        )
        .set(
            "Gadget",
            vec![Value::str("h"), Value::Int(7), Value::Null, Value::Null],
        );
    let (want, got) = round_trip(&base, &changes);
    assert_eq!(want, got);
    let names: Vec<&str> = want.iter().map(|t| t.schema.name.as_str()).collect();
    assert_eq!(names, ["Binary", "Feature", "Gadget", "Property", "Widget"]);
    let prop = &want[3];
    assert_eq!(prop.rows.len(), 3, "{:?}", prop.rows);
}

#[test]
fn columns_appended_to_an_existing_table_round_trip() {
    let base = open("diff-base.msi");
    let widget = base.table("Widget").unwrap().schema().columns.len();
    let mut changes = ChangeSet::new();
    changes
        .add_columns(
            "Widget",
            vec![
                ColumnDef::new("Color", ColumnKind::Str(32)).nullable(),
                ColumnDef::new("Size", ColumnKind::Int16).nullable(),
            ],
        )
        .update(
            "Widget",
            vec![Value::str("A"), Value::Int(1)],
            "Color",
            Value::str("red"),
        )
        .set(
            "Widget",
            vec![
                Value::str("D"),
                Value::Int(9),
                Value::Int(4),
                Value::Null,
                Value::Null,
                Value::Int(-2),
            ],
        );
    let (want, got) = round_trip(&base, &changes);
    assert_eq!(want, got);
    let w = got.iter().find(|t| t.schema.name == "Widget").unwrap();
    assert_eq!(
        (w.added, w.added_columns, w.schema.columns.len()),
        (false, 2, widget + 2)
    );
    // `_Columns` numbers the new columns after the base's; no `_Tables` row is written.
    let mst = write_transform(&base, &changes, &TransformOptions::default()).unwrap();
    let dump = read_transform(&mst, Some(&base)).unwrap();
    let cols = dump.table("_Columns").unwrap();
    let numbers: Vec<Value> = cols
        .rows
        .iter()
        .map(|r| match r {
            RowChange::Insert { row } => row[1].clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        numbers,
        [Value::Int(widget as i32 + 1), Value::Int(widget as i32 + 2)]
    );
    assert!(dump.table("_Tables").is_none());
    assert!(
        dump.to_string()
            .contains("column(s) added (Color S32, Size I2)"),
        "{dump}"
    );
    // Only columns, no rows: still a `_Columns` stream.
    let mut only = ChangeSet::new();
    only.add_columns(
        "Widget",
        vec![ColumnDef::new("Tag", ColumnKind::Str(0)).nullable()],
    );
    let dump = read_transform(
        &write_transform(&base, &only, &TransformOptions::default()).unwrap(),
        Some(&base),
    )
    .unwrap();
    assert_eq!(dump.table("Widget").unwrap().added_columns, 1);

    // What cannot be appended is refused with a reason.
    let refused = |c: &ChangeSet| {
        write_transform(&base, c, &TransformOptions::default())
            .unwrap_err()
            .to_string()
    };
    let mut key = ChangeSet::new();
    key.add_columns(
        "Widget",
        vec![ColumnDef::new("K3", ColumnKind::Int16).key()],
    );
    assert!(refused(&key).contains("key column"), "{}", refused(&key));
    let mut dup = ChangeSet::new();
    dup.add_columns(
        "Widget",
        vec![ColumnDef::new("Note", ColumnKind::Str(0)).nullable()],
    );
    assert!(refused(&dup).contains("already has a column Note"));
    let mut missing = ChangeSet::new();
    missing.add_columns(
        "Nope",
        vec![ColumnDef::new("X", ColumnKind::Str(0)).nullable()],
    );
    assert!(refused(&missing).contains("no such table"));
}

#[test]
fn validation_errors_are_clear() {
    let base = open("tiny.msi");
    let opts = TransformOptions::default();
    let err = |c: &ChangeSet| write_transform(&base, c, &opts).expect_err("must fail");
    let mut c = ChangeSet::new();
    c.set(
        "Registry",
        vec![
            Value::str("r"),
            Value::Int(40000),
            Value::str("k"),
            Value::Null,
            Value::Null,
            Value::str("RegComp"),
        ],
    );
    assert!(err(&c).to_string().contains("i2 range"));
    let mut c = ChangeSet::new();
    c.set(
        "Registry",
        vec![
            Value::str("r"),
            Value::Null,
            Value::str("k"),
            Value::Null,
            Value::Null,
            Value::str("RegComp"),
        ],
    );
    assert!(err(&c).to_string().contains("Registry.Root"));
    let mut c = ChangeSet::new();
    c.set_property(&"P".repeat(73), "v");
    assert!(err(&c).to_string().contains("73 characters"));
    let mut c = ChangeSet::new();
    c.set_property("X", "Привет");
    let e = err(&c);
    assert_eq!(e.kind(), ErrorKind::InvalidChange);
    assert!(e.to_string().contains("1252"), "{e}");
    let mut c = ChangeSet::new();
    c.update(
        "Property",
        vec![Value::str("MODE")],
        "Property",
        Value::str("MODE2"),
    );
    assert!(err(&c).to_string().contains("primary key"));
    let mut c = ChangeSet::new();
    c.update(
        "Property",
        vec![Value::str("NOPE")],
        "Value",
        Value::str("v"),
    );
    assert!(err(&c).to_string().contains("no row"));
    let mut c = ChangeSet::new();
    c.set_property("ProductCode", "{00000000-0000-0000-0000-000000000000}");
    assert!(err(&c).to_string().contains("ProductCode"));
    let mut c = ChangeSet::new();
    c.set("NoSuchTable", vec![Value::str("a")]);
    assert!(err(&c).to_string().contains("add_table"));
    let mut c = ChangeSet::new();
    c.add_table(standard_table("Property").expect("known"));
    assert!(err(&c).to_string().contains("already"));
    let mut c = ChangeSet::new();
    c.set_property("A", "b")
        .set("Property", vec![Value::str("only key")]);
    assert!(err(&c).to_string().contains("needs 2 values"));
}

#[test]
fn empty_value_deletes_and_missing_delete_is_nothing() {
    let base = open("tiny.msi");
    let mut c = ChangeSet::new();
    c.set_property("MODE", "").delete_property("NOT_THERE");
    let t = resolve(&base, &c).expect("resolve");
    assert_eq!(t.len(), 1);
    assert_eq!(
        t[0].rows,
        [RowChange::Delete {
            key: vec![Value::str("MODE")]
        }]
    );
}

#[test]
fn options_reach_the_summary() {
    let base = open("tiny.msi");
    let mut c = ChangeSet::new();
    c.set_property("A", "b");
    let opts = TransformOptions {
        validation: validation::PRODUCT | validation::UPGRADE_CODE,
        error_suppression: suppress::ALL_ROW_AND_TABLE,
        app_name: "tester".into(),
        ..TransformOptions::default()
    };
    let mst = write_transform(&base, &c, &opts).expect("write");
    let s = read_transform(&mst, None).expect("read").summary;
    assert_eq!(s.char_count, Some(0x0802_001F));
    assert_eq!(s.validation_names, ["PRODUCT", "UPGRADECODE"]);
    assert_eq!(
        s.error_suppression_names,
        [
            "ADDEXISTINGROW",
            "DELMISSINGROW",
            "ADDEXISTINGTABLE",
            "DELMISSINGTABLE",
            "UPDATEMISSINGROW"
        ]
    );
    assert_eq!(s.app_name.as_deref(), Some("tester"));
    // A customization transform: last author = template, page count = the base's.
    assert_eq!(s.last_author, s.template);
    assert_eq!(s.page_count, Some(base.page_count()));

    // Between two databases: the result's platform;language and the larger page count.
    let opts = TransformOptions {
        result_template: Some("Intel;1031".into()),
        page_count: Some(base.page_count() + 100),
        ..TransformOptions::default()
    };
    let s = read_transform(&write_transform(&base, &c, &opts).unwrap(), None)
        .unwrap()
        .summary;
    assert_eq!(s.template.as_deref(), Some(base.template()));
    assert_eq!(s.last_author.as_deref(), Some("Intel;1031"));
    assert_eq!(s.page_count, Some(base.page_count() + 100));
    let smaller = TransformOptions {
        page_count: Some(1),
        ..TransformOptions::default()
    };
    let s = read_transform(&write_transform(&base, &c, &smaller).unwrap(), None)
        .unwrap()
        .summary;
    assert_eq!(
        s.page_count,
        Some(base.page_count()),
        "the larger of the two"
    );
}

#[test]
fn many_strings_switch_to_three_byte_references() {
    let base = open("tiny.msi");
    let mut c = ChangeSet::new();
    for i in 0..33_000 {
        c.set_property(&format!("P{i}"), &format!("v{i}"));
    }
    let mst = write_transform(&base, &c, &TransformOptions::default()).expect("write");
    let pool = stream(&mst, &streamname::encode("_StringPool", true));
    assert_eq!(pool[3] & 0x80, 0x80, "bit 31 set");
    let dump = read_transform(&mst, Some(&base)).expect("read");
    assert!(dump.long_string_refs);
    let prop = dump.table("Property").expect("Property");
    assert_eq!(prop.rows.len(), 33_000);
    assert!(prop.rows.contains(&RowChange::Insert {
        row: vec![Value::str("P32999"), Value::str("v32999")]
    }));
}

#[test]
fn long_value_round_trips() {
    let base = open("tiny.msi");
    let mut c = ChangeSet::new();
    c.set_property("LONG", &"0123456789".repeat(7000));
    let (want, got) = round_trip(&base, &c);
    assert_eq!(want, got);
}

#[test]
fn reader_rejects_garbage() {
    for bytes in [
        &b""[..],
        b"not a compound file",
        &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0],
    ] {
        let e = read_transform(bytes, None).expect_err("garbage");
        assert!(e.is_bad_input());
    }
    let msi = std::fs::read(fixture("tiny.msi")).expect("fixture");
    let e = read_transform(&msi, None).expect_err("an MSI is not a transform");
    assert!(e.to_string().contains("not a transform"), "{e}");
    let (_, mut mst) = worked_example();
    mst.truncate(2000);
    assert!(read_transform(&mst, None).is_err());
}

fn property_name() -> impl Strategy<Value = String> {
    "[A-Z_][A-Z0-9_.]{0,20}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any mix of property sets and deletes survives writer → reader unchanged, and writing
    /// twice gives the same bytes.
    #[test]
    fn property_changes_round_trip(
        ops in proptest::collection::vec(
            (property_name(), proptest::option::of("[ -~àéüß€]{0,40}")),
            0..30,
        )
    ) {
        let base = open("nonascii.msi");
        let mut c = ChangeSet::new();
        for (name, value) in &ops {
            match value {
                Some(v) => c.set_property(name, v),
                None => c.delete_property(name),
            };
        }
        let (want, got) = round_trip(&base, &c);
        prop_assert_eq!(want, got);
        let a = write_transform(&base, &c, &TransformOptions::default()).expect("write");
        let b = write_transform(&base, &c, &TransformOptions::default()).expect("write");
        prop_assert_eq!(a, b);
    }

    /// Integer columns of every width and nullability round-trip exactly.
    #[test]
    fn integer_rows_round_trip(
        rows in proptest::collection::btree_map(
            ("[a-z]{1,8}", -32767i32..=32767),
            (proptest::option::of(i32::MIN + 1..=i32::MAX), proptest::option::of("[a-z ]{1,10}")),
            1..20,
        )
    ) {
        let base = open("diff-base.msi");
        let mut c = ChangeSet::new();
        for ((k1, k2), (count, note)) in &rows {
            c.set("Widget", vec![
                Value::str(k1.as_str()),
                Value::Int(*k2),
                count.map_or(Value::Null, Value::Int),
                note.clone().map_or(Value::Null, Value::Str),
            ]);
        }
        let (want, got) = round_trip(&base, &c);
        prop_assert_eq!(want, got);
    }
}
