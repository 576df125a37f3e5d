//! YAML double-quoted scalars (YAML 1.2 §5.1 "Character Set", §5.7 "Escaped Characters").
//!
//! Every character outside the set libyaml accepts unescaped is written as an escape: C0 and C1
//! controls, DEL, the byte order mark and the noncharacters U+FFFE and U+FFFF. JSON's
//! quoting is not enough: it leaves DEL, C1 controls and U+FFFF raw, which YAML refuses.

use std::fmt::Write;

/// Written as itself inside a double-quoted YAML scalar.
fn plain(c: char) -> bool {
    matches!(c, ' '..='~') && c != '"' && c != '\\'
        || matches!(c, '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
            && c != '\u{FEFF}'
}

/// `value` as a double-quoted YAML scalar that reads back as exactly `value`.
pub fn yaml_double_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if plain(c) => out.push(c),
            c if (c as u32) <= 0xFF => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c if (c as u32) <= 0xFFFF => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08X}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_character_reads_back() {
        let hostile = "a\"b\\c\nd\te\u{0}\u{7F}\u{85}\u{9F}\u{FEFF}\u{FFFE}\u{FFFF}\u{AFB70}😀é中 $(x) `y` &'";
        let q = yaml_double_quoted(hostile);
        assert!(
            q.contains('é') && q.contains('😀') && q.contains("\\uFFFF"),
            "{q}"
        );
        assert!(!q.contains('\u{FFFF}') && !q.contains('\u{7F}') && !q.contains('\n'));
        let back: String = serde_norway::from_str(&q).expect("valid YAML");
        assert_eq!(back, hostile);
        assert_eq!(yaml_double_quoted("acme-prod"), "\"acme-prod\"");
    }
}
