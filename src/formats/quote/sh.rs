//! POSIX sh single quotes (POSIX.1-2017 XCU 2.2.2 "Single-Quotes"): every character between
//! single quotes is literal, including newlines, `$`, backticks and `\`; a single quote cannot
//! appear inside, so it is written as `'\''` (close, escaped quote, reopen).

use super::{reject, QuoteError, QuoteTarget, NUL};

/// A POSIX sh word that expands to exactly `v`: `'…'` with each `'` written `'\''`.
/// Works for any UTF-8 text including newlines; only NUL is rejected (argv and shell variables are
/// C strings).
pub fn sh_single(v: &str) -> Result<String, QuoteError> {
    reject(v, QuoteTarget::Sh, |c| (c == '\0').then_some(NUL))?;
    let mut out = String::with_capacity(v.len() + 2);
    out.push('\'');
    for c in v.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases() {
        let cases = [
            ("", "''"),
            ("plain", "'plain'"),
            ("it's", r"'it'\''s'"),
            ("'", r"''\'''"),
            (
                "$(rm -rf /) `id` $HOME \\ \"",
                "'$(rm -rf /) `id` $HOME \\ \"'",
            ),
            ("a\nb\tc", "'a\nb\tc'"),
            ("100% & é中😀", "'100% & é中😀'"),
        ];
        for (v, want) in cases {
            assert_eq!(sh_single(v).unwrap(), want, "{v:?}");
        }
        assert_eq!(sh_single("a\0").unwrap_err().character(), Some('\0'));
    }
}
