//! Distribution (product) packages: a `Distribution` XML plus one `name.pkg/` folder per
//! component, installed in the order given. Components come from a [`ComponentPackage`] or are
//! streamed verbatim out of an existing flat package (component or distribution), so a vendor
//! installer of hundreds of MB is never held in memory.
//!
//! Wrapping cannot keep the source's xar signature (it signs the source's TOC), and the
//! source Distribution's extra logic (installation checks, scripts, resources) is not carried
//! over; [`DistributionReport`] says both so the caller can tell the user. Its self-contained
//! requirements (`<volume-check>`, `<allowed-os-versions>`: "macOS 12 or later") and its
//! `hostArchitectures` are kept.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::formats::xar::xmltree::escape;
use crate::formats::xar::{EntryKind, MemberSource, XarBuilder};

use super::component::{check_value, ComponentPackage};
use super::inspect::{parse_distribution, read_component};
use super::{open_package, percent_encode, PkgError, MAX_XML_MEMBER};

/// Where an included component came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ComponentOrigin {
    /// Built from a [`ComponentPackage`].
    Built,
    /// Copied (stored bytes verbatim) from this package file.
    Copied { from: PathBuf },
}

/// One component of the written distribution, in install order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncludedComponent {
    /// Folder name inside the archive, e.g. `config.pkg`.
    pub name: String,
    pub identifier: String,
    pub version: String,
    pub install_kbytes: u64,
    pub origin: ComponentOrigin,
}

/// What [`DistributionPackage::write_to`] produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DistributionReport {
    pub components: Vec<IncludedComponent>,
    /// True when a source package was signed: the output is unsigned.
    pub signature_dropped: bool,
    /// The signed source packages.
    pub signed_sources: Vec<PathBuf>,
    /// Parts of source packages not carried over, e.g. `Distribution element <installation-check>`.
    pub dropped: Vec<String>,
    /// Distribution elements of source packages carried over, e.g. `<volume-check>`.
    pub kept: Vec<String>,
    pub bytes_written: u64,
}

enum Part {
    Built { name: String, pkg: ComponentPackage },
    Foreign(PathBuf),
}

/// Builder for a product archive.
pub struct DistributionPackage {
    title: String,
    product_id: String,
    product_version: String,
    /// Set by the caller; else the first source package's; else `x86_64,arm64`.
    host_architectures: Option<String>,
    parts: Vec<Part>,
}

/// What source Distributions contribute to the written one.
#[derive(Default)]
struct Inherited {
    host_architectures: Option<String>,
    /// XML of carried elements, in source order.
    elements: Vec<String>,
}

/// A component ready to be written.
struct Planned {
    included: IncludedComponent,
    /// Members relative to the component folder (foreign components only).
    members: Vec<(String, MemberSource)>,
    built: Option<ComponentPackage>,
}

/// `Install Foo.pkg` → `Install-Foo.pkg`: a folder name safe in paths and pkg-ref targets.
fn folder_name_for(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let cleaned: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let cleaned = cleaned.trim_matches(|c| c == '-' || c == '.');
    if cleaned.is_empty() {
        "component.pkg".to_string()
    } else {
        format!("{cleaned}.pkg")
    }
}

impl DistributionPackage {
    /// A product archive titled `title`, with product id and version (`<product>`).
    pub fn new(
        title: impl Into<String>,
        product_id: impl Into<String>,
        product_version: impl Into<String>,
    ) -> Self {
        DistributionPackage {
            title: title.into(),
            product_id: product_id.into(),
            product_version: product_version.into(),
            host_architectures: None,
            parts: Vec::new(),
        }
    }

    /// `hostArchitectures` of `<options>`. Default: the first source package's, else
    /// `x86_64,arm64` (no Rosetta prompt).
    pub fn host_architectures(mut self, archs: impl Into<String>) -> Self {
        self.host_architectures = Some(archs.into());
        self
    }

    /// Add a built component as folder `name` (must end in `.pkg`).
    pub fn component(mut self, name: impl Into<String>, pkg: ComponentPackage) -> Self {
        self.parts.push(Part::Built {
            name: name.into(),
            pkg,
        });
        self
    }

    /// Add every component of the flat package at `path`, in its pkg-ref order. A component
    /// package becomes one folder named after the file.
    pub fn include_package(mut self, path: impl Into<PathBuf>) -> Self {
        self.parts.push(Part::Foreign(path.into()));
        self
    }

    fn plan_foreign(
        path: &Path,
        planned: &mut Vec<Planned>,
        report: &mut DistributionReport,
        inherited: &mut Inherited,
    ) -> Result<(), PkgError> {
        let mut reader = open_package(path)?;
        if reader.toc().is_signed() {
            report.signature_dropped = true;
            report.signed_sources.push(path.to_path_buf());
        }
        let origin = ComponentOrigin::Copied {
            from: path.to_path_buf(),
        };
        let source = path.display();
        let has_distribution = reader
            .find("Distribution")
            .is_some_and(|e| e.kind == EntryKind::File);
        // (folder in source, "" for a root component; folder name in the output)
        let mut folders: Vec<(String, String, Option<u64>)> = Vec::new();
        if has_distribution {
            let bytes = reader.read_member("Distribution", MAX_XML_MEMBER)?;
            let dist = parse_distribution(path, &bytes)?;
            for element in &dist.other_elements {
                report
                    .dropped
                    .push(format!("{source}: Distribution element <{element}>"));
            }
            for (name, xml) in &dist.carried {
                report
                    .kept
                    .push(format!("{source}: Distribution element <{name}>"));
                inherited.elements.push(xml.clone());
            }
            if inherited.host_architectures.is_none() {
                inherited.host_architectures = dist.host_architectures.clone();
            }
            for r in &dist.pkg_refs {
                let inside = r
                    .target
                    .as_deref()
                    .is_some_and(|t| t.trim().starts_with('#'));
                if !inside {
                    report.dropped.push(format!(
                        "{source}: pkg-ref {} (no component inside the archive)",
                        r.id
                    ));
                }
            }
            for (folder, r) in dist.component_folders() {
                folders.push((folder.clone(), folder, r.install_kbytes));
            }
            let mut extra: Vec<String> = reader
                .entries()
                .iter()
                .map(|e| e.path.split('/').next().unwrap_or_default().to_string())
                .filter(|top| top != "Distribution" && !folders.iter().any(|f| &f.0 == top))
                .collect();
            extra.dedup();
            for top in extra {
                report.dropped.push(format!("{source}: member {top}"));
            }
        } else {
            folders.push((String::new(), folder_name_for(path), None));
        }

        for (folder, name, ref_kbytes) in folders {
            let facts = read_component(&mut reader, path, &folder)?;
            let prefix = if folder.is_empty() {
                String::new()
            } else {
                format!("{folder}/")
            };
            let mut members = Vec::new();
            for entry in reader.entries() {
                let Some(rel) = entry.path.strip_prefix(&prefix) else {
                    continue;
                };
                match entry.kind {
                    EntryKind::Directory => {}
                    EntryKind::File => {
                        let source = match reader.member_range(entry) {
                            Some(range) => MemberSource::FileRange(range),
                            None => MemberSource::Bytes(Vec::new()),
                        };
                        members.push((rel.to_string(), source));
                    }
                    _ => report
                        .dropped
                        .push(format!("{source}: non-file member {}", entry.path)),
                }
            }
            planned.push(Planned {
                included: IncludedComponent {
                    name,
                    identifier: facts.identifier,
                    version: facts.version,
                    install_kbytes: facts.install_kbytes.or(ref_kbytes).unwrap_or(0),
                    origin: origin.clone(),
                },
                members,
                built: None,
            });
        }
        Ok(())
    }

    fn plan(
        &self,
        report: &mut DistributionReport,
        inherited: &mut Inherited,
    ) -> Result<Vec<Planned>, PkgError> {
        check_value("distribution title", &self.title)?;
        check_value("product identifier", &self.product_id)?;
        check_value("product version", &self.product_version)?;
        let mut planned = Vec::new();
        for part in &self.parts {
            match part {
                Part::Built { name, pkg } => planned.push(Planned {
                    included: IncludedComponent {
                        name: name.clone(),
                        identifier: pkg.identifier().to_string(),
                        version: pkg.version().to_string(),
                        install_kbytes: 0,
                        origin: ComponentOrigin::Built,
                    },
                    members: Vec::new(),
                    built: Some(pkg.clone()),
                }),
                Part::Foreign(path) => Self::plan_foreign(path, &mut planned, report, inherited)?,
            }
        }
        if planned.is_empty() {
            return Err(PkgError::invalid("distribution", "it has no components"));
        }
        if let Some(own) = &self.host_architectures {
            inherited.host_architectures = Some(own.clone());
        }
        let archs = inherited
            .host_architectures
            .get_or_insert_with(|| "x86_64,arm64".to_string());
        check_value("host architectures", archs)?;
        for (i, p) in planned.iter().enumerate() {
            let c = &p.included;
            check_value("component name", &c.name)?;
            if !c.name.ends_with(".pkg") || c.name.contains('/') || c.name == ".pkg" {
                return Err(PkgError::invalid(
                    "component name",
                    format!("{:?} must be a folder name ending in .pkg", c.name),
                ));
            }
            check_value("package identifier", &c.identifier)?;
            if c.identifier == "default" {
                return Err(PkgError::Conflict {
                    detail: "identifier \"default\" clashes with the default choice".to_string(),
                });
            }
            for other in &planned[..i] {
                let o = &other.included;
                if o.name == c.name || o.identifier == c.identifier {
                    return Err(PkgError::Conflict {
                        detail: format!(
                            "components {} ({}) and {} ({}) share a folder name or identifier",
                            o.name, o.identifier, c.name, c.identifier
                        ),
                    });
                }
            }
        }
        Ok(planned)
    }

    fn distribution_xml(&self, components: &[&IncludedComponent], inherited: &Inherited) -> String {
        let mut xml = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
             <installer-gui-script minSpecVersion=\"2\">\n\
             \x20   <title>{}</title>\n\
             \x20   <options customize=\"never\" require-scripts=\"false\" hostArchitectures=\"{}\"/>\n\
             \x20   <domains enable_anywhere=\"false\" enable_currentUserHome=\"false\" enable_localSystem=\"true\"/>\n",
            escape(&self.title),
            escape(inherited.host_architectures.as_deref().unwrap_or("x86_64,arm64")),
        );
        for element in &inherited.elements {
            xml.push_str(element);
        }
        xml.push_str("    <choices-outline>\n        <line choice=\"default\">\n");
        for c in components {
            xml.push_str(&format!(
                "            <line choice=\"{}\"/>\n",
                escape(&c.identifier)
            ));
        }
        xml.push_str("        </line>\n    </choices-outline>\n    <choice id=\"default\"/>\n");
        for c in components {
            let id = escape(&c.identifier);
            xml.push_str(&format!(
                "    <choice id=\"{id}\" visible=\"false\">\n        <pkg-ref id=\"{id}\"/>\n    </choice>\n"
            ));
        }
        for c in components {
            xml.push_str(&format!(
                "    <pkg-ref id=\"{}\" version=\"{}\" installKBytes=\"{}\" onConclusion=\"none\">#{}</pkg-ref>\n",
                escape(&c.identifier),
                escape(&c.version),
                c.install_kbytes,
                escape(&percent_encode(&c.name)),
            ));
        }
        xml.push_str(&format!(
            "    <product id=\"{}\" version=\"{}\"/>\n</installer-gui-script>\n",
            escape(&self.product_id),
            escape(&self.product_version)
        ));
        xml
    }

    /// Write the product archive to `out`. On error the output is incomplete.
    pub fn write_to<W: Write>(&self, out: W) -> Result<DistributionReport, PkgError> {
        let mut report = DistributionReport {
            components: Vec::new(),
            signature_dropped: false,
            signed_sources: Vec::new(),
            dropped: Vec::new(),
            kept: Vec::new(),
            bytes_written: 0,
        };
        let mut inherited = Inherited::default();
        let planned = self.plan(&mut report, &mut inherited)?;
        let included: Vec<&IncludedComponent> = planned.iter().map(|p| &p.included).collect();
        let mut xar = XarBuilder::new();
        xar.add_file(
            "Distribution",
            MemberSource::Bytes(self.distribution_xml(&included, &inherited).into_bytes()),
        )?;
        for p in &planned {
            let prefix = format!("{}/", p.included.name);
            xar.add_dir(&p.included.name)?;
            if let Some(pkg) = &p.built {
                pkg.add_members(&mut xar, &prefix)?;
            }
            for (rel, source) in &p.members {
                // Names come from the source package: a name the writer refuses is bad input.
                xar.add_file(&format!("{prefix}{rel}"), source.clone())
                    .map_err(|e| PkgError::invalid("member of a source package", e.to_string()))?;
            }
        }
        report.bytes_written = xar.write_to(out)?;
        report.components = planned.into_iter().map(|p| p.included).collect();
        Ok(report)
    }

    /// Write the product archive to `path`; a partial file is removed on error.
    pub fn write_file(&self, path: &Path) -> Result<DistributionReport, PkgError> {
        let io_err = |source| PkgError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::create(path).map_err(io_err)?;
        let mut out = BufWriter::new(file);
        let result = self
            .write_to(&mut out)
            .and_then(|r| out.flush().map(|_| r).map_err(io_err));
        if result.is_err() {
            let _ = std::fs::remove_file(path);
        }
        result
    }
}
