//! msiexec command-line syntax (Microsoft "Command-Line Options", "Public Properties",
//! "Restrictions on Property Names", "TRANSFORMS property"; summarised in
//! shared/reference/msi-transforms.md §12).
//!
//! * `NAME=VALUE`; a value with spaces is written `NAME="a b"`; `NAME=""` clears the property.
//! * Inside a quoted value a literal `"` is written doubled: `"Embedded ""Quotes"" Here"`.
//! * msiexec itself gives no meaning to `\` (it does not use CRT argv rules).
//!
//! cmd.exe: ConfigMgr and batch files may hand the line to cmd.exe, where `& | < > ^ ( )` are only
//! inert inside double quotes. Doubling `"` keeps cmd's quote state "inside" for every character
//! of the value (each `""` toggles twice), so a quoted msiexec value is also cmd-safe for those
//! characters. `%` (and `!` under delayed expansion) is expanded by cmd even inside quotes:
//! that is a property of the *line's* context, handled by `cmd_batch_token` / `cmd_line_token`.

use super::{reject, QuoteError, QuoteTarget, LINE_BREAK, NUL};

/// Characters that may stay unquoted: a conservative whitelist. Everything else (whitespace,
/// `"`, cmd.exe metacharacters `& | < > ^ ( ) %  !`, cmd argument delimiters `, ; =`, non-ASCII)
/// makes the value quoted. Quoting is always correct for msiexec, so erring towards it is free.
fn bare_ok(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '-' | '_' | '.' | ':' | '/' | '\\' | '+' | '@' | '{' | '}' | '~'
        )
}

fn control(c: char) -> Option<&'static str> {
    match c {
        '\0' => Some(NUL),
        '\r' | '\n' => Some(LINE_BREAK),
        // Tab is whitespace and gets quoted; other C0 controls have no documented meaning on a
        // command line, so refuse rather than guess.
        c if c.is_ascii_control() && c != '\t' => {
            Some("control characters are not allowed on a command line")
        }
        _ => None,
    }
}

/// The VALUE part of `NAME=VALUE` on an msiexec command line.
///
/// Bare when non-empty and made only of `A-Z a-z 0-9 - _ . : / \ + @ { } ~`; otherwise wrapped in
/// `"` with every `"` doubled. Empty gives `""` (clears the property). Rejects NUL, CR, LF and
/// other C0 controls except tab.
pub fn msiexec_value(v: &str) -> Result<String, QuoteError> {
    reject(v, QuoteTarget::MsiexecValue, control)?;
    if !v.is_empty() && v.chars().all(bare_ok) {
        return Ok(v.to_owned());
    }
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
    Ok(out)
}

fn name_error(name: &str, public: bool) -> Option<QuoteError> {
    let target = QuoteTarget::MsiexecPropertyName;
    if name.is_empty() {
        return Some(QuoteError::whole(target, "property name is empty"));
    }
    for (pos, c) in name.chars().enumerate() {
        let ok = if pos == 0 {
            c.is_ascii_alphabetic() || c == '_'
        } else {
            c.is_ascii_alphanumeric() || c == '_' || c == '.'
        };
        if !ok {
            let reason = if pos == 0 {
                "a property name starts with a letter or underscore"
            } else {
                "a property name contains only letters, digits, underscores and periods"
            };
            return Some(QuoteError::char(target, c, pos, reason));
        }
        if public && c.is_ascii_lowercase() {
            return Some(QuoteError::char(
                target,
                c,
                pos,
                "a lowercase letter makes the property private; only public (no lowercase) properties can be set on the command line",
            ));
        }
    }
    None
}

/// A valid Windows Installer identifier: letter or `_` first, then letters, digits, `_`, `.`
/// (ASCII only).
pub fn is_property_name(name: &str) -> bool {
    name_error(name, false).is_none()
}

/// A valid identifier with no lowercase letters: a public property, the only kind that can be
/// set on the command line.
pub fn is_public_property_name(name: &str) -> bool {
    name_error(name, true).is_none()
}

/// `NAME=VALUE` for the msiexec command line; the name must be a public property name.
pub fn msiexec_property(name: &str, value: &str) -> Result<String, QuoteError> {
    if let Some(e) = name_error(name, true) {
        return Err(e);
    }
    Ok(format!("{name}={}", msiexec_value(value)?))
}

fn path_char(c: char) -> Option<&'static str> {
    match c {
        '"' => Some("a double quote is not allowed in Windows paths and cannot be escaped here"),
        // Windows file names exclude code points 1-31 ("Naming Files, Paths, and Namespaces").
        c => control(c).or(c
            .is_ascii_control()
            .then_some("control characters are not allowed in Windows paths")),
    }
}

fn check_path(p: &str) -> Result<(), QuoteError> {
    let target = QuoteTarget::MsiexecPath;
    if p.is_empty() {
        return Err(QuoteError::whole(target, "path is empty"));
    }
    reject(p, target, path_char)?;
    if p.ends_with('\\') {
        // `\"` is an escaped quote for CRT-style parsers that may sit in front of msiexec
        // (bootstrappers, PowerShell's native-argument passing); a file path never needs it.
        return Err(QuoteError::char(
            target,
            '\\',
            p.chars().count() - 1,
            "a file path must not end in a backslash (it would precede the closing quote)",
        ));
    }
    Ok(())
}

/// A file argument (after `/i`, `/l*v`, or a `TRANSFORMS=` value): always double-quoted.
/// Rejects empty, `"`, control characters and a trailing `\`.
pub fn msiexec_path(p: &str) -> Result<String, QuoteError> {
    check_path(p)?;
    Ok(format!("\"{p}\""))
}

/// A `;`-separated path list such as the `TRANSFORMS` value, quoted as a whole
/// (`"a.mst;b.mst"`). Rejects an empty list, more than 255 entries, and `;` inside an entry.
pub fn msiexec_path_list(paths: &[&str]) -> Result<String, QuoteError> {
    let target = QuoteTarget::MsiexecPath;
    if paths.is_empty() {
        return Err(QuoteError::whole(target, "path list is empty"));
    }
    if paths.len() > 255 {
        return Err(QuoteError::whole(
            target,
            "at most 255 transforms can be listed",
        ));
    }
    for p in paths {
        check_path(p)?;
        reject(p, target, |c| {
            (c == ';').then_some("';' separates list entries")
        })?;
    }
    Ok(format!("\"{}\"", paths.join(";")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_values_stay_bare() {
        for v in [
            "true",
            "1",
            "https://host.example:4285/x",
            "{113B48D9-4965-4FAA-A583-A61ADAE58355}",
            r"C:\x\y.txt",
        ] {
            assert_eq!(msiexec_value(v).unwrap(), v);
        }
    }

    #[test]
    fn quoting_cases() {
        let cases = [
            ("", r#""""#),
            ("a b", r#""a b""#),
            ("a\tb", "\"a\tb\""),
            (
                r#"Embedded "Quotes" White Space"#,
                r#""Embedded ""Quotes"" White Space""#,
            ),
            ("\"", "\"\"\"\""),
            ("A=1&B=2", r#""A=1&B=2""#),
            ("a|b<c>d^e", r#""a|b<c>d^e""#),
            ("%PATH%", r#""%PATH%""#),
            ("(x),y;z", r#""(x),y;z""#),
            ("$(touch x)`id`", r#""$(touch x)`id`""#),
            ("é中😀", "\"é中😀\""),
            ("it's", "\"it's\""),
        ];
        for (v, want) in cases {
            assert_eq!(msiexec_value(v).unwrap(), want, "{v:?}");
        }
    }

    #[test]
    fn rejects_line_breaks_and_nul() {
        for (v, c) in [
            ("a\nb", '\n'),
            ("a\rb", '\r'),
            ("a\0", '\0'),
            ("\x07", '\x07'),
        ] {
            assert_eq!(msiexec_value(v).unwrap_err().character(), Some(c));
        }
    }

    #[test]
    fn property_names() {
        assert!(is_public_property_name("CP_ARGS"));
        assert!(is_public_property_name("_X.1"));
        assert!(is_property_name("Private.name"));
        assert!(!is_public_property_name("Private"));
        for bad in ["", "1A", ".A", "A-B", "A B", "É"] {
            assert!(!is_property_name(bad), "{bad:?}");
        }
        assert_eq!(
            msiexec_property("CP_ARGS", "A=1&B=2").unwrap(),
            r#"CP_ARGS="A=1&B=2""#
        );
        assert_eq!(
            msiexec_property("CP_SILENT", "true").unwrap(),
            "CP_SILENT=true"
        );
        assert_eq!(msiexec_property("X", "").unwrap(), r#"X="""#);
        let e = msiexec_property("Cp", "x").unwrap_err();
        assert_eq!((e.character(), e.position()), (Some('p'), Some(1)));
        assert!(msiexec_property("A=B", "x").is_err());
    }

    #[test]
    fn paths() {
        assert_eq!(msiexec_path("a.msi").unwrap(), r#""a.msi""#);
        assert_eq!(
            msiexec_path(r"C:\Program Files\x é.mst").unwrap(),
            r#""C:\Program Files\x é.mst""#
        );
        assert_eq!(
            msiexec_path("50% & more.msi").unwrap(),
            r#""50% & more.msi""#
        );
        for bad in ["", "a\"b", "a\nb", "a\rb", "a\0", "a\x1fb", r"C:\dir\"] {
            assert!(msiexec_path(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            msiexec_path_list(&["a.mst", "b c.mst"]).unwrap(),
            r#""a.mst;b c.mst""#
        );
        assert!(msiexec_path_list(&["a;b.mst"]).is_err());
        assert!(msiexec_path_list(&[]).is_err());
    }
}
