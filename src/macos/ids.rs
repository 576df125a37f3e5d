//! Identifiers, UUIDs and versions of what we build for a policy. All are pure functions of
//! the product, the policy name and content, so rebuilding gives the same bytes.

use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Domain our identifiers live under (reverse-DNS prefix `com.agentpack`).
const DOMAIN: &str = "agentpack.com";

/// Namespace of every UUID we derive: UUIDv5 of [`DOMAIN`] in the DNS namespace.
pub fn namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_DNS, DOMAIN.as_bytes())
}

/// Stable UUID for a payload identifier, uppercase as Apple's tools write it.
pub fn payload_uuid(identifier: &str) -> String {
    Uuid::new_v5(&namespace(), identifier.as_bytes())
        .hyphenated()
        .to_string()
        .to_uppercase()
}

/// `com.agentpack.<product>.<policy>`: the prefix of everything built for a policy.
pub fn policy_prefix(product: &str, policy: &str) -> String {
    format!("com.agentpack.{product}.{policy}")
}

/// The config package's identifier (its receipt id): `com.agentpack.<product>.config.<policy>`.
pub fn config_pkg_identifier(product: &str, policy: &str) -> String {
    format!("com.agentpack.{product}.config.{policy}")
}

/// A package version derived from content: `1.<n>` with `n` the first 32 bits of SHA-256 of
/// `content` as a decimal number. Deterministic and changes when the content changes; it does
/// not order builds (payload-free packages leave no receipt to compare against anyway).
pub fn content_version(content: &[u8]) -> String {
    let d = Sha256::digest(content);
    format!("1.{}", u32::from_be_bytes([d[0], d[1], d[2], d[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_and_distinct() {
        assert_eq!(payload_uuid("a.b"), payload_uuid("a.b"));
        assert_ne!(payload_uuid("a.b"), payload_uuid("a.c"));
        let u = payload_uuid("x");
        assert_eq!(u, u.to_uppercase());
        assert_eq!(Uuid::parse_str(&u).unwrap().get_version_num(), 5);
        assert_eq!(content_version(b"x"), content_version(b"x"));
        assert_ne!(content_version(b"x"), content_version(b"y"));
        assert!(content_version(b"x").starts_with("1."));
    }
}
