//! Errors of the flat package builders and inspector, each naming the file concerned.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::formats::cpio::CpioError;
use crate::formats::xar::XarError;

#[derive(Debug)]
pub enum PkgError {
    /// The xar container is unreadable or corrupt (message names file and offset).
    Xar(XarError),
    /// The Scripts archive could not be built.
    Cpio(CpioError),
    Io {
        path: PathBuf,
        source: io::Error,
    },
    /// The file is a disk image (UDIF `koly` trailer), not a package.
    Dmg {
        path: PathBuf,
    },
    /// A component (or the whole archive) has no PackageInfo.
    MissingPackageInfo {
        path: PathBuf,
        component: String,
    },
    /// PackageInfo or Distribution is not well-formed or lacks a required attribute.
    BadXml {
        path: PathBuf,
        member: String,
        detail: String,
    },
    /// A value given to a builder cannot be written (empty, invalid XML character, bad name).
    InvalidArgument {
        what: String,
        detail: String,
    },
    /// Two components would share a name or identifier in one distribution.
    Conflict {
        detail: String,
    },
}

impl PkgError {
    /// True when the input (a file or a value from the user's policy) is at fault rather than
    /// the machine: the CLI maps these to exit status 2. A missing input file counts too.
    pub fn is_bad_input(&self) -> bool {
        match self {
            PkgError::Xar(e) => e.is_bad_input(),
            PkgError::Cpio(_) => false,
            PkgError::Io { source, .. } => source.kind() == io::ErrorKind::NotFound,
            PkgError::Dmg { .. }
            | PkgError::MissingPackageInfo { .. }
            | PkgError::BadXml { .. }
            | PkgError::InvalidArgument { .. }
            | PkgError::Conflict { .. } => true,
        }
    }

    pub(crate) fn bad_xml(path: &std::path::Path, member: &str, detail: String) -> Self {
        PkgError::BadXml {
            path: path.to_path_buf(),
            member: member.to_string(),
            detail,
        }
    }

    pub(crate) fn invalid(what: &str, detail: impl Into<String>) -> Self {
        PkgError::InvalidArgument {
            what: what.to_string(),
            detail: detail.into(),
        }
    }
}

impl fmt::Display for PkgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PkgError::Xar(e) => write!(f, "{e}"),
            PkgError::Cpio(e) => write!(f, "cannot build the Scripts archive: {e}"),
            PkgError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            PkgError::Dmg { path } => write!(
                f,
                "{}: this is a disk image (.dmg), not an installer package; mount or extract \
                 it (e.g. `hdiutil attach` on macOS, `7zz x` on Linux) and pass the .pkg inside it",
                path.display()
            ),
            PkgError::MissingPackageInfo { path, component } => write!(
                f,
                "{}: {component} has no PackageInfo; not a flat installer package",
                path.display()
            ),
            PkgError::BadXml {
                path,
                member,
                detail,
            } => write!(f, "{}: {member}: {detail}", path.display()),
            PkgError::InvalidArgument { what, detail } => write!(f, "invalid {what}: {detail}"),
            PkgError::Conflict { detail } => write!(f, "cannot combine packages: {detail}"),
        }
    }
}

impl std::error::Error for PkgError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PkgError::Xar(e) => Some(e),
            PkgError::Cpio(e) => Some(e),
            PkgError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<XarError> for PkgError {
    fn from(e: XarError) -> Self {
        PkgError::Xar(e)
    }
}

impl From<CpioError> for PkgError {
    fn from(e: CpioError) -> Self {
        PkgError::Cpio(e)
    }
}
