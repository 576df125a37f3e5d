//! Reading a base MSI: identity, codepage, summary template and all tables, without touching
//! the (possibly huge) cabinet streams. Tables come from the `msi` crate; the codepage, CLSID
//! and summary are read directly so their raw values survive.

use super::error::MstError;
use super::schema::{ColumnDef, ColumnKind, TableSchema, Value};
use super::streamname;
use super::stringpool::Codec;
use super::summary::{self, Prop};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

const CLSID_MSI: &str = "000c1084-0000-0000-c000-000000000046";
const CLSID_TRANSFORM: &str = "000c1082-0000-0000-c000-000000000046";
const CLSID_PATCH: &str = "000c1086-0000-0000-c000-000000000046";
const SUMMARY_STREAM: &str = "\u{5}SummaryInformation";
/// Properties every Windows Installer package must define.
const REQUIRED: [&str; 5] = [
    "ProductCode",
    "ProductVersion",
    "ProductName",
    "Manufacturer",
    "ProductLanguage",
];

/// Who the package is: what a transform and a ConfigMgr detection rule depend on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    pub product_code: String,
    pub upgrade_code: Option<String>,
    pub product_version: String,
    pub product_name: String,
    pub manufacturer: String,
    pub product_language: String,
    /// Database codepage (0 = neutral/ASCII).
    pub codepage: u32,
    /// Summary Template, `platform;languages` (e.g. `x64;1033`).
    pub template: String,
}

/// One table: schema and rows keyed by their primary-key values.
#[derive(Debug, Clone)]
pub struct Table {
    schema: TableSchema,
    rows: BTreeMap<Vec<Value>, Vec<Value>>,
}

impl Table {
    pub(crate) fn new(schema: TableSchema) -> Self {
        Table {
            schema,
            rows: BTreeMap::new(),
        }
    }

    pub fn schema(&self) -> &TableSchema {
        &self.schema
    }

    /// Rows in key order. Binary cells are `Value::Stream` (see [`Database::read_stream`]).
    pub fn rows(&self) -> impl Iterator<Item = &[Value]> {
        self.rows.values().map(Vec::as_slice)
    }

    pub fn row(&self, key: &[Value]) -> Option<&[Value]> {
        self.rows.get(key).map(Vec::as_slice)
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// An opened MSI database (read-only, fully loaded tables, no cabinet data).
#[derive(Debug, Clone)]
pub struct Database {
    path: PathBuf,
    identity: Identity,
    page_count: i32,
    tables: BTreeMap<String, Table>,
}

impl Database {
    /// Open and load an MSI. Never panics: every problem is an error naming `path`.
    pub fn open(path: &Path) -> Result<Database, MstError> {
        let bad = |msg: String| MstError::bad_database(path, msg);
        let file = File::open(path).map_err(|e| bad(format!("cannot open: {e}")))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        if size == 0 {
            return Err(bad("empty file, not an MSI database".into()));
        }
        let result = crate::panic_guard::third_party(|| load(path, file));
        match result {
            Ok(r) => r,
            Err(_) => Err(bad(
                "malformed MSI database (the MSI reader gave up on its tables)".into(),
            )),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    pub fn codepage(&self) -> u32 {
        self.identity.codepage
    }

    /// Summary Template, e.g. `x64;1033`.
    pub fn template(&self) -> &str {
        &self.identity.template
    }

    /// Summary PageCount (minimum installer version for an MSI), 200 when absent.
    pub fn page_count(&self) -> i32 {
        self.page_count
    }

    pub fn has_table(&self, name: &str) -> bool {
        self.tables.contains_key(name)
    }

    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.get(name)
    }

    /// All user tables (system tables `_Tables`/`_Columns` excluded), by name.
    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        self.tables.values()
    }

    pub fn property(&self, name: &str) -> Option<&str> {
        self.tables
            .get("Property")?
            .row(&[Value::str(name)])?
            .get(1)?
            .as_str()
    }

    /// Property rows sorted by name (NULL values as "").
    pub fn properties(&self) -> Vec<(&str, &str)> {
        self.tables
            .get("Property")
            .map(|t| {
                t.rows()
                    .filter_map(|r| Some((r.first()?.as_str()?, r.get(1)?.as_str().unwrap_or(""))))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The data of a binary cell (`Table.Key1.Key2` stream), None when the cell is NULL.
    pub fn read_stream(&self, table: &str, key: &[Value]) -> Result<Option<Vec<u8>>, MstError> {
        let name = binary_stream_name(table, key);
        let bad = |msg: String| MstError::bad_database(&self.path, msg);
        let file = File::open(&self.path).map_err(|e| bad(format!("cannot open: {e}")))?;
        let comp = crate::panic_guard::third_party(|| cfb::CompoundFile::open(file))
            .map_err(|_| bad("malformed compound file".into()))?
            .map_err(|e| bad(format!("cannot read compound file: {e}")))?;
        let encoded = format!("/{}", streamname::encode(&name, false));
        if !comp.is_stream(&encoded) {
            return Ok(None);
        }
        let mut comp = comp;
        let mut data = Vec::new();
        comp.open_stream(&encoded)
            .and_then(|mut s| s.read_to_end(&mut data))
            .map_err(|e| bad(format!("cannot read stream {name}: {e}")))?;
        Ok(Some(data))
    }
}

/// `Table.Key1.Key2`: the name of the stream holding a binary cell (reference §5).
pub(crate) fn binary_stream_name(table: &str, key: &[Value]) -> String {
    let mut name = table.to_string();
    for k in key {
        name.push('.');
        name.push_str(&k.key_text());
    }
    name
}

/// The `msi` crate allocates each string's declared length before reading it; a damaged pool
/// could make it ask for gigabytes. Check that the declared lengths fit in `_StringData` first,
/// reading the pool the way the crate does (a `(0, refcount)` entry carries a 32-bit length).
fn check_string_pool<F: Read + std::io::Seek>(
    comp: &mut cfb::CompoundFile<F>,
) -> Result<(), String> {
    let pool_name = format!("/{}", streamname::encode("_StringPool", true));
    let data_name = format!("/{}", streamname::encode("_StringData", true));
    let data_len = comp.entry(&data_name).map(|e| e.len()).unwrap_or(0);
    let pool_len = comp.entry(&pool_name).map(|e| e.len()).unwrap_or(0);
    // Every string takes at least one 4-byte entry; a pool this large is not a real database.
    if pool_len > 64 << 20 {
        return Err(format!(
            "string pool of {pool_len} bytes is implausibly large"
        ));
    }
    let mut pool = Vec::new();
    comp.open_stream(&pool_name)
        .and_then(|mut s| s.read_to_end(&mut pool))
        .map_err(|e| format!("cannot read the string pool: {e}"))?;
    let mut total: u64 = 0;
    let mut i = 4;
    while i + 4 <= pool.len() {
        let mut len = u64::from(u16::from_le_bytes([pool[i], pool[i + 1]]));
        let refs = u16::from_le_bytes([pool[i + 2], pool[i + 3]]);
        i += 4;
        if len == 0 && refs > 0 {
            let Some(b) = pool.get(i..i + 4) else { break };
            len = u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            i += 4;
        }
        total += len;
        if total > data_len {
            return Err(format!(
                "string pool declares more string data than _StringData holds ({data_len} bytes): damaged database"
            ));
        }
    }
    Ok(())
}

fn load(path: &Path, file: File) -> Result<Database, MstError> {
    let bad = |msg: String| MstError::bad_database(path, msg);
    let mut comp = cfb::CompoundFile::open(file).map_err(|e| {
        bad(format!(
            "not a Windows Installer database (not a valid compound file: {})",
            super::error::cfb_reason(&e)
        ))
    })?;
    let clsid = comp.root_entry().clsid().hyphenated().to_string();
    match clsid.as_str() {
        CLSID_MSI => {}
        CLSID_TRANSFORM => return Err(bad("is a transform (.mst), not an MSI database".into())),
        CLSID_PATCH => return Err(bad("is a patch (.msp), not an MSI database".into())),
        other => {
            return Err(bad(format!(
                "compound file with class ID {{{other}}} is not an MSI database"
            )))
        }
    }
    let codepage = {
        let name = format!("/{}", streamname::encode("_StringPool", true));
        let mut header = [0u8; 4];
        comp.open_stream(&name)
            .and_then(|mut s| s.read_exact(&mut header))
            .map_err(|e| bad(format!("no readable string pool, not an MSI database: {e}")))?;
        u32::from_le_bytes(header) & 0x7FFF_FFFF
    };
    let codec = Codec::new(codepage).map_err(|e| bad(e.to_string()))?;
    check_string_pool(&mut comp).map_err(bad)?;
    let props = {
        let mut data = Vec::new();
        comp.open_stream(format!("/{SUMMARY_STREAM}"))
            .and_then(|s| s.take(1 << 20).read_to_end(&mut data))
            .map_err(|e| bad(format!("no summary information: {e}")))?;
        summary::read_property_set(&data).map_err(bad)?
    };
    let template = match props.get(&summary::PID_TEMPLATE) {
        Some(Prop::Str(b)) => codec.decode(b),
        _ => String::new(),
    };
    let page_count = match props.get(&summary::PID_PAGECOUNT) {
        Some(Prop::I4(n)) => *n,
        _ => 200,
    };

    let file = File::open(path).map_err(|e| bad(format!("cannot open: {e}")))?;
    let mut package =
        msi::Package::open(file).map_err(|e| bad(format!("cannot read the MSI tables: {e}")))?;
    if !package.has_table("Property") {
        return Err(bad("MSI database has no Property table".into()));
    }
    let schemas: Vec<TableSchema> = package
        .tables()
        .filter(|t| !matches!(t.name(), "_Tables" | "_Columns"))
        .map(convert_schema)
        .collect();
    let mut tables = BTreeMap::new();
    for schema in schemas {
        let mut table = Table::new(schema);
        let rows = package
            .select_rows(msi::Select::table(table.schema.name.as_str()))
            .map_err(|e| bad(format!("cannot read table {}: {e}", table.schema.name)))?;
        let mut loaded = Vec::new();
        for row in rows {
            let values: Vec<Value> = (0..row.len()).map(|i| convert_value(&row[i])).collect();
            loaded.push(values);
        }
        for mut values in loaded {
            let key = table.schema.key_of(&values);
            for (i, col) in table.schema.columns.iter().enumerate() {
                if col.kind == ColumnKind::Binary {
                    // The msi crate cannot tell NULL from data: the stream's existence can.
                    let name = binary_stream_name(&table.schema.name, &key);
                    let exists = comp.is_stream(format!("/{}", streamname::encode(&name, false)));
                    values[i] = if exists { Value::Stream } else { Value::Null };
                }
            }
            table.rows.insert(key, values);
        }
        tables.insert(table.schema.name.clone(), table);
    }

    let property = |name: &str| -> Option<String> {
        tables
            .get("Property")?
            .row(&[Value::str(name)])?
            .get(1)?
            .as_str()
            .map(str::to_string)
    };
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|p| property(p).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(bad(format!(
            "MSI Property table lacks required properties: {}",
            missing.join(", ")
        )));
    }
    let get = |name: &str| property(name).unwrap_or_default();
    let identity = Identity {
        product_code: get("ProductCode"),
        upgrade_code: property("UpgradeCode"),
        product_version: get("ProductVersion"),
        product_name: get("ProductName"),
        manufacturer: get("Manufacturer"),
        product_language: get("ProductLanguage"),
        codepage,
        template,
    };
    Ok(Database {
        path: path.to_path_buf(),
        identity,
        page_count,
        tables,
    })
}

fn convert_schema(table: &msi::Table) -> TableSchema {
    let columns = table
        .columns()
        .iter()
        .map(|c| {
            let kind = match c.coltype() {
                msi::ColumnType::Int16 => ColumnKind::Int16,
                msi::ColumnType::Int32 => ColumnKind::Int32,
                msi::ColumnType::Str(n) => ColumnKind::Str(n.min(255) as u8),
                msi::ColumnType::Binary => ColumnKind::Binary,
            };
            ColumnDef {
                name: c.name().to_string(),
                kind,
                nullable: c.is_nullable(),
                key: c.is_primary_key(),
                localizable: c.is_localizable(),
            }
        })
        .collect();
    TableSchema::new(table.name(), columns)
}

fn convert_value(v: &msi::Value) -> Value {
    match v {
        msi::Value::Null => Value::Null,
        msi::Value::Int(i) => Value::Int(*i),
        msi::Value::Str(s) if s.is_empty() => Value::Null,
        msi::Value::Str(s) => Value::Str(s.clone()),
        msi::Value::Binary => Value::Stream,
    }
}
