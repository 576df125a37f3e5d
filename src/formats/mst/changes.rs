//! Change sets: what a caller wants a table to look like, and their resolution against a base
//! database into the insert/update/delete records a transform carries (reference §4.3).

use super::database::{binary_stream_name, Database};
use super::error::MstError;
use super::record::MAX_UPDATE_COLUMN;
use super::schema::{ColumnDef, ColumnKind, TableSchema, Value};
use super::streamname;
use super::stringpool::Codec;
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Set {
        table: String,
        row: Vec<Value>,
    },
    Update {
        table: String,
        key: Vec<Value>,
        column: String,
        value: Value,
    },
    Delete {
        table: String,
        key: Vec<Value>,
    },
}

impl Op {
    fn table(&self) -> &str {
        match self {
            Op::Set { table, .. } | Op::Update { table, .. } | Op::Delete { table, .. } => table,
        }
    }
}

/// Desired changes, in the order given. Nothing is checked until the set is resolved against
/// a base ([`resolve`], [`write_transform`](super::write_transform)); later operations on the
/// same row win.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChangeSet {
    ops: Vec<Op>,
    new_tables: Vec<TableSchema>,
    /// Columns appended to tables the base has (through `_Columns`), per table.
    new_columns: Vec<(String, Vec<ColumnDef>)>,
}

impl ChangeSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Make `row` (all columns, in schema order) present: an insert when its key is absent
    /// from the base, an update of the changed non-key columns when present, nothing when
    /// identical. In `Property`, a NULL or empty `Value` deletes the row instead.
    pub fn set(&mut self, table: &str, row: Vec<Value>) -> &mut Self {
        self.ops.push(Op::Set {
            table: table.to_string(),
            row,
        });
        self
    }

    /// Set one column of an existing row (the row must exist in the base or earlier in this
    /// set). Key columns cannot change: delete and set a new row instead.
    pub fn update(
        &mut self,
        table: &str,
        key: Vec<Value>,
        column: &str,
        value: Value,
    ) -> &mut Self {
        self.ops.push(Op::Update {
            table: table.to_string(),
            key,
            column: column.to_string(),
            value,
        });
        self
    }

    /// Make the row with `key` absent (nothing happens when the base lacks it).
    pub fn delete(&mut self, table: &str, key: Vec<Value>) -> &mut Self {
        self.ops.push(Op::Delete {
            table: table.to_string(),
            key,
        });
        self
    }

    /// `set("Property", [name, value])`; an empty value deletes the property.
    pub fn set_property(&mut self, name: &str, value: &str) -> &mut Self {
        self.set("Property", vec![Value::str(name), Value::str(value)])
    }

    pub fn delete_property(&mut self, name: &str) -> &mut Self {
        self.delete("Property", vec![Value::str(name)])
    }

    /// Create a table the base lacks (through `_Tables`/`_Columns`); rows follow with `set`.
    pub fn add_table(&mut self, schema: TableSchema) -> &mut Self {
        self.new_tables.push(schema);
        self
    }

    /// Append `columns` (non-key) to a table the base has, through `_Columns`: the base's rows
    /// get NULL in them; rows follow with `set` (all columns, the new ones last).
    pub fn add_columns(&mut self, table: &str, columns: Vec<ColumnDef>) -> &mut Self {
        self.new_columns.push((table.to_string(), columns));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty() && self.new_tables.is_empty() && self.new_columns.is_empty()
    }
}

/// One record of a transform, by column index in the table's schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum RowChange {
    /// A whole new row.
    Insert {
        row: Vec<Value>,
    },
    /// New values of some non-key columns of the row with `key`.
    Update {
        key: Vec<Value>,
        columns: Vec<(usize, Value)>,
    },
    Delete {
        key: Vec<Value>,
    },
}

impl RowChange {
    pub fn key(&self, schema: &TableSchema) -> Vec<Value> {
        match self {
            RowChange::Insert { row } => schema.key_of(row),
            RowChange::Update { key, .. } | RowChange::Delete { key } => key.clone(),
        }
    }
}

/// The records of one table stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableChanges {
    pub schema: TableSchema,
    /// True when the transform creates the table.
    pub added: bool,
    /// How many of the schema's last columns the transform appends to an existing table.
    pub added_columns: usize,
    pub rows: Vec<RowChange>,
}

enum Desired {
    Row(Vec<Value>),
    Absent,
}

/// Resolve `changes` against `base` into records, validating every value. Tables keep the
/// order of their first mention (added tables first), rows the order of their first change.
pub fn resolve(base: &Database, changes: &ChangeSet) -> Result<Vec<TableChanges>, MstError> {
    let codec = Codec::new(base.codepage()).map_err(|e| e.with_path(base.path()))?;
    // (schema, added, number of appended columns)
    let mut order: Vec<(TableSchema, bool, usize)> = Vec::new();
    for schema in &changes.new_tables {
        schema.check().map_err(MstError::invalid)?;
        streamname::encode_checked(&schema.name, true).map_err(MstError::invalid)?;
        if base.has_table(&schema.name) {
            return Err(MstError::invalid(format!(
                "cannot add table {}: the base already has it",
                schema.name
            )));
        }
        if order.iter().any(|(s, ..)| s.name == schema.name) {
            return Err(MstError::invalid(format!(
                "table {} added twice",
                schema.name
            )));
        }
        order.push((schema.clone(), true, 0));
    }
    for (name, columns) in &changes.new_columns {
        let table = base.table(name).ok_or_else(|| {
            MstError::invalid(format!(
                "cannot add columns to {name}: the base has no such table (add it with add_table)"
            ))
        })?;
        if order.iter().any(|(s, ..)| &s.name == name) {
            return Err(MstError::invalid(format!(
                "columns added to {name} twice, or to a table this transform creates"
            )));
        }
        let mut schema = table.schema().clone();
        for col in columns {
            if col.key {
                return Err(MstError::invalid(format!(
                    "cannot append key column {name}.{}: a transform appends only non-key columns",
                    col.name
                )));
            }
            if schema.column_index(&col.name).is_some() {
                return Err(MstError::invalid(format!(
                    "{name} already has a column {}",
                    col.name
                )));
            }
        }
        schema = TableSchema::new(
            schema.name.clone(),
            schema.columns.iter().chain(columns).cloned().collect(),
        );
        schema.check().map_err(MstError::invalid)?;
        order.push((schema, false, columns.len()));
    }
    for op in &changes.ops {
        if order.iter().any(|(s, ..)| s.name == op.table()) {
            continue;
        }
        let table = base.table(op.table()).ok_or_else(|| {
            MstError::invalid(format!(
                "table {} is not in the base; add it with add_table first",
                op.table()
            ))
        })?;
        order.push((table.schema().clone(), false, 0));
    }

    let mut out = Vec::new();
    for (schema, added, added_columns) in order {
        // The base's row, with NULL in any appended column.
        let base_row = |key: &[Value]| -> Option<Vec<Value>> {
            if added {
                None
            } else {
                let mut row = base.table(&schema.name)?.row(key)?.to_vec();
                row.resize(schema.columns.len(), Value::Null);
                Some(row)
            }
        };
        // Final desired state per key, in first-mention order.
        let mut keys: Vec<Vec<Value>> = Vec::new();
        let mut desired: HashMap<Vec<Value>, Desired> = HashMap::new();
        let note = |keys: &mut Vec<Vec<Value>>,
                    desired: &HashMap<Vec<Value>, Desired>,
                    key: &Vec<Value>| {
            if !desired.contains_key(key) {
                keys.push(key.clone());
            }
        };
        for op in changes.ops.iter().filter(|op| op.table() == schema.name) {
            match op {
                Op::Set { row, .. } => {
                    let row = normalize(row);
                    check_width(&schema, &row)?;
                    let key = schema.key_of(&row);
                    note(&mut keys, &desired, &key);
                    let property_delete =
                        schema.name == "Property" && row.get(1).is_some_and(Value::is_null);
                    let state = if property_delete {
                        Desired::Absent
                    } else {
                        Desired::Row(row)
                    };
                    desired.insert(key, state);
                }
                Op::Update {
                    key, column, value, ..
                } => {
                    let key = normalize(key);
                    let col = schema.column_index(column).ok_or_else(|| {
                        MstError::invalid(format!("table {} has no column {column}", schema.name))
                    })?;
                    if schema.columns[col].key {
                        return Err(MstError::invalid(format!(
                            "{}.{column} is a primary key column and cannot change; delete the row and set a new one",
                            schema.name
                        )));
                    }
                    let mut row = match desired.get(&key) {
                        Some(Desired::Row(r)) => r.clone(),
                        _ => base_row(&key).ok_or_else(|| {
                            MstError::invalid(format!(
                                "cannot update {}.{column}: no row with key {}",
                                schema.name,
                                show_key(&key)
                            ))
                        })?,
                    };
                    row[col] = normalize(std::slice::from_ref(value)).remove(0);
                    note(&mut keys, &desired, &key);
                    desired.insert(key, Desired::Row(row));
                }
                Op::Delete { key, .. } => {
                    let key = normalize(key);
                    if key.len() != schema.key_indices().len() {
                        return Err(MstError::invalid(format!(
                            "delete from {}: key {} has {} values, the table has {} key columns",
                            schema.name,
                            show_key(&key),
                            key.len(),
                            schema.key_indices().len()
                        )));
                    }
                    note(&mut keys, &desired, &key);
                    desired.insert(key, Desired::Absent);
                }
            }
        }

        let mut rows = Vec::new();
        for key in keys {
            let before = base_row(&key);
            match (desired.remove(&key), before) {
                (Some(Desired::Row(row)), None) => {
                    check_values(&schema, &row, &codec)?;
                    rows.push(RowChange::Insert { row });
                }
                (Some(Desired::Row(row)), Some(old)) => {
                    check_width(&schema, &row)?;
                    let mut columns = Vec::new();
                    for (i, col) in schema.columns.iter().enumerate() {
                        if col.key || !differs(base, &schema, &key, &old[i], &row[i])? {
                            continue;
                        }
                        if i > MAX_UPDATE_COLUMN {
                            return Err(MstError::invalid(format!(
                                "{}.{} is column {} : transforms can only update columns 1-16",
                                schema.name,
                                col.name,
                                i + 1
                            )));
                        }
                        check_value(&schema, i, &row[i], &key, &codec)?;
                        columns.push((i, row[i].clone()));
                    }
                    if !columns.is_empty() {
                        rows.push(RowChange::Update { key, columns });
                    }
                }
                (Some(Desired::Absent), Some(_)) => rows.push(RowChange::Delete { key }),
                _ => {}
            }
        }
        if added || added_columns > 0 || !rows.is_empty() {
            out.push(TableChanges {
                schema,
                added,
                added_columns,
                rows,
            });
        }
    }
    Ok(out)
}

/// Empty strings are NULL in Windows Installer.
fn normalize(values: &[Value]) -> Vec<Value> {
    values
        .iter()
        .map(|v| if v.is_null() { Value::Null } else { v.clone() })
        .collect()
}

fn check_width(schema: &TableSchema, row: &[Value]) -> Result<(), MstError> {
    if row.len() != schema.columns.len() {
        return Err(MstError::invalid(format!(
            "a row for {} needs {} values ({}), got {}",
            schema.name,
            schema.columns.len(),
            schema
                .columns
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            row.len()
        )));
    }
    Ok(())
}

/// Check every value of a new row against its column.
fn check_values(schema: &TableSchema, row: &[Value], codec: &Codec) -> Result<(), MstError> {
    check_width(schema, row)?;
    let key = schema.key_of(row);
    for (i, value) in row.iter().enumerate() {
        check_value(schema, i, value, &key, codec)?;
    }
    if schema.columns.iter().any(|c| c.kind == ColumnKind::Binary) {
        let name = binary_stream_name(&schema.name, &key);
        streamname::encode_checked(&name, false).map_err(|e| {
            MstError::invalid(format!("{} row {}: {e}", schema.name, show_key(&key)))
        })?;
    }
    Ok(())
}

/// Check one value against its column: type, NULL, range, length, codepage.
fn check_value(
    schema: &TableSchema,
    index: usize,
    value: &Value,
    key: &[Value],
    codec: &Codec,
) -> Result<(), MstError> {
    let col = &schema.columns[index];
    let problem = match (col.kind, value) {
        (_, Value::Null) if !col.nullable => Some("NULL in a column that is not nullable".into()),
        (_, Value::Null) => None,
        (ColumnKind::Int16, Value::Int(v)) if !(-32767..=32767).contains(v) => {
            Some(format!("{v} is outside the i2 range -32767..32767"))
        }
        (ColumnKind::Int32, Value::Int(i32::MIN)) => {
            Some(format!("{} is reserved for NULL in i4 columns", i32::MIN))
        }
        (ColumnKind::Int16 | ColumnKind::Int32, Value::Int(_)) => None,
        (ColumnKind::Str(max), Value::Str(s)) => {
            let n = s.chars().count();
            if max > 0 && n > usize::from(max) {
                Some(format!("{n} characters, the column allows {max}"))
            } else if s.contains('\0') {
                Some("a NUL character".into())
            } else {
                codec.encode(s).err().map(|e| e.to_string())
            }
        }
        (ColumnKind::Binary, Value::Binary(_)) => None,
        (ColumnKind::Binary, Value::Stream) => {
            Some("binary data must be given as Value::Binary".into())
        }
        (kind, v) => Some(format!("{v} does not fit a {kind:?} column")),
    };
    match problem {
        Some(problem) => Err(MstError::invalid(format!(
            "{}.{} (row {}): {problem}",
            schema.name,
            col.name,
            show_key(key)
        ))),
        None => Ok(()),
    }
}

/// Whether a new cell differs from the base cell; binary cells compare stream contents.
fn differs(
    base: &Database,
    schema: &TableSchema,
    key: &[Value],
    old: &Value,
    new: &Value,
) -> Result<bool, MstError> {
    match (old, new) {
        (Value::Stream, Value::Binary(data)) => {
            Ok(base.read_stream(&schema.name, key)?.as_deref() != Some(data.as_slice()))
        }
        _ => Ok(old != new),
    }
}

pub(crate) fn show_key(key: &[Value]) -> String {
    key.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
