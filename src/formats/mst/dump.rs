//! A decoded transform for people (`Display`) and for tools (`Serialize`, column names as keys).

use super::changes::{show_key, RowChange, TableChanges};
use super::schema::{TableSchema, Value};
use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};
use std::fmt;

/// `{Old}ver;{New}ver;{UpgradeCode}` split into its parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revision {
    pub old_product_code: String,
    pub old_version: String,
    pub new_product_code: String,
    pub new_version: String,
    pub upgrade_code: String,
}

impl Revision {
    pub(crate) fn parse(text: &str) -> Option<Revision> {
        let mut parts = text.splitn(3, ';');
        let split = |s: &str| -> Option<(String, String)> {
            let end = s.find('}')?;
            s.starts_with('{')
                .then(|| (s[..=end].to_string(), s[end + 1..].to_string()))
        };
        let (old_product_code, old_version) = split(parts.next()?)?;
        let (new_product_code, new_version) = split(parts.next()?)?;
        Some(Revision {
            old_product_code,
            old_version,
            new_product_code,
            new_version,
            upgrade_code: parts.next()?.to_string(),
        })
    }
}

/// Summary information of a transform, decoded (reference §7).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TransformSummary {
    pub codepage: Option<u16>,
    pub title: Option<String>,
    pub subject: Option<String>,
    pub author: Option<String>,
    pub keywords: Option<String>,
    pub comments: Option<String>,
    /// Base `platform;language`.
    pub template: Option<String>,
    /// `platform;language` after the transform.
    pub last_author: Option<String>,
    pub revision: Option<String>,
    pub revision_parts: Option<Revision>,
    pub page_count: Option<i32>,
    /// Raw PID_CHARCOUNT.
    pub char_count: Option<u32>,
    pub validation: u16,
    pub validation_names: Vec<&'static str>,
    pub error_suppression: u16,
    pub error_suppression_names: Vec<&'static str>,
    pub app_name: Option<String>,
    pub security: Option<i32>,
    /// Properties not listed above, as `(pid, description)`.
    pub other: Vec<(u32, String)>,
}

/// Where the column layout used to decode a table stream came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SchemaSource {
    /// Created by this transform (`_Tables`/`_Columns`).
    Transform,
    /// The base database given to the reader.
    Base,
    /// The built-in standard table list.
    Standard,
    /// `_Tables` / `_Columns` themselves.
    System,
    /// Unknown: the stream is shown as raw bytes.
    Unknown,
}

/// One table stream of a transform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDump {
    pub name: String,
    pub added: bool,
    /// Columns this transform appends to an existing table (the schema's last ones).
    pub added_columns: usize,
    pub schema: Option<TableSchema>,
    pub schema_source: SchemaSource,
    pub rows: Vec<RowChange>,
    /// The stream bytes when no schema was available.
    pub raw: Option<Vec<u8>>,
}

/// A whole decoded transform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransformDump {
    pub summary: TransformSummary,
    /// Codepage of the transform's string pool.
    pub codepage: u32,
    pub long_string_refs: bool,
    /// Number of string IDs in the pool (ID 0 included).
    pub string_count: usize,
    pub tables: Vec<TableDump>,
    /// Other streams (binary cell data), as (decoded name, bytes).
    pub streams: Vec<(String, usize)>,
}

impl TransformDump {
    /// Row changes of every decodable data table (system tables folded into `added`).
    pub fn changes(&self) -> Vec<TableChanges> {
        self.tables
            .iter()
            .filter(|t| t.schema_source != SchemaSource::System)
            .filter_map(|t| {
                Some(TableChanges {
                    schema: t.schema.clone()?,
                    added: t.added,
                    added_columns: t.added_columns,
                    rows: t.rows.clone(),
                })
            })
            .collect()
    }

    pub fn table(&self, name: &str) -> Option<&TableDump> {
        self.tables.iter().find(|t| t.name == name)
    }
}

struct Named<'a>(&'a TableSchema, Vec<(usize, &'a Value)>);

impl Serialize for Named<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.1.len()))?;
        for (i, v) in &self.1 {
            let name = self.0.columns.get(*i).map_or("?", |c| c.name.as_str());
            m.serialize_entry(name, v)?;
        }
        m.end()
    }
}

struct ChangeJson<'a>(&'a TableSchema, &'a RowChange);

fn keyed<'a>(schema: &'a TableSchema, key: &'a [Value]) -> Named<'a> {
    Named(schema, schema.key_indices().into_iter().zip(key).collect())
}

impl Serialize for ChangeJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let schema = self.0;
        let mut st = s.serialize_struct("Change", 3)?;
        match self.1 {
            RowChange::Insert { row } => {
                st.serialize_field("op", "insert")?;
                st.serialize_field(
                    "key",
                    &Named(
                        schema,
                        schema
                            .key_indices()
                            .into_iter()
                            .filter_map(|i| Some((i, row.get(i)?)))
                            .collect(),
                    ),
                )?;
                st.serialize_field("values", &Named(schema, row.iter().enumerate().collect()))?;
            }
            RowChange::Update { key, columns } => {
                st.serialize_field("op", "update")?;
                st.serialize_field("key", &keyed(schema, key))?;
                st.serialize_field(
                    "values",
                    &Named(schema, columns.iter().map(|(i, v)| (*i, v)).collect()),
                )?;
            }
            RowChange::Delete { key } => {
                st.serialize_field("op", "delete")?;
                st.serialize_field("key", &keyed(schema, key))?;
                st.serialize_field("values", &Option::<()>::None)?;
            }
        }
        st.end()
    }
}

impl Serialize for TableDump {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("TableDump", 7)?;
        st.serialize_field("name", &self.name)?;
        st.serialize_field("added", &self.added)?;
        st.serialize_field("added_columns", &self.added_columns)?;
        st.serialize_field("schema_source", &self.schema_source)?;
        let columns: Option<Vec<(String, String)>> = self.schema.as_ref().map(|sc| {
            sc.columns
                .iter()
                .map(|c| {
                    (
                        c.name.clone(),
                        format!("{}{}", c.idt(), if c.key { " key" } else { "" }),
                    )
                })
                .collect()
        });
        st.serialize_field("columns", &columns)?;
        let changes: Vec<ChangeJson> = match &self.schema {
            Some(schema) => self.rows.iter().map(|r| ChangeJson(schema, r)).collect(),
            None => Vec::new(),
        };
        st.serialize_field("changes", &changes)?;
        st.serialize_field("raw_hex", &self.raw.as_ref().map(|b| hex(b)))?;
        st.end()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn named(schema: &TableSchema, cells: impl Iterator<Item = (usize, String)>) -> String {
    cells
        .map(|(i, v)| {
            format!(
                "{}={v}",
                schema.columns.get(i).map_or("?", |c| c.name.as_str())
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for TransformDump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.summary;
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
        writeln!(f, "Summary information")?;
        writeln!(f, "  Title:            {}", opt(&s.title))?;
        writeln!(f, "  Template:         {}", opt(&s.template))?;
        writeln!(f, "  Last saved by:    {}", opt(&s.last_author))?;
        match &s.revision_parts {
            Some(r) => {
                writeln!(
                    f,
                    "  Base product:     {} version {}",
                    r.old_product_code, r.old_version
                )?;
                writeln!(
                    f,
                    "  Result product:   {} version {}",
                    r.new_product_code, r.new_version
                )?;
                writeln!(f, "  Upgrade code:     {}", r.upgrade_code)?;
            }
            None => writeln!(f, "  Revision:         {}", opt(&s.revision))?,
        }
        if let Some(p) = s.page_count {
            writeln!(f, "  Page count:       {p}")?;
        }
        let names = |n: &[&str]| {
            if n.is_empty() {
                "none".to_string()
            } else {
                n.join(" | ")
            }
        };
        writeln!(
            f,
            "  Validation:       0x{:04X} ({})",
            s.validation,
            names(&s.validation_names)
        )?;
        writeln!(
            f,
            "  Errors ignored:   0x{:04X} ({})",
            s.error_suppression,
            names(&s.error_suppression_names)
        )?;
        writeln!(f, "  Application:      {}", opt(&s.app_name))?;
        for (pid, text) in &s.other {
            writeln!(f, "  Property {pid}:      {text}")?;
        }
        writeln!(
            f,
            "String pool: {} IDs, codepage {}, {}-byte references",
            self.string_count,
            self.codepage,
            if self.long_string_refs { 3 } else { 2 }
        )?;
        for t in self
            .tables
            .iter()
            .filter(|t| t.schema_source != SchemaSource::System)
        {
            let count = t.rows.len();
            match (&t.schema, t.added) {
                (Some(schema), true) => {
                    let cols: Vec<String> = schema
                        .columns
                        .iter()
                        .map(|c| {
                            format!("{} {}{}", c.name, c.idt(), if c.key { " key" } else { "" })
                        })
                        .collect();
                    writeln!(
                        f,
                        "New table {} ({}), {count} row(s)",
                        t.name,
                        cols.join(", ")
                    )?;
                }
                (Some(schema), false) if t.added_columns > 0 => {
                    let first = schema.columns.len() - t.added_columns;
                    let cols: Vec<String> = schema.columns[first..]
                        .iter()
                        .map(|c| format!("{} {}", c.name, c.idt()))
                        .collect();
                    writeln!(
                        f,
                        "Table {}: column(s) added ({}), {count} change(s)",
                        t.name,
                        cols.join(", ")
                    )?;
                }
                (Some(_), false) => writeln!(f, "Table {}: {count} change(s)", t.name)?,
                (None, _) => {
                    let raw = t.raw.as_deref().unwrap_or_default();
                    writeln!(
                        f,
                        "Table {}: schema unknown (give the base MSI), {} bytes: {}",
                        t.name,
                        raw.len(),
                        hex(raw)
                    )?;
                }
            }
            let Some(schema) = &t.schema else { continue };
            for row in &t.rows {
                match row {
                    RowChange::Insert { row } => writeln!(
                        f,
                        "  insert {}",
                        named(schema, row.iter().map(ToString::to_string).enumerate())
                    )?,
                    RowChange::Update { key, columns } => writeln!(
                        f,
                        "  update [{}] set {}",
                        show_key(key),
                        named(schema, columns.iter().map(|(i, v)| (*i, v.to_string())))
                    )?,
                    RowChange::Delete { key } => writeln!(f, "  delete [{}]", show_key(key))?,
                }
            }
        }
        for (name, size) in &self.streams {
            writeln!(f, "Stream {name}: {size} bytes")?;
        }
        Ok(())
    }
}
