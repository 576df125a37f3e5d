//! `\005SummaryInformation`: an OLE property set ([MS-OLEPS], reference §7), written and read
//! here because a transform needs properties (RevNumber, CharCount) rust-msi cannot set.

use std::collections::BTreeMap;

pub(crate) const PID_CODEPAGE: u32 = 1;
pub(crate) const PID_TITLE: u32 = 2;
pub(crate) const PID_SUBJECT: u32 = 3;
pub(crate) const PID_AUTHOR: u32 = 4;
pub(crate) const PID_KEYWORDS: u32 = 5;
pub(crate) const PID_COMMENTS: u32 = 6;
pub(crate) const PID_TEMPLATE: u32 = 7;
pub(crate) const PID_LASTAUTHOR: u32 = 8;
pub(crate) const PID_REVNUMBER: u32 = 9;
pub(crate) const PID_PAGECOUNT: u32 = 14;
pub(crate) const PID_CHARCOUNT: u32 = 16;
pub(crate) const PID_APPNAME: u32 = 18;
pub(crate) const PID_SECURITY: u32 = 19;

const VT_I2: u32 = 2;
const VT_I4: u32 = 3;
const VT_LPSTR: u32 = 30;
const VT_FILETIME: u32 = 64;

/// FMTID_SummaryInformation {F29F85E0-4FF9-1068-AB91-08002B27B3D9}, as stored.
const FMTID_SUMMARY: [u8; 16] = [
    0xE0, 0x85, 0x9F, 0xF2, 0xF9, 0x4F, 0x68, 0x10, 0xAB, 0x91, 0x08, 0x00, 0x2B, 0x27, 0xB3, 0xD9,
];
/// Header fields before the CLSID: byte order FFFE, version 0, OS 6.0 on Win32.
const HEADER_START: [u8; 8] = [0xFE, 0xFF, 0x00, 0x00, 0x06, 0x00, 0x02, 0x00];
const HEADER_LEN: usize = 0x30;

/// A property value; strings are raw bytes in the summary's codepage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Prop {
    I2(i16),
    I4(i32),
    Str(Vec<u8>),
    FileTime(u64),
    /// A type this code does not interpret (kept for display).
    Other(u32),
}

/// Serialize properties in PID order (a BTreeMap keeps that deterministic).
pub(crate) fn write_property_set(props: &BTreeMap<u32, Prop>) -> Vec<u8> {
    let mut values: Vec<(u32, Vec<u8>)> = Vec::new();
    for (&pid, prop) in props {
        let mut v = Vec::new();
        match prop {
            Prop::I2(x) => {
                v.extend_from_slice(&VT_I2.to_le_bytes());
                v.extend_from_slice(&x.to_le_bytes());
                v.extend_from_slice(&[0, 0]);
            }
            Prop::I4(x) => {
                v.extend_from_slice(&VT_I4.to_le_bytes());
                v.extend_from_slice(&x.to_le_bytes());
            }
            Prop::Str(bytes) => {
                v.extend_from_slice(&VT_LPSTR.to_le_bytes());
                v.extend_from_slice(&(bytes.len() as u32 + 1).to_le_bytes());
                v.extend_from_slice(bytes);
                v.push(0);
                while v.len() % 4 != 0 {
                    v.push(0);
                }
            }
            Prop::FileTime(t) => {
                v.extend_from_slice(&VT_FILETIME.to_le_bytes());
                v.extend_from_slice(&t.to_le_bytes());
            }
            // Never produced by the writer; skipped rather than written wrongly.
            Prop::Other(_) => continue,
        }
        values.push((pid, v));
    }
    let index_len = 8 + 8 * values.len();
    let section_len = index_len + values.iter().map(|(_, v)| v.len()).sum::<usize>();
    let mut out = Vec::with_capacity(HEADER_LEN + section_len);
    out.extend_from_slice(&HEADER_START);
    out.extend_from_slice(&[0; 16]);
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&FMTID_SUMMARY);
    out.extend_from_slice(&(HEADER_LEN as u32).to_le_bytes());
    out.extend_from_slice(&(section_len as u32).to_le_bytes());
    out.extend_from_slice(&(values.len() as u32).to_le_bytes());
    let mut offset = index_len;
    for (pid, v) in &values {
        out.extend_from_slice(&pid.to_le_bytes());
        out.extend_from_slice(&(offset as u32).to_le_bytes());
        offset += v.len();
    }
    for (_, v) in values {
        out.extend_from_slice(&v);
    }
    out
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, String> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| format!("summary information cut short at byte {at}"))
}

/// Parse the first section of a property set.
pub(crate) fn read_property_set(b: &[u8]) -> Result<BTreeMap<u32, Prop>, String> {
    if b.len() < HEADER_LEN || b[..2] != [0xFE, 0xFF] {
        return Err("summary information is not an OLE property set".into());
    }
    if u32_at(b, 0x18)? < 1 {
        return Err("summary information has no property section".into());
    }
    let section = u32_at(b, 0x2C)? as usize;
    let count = u32_at(b, section + 4)? as usize;
    if count > 1000 {
        return Err(format!("summary information claims {count} properties"));
    }
    let mut props = BTreeMap::new();
    for i in 0..count {
        let pid = u32_at(b, section + 8 + 8 * i)?;
        let at = section + u32_at(b, section + 12 + 8 * i)? as usize;
        let vt = u32_at(b, at)?;
        let prop = match vt {
            VT_I2 => Prop::I2(u32_at(b, at + 4)? as u16 as i16),
            VT_I4 => Prop::I4(u32_at(b, at + 4)? as i32),
            VT_LPSTR => {
                let len = u32_at(b, at + 4)? as usize;
                let bytes = b
                    .get(at + 8..at + 8 + len)
                    .ok_or("summary string runs past the end")?;
                let end = bytes.iter().position(|&c| c == 0).unwrap_or(bytes.len());
                Prop::Str(bytes[..end].to_vec())
            }
            VT_FILETIME => {
                let lo = u64::from(u32_at(b, at + 4)?);
                let hi = u64::from(u32_at(b, at + 8)?);
                Prop::FileTime(lo | hi << 32)
            }
            other => Prop::Other(other),
        };
        props.insert(pid, prop);
    }
    Ok(props)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The §9 summary, byte for byte.
    #[test]
    fn worked_example_summary() {
        let mut p = BTreeMap::new();
        p.insert(PID_CODEPAGE, Prop::I2(1252));
        p.insert(PID_TITLE, Prop::Str(b"Transform".to_vec()));
        p.insert(PID_TEMPLATE, Prop::Str(b"x64;1033".to_vec()));
        p.insert(PID_LASTAUTHOR, Prop::Str(b"x64;1033".to_vec()));
        let rev = "{11111111-2222-3333-4444-555555555555}1.0.0;{11111111-2222-3333-4444-555555555555}1.0.0;{AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE}";
        p.insert(PID_REVNUMBER, Prop::Str(rev.as_bytes().to_vec()));
        p.insert(PID_PAGECOUNT, Prop::I4(200));
        p.insert(PID_CHARCOUNT, Prop::I4(0x0002_0000));
        p.insert(PID_APPNAME, Prop::Str(b"agentpack".to_vec()));
        let out = write_property_set(&p);

        let mut want = vec![0xFE, 0xFF, 0, 0, 6, 0, 2, 0];
        want.extend([0; 16]);
        want.extend([1, 0, 0, 0]);
        want.extend(FMTID_SUMMARY);
        want.extend([0x30, 0, 0, 0, 0x38, 0x01, 0, 0, 8, 0, 0, 0]);
        for (pid, off) in [
            (1u32, 0x48u32),
            (2, 0x50),
            (7, 0x64),
            (8, 0x78),
            (9, 0x8C),
            (14, 0x114),
            (16, 0x11C),
            (18, 0x124),
        ] {
            want.extend(pid.to_le_bytes());
            want.extend(off.to_le_bytes());
        }
        want.extend([2, 0, 0, 0, 0xE4, 0x04, 0, 0]);
        want.extend([0x1E, 0, 0, 0, 0x0A, 0, 0, 0]);
        want.extend(b"Transform\0\0\0");
        for _ in 0..2 {
            want.extend([0x1E, 0, 0, 0, 9, 0, 0, 0]);
            want.extend(b"x64;1033\0\0\0\0");
        }
        want.extend([0x1E, 0, 0, 0, 0x7F, 0, 0, 0]);
        want.extend(rev.as_bytes());
        want.extend([0, 0]);
        want.extend([3, 0, 0, 0, 0xC8, 0, 0, 0]);
        want.extend([3, 0, 0, 0, 0, 0, 2, 0]);
        want.extend([0x1E, 0, 0, 0, 0x0A, 0, 0, 0]);
        want.extend(b"agentpack\0\0\0");
        assert_eq!(out.len(), 360);
        assert_eq!(out, want);

        assert_eq!(read_property_set(&out).unwrap(), p);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(read_property_set(b"").is_err());
        assert!(read_property_set(&[0xFE, 0xFF, 0, 0, 6, 0, 2, 0, 1, 2, 3]).is_err());
        let mut p = BTreeMap::new();
        p.insert(PID_TITLE, Prop::Str(b"abc".to_vec()));
        let mut out = write_property_set(&p);
        out.truncate(out.len() - 6);
        assert!(read_property_set(&out).is_err());
    }
}
