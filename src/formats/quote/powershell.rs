//! PowerShell verbatim (single-quoted) strings, per the PowerShell Language Specification 3.0
//! §2.3.5.2 "String literals": a `single-quote-character` is U+0027 or any of U+2018, U+2019,
//! U+201A, U+201B; inside a verbatim string two quote characters in a row stand for one and
//! nothing else is special (no `$`, no backtick escapes, newlines allowed).
//!
//! Encoding hazard: Windows PowerShell 5.1 reads a `.ps1` *without BOM* in the ANSI code page.
//! In cp1252 the bytes 0x91/0x92/0x82 are ‘ ’ ‚, which PowerShell treats as quotes, and they
//! occur as UTF-8 continuation bytes (e.g. U+0111 is C4 91). A UTF-8 script without BOM can
//! therefore be re-tokenised with quotes the escaper never saw. Write `.ps1` files as UTF-8 *with*
//! BOM, or use [`powershell_ascii`], whose output is pure ASCII.

use super::{reject, QuoteError, QuoteTarget, NUL};

/// The characters PowerShell treats as single quotes.
pub const POWERSHELL_QUOTES: [char; 5] = ['\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'];

fn no_nul(v: &str) -> Result<(), QuoteError> {
    reject(v, QuoteTarget::PowerShell, |c| (c == '\0').then_some(NUL))
}

fn push_verbatim(out: &mut String, v: &str) {
    out.push('\'');
    for c in v.chars() {
        if POWERSHELL_QUOTES.contains(&c) {
            // Double with the same character so the result is right whichever one of the pair
            // the tokenizer keeps.
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
}

/// A PowerShell single-quoted string literal for `v`: `'…'` with every quote character (ASCII
/// `'` and U+2018–U+201B) doubled. Rejects NUL.
pub fn powershell_single(v: &str) -> Result<String, QuoteError> {
    no_nul(v)?;
    let mut out = String::with_capacity(v.len() + 2);
    push_verbatim(&mut out, v);
    Ok(out)
}

/// An ASCII-only PowerShell *expression* for `v`, immune to the script's file encoding.
/// Printable ASCII (U+0020–U+007E) goes into single-quoted pieces; every other UTF-16 code unit
/// is appended as `[char]0xXXXX`:
/// `('caf'+[char]0x00E9)`. Pure printable ASCII gives a plain literal `'…'`. The expression
/// always starts with a string so `+` concatenates. Rejects NUL.
pub fn powershell_ascii(v: &str) -> Result<String, QuoteError> {
    no_nul(v)?;
    if v.chars().all(|c| (' '..='~').contains(&c)) {
        return powershell_single(v);
    }
    let mut out = String::from("(");
    let mut run = String::new();
    let mut first = true;
    for c in v.chars() {
        if (' '..='~').contains(&c) {
            run.push(c);
            continue;
        }
        if first || !run.is_empty() {
            if !first {
                out.push('+');
            }
            push_verbatim(&mut out, &run);
            run.clear();
            first = false;
        }
        let mut units = [0u16; 2];
        for u in c.encode_utf16(&mut units) {
            out.push_str(&format!("+[char]0x{u:04X}"));
        }
    }
    if !run.is_empty() {
        out.push('+');
        push_verbatim(&mut out, &run);
    }
    out.push(')');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_cases() {
        let cases = [
            ("", "''"),
            ("it's", "'it''s'"),
            ("\u{2018}x\u{2019}", "'\u{2018}\u{2018}x\u{2019}\u{2019}'"),
            ("\u{201A}\u{201B}", "'\u{201A}\u{201A}\u{201B}\u{201B}'"),
            ("$env:PATH `n $(calc) \"q\"", "'$env:PATH `n $(calc) \"q\"'"),
            ("a\r\nb\tc", "'a\r\nb\tc'"),
            ("100% & é中😀", "'100% & é中😀'"),
        ];
        for (v, want) in cases {
            assert_eq!(powershell_single(v).unwrap(), want, "{v:?}");
        }
        assert!(powershell_single("\0").is_err());
    }

    #[test]
    fn ascii_cases() {
        let cases = [
            ("", "''"),
            ("it's", "'it''s'"),
            ("café", "('caf'+[char]0x00E9)"),
            ("é", "(''+[char]0x00E9)"),
            ("a\nb", "('a'+[char]0x000A+'b')"),
            ("😀'", "(''+[char]0xD83D+[char]0xDE00+'''')"),
            ("\u{2019}", "(''+[char]0x2019)"),
        ];
        for (v, want) in cases {
            let got = powershell_ascii(v).unwrap();
            assert_eq!(got, want, "{v:?}");
            assert!(got.is_ascii());
        }
    }
}
