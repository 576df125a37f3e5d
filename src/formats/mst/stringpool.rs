//! String pools (`_StringPool` + `_StringData`, reference §3) and codepage-exact text encoding.

use super::error::{ErrorKind, MstError};
use std::collections::HashMap;

/// Bit 31 of the pool header: string references are 3 bytes wide.
const LONG_REFS_BIT: u32 = 0x8000_0000;
/// Strings from this length on need a two-slot pool entry.
const LONG_STRING: usize = 0x1_0000;
/// Most IDs that 2-byte references can address.
const MAX_SHORT_ID: usize = 0xFFFF;

/// Encodes and decodes text in one Windows codepage, refusing anything lossy.
#[derive(Debug, Clone)]
pub(crate) struct Codec {
    id: u32,
    /// None for codepage 0 (neutral), which allows ASCII only.
    codepage: Option<msi::CodePage>,
}

impl Codec {
    pub(crate) fn new(id: u32) -> Result<Self, MstError> {
        if id == 0 {
            return Ok(Codec { id, codepage: None });
        }
        let codepage = i32::try_from(id)
            .ok()
            .and_then(msi::CodePage::from_id)
            .ok_or_else(|| {
                MstError::new(ErrorKind::Unencodable, format!("unsupported codepage {id}"))
            })?;
        Ok(Codec {
            id,
            codepage: Some(codepage),
        })
    }

    pub(crate) fn id(&self) -> u32 {
        self.id
    }

    /// Encode exactly; a character the codepage lacks is an error, never a '?'.
    pub(crate) fn encode(&self, text: &str) -> Result<Vec<u8>, MstError> {
        let fail = || {
            let bad: String = text
                .chars()
                .filter(|c| match &self.codepage {
                    None => !c.is_ascii(),
                    Some(cp) => cp.decode(&cp.encode(&c.to_string())) != c.to_string(),
                })
                .collect();
            let what = if self.id == 0 {
                "codepage 0 (neutral, ASCII only)".to_string()
            } else {
                format!("codepage {}", self.id)
            };
            MstError::new(
                ErrorKind::Unencodable,
                format!("{text:?} cannot be stored in {what}: {bad:?} not representable"),
            )
        };
        match &self.codepage {
            None if text.is_ascii() => Ok(text.as_bytes().to_vec()),
            None => Err(fail()),
            Some(cp) => {
                let bytes = cp.encode(text);
                if cp.decode(&bytes) == text {
                    Ok(bytes)
                } else {
                    Err(fail())
                }
            }
        }
    }

    /// Decode for display and comparison (invalid bytes become U+FFFD).
    pub(crate) fn decode(&self, bytes: &[u8]) -> String {
        match &self.codepage {
            Some(cp) => cp.decode(bytes),
            None => String::from_utf8_lossy(bytes).into_owned(),
        }
    }
}

/// Collects the strings of a transform in first-use order, counting references.
#[derive(Debug, Default)]
pub(crate) struct PoolBuilder {
    ids: HashMap<String, u32>,
    entries: Vec<(String, u32)>,
}

impl PoolBuilder {
    /// The ID of `text` (0 for the empty string = NULL), counting one reference.
    pub(crate) fn intern(&mut self, text: &str) -> u32 {
        if text.is_empty() {
            return 0;
        }
        if let Some(&id) = self.ids.get(text) {
            self.entries[id as usize - 1].1 += 1;
            return id;
        }
        self.entries.push((text.to_string(), 1));
        let id = self.entries.len() as u32;
        self.ids.insert(text.to_string(), id);
        id
    }

    /// Whether references must be 3 bytes (more IDs than 2 bytes address).
    pub(crate) fn long_refs(&self) -> bool {
        self.entries.len() > MAX_SHORT_ID
    }

    /// Serialize to (`_StringPool`, `_StringData`) bytes.
    pub(crate) fn build(&self, codec: &Codec) -> Result<(Vec<u8>, Vec<u8>), MstError> {
        let header = codec.id() | if self.long_refs() { LONG_REFS_BIT } else { 0 };
        let mut pool = header.to_le_bytes().to_vec();
        let mut data = Vec::new();
        for (text, refs) in &self.entries {
            let bytes = codec.encode(text)?;
            // The refcount field is 16 bits; Wine ignores it, so saturate rather than fail.
            let refs = (*refs).min(0xFFFF) as u16;
            if bytes.len() >= LONG_STRING {
                let len = u32::try_from(bytes.len())
                    .map_err(|_| MstError::invalid("a string longer than 4 GiB"))?;
                for word in [0, refs, len as u16, (len >> 16) as u16] {
                    pool.extend_from_slice(&word.to_le_bytes());
                }
            } else {
                pool.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
                pool.extend_from_slice(&refs.to_le_bytes());
            }
            data.extend_from_slice(&bytes);
        }
        Ok((pool, data))
    }
}

/// A decoded pool: raw bytes per ID, as a reader needs them.
#[derive(Debug, Clone)]
pub(crate) struct Pool {
    pub(crate) codepage: u32,
    pub(crate) long_refs: bool,
    /// Index = string ID; entry 0 (NULL) and unused slots are None.
    strings: Vec<Option<(Vec<u8>, u16)>>,
}

impl Pool {
    pub(crate) fn parse(pool: &[u8], data: &[u8]) -> Result<Pool, String> {
        if pool.len() < 4 || !pool.len().is_multiple_of(4) {
            return Err(format!(
                "_StringPool is {} bytes, not a multiple of 4",
                pool.len()
            ));
        }
        let word = |i: usize| u16::from_le_bytes([pool[2 * i], pool[2 * i + 1]]);
        let header = u32::from_le_bytes([pool[0], pool[1], pool[2], pool[3]]);
        let slots = pool.len() / 4;
        let mut strings = vec![None];
        let mut offset = 0usize;
        let mut slot = 1;
        while slot < slots {
            let (len, refs) = (usize::from(word(2 * slot)), word(2 * slot + 1));
            if len == 0 && refs == 0 {
                strings.push(None);
                slot += 1;
                continue;
            }
            let len = if len == 0 {
                // Long string: the next slot holds the 32-bit length, low word first.
                if slot + 1 >= slots {
                    return Err("_StringPool ends inside a long-string entry".into());
                }
                let len = usize::from(word(2 * slot + 2)) | usize::from(word(2 * slot + 3)) << 16;
                slot += 2;
                len
            } else {
                slot += 1;
                len
            };
            let bytes = data.get(offset..offset + len).ok_or_else(|| {
                format!(
                    "_StringData is {} bytes but the pool needs more (string {})",
                    data.len(),
                    strings.len()
                )
            })?;
            strings.push(Some((bytes.to_vec(), refs)));
            offset += len;
        }
        Ok(Pool {
            codepage: header & !LONG_REFS_BIT,
            long_refs: header & LONG_REFS_BIT != 0,
            strings,
        })
    }

    /// The bytes of string `id`; None for NULL, an unused slot or an ID out of range.
    pub(crate) fn bytes(&self, id: u32) -> Option<&[u8]> {
        self.strings
            .get(id as usize)
            .and_then(|s| s.as_ref())
            .map(|(b, _)| b.as_slice())
    }

    #[cfg(test)]
    pub(crate) fn refcount(&self, id: u32) -> Option<u16> {
        self.strings
            .get(id as usize)
            .and_then(|s| s.as_ref())
            .map(|(_, r)| *r)
    }

    /// Number of IDs including 0.
    pub(crate) fn len(&self) -> usize {
        self.strings.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_example_pool_and_data() {
        let mut b = PoolBuilder::default();
        for s in ["SERVERNAME", "corp.example.com", "EXTRAPROP", "hello"] {
            b.intern(s);
        }
        let (pool, data) = b.build(&Codec::new(1252).unwrap()).unwrap();
        assert_eq!(
            pool,
            [0xE4, 0x04, 0, 0, 0x0A, 0, 1, 0, 0x10, 0, 1, 0, 0x09, 0, 1, 0, 0x05, 0, 1, 0]
        );
        assert_eq!(data, b"SERVERNAMEcorp.example.comEXTRAPROPhello");
    }

    #[test]
    fn empty_is_null_and_refcounts_count() {
        let mut b = PoolBuilder::default();
        assert_eq!(b.intern(""), 0);
        assert_eq!(b.intern("a"), 1);
        assert_eq!(b.intern("b"), 2);
        assert_eq!(b.intern("a"), 1);
        let (pool, data) = b.build(&Codec::new(0).unwrap()).unwrap();
        let parsed = Pool::parse(&pool, &data).unwrap();
        assert_eq!(parsed.refcount(1), Some(2));
        assert_eq!(parsed.bytes(2), Some(&b"b"[..]));
        assert_eq!(parsed.bytes(0), None);
        assert_eq!(parsed.bytes(3), None);
    }

    #[test]
    fn long_string_takes_two_slots_one_id() {
        let long = "x".repeat(70_000);
        let mut b = PoolBuilder::default();
        b.intern("before");
        b.intern(&long);
        b.intern("after");
        let (pool, data) = b.build(&Codec::new(1252).unwrap()).unwrap();
        // header + 1 + 2 + 1 slots
        assert_eq!(pool.len(), 4 * 5);
        assert_eq!(&pool[8..16], &[0, 0, 1, 0, 0x70, 0x11, 0x01, 0x00]);
        let parsed = Pool::parse(&pool, &data).unwrap();
        assert_eq!(parsed.bytes(2).map(<[u8]>::len), Some(70_000));
        assert_eq!(parsed.bytes(3), Some(&b"after"[..]));
    }

    #[test]
    fn three_byte_references_when_ids_overflow() {
        let mut b = PoolBuilder::default();
        for i in 0..0x1_0000 {
            b.intern(&format!("s{i}"));
        }
        assert!(b.long_refs());
        let (pool, data) = b.build(&Codec::new(65001).unwrap()).unwrap();
        assert_eq!(&pool[..4], &[0xE9, 0xFD, 0x00, 0x80]);
        let parsed = Pool::parse(&pool, &data).unwrap();
        assert!(parsed.long_refs);
        assert_eq!(parsed.codepage, 65001);
        assert_eq!(parsed.bytes(0x1_0000), Some(&b"s65535"[..]));
    }

    #[test]
    fn codec_refuses_lossy_text() {
        let cp1252 = Codec::new(1252).unwrap();
        assert_eq!(cp1252.encode("Grüße").unwrap(), b"Gr\xFC\xDFe");
        let err = cp1252.encode("Привет").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unencodable);
        assert!(err.to_string().contains("1252"), "{err}");
        assert!(Codec::new(0).unwrap().encode("é").is_err());
        assert!(Codec::new(0).unwrap().encode("plain").is_ok());
        assert!(Codec::new(12345).is_err());
    }

    #[test]
    fn truncated_pool_is_an_error_not_a_panic() {
        assert!(Pool::parse(&[0xE4, 0x04, 0, 0, 5, 0, 1, 0], b"abc").is_err());
        assert!(Pool::parse(&[0xE4, 0x04, 0], b"").is_err());
        assert!(Pool::parse(&[0xE4, 0x04, 0, 0, 0, 0, 1, 0], b"").is_err());
    }
}
