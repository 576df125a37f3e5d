//! `manifest.json` (typed, documented schema) and `SHA256SUMS`, and verifying an output folder
//! against them.
//!
//! Schema `agentpack.manifest.v1`:
//! - `tool`: `{name, version}` of the agentpack that built it;
//! - `build_time`: RFC 3339 UTC; `SOURCE_DATE_EPOCH` when set, else the newest input's mtime,
//!   so that the same inputs give the same manifest;
//! - `product`: `{id, display_name, era}`;
//! - `inputs`: `{path, role, size, sha256, facts}` sorted by role then path; `facts` is what was
//!   read from the file (MSI identity, package components);
//! - `outputs`: `{path, size, sha256, kind, platform, policy, secret, placement}` sorted by path;
//!   paths are relative to OUT with `/`; `secret` marks files holding a deployment token
//!   (mode 0600); `placement` says how an installer got there (`hardlink` or `copy`).
//!
//! No secret is ever stored in it.

mod spill;
mod verify;
pub use spill::OutputSpill;
use verify::MAX_MANIFEST;
pub use verify::{verify, Exposed, Verification};

use crate::build::{Input, Platform};
use crate::error::{Error, Problem, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub const SCHEMA: &str = "agentpack.manifest.v1";
pub const MANIFEST: &str = "manifest.json";
pub const SUMS: &str = "SHA256SUMS";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProductRef {
    pub id: String,
    pub display_name: String,
    pub era: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InputRecord {
    pub path: String,
    pub role: String,
    pub size: u64,
    pub sha256: String,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub facts: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OutputRecord {
    pub path: String,
    pub size: u64,
    pub sha256: String,
    pub kind: String,
    pub platform: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    pub secret: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<crate::build::Placement>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub schema: String,
    pub tool: Tool,
    pub build_time: String,
    pub product: ProductRef,
    pub inputs: Vec<InputRecord>,
    pub outputs: Vec<OutputRecord>,
}

impl Manifest {
    pub fn new(
        build_time: u64,
        product: ProductRef,
        inputs: &[Input],
        mut outputs: Vec<OutputRecord>,
    ) -> Manifest {
        let mut ins: Vec<InputRecord> = inputs
            .iter()
            .map(|i| InputRecord {
                path: i.path.clone(),
                role: serde_json::to_value(i.role)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
                size: i.size,
                sha256: i.sha256.clone(),
                facts: i.facts.clone(),
            })
            .collect();
        ins.sort_by(|a, b| (&a.role, &a.path).cmp(&(&b.role, &b.path)));
        outputs.sort_by(|a, b| a.path.cmp(&b.path));
        Manifest {
            schema: SCHEMA.into(),
            tool: Tool {
                name: env!("CARGO_PKG_NAME").into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            build_time: rfc3339(build_time),
            product,
            inputs: ins,
            outputs,
        }
    }

    /// Pretty JSON with a final newline; field order is fixed by the structs, maps are sorted.
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }

    /// `SHA256SUMS` text for the outputs plus manifest.json itself, sorted by path.
    pub fn sums(&self, manifest_sha256: &str) -> String {
        let mut lines: BTreeMap<&str, &str> = self
            .outputs
            .iter()
            .map(|o| (o.path.as_str(), o.sha256.as_str()))
            .collect();
        lines.insert(MANIFEST, manifest_sha256);
        lines.iter().map(|(p, h)| format!("{h}  {p}\n")).collect()
    }
}

pub fn platform_name(p: Platform) -> String {
    match p {
        Platform::Windows => "windows",
        Platform::Macos => "macos",
        Platform::Any => "any",
    }
    .into()
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The output paths `out/manifest.json` lists, read streaming (only the paths are kept), after
/// checking it is a regular file of this agentpack's schema: what a build may replace.
pub fn listed_paths(out: &Path) -> Result<Vec<String>> {
    #[derive(Deserialize)]
    struct PathOnly {
        path: String,
    }
    #[derive(Deserialize)]
    struct Listing {
        schema: String,
        outputs: Vec<PathOnly>,
    }
    let mpath = out.join(MANIFEST);
    let meta = std::fs::symlink_metadata(&mpath).map_err(|e| Error::io(&mpath, "read", e))?;
    let not_ours = |why: String| {
        Error::bad_input(
            Problem::new(format!("is not an agentpack manifest: {why}"))
                .file(&mpath)
                .hint("this is not an agentpack output folder"),
        )
    };
    if !meta.is_file() {
        return Err(not_ours("not a regular file".into()));
    }
    let f = std::fs::File::open(&mpath).map_err(|e| Error::io(&mpath, "read", e))?;
    use std::io::Read as _;
    let reader = std::io::BufReader::new(f.take(MAX_MANIFEST));
    let listing: Listing = serde_json::from_reader(reader).map_err(|e| not_ours(e.to_string()))?;
    if listing.schema != SCHEMA {
        return Err(not_ours(format!("schema '{}'", listing.schema)));
    }
    Ok(listing.outputs.into_iter().map(|o| o.path).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_dates() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(super::rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
