//! The vendor MSI: hashed and opened once per build, then shared by every policy's renderers.

use crate::build::{Input, Role};
use crate::error::{Error, Problem, Result};
use crate::formats::mst::{Database, Identity, MstError};
use crate::product::{Product, WindowsPlacement};
use serde::Serialize;
use std::path::Path;

pub struct MsiInstaller {
    /// Index of the installer in the build's inputs.
    pub input: usize,
    /// File name as it is placed beside the transform (and named on command lines).
    pub file_name: String,
    pub size: u64,
    pub sha256: String,
    pub db: Database,
}

/// What the manifest records about the MSI (`inputs[].facts`). Names, never values, of the
/// deployment properties it already has: a vendor MSI could carry a token.
#[derive(Debug, Serialize)]
struct Facts<'a> {
    #[serde(flatten)]
    identity: &'a Identity,
    deployment_properties: Vec<&'a str>,
}

/// An MST-layer error as a problem naming `path` (exit 2 unless agentpack is at fault).
pub(crate) fn mst_error(path: &Path, e: &MstError, hint: &str) -> Error {
    if !e.is_bad_input() {
        return Error::internal(e.to_string());
    }
    // The error's text starts with its own path: show the file once, in the problem.
    let text = e.to_string();
    let message = e
        .path()
        .and_then(|p| text.strip_prefix(&format!("{}: ", p.display())))
        .unwrap_or(&text)
        .to_string();
    Error::bad_input(Problem::new(message).file(path).hint(hint))
}

impl MsiInstaller {
    pub fn read(path: &Path, progress: bool) -> Result<(MsiInstaller, Input)> {
        let mut input = Input::read(path, Role::WindowsInstaller, progress)?;
        let db = Database::open(path).map_err(|e| {
            mst_error(
                path,
                &e,
                "pass the vendor's Windows installer (.msi), complete and unmodified",
            )
        })?;
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let msi = MsiInstaller {
            input: 0,
            file_name,
            size: input.size,
            sha256: input.sha256.clone(),
            db,
        };
        input.facts = msi.facts();
        Ok((msi, input))
    }

    pub fn identity(&self) -> &Identity {
        self.db.identity()
    }

    fn facts(&self) -> serde_json::Value {
        // Deployment property names from every embedded profile: the MSI is read before the
        // product is known to matter, and names are harmless.
        let names = deployment_property_names();
        let present = self
            .db
            .properties()
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| names.iter().any(|m| m == n))
            .collect();
        serde_json::to_value(Facts {
            identity: self.identity(),
            deployment_properties: present,
        })
        .unwrap_or(serde_json::Value::Null)
    }

    /// Warnings worth showing, e.g. an UpgradeCode the product is not known to use.
    pub fn notes(&self, product: &Product) -> Vec<String> {
        let mut notes = Vec::new();
        let Some(facts) = &product.windows else {
            return notes;
        };
        let id = self.identity();
        if !facts.upgrade_codes.is_empty() {
            let known = |c: &str| {
                facts
                    .upgrade_codes
                    .iter()
                    .any(|k| k.eq_ignore_ascii_case(c))
            };
            match &id.upgrade_code {
                Some(code) if known(code) => {}
                Some(code) => notes.push(format!(
                    "{}: UpgradeCode {code} is not one {} is known to use ({}); is this the right installer?",
                    self.file_name,
                    product.display_name,
                    facts.upgrade_codes.join(", ")
                )),
                None => notes.push(format!(
                    "{}: has no UpgradeCode; {} installers use {}",
                    self.file_name,
                    product.display_name,
                    facts.upgrade_codes.join(", ")
                )),
            }
        }
        // Windows Installer does not support UTF-8 databases; the transform follows the base.
        if id.codepage == 65001 {
            notes.push(format!(
                "{}: the database codepage is 65001 (UTF-8), which Windows Installer does not support; \
                 the transform uses the same codepage and may be rejected by msiexec",
                self.file_name
            ));
        }
        notes
    }
}

/// Names of the MSI properties any known product sets (packed property and separate ones).
fn deployment_property_names() -> Vec<String> {
    let Ok(products) = crate::product::Products::load(None) else {
        return Vec::new();
    };
    let mut names: Vec<String> = Vec::new();
    for p in products.all() {
        if let Some(w) = &p.windows {
            names.push(w.packed_property.clone());
        }
        names.extend(
            p.properties
                .iter()
                .filter(|d| d.windows != WindowsPlacement::None)
                .map(|d| d.name.clone()),
        );
    }
    names.sort();
    names.dedup();
    names
}
