//! Row changes between two databases, like `msitran -g`: what a transform must carry to turn
//! `base` into `modified`.
//!
//! Supported: inserts, updates and deletes in every table, new tables, multi-column keys,
//! integer and nullable columns, binary cells (stream contents are compared). Not supported
//! (an error says so): tables dropped from the modified database, and tables whose columns
//! differ between the two (transforms can only append columns, which this does not emit).

use super::changes::ChangeSet;
use super::database::Database;
use super::error::MstError;
use super::schema::{TableSchema, Value};

/// The change set that turns `base` into `modified`.
pub fn diff(base: &Database, modified: &Database) -> Result<ChangeSet, MstError> {
    let mut changes = ChangeSet::new();
    for table in base.tables() {
        if !modified.has_table(&table.schema().name) {
            return Err(MstError::invalid(format!(
                "table {} is missing from {}: dropping tables is not supported",
                table.schema().name,
                modified.path().display()
            )));
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
        if !same_layout(old.schema(), schema) {
            return Err(MstError::invalid(format!(
                "table {} has different columns in {} and {}: changing a table's columns is not supported",
                schema.name,
                base.path().display(),
                modified.path().display()
            )));
        }
        for row in table.rows() {
            let key = schema.key_of(row);
            let differs = match old.row(&key) {
                None => true,
                Some(before) => row_differs(base, modified, schema, &key, before, row)?,
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

/// Same column names, types and keys (nullability from `_Validation` may differ harmlessly).
fn same_layout(a: &TableSchema, b: &TableSchema) -> bool {
    a.columns.len() == b.columns.len()
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
