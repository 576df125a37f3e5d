//! The fixed xar header: magic, sizes and the checksum algorithm, all big-endian.

use super::checksum::ChecksumAlg;

pub const MAGIC: [u8; 4] = *b"xar!";
/// Size of the header this crate writes (Apple's layout).
pub const HEADER_SIZE: u16 = 28;

/// The parsed header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XarHeader {
    pub header_size: u16,
    pub version: u16,
    pub toc_length_compressed: u64,
    pub toc_length_uncompressed: u64,
    pub checksum_alg: ChecksumAlg,
}

impl XarHeader {
    /// A version-1, 28-byte header with SHA-1 checksums.
    pub fn sha1(toc_length_compressed: u64, toc_length_uncompressed: u64) -> Self {
        XarHeader {
            header_size: HEADER_SIZE,
            version: 1,
            toc_length_compressed,
            toc_length_uncompressed,
            checksum_alg: ChecksumAlg::Sha1,
        }
    }

    /// The 28 header bytes. Only meaningful for 28-byte headers with a numbered algorithm.
    pub fn to_bytes(&self) -> [u8; 28] {
        let alg: u32 = match self.checksum_alg {
            ChecksumAlg::None => 0,
            ChecksumAlg::Sha1 => 1,
            ChecksumAlg::Md5 => 2,
            ChecksumAlg::Sha256 => 3,
            ChecksumAlg::Sha512 => 4,
        };
        let mut out = [0u8; 28];
        out[0..4].copy_from_slice(&MAGIC);
        out[4..6].copy_from_slice(&HEADER_SIZE.to_be_bytes());
        out[6..8].copy_from_slice(&self.version.to_be_bytes());
        out[8..16].copy_from_slice(&self.toc_length_compressed.to_be_bytes());
        out[16..24].copy_from_slice(&self.toc_length_uncompressed.to_be_bytes());
        out[24..28].copy_from_slice(&alg.to_be_bytes());
        out
    }

    /// Parse the first 28 bytes plus, for header sizes above 28, the extension bytes.
    /// The open-source xar variant uses id 3 with a NUL-terminated algorithm name in the
    /// extension; Apple's uses 3 for SHA-256 with a 28-byte header.
    pub fn parse(fixed: &[u8; 28], extension: &[u8]) -> Result<Self, String> {
        let u16_at = |i: usize| u16::from_be_bytes([fixed[i], fixed[i + 1]]);
        let u64_at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&fixed[i..i + 8]);
            u64::from_be_bytes(b)
        };
        let header_size = u16_at(4);
        if header_size < HEADER_SIZE {
            return Err(format!(
                "header size {header_size} is below the minimum of 28"
            ));
        }
        let alg_id = u32::from_be_bytes([fixed[24], fixed[25], fixed[26], fixed[27]]);
        let named = || {
            let end = extension
                .iter()
                .position(|b| *b == 0)
                .unwrap_or(extension.len());
            let name = String::from_utf8_lossy(&extension[..end]).into_owned();
            ChecksumAlg::from_style(&name).ok_or(format!("unknown checksum algorithm {name:?}"))
        };
        let checksum_alg = match alg_id {
            3 if header_size > HEADER_SIZE => named()?,
            id => ChecksumAlg::from_header_id(id)
                .ok_or(format!("unknown checksum algorithm id {id}"))?,
        };
        Ok(XarHeader {
            header_size,
            version: u16_at(6),
            toc_length_compressed: u64_at(8),
            toc_length_uncompressed: u64_at(16),
            checksum_alg,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_big_endian() {
        let bytes = XarHeader::sha1(0x0102, 0x0304).to_bytes();
        assert_eq!(
            bytes,
            [
                b'x', b'a', b'r', b'!', 0, 28, 0, 1, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 3,
                4, 0, 0, 0, 1
            ]
        );
        assert_eq!(
            XarHeader::parse(&bytes, &[]).unwrap(),
            XarHeader::sha1(0x0102, 0x0304)
        );
    }

    #[test]
    fn named_algorithm_in_extended_header() {
        let mut bytes = XarHeader::sha1(1, 1).to_bytes();
        bytes[5] = 64;
        bytes[27] = 3;
        let h = XarHeader::parse(&bytes, b"sha256\0\0").unwrap();
        assert_eq!(h.checksum_alg, ChecksumAlg::Sha256);
        assert!(XarHeader::parse(&bytes, b"crc99\0").is_err());
        bytes[5] = 20;
        assert!(XarHeader::parse(&bytes, &[]).is_err());
    }
}
