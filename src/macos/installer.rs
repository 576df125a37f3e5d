//! The vendor pkg: hashed and inspected once per build (TOC and XML members only), its facts
//! recorded in the manifest.

use crate::build::{Flags, Input, Role};
use crate::error::{Error, Problem, Result};
use crate::formats::flatpkg::{inspect, PkgFacts, PkgKind};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

pub struct PkgInstaller {
    pub input: usize,
    pub file_name: String,
    /// Absolute path, for streaming its members into a wrapped package.
    pub path: PathBuf,
    pub facts: PkgFacts,
    /// For Jamf's package record (`hashType: SHA3_512`).
    pub sha3_512: String,
}

impl PkgInstaller {
    pub fn read(path: &Path, progress: bool) -> Result<(PkgInstaller, Input)> {
        let (input, inspected) = rayon::join(
            || Input::read_with(path, Role::MacosInstaller, progress, true),
            || inspect(path).map_err(|e| bad_pkg(path, e)),
        );
        let (mut input, facts) = (input?, inspected?);
        // Hashed with SHA-256 and SHA3-512 in the same pass.
        let sha3_512 = input.sha3_512.clone().unwrap_or_default();
        input.facts = facts_json(&facts);
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let pkg = PkgInstaller {
            input: 0,
            file_name,
            path: input.abs.clone(),
            facts,
            sha3_512,
        };
        Ok((pkg, input))
    }

    /// Build notes: what the vendor package is and what wrapping it costs.
    pub fn notes(&self, flags: &Flags) -> Vec<String> {
        let mut notes = Vec::new();
        if flags.wrap_vendor {
            if !self.facts.kept_when_wrapped.is_empty() {
                notes.push(format!(
                    "{}: the wrapped packages keep the vendor's requirements ({})",
                    self.file_name,
                    tags(&self.facts.kept_when_wrapped)
                ));
            }
            if !self.facts.dropped_when_wrapped.is_empty() {
                notes.push(format!(
                    "{}: the wrapped packages do not carry the vendor's Distribution logic ({}): check that it holds nothing the devices need",
                    self.file_name,
                    tags(&self.facts.dropped_when_wrapped)
                ));
            }
            notes.push(if self.facts.signed {
                format!(
                    "{}: the wrapped packages (--wrap-vendor) do not carry the vendor's signature; they are unsigned. \
                     Deploy them through a Jamf policy (not PreStage enrollment), or sign them, or use the config package beside the signed vendor package",
                    self.file_name
                )
            } else {
                format!("{}: the vendor package is not signed; the wrapped packages are unsigned too", self.file_name)
            });
        } else if !self.facts.signed {
            notes.push(format!(
                "{}: the vendor package carries no signature",
                self.file_name
            ));
        }
        notes
    }
}

/// `<a>, <b>` for element names.
fn tags(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("<{n}>"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn bad_pkg(path: &Path, e: crate::formats::flatpkg::PkgError) -> Error {
    if e.is_bad_input() {
        Error::bad_input(
            Problem::new(format!("cannot read the macOS package: {e}"))
                .file(path)
                .field("pkg")
                .hint("pass the vendor's flat .pkg (for a .dmg: the .pkg inside it)"),
        )
    } else {
        Error::internal(format!("reading {}: {e}", path.display()))
    }
}

/// The manifest's record of the vendor package.
fn facts_json(f: &PkgFacts) -> Value {
    let components: Vec<Value> = f
        .components
        .iter()
        .map(|c| {
            let bundles: Vec<Value> = c
                .bundles
                .iter()
                .map(|b| json!({"id": b.id, "path": b.path, "short_version": b.short_version, "version": b.version}))
                .collect();
            json!({
                "identifier": c.identifier,
                "version": c.version,
                "location": c.location,
                "install_location": c.install_location,
                "install_kbytes": c.install_kbytes,
                "bundles": bundles,
                "scripts": c.scripts,
                "has_payload": c.has_payload,
            })
        })
        .collect();
    json!({
        "kind": match f.kind { PkgKind::Component => "component", PkgKind::Distribution => "distribution" },
        "title": f.title,
        "product": f.product.as_ref().map(|p| json!({"id": p.id, "version": p.version})),
        "signed": f.signed,
        "components": components,
    })
}
