//! The one error type of the transform code, with enough context to tell a user what to fix.

use std::fmt;
use std::path::{Path, PathBuf};

/// What went wrong, coarsely: lets callers map errors to exit codes without string matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The base or modified MSI cannot be read as a Windows Installer database.
    BadDatabase,
    /// A transform file cannot be decoded.
    BadTransform,
    /// A requested change does not fit the table schema or the format (too long, wrong type,
    /// key change, update of column 16+, ...).
    InvalidChange,
    /// A string cannot be represented in the database's codepage.
    Unencodable,
    /// Something failed that input cannot explain (writing to memory, a library panic).
    Internal,
}

/// A compound-file reader's error, shown without the bytes it quotes (a file given by mistake,
/// such as a token file, would have its first bytes echoed).
pub(crate) fn cfb_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    if text.contains("magic number") {
        "it does not start with the compound-file signature D0 CF 11 E0 A1 B1 1A E1".into()
    } else {
        match text.find(": [") {
            Some(i) => text[..i].to_string(),
            None => text,
        }
    }
}

/// Error from reading databases, building change sets or writing/reading transforms.
#[derive(Debug)]
pub struct MstError {
    kind: ErrorKind,
    path: Option<PathBuf>,
    message: String,
}

impl MstError {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        MstError {
            kind,
            path: None,
            message: message.into(),
        }
    }

    pub(crate) fn bad_database(path: &Path, message: impl Into<String>) -> Self {
        MstError::new(ErrorKind::BadDatabase, message).with_path(path)
    }

    pub(crate) fn bad_transform(message: impl Into<String>) -> Self {
        MstError::new(ErrorKind::BadTransform, message)
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        MstError::new(ErrorKind::InvalidChange, message)
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        MstError::new(ErrorKind::Internal, message)
    }

    /// Attach the file the error is about (shown first in the message).
    pub(crate) fn with_path(mut self, path: &Path) -> Self {
        self.path = Some(path.to_path_buf());
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The file the error is about, when there is one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// True when the user's input (a file or a requested value) is at fault, not agentpack.
    pub fn is_bad_input(&self) -> bool {
        self.kind != ErrorKind::Internal
    }
}

impl fmt::Display for MstError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(path) => write!(f, "{}: {}", path.display(), self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for MstError {}
