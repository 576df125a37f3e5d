//! Row-wise delta records of transform table streams (reference §4): a 16-bit mask, then
//! the fields the mask selects, each a raw little-endian number.

use super::schema::{ColumnKind, TableSchema, Value};

/// Bit 0 of the mask: the record inserts a row.
pub(crate) const INSERT_FLAG: u16 = 0x0001;
/// Updates can only name columns 0..16 (one mask bit each).
pub(crate) const MAX_UPDATE_COLUMN: usize = 15;
/// Placeholder Windows Installer writes in binary fields (the data is in a stream).
pub(crate) const BINARY_PLACEHOLDER: u32 = 1;

/// Mask of an insert carrying all `columns` columns (`0x0201` for Property).
pub(crate) fn insert_mask(columns: usize) -> u16 {
    INSERT_FLAG | ((columns.min(0xFF) as u16) << 8)
}

/// Stored form of an integer (0 = NULL).
pub(crate) fn encode_int(kind: ColumnKind, value: Option<i32>) -> u32 {
    match (kind, value) {
        (_, None) => 0,
        (ColumnKind::Int32, Some(v)) => (v as u32) ^ 0x8000_0000,
        (_, Some(v)) => u32::from(v.wrapping_add(0x8000) as u16),
    }
}

/// Value of a stored integer.
pub(crate) fn decode_int(kind: ColumnKind, raw: u32) -> Value {
    match (kind, raw) {
        (_, 0) => Value::Null,
        (ColumnKind::Int32, raw) => Value::Int((raw ^ 0x8000_0000) as i32),
        (_, raw) => Value::Int(raw as i32 - 0x8000),
    }
}

/// Columns present after `mask`, in order (Wine `get_transform_record`): inserts carry
/// columns 0..mask>>8; updates carry keys plus masked columns; deletes (mask 0) keys only.
pub(crate) fn present_columns(mask: u16, schema: &TableSchema) -> Vec<usize> {
    let n = schema.columns.len();
    if mask & INSERT_FLAG != 0 {
        (0..n.min(usize::from(mask >> 8))).collect()
    } else {
        (0..n)
            .filter(|&i| schema.columns[i].key || (i <= MAX_UPDATE_COLUMN && mask & (1 << i) != 0))
            .collect()
    }
}

/// A record as stored: the mask and (column, raw field) pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawRecord {
    pub(crate) mask: u16,
    pub(crate) fields: Vec<(usize, u32)>,
}

impl RawRecord {
    pub(crate) fn write(&self, schema: &TableSchema, long_refs: bool, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.mask.to_le_bytes());
        for &(col, raw) in &self.fields {
            let width = schema.columns[col].width(long_refs);
            out.extend_from_slice(&raw.to_le_bytes()[..width]);
        }
    }

    /// Read one record at `*pos`; None at a clean end, Err when the stream is cut short.
    pub(crate) fn read(
        bytes: &[u8],
        pos: &mut usize,
        schema: &TableSchema,
        long_refs: bool,
    ) -> Result<Option<RawRecord>, String> {
        if *pos >= bytes.len() {
            return Ok(None);
        }
        let take = |pos: &mut usize, width: usize| -> Result<u32, String> {
            let slice = bytes
                .get(*pos..*pos + width)
                .ok_or_else(|| format!("record cut short at byte {}", *pos))?;
            *pos += width;
            let mut buf = [0u8; 4];
            buf[..width].copy_from_slice(slice);
            Ok(u32::from_le_bytes(buf))
        };
        let mask = take(pos, 2)? as u16;
        let mut fields = Vec::new();
        for col in present_columns(mask, schema) {
            let raw = take(pos, schema.columns[col].width(long_refs))?;
            fields.push((col, raw));
        }
        Ok(Some(RawRecord { mask, fields }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::mst::schema::ColumnDef;

    #[test]
    fn integer_encodings_match_reference() {
        assert_eq!(encode_int(ColumnKind::Int16, Some(1)), 0x8001);
        assert_eq!(encode_int(ColumnKind::Int16, Some(51)), 0x8033);
        assert_eq!(encode_int(ColumnKind::Int16, Some(1001)), 0x83E9);
        assert_eq!(encode_int(ColumnKind::Int16, Some(-32767)), 0x0001);
        assert_eq!(encode_int(ColumnKind::Int32, Some(1002)), 0x8000_03EA);
        assert_eq!(encode_int(ColumnKind::Int32, Some(-1)), 0x7FFF_FFFF);
        assert_eq!(encode_int(ColumnKind::Int16, None), 0);
        for v in [-32767, -1, 0, 1, 32767] {
            let raw = encode_int(ColumnKind::Int16, Some(v));
            assert_eq!(decode_int(ColumnKind::Int16, raw), Value::Int(v));
        }
        for v in [i32::MIN + 1, -70000, 0, 123456, i32::MAX] {
            let raw = encode_int(ColumnKind::Int32, Some(v));
            assert_eq!(decode_int(ColumnKind::Int32, raw), Value::Int(v));
        }
    }

    #[test]
    fn masks_select_columns_like_wine() {
        let reg = TableSchema::new(
            "Registry",
            vec![
                ColumnDef::new("Registry", ColumnKind::Str(72)).key(),
                ColumnDef::new("Root", ColumnKind::Int16),
                ColumnDef::new("Key", ColumnKind::Str(255)),
                ColumnDef::new("Name", ColumnKind::Str(255)).nullable(),
                ColumnDef::new("Value", ColumnKind::Str(0)).nullable(),
                ColumnDef::new("Component_", ColumnKind::Str(72)),
            ],
        );
        assert_eq!(
            present_columns(insert_mask(6), &reg),
            vec![0, 1, 2, 3, 4, 5]
        );
        assert_eq!(present_columns(0x0010, &reg), vec![0, 4]);
        assert_eq!(present_columns(0x0000, &reg), vec![0]);
        let rec = RawRecord {
            mask: 0x0010,
            fields: vec![(0, 3), (4, 9)],
        };
        let mut out = Vec::new();
        rec.write(&reg, false, &mut out);
        assert_eq!(out, [0x10, 0, 3, 0, 9, 0]);
        let mut pos = 0;
        assert_eq!(
            RawRecord::read(&out, &mut pos, &reg, false),
            Ok(Some(rec.clone()))
        );
        assert_eq!(RawRecord::read(&out, &mut pos, &reg, false), Ok(None));
        let mut long = Vec::new();
        rec.write(&reg, true, &mut long);
        assert_eq!(long, [0x10, 0, 3, 0, 0, 9, 0, 0]);
        let mut pos = 0;
        assert!(RawRecord::read(&out[..5], &mut pos, &reg, false).is_err());
    }
}
