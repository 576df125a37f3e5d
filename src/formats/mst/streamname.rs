//! Compressed stream names, shared by MSI databases and transforms (reference §2).
//!
//! Pairs of characters from a 64-character alphabet are packed into one UTF-16 unit so that
//! table names fit the 31-unit limit of compound-file names.

/// Prefix unit marking a table stream (not used for binary-data streams).
pub const TABLE_PREFIX: char = '\u{4840}';
/// Longest encoded name Windows Installer accepts (Wine `MAX_STREAM_NAME`), prefix included.
pub const MAX_ENCODED_UNITS: usize = 31;

fn six_bits(c: char) -> Option<u32> {
    match c {
        '0'..='9' => Some(c as u32 - '0' as u32),
        'A'..='Z' => Some(c as u32 - 'A' as u32 + 10),
        'a'..='z' => Some(c as u32 - 'a' as u32 + 36),
        '.' => Some(62),
        '_' => Some(63),
        _ => None,
    }
}

fn from_six_bits(v: u32) -> char {
    match v {
        0..=9 => char::from(b'0' + v as u8),
        10..=35 => char::from(b'A' + (v - 10) as u8),
        36..=61 => char::from(b'a' + (v - 36) as u8),
        62 => '.',
        _ => '_',
    }
}

fn unit(v: u32) -> char {
    // Every value produced here lies in 0x3800..=0x483F, which are valid scalar values.
    char::from_u32(v).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// Encode `name`; table streams get the 0x4840 prefix.
pub fn encode(name: &str, table: bool) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    if table {
        out.push(TABLE_PREFIX);
    }
    let mut i = 0;
    while i < chars.len() {
        match six_bits(chars[i]) {
            Some(low) => match chars.get(i + 1).copied().and_then(six_bits) {
                Some(high) => {
                    out.push(unit(0x3800 + (high << 6) + low));
                    i += 2;
                }
                None => {
                    out.push(unit(0x4800 + low));
                    i += 1;
                }
            },
            None => {
                out.push(chars[i]);
                i += 1;
            }
        }
    }
    out
}

/// Decode a stored name: (plain name, whether it carried the table prefix).
pub fn decode(encoded: &str) -> (String, bool) {
    let mut out = String::new();
    let mut table = false;
    for (i, c) in encoded.chars().enumerate() {
        let u = c as u32;
        if i == 0 && c == TABLE_PREFIX {
            table = true;
        } else if (0x3800..0x4800).contains(&u) {
            let v = u - 0x3800;
            out.push(from_six_bits(v & 0x3F));
            out.push(from_six_bits((v >> 6) & 0x3F));
        } else if (0x4800..0x4840).contains(&u) {
            out.push(from_six_bits(u - 0x4800));
        } else {
            out.push(c);
        }
    }
    (out, table)
}

/// Encode and check the limits of Windows Installer and of compound files.
pub fn encode_checked(name: &str, table: bool) -> Result<String, String> {
    if name.is_empty() {
        return Err("an empty stream name".into());
    }
    if let Some(c) = name.chars().find(|c| matches!(c, '/' | '\\' | ':' | '!')) {
        return Err(format!(
            "stream name {name:?} contains {c:?}, which compound files forbid"
        ));
    }
    let encoded = encode(name, table);
    let units = encoded.encode_utf16().count();
    if units > MAX_ENCODED_UNITS {
        return Err(format!(
            "stream name {name:?} encodes to {units} UTF-16 units (at most {MAX_ENCODED_UNITS})"
        ));
    }
    Ok(encoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    #[test]
    fn property_matches_reference() {
        assert_eq!(
            units(&encode("Property", true)),
            [0x4840, 0x4559, 0x44F2, 0x4568, 0x4737]
        );
    }

    #[test]
    fn string_pool_and_data_match_reference() {
        assert_eq!(
            units(&encode("_StringPool", true)),
            [0x4840, 0x3F3F, 0x4577, 0x446C, 0x3E6A, 0x44B2, 0x482F]
        );
        assert_eq!(
            units(&encode("_StringData", true)),
            [0x4840, 0x3F3F, 0x4577, 0x446C, 0x3B6A, 0x45E4, 0x4824]
        );
        assert_eq!(
            units(&encode("_Tables", true)),
            [0x4840, 0x3F7F, 0x4164, 0x422F, 0x4836]
        );
        assert_eq!(
            units(&encode("_Columns", true)),
            [0x4840, 0x3B3F, 0x43F2, 0x4438, 0x45B1]
        );
    }

    #[test]
    fn binary_stream_has_no_prefix() {
        assert_eq!(
            units(&encode("BINARY.1", false)),
            [0x3C8B, 0x3A97, 0x409B, 0x387E]
        );
    }

    #[test]
    fn decode_inverts_encode() {
        for (name, table) in [
            ("Property", true),
            ("_StringPool", true),
            ("Binary.MyBlob", false),
            ("odd", true),
            ("a-b c", false),
            ("X", false),
        ] {
            assert_eq!(decode(&encode(name, table)), (name.to_string(), table));
        }
        assert_eq!(
            decode("\u{5}SummaryInformation").0,
            "\u{5}SummaryInformation"
        );
    }

    #[test]
    fn limits_are_enforced() {
        assert!(encode_checked(&"A".repeat(60), true).is_ok());
        assert!(encode_checked(&"A".repeat(61), true).is_err());
        assert!(encode_checked("Binary.a/b", false).is_err());
        assert!(encode_checked("", false).is_err());
    }
}
