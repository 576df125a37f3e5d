//! Field rules. Each returns a message and a hint; `load` adds the file, key and line.

/// A rule violation: what is wrong and how to fix it.
pub struct Violation {
    pub message: String,
    pub hint: String,
}

fn v(message: impl Into<String>, hint: impl Into<String>) -> Violation {
    Violation {
        message: message.into(),
        hint: hint.into(),
    }
}

/// `[a-z0-9][a-z0-9_-]*`, at most 64 characters: it becomes part of file names.
pub fn check_name(name: &str) -> Result<(), Violation> {
    let ok = name.len() <= 64
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !ok {
        return Err(v(
            "must be lowercase letters, digits, '-' or '_', starting with a letter or digit (at most 64)",
            "it is used in output file names, e.g. `acme-prod`",
        ));
    }
    if is_windows_device_name(name) {
        return Err(v(
            format!("'{name}' is a reserved device name on Windows"),
            "Windows cannot store a file or folder of that name (and TRANSFORMS=\"nul.mst\" means the NUL device): choose another name, e.g. `acme-prod`",
        ));
    }
    Ok(())
}

/// CON, PRN, AUX, NUL, COM0-9 and LPT0-9 name devices on Windows, whatever follows a dot
/// (Microsoft's "Naming Files, Paths, and Namespaces").
fn is_windows_device_name(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or(name);
    matches!(stem, "con" | "prn" | "aux" | "nul")
        || ((stem.starts_with("com") || stem.starts_with("lpt"))
            && stem.len() == 4
            && stem.as_bytes()[3].is_ascii_digit())
}

/// A portable environment variable name: letters, digits and '_', not starting with a digit.
/// The message does not echo the value (it may be the token, written in the wrong place).
pub fn check_env_name(name: &str) -> Result<(), Violation> {
    let ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(v(
            format!(
                "is not an environment variable name ({} characters)",
                name.chars().count()
            ),
            "give the variable's name: letters, digits and '_', not starting with a digit, e.g. ACME_TOKEN",
        ))
    }
}

/// Control characters (including CR, LF, tab and DEL) are never valid in a policy value.
pub fn check_no_control(value: &str) -> Result<(), Violation> {
    match value.chars().find(|c| c.is_control()) {
        Some(c) => Err(v(
            format!("contains the control character U+{:04X}", c as u32),
            "remove line breaks, tabs and other control characters",
        )),
        None => Ok(()),
    }
}

/// Values packed into the Windows packed property: the vendor format has no escape for these.
pub fn check_packable(value: &str) -> Result<(), Violation> {
    match value.chars().find(|c| matches!(c, '&' | '"' | '=')) {
        Some(c) => Err(v(
            format!("contains '{c}', which cannot be packed into the installer's argument list"),
            "the vendor format has no escape for '&', '\"' or '='; use a value without them",
        )),
        None => Ok(()),
    }
}

/// Split `scheme://host[:port][/rest]` without external crates; enough for the checks we need.
fn split_url(url: &str) -> Option<(&str, &str, Option<&str>)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    if authority.contains('@') {
        return Some((scheme, "", None));
    }
    // IPv6 literal: [::1]:4285
    if let Some(stripped) = authority.strip_prefix('[') {
        let close = stripped.find(']')?;
        let host = &authority[..close + 2];
        let port = stripped[close + 1..].strip_prefix(':');
        return Some((scheme, host, port));
    }
    match authority.rsplit_once(':') {
        Some((h, p)) => Some((scheme, h, Some(p))),
        None => Some((scheme, authority, None)),
    }
}

/// A DNS name (labels of letters, digits and inner '-', joined by '.', an optional final '.')
/// or an IP address; an IPv6 address in brackets.
fn valid_host(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

fn check_host_port(host: &str, port: Option<&str>) -> Result<(), Violation> {
    if !valid_host(host) {
        return Err(v(
            "has no valid host name",
            "write it as https://host.example.com or https://host.example.com:4285",
        ));
    }
    if let Some(p) = port {
        let ok = !p.is_empty()
            && p.len() <= 5
            && p.chars().all(|c| c.is_ascii_digit())
            && p.parse::<u16>().is_ok_and(|n| n > 0);
        if !ok {
            let shown = if p.chars().count() > 8 || p.contains(|c: char| c.is_control()) {
                format!("({} characters)", p.chars().count())
            } else {
                format!("'{p}'")
            };
            return Err(v(
                format!("has an invalid port {shown}"),
                "the port is a number from 1 to 65535 (4285 on premises)",
            ));
        }
    }
    Ok(())
}

/// The server URL: https with a host, port optional.
pub fn check_deployment_url(url: &str) -> Result<(), Violation> {
    let Some((scheme, host, port)) = split_url(url) else {
        return Err(v(
            "is not a URL",
            "write it as https://console.example.com (on premises: https://host:4285)",
        ));
    };
    if !scheme.eq_ignore_ascii_case("https") {
        return Err(v(
            format!("uses '{scheme}', not https"),
            "the agent talks to the server over TLS: use https://",
        ));
    }
    if url.contains(char::is_whitespace) {
        return Err(v("contains white space", "remove the spaces"));
    }
    check_host_port(host, port)
}

/// A proxy auto-config URL: http or https with a host.
pub fn check_proxy_url(url: &str) -> Result<(), Violation> {
    let Some((scheme, host, port)) = split_url(url) else {
        return Err(v(
            "is not a URL",
            "write it as http://proxy.example.com:8080/proxy.pac",
        ));
    };
    if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
        return Err(v(
            format!("uses '{scheme}', not http or https"),
            "give the URL of the PAC file",
        ));
    }
    if url.contains(char::is_whitespace) {
        return Err(v("contains white space", "remove the spaces"));
    }
    check_host_port(host, port)
}

/// The policy token: a UUID (8-4-4-4-12 hex digits). The message never echoes the value.
pub fn check_token(token: &str) -> Result<(), Violation> {
    let groups: Vec<&str> = token.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    let ok = groups.len() == 5
        && groups
            .iter()
            .zip(lens)
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err(v(
            format!(
                "is not a UUID ({} characters; expected 8-4-4-4-12 hex digits)",
                token.chars().count()
            ),
            "copy the token from the deployment policy in the vendor console",
        ))
    }
}

/// The server certificate fingerprint: 40 (SHA-1) or 64 (SHA-256) hex digits.
pub fn check_fingerprint(fp: &str) -> Result<(), Violation> {
    let ok = (fp.len() == 40 || fp.len() == 64) && fp.chars().all(|c| c.is_ascii_hexdigit());
    if ok {
        Ok(())
    } else {
        Err(v(
            format!(
                "is not a certificate fingerprint ({} characters)",
                fp.chars().count()
            ),
            "give 40 hex digits (SHA-1) or 64 (SHA-256), without colons",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(check_deployment_url("https://console.us2.example.com").is_ok());
        assert!(check_deployment_url("https://host.example.com:4285").is_ok());
        assert!(check_deployment_url("https://[::1]:4285/").is_ok());
        assert!(check_deployment_url("http://host").is_err());
        assert!(check_deployment_url("https://").is_err());
        for bad in [
            "https://[]",
            "https://[$(touch${IFS}x)]:4285",
            "https://[::1",
            "https://....",
            "https://a..b",
            "https://-a.example.com",
            "https://host:+443",
            "https://host:",
            "https://host:0",
            "https://host:65536",
        ] {
            assert!(check_deployment_url(bad).is_err(), "{bad}");
        }
        assert!(check_deployment_url("https://host.example.com.:4285").is_ok());
        assert!(check_deployment_url("https://10.0.0.1").is_ok());
        let e = check_deployment_url("https://h:0fb12341-246b-448d-b07f-c6573ad5ad02")
            .err()
            .unwrap();
        assert!(!e.message.contains("0fb12341"), "{}", e.message);
        assert!(check_deployment_url("https://host:99999").is_err());
        assert!(check_deployment_url("https://user@host").is_err());
        assert!(check_deployment_url("host.example.com").is_err());
        assert!(check_proxy_url("http://proxy.example.com:8080/proxy.pac").is_ok());
        assert!(check_proxy_url("ftp://proxy").is_err());
    }

    #[test]
    fn tokens_and_fingerprints() {
        assert!(check_token("0fb12341-246b-448d-b07f-c6573ad5ad02").is_ok());
        assert!(check_token("0fb12341246b448db07fc6573ad5ad02").is_err());
        let e = check_token("secret-but-wrong").err().unwrap();
        assert!(!e.message.contains("secret"));
        assert!(check_fingerprint("7746278a457e64737094c44eebe2a59e25d1a4f1").is_ok());
        assert!(check_fingerprint(&"a".repeat(64)).is_ok());
        assert!(check_fingerprint("77:46").is_err());
    }

    #[test]
    fn names_and_characters() {
        assert!(check_name("acme-prod").is_ok());
        assert!(check_name("Acme").is_err());
        assert!(check_name("-x").is_err());
        assert!(check_name("").is_err());
        for reserved in ["con", "nul", "aux", "prn", "com1", "com0", "lpt9"] {
            let e = check_name(reserved).expect_err(reserved);
            assert!(e.message.contains("reserved device name"), "{}", e.message);
        }
        assert!(check_name("console").is_ok() && check_name("com10").is_ok());
        assert!(check_name("nul-org").is_ok());
        assert!(check_env_name("ACME_TOKEN_1").is_ok() && check_env_name("_x").is_ok());
        for bad in ["", "1X", "A-B", "{X}", "A B", "Ä"] {
            let e = check_env_name(bad).expect_err(bad);
            assert!(bad.is_empty() || !e.message.contains(bad), "{}", e.message);
        }
        assert!(check_no_control("a\nb").is_err());
        assert!(check_no_control("Ächt & \"ok\"").is_ok());
        assert!(check_packable("a&b").is_err());
        assert!(check_packable("a=b").is_err());
        assert!(check_packable("https://x").is_ok());
    }
}
