//! Payload-free component packages: `PackageInfo` + `Scripts`, as `pkgbuild --nopayload`
//! makes them. No Bom or Payload: no Linux tool writes a Bom that Installer is known to accept.

use std::io::Write;

use crate::formats::cpio::{self, CpioEntry, MODE_DIR, MODE_FILE_EXEC};
use crate::formats::xar::xmltree::{check_xml_text, escape};
use crate::formats::xar::{MemberSource, XarBuilder};

use super::PkgError;

/// Scripts Installer runs from a flat package; other script names are shipped as helpers.
const INSTALL_SCRIPTS: [&str; 2] = ["preinstall", "postinstall"];

/// A payload-free component package. Values are validated when the package is built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComponentPackage {
    identifier: String,
    version: String,
    install_location: String,
    scripts: Vec<(String, Vec<u8>)>,
}

pub(crate) fn check_value(what: &str, value: &str) -> Result<(), PkgError> {
    if value.trim().is_empty() {
        return Err(PkgError::invalid(what, "must not be empty"));
    }
    check_xml_text(value).map_err(|d| PkgError::invalid(what, format!("{value:?}: {d}")))
}

impl ComponentPackage {
    /// A package with receipt identifier `identifier` (reverse DNS) and `version`,
    /// installing to `/` with root authorization.
    pub fn new(identifier: impl Into<String>, version: impl Into<String>) -> Self {
        ComponentPackage {
            identifier: identifier.into(),
            version: version.into(),
            install_location: "/".to_string(),
            scripts: Vec::new(),
        }
    }

    /// Add a script or helper file to the Scripts archive (mode 0755). `preinstall` and
    /// `postinstall` are also listed in PackageInfo so Installer runs them.
    pub fn with_script(mut self, name: impl Into<String>, contents: impl Into<Vec<u8>>) -> Self {
        self.scripts.push((name.into(), contents.into()));
        self
    }

    pub fn identifier(&self) -> &str {
        &self.identifier
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    fn validate(&self) -> Result<(), PkgError> {
        check_value("package identifier", &self.identifier)?;
        check_value("package version", &self.version)?;
        check_value("install location", &self.install_location)?;
        let mut seen = std::collections::BTreeSet::new();
        for (name, _) in &self.scripts {
            let bad = name.is_empty()
                || name == "."
                || name == ".."
                || name.contains('/')
                || name.contains('\0');
            if bad {
                return Err(PkgError::invalid(
                    "script name",
                    format!("{name:?} must be a plain file name"),
                ));
            }
            check_value("script name", name)?;
            if !seen.insert(name.as_str()) {
                return Err(PkgError::invalid(
                    "script name",
                    format!("{name:?} given twice"),
                ));
            }
        }
        Ok(())
    }

    /// The PackageInfo XML. Attribute values are escaped.
    pub fn package_info_xml(&self) -> Result<String, PkgError> {
        self.validate()?;
        let mut xml = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
             <pkg-info format-version=\"2\" identifier=\"{}\" version=\"{}\" \
             install-location=\"{}\" auth=\"root\" postinstall-action=\"none\">\n\
             \x20   <payload numberOfFiles=\"0\" installKBytes=\"0\"/>\n\
             \x20   <scripts>\n",
            escape(&self.identifier),
            escape(&self.version),
            escape(&self.install_location),
        );
        for kind in INSTALL_SCRIPTS {
            if self.scripts.iter().any(|(n, _)| n == kind) {
                xml.push_str(&format!("        <{kind} file=\"./{kind}\"/>\n"));
            }
        }
        xml.push_str("    </scripts>\n</pkg-info>\n");
        Ok(xml)
    }

    /// The gzip'd odc cpio Scripts archive: `.` (0o040755) then `./name` (0o100755) sorted by
    /// name, owner 0:0, mtime 0. None when there are no scripts.
    pub fn scripts_archive(&self) -> Result<Option<Vec<u8>>, PkgError> {
        self.validate()?;
        if self.scripts.is_empty() {
            return Ok(None);
        }
        let mut sorted: Vec<_> = self.scripts.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let mut entries = vec![CpioEntry::dir(".", MODE_DIR)];
        for (name, data) in sorted {
            entries.push(CpioEntry::file(&format!("./{name}"), MODE_FILE_EXEC, data));
        }
        Ok(Some(cpio::gzipped_odc(&entries)?))
    }

    /// Add this package's members under `prefix` (`""` or `name.pkg/`).
    pub(crate) fn add_members(&self, xar: &mut XarBuilder, prefix: &str) -> Result<(), PkgError> {
        let info = self.package_info_xml()?;
        xar.add_file(
            &format!("{prefix}PackageInfo"),
            MemberSource::Bytes(info.into_bytes()),
        )?;
        if let Some(scripts) = self.scripts_archive()? {
            xar.add_file(&format!("{prefix}Scripts"), MemberSource::Bytes(scripts))?;
        }
        Ok(())
    }

    /// The package file's bytes; identical input gives identical bytes.
    pub fn build(&self) -> Result<Vec<u8>, PkgError> {
        let mut out = Vec::new();
        self.write_to(&mut out)?;
        Ok(out)
    }

    /// Write the package to `out`; returns the number of bytes written.
    pub fn write_to<W: Write>(&self, out: W) -> Result<u64, PkgError> {
        let mut xar = XarBuilder::new();
        self.add_members(&mut xar, "")?;
        Ok(xar.write_to(out)?)
    }
}
