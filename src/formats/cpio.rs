//! Portable ASCII ("odc", magic `070707`) cpio archives, as macOS Installer expects inside a flat
//! package's `Scripts` and `Payload` members, plus a deterministic gzip wrapper.
//!
//! Layout of one entry: a 76-byte header of fixed-width octal fields, the NUL-terminated name,
//! then the file data, with no padding. The archive ends with an entry named `TRAILER!!!`.
//!
//! Modes must carry their file-type bits (`0o100755`, `0o040755`): Installer rejects typeless
//! modes with "cpio read error: bad file format", so the writer refuses them.

use std::fmt;
use std::io::{self, Read, Write};

/// File-type mask of `st_mode`.
pub const S_IFMT: u32 = 0o170000;
/// Regular file type bits.
pub const S_IFREG: u32 = 0o100000;
/// Directory type bits.
pub const S_IFDIR: u32 = 0o040000;
/// An executable regular file, `-rwxr-xr-x`.
pub const MODE_FILE_EXEC: u32 = 0o100755;
/// A plain regular file, `-rw-r--r--`.
pub const MODE_FILE: u32 = 0o100644;
/// A directory, `drwxr-xr-x`.
pub const MODE_DIR: u32 = 0o040755;

const MAGIC: &[u8; 6] = b"070707";
const HEADER_LEN: usize = 76;
const TRAILER: &str = "TRAILER!!!";

/// One archive entry. Directories carry no data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpioEntry {
    /// Path as stored, e.g. `./postinstall` or `.`.
    pub name: String,
    /// Full `st_mode`, including the file-type bits.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Modification time in seconds since the epoch (use 0 for reproducible output).
    pub mtime: u64,
    pub data: Vec<u8>,
}

impl CpioEntry {
    /// A regular file owned by root:wheel (0:0) with mtime 0.
    pub fn file(name: &str, mode: u32, data: &[u8]) -> Self {
        CpioEntry {
            name: name.to_string(),
            mode,
            uid: 0,
            gid: 0,
            mtime: 0,
            data: data.to_vec(),
        }
    }

    /// A directory owned by root:wheel (0:0) with mtime 0.
    pub fn dir(name: &str, mode: u32) -> Self {
        CpioEntry {
            name: name.to_string(),
            mode,
            uid: 0,
            gid: 0,
            mtime: 0,
            data: Vec::new(),
        }
    }
}

/// Why an archive could not be written or read.
#[derive(Debug)]
pub enum CpioError {
    /// An entry cannot be represented or would be rejected by Installer.
    InvalidEntry {
        name: String,
        reason: String,
    },
    /// The input is not a well-formed odc archive (offset into the uncompressed archive).
    Malformed {
        offset: u64,
        reason: String,
    },
    /// The gzip stream is corrupt.
    Gzip(io::Error),
    /// Decompressed data exceeds the caller's limit.
    TooLarge {
        limit: u64,
    },
    Io(io::Error),
}

impl fmt::Display for CpioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CpioError::InvalidEntry { name, reason } => {
                write!(f, "cpio entry {name:?}: {reason}")
            }
            CpioError::Malformed { offset, reason } => {
                write!(f, "malformed cpio archive at offset {offset}: {reason}")
            }
            CpioError::Gzip(e) => write!(f, "corrupt gzip stream: {e}"),
            CpioError::TooLarge { limit } => {
                write!(f, "decompressed data exceeds the limit of {limit} bytes")
            }
            CpioError::Io(e) => write!(f, "cpio I/O error: {e}"),
        }
    }
}

impl std::error::Error for CpioError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CpioError::Gzip(e) | CpioError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// Append one octal field of exactly `width` digits; values that do not fit are an error.
fn push_octal(
    out: &mut Vec<u8>,
    value: u64,
    width: usize,
    field: &str,
    name: &str,
) -> Result<(), CpioError> {
    let digits = format!("{value:0width$o}");
    if digits.len() != width {
        return Err(CpioError::InvalidEntry {
            name: name.to_string(),
            reason: format!("{field} {value} does not fit in {width} octal digits"),
        });
    }
    out.extend_from_slice(digits.as_bytes());
    Ok(())
}

/// The 76-byte header plus NUL-terminated name for one entry.
fn header_bytes(entry: &CpioEntry, ino: u64, nlink: u64) -> Result<Vec<u8>, CpioError> {
    let name = entry.name.as_str();
    let name_len = name.len() as u64 + 1;
    let mut out = Vec::with_capacity(HEADER_LEN + name.len() + 1);
    out.extend_from_slice(MAGIC);
    push_octal(&mut out, 0, 6, "dev", name)?;
    push_octal(&mut out, ino, 6, "inode", name)?;
    push_octal(&mut out, u64::from(entry.mode), 6, "mode", name)?;
    push_octal(&mut out, u64::from(entry.uid), 6, "uid", name)?;
    push_octal(&mut out, u64::from(entry.gid), 6, "gid", name)?;
    push_octal(&mut out, nlink, 6, "nlink", name)?;
    push_octal(&mut out, 0, 6, "rdev", name)?;
    push_octal(&mut out, entry.mtime, 11, "mtime", name)?;
    push_octal(&mut out, name_len, 6, "name size", name)?;
    push_octal(&mut out, entry.data.len() as u64, 11, "file size", name)?;
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    Ok(out)
}

fn validate(entry: &CpioEntry) -> Result<(), CpioError> {
    let bad = |reason: &str| CpioError::InvalidEntry {
        name: entry.name.clone(),
        reason: reason.to_string(),
    };
    if entry.name.is_empty() || entry.name.contains('\0') {
        return Err(bad("name must be non-empty and contain no NUL byte"));
    }
    if entry.name == TRAILER {
        return Err(bad("name is reserved for the archive trailer"));
    }
    match entry.mode & S_IFMT {
        0 => Err(bad(
            "mode has no file-type bits (Installer: 'bad file format')",
        )),
        S_IFDIR if !entry.data.is_empty() => Err(bad("a directory cannot carry data")),
        _ => Ok(()),
    }
}

/// Write `entries` in the given order, then the trailer. Inode numbers are assigned 1, 2, …
/// so the output depends only on the input.
pub fn write_odc<W: Write>(entries: &[CpioEntry], out: &mut W) -> Result<(), CpioError> {
    for (index, entry) in entries.iter().enumerate() {
        validate(entry)?;
        let nlink = if entry.mode & S_IFMT == S_IFDIR { 2 } else { 1 };
        out.write_all(&header_bytes(entry, index as u64 + 1, nlink)?)
            .map_err(CpioError::Io)?;
        out.write_all(&entry.data).map_err(CpioError::Io)?;
    }
    let trailer = CpioEntry::file(TRAILER, 0, &[]);
    out.write_all(&header_bytes(&trailer, 0, 1)?)
        .map_err(CpioError::Io)?;
    Ok(())
}

/// [`write_odc`] into a new buffer.
pub fn odc_bytes(entries: &[CpioEntry]) -> Result<Vec<u8>, CpioError> {
    let mut out = Vec::new();
    write_odc(entries, &mut out)?;
    Ok(out)
}

/// Gzip `data` with a fixed header (mtime 0, no file name, OS byte 255 "unknown") and a fixed
/// compression level, so equal input gives byte-identical output.
pub fn gzip_deterministic(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), flate2::Compression::new(9));
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

/// Gzip'd odc archive of `entries`: what a flat package's `Scripts` member holds.
pub fn gzipped_odc(entries: &[CpioEntry]) -> Result<Vec<u8>, CpioError> {
    Ok(gzip_deterministic(&odc_bytes(entries)?))
}

/// Decompress a gzip stream, refusing to produce more than `limit` bytes.
pub fn gunzip(data: &[u8], limit: u64) -> Result<Vec<u8>, CpioError> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(CpioError::Gzip)?;
    if out.len() as u64 > limit {
        return Err(CpioError::TooLarge { limit });
    }
    Ok(out)
}

fn parse_octal(field: &[u8], offset: usize, what: &str) -> Result<u64, CpioError> {
    let malformed = || CpioError::Malformed {
        offset: offset as u64,
        reason: format!("{what} field is not octal"),
    };
    let text = std::str::from_utf8(field).map_err(|_| malformed())?;
    u64::from_str_radix(text, 8).map_err(|_| malformed())
}

/// Parse an uncompressed odc archive up to its trailer. Every length is checked against the
/// input, so hostile archives give an error, never a panic.
pub fn read_odc(data: &[u8]) -> Result<Vec<CpioEntry>, CpioError> {
    let mut entries = Vec::new();
    let mut pos = 0usize;
    loop {
        let truncated = |what: &str| CpioError::Malformed {
            offset: pos as u64,
            reason: format!("truncated {what}"),
        };
        let header = data
            .get(pos..pos + HEADER_LEN)
            .ok_or_else(|| truncated("header"))?;
        if &header[..6] != MAGIC {
            return Err(CpioError::Malformed {
                offset: pos as u64,
                reason: "bad magic (expected odc 070707)".to_string(),
            });
        }
        let field = |start: usize, len: usize, what: &str| {
            parse_octal(&header[start..start + len], pos + start, what)
        };
        let mode = field(18, 6, "mode")?;
        let uid = field(24, 6, "uid")?;
        let gid = field(30, 6, "gid")?;
        let mtime = field(48, 11, "mtime")?;
        let name_len = field(59, 6, "name size")? as usize;
        let file_len = field(65, 11, "file size")?;
        let name_start = pos + HEADER_LEN;
        let name_bytes = data
            .get(name_start..name_start.saturating_add(name_len))
            .ok_or_else(|| truncated("name"))?;
        let name_bytes = name_bytes
            .strip_suffix(&[0])
            .ok_or_else(|| CpioError::Malformed {
                offset: name_start as u64,
                reason: "name is not NUL-terminated".to_string(),
            })?;
        let name = String::from_utf8_lossy(name_bytes).into_owned();
        let data_start = name_start + name_len;
        let file_len = usize::try_from(file_len).map_err(|_| truncated("file data"))?;
        let body = data
            .get(data_start..data_start.saturating_add(file_len))
            .ok_or_else(|| truncated("file data"))?;
        if name == TRAILER {
            return Ok(entries);
        }
        entries.push(CpioEntry {
            name,
            mode: u32::try_from(mode).unwrap_or(u32::MAX),
            uid: u32::try_from(uid).unwrap_or(u32::MAX),
            gid: u32::try_from(gid).unwrap_or(u32::MAX),
            mtime,
            data: body.to_vec(),
        });
        pos = data_start + file_len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_bytes_for_a_known_entry() {
        let entry = CpioEntry::file("./postinstall", MODE_FILE_EXEC, b"#!/bin/sh\n");
        let bytes = odc_bytes(std::slice::from_ref(&entry)).unwrap();
        // magic, dev, ino, mode, uid, gid, nlink, rdev, mtime, namesize (14), filesize (10)
        let expected_header = concat!(
            "070707",
            "000000",
            "000001",
            "100755",
            "000000",
            "000000",
            "000001",
            "000000",
            "00000000000",
            "000016",
            "00000000012",
            "./postinstall\0"
        )
        .as_bytes();
        assert_eq!(&bytes[..expected_header.len()], expected_header);
        assert_eq!(
            &bytes[expected_header.len()..expected_header.len() + 10],
            b"#!/bin/sh\n"
        );
        let trailer = concat!(
            "070707",
            "000000",
            "000000",
            "000000",
            "000000",
            "000000",
            "000001",
            "000000",
            "00000000000",
            "000013",
            "00000000000",
            "TRAILER!!!\0"
        );
        assert_eq!(&bytes[expected_header.len() + 10..], trailer.as_bytes());
    }

    #[test]
    fn directory_entry_has_type_bits_and_two_links() {
        let bytes = odc_bytes(&[CpioEntry::dir(".", MODE_DIR)]).unwrap();
        assert_eq!(&bytes[18..24], b"040755");
        assert_eq!(&bytes[36..42], b"000002");
    }

    #[test]
    fn typeless_mode_is_refused() {
        let err = odc_bytes(&[CpioEntry::file("./x", 0o755, b"")]).unwrap_err();
        assert!(err.to_string().contains("file-type bits"), "{err}");
    }

    #[test]
    fn oversized_uid_is_refused() {
        let mut entry = CpioEntry::file("./x", MODE_FILE, b"");
        entry.uid = 0o1000000;
        assert!(odc_bytes(&[entry]).is_err());
    }

    #[test]
    fn gzip_is_deterministic_with_fixed_header() {
        let a = gzip_deterministic(b"hello hello hello");
        let b = gzip_deterministic(b"hello hello hello");
        assert_eq!(a, b);
        assert_eq!(
            &a[..4],
            &[0x1f, 0x8b, 8, 0],
            "gzip magic, deflate, no flags (no name)"
        );
        assert_eq!(&a[4..8], &[0, 0, 0, 0], "mtime 0");
        assert_eq!(a[9], 255, "OS byte");
        assert_eq!(gunzip(&a, 100).unwrap(), b"hello hello hello");
    }

    #[test]
    fn gunzip_respects_limit() {
        let z = gzip_deterministic(&[0u8; 1000]);
        assert!(matches!(gunzip(&z, 999), Err(CpioError::TooLarge { .. })));
        assert!(matches!(gunzip(b"not gzip", 10), Err(CpioError::Gzip(_))));
    }

    #[test]
    fn round_trip() {
        let entries = vec![
            CpioEntry::dir(".", MODE_DIR),
            CpioEntry::file("./preinstall", MODE_FILE_EXEC, b"echo pre\n"),
            CpioEntry::file("./data", MODE_FILE, &[0, 1, 2, 255]),
        ];
        let archive = gzipped_odc(&entries).unwrap();
        let back = read_odc(&gunzip(&archive, 1 << 20).unwrap()).unwrap();
        assert_eq!(back, entries);
    }

    #[test]
    fn hostile_archives_are_errors() {
        let good = odc_bytes(&[CpioEntry::file("./a", MODE_FILE, b"abc")]).unwrap();
        for cut in 0..good.len() {
            assert!(read_odc(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut huge = good.clone();
        huge[65..76].copy_from_slice(b"77777777777");
        assert!(read_odc(&huge).is_err());
        let mut bad_digit = good.clone();
        bad_digit[20] = b'9';
        assert!(read_odc(&bad_digit).is_err());
    }
}
