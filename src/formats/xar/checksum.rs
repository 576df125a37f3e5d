//! Checksum algorithms named by the xar header and by `style` attributes in the TOC.

use sha1::Digest;

/// A checksum algorithm as xar names it. MD5 is recognised but cannot be verified here
/// (no MD5 implementation is linked); such checksums are skipped, never trusted blindly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChecksumAlg {
    None,
    Sha1,
    Md5,
    Sha256,
    Sha512,
}

impl ChecksumAlg {
    /// Algorithm id in the 28-byte (Apple) header: 0 none, 1 SHA-1, 2 MD5, 3 SHA-256, 4 SHA-512.
    pub fn from_header_id(id: u32) -> Option<Self> {
        match id {
            0 => Some(ChecksumAlg::None),
            1 => Some(ChecksumAlg::Sha1),
            2 => Some(ChecksumAlg::Md5),
            3 => Some(ChecksumAlg::Sha256),
            4 => Some(ChecksumAlg::Sha512),
            _ => None,
        }
    }

    /// Algorithm from a TOC `style` attribute (case-insensitive).
    pub fn from_style(style: &str) -> Option<Self> {
        match style.to_ascii_lowercase().as_str() {
            "none" => Some(ChecksumAlg::None),
            "sha1" => Some(ChecksumAlg::Sha1),
            "md5" => Some(ChecksumAlg::Md5),
            "sha256" => Some(ChecksumAlg::Sha256),
            "sha512" => Some(ChecksumAlg::Sha512),
            _ => None,
        }
    }

    /// The TOC `style` spelling.
    pub fn style(self) -> &'static str {
        match self {
            ChecksumAlg::None => "none",
            ChecksumAlg::Sha1 => "sha1",
            ChecksumAlg::Md5 => "md5",
            ChecksumAlg::Sha256 => "sha256",
            ChecksumAlg::Sha512 => "sha512",
        }
    }

    /// Digest length in bytes (0 for none).
    pub fn digest_len(self) -> u64 {
        match self {
            ChecksumAlg::None => 0,
            ChecksumAlg::Sha1 => 20,
            ChecksumAlg::Md5 => 16,
            ChecksumAlg::Sha256 => 32,
            ChecksumAlg::Sha512 => 64,
        }
    }
}

/// An incremental hasher for the algorithms this crate can verify.
pub(crate) enum Hasher {
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Hasher {
    /// None for algorithms that cannot be computed here (none, MD5).
    pub(crate) fn new(alg: ChecksumAlg) -> Option<Self> {
        match alg {
            ChecksumAlg::Sha1 => Some(Hasher::Sha1(sha1::Sha1::new())),
            ChecksumAlg::Sha256 => Some(Hasher::Sha256(sha2::Sha256::new())),
            ChecksumAlg::Sha512 => Some(Hasher::Sha512(sha2::Sha512::new())),
            ChecksumAlg::None | ChecksumAlg::Md5 => None,
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    pub(crate) fn finalize(self) -> Vec<u8> {
        match self {
            Hasher::Sha1(h) => h.finalize().to_vec(),
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Sha512(h) => h.finalize().to_vec(),
        }
    }
}

/// SHA-1 of `data`.
pub(crate) fn sha1(data: &[u8]) -> Vec<u8> {
    sha1::Sha1::digest(data).to_vec()
}

/// Lowercase hex, as xar writes member checksums.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_of_abc() {
        assert_eq!(
            hex(&sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }

    #[test]
    fn header_ids_and_styles() {
        assert_eq!(ChecksumAlg::from_header_id(1), Some(ChecksumAlg::Sha1));
        assert_eq!(ChecksumAlg::from_header_id(9), None);
        assert_eq!(ChecksumAlg::from_style("SHA1"), Some(ChecksumAlg::Sha1));
        assert_eq!(ChecksumAlg::Sha256.digest_len(), 32);
    }
}
