//! `java.util.Properties` text format as read by `Properties.load(InputStream)` (Java SE API
//! docs, `Properties.load(Reader)` for the grammar): the stream is ISO-8859-1; a line is a
//! *natural line*; `#` or `!` as first non-blank character starts a comment; the key ends at the
//! first unescaped `=`, `:` or blank (space, tab, form feed); blanks and one `=`/`:` after the key
//! are skipped; `\` escapes: `\t \n \r \f`, `\uXXXX` (UTF-16 code unit), `\` + any other
//! character = that character, `\` at line end = continuation.
//!
//! Minimal escaping on purpose: typical values (URLs, UUIDs, `true`) come out byte-identical, so
//! a reader that is *not* java.util.Properties (a plain `KEY=VALUE` line parser) still sees the
//! right value. [`properties_value_is_plain`] tells whether that holds for a value.

use super::{reject, QuoteError, QuoteTarget, NUL};

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\\' => out.push_str("\\\\"),
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\x0C' => out.push_str("\\f"),
        // Controls, DEL and everything beyond ASCII: `\uXXXX` keeps the file pure ASCII, so
        // Latin-1 decoding cannot garble it; astral characters become a surrogate pair.
        c if !(' '..='~').contains(&c) => {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04X}"));
            }
        }
        c => out.push(c),
    }
}

fn no_nul(v: &str, target: QuoteTarget) -> Result<(), QuoteError> {
    reject(v, target, |c| (c == '\0').then_some(NUL))
}

/// The text after `KEY=` on a properties line. Escapes `\`, tab/LF/CR/FF (as `\t \n \r \f`), a
/// leading space (`\ `, since load skips leading blanks), and every character outside printable
/// ASCII as `\uXXXX`. `= : # !` need no escape in a value and are left alone. Line breaks become
/// escapes; callers wanting to refuse them check [`has_line_break`] first. Rejects NUL.
pub fn java_properties_value(v: &str) -> Result<String, QuoteError> {
    no_nul(v, QuoteTarget::PropertiesValue)?;
    let mut out = String::with_capacity(v.len());
    for (i, c) in v.chars().enumerate() {
        if i == 0 && c == ' ' {
            out.push_str("\\ ");
        } else {
            push_escaped(&mut out, c);
        }
    }
    Ok(out)
}

/// A key at the start of a properties line. Like the value, plus `=`, `:` and spaces escaped
/// everywhere (they would end the key) and `#`/`!` escaped in first position (comment). Rejects
/// the empty key (legal in Java, but always a mistake here) and NUL.
pub fn java_properties_key(k: &str) -> Result<String, QuoteError> {
    let target = QuoteTarget::PropertiesKey;
    if k.is_empty() {
        return Err(QuoteError::whole(target, "key is empty"));
    }
    no_nul(k, target)?;
    let mut out = String::with_capacity(k.len());
    for (i, c) in k.chars().enumerate() {
        match c {
            '=' | ':' | ' ' => {
                out.push('\\');
                out.push(c);
            }
            '#' | '!' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            c => push_escaped(&mut out, c),
        }
    }
    Ok(out)
}

/// True when `v` contains CR or LF (a value that a line-based reader other than
/// java.util.Properties would split).
pub fn has_line_break(v: &str) -> bool {
    v.contains(['\r', '\n'])
}

/// True when [`java_properties_value`] writes `v` unchanged: every reader, escape-aware or not,
/// then sees the same value.
pub fn properties_value_is_plain(v: &str) -> bool {
    java_properties_value(v).is_ok_and(|e| e == v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        let cases = [
            ("", ""),
            (
                "https://h.example:4285/x?a=b#c!",
                "https://h.example:4285/x?a=b#c!",
            ),
            (" lead", "\\ lead"),
            ("  two", "\\  two"),
            ("trail ", "trail "),
            (r"C:\x\", r"C:\\x\\"),
            ("a\tb\nc\rd\x0Ce", "a\\tb\\nc\\rd\\fe"),
            ("é中😀", "\\u00E9\\u4E2D\\uD83D\\uDE00"),
            ("\x01\x7F", "\\u0001\\u007F"),
            ("$(x) `y` 'q' \"z\" 100% &", "$(x) `y` 'q' \"z\" 100% &"),
        ];
        for (v, want) in cases {
            assert_eq!(java_properties_value(v).unwrap(), want, "{v:?}");
        }
        assert!(java_properties_value("\0").is_err());
    }

    #[test]
    fn keys() {
        assert_eq!(
            java_properties_key("DEPLOYMENT_URL").unwrap(),
            "DEPLOYMENT_URL"
        );
        assert_eq!(java_properties_key("a=b:c d").unwrap(), "a\\=b\\:c\\ d");
        assert_eq!(java_properties_key("#x#").unwrap(), "\\#x#");
        assert_eq!(java_properties_key("!x").unwrap(), "\\!x");
        assert_eq!(java_properties_key("\tk").unwrap(), "\\tk");
        assert!(java_properties_key("").is_err());
    }

    #[test]
    fn validators() {
        assert!(has_line_break("a\nb") && has_line_break("a\r") && !has_line_break("a b"));
        assert!(properties_value_is_plain("https://x:1/y"));
        assert!(!properties_value_is_plain("é") && !properties_value_is_plain(" x"));
        assert!(!properties_value_is_plain("a\\b") && !properties_value_is_plain("\0"));
    }
}
