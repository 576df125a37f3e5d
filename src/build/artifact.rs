//! What a renderer produces: a file to write, in memory or linked from an input.

use super::stage::Written;
use crate::error::Result;
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

/// Writes an artifact's bytes into a sink, for outputs too large to hold in memory.
pub type StreamFn = Arc<dyn Fn(&mut dyn Write) -> Result<()> + Send + Sync>;
/// Computes an artifact from another one once that is written (e.g. a record of its hash).
pub type DeriveFn = Arc<dyn Fn(&Written) -> Result<Vec<u8>> + Send + Sync>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Windows,
    Macos,
    Any,
}

/// The bytes of an artifact.
#[derive(Clone)]
pub enum Contents {
    Bytes(Vec<u8>),
    /// An input installer, hard-linked (or copied) into the output; hashed once when read.
    Installer {
        input: usize,
    },
    /// Streamed to disk and hashed while written (e.g. a package wrapping the vendor's).
    Stream(StreamFn),
    /// Rendered after the artifact at `from` (same policy) is written, from its checksums.
    Derived {
        from: PathBuf,
        render: DeriveFn,
    },
}

impl std::fmt::Debug for Contents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Contents::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Contents::Installer { input } => write!(f, "Installer({input})"),
            Contents::Stream(_) => f.write_str("Stream"),
            Contents::Derived { from, .. } => write!(f, "Derived(from {})", from.display()),
        }
    }
}

/// One output file, relative to OUT.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub path: PathBuf,
    /// What it is, e.g. `deploy-properties`, `transform`, `install-script`.
    pub kind: &'static str,
    pub platform: Platform,
    pub policy: Option<String>,
    /// Holds the deployment token: written 0600.
    pub secret: bool,
    pub executable: bool,
    pub contents: Contents,
}

impl Artifact {
    pub fn bytes(
        path: impl Into<PathBuf>,
        kind: &'static str,
        platform: Platform,
        data: Vec<u8>,
    ) -> Self {
        Artifact {
            path: path.into(),
            kind,
            platform,
            policy: None,
            secret: false,
            executable: false,
            contents: Contents::Bytes(data),
        }
    }
    pub fn for_policy(mut self, name: &str) -> Self {
        self.policy = Some(name.to_string());
        self
    }
    pub fn secret(mut self, secret: bool) -> Self {
        self.secret = secret;
        self
    }
    pub fn executable(mut self) -> Self {
        self.executable = true;
        self
    }
    /// Unix permission bits the file is written with.
    pub fn mode(&self) -> u32 {
        match (self.secret, self.executable) {
            (true, true) => 0o700,
            (true, false) => 0o600,
            (false, true) => 0o755,
            (false, false) => 0o644,
        }
    }
}
