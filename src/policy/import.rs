//! Building a policy from what the vendor console shows: the Windows install arguments or a
//! macOS deploy.properties file.

use crate::error::{Error, Problem, Result};
use crate::product::{Product, PropertyDef, Source, WindowsPlacement};
use crate::secret::Secret;
use std::collections::BTreeMap;

/// Values recovered from console arguments, keyed by the policy field they belong to. The
/// token is held apart, as a [`Secret`], so that `{:?}` cannot print it.
#[derive(Debug, Default, Clone)]
pub struct ImportedValues {
    /// Every value but the token.
    pub values: BTreeMap<&'static str, String>,
    pub token: Option<Secret>,
    /// `scope: user` was recognised from the product's per-user properties.
    pub user_scope: bool,
    /// The line each policy field came from (deploy.properties only).
    pub lines: BTreeMap<&'static str, usize>,
}

impl ImportedValues {
    fn set(&mut self, source: Source, value: String) {
        match source {
            Source::Token => self.token = Some(Secret::new(value)),
            _ => {
                self.values.insert(source.policy_key(), value);
            }
        }
    }
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
                insert(&mut out, def, v)?;
            }
            continue;
        }
        if let Some(def) = product
            .properties
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name) && p.windows == WindowsPlacement::Property)
        {
            insert(&mut out, def, value)?;
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

/// Record a property's value; messages name the property as the console wrote it.
fn insert(out: &mut ImportedValues, def: &PropertyDef, value: &str) -> Result<()> {
    if let Err(v) = super::validate::check_no_control(value) {
        return Err(bad(format!("{}: {}", def.name, v.message), &v.hint));
    }
    let v = source_value(def.from, value).map_err(|m| {
        bad(
            format!("{}: {m}", def.name),
            &format!("the console writes {}=true or {}=false", def.name, def.name),
        )
    })?;
    out.set(def.from, v);
    Ok(())
}

fn known_hint(product: &Product) -> String {
    let names: Vec<&str> = product.properties.iter().map(|p| p.name.as_str()).collect();
    format!("{} knows {}", product.display_name, names.join(", "))
}

/// Input as quoted back in a message: never a token, whole or in part, nor arbitrary text. A
/// short word of name-like characters (a misspelled property, `maybe` for true/false) is
/// shown; anything else, and any word holding a run of 8 or more hex digits and dashes (a
/// token, or a piece of one), is described by its length only.
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
    let name_like = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-.:/@+".contains(c));
    if token_like || !name_like || s.chars().count() > 40 {
        format!("<{} characters, not shown>", s.chars().count())
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
                    .field(shown(key))
                    .hint(v.hint),
            ));
        }
        let def = product
            .properties
            .iter()
            .find(|p| p.macos && p.name == key)
            .ok_or_else(|| {
                Error::bad_input(
                    Problem::new(format!("unknown key '{}'", shown(key)))
                        .line(Some(n + 1))
                        .hint(known_hint(product)),
                )
            })?;
        let v = source_value(def.from, &value).map_err(|m| {
            Error::bad_input(
                Problem::new(m)
                    .line(Some(n + 1))
                    .field(key.to_string())
                    .hint(format!("write {key}=true or {key}=false")),
            )
        })?;
        out.set(def.from, v);
        out.lines.insert(def.from.policy_key(), n + 1);
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
    // Imported values may hold anything the console string or a \u escape can: quoted for YAML.
    let q = crate::formats::quote::yaml_double_quoted;
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
    match (token, &imported.token) {
        (TokenOut::Inline, Some(t)) => y += &format!("token: {}\n", q(t.expose())),
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

    const TOKEN: &str = "0fb12341-246b-448d-b07f-c6573ad5ad02";

    /// A profile with every kind of property (the code names no product).
    fn product(products: &Products) -> &Product {
        products
            .all()
            .find(|p| {
                p.windows.is_some()
                    && [Source::ProxyUrl, Source::Registration, Source::Cloaked]
                        .iter()
                        .all(|s| p.property_for(*s).is_some())
            })
            .expect("a profile with every property")
    }

    fn name(p: &Product, s: Source) -> &str {
        &p.property_for(s).unwrap().name
    }

    /// The console's arguments for `p`, built from its profile.
    fn console_args(p: &Product) -> String {
        let packed = &p.windows.as_ref().unwrap().packed_property;
        format!(
            r#"msiexec /i vendor.msi {packed}="{}=https://host:4285&{}={TOKEN}&{}=http://p:8080/x.pac" {}=true {}=false /norestart /qn"#,
            name(p, Source::DeploymentUrl),
            name(p, Source::Token),
            name(p, Source::ProxyUrl),
            name(p, Source::Registration),
            name(p, Source::Cloaked),
        )
    }

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
        let p = product(&products);
        let args = console_args(p);
        for args in [
            args.as_str(),
            args.trim_start_matches("msiexec /i vendor.msi "),
        ] {
            let v = import_windows_args(args, p).unwrap();
            assert_eq!(v.values["deployment_url"], "https://host:4285");
            assert_eq!(v.values["registration"], "silent");
            assert_eq!(v.values["cloaked"], "false");
            assert_eq!(v.values["proxy_url"], "http://p:8080/x.pac");
            assert_eq!(v.token.as_ref().unwrap().expose(), TOKEN);
        }
        let packed = &p.windows.as_ref().unwrap().packed_property;
        let err = import_windows_args(&format!("{packed}=\"FOO=1\""), p).unwrap_err();
        assert!(err.to_string().contains("unknown key 'FOO'"));
        // A bad switch value is named as the console wrote it, not as a policy key.
        let reg = name(p, Source::Registration);
        let err = import_windows_args(
            &args.replace(&format!("{reg}=true"), &format!("{reg}=maybe")),
            p,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(&format!("{reg}: expected true or false, found 'maybe'")),
            "{err}"
        );
        assert!(!err.contains("registration"), "{err}");
    }

    #[test]
    fn only_short_name_like_words_are_quoted_back() {
        assert_eq!(shown("CP_SILNET"), "CP_SILNET");
        assert_eq!(shown("maybe"), "maybe");
        assert_eq!(shown("$(rm -rf ~)"), "<11 characters, not shown>");
        assert_eq!(shown(&TOKEN[..12]), "<12 characters, not shown>");
        assert_eq!(shown(&"A".repeat(41)), "<41 characters, not shown>");
    }

    #[test]
    fn debug_never_shows_the_token() {
        let products = Products::load(None).unwrap();
        let p = product(&products);
        let v = import_windows_args(&console_args(p), p).unwrap();
        let shown = format!("{v:?}");
        assert!(
            !shown.contains(TOKEN) && !shown.contains(&TOKEN[..8]),
            "{shown}"
        );
        assert!(shown.contains(crate::secret::REDACTED), "{shown}");
        let yaml = render_policy_yaml("a", &p.id, "A", &v, TokenOut::Inline);
        assert!(yaml.contains(TOKEN), "inline means inline: {yaml}");
    }

    #[test]
    fn deploy_properties_import() {
        let products = Products::load(None).unwrap();
        let p = product(&products);
        let text = format!(
            "# x\n{}=https\\://h\n{}=false\n",
            name(p, Source::DeploymentUrl),
            name(p, Source::Registration)
        );
        let v = import_deploy_properties(&text, p).unwrap();
        assert_eq!(v.values["deployment_url"], "https://h");
        assert_eq!(v.values["registration"], "manual");
        assert_eq!(v.lines["deployment_url"], 2);
        assert_eq!(v.lines["registration"], 3);
    }
}
