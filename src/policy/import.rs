//! Building a policy from what the vendor console shows: the Windows install arguments or a
//! macOS deploy.properties file.

use crate::error::{Error, Problem, Result};
use crate::product::{Product, Source, WindowsPlacement};
use std::collections::BTreeMap;

/// Values recovered from console arguments, keyed by the policy field they belong to.
#[derive(Debug, Default, Clone)]
pub struct ImportedValues {
    pub values: BTreeMap<&'static str, String>,
    /// `scope: user` was recognised from the product's per-user properties.
    pub user_scope: bool,
}

/// Split a command line by msiexec's rules: white space separates, double quotes group, and
/// `""` inside quotes is a literal quote.
fn tokenize(line: &str) -> std::result::Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quotes = false;
    let mut has_token = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if in_quotes && chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            '"' => {
                in_quotes = !in_quotes;
                has_token = true;
            }
            c if c.is_whitespace() && !in_quotes => {
                if has_token {
                    out.push(std::mem::take(&mut cur));
                    has_token = false;
                }
            }
            c => {
                cur.push(c);
                has_token = true;
            }
        }
    }
    if in_quotes {
        return Err("a double quote is not closed".into());
    }
    if has_token {
        out.push(cur);
    }
    Ok(out)
}

fn bad(message: impl Into<String>, hint: &str) -> Error {
    Error::bad_input(Problem::new(message).field("--windows-args").hint(hint))
}

fn source_value(source: Source, value: &str) -> std::result::Result<String, String> {
    match source {
        Source::Registration => match value.to_ascii_lowercase().as_str() {
            "true" => Ok("silent".into()),
            "false" => Ok("manual".into()),
            _ => Err(format!("expected true or false, found '{}'", shown(value))),
        },
        Source::Cloaked => match value.to_ascii_lowercase().as_str() {
            "true" | "false" => Ok(value.to_ascii_lowercase()),
            _ => Err(format!("expected true or false, found '{}'", shown(value))),
        },
        _ => Ok(value.to_string()),
    }
}

/// Parse console-style Windows arguments, with or without a leading `msiexec /i file.msi`.
pub fn import_windows_args(args: &str, product: &Product) -> Result<ImportedValues> {
    let windows = product.windows.as_ref().ok_or_else(|| {
        bad(
            format!("{} has no Windows installer facts", product.display_name),
            "use --deploy-properties",
        )
    })?;
    let tokens = tokenize(args)
        .map_err(|m| bad(m, "paste the arguments exactly as the console shows them"))?;
    let mut out = ImportedValues::default();
    let mut iter = tokens.iter().peekable();
    let mut packed_seen = false;
    let mut user_props = BTreeMap::new();
    while let Some(tok) = iter.next() {
        let lower = tok.to_ascii_lowercase();
        if lower == "msiexec" || lower == "msiexec.exe" || lower.ends_with("\\msiexec.exe") {
            continue;
        }
        if tok.starts_with('/') || tok.starts_with('-') {
            // Options with an argument: skip the package or log path too.
            let opt = lower.trim_start_matches(['/', '-']);
            if matches!(opt, "i" | "package" | "x" | "uninstall" | "a" | "j" | "f")
                || opt.starts_with('l')
            {
                iter.next();
            }
            continue;
        }
        let Some((name, value)) = tok.split_once('=') else {
            return Err(bad(
                format!(
                    "'{}' is neither NAME=VALUE nor an msiexec option",
                    shown(tok)
                ),
                "paste the arguments exactly as the console shows them",
            ));
        };
        let upper = name.to_ascii_uppercase();
        if upper == windows.packed_property {
            packed_seen = true;
            for pair in value.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').ok_or_else(|| {
                    bad(
                        format!(
                            "'{}' inside {} is not KEY=VALUE",
                            shown(pair),
                            windows.packed_property
                        ),
                        "keys are joined with '&' as KEY=VALUE",
                    )
                })?;
                let def = product
                    .properties
                    .iter()
                    .find(|p| {
                        p.name.eq_ignore_ascii_case(k) && p.windows == WindowsPlacement::Packed
                    })
                    .ok_or_else(|| {
                        bad(
                            format!(
                                "unknown key '{}' inside {}",
                                shown(k),
                                windows.packed_property
                            ),
                            &known_hint(product),
                        )
                    })?;
                insert(&mut out, def.from, v)?;
            }
            continue;
        }
        if let Some(def) = product
            .properties
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name) && p.windows == WindowsPlacement::Property)
        {
            insert(&mut out, def.from, value)?;
            continue;
        }
        if windows.user_scope_properties.contains_key(&upper) {
            user_props.insert(upper, value.to_string());
            continue;
        }
        if upper == "TRANSFORMS" || upper == "REBOOT" {
            continue;
        }
        return Err(bad(
            format!("unknown property '{}'", shown(name)),
            &known_hint(product),
        ));
    }
    if !packed_seen {
        return Err(bad(
            format!("no {} found in the arguments", windows.packed_property),
            &format!(
                "the console's arguments start with {}=\"DEPLOYMENT_URL=...\"",
                windows.packed_property
            ),
        ));
    }
    out.user_scope =
        !windows.user_scope_properties.is_empty() && user_props == windows.user_scope_properties;
    Ok(out)
}

fn insert(out: &mut ImportedValues, source: Source, value: &str) -> Result<()> {
    if let Err(v) = super::validate::check_no_control(value) {
        return Err(bad(
            format!("{}: {}", source.policy_key(), v.message),
            &v.hint,
        ));
    }
    let v = source_value(source, value)
        .map_err(|m| bad(format!("{}: {m}", source.policy_key()), "use true or false"))?;
    out.values.insert(source.policy_key(), v);
    Ok(())
}

fn known_hint(product: &Product) -> String {
    let names: Vec<&str> = product.properties.iter().map(|p| p.name.as_str()).collect();
    format!("{} knows {}", product.display_name, names.join(", "))
}

/// Input as quoted back in a message: never a token, whole or in part. A word that holds a
/// run of 8 or more hex digits and dashes (a token, or a piece of one) is described by its
/// length only; anything else is shown, cut to 40 characters.
fn shown(s: &str) -> String {
    let mut run = 0;
    let token_like = s.chars().any(|c| {
        run = if c.is_ascii_hexdigit() || c == '-' {
            run + 1
        } else {
            0
        };
        run >= 8
    });
    if token_like {
        format!("<{} characters, not shown>", s.chars().count())
    } else if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s.to_string()
    }
}

/// Parse a deploy.properties file (`KEY=VALUE` lines, java.util.Properties escapes).
pub fn import_deploy_properties(text: &str, product: &Product) -> Result<ImportedValues> {
    let mut out = ImportedValues::default();
    for (n, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.is_empty() || t.starts_with('#') || t.starts_with('!') {
            continue;
        }
        let sep = t.find(['=', ':']).ok_or_else(|| {
            Error::bad_input(
                Problem::new("is not KEY=VALUE")
                    .line(Some(n + 1))
                    .hint("each line is KEY=VALUE"),
            )
        })?;
        let key = t[..sep].trim();
        let value = unescape_properties(t[sep + 1..].trim_start());
        if let Err(v) = super::validate::check_no_control(&value) {
            return Err(Error::bad_input(
                Problem::new(v.message)
                    .line(Some(n + 1))
                    .field(key.to_string())
                    .hint(v.hint),
            ));
        }
        let def = product
            .properties
            .iter()
            .find(|p| p.macos && p.name == key)
            .ok_or_else(|| {
                Error::bad_input(
                    Problem::new(format!("unknown key '{key}'"))
                        .line(Some(n + 1))
                        .hint(known_hint(product)),
                )
            })?;
        let v = source_value(def.from, &value).map_err(|m| {
            Error::bad_input(
                Problem::new(m)
                    .line(Some(n + 1))
                    .field(key.to_string())
                    .hint("write true or false"),
            )
        })?;
        out.values.insert(def.from.policy_key(), v);
    }
    Ok(out)
}

fn unescape_properties(v: &str) -> String {
    let mut out = String::new();
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => out.push_str(&hex),
                }
            }
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// How the token is written into the generated policy.
pub enum TokenOut<'a> {
    /// Inline (only for a file written with mode 0600).
    Inline,
    /// `token_env: VAR`.
    Env(&'a str),
    /// `token_file: PATH`.
    File(&'a str),
}

/// A policy file, as YAML, for the imported values.
pub fn render_policy_yaml(
    name: &str,
    product: &str,
    organization: &str,
    imported: &ImportedValues,
    token: TokenOut,
) -> String {
    let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let mut y = String::from("# Imported by agentpack from the deployment policy's values (console arguments or deploy.properties).\n");
    y += &format!(
        "name: {}\nproduct: {}\norganization: {}\n",
        q(name),
        q(product),
        q(organization)
    );
    let get = |k: &str| imported.values.get(k).map(String::as_str);
    if let Some(u) = get("deployment_url") {
        y += &format!("deployment_url: {}\n", q(u));
    }
    match (token, get("token")) {
        (TokenOut::Inline, Some(t)) => y += &format!("token: {}\n", q(t)),
        (TokenOut::Env(var), _) => y += &format!("token_env: {}\n", q(var)),
        (TokenOut::File(path), _) => y += &format!("token_file: {}\n", q(path)),
        (TokenOut::Inline, None) => {}
    }
    for key in ["ssl_whitelist", "proxy_url", "registration"] {
        if let Some(v) = get(key) {
            y += &format!("{key}: {}\n", q(v));
        }
    }
    if let Some(c) = get("cloaked") {
        y += &format!("cloaked: {c}\n");
    }
    if imported.user_scope {
        y += "scope: user\n";
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::product::Products;

    const ARGS: &str = r#"msiexec /i CrashPlan_11.7.0_911_Win64.msi CP_ARGS="DEPLOYMENT_URL=https://host:4285&DEPLOYMENT_POLICY_TOKEN=0fb12341-246b-448d-b07f-c6573ad5ad02&SSL_WHITELIST=7746278a457e64737094c44eebe2a59e25d1a4f1&PROXY_URL=http://p:8080/x.pac" CP_SILENT=true DEVICE_CLOAKED=false /norestart /qn"#;

    #[test]
    fn tokenizer_follows_msiexec_quoting() {
        assert_eq!(
            tokenize(r#"A="x ""y"" z" B=1"#).unwrap(),
            vec![r#"A=x "y" z"#, "B=1"]
        );
        assert_eq!(tokenize(r#"A="""#).unwrap(), vec!["A="]);
        assert!(tokenize(r#"A="x"#).is_err());
    }

    #[test]
    fn console_arguments_import() {
        let products = Products::load(None).unwrap();
        let cp = products.get("crashplan").unwrap();
        for args in [
            ARGS,
            ARGS.trim_start_matches("msiexec /i CrashPlan_11.7.0_911_Win64.msi "),
        ] {
            let v = import_windows_args(args, cp).unwrap();
            assert_eq!(v.values["deployment_url"], "https://host:4285");
            assert_eq!(v.values["registration"], "silent");
            assert_eq!(v.values["cloaked"], "false");
            assert_eq!(v.values["proxy_url"], "http://p:8080/x.pac");
        }
        let err = import_windows_args("CP_ARGS=\"FOO=1\"", cp).unwrap_err();
        assert!(err.to_string().contains("unknown key 'FOO'"));
    }

    #[test]
    fn deploy_properties_import() {
        let products = Products::load(None).unwrap();
        let cp = products.get("crashplan").unwrap();
        let v = import_deploy_properties("# x\nDEPLOYMENT_URL=https\\://h\nCP_SILENT=false\n", cp)
            .unwrap();
        assert_eq!(v.values["deployment_url"], "https://h");
        assert_eq!(v.values["registration"], "manual");
    }
}
