//! The vendor pkg, once per build: inspected (TOC and XML members only), then read once to hash
//! it and verify every member's archived checksum; its facts are recorded in the manifest. A
//! damaged member is bad input, so no Jamf record ever carries a damaged file's hash.

use crate::build::{Flags, Input, Role};
use crate::error::{Error, Problem, Result};
use crate::formats::flatpkg::{inspect_with_verifier, PkgError, PkgFacts, PkgKind};
use crate::formats::xar::{MemberChecks, XarError};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

pub struct PkgInstaller {
    pub input: usize,
    pub file_name: String,
    /// Absolute path, for streaming its members into a wrapped package.
    pub path: PathBuf,
    pub facts: PkgFacts,
    /// The members whose archived checksums were verified, and those that could not be.
    pub checks: MemberChecks,
    /// For Jamf's package record (`hashType: SHA3_512`).
    pub sha3_512: String,
}

impl PkgInstaller {
    pub fn read(path: &Path, progress: bool) -> Result<(PkgInstaller, Input)> {
        // A missing file, folder or device is named as such before it is opened as a package.
        crate::build::regular_file(path, "installer")?;
        // The TOC and the small XML members first; then one pass over the whole file hashes it
        // (SHA-256, SHA3-512) and checks every member's archived checksum on the way.
        let (facts, mut verifier) = inspect_with_verifier(path).map_err(|e| bad_pkg(path, e))?;
        let mut observe = |offset: u64, chunk: &[u8]| verifier.feed(offset, chunk);
        let mut input = Input::read_observed(
            path,
            Role::MacosInstaller,
            progress,
            true,
            Some(&mut observe),
        )?;
        let checks = verifier.finish().map_err(|e| damaged_pkg(path, e))?;
        let sha3_512 = input.sha3_512.clone().unwrap_or_default();
        input.facts = facts_json(&facts, &checks);
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let pkg = PkgInstaller {
            input: 0,
            file_name,
            path: input.abs.clone(),
            facts,
            checks,
            sha3_512,
        };
        Ok((pkg, input))
    }

    /// Build notes: what the vendor package is and what wrapping it costs.
    pub fn notes(&self, flags: &Flags) -> Vec<String> {
        let mut notes = Vec::new();
        if !self.checks.unverified.is_empty() {
            let listed: Vec<String> = self
                .checks
                .unverified
                .iter()
                .map(|u| format!("{} ({})", u.path, u.reason))
                .collect();
            notes.push(format!(
                "{}: {} member(s) could not be verified against the package's table of contents: {}",
                self.file_name,
                listed.len(),
                listed.join(", ")
            ));
        }
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

fn bad_pkg(path: &Path, e: PkgError) -> Error {
    use crate::formats::xar::XarErrorKind as K;
    // A package whose bytes are not what its own TOC says: a damaged download.
    let e = match e {
        PkgError::Xar(x)
            if matches!(
                x.kind,
                K::Truncated { .. }
                    | K::BadTocChecksum
                    | K::MemberCorrupt { .. }
                    | K::BadMemberOffset { .. }
            ) =>
        {
            return damaged_pkg(path, x)
        }
        other => other,
    };
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

/// A member whose bytes do not match the TOC (or lie past the end of the file): the download is
/// damaged or was altered, and Jamf must not be handed its hash.
fn damaged_pkg(path: &Path, e: XarError) -> Error {
    if e.is_bad_input() {
        Error::bad_input(
            Problem::new(format!("the macOS package is damaged: {e}"))
                .file(path)
                .field("pkg")
                .hint("download the vendor's installer again (and check it against the vendor's published checksum); do not deploy this copy"),
        )
    } else {
        Error::internal(format!("verifying {}: {e}", path.display()))
    }
}

/// The manifest's record of the vendor package.
fn facts_json(f: &PkgFacts, checks: &MemberChecks) -> Value {
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
        "member_checksums": {
            "verified": checks.verified,
            "unverified": checks.unverified.iter().map(|u| json!({"path": u.path, "reason": u.reason})).collect::<Vec<_>>(),
        },
    })
}
