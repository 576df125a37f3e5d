//! Windows Installer transforms (`.mst`): read a base MSI, describe changes, write a
//! transform, decode one back, and diff two databases. Vendor-agnostic; the format is
//! documented in `shared/reference/msi-transforms.md` (section numbers below refer to it).
//!
//! ```no_run
//! use agentpack::formats::mst::{Database, ChangeSet, TransformOptions, write_transform, read_transform};
//! # fn main() -> Result<(), agentpack::formats::mst::MstError> {
//! let base = Database::open(std::path::Path::new("vendor.msi"))?;
//! println!("{} {}", base.identity().product_code, base.template());
//! let mut changes = ChangeSet::new();
//! changes.set_property("SERVERNAME", "corp.example.com"); // update or insert
//! changes.set_property("OBSOLETE", "");                    // empty value = delete the row
//! let mst = write_transform(&base, &changes, &TransformOptions::default())?;
//! print!("{}", read_transform(&mst, Some(&base))?);
//! # Ok(()) }
//! ```
//!
//! Public API:
//! * [`Database::open`] → [`Database`]: `identity()`, `template()`, `codepage()`,
//!   `property()`, `properties()`, `has_table()`, `table()` (schema + rows), `read_stream()`.
//!   Reads only tables (never the cabinet), never panics; errors name the file.
//! * [`ChangeSet`]: `set`, `set_property`, `update`, `delete`, `delete_property`,
//!   `add_table` (with [`standard_table`] or a custom [`TableSchema`]).
//! * [`resolve`] → [`TableChanges`] (the records a transform will carry, validated).
//! * [`write_transform`] (deterministic bytes) with [`TransformOptions`]
//!   ([`validation`] and [`suppress`] flags).
//! * [`read_transform`] / [`read_transform_file`] → [`TransformDump`] (`Display` for text,
//!   `Serialize` for JSON; `changes()` gives [`TableChanges`] back).
//! * [`diff`]`(base, modified)` → [`ChangeSet`].
//! * [`MstError`]: `is_bad_input()`, `kind()`, `path()`.

mod changes;
mod database;
mod diff;
mod dump;
mod error;
mod reader;
mod record;
mod schema;
mod standard;
mod streamname;
mod stringpool;
mod summary;
mod writer;

pub use changes::{resolve, ChangeSet, RowChange, TableChanges};
pub use database::{Database, Identity, Table};
pub use diff::diff;
pub use dump::{Revision, SchemaSource, TableDump, TransformDump, TransformSummary};
pub use error::{ErrorKind, MstError};
pub use reader::{read_transform, read_transform_file};
pub use schema::{ColumnDef, ColumnKind, TableSchema, Value};
pub use standard::standard_table;
pub use streamname::decode as decode_stream_name;
pub use writer::{suppress, validation, write_resolved, write_transform, TransformOptions};

#[cfg(test)]
mod tests;
