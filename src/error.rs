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
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
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
            write!(f, "{}", file.display())?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
            }
            write!(f, ": ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
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
    /// An I/O failure on `path`. Missing or unreadable inputs are the user's to fix;
    /// everything else (disk full, ...) is reported as internal.
    pub fn io(path: &Path, action: &str, err: std::io::Error) -> Self {
        use std::io::ErrorKind as K;
        let (kind, hint) = match err.kind() {
            K::NotFound => (Kind::BadInput, Some("check the path")),
            K::PermissionDenied => (Kind::BadInput, Some("check the file's permissions")),
            K::IsADirectory => (Kind::BadInput, Some("pass a file, not a folder")),
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
