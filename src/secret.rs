//! A secret (deployment token) that cannot be printed by accident.
//!
//! `Debug`, `Display` and `Serialize` all show a redaction marker; the only way to the text is
//! [`Secret::expose`], which is called where the value must be written into an artifact.

use std::borrow::Cow;
use std::fmt;

pub const REDACTED: &str = "<redacted>";

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret's text. Call only when writing it into an artifact that is marked secret.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(REDACTED)
    }
}

/// `text` with every UUID (8-4-4-4-12 hex digits) replaced by [`REDACTED`], whatever surrounds
/// it: in braces, next to other hex digits or dashes, in any case. The whole run of hex digits
/// and dashes holding it is replaced, so no piece of a token stays readable. Used on everything
/// shown to the user (every error and hint), so that a token that reaches a message by accident
/// (a misplaced value, a parser's error text) is still not printed.
pub fn mask_uuids(text: &str) -> Cow<'_, str> {
    mask_runs(text, |_, _| true)
}

/// Like [`mask_uuids`], except that a GUID written exactly as `{8-4-4-4-12}` stays readable:
/// for showing Windows Installer tables, whose ProductCode, UpgradeCode and component GUIDs
/// are braced, while a policy token never is (the policy loader accepts bare UUIDs only). Not
/// for user-derived text: a user can write a token in braces.
pub fn mask_bare_uuids(text: &str) -> Cow<'_, str> {
    mask_runs(text, |b, (start, end)| {
        !(end - start == 36 && start > 0 && b[start - 1] == b'{' && b.get(end) == Some(&b'}'))
    })
}

fn is_run_byte(c: u8) -> bool {
    c.is_ascii_hexdigit() || c == b'-'
}

/// Replace each maximal run of hex digits and dashes that holds a UUID (and for which `mask`
/// says yes) by [`REDACTED`].
fn mask_runs(text: &str, mask: impl Fn(&[u8], (usize, usize)) -> bool) -> Cow<'_, str> {
    let b = text.as_bytes();
    let mut out = String::new();
    let mut last = 0;
    let mut i = 0;
    while i < b.len() {
        if !is_run_byte(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && is_run_byte(b[i]) {
            i += 1;
        }
        // Runs are ASCII, so the byte offsets are character boundaries.
        let holds_uuid = i - start >= 36 && (start..=i - 36).any(|s| is_uuid_at(&b[..i], s));
        if holds_uuid && mask(b, (start, i)) {
            out.push_str(&text[last..start]);
            out.push_str(REDACTED);
            last = i;
        }
    }
    if last == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[last..]);
    Cow::Owned(out)
}

/// Whether the 36 bytes at `i` are 8-4-4-4-12 hex digits.
fn is_uuid_at(b: &[u8], i: usize) -> bool {
    const DASHES: [usize; 4] = [8, 13, 18, 23];
    b.get(i..i + 36).is_some_and(|w| {
        w.iter().enumerate().all(|(n, c)| {
            if DASHES.contains(&n) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
    })
}

/// `text` with the given secret values masked wherever they appear, ignoring case, also
/// without their dashes, in addition to [`mask_uuids`]. For messages about a file that holds
/// a secret: its own value is masked whatever form it was written in. Values shorter than
/// [`MIN_SECRET_LEN`] are not secrets worth masking (and masking them would garble the text).
pub fn mask_secrets(text: &str, secrets: &[&str]) -> String {
    mask_values(&mask_uuids(text), secrets)
}

/// Whether `text` holds `secret` in a form [`mask_secrets`] masks (any case, with or without
/// dashes).
pub fn holds_secret(text: &str, secret: &str) -> bool {
    mask_values(text, &[secret]) != text
}

fn mask_values(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    let mut forms: Vec<String> = Vec::new();
    for s in secrets {
        let s = s.trim();
        forms.push(s.to_string());
        forms.push(s.replace('-', ""));
    }
    forms.retain(|f| f.chars().count() >= MIN_SECRET_LEN);
    // Longest first, so a value is never half-masked by a shorter form of it.
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    for f in &forms {
        out = replace_ignore_case(&out, f);
    }
    out
}

/// The shortest value [`mask_secrets`] masks.
pub const MIN_SECRET_LEN: usize = 6;

fn replace_ignore_case(text: &str, needle: &str) -> String {
    let lower_text = text.to_lowercase();
    let lower_needle = needle.to_lowercase();
    // Lower-casing can change byte lengths outside ASCII; fall back to exact matching then.
    if lower_text.len() != text.len() || lower_needle.len() != needle.len() {
        return text.replace(needle, REDACTED);
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (at, _) in lower_text.match_indices(&lower_needle) {
        if at < last || !text.is_char_boundary(at) {
            continue;
        }
        out.push_str(&text[last..at]);
        out.push_str(REDACTED);
        last = at + needle.len();
    }
    out.push_str(&text[last..]);
    out
}

/// A parser's error message with every double-quoted value replaced by `"…"`: serde's
/// messages quote the offending value (`invalid type: string "…"`), which may be a secret or
/// hostile text. Names in backticks (fields, variants, expected tokens) are kept.
pub fn hide_quoted_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            out.push(c);
            continue;
        }
        // Skip to the closing quote, honouring backslash escapes.
        let mut escaped = false;
        for d in chars.by_ref() {
            match d {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => break,
                _ => {}
            }
        }
        out.push_str("\"…\"");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_value() {
        let s = Secret::new("0fb12341-246b-448d-b07f-c6573ad5ad02");
        assert_eq!(format!("{s}"), REDACTED);
        assert_eq!(format!("{s:?}"), REDACTED);
        assert_eq!(format!("{:?}", Some(&s)), format!("Some({REDACTED})"));
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            format!("\"{REDACTED}\"")
        );
        assert_eq!(s.expose(), "0fb12341-246b-448d-b07f-c6573ad5ad02");
    }

    const T: &str = "0fb12341-246b-448d-b07f-c6573ad5ad02";

    #[test]
    fn every_uuid_is_masked_whatever_surrounds_it() {
        for (input, expected) in [
            (T.to_string(), REDACTED.to_string()),
            (format!("x '{T}'."), format!("x '{REDACTED}'.")),
            (T.to_ascii_uppercase(), REDACTED.to_string()),
            (format!("{{{T}}}"), format!("{{{REDACTED}}}")),
            (
                format!("cannot read {{{T}}}: no"),
                format!("cannot read {{{REDACTED}}}: no"),
            ),
            (format!("{T}0"), REDACTED.to_string()),
            (format!("ab{T}"), REDACTED.to_string()),
            (format!("-{T}-"), REDACTED.to_string()),
            (format!("x:{T}x"), format!("x:{REDACTED}x")),
            // A UUID-shaped prefix ending inside the token: the whole run goes.
            (
                format!("aaaaaaaa-bbbb-cccc-dddd-eeee{T}"),
                REDACTED.to_string(),
            ),
            (format!("{T}&{T}"), format!("{REDACTED}&{REDACTED}")),
            (
                "é{0FB12341-246B-448D-B07F-C6573AD5AD02}é".into(),
                format!("é{{{REDACTED}}}é"),
            ),
        ] {
            assert_eq!(mask_uuids(&input), expected, "{input}");
            assert!(!mask_uuids(&input)
                .to_ascii_lowercase()
                .contains("246b-448d"));
        }
        assert!(matches!(
            mask_uuids("no token, 1234-5678"),
            Cow::Borrowed(_)
        ));
        assert_eq!(mask_uuids("deadbeef-dead"), "deadbeef-dead");
    }

    #[test]
    fn bare_masking_keeps_braced_guids_only() {
        let braced = "{6F1A2B3C-4D5E-4F60-8172-93A4B5C6D7E8}";
        assert_eq!(mask_bare_uuids(braced), braced);
        assert_eq!(
            mask_bare_uuids(&format!("A={braced};")),
            format!("A={braced};")
        );
        assert_eq!(mask_bare_uuids(T), REDACTED);
        assert_eq!(mask_bare_uuids(&format!("{{{T}")), format!("{{{REDACTED}"));
        assert_eq!(mask_bare_uuids(&format!("{T}}}")), format!("{REDACTED}}}"));
        assert_eq!(
            mask_bare_uuids(&format!("{{a{T}}}")),
            format!("{{{REDACTED}}}")
        );
        assert_eq!(
            mask_uuids(braced),
            format!("{{{REDACTED}}}"),
            "user text: masked"
        );
    }

    #[test]
    fn a_known_secret_is_masked_in_any_form() {
        let shown = mask_secrets(
            &format!(
                "a {} b {} c {}",
                T.to_uppercase(),
                T.replace('-', ""),
                "s3cr3t-value"
            ),
            &[T, " s3cr3t-value\n"],
        );
        assert_eq!(shown, format!("a {REDACTED} b {REDACTED} c {REDACTED}"));
        assert_eq!(
            mask_secrets("a b true", &["true", "b"]),
            "a b true",
            "too short to mask"
        );
    }

    #[test]
    fn quoted_values_are_hidden_from_parser_messages() {
        assert_eq!(
            hide_quoted_values(r#"invalid type: string "se\"cret", expected `x`"#),
            "invalid type: string \"…\", expected `x`"
        );
        assert_eq!(hide_quoted_values("no quotes"), "no quotes");
        assert_eq!(hide_quoted_values("open \"end"), "open \"…\"");
    }
}
