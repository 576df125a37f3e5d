//! Errors of the xar reader and writer. Every message names the file and, where it helps, the
//! byte offset, because users meet them when they pass a damaged or wrong installer.

use std::fmt;
use std::io;

/// What went wrong; see [`XarError`] for the file and offset.
#[derive(Debug)]
pub enum XarErrorKind {
    Io(io::Error),
    /// The first four bytes are not `xar!`.
    BadMagic {
        found: [u8; 4],
    },
    /// The file ends before a structure it declares.
    Truncated {
        what: String,
        needed: u64,
        available: u64,
    },
    /// Header fields that no xar writer produces.
    BadHeader(String),
    /// A declared TOC length beyond what this reader accepts.
    TocTooLarge {
        declared: u64,
        limit: u64,
    },
    /// The TOC is not a valid zlib stream or not the XML a TOC must be.
    BadToc(String),
    /// The stored TOC checksum does not match the compressed TOC.
    BadTocChecksum,
    /// A member's data lies outside the heap or its lengths are inconsistent.
    BadMemberOffset {
        member: String,
        detail: String,
    },
    /// A member's stored or extracted bytes do not match the TOC checksum or size.
    MemberCorrupt {
        member: String,
        detail: String,
    },
    /// A member is larger than the caller allows to hold in memory.
    MemberTooLarge {
        member: String,
        size: u64,
        limit: u64,
    },
    /// A member encoding other than octet-stream or zlib ("application/x-gzip").
    UnsupportedEncoding {
        member: String,
        encoding: String,
    },
    /// No member with this path.
    NotFound {
        member: String,
    },
    /// The writer was given a path or entry it cannot store.
    InvalidMember {
        member: String,
        reason: String,
    },
    /// A streamed source file changed between the hashing and the copying pass.
    SourceChanged {
        member: String,
    },
    /// A caller fed a verifier chunks that do not follow each other.
    OutOfOrder {
        expected: u64,
        got: u64,
    },
}

/// A xar error with the file it concerns and the byte offset when known.
#[derive(Debug)]
pub struct XarError {
    pub file: String,
    pub offset: Option<u64>,
    pub kind: XarErrorKind,
}

impl XarError {
    pub(crate) fn new(file: &str, offset: Option<u64>, kind: XarErrorKind) -> Self {
        XarError {
            file: file.to_string(),
            offset,
            kind,
        }
    }

    pub(crate) fn io(file: &str, offset: Option<u64>, err: io::Error) -> Self {
        Self::new(file, offset, XarErrorKind::Io(err))
    }

    /// True when the input file (not the machine or the caller) is at fault: the caller should
    /// report it as a bad input (exit status 2 in the CLI). A missing input file counts too.
    pub fn is_bad_input(&self) -> bool {
        match &self.kind {
            XarErrorKind::Io(e) => e.kind() == io::ErrorKind::NotFound,
            XarErrorKind::InvalidMember { .. }
            | XarErrorKind::SourceChanged { .. }
            | XarErrorKind::OutOfOrder { .. } => false,
            _ => true,
        }
    }
}

impl fmt::Display for XarErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XarErrorKind::Io(e) => write!(f, "I/O error: {e}"),
            XarErrorKind::BadMagic { found } => write!(
                f,
                "not a xar archive (flat package): magic is {:02x}{:02x}{:02x}{:02x}, expected 78617221 (\"xar!\")",
                found[0], found[1], found[2], found[3]
            ),
            XarErrorKind::Truncated {
                what,
                needed,
                available,
            } => write!(
                f,
                "file is truncated: {what} needs {needed} byte(s) but only {available} remain"
            ),
            XarErrorKind::BadHeader(d) => write!(f, "bad xar header: {d}"),
            XarErrorKind::TocTooLarge { declared, limit } => write!(
                f,
                "table of contents declares {declared} bytes, more than the {limit} accepted"
            ),
            XarErrorKind::BadToc(d) => write!(f, "bad table of contents: {d}"),
            XarErrorKind::BadTocChecksum => write!(
                f,
                "table of contents checksum mismatch: the package is corrupt or was modified"
            ),
            XarErrorKind::BadMemberOffset { member, detail } => {
                write!(f, "member {member:?} has a bad data location: {detail}")
            }
            XarErrorKind::MemberCorrupt { member, detail } => {
                write!(f, "member {member:?} is corrupt: {detail}")
            }
            XarErrorKind::MemberTooLarge {
                member,
                size,
                limit,
            } => write!(
                f,
                "member {member:?} is {size} bytes, more than the {limit} accepted"
            ),
            XarErrorKind::UnsupportedEncoding { member, encoding } => {
                write!(f, "member {member:?} uses unsupported encoding {encoding:?}")
            }
            XarErrorKind::NotFound { member } => write!(f, "no member {member:?}"),
            XarErrorKind::InvalidMember { member, reason } => {
                write!(f, "cannot store member {member:?}: {reason}")
            }
            XarErrorKind::SourceChanged { member } => write!(
                f,
                "source data of member {member:?} changed while it was being copied"
            ),
            XarErrorKind::OutOfOrder { expected, got } => write!(
                f,
                "verifier fed bytes at offset {got}, expected them at {expected}"
            ),
        }
    }
}

impl fmt::Display for XarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.kind)?;
        if let Some(offset) = self.offset {
            write!(f, " (at byte offset {offset})")?;
        }
        Ok(())
    }
}

impl std::error::Error for XarError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            XarErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}
