//! Row changes between two databases, like `msitran -g`: what a transform must carry to turn
//! `base` into `modified`.
//!
//! Supported: inserts, updates and deletes in every table, new tables, multi-column keys,
//! integer and nullable columns, binary cells (stream contents are compared), non-key columns
//! appended to a table. Not supported (an error says so): tables dropped from the modified
//! database, and any other change of a table's columns (a transform can only append).

use super::changes::ChangeSet;
use super::database::Database;
use super::error::MstError;
use super::schema::{TableSchema, Value};

/// The change set that turns `base` into `modified`.
pub fn diff(base: &Database, modified: &Database) -> Result<ChangeSet, MstError> {
    let mut changes = ChangeSet::new();
    for table in base.tables() {
        if !modified.has_table(&table.schema().name) {
            // The error names the modified file once (as its path) and the base in the text.
            return Err(MstError::invalid(format!(
                "table {} of the base {} is missing here: a transform cannot drop tables",
                table.schema().name,
                base.path().display()
            ))
            .with_path(modified.path()));
        }
    }
    for table in modified.tables() {
        let schema = table.schema();
        let Some(old) = base.table(&schema.name) else {
            changes.add_table(schema.clone());
            for row in table.rows() {
                changes.set(&schema.name, load_binary(modified, schema, row)?);
            }
            continue;
        };
        let old_width = old.schema().columns.len();
        let appended = &schema.columns[old_width.min(schema.columns.len())..];
        if !same_layout(old.schema(), schema) || appended.iter().any(|c| c.key) {
            return Err(MstError::invalid(format!(
                "table {} has different columns than in the base {}: a transform can only append non-key columns",
                schema.name,
                base.path().display()
            ))
            .with_path(modified.path()));
        }
        if !appended.is_empty() {
            changes.add_columns(&schema.name, appended.to_vec());
        }
        for row in table.rows() {
            let key = schema.key_of(row);
            let differs = match old.row(&key) {
                None => true,
                Some(before) => {
                    // Appended columns are NULL in the base's rows.
                    let mut before = before.to_vec();
                    before.resize(schema.columns.len(), Value::Null);
                    row_differs(base, modified, schema, &key, &before, row)?
                }
            };
            if differs {
                changes.set(&schema.name, load_binary(modified, schema, row)?);
            }
        }
        for row in old.rows() {
            let key = schema.key_of(row);
            if table.row(&key).is_none() {
                changes.delete(&schema.name, key);
            }
        }
    }
    Ok(changes)
}

/// `b` starts with `a`'s columns: same names, types and keys (nullability from `_Validation`
/// may differ harmlessly); `b` may have more.
fn same_layout(a: &TableSchema, b: &TableSchema) -> bool {
    a.columns.len() <= b.columns.len()
        && a.columns
            .iter()
            .zip(&b.columns)
            .all(|(x, y)| x.name == y.name && x.kind == y.kind && x.key == y.key)
}

fn row_differs(
    base: &Database,
    modified: &Database,
    schema: &TableSchema,
    key: &[Value],
    before: &[Value],
    after: &[Value],
) -> Result<bool, MstError> {
    for (old, new) in before.iter().zip(after) {
        let changed = match (old, new) {
            (Value::Stream, Value::Stream) => {
                base.read_stream(&schema.name, key)? != modified.read_stream(&schema.name, key)?
            }
            _ => old != new,
        };
        if changed {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The row with binary cells replaced by their data from `db`.
fn load_binary(db: &Database, schema: &TableSchema, row: &[Value]) -> Result<Vec<Value>, MstError> {
    let key = schema.key_of(row);
    row.iter()
        .map(|v| match v {
            Value::Stream => Ok(db
                .read_stream(&schema.name, &key)?
                .map_or(Value::Null, Value::Binary)),
            other => Ok(other.clone()),
        })
        .collect()
}
