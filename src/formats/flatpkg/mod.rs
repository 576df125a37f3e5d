//! macOS flat installer packages (`.pkg`): xar archives holding `PackageInfo` + `Scripts`
//! (+ `Bom` + `Payload`) for a component package, or a `Distribution` plus `name.pkg/`
//! component folders for a distribution (product) package.
//!
//! * [`ComponentPackage`] builds payload-free component packages (scripts only).
//! * [`DistributionPackage`] builds a product archive from our components followed by
//!   components streamed out of existing packages (wrapping drops their signatures).
//! * [`inspect`] reads the facts of an existing package from its TOC and small XML members
//!   only, never the Payload.

mod component;
mod distribution;
mod error;
mod inspect;

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use crate::formats::xar::{XarErrorKind, XarReader};

pub use component::ComponentPackage;
pub use distribution::{
    ComponentOrigin, DistributionPackage, DistributionReport, IncludedComponent,
};
pub use error::PkgError;
pub use inspect::{
    inspect, inspect_with_verifier, BundleFacts, ComponentFacts, PkgFacts, PkgKind, PkgRefFacts,
    ProductFacts,
};

/// Largest PackageInfo / Distribution accepted; real ones are a few KiB.
pub const MAX_XML_MEMBER: u64 = 16 << 20;

/// True when the last 512 bytes start with the UDIF trailer magic `koly` (a .dmg).
fn looks_like_dmg(path: &Path) -> bool {
    let probe = || -> std::io::Result<bool> {
        let mut file = File::open(path)?;
        let len = file.seek(SeekFrom::End(0))?;
        if len < 512 {
            return Ok(false);
        }
        file.seek(SeekFrom::Start(len - 512))?;
        let mut magic = [0u8; 4];
        file.read_exact(&mut magic)?;
        Ok(&magic == b"koly")
    };
    probe().unwrap_or(false)
}

/// Open a package, turning "not a xar" into a helpful DMG message when it is a disk image.
pub(crate) fn open_package(path: &Path) -> Result<XarReader<BufReader<File>>, PkgError> {
    XarReader::open(path).map_err(|e| {
        if matches!(e.kind, XarErrorKind::BadMagic { .. }) && looks_like_dmg(path) {
            PkgError::Dmg {
                path: path.to_path_buf(),
            }
        } else {
            PkgError::Xar(e)
        }
    })
}

/// Percent-encode a component folder name for a `#name.pkg` pkg-ref target.
pub(crate) fn percent_encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decode `%XX` escapes in a pkg-ref target; malformed escapes are kept literally.
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests;
