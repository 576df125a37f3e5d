//! The one error type: a list of problems, each naming the file, the field and the fix.
//!
//! Exit codes follow from the kind: 2 for bad input (the user can fix it), 1 for internal failures.

use std::fmt;
use std::path::{Path, PathBuf};

/// Whether the user can fix the problem (bad input, exit 2) or agentpack failed (exit 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    BadInput,
    Internal,
}

/// One thing that is wrong, located as precisely as we know.
///
/// Whatever it holds is shown masked ([`crate::secret::mask_uuids`]) in `Display` and
/// `Serialize`, so a token that reached a message (a value under the wrong key, a parser's
/// error text) is still never printed; `Display` also escapes control characters, so a hostile
/// key or file name cannot drive the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: Option<PathBuf>,
    pub line: Option<usize>,
    pub field: Option<String>,
    pub message: String,
    pub hint: Option<String>,
}

/// `text` as shown to a user: tokens masked, control characters escaped. For anything printed
/// that came from outside (names, paths, messages of other libraries).
pub fn shown(text: &str) -> String {
    escape_controls(&crate::secret::mask_uuids(text))
}

/// `text` with control characters (escape sequences, line breaks) written as Rust escapes, for
/// a terminal: names read from installers must not move the cursor or forge lines.
pub fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

impl serde::Serialize for Problem {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let masked = |t: &str| crate::secret::mask_uuids(t).into_owned();
        let mut m = s.serialize_map(None)?;
        if let Some(file) = &self.file {
            m.serialize_entry("file", &masked(&file.to_string_lossy()))?;
        }
        if let Some(line) = self.line {
            m.serialize_entry("line", &line)?;
        }
        if let Some(field) = &self.field {
            m.serialize_entry("field", &masked(field))?;
        }
        m.serialize_entry("message", &masked(&self.message))?;
        if let Some(hint) = &self.hint {
            m.serialize_entry("hint", &masked(hint))?;
        }
        m.end()
    }
}

impl Problem {
    pub fn new(message: impl Into<String>) -> Self {
        Problem {
            file: None,
            line: None,
            field: None,
            message: message.into(),
            hint: None,
        }
    }
    pub fn file(mut self, file: impl AsRef<Path>) -> Self {
        self.file = Some(file.as_ref().to_path_buf());
        self
    }
    pub fn line(mut self, line: Option<usize>) -> Self {
        self.line = line;
        self
    }
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}", shown(&file.to_string_lossy()))?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
            }
            write!(f, ": ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "{}: ", shown(field))?;
        }
        write!(f, "{}", shown(&self.message))?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {}", shown(hint))?;
        }
        Ok(())
    }
}

/// An error: one or more problems of one kind.
#[derive(Debug, Clone)]
pub struct Error {
    pub kind: Kind,
    pub problems: Vec<Problem>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn bad_input(problem: Problem) -> Self {
        Error {
            kind: Kind::BadInput,
            problems: vec![problem],
        }
    }
    /// Several bad-input problems reported together (never empty).
    pub fn many(problems: Vec<Problem>) -> Self {
        debug_assert!(!problems.is_empty());
        Error {
            kind: Kind::BadInput,
            problems,
        }
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Error {
            kind: Kind::Internal,
            problems: vec![Problem::new(message)],
        }
    }
    /// An I/O failure on `path`. A path the user can fix (missing, unreadable, not a folder,
    /// read-only, too long, a link loop) is bad input; anything else is internal, with a hint
    /// where the cause is known (a full disk).
    pub fn io(path: &Path, action: &str, err: std::io::Error) -> Self {
        use std::io::ErrorKind as K;
        // Linux errno values of kinds not yet stable in std at the crate's MSRV.
        const ELOOP: i32 = 40;
        const EDQUOT: i32 = 122;
        let (kind, hint) = match err.kind() {
            K::NotFound => (Kind::BadInput, Some("check the path")),
            K::PermissionDenied => (Kind::BadInput, Some("check the file's permissions")),
            K::IsADirectory => (Kind::BadInput, Some("pass a file, not a folder")),
            K::NotADirectory => (
                Kind::BadInput,
                Some("a part of the path is a file, not a folder: check the path"),
            ),
            K::ReadOnlyFilesystem => (
                Kind::BadInput,
                Some("the file system is read-only: choose a writable place"),
            ),
            K::InvalidFilename => (
                Kind::BadInput,
                Some("the name is too long or not allowed here: choose a shorter name"),
            ),
            _ if err.raw_os_error() == Some(ELOOP) => (
                Kind::BadInput,
                Some("the path has a loop of symbolic links: check the links"),
            ),
            _ if err.kind() == K::StorageFull || err.raw_os_error() == Some(EDQUOT) => (
                Kind::Internal,
                Some("the disk is full: free space, or build onto another file system"),
            ),
            _ => (Kind::Internal, None),
        };
        let mut p = Problem::new(format!("cannot {action}: {err}")).file(path);
        if let Some(h) = hint {
            p = p.hint(h);
        }
        Error {
            kind,
            problems: vec![p],
        }
    }
    pub fn exit_code(&self) -> i32 {
        match self.kind {
            Kind::BadInput => 2,
            Kind::Internal => 1,
        }
    }
    /// Attach a file to every problem that has none yet.
    pub fn in_file(mut self, file: &Path) -> Self {
        for p in &mut self.problems {
            if p.file.is_none() {
                p.file = Some(file.to_path_buf());
            }
        }
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// Collects problems so that validation can report all of them at once.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    pub fn push(&mut self, p: Problem) {
        self.0.push(p);
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn extend(&mut self, e: Error) {
        self.0.extend(e.problems);
    }
    /// Ok when nothing was collected, else one bad-input error with every problem.
    pub fn finish(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::many(self.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_but_text_and_guids_kept() {
        let shown = escape_controls(
            "pkg/\u{1b}[2Jx\nnote: forged {6F1A2B3C-4D5E-4F60-8172-93A4B5C6D7E8} é",
        );
        assert!(!shown.chars().any(char::is_control), "{shown}");
        assert!(
            shown.contains("\\u{1b}[2Jx\\nnote: forged {6F1A2B3C-4D5E-4F60-8172-93A4B5C6D7E8} é"),
            "{shown}"
        );
    }

    #[test]
    fn display_names_file_line_field_and_hint() {
        let e = Error::bad_input(
            Problem::new("must be https")
                .file("p.yaml")
                .line(Some(4))
                .field("deployment_url")
                .hint("use https://host"),
        );
        assert_eq!(
            e.to_string(),
            "p.yaml:4: deployment_url: must be https\n  hint: use https://host"
        );
        assert_eq!(e.exit_code(), 2);
        assert_eq!(Error::internal("x").exit_code(), 1);
    }
}
