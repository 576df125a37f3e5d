//! The vendor MSI: hashed once and its identity read once per build, shared by every policy.

use crate::build::{Input, Role};
use crate::error::Result;
use crate::product::Product;
use std::path::Path;

pub struct MsiInstaller {
    /// Index of the installer in the build's inputs.
    pub input: usize,
    pub file_name: String,
}

impl MsiInstaller {
    pub fn read(path: &Path, progress: bool) -> Result<(MsiInstaller, Input)> {
        let input = Input::read(path, Role::WindowsInstaller, progress)?;
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        Ok((MsiInstaller { input: 0, file_name }, input))
    }

    /// Warnings worth showing, e.g. an UpgradeCode the product is not known to use.
    pub fn notes(&self, _product: &Product) -> Vec<String> {
        Vec::new()
    }
}
