//! The vendor pkg: hashed once and its components read once per build.

use crate::build::{Flags, Input, Role};
use crate::error::Result;
use std::path::Path;

pub struct PkgInstaller {
    pub input: usize,
    pub file_name: String,
}

impl PkgInstaller {
    pub fn read(path: &Path, progress: bool) -> Result<(PkgInstaller, Input)> {
        let input = Input::read(path, Role::MacosInstaller, progress)?;
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        Ok((PkgInstaller { input: 0, file_name }, input))
    }

    pub fn notes(&self, _flags: &Flags) -> Vec<String> {
        Vec::new()
    }
}
