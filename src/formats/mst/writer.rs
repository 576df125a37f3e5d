//! Serializing resolved changes into a transform (reference §10): intern strings, sort records
//! by encoded key, write the summary and a deterministic CFB v3 container.

use super::changes::{resolve, ChangeSet, RowChange, TableChanges};
use super::database::{binary_stream_name, Database};
use super::error::MstError;
use super::record::{encode_int, insert_mask, RawRecord, BINARY_PLACEHOLDER};
use super::schema::{columns_schema, tables_schema, ColumnKind, TableSchema, Value};
use super::streamname;
use super::stringpool::{Codec, PoolBuilder};
use super::summary::{self, Prop};
use std::collections::BTreeMap;
use std::io::{Cursor, Write};

/// Root storage class of a transform, `{000C1082-0000-0000-C000-000000000046}`.
pub(crate) const CLSID_TRANSFORM: uuid::Uuid =
    uuid::Uuid::from_u128(0x000C1082_0000_0000_C000_000000000046);
pub(crate) const SUMMARY_STREAM: &str = "\u{5}SummaryInformation";

/// Validation flags (upper word of PID_CHARCOUNT, reference §7.2).
pub mod validation {
    pub const LANGUAGE: u16 = 0x001;
    pub const PRODUCT: u16 = 0x002;
    pub const PLATFORM: u16 = 0x004;
    pub const MAJOR_VERSION: u16 = 0x008;
    pub const MINOR_VERSION: u16 = 0x010;
    pub const UPDATE_VERSION: u16 = 0x020;
    pub const NEW_LESS_BASE_VERSION: u16 = 0x040;
    pub const NEW_LESS_EQUAL_BASE_VERSION: u16 = 0x080;
    pub const NEW_EQUAL_BASE_VERSION: u16 = 0x100;
    pub const NEW_GREATER_EQUAL_BASE_VERSION: u16 = 0x200;
    pub const NEW_GREATER_BASE_VERSION: u16 = 0x400;
    pub const UPGRADE_CODE: u16 = 0x800;

    pub(crate) const NAMES: [(u16, &str); 12] = [
        (LANGUAGE, "LANGUAGE"),
        (PRODUCT, "PRODUCT"),
        (PLATFORM, "PLATFORM"),
        (MAJOR_VERSION, "MAJORVERSION"),
        (MINOR_VERSION, "MINORVERSION"),
        (UPDATE_VERSION, "UPDATEVERSION"),
        (NEW_LESS_BASE_VERSION, "NEWLESSBASEVERSION"),
        (NEW_LESS_EQUAL_BASE_VERSION, "NEWLESSEQUALBASEVERSION"),
        (NEW_EQUAL_BASE_VERSION, "NEWEQUALBASEVERSION"),
        (NEW_GREATER_EQUAL_BASE_VERSION, "NEWGREATEREQUALBASEVERSION"),
        (NEW_GREATER_BASE_VERSION, "NEWGREATERBASEVERSION"),
        (UPGRADE_CODE, "UPGRADECODE"),
    ];
}

/// Error conditions to suppress when applying (lower word of PID_CHARCOUNT).
pub mod suppress {
    pub const ADD_EXISTING_ROW: u16 = 0x01;
    pub const DEL_MISSING_ROW: u16 = 0x02;
    pub const ADD_EXISTING_TABLE: u16 = 0x04;
    pub const DEL_MISSING_TABLE: u16 = 0x08;
    pub const UPDATE_MISSING_ROW: u16 = 0x10;
    pub const CHANGE_CODEPAGE: u16 = 0x20;
    /// Every row and table condition (0x1F), for transforms reused across vendor builds.
    pub const ALL_ROW_AND_TABLE: u16 = 0x1F;

    pub(crate) const NAMES: [(u16, &str); 7] = [
        (ADD_EXISTING_ROW, "ADDEXISTINGROW"),
        (DEL_MISSING_ROW, "DELMISSINGROW"),
        (ADD_EXISTING_TABLE, "ADDEXISTINGTABLE"),
        (DEL_MISSING_TABLE, "DELMISSINGTABLE"),
        (UPDATE_MISSING_ROW, "UPDATEMISSINGROW"),
        (CHANGE_CODEPAGE, "CHANGECODEPAGE"),
        (0x100, "VIEWTRANSFORM"),
    ];
}

/// Names of the set bits of `bits` in a flag table.
pub(crate) fn flag_names(bits: u16, names: &[(u16, &'static str)]) -> Vec<&'static str> {
    names
        .iter()
        .filter(|(b, _)| bits & b != 0)
        .map(|(_, n)| *n)
        .collect()
}

/// Summary-information choices of a transform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformOptions {
    /// `validation::*` flags; default PRODUCT.
    pub validation: u16,
    /// `suppress::*` flags; default 0 (strict: every error condition reported).
    pub error_suppression: u16,
    /// PID_APPNAME (creating application).
    pub app_name: String,
    /// PID_TITLE.
    pub title: String,
    /// Allow changing ProductCode, ProductVersion or UpgradeCode (never for a customization
    /// transform: ConfigMgr detection depends on them). Default false.
    pub allow_identity_change: bool,
    /// PID_LASTAUTHOR, the `platform;language` of the database after the transform; None: the
    /// base's (a customization transform changes neither).
    pub result_template: Option<String>,
    /// PID_PAGECOUNT, the larger of the two databases' page counts; None: the base's.
    pub page_count: Option<i32>,
}

impl Default for TransformOptions {
    fn default() -> Self {
        TransformOptions {
            validation: validation::PRODUCT,
            error_suppression: 0,
            app_name: "agentpack".into(),
            title: "Transform".into(),
            allow_identity_change: false,
            result_template: None,
            page_count: None,
        }
    }
}

/// Write a transform that turns `base` into `base` + `changes`. Deterministic: equal inputs
/// give identical bytes (no timestamps anywhere).
pub fn write_transform(
    base: &Database,
    changes: &ChangeSet,
    opts: &TransformOptions,
) -> Result<Vec<u8>, MstError> {
    let tables = resolve(base, changes)?;
    write_resolved(base, &tables, opts)
}

/// A record plus what it is sorted by (its encoded key fields).
struct Pending {
    sort_key: Vec<u32>,
    record: RawRecord,
}

fn finish(schema: &TableSchema, mut records: Vec<Pending>, long_refs: bool) -> Vec<u8> {
    records.sort_by(|a, b| a.sort_key.cmp(&b.sort_key));
    let mut out = Vec::new();
    for p in &records {
        p.record.write(schema, long_refs, &mut out);
    }
    out
}

fn raw_field(pool: &mut PoolBuilder, kind: ColumnKind, value: &Value) -> u32 {
    match (kind, value) {
        (ColumnKind::Binary, Value::Null) => 0,
        (ColumnKind::Binary, _) => BINARY_PLACEHOLDER,
        (_, Value::Str(s)) => pool.intern(s),
        (_, Value::Int(i)) => encode_int(kind, Some(*i)),
        _ => 0,
    }
}

/// Write already-resolved records (as [`resolve`] or a decoded transform gives them). The
/// records are not re-validated against the schema: prefer [`write_transform`].
pub fn write_resolved(
    base: &Database,
    tables: &[TableChanges],
    opts: &TransformOptions,
) -> Result<Vec<u8>, MstError> {
    let codec = Codec::new(base.codepage()).map_err(|e| e.with_path(base.path()))?;
    let new_identity = check_identity(base, tables, opts)?;
    let mut pool = PoolBuilder::default();

    // System tables first, so new table names get the lowest string IDs like native output.
    let sys_tables = tables_schema();
    let sys_columns = columns_schema();
    let mut table_records = Vec::new();
    let mut column_records = Vec::new();
    for t in tables.iter().filter(|t| t.added || t.added_columns > 0) {
        let id = pool.intern(&t.schema.name);
        // A new table gets a `_Tables` row and all its columns; an extended one only the
        // appended columns, numbered after the existing ones.
        let first = if t.added {
            table_records.push(Pending {
                sort_key: vec![id],
                record: RawRecord {
                    mask: insert_mask(1),
                    fields: vec![(0, id)],
                },
            });
            0
        } else {
            t.schema.columns.len().saturating_sub(t.added_columns)
        };
        for (i, col) in t.schema.columns.iter().enumerate().skip(first) {
            let table_id = pool.intern(&t.schema.name);
            let number = encode_int(ColumnKind::Int16, Some(i as i32 + 1));
            let name_id = pool.intern(&col.name);
            let bits = encode_int(ColumnKind::Int16, Some(i32::from(col.type_bits())));
            column_records.push(Pending {
                sort_key: vec![table_id, number],
                record: RawRecord {
                    mask: insert_mask(4),
                    fields: vec![(0, table_id), (1, number), (2, name_id), (3, bits)],
                },
            });
        }
    }

    let mut data_streams: Vec<(String, Vec<Pending>, &TableSchema)> = Vec::new();
    let mut binary_streams: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for t in tables {
        let schema = &t.schema;
        let keys = schema.key_indices();
        let mut records = Vec::new();
        for change in &t.rows {
            let (mask, cells): (u16, Vec<(usize, &Value)>) = match change {
                RowChange::Insert { row } => (
                    insert_mask(schema.columns.len()),
                    row.iter().enumerate().collect(),
                ),
                RowChange::Update { key, columns } => {
                    let mut mask = 0u16;
                    let mut cells: Vec<(usize, &Value)> =
                        keys.iter().copied().zip(key.iter()).collect();
                    for (i, v) in columns {
                        mask |= 1 << i;
                        cells.push((*i, v));
                    }
                    cells.sort_by_key(|(i, _)| *i);
                    (mask, cells)
                }
                RowChange::Delete { key } => (0, keys.iter().copied().zip(key.iter()).collect()),
            };
            let mut fields = Vec::new();
            for (i, v) in &cells {
                let col = schema.columns.get(*i).ok_or_else(|| {
                    MstError::invalid(format!("{}: no column {}", schema.name, i + 1))
                })?;
                fields.push((*i, raw_field(&mut pool, col.kind, v)));
                if let Value::Binary(data) = v {
                    let name = binary_stream_name(&schema.name, &change.key(schema));
                    let encoded =
                        streamname::encode_checked(&name, false).map_err(MstError::invalid)?;
                    binary_streams.insert(encoded, data.clone());
                }
            }
            let sort_key = fields
                .iter()
                .filter(|(i, _)| schema.columns[*i].key)
                .map(|(_, raw)| *raw)
                .collect();
            records.push(Pending {
                sort_key,
                record: RawRecord { mask, fields },
            });
        }
        let name = streamname::encode_checked(&schema.name, true).map_err(MstError::invalid)?;
        data_streams.push((name, records, schema));
    }

    let long_refs = pool.long_refs();
    let (pool_bytes, data_bytes) = pool.build(&codec)?;
    let mut streams: Vec<(String, Vec<u8>)> = vec![
        (
            SUMMARY_STREAM.to_string(),
            summary_bytes(base, &new_identity, opts, &codec)?,
        ),
        (streamname::encode("_StringPool", true), pool_bytes),
        (streamname::encode("_StringData", true), data_bytes),
    ];
    if !table_records.is_empty() {
        streams.push((
            streamname::encode("_Tables", true),
            finish(&sys_tables, table_records, long_refs),
        ));
    }
    if !column_records.is_empty() {
        streams.push((
            streamname::encode("_Columns", true),
            finish(&sys_columns, column_records, long_refs),
        ));
    }
    for (name, records, schema) in data_streams {
        streams.push((name, finish(schema, records, long_refs)));
    }
    streams.extend(binary_streams);
    write_cfb(&streams)
}

/// ProductCode, ProductVersion, UpgradeCode after the transform; refuses changes unless allowed.
fn check_identity(
    base: &Database,
    tables: &[TableChanges],
    opts: &TransformOptions,
) -> Result<[String; 3], MstError> {
    let id = base.identity();
    let mut after = [
        id.product_code.clone(),
        id.product_version.clone(),
        id.upgrade_code.clone().unwrap_or_default(),
    ];
    const NAMES: [&str; 3] = ["ProductCode", "ProductVersion", "UpgradeCode"];
    for t in tables.iter().filter(|t| t.schema.name == "Property") {
        for change in &t.rows {
            let key = change.key(&t.schema);
            let Some(slot) = NAMES
                .iter()
                .position(|n| key.first().and_then(Value::as_str) == Some(n))
            else {
                continue;
            };
            if !opts.allow_identity_change {
                return Err(MstError::invalid(format!(
                    "the transform would change {}: a customization transform must keep ProductCode, ProductVersion and UpgradeCode",
                    NAMES[slot]
                )));
            }
            after[slot] = match change {
                RowChange::Insert { row } => row.get(1).map(Value::key_text).unwrap_or_default(),
                RowChange::Update { columns, .. } => columns
                    .iter()
                    .find(|(i, _)| *i == 1)
                    .map(|(_, v)| v.key_text())
                    .unwrap_or_else(|| after[slot].clone()),
                RowChange::Delete { .. } => String::new(),
            };
        }
    }
    Ok(after)
}

fn summary_bytes(
    base: &Database,
    new_identity: &[String; 3],
    opts: &TransformOptions,
    codec: &Codec,
) -> Result<Vec<u8>, MstError> {
    let id = base.identity();
    let text = |s: &str| codec.encode(s).map(Prop::Str);
    let revision = format!(
        "{}{};{}{};{}",
        id.product_code, id.product_version, new_identity[0], new_identity[1], new_identity[2]
    );
    let mut props = BTreeMap::new();
    if codec.id() != 0 {
        props.insert(summary::PID_CODEPAGE, Prop::I2(codec.id() as u16 as i16));
    }
    props.insert(summary::PID_TITLE, text(&opts.title)?);
    props.insert(summary::PID_TEMPLATE, text(base.template())?);
    let result = opts.result_template.as_deref().unwrap_or(base.template());
    props.insert(summary::PID_LASTAUTHOR, text(result)?);
    props.insert(summary::PID_REVNUMBER, text(&revision)?);
    let pages = opts
        .page_count
        .unwrap_or(base.page_count())
        .max(base.page_count());
    props.insert(summary::PID_PAGECOUNT, Prop::I4(pages));
    let charcount = (u32::from(opts.validation) << 16) | u32::from(opts.error_suppression);
    props.insert(summary::PID_CHARCOUNT, Prop::I4(charcount as i32));
    props.insert(summary::PID_APPNAME, text(&opts.app_name)?);
    Ok(summary::write_property_set(&props))
}

/// CFB v3 with the transform CLSID; streams in the given order. The cfb crate stamps only
/// storages with the time, and a transform has none, so the output is reproducible.
fn write_cfb(streams: &[(String, Vec<u8>)]) -> Result<Vec<u8>, MstError> {
    let io = |e: std::io::Error| MstError::internal(format!("writing the transform: {e}"));
    let mut comp =
        cfb::CompoundFile::create_with_version(cfb::Version::V3, Cursor::new(Vec::new()))
            .map_err(io)?;
    comp.set_storage_clsid("/", CLSID_TRANSFORM).map_err(io)?;
    for (name, data) in streams {
        let mut stream = comp.create_new_stream(format!("/{name}")).map_err(io)?;
        stream.write_all(data).map_err(io)?;
        stream.flush().map_err(io)?;
    }
    comp.flush().map_err(io)?;
    Ok(comp.into_inner().into_inner())
}
