//! Masking deployment tokens in MSI/MST values before they are shown (`agentpack inspect`).
//!
//! Two rules, so that a token is masked whatever property or product it belongs to:
//! * in `KEY=VALUE&KEY=VALUE` text, the value of every key a product profile fills from the
//!   policy token (e.g. the packed property's token key);
//! * anywhere, a bare UUID (8-4-4-4-12 hex digits not inside `{...}`): policy tokens are bare
//!   UUIDs, while ProductCode, UpgradeCode and component GUIDs are written in braces.

use crate::product::{Products, Source};
use crate::secret::REDACTED;

/// Property names (from every embedded profile) whose value is the policy token.
pub fn token_keys() -> Vec<String> {
    let Ok(products) = Products::load(None) else {
        return Vec::new();
    };
    let mut keys: Vec<String> = products
        .all()
        .flat_map(|p| &p.properties)
        .filter(|d| d.from == Source::Token)
        .map(|d| d.name.clone())
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// `text` with token values masked.
pub fn redact(text: &str, token_keys: &[String]) -> String {
    let packed: Vec<String> = text
        .split('&')
        .map(|part| match part.split_once('=') {
            Some((k, _)) if token_keys.iter().any(|t| t.eq_ignore_ascii_case(k.trim())) => {
                format!("{k}={REDACTED}")
            }
            _ => part.to_string(),
        })
        .collect();
    mask_bare_uuids(&packed.join("&"))
}

/// Whether `redact` would change `text`.
pub fn holds_token(text: &str, token_keys: &[String]) -> bool {
    redact(text, token_keys) != text
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
    // Not part of a longer hex run.
    !b.get(at)
        .is_some_and(|c| c.is_ascii_hexdigit() || *c == b'-')
}

fn mask_bare_uuids(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
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
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_token_keys_and_bare_uuids_but_not_braced_guids() {
        let keys = vec!["DEPLOYMENT_POLICY_TOKEN".to_string()];
        let v = "DEPLOYMENT_URL=https://x&DEPLOYMENT_POLICY_TOKEN=abc&SSL_WHITELIST=77";
        assert_eq!(
            redact(v, &keys),
            format!("DEPLOYMENT_URL=https://x&DEPLOYMENT_POLICY_TOKEN={REDACTED}&SSL_WHITELIST=77")
        );
        let t = "0fb12341-246b-448d-b07f-c6573ad5ad02";
        assert_eq!(redact(t, &keys), REDACTED);
        assert_eq!(redact(&format!("x {t}."), &keys), format!("x {REDACTED}."));
        let braced = "{6F1A2B3C-4D5E-4F60-8172-93A4B5C6D7E8}";
        assert_eq!(redact(braced, &keys), braced);
        assert!(!holds_token("https://console.example.com:4285/Köln", &keys));
        assert!(holds_token(t, &[]));
    }
}
