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
    crate::secret::mask_bare_uuids(&packed.join("&")).into_owned()
}

/// Whether `redact` would change `text`.
pub fn holds_token(text: &str, token_keys: &[String]) -> bool {
    redact(text, token_keys) != text
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
