//! Decoding a transform (ours or one made on Windows) back into summary and row changes,
//! following Wine's `table_load_transform` (reference §4).

use super::changes::RowChange;
use super::database::{binary_stream_name, Database};
use super::dump::{Revision, SchemaSource, TableDump, TransformDump, TransformSummary};
use super::error::MstError;
use super::record::{decode_int, RawRecord, INSERT_FLAG};
use super::schema::{columns_schema, tables_schema, ColumnDef, ColumnKind, TableSchema, Value};
use super::standard::standard_table;
use super::streamname;
use super::stringpool::{Codec, Pool};
use super::summary::{self, Prop};
use super::writer::{flag_names, suppress, validation, CLSID_TRANSFORM, SUMMARY_STREAM};
use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::path::Path;

/// Largest transform accepted (transforms are normally a few KiB).
const MAX_TRANSFORM: u64 = 256 << 20;

/// Decode the transform file at `path`; `base` supplies schemas of the tables it changes.
pub fn read_transform_file(
    path: &Path,
    base: Option<&Database>,
) -> Result<TransformDump, MstError> {
    let bytes = std::fs::read(path)
        .map_err(|e| MstError::bad_transform(format!("cannot read: {e}")).with_path(path))?;
    read_transform(&bytes, base).map_err(|e| e.with_path(path))
}

/// Decode transform bytes; without `base`, tables outside the standard list show raw bytes.
pub fn read_transform(bytes: &[u8], base: Option<&Database>) -> Result<TransformDump, MstError> {
    if bytes.is_empty() {
        return Err(MstError::bad_transform("empty file, not a transform"));
    }
    if bytes.len() as u64 > MAX_TRANSFORM {
        return Err(MstError::bad_transform(
            "larger than 256 MiB, not a transform",
        ));
    }
    crate::panic_guard::third_party(|| decode(bytes, base))
        .unwrap_or_else(|_| Err(MstError::bad_transform("malformed compound file")))
}

fn decode(bytes: &[u8], base: Option<&Database>) -> Result<TransformDump, MstError> {
    let bad = MstError::bad_transform;
    let mut comp = cfb::CompoundFile::open(Cursor::new(bytes)).map_err(|e| {
        bad(format!(
            "not a transform (not a valid compound file: {})",
            super::error::cfb_reason(&e)
        ))
    })?;
    let clsid = *comp.root_entry().clsid();
    if clsid != CLSID_TRANSFORM {
        return Err(bad(format!(
            "not a transform: root class ID is {{{}}}, a transform has {{{}}}",
            clsid.hyphenated(),
            CLSID_TRANSFORM.hyphenated()
        )));
    }
    // Every stream sits at the root; read them all (transforms are small).
    let names: Vec<String> = comp
        .read_root_storage()
        .filter(|e| e.is_stream())
        .map(|e| e.name().to_string())
        .collect();
    let mut tables: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut others: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut summary_bytes = None;
    for name in names {
        let mut data = Vec::new();
        comp.open_stream(format!("/{name}"))
            .and_then(|mut s| s.read_to_end(&mut data))
            .map_err(|e| bad(format!("cannot read stream {name:?}: {e}")))?;
        if name == SUMMARY_STREAM {
            summary_bytes = Some(data);
            continue;
        }
        let (decoded, is_table) = streamname::decode(&name);
        if is_table {
            tables.insert(decoded, data);
        } else {
            others.insert(decoded, data);
        }
    }

    let pool = match (tables.remove("_StringPool"), tables.remove("_StringData")) {
        (Some(p), Some(d)) => Pool::parse(&p, &d).map_err(bad)?,
        (None, None) if tables.is_empty() => Pool::parse(&[0; 4], &[]).map_err(bad)?,
        _ => {
            return Err(bad(
                "the string pool (_StringPool/_StringData) is missing".into()
            ))
        }
    };
    let codec = Codec::new(pool.codepage).or_else(|_| Codec::new(0))?;
    let summary = match &summary_bytes {
        Some(b) => decode_summary(b, &codec)?,
        None => TransformSummary::default(),
    };

    let ctx = Ctx {
        pool: &pool,
        codec: &codec,
        streams: &others,
    };
    let mut dumps = Vec::new();
    // New tables first: their schemas come from _Tables/_Columns.
    let mut added: BTreeMap<String, Vec<(Option<i32>, ColumnDef)>> = BTreeMap::new();
    // Tables `_Tables` creates; other `_Columns` inserts append columns to an existing table.
    let mut created = std::collections::BTreeSet::new();
    for sys in ["_Tables", "_Columns"] {
        let Some(data) = tables.remove(sys) else {
            continue;
        };
        let schema = if sys == "_Tables" {
            tables_schema()
        } else {
            columns_schema()
        };
        let rows = ctx.rows(&schema, &data)?;
        for row in &rows {
            if let RowChange::Insert { row } = row {
                if sys == "_Tables" {
                    created.insert(row[0].key_text());
                    added.entry(row[0].key_text()).or_default();
                } else {
                    let bits = row[3].as_int().unwrap_or(0) as u16;
                    let col = ColumnDef::from_type_bits(row[2].key_text(), bits)
                        .map_err(|e| bad(format!("_Columns row for {}: {e}", row[0].key_text())))?;
                    added
                        .entry(row[0].key_text())
                        .or_default()
                        .push((row[1].as_int(), col));
                }
            }
        }
        dumps.push(TableDump {
            name: sys.to_string(),
            added: false,
            added_columns: 0,
            schema: Some(schema),
            schema_source: SchemaSource::System,
            rows,
            raw: None,
        });
    }
    let known = |name: &str| -> Option<(TableSchema, SchemaSource)> {
        if let Some(t) = base.and_then(|b| b.table(name)) {
            Some((t.schema().clone(), SchemaSource::Base))
        } else {
            standard_table(name).map(|s| (s, SchemaSource::Standard))
        }
    };
    let mut new_schemas: BTreeMap<String, TableSchema> = BTreeMap::new();
    // Existing tables with columns appended by this transform: the known columns, then these.
    let mut extended: BTreeMap<String, (TableSchema, SchemaSource, usize)> = BTreeMap::new();
    for (name, mut cols) in added {
        // NULL numbers mean stream order (Wine numbers them 1..n); a stable sort keeps it.
        cols.sort_by_key(|(n, _)| n.unwrap_or(0));
        let cols: Vec<ColumnDef> = cols.into_iter().map(|(_, c)| c).collect();
        if created.contains(&name) {
            new_schemas.insert(name.clone(), TableSchema::new(name, cols));
        } else if let Some((schema, source)) = known(&name) {
            let appended = cols.len();
            let mut all = schema.columns.clone();
            all.extend(cols);
            extended.insert(
                name.clone(),
                (TableSchema::new(name, all), source, appended),
            );
        }
        // Columns appended to a table we know nothing of: its stream is shown raw below.
    }

    for (name, data) in tables {
        let (schema, source, is_new, appended) = if let Some(s) = new_schemas.remove(&name) {
            (Some(s), SchemaSource::Transform, true, 0)
        } else if let Some((s, source, n)) = extended.remove(&name) {
            (Some(s), source, false, n)
        } else if let Some((s, source)) = known(&name) {
            (Some(s), source, false, 0)
        } else {
            (None, SchemaSource::Unknown, false, 0)
        };
        let (rows, raw) = match &schema {
            Some(s) => (ctx.rows(s, &data)?, None),
            None => (Vec::new(), Some(data)),
        };
        dumps.push(TableDump {
            name,
            added: is_new,
            added_columns: appended,
            schema,
            schema_source: source,
            rows,
            raw,
        });
    }
    // A table added (or extended) with no rows has no stream of its own.
    for (name, (schema, source, appended)) in extended {
        dumps.push(TableDump {
            name,
            added: false,
            added_columns: appended,
            schema: Some(schema),
            schema_source: source,
            rows: Vec::new(),
            raw: None,
        });
    }
    for (name, schema) in new_schemas {
        dumps.push(TableDump {
            name,
            added: true,
            added_columns: 0,
            schema: Some(schema),
            schema_source: SchemaSource::Transform,
            rows: Vec::new(),
            raw: None,
        });
    }
    Ok(TransformDump {
        summary,
        codepage: pool.codepage,
        long_string_refs: pool.long_refs,
        string_count: pool.len(),
        tables: dumps,
        streams: others.iter().map(|(n, d)| (n.clone(), d.len())).collect(),
    })
}

struct Ctx<'a> {
    pool: &'a Pool,
    codec: &'a Codec,
    streams: &'a BTreeMap<String, Vec<u8>>,
}

impl Ctx<'_> {
    fn rows(&self, schema: &TableSchema, data: &[u8]) -> Result<Vec<RowChange>, MstError> {
        let bad = |e: String| MstError::bad_transform(format!("table {}: {e}", schema.name));
        let mut pos = 0;
        let mut out = Vec::new();
        let keys = schema.key_indices();
        while let Some(rec) =
            RawRecord::read(data, &mut pos, schema, self.pool.long_refs).map_err(bad)?
        {
            let mut cells: Vec<(usize, Value)> = Vec::new();
            for &(col, raw) in &rec.fields {
                let value = self.value(schema.columns[col].kind, raw).map_err(bad)?;
                cells.push((col, value));
            }
            let key: Vec<Value> = keys
                .iter()
                .map(|k| {
                    cells
                        .iter()
                        .find(|(c, _)| c == k)
                        .map_or(Value::Null, |(_, v)| v.clone())
                })
                .collect();
            // Binary placeholders point at `Table.Key` streams of the transform.
            for (col, value) in cells.iter_mut() {
                if schema.columns[*col].kind == ColumnKind::Binary && *value == Value::Stream {
                    if let Some(d) = self.streams.get(&binary_stream_name(&schema.name, &key)) {
                        *value = Value::Binary(d.clone());
                    }
                }
            }
            let change = if rec.mask & INSERT_FLAG != 0 {
                let mut row = vec![Value::Null; schema.columns.len()];
                for (col, value) in cells {
                    row[col] = value;
                }
                RowChange::Insert { row }
            } else if rec.mask == 0 {
                RowChange::Delete { key }
            } else {
                let columns = cells
                    .into_iter()
                    .filter(|(c, _)| !schema.columns[*c].key)
                    .collect();
                RowChange::Update { key, columns }
            };
            out.push(change);
        }
        Ok(out)
    }

    fn value(&self, kind: ColumnKind, raw: u32) -> Result<Value, String> {
        Ok(match kind {
            ColumnKind::Int16 | ColumnKind::Int32 => decode_int(kind, raw),
            ColumnKind::Binary if raw == 0 => Value::Null,
            ColumnKind::Binary => Value::Stream,
            ColumnKind::Str(_) if raw == 0 => Value::Null,
            ColumnKind::Str(_) => match self.pool.bytes(raw) {
                Some(b) => Value::Str(self.codec.decode(b)),
                None => return Err(format!("string ID {raw} is not in the string pool")),
            },
        })
    }
}

fn decode_summary(bytes: &[u8], codec: &Codec) -> Result<TransformSummary, MstError> {
    let props = summary::read_property_set(bytes).map_err(MstError::bad_transform)?;
    let mut s = TransformSummary::default();
    for (pid, prop) in props {
        let text = match &prop {
            Prop::Str(b) => Some(codec.decode(b)),
            _ => None,
        };
        match (pid, &prop) {
            (summary::PID_CODEPAGE, Prop::I2(cp)) => s.codepage = Some(*cp as u16),
            (summary::PID_TITLE, _) => s.title = text,
            (summary::PID_SUBJECT, _) => s.subject = text,
            (summary::PID_AUTHOR, _) => s.author = text,
            (summary::PID_KEYWORDS, _) => s.keywords = text,
            (summary::PID_COMMENTS, _) => s.comments = text,
            (summary::PID_TEMPLATE, _) => s.template = text,
            (summary::PID_LASTAUTHOR, _) => s.last_author = text,
            (summary::PID_REVNUMBER, _) => {
                s.revision_parts = text.as_deref().and_then(Revision::parse);
                s.revision = text;
            }
            (summary::PID_PAGECOUNT, Prop::I4(n)) => s.page_count = Some(*n),
            (summary::PID_CHARCOUNT, Prop::I4(n)) => {
                let n = *n as u32;
                s.char_count = Some(n);
                s.validation = (n >> 16) as u16;
                s.error_suppression = n as u16;
                s.validation_names = flag_names(s.validation, &validation::NAMES);
                s.error_suppression_names = flag_names(s.error_suppression, &suppress::NAMES);
            }
            (summary::PID_APPNAME, _) => s.app_name = text,
            (summary::PID_SECURITY, Prop::I4(n)) => s.security = Some(*n),
            (pid, prop) => s.other.push((pid, describe(prop, codec))),
        }
    }
    Ok(s)
}

fn describe(prop: &Prop, codec: &Codec) -> String {
    match prop {
        Prop::I2(v) => v.to_string(),
        Prop::I4(v) => v.to_string(),
        Prop::Str(b) => codec.decode(b),
        Prop::FileTime(t) => format!("filetime {t}"),
        Prop::Other(vt) => format!("(property type {vt})"),
    }
}
