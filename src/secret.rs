//! A secret (deployment token) that cannot be printed by accident.
//!
//! `Debug`, `Display` and `Serialize` all show a redaction marker; the only way to the text is
//! [`Secret::expose`], which is called where the value must be written into an artifact.

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

/// `text` with every bare UUID (8-4-4-4-12 hex digits, not inside `{...}` and not part of a
/// longer hex run) replaced by [`REDACTED`]. Policy tokens are bare UUIDs, while ProductCode,
/// UpgradeCode and component GUIDs are written in braces, so those stay readable. Used on
/// everything shown to the user, so that a token that reaches a message by accident (a
/// misplaced value, a parser's error text) is still not printed.
pub fn mask_uuids(text: &str) -> std::borrow::Cow<'_, str> {
    let b = text.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    let mut last = 0;
    while i < b.len() {
        let starts_word =
            i == 0 || !(b[i - 1].is_ascii_hexdigit() || b[i - 1] == b'-' || b[i - 1] == b'{');
        if starts_word && is_uuid_at(b, i) {
            out.push_str(&text[last..i]);
            out.push_str(REDACTED);
            i += 36;
            last = i;
        } else {
            i += 1;
        }
    }
    if last == 0 {
        return std::borrow::Cow::Borrowed(text);
    }
    out.push_str(&text[last..]);
    std::borrow::Cow::Owned(out)
}

fn is_uuid_at(b: &[u8], i: usize) -> bool {
    const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
    let mut at = i;
    for (n, len) in GROUPS.iter().enumerate() {
        if n > 0 {
            if b.get(at) != Some(&b'-') {
                return false;
            }
            at += 1;
        }
        if !b
            .get(at..at + len)
            .is_some_and(|g| g.iter().all(u8::is_ascii_hexdigit))
        {
            return false;
        }
        at += len;
    }
    !b.get(at)
        .is_some_and(|c| c.is_ascii_hexdigit() || *c == b'-')
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

    #[test]
    fn bare_uuids_are_masked_braced_guids_are_not() {
        let t = "0fb12341-246b-448d-b07f-c6573ad5ad02";
        assert_eq!(mask_uuids(t), REDACTED);
        assert_eq!(mask_uuids(&format!("x '{t}'.")), format!("x '{REDACTED}'."));
        assert_eq!(
            mask_uuids(&t.to_ascii_uppercase()),
            REDACTED,
            "case does not matter"
        );
        let braced = "{6F1A2B3C-4D5E-4F60-8172-93A4B5C6D7E8}";
        assert_eq!(mask_uuids(braced), braced);
        let longer = format!("{t}0");
        assert_eq!(
            mask_uuids(&longer),
            longer,
            "not a UUID: part of a longer run"
        );
        assert!(matches!(
            mask_uuids("no token"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
