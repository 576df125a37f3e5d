//! Facts about an existing flat package, read from the xar TOC and the small XML members
//! (PackageInfo, Distribution) only — never the Payload, which can be hundreds of MB.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use crate::formats::xar::xmltree::{self, Element};
use crate::formats::xar::{EntryKind, HeapVerifier, XarReader};

use super::{open_package, percent_decode, PkgError, MAX_XML_MEMBER};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PkgKind {
    /// PackageInfo at the archive root.
    Component,
    /// A product archive with a Distribution and `name.pkg/` component folders.
    Distribution,
}

/// A `<bundle>` listed in PackageInfo; nested bundles get their parent's path prefixed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleFacts {
    pub id: String,
    /// Relative to the component's install-location, e.g. `./Applications/App.app`.
    pub path: String,
    /// `CFBundleShortVersionString`.
    pub short_version: Option<String>,
    /// `CFBundleVersion`.
    pub version: Option<String>,
}

/// One component package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComponentFacts {
    /// Folder inside the archive (`vendor.pkg`), or `""` for a component package's root.
    pub location: String,
    pub identifier: String,
    pub version: String,
    pub install_location: Option<String>,
    /// From `<payload installKBytes>`.
    pub install_kbytes: Option<u64>,
    /// From `<payload numberOfFiles>`.
    pub number_of_files: Option<u64>,
    pub bundles: Vec<BundleFacts>,
    /// `file` attributes of `<preinstall>` / `<postinstall>`.
    pub scripts: Vec<String>,
    pub has_payload: bool,
    pub has_scripts_archive: bool,
}

/// A Distribution `pkg-ref`, merged over its occurrences (choices and the top-level list).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PkgRefFacts {
    pub id: String,
    pub version: Option<String>,
    pub install_kbytes: Option<u64>,
    /// The element text, e.g. `#vendor.pkg`.
    pub target: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductFacts {
    pub id: String,
    pub version: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PkgFacts {
    pub path: PathBuf,
    pub kind: PkgKind,
    /// Distribution `<title>` (None for component packages).
    pub title: Option<String>,
    pub product: Option<ProductFacts>,
    /// Components in pkg-ref order (a distribution) or the root component.
    pub components: Vec<ComponentFacts>,
    pub pkg_refs: Vec<PkgRefFacts>,
    /// The xar TOC carries `<signature>` or `<x-signature>`.
    pub signed: bool,
    /// Distribution elements a wrapping package cannot keep (installation checks, scripts,
    /// resources), by name; empty for a component package.
    pub dropped_when_wrapped: Vec<String>,
    /// Distribution elements a wrapping package keeps (OS and volume requirements), by name.
    pub kept_when_wrapped: Vec<String>,
    /// `hostArchitectures` of the Distribution's `<options>`.
    pub host_architectures: Option<String>,
}

/// What a Distribution says, as far as agentpack needs it.
pub(crate) struct DistributionFacts {
    pub(crate) title: Option<String>,
    pub(crate) product: Option<ProductFacts>,
    pub(crate) pkg_refs: Vec<PkgRefFacts>,
    /// Top-level element names other than the ones a rewritten Distribution regenerates or
    /// carries over (installation checks, scripts, resources, ...).
    pub(crate) other_elements: Vec<String>,
    /// `hostArchitectures` of `<options>`.
    pub(crate) host_architectures: Option<String>,
    /// Requirements a rewritten Distribution keeps, as XML: `<volume-check>` and
    /// `<allowed-os-versions>` when self-contained (no `script` attribute anywhere in them).
    pub(crate) carried: Vec<(String, String)>,
}

/// Top-level Distribution elements that are kept when a package is wrapped: the OS and
/// volume requirements (e.g. "macOS 12 or later"), which need no script or choice of theirs.
const CARRIED: [&str; 2] = ["volume-check", "allowed-os-versions"];

fn uses_script(e: &Element) -> bool {
    e.attrs.iter().any(|(k, _)| k == "script") || e.children.iter().any(uses_script)
}

impl DistributionFacts {
    /// Component folder names in pkg-ref order (targets `#name.pkg`, percent-decoded).
    pub(crate) fn component_folders(&self) -> Vec<(String, &PkgRefFacts)> {
        self.pkg_refs
            .iter()
            .filter_map(|r| {
                let target = r.target.as_deref()?.trim();
                let name = target.strip_prefix('#')?;
                Some((percent_decode(name), r))
            })
            .collect()
    }
}

fn parse_xml(path: &Path, member: &str, bytes: &[u8], root: &str) -> Result<Element, PkgError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| PkgError::bad_xml(path, member, format!("not UTF-8: {e}")))?;
    let el = xmltree::parse(text).map_err(|d| PkgError::bad_xml(path, member, d))?;
    if el.name != root {
        return Err(PkgError::bad_xml(
            path,
            member,
            format!("root element is <{}>, expected <{root}>", el.name),
        ));
    }
    Ok(el)
}

fn parse_u64_attr(el: &Element, name: &str) -> Option<u64> {
    el.attr(name).and_then(|v| v.trim().parse().ok())
}

fn collect_bundles(parent: &Element, prefix: &str, out: &mut Vec<BundleFacts>) {
    for bundle in parent.children_named("bundle") {
        let (Some(id), Some(path)) = (bundle.attr("id"), bundle.attr("path")) else {
            continue;
        };
        let full = if prefix.is_empty() {
            path.to_string()
        } else {
            format!(
                "{}/{}",
                prefix.trim_end_matches('/'),
                path.trim_start_matches("./")
            )
        };
        out.push(BundleFacts {
            id: id.to_string(),
            path: full.clone(),
            short_version: bundle
                .attr("CFBundleShortVersionString")
                .map(str::to_string),
            version: bundle.attr("CFBundleVersion").map(str::to_string),
        });
        collect_bundles(bundle, &full, out);
    }
}

/// Interpret PackageInfo bytes of the component at `location`.
pub(crate) fn parse_package_info(
    path: &Path,
    location: &str,
    bytes: &[u8],
) -> Result<ComponentFacts, PkgError> {
    let member = format!(
        "{location}{}PackageInfo",
        if location.is_empty() { "" } else { "/" }
    );
    let root = parse_xml(path, &member, bytes, "pkg-info")?;
    let required = |name: &str| {
        root.attr(name)
            .filter(|v| !v.trim().is_empty())
            .map(str::to_string)
            .ok_or_else(|| PkgError::bad_xml(path, &member, format!("missing attribute {name}")))
    };
    let payload = root.child("payload");
    let mut bundles = Vec::new();
    collect_bundles(&root, "", &mut bundles);
    let scripts = root
        .child("scripts")
        .map(|s| {
            s.children
                .iter()
                .filter(|c| c.name == "preinstall" || c.name == "postinstall")
                .filter_map(|c| c.attr("file").map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Ok(ComponentFacts {
        location: location.to_string(),
        identifier: required("identifier")?,
        version: required("version")?,
        install_location: root.attr("install-location").map(str::to_string),
        install_kbytes: payload.and_then(|p| parse_u64_attr(p, "installKBytes")),
        number_of_files: payload.and_then(|p| parse_u64_attr(p, "numberOfFiles")),
        bundles,
        scripts,
        has_payload: false,
        has_scripts_archive: false,
    })
}

/// Elements a rewritten Distribution regenerates; anything else is reported as dropped.
const REGENERATED: [&str; 7] = [
    "title",
    "options",
    "domains",
    "choices-outline",
    "choice",
    "pkg-ref",
    "product",
];

/// Interpret Distribution bytes.
pub(crate) fn parse_distribution(path: &Path, bytes: &[u8]) -> Result<DistributionFacts, PkgError> {
    let root = parse_xml(path, "Distribution", bytes, "installer-gui-script")?;
    let mut all_refs = Vec::new();
    root.descendants_named("pkg-ref", &mut all_refs);
    let mut pkg_refs: Vec<PkgRefFacts> = Vec::new();
    for r in all_refs {
        let Some(id) = r.attr("id") else { continue };
        let index = match pkg_refs.iter().position(|p| p.id == id) {
            Some(i) => i,
            None => {
                pkg_refs.push(PkgRefFacts {
                    id: id.to_string(),
                    version: None,
                    install_kbytes: None,
                    target: None,
                });
                pkg_refs.len() - 1
            }
        };
        let merged = &mut pkg_refs[index];
        if merged.version.is_none() {
            merged.version = r.attr("version").map(str::to_string);
        }
        if merged.install_kbytes.is_none() {
            merged.install_kbytes = parse_u64_attr(r, "installKBytes");
        }
        let text = r.text.trim();
        if merged.target.is_none() && !text.is_empty() {
            merged.target = Some(text.to_string());
        }
    }
    let mut carried = Vec::new();
    let mut other_elements = Vec::new();
    for c in &root.children {
        if REGENERATED.contains(&c.name.as_str()) {
            continue;
        }
        if CARRIED.contains(&c.name.as_str()) && !uses_script(c) {
            carried.push((c.name.clone(), c.to_xml(4)));
        } else {
            other_elements.push(c.name.clone());
        }
    }
    other_elements.sort();
    other_elements.dedup();
    let host_architectures = root
        .child("options")
        .and_then(|o| o.attr("hostArchitectures"))
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty());
    Ok(DistributionFacts {
        title: root.child_text("title").map(str::to_string),
        product: root.child("product").and_then(|p| {
            Some(ProductFacts {
                id: p.attr("id")?.to_string(),
                version: p.attr("version").map(str::to_string),
            })
        }),
        pkg_refs,
        other_elements,
        host_architectures,
        carried,
    })
}

/// Read and interpret the component at `location` (`""` = root).
pub(crate) fn read_component(
    reader: &mut XarReader<BufReader<File>>,
    path: &Path,
    location: &str,
) -> Result<ComponentFacts, PkgError> {
    let prefix = if location.is_empty() {
        String::new()
    } else {
        format!("{location}/")
    };
    let info_path = format!("{prefix}PackageInfo");
    let is_file = |reader: &XarReader<_>, p: &str| {
        reader
            .find(p)
            .is_some_and(|e: &crate::formats::xar::XarEntry| e.kind == EntryKind::File)
    };
    if !is_file(reader, &info_path) {
        return Err(PkgError::MissingPackageInfo {
            path: path.to_path_buf(),
            component: if location.is_empty() {
                "the archive root".to_string()
            } else {
                format!("component {location:?}")
            },
        });
    }
    let bytes = reader.read_member(&info_path, MAX_XML_MEMBER)?;
    let mut facts = parse_package_info(path, location, &bytes)?;
    facts.has_payload = is_file(reader, &format!("{prefix}Payload"));
    facts.has_scripts_archive = is_file(reader, &format!("{prefix}Scripts"));
    Ok(facts)
}

/// Facts about the flat package at `path` (component or distribution).
///
/// Errors: a disk image ([`PkgError::Dmg`]), a truncated or non-xar file, a bad TOC checksum,
/// a missing PackageInfo, malformed XML — all `is_bad_input()`.
pub fn inspect(path: &Path) -> Result<PkgFacts, PkgError> {
    inspect_with_verifier(path).map(|(facts, _)| facts)
}

/// [`inspect`], and a verifier of every member's archived checksum built from the TOC just
/// read: feed it the whole file in order (e.g. while hashing it) to check the heap without
/// reading the package a second time.
pub fn inspect_with_verifier(path: &Path) -> Result<(PkgFacts, HeapVerifier), PkgError> {
    let mut reader = open_package(path)?;
    let verifier = reader.heap_verifier();
    Ok((read_facts(&mut reader, path)?, verifier))
}

fn read_facts(reader: &mut XarReader<BufReader<File>>, path: &Path) -> Result<PkgFacts, PkgError> {
    let signed = reader.toc().is_signed();
    let has_distribution = reader
        .find("Distribution")
        .is_some_and(|e| e.kind == EntryKind::File);
    if !has_distribution {
        let component = read_component(reader, path, "")?;
        return Ok(PkgFacts {
            path: path.to_path_buf(),
            kind: PkgKind::Component,
            title: None,
            product: None,
            components: vec![component],
            pkg_refs: Vec::new(),
            signed,
            dropped_when_wrapped: Vec::new(),
            kept_when_wrapped: Vec::new(),
            host_architectures: None,
        });
    }
    let bytes = reader.read_member("Distribution", MAX_XML_MEMBER)?;
    let dist = parse_distribution(path, &bytes)?;
    let mut components = Vec::new();
    for (folder, _) in dist.component_folders() {
        components.push(read_component(reader, path, &folder)?);
    }
    Ok(PkgFacts {
        path: path.to_path_buf(),
        kind: PkgKind::Distribution,
        title: dist.title,
        product: dist.product,
        components,
        pkg_refs: dist.pkg_refs,
        signed,
        dropped_when_wrapped: dist.other_elements,
        kept_when_wrapped: dist.carried.into_iter().map(|(n, _)| n).collect(),
        host_architectures: dist.host_architectures,
    })
}
