//! cmd.exe quoting for `.cmd`/`.bat` files and command lines that cmd.exe parses.
//!
//! Rules (cmd.exe parser, "cmd /?" and the well-known batch parsing phases):
//! * Phase 1, percent expansion, runs before quotes are looked at: `%NAME%` expands even inside
//!   `"..."`. In a batch file `%%` yields a literal `%`; on an interactive/`cmd /c` line there is
//!   no escape at all.
//! * Inside double quotes `& | < > ^ ( )` are literal; outside they are operators or escapes.
//! * A `"` toggles the quote state; there is no way to put a literal `"` inside a quoted string.
//! * `!NAME!` expands only with delayed expansion on (`setlocal EnableDelayedExpansion`,
//!   `cmd /V:ON`, or the DelayedExpansion registry value); it is off by default, so `!` is left as
//!   is. Scripts using these functions must not enable delayed expansion.
//! * CR/LF end the command; NUL truncates it.
//!
//! Non-ASCII text is read in the console code page; the script writer must pick the file
//! encoding and `chcp` accordingly (not a quoting matter).

use super::{reject, QuoteError, QuoteTarget, LINE_BREAK, NUL};

fn control(c: char) -> Option<&'static str> {
    match c {
        '\0' => Some(NUL),
        '\r' | '\n' => Some(LINE_BREAK),
        c if c.is_ascii_control() && c != '\t' => {
            Some("control characters have no reliable meaning in cmd.exe")
        }
        _ => None,
    }
}

/// Text to place inside a double-quoted argument of a batch file that the template writes, e.g.
/// `set "URL={{ v | cmd }}"` or `echo "{{ v | cmd }}"`. Returns the text *without* the quotes.
///
/// `%` becomes `%%`; `"` is rejected (it would end the quoted region and cannot be escaped);
/// CR, LF, NUL and other C0 controls except tab are rejected. Do not use inside a `for %%x`
/// body, where `%%x` means the loop variable.
pub fn cmd_batch(v: &str) -> Result<String, QuoteError> {
    reject(v, QuoteTarget::CmdBatch, |c| {
        if c == '"' {
            Some("a double quote cannot be escaped inside a quoted cmd.exe string")
        } else {
            control(c)
        }
    })?;
    Ok(v.replace('%', "%%"))
}

/// Like [`cmd_batch`] for text inside a double-quoted argument of a line that cmd.exe runs
/// directly (`cmd /c`, a ConfigMgr command line), not from a batch file: `%` has no escape there,
/// so it is rejected along with `"` and control characters. Returns the text without quotes.
pub fn cmd_line_text(v: &str) -> Result<String, QuoteError> {
    reject(v, QuoteTarget::CmdBatch, |c| match c {
        '"' => Some("a double quote cannot be escaped inside a quoted cmd.exe string"),
        '%' => Some(PERCENT_ON_LINE),
        c => control(c),
    })?;
    Ok(v.to_owned())
}

const PERCENT_ON_LINE: &str =
    "cmd.exe expands %NAME% on a command line even inside quotes and offers no escape";

#[derive(Clone, Copy)]
enum Percent {
    Double,
    Reject,
}

/// Check an already-quoted token (such as the output of `msiexec_property`) for cmd.exe.
fn token(t: &str, percent: Percent) -> Result<String, QuoteError> {
    let target = QuoteTarget::CmdToken;
    let mut out = String::with_capacity(t.len());
    let mut quoted = false;
    let mut opened_at = 0;
    for (pos, c) in t.chars().enumerate() {
        if let Some(reason) = control(c) {
            return Err(QuoteError::char(target, c, pos, reason));
        }
        match c {
            '"' => {
                quoted = !quoted;
                opened_at = pos;
            }
            '%' => match percent {
                Percent::Double => out.push('%'),
                Percent::Reject => return Err(QuoteError::char(target, c, pos, PERCENT_ON_LINE)),
            },
            '&' | '|' | '<' | '>' | '^' | '(' | ')' if !quoted => {
                return Err(QuoteError::char(
                    target,
                    c,
                    pos,
                    "a cmd.exe metacharacter outside double quotes",
                ))
            }
            c if c.is_whitespace() && !quoted => {
                return Err(QuoteError::char(
                    target,
                    c,
                    pos,
                    "whitespace outside double quotes splits the token",
                ))
            }
            _ => {}
        }
        out.push(c);
    }
    if quoted {
        return Err(QuoteError::char(
            target,
            '"',
            opened_at,
            "unbalanced double quote would quote the rest of the line",
        ));
    }
    Ok(out)
}

/// An already-quoted command-line token (e.g. `NAME="a&b"` from `msiexec_property`, or a path
/// from `msiexec_path`) placed on a line of a `.cmd`/`.bat` file: doubles `%`, and verifies that
/// cmd.exe sees every `& | < > ^ ( )` and whitespace inside quotes and the quotes balanced.
pub fn cmd_batch_token(t: &str) -> Result<String, QuoteError> {
    token(t, Percent::Double)
}

/// Like [`cmd_batch_token`] for a line run by `cmd /c` directly (not from a batch file), where
/// `%` cannot be escaped: `%` is rejected instead of doubled.
pub fn cmd_line_token(t: &str) -> Result<String, QuoteError> {
    token(t, Percent::Reject)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_text() {
        let cases = [
            ("", ""),
            ("100%", "100%%"),
            ("%PATH%", "%%PATH%%"),
            ("a & b | c < d > e ^ f (g)", "a & b | c < d > e ^ f (g)"),
            ("$(x) `y` 'z' !v!", "$(x) `y` 'z' !v!"),
            ("tab\there", "tab\there"),
            ("é中😀", "é中😀"),
        ];
        for (v, want) in cases {
            assert_eq!(cmd_batch(v).unwrap(), want, "{v:?}");
        }
        for (bad, c) in [("a\"b", '"'), ("a\nb", '\n'), ("a\rb", '\r'), ("\0", '\0')] {
            assert_eq!(cmd_batch(bad).unwrap_err().character(), Some(c), "{bad:?}");
        }
    }

    #[test]
    fn line_text() {
        assert_eq!(
            cmd_line_text("cp install (x) & é.log").unwrap(),
            "cp install (x) & é.log"
        );
        for (bad, c) in [("50%", '%'), ("a\"b", '"'), ("a\nb", '\n'), ("\0", '\0')] {
            assert_eq!(
                cmd_line_text(bad).unwrap_err().character(),
                Some(c),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn tokens() {
        assert_eq!(
            cmd_batch_token(r#"CP_ARGS="A=1&B=%X%""#).unwrap(),
            r#"CP_ARGS="A=1&B=%%X%%""#
        );
        assert_eq!(
            cmd_batch_token(r#"X="a ""b"" & c""#).unwrap(),
            r#"X="a ""b"" & c""#
        );
        assert_eq!(cmd_batch_token("X=plain").unwrap(), "X=plain");
        assert_eq!(
            cmd_line_token(r#""C:\a b\c.msi""#).unwrap(),
            r#""C:\a b\c.msi""#
        );
        assert!(cmd_line_token(r#""50%""#).is_err());
        for bad in [
            "X=a&b",
            "X=a b",
            r#"X="a"&b"#,
            r#"X="a"#,
            "X=^",
            "X=(",
            "X=\"a\nb\"",
        ] {
            assert!(cmd_batch_token(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn msiexec_values_are_cmd_tokens() {
        for v in ["a&b", "\"&\"", "x\"y|z", "", " ", "%A%", "é"] {
            let t = super::super::msiexec_property("P", v).unwrap();
            assert!(cmd_batch_token(&t).is_ok(), "{t}");
        }
    }
}
