//! Table schemas and cell values, independent of how a database or transform stores them.

use serde::{Serialize, Serializer};
use std::fmt;

// `_Columns.Type` bits (reference §6).
const SIZE_MASK: u16 = 0x00FF;
const VALID: u16 = 0x0100;
const LOCALIZABLE: u16 = 0x0200;
const NON_BINARY: u16 = 0x0400;
const STRING: u16 = 0x0800;
const NULLABLE: u16 = 0x1000;
const PRIMARY_KEY: u16 = 0x2000;
const TEMPORARY: u16 = 0x4000;

/// Storage type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ColumnKind {
    /// 16-bit integer (`i2`), values −32767..=32767.
    Int16,
    /// 32-bit integer (`i4`), any value but `i32::MIN`.
    Int32,
    /// String with a maximum length in characters (0 = unlimited).
    Str(u8),
    /// Binary data kept in a separate stream (`v0`).
    Binary,
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnDef {
    pub name: String,
    pub kind: ColumnKind,
    pub nullable: bool,
    pub key: bool,
    pub localizable: bool,
}

impl ColumnDef {
    /// A non-nullable, non-key column; refine with [`key`](Self::key),
    /// [`nullable`](Self::nullable), [`localizable`](Self::localizable).
    pub fn new(name: impl Into<String>, kind: ColumnKind) -> Self {
        ColumnDef {
            name: name.into(),
            kind,
            nullable: false,
            key: false,
            localizable: false,
        }
    }

    pub fn key(mut self) -> Self {
        self.key = true;
        self
    }

    pub fn nullable(mut self) -> Self {
        self.nullable = true;
        self
    }

    pub fn localizable(mut self) -> Self {
        self.localizable = true;
        self
    }

    /// The `_Columns.Type` value Windows Installer stores for this column.
    pub fn type_bits(&self) -> u16 {
        let mut bits = VALID
            | match self.kind {
                ColumnKind::Int16 => NON_BINARY | 2,
                ColumnKind::Int32 => 4,
                ColumnKind::Str(len) => STRING | NON_BINARY | u16::from(len),
                ColumnKind::Binary => STRING,
            };
        if self.nullable {
            bits |= NULLABLE;
        }
        if self.key {
            bits |= PRIMARY_KEY;
        }
        if self.localizable {
            bits |= LOCALIZABLE;
        }
        bits
    }

    /// Decode a `_Columns.Type` value (as found in a transform that adds a table).
    pub fn from_type_bits(name: impl Into<String>, bits: u16) -> Result<Self, String> {
        let size = bits & SIZE_MASK;
        let kind = if bits & STRING != 0 {
            if bits & NON_BINARY == 0 && size == 0 {
                ColumnKind::Binary
            } else {
                ColumnKind::Str(size as u8)
            }
        } else {
            match size {
                4 if bits & NON_BINARY == 0 => ColumnKind::Int32,
                0..=2 => ColumnKind::Int16,
                _ => return Err(format!("unknown column type 0x{bits:04X}")),
            }
        };
        if bits & TEMPORARY != 0 {
            return Err(format!("temporary column type 0x{bits:04X}"));
        }
        Ok(ColumnDef {
            name: name.into(),
            kind,
            nullable: bits & NULLABLE != 0,
            key: bits & PRIMARY_KEY != 0,
            localizable: bits & LOCALIZABLE != 0,
        })
    }

    /// The IDT-style definition (`s72`, `I2`, `L0`, `v0`, ...).
    pub fn idt(&self) -> String {
        let (letter, size) = match self.kind {
            ColumnKind::Int16 => ('i', 2),
            ColumnKind::Int32 => ('i', 4),
            ColumnKind::Str(len) if self.localizable => ('l', u32::from(len)),
            ColumnKind::Str(len) => ('s', u32::from(len)),
            ColumnKind::Binary => ('v', 0),
        };
        let letter = if self.nullable {
            letter.to_ascii_uppercase()
        } else {
            letter
        };
        format!("{letter}{size}")
    }

    /// Field width in a table or transform record.
    pub(crate) fn width(&self, long_refs: bool) -> usize {
        match self.kind {
            ColumnKind::Int32 => 4,
            ColumnKind::Str(_) if long_refs => 3,
            _ => 2,
        }
    }
}

/// A table: its name and columns in order (key columns first in every standard table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableSchema {
    pub name: String,
    pub columns: Vec<ColumnDef>,
}

impl TableSchema {
    pub fn new(name: impl Into<String>, columns: Vec<ColumnDef>) -> Self {
        TableSchema {
            name: name.into(),
            columns,
        }
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    pub fn key_indices(&self) -> Vec<usize> {
        (0..self.columns.len())
            .filter(|&i| self.columns[i].key)
            .collect()
    }

    /// The key values of a full row.
    pub(crate) fn key_of(&self, row: &[Value]) -> Vec<Value> {
        self.key_indices()
            .into_iter()
            .filter_map(|i| row.get(i).cloned())
            .collect()
    }

    /// Check the schema itself can be expressed in a transform.
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.columns.is_empty() || self.columns.len() > 32 {
            return Err(format!(
                "table {} must have 1 to 32 columns, not {}",
                self.name,
                self.columns.len()
            ));
        }
        if !self.columns[0].key {
            return Err(format!(
                "table {}: the first column must be a primary key column",
                self.name
            ));
        }
        for (i, c) in self.columns.iter().enumerate() {
            if c.name.is_empty() || self.columns[..i].iter().any(|o| o.name == c.name) {
                return Err(format!(
                    "table {}: empty or repeated column name {:?}",
                    self.name, c.name
                ));
            }
        }
        Ok(())
    }
}

/// A cell value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    Null,
    Int(i32),
    /// A string; the empty string is stored as NULL.
    Str(String),
    /// Binary data for a `v0` column.
    Binary(Vec<u8>),
    /// Binary data that exists but was not loaded (a database stream read lazily, or a
    /// transform record whose data stream is missing).
    Stream,
}

impl Value {
    pub fn str(s: impl Into<String>) -> Self {
        Value::Str(s.into())
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i32> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// NULL or the empty string, which Windows Installer stores as NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null) || matches!(self, Value::Str(s) if s.is_empty())
    }

    /// The text used in binary stream names (`Table.Key1.Key2`) and for matching keys.
    pub(crate) fn key_text(&self) -> String {
        match self {
            Value::Int(i) => i.to_string(),
            Value::Str(s) => s.clone(),
            _ => String::new(),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Binary(b) => write!(f, "<{} bytes>", b.len()),
            Value::Stream => f.write_str("<stream>"),
        }
    }
}

/// JSON: null, numbers and strings as themselves; binary as `{"binary_bytes": n}`.
impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Value::Null => s.serialize_none(),
            Value::Int(i) => s.serialize_i32(*i),
            Value::Str(v) => s.serialize_str(v),
            Value::Binary(b) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("binary_bytes", &b.len())?;
                m.end()
            }
            Value::Stream => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("binary_bytes", &Option::<usize>::None)?;
                m.end()
            }
        }
    }
}

/// Schemas of the system tables a transform uses to add tables (reference §6).
pub(crate) fn tables_schema() -> TableSchema {
    TableSchema::new(
        "_Tables",
        vec![ColumnDef::new("Name", ColumnKind::Str(64)).key()],
    )
}

pub(crate) fn columns_schema() -> TableSchema {
    TableSchema::new(
        "_Columns",
        vec![
            ColumnDef::new("Table", ColumnKind::Str(64)).key(),
            ColumnDef::new("Number", ColumnKind::Int16).key(),
            ColumnDef::new("Name", ColumnKind::Str(64)),
            ColumnDef::new("Type", ColumnKind::Int16),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ColumnKind::*;

    #[test]
    fn type_bits_match_reference_table() {
        let cases = [
            (ColumnDef::new("a", Str(72)).key(), 0x2D48, "s72"),
            (ColumnDef::new("a", Str(72)), 0x0D48, "s72"),
            (ColumnDef::new("a", Str(72)).nullable(), 0x1D48, "S72"),
            (ColumnDef::new("a", Str(255)).nullable(), 0x1DFF, "S255"),
            (
                ColumnDef::new("a", Str(255)).nullable().localizable(),
                0x1FFF,
                "L255",
            ),
            (ColumnDef::new("a", Str(255)).localizable(), 0x0FFF, "l255"),
            (
                ColumnDef::new("a", Str(0)).nullable().localizable(),
                0x1F00,
                "L0",
            ),
            (ColumnDef::new("a", Str(0)).localizable(), 0x0F00, "l0"),
            (ColumnDef::new("a", Int16), 0x0502, "i2"),
            (ColumnDef::new("a", Int16).nullable(), 0x1502, "I2"),
            (ColumnDef::new("a", Int16).key(), 0x2502, "i2"),
            (ColumnDef::new("a", Int32), 0x0104, "i4"),
            (ColumnDef::new("a", Int32).nullable(), 0x1104, "I4"),
            (ColumnDef::new("a", Binary), 0x0900, "v0"),
            (ColumnDef::new("a", Binary).nullable(), 0x1900, "V0"),
        ];
        for (col, bits, idt) in cases {
            assert_eq!(col.type_bits(), bits, "{idt}");
            assert_eq!(col.idt(), idt);
            assert_eq!(ColumnDef::from_type_bits("a", bits).unwrap(), col, "{idt}");
        }
    }
}
