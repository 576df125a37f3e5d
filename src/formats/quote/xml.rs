//! XML 1.0 (Fifth Edition) escaping.
//!
//! * §2.2 `Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]`:
//!   anything else cannot appear even as a character reference, so it is rejected.
//! * §2.4: `&` and `<` must be escaped; `>` is escaped too (`]]>`), and `"`/`'` so one function is
//!   safe in either attribute quote style.
//! * §2.11: parsers turn CR LF and lone CR into LF, so CR is written `&#13;` to survive.
//! * §3.3.3: attribute-value normalisation turns literal tab, LF and CR into spaces, so in
//!   attributes they are written `&#9;` `&#10;` `&#13;`.

use super::{reject, QuoteError, QuoteTarget};

/// Whether `c` may appear in an XML 1.0 document (production `Char`).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn escape(v: &str, target: QuoteTarget) -> Result<String, QuoteError> {
    reject(v, target, |c| {
        (!is_xml_char(c)).then_some("not allowed in XML 1.0, not even as a character reference")
    })?;
    let attr = target == QuoteTarget::XmlAttr;
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\n' if attr => out.push_str("&#10;"),
            '\t' if attr => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Character data for element content.
pub fn xml_text(v: &str) -> Result<String, QuoteError> {
    escape(v, QuoteTarget::XmlText)
}

/// An attribute value, to be placed between `"…"` or `'…'` by the caller.
pub fn xml_attr(v: &str) -> Result<String, QuoteError> {
    escape(v, QuoteTarget::XmlAttr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases() {
        let v = "a&b<c>d\"e'f";
        assert_eq!(xml_text(v).unwrap(), "a&amp;b&lt;c&gt;d&quot;e&apos;f");
        assert_eq!(xml_attr(v).unwrap(), "a&amp;b&lt;c&gt;d&quot;e&apos;f");
        assert_eq!(xml_text("x\ty\nz\r").unwrap(), "x\ty\nz&#13;");
        assert_eq!(xml_attr("x\ty\nz\r").unwrap(), "x&#9;y&#10;z&#13;");
        assert_eq!(xml_text("]]>").unwrap(), "]]&gt;");
        assert_eq!(
            xml_text("$(x) `y` 100% é中😀").unwrap(),
            "$(x) `y` 100% é中😀"
        );
        assert_eq!(xml_text("").unwrap(), "");
    }

    #[test]
    fn rejects_non_chars() {
        for c in [
            '\0', '\x01', '\x08', '\x0B', '\x0C', '\x1F', '\u{FFFE}', '\u{FFFF}',
        ] {
            let v = format!("ok{c}");
            assert_eq!(xml_text(&v).unwrap_err().position(), Some(2));
            assert_eq!(xml_attr(&v).unwrap_err().character(), Some(c));
        }
        assert!(xml_text("\u{7F}\u{85}\u{FFFD}\u{10FFFF}").is_ok());
    }
}
