//! From a policy file to a validated [`Policy`], reporting every problem at once.

use super::model::{Policy, Registration, Scope, POLICY_KEYS};
use super::raw::{self, Entry, RawValue};
use super::validate::{self, Violation};
use crate::error::{Error, Problem, Problems, Result};
use crate::product::{Products, Source};
use crate::secret::Secret;
use std::collections::BTreeMap;
use std::path::Path;

/// What loading needs besides the file.
pub struct LoadOptions<'a> {
    pub products: &'a Products,
    /// Product for policies that do not name one (from agentpack.yaml or `--product`).
    pub default_product: Option<&'a str>,
    /// Environment lookup for `token_env` (injectable for tests).
    pub env: &'a (dyn Fn(&str) -> Option<String> + Sync),
}

/// Read and validate one policy file.
pub fn load_policy(path: &Path, opts: &LoadOptions) -> Result<Policy> {
    let limit = super::raw::MAX_FILE_BYTES as u64;
    let text = crate::build::read_text(path, "policy", limit, "save the policy as UTF-8")?;
    load_policy_text(path, &text, opts)
}

/// Validate policy text; `path` names it in messages and decides YAML vs JSON by extension.
pub fn load_policy_text(path: &Path, text: &str, opts: &LoadOptions) -> Result<Policy> {
    let json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let parsed = raw::parse(text, json).map_err(|p| Error::bad_input(p.file(path)))?;
    let mut checker = Checker::new(path, parsed.entries, opts);
    for p in parsed.problems {
        checker.problems.push(p.file(path));
    }
    checker.run()
}

/// The message of a required key that is not given.
pub const MISSING: &str = "is required but missing";

/// Largest token file read: a UUID and some white space. Anything bigger is not a token file.
const MAX_TOKEN_FILE: u64 = 4096;

/// Read a `token_file`: only a regular file (never a FIFO, device or `/dev/zero`, which would
/// block or never end), at most [`MAX_TOKEN_FILE`] bytes. The message never holds the contents.
fn read_token_file(file: &Path) -> std::result::Result<String, String> {
    use std::io::Read;
    // `metadata` does not open the file: opening a FIFO would block until a writer appears.
    let meta =
        std::fs::metadata(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a regular file", file.display()));
    }
    let f =
        std::fs::File::open(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let mut bytes = Vec::new();
    f.take(MAX_TOKEN_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    if bytes.len() as u64 > MAX_TOKEN_FILE {
        return Err(format!(
            "{} is larger than {MAX_TOKEN_FILE} bytes: a token file holds only the token",
            file.display()
        ));
    }
    let text =
        String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8 text", file.display()))?;
    Ok(text
        .strip_prefix('\u{feff}')
        .map(str::to_string)
        .unwrap_or(text))
}

/// Whether a value is a token, perhaps in braces or quotes (written where a name belongs).
fn holds_a_token(value: &str) -> bool {
    let inner = value
        .trim()
        .trim_matches(['{', '}', '"', '\'', '<', '>', ' ']);
    validate::check_token(inner).is_ok()
}

/// A token written where a variable name or a path belongs: say so without echoing it.
fn looks_like_a_token(expected: &str) -> Violation {
    Violation {
        message: format!("holds what looks like the token itself, not {expected}"),
        hint: "write the token as `token: <uuid>`, or name the variable or file that holds it"
            .into(),
    }
}

struct Checker<'a> {
    path: &'a Path,
    entries: BTreeMap<String, Entry>,
    opts: &'a LoadOptions<'a>,
    problems: Problems,
    /// The token file read, if any (a build refuses to replace an OUT holding an input).
    token_file: Option<std::path::PathBuf>,
    /// Required keys an unknown key is a misspelling of: reported once, as that unknown key.
    typo_for: Vec<&'static str>,
    /// The token's value as read (from the file, the environment or a token file, valid or
    /// not): masked in every message, whatever form it reappears in.
    secrets: Vec<String>,
}

/// Keys every policy needs (the product may also come from the build's default).
const REQUIRED: &[&str] = &[
    "name",
    "product",
    "organization",
    "deployment_url",
    "registration",
];
/// The three ways to give the token; exactly one is required.
const TOKEN_KEYS: [&str; 3] = ["token", "token_env", "token_file"];

impl<'a> Checker<'a> {
    fn new(path: &'a Path, list: Vec<Entry>, opts: &'a LoadOptions<'a>) -> Self {
        let mut entries = BTreeMap::new();
        let mut unknown = Vec::new();
        for e in list {
            if POLICY_KEYS.contains(&e.key.as_str()) {
                entries.insert(e.key.clone(), e);
            } else {
                unknown.push(e);
            }
        }
        let mut checker = Checker {
            path,
            entries,
            opts,
            problems: Problems::default(),
            token_file: None,
            typo_for: Vec::new(),
            secrets: Vec::new(),
        };
        for e in unknown {
            let mut p = Problem::new(format!("unknown key '{}'", e.key))
                .file(path)
                .line(e.line)
                .field(e.key.clone());
            p = match super::did_you_mean(&e.key, POLICY_KEYS) {
                // A misspelled required key: one message, saying it is required.
                Some(k) if checker.is_required_and_absent(k) => {
                    checker.typo_for.push(k);
                    p.hint(format!(
                        "did you mean '{k}'? It is required: correct the key's spelling"
                    ))
                }
                Some(k) => p.hint(format!("did you mean '{k}'?")),
                None => p.hint(format!("known keys: {}", POLICY_KEYS.join(", "))),
            };
            checker.problems.push(p);
        }
        checker
    }

    /// Whether `key` must be given (or, for the token, one of its three forms) and is not.
    fn is_required_and_absent(&self, key: &str) -> bool {
        let given = |k: &str| self.entries.contains_key(k);
        match key {
            "token" | "token_env" | "token_file" => TOKEN_KEYS.iter().all(|k| !given(k)),
            "product" => self.opts.default_product.is_none() && !given(key),
            _ => REQUIRED.contains(&key) && !given(key),
        }
    }

    fn problem(&mut self, key: &str, violation: Violation) {
        let line = self.entries.get(key).and_then(|e| e.line);
        self.problems.push(
            Problem::new(violation.message)
                .file(self.path)
                .line(line)
                .field(key)
                .hint(violation.hint),
        );
    }

    fn missing(&mut self, key: &str, hint: &str) {
        let misspelled = self
            .typo_for
            .iter()
            .any(|k| *k == key || (TOKEN_KEYS.contains(k) && TOKEN_KEYS.contains(&key)));
        if misspelled {
            return;
        }
        self.problems
            .push(Problem::new(MISSING).file(self.path).field(key).hint(hint));
    }

    /// A string value, or None (with a problem recorded when present but of the wrong type).
    fn string(&mut self, key: &str) -> Option<String> {
        let value = self.entries.get(key)?.value.clone();
        match value {
            RawValue::Str(s) => {
                if let Err(v) = validate::check_no_control(&s) {
                    self.problem(key, v);
                    return None;
                }
                if s.trim().is_empty() {
                    self.problem(
                        key,
                        Violation {
                            message: "is empty".into(),
                            hint: "give a value or remove the key".into(),
                        },
                    );
                    return None;
                }
                if s.len() > 2048 {
                    self.problem(
                        key,
                        Violation {
                            message: format!("is {} bytes long; at most 2048", s.len()),
                            hint: "shorten it".into(),
                        },
                    );
                    return None;
                }
                Some(s)
            }
            other => {
                let t = other.type_name();
                self.problem(
                    key,
                    Violation {
                        message: format!("must be text, not {t}"),
                        hint: "quote the value".into(),
                    },
                );
                None
            }
        }
    }

    fn boolean(&mut self, key: &str) -> Option<bool> {
        let value = self.entries.get(key)?.value.clone();
        match value {
            RawValue::Bool(b) => Some(b),
            other => {
                let t = other.type_name();
                self.problem(
                    key,
                    Violation {
                        message: format!("must be true or false, not {t}"),
                        hint: "write true or false without quotes".into(),
                    },
                );
                None
            }
        }
    }

    fn choice<T: Copy>(&mut self, key: &str, choices: &[(&str, T)]) -> Option<T> {
        let s = self.string(key)?;
        if let Some((_, t)) = choices.iter().find(|(n, _)| *n == s) {
            return Some(*t);
        }
        let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
        self.problem(
            key,
            Violation {
                message: format!("'{s}' is not one of {}", names.join(", ")),
                hint: format!("use {}", names.join(" or ")),
            },
        );
        None
    }

    fn checked(
        &mut self,
        key: &str,
        rule: fn(&str) -> std::result::Result<(), Violation>,
    ) -> Option<String> {
        let s = self.string(key)?;
        match rule(&s) {
            Ok(()) => Some(s),
            Err(v) => {
                self.problem(key, v);
                None
            }
        }
    }

    fn token(&mut self) -> Option<Secret> {
        if let Some(RawValue::Str(s) | RawValue::Number(s)) =
            self.entries.get("token").map(|e| &e.value)
        {
            self.secrets.push(s.clone());
        }
        let given: Vec<&str> = TOKEN_KEYS
            .into_iter()
            .filter(|k| self.entries.contains_key(*k))
            .collect();
        if given.len() > 1 {
            let key = given[1];
            self.problem(
                key,
                Violation {
                    message: format!(
                        "only one of token, token_env and token_file may be given (found {})",
                        given.join(", ")
                    ),
                    hint: "keep the one you want".into(),
                },
            );
            return None;
        }
        let (key, value) = match given.first().copied() {
            None => {
                self.missing("token", "give `token: <uuid>`, or `token_env: VAR` / `token_file: PATH` to keep the secret out of the file");
                return None;
            }
            Some("token") => {
                // Not through `string`: its messages would be fine, but keep token handling in one place.
                let raw = self.entries.get("token").map(|e| e.value.clone());
                match raw {
                    Some(RawValue::Str(s)) => ("token", s),
                    Some(other) => {
                        let t = other.type_name();
                        self.problem(
                            "token",
                            Violation {
                                message: format!("must be text, not {t}"),
                                hint: "quote the token".into(),
                            },
                        );
                        return None;
                    }
                    None => return None,
                }
            }
            Some("token_env") => {
                let var = self.string("token_env")?;
                if holds_a_token(&var) {
                    self.problem(
                        "token_env",
                        looks_like_a_token("the name of an environment variable"),
                    );
                    return None;
                }
                if let Err(v) = validate::check_env_name(&var) {
                    self.problem("token_env", v);
                    return None;
                }
                match (self.opts.env)(&var) {
                    Some(v) if !v.trim().is_empty() => {
                        self.secrets.push(v.clone());
                        ("token_env", v.trim().to_string())
                    }
                    _ => {
                        self.problem(
                            "token_env",
                            Violation {
                                message: format!(
                                    "the environment variable {var} is not set or empty"
                                ),
                                hint: format!("export {var}=<token> before running agentpack"),
                            },
                        );
                        return None;
                    }
                }
            }
            Some(_) => {
                let rel = self.string("token_file")?;
                if holds_a_token(&rel) {
                    self.problem("token_file", looks_like_a_token("a file's path"));
                    return None;
                }
                let base = self.path.parent().unwrap_or(Path::new("."));
                let file = base.join(&rel);
                match read_token_file(&file) {
                    Ok(t) => {
                        self.secrets.push(t.clone());
                        self.token_file = Some(file);
                        ("token_file", t.trim().to_string())
                    }
                    Err(message) => {
                        self.problem("token_file", Violation {
                            message,
                            hint: "give the path (relative to the policy file) of a small text file holding only the token".into(),
                        });
                        return None;
                    }
                }
            }
        };
        if let Err(v) = validate::check_no_control(&value) {
            self.problem(key, v);
            return None;
        }
        if let Err(v) = validate::check_token(&value) {
            self.problem(key, v);
            return None;
        }
        // The vendor writes tokens in lowercase; the same UUID in capitals is the same token.
        Some(Secret::new(value.to_ascii_lowercase()))
    }

    /// Mask the token, in any form, in every problem: a value under a wrong key (`scope:`,
    /// a key name, a path) must not print it.
    fn mask_secrets(&mut self) {
        let secrets: Vec<&str> = self.secrets.iter().map(String::as_str).collect();
        let mask = |t: &str| crate::secret::mask_secrets(t, &secrets);
        for p in &mut self.problems.0 {
            p.message = mask(&p.message);
            p.hint = p.hint.as_deref().map(mask);
            p.field = p.field.as_deref().map(mask);
            if let Some(f) = &p.file {
                let shown = f.to_string_lossy();
                let masked = mask(&shown);
                if masked != shown {
                    p.file = Some(masked.into());
                }
            }
        }
    }

    fn run(mut self) -> Result<Policy> {
        let name = self.checked("name", validate::check_name);
        if !self.entries.contains_key("name") {
            self.missing(
                "name",
                "add `name: <org>-<env>`, e.g. `name: acme-prod`; it names the outputs",
            );
        }
        let product = match self.string("product") {
            Some(p) => Some(p),
            None if !self.entries.contains_key("product") => match self.opts.default_product {
                Some(p) => Some(p.to_string()),
                None => {
                    let ids: Vec<&str> = self.opts.products.ids().collect();
                    let hint = format!(
                        "add `product: <id>`, one of {} (see `agentpack products`), or pass --product",
                        ids.join(", ")
                    );
                    self.missing("product", &hint);
                    None
                }
            },
            None => None,
        };
        let product_def = match &product {
            Some(id) => match self.opts.products.require(id) {
                Ok(p) => Some(p),
                Err(problem) => {
                    let line = self.entries.get("product").and_then(|e| e.line);
                    self.problems
                        .push(problem.file(self.path).line(line).field("product"));
                    None
                }
            },
            None => None,
        };
        let organization = self.string("organization");
        if !self.entries.contains_key("organization") {
            self.missing(
                "organization",
                "add `organization: <display name>`, e.g. `organization: Acme Corp`",
            );
        }
        let deployment_url = self.checked("deployment_url", validate::check_deployment_url);
        if !self.entries.contains_key("deployment_url") {
            self.missing(
                "deployment_url",
                "add the server URL from the deployment policy, e.g. `deployment_url: https://console.example.com` (on premises https://host.example.com:4285)",
            );
        }
        let token = self.token();
        let ssl_whitelist = self
            .checked("ssl_whitelist", validate::check_fingerprint)
            .map(|s| s.to_ascii_lowercase());
        let proxy_url = self.checked("proxy_url", validate::check_proxy_url);
        // The token copied into another field would reach files that are not marked secret
        // (output names, profiles, Jamf records): refuse it, without echoing it.
        let [name, organization, deployment_url, ssl_whitelist, proxy_url] = [
            ("name", name),
            ("organization", organization),
            ("deployment_url", deployment_url),
            ("ssl_whitelist", ssl_whitelist),
            ("proxy_url", proxy_url),
        ]
        .map(|(key, value)| match (&token, value) {
            (Some(t), Some(v)) if crate::secret::holds_secret(&v, t.expose()) => {
                self.problem(
                    key,
                    Violation {
                        message: "holds the policy token".into(),
                        hint: "the token belongs only under `token` (or token_env / token_file): remove it from this value".into(),
                    },
                );
                None
            }
            (_, v) => v,
        });
        let registration = self.choice(
            "registration",
            &[
                ("silent", Registration::Silent),
                ("manual", Registration::Manual),
            ],
        );
        if !self.entries.contains_key("registration") {
            self.missing("registration", "add `registration: silent` (SSO username detection) or `registration: manual` (the user signs in)");
        }
        let cloaked = if self.entries.contains_key("cloaked") {
            self.boolean("cloaked")
        } else {
            Some(false)
        };
        let scope = if self.entries.contains_key("scope") {
            self.choice("scope", &[("device", Scope::Device), ("user", Scope::User)])
        } else {
            Some(Scope::Device)
        };

        if let Some(def) = product_def {
            // Values packed into one installer argument cannot hold the separators.
            let packable = [
                (
                    Source::DeploymentUrl,
                    "deployment_url",
                    deployment_url.as_deref(),
                ),
                (
                    Source::SslWhitelist,
                    "ssl_whitelist",
                    ssl_whitelist.as_deref(),
                ),
                (Source::ProxyUrl, "proxy_url", proxy_url.as_deref()),
            ];
            for (source, key, value) in packable {
                if let (true, Some(v)) = (def.is_packed(source), value) {
                    if let Err(v) = validate::check_packable(v) {
                        self.problem(key, v);
                    }
                }
            }
            if let Some(s) = scope {
                if !def.scopes.iter().any(|x| x == s.as_str()) {
                    self.problem(
                        "scope",
                        Violation {
                            message: format!(
                                "{} does not support scope '{}'",
                                def.display_name,
                                s.as_str()
                            ),
                            hint: format!("use {}", def.scopes.join(" or ")),
                        },
                    );
                }
            }
            for (source, key, value) in [
                (Source::SslWhitelist, "ssl_whitelist", &ssl_whitelist),
                (Source::ProxyUrl, "proxy_url", &proxy_url),
            ] {
                if value.is_some() && def.property_for(source).is_none() {
                    self.problem(
                        key,
                        Violation {
                            message: format!(
                                "{} has no deployment property for it",
                                def.display_name
                            ),
                            hint: "remove the key".into(),
                        },
                    );
                }
            }
        }

        self.mask_secrets();
        self.problems.finish()?;
        // Every field is Some here: a None always recorded a problem above.
        match (
            name,
            product,
            organization,
            deployment_url,
            token,
            registration,
            cloaked,
            scope,
        ) {
            (
                Some(name),
                Some(product),
                Some(organization),
                Some(deployment_url),
                Some(token),
                Some(registration),
                Some(cloaked),
                Some(scope),
            ) => Ok(Policy {
                name,
                product,
                organization,
                deployment_url,
                token,
                ssl_whitelist,
                proxy_url,
                registration,
                cloaked,
                scope,
                source: self.path.to_path_buf(),
                token_file: self.token_file.take(),
            }),
            _ => Err(Error::internal(format!(
                "{}: validation passed with a field unset",
                self.path.display()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0fb12341-246b-448d-b07f-c6573ad5ad02";

    /// A product (from the embedded profiles; the code names none) that packs the URL and
    /// has a fingerprint property, as most do.
    fn product_id() -> String {
        let products = Products::load(None).unwrap();
        let p = products
            .all()
            .find(|p| {
                p.is_packed(Source::DeploymentUrl) && p.property_for(Source::SslWhitelist).is_some()
            })
            .expect("a profile that packs the URL");
        p.id.clone()
    }

    fn good() -> String {
        format!("name: acme-prod\nproduct: {}\norganization: Acme Corp\ndeployment_url: https://console.example.com\ntoken: {TOKEN}\nregistration: silent\n", product_id())
    }

    fn load_with(text: &str, file: &str, default_product: Option<&str>) -> Result<Policy> {
        let products = Products::load(None).unwrap();
        let env = |k: &str| (k == "TOK").then(|| TOKEN.to_string());
        let opts = LoadOptions {
            products: &products,
            default_product,
            env: &env,
        };
        load_policy_text(Path::new(file), text, &opts)
    }

    fn load(text: &str, file: &str) -> Result<Policy> {
        load_with(text, file, None)
    }

    #[test]
    fn good_policy_loads_with_defaults() {
        let p = load(&good(), "p.yaml").unwrap();
        assert_eq!(p.name, "acme-prod");
        assert!(!p.cloaked);
        assert_eq!(p.scope, Scope::Device);
        assert_eq!(p.registration, Registration::Silent);
    }

    #[test]
    fn token_env_is_read() {
        let text = good().replace(&format!("token: {TOKEN}"), "token_env: TOK");
        assert!(load(&text, "p.yaml").is_ok());
        let missing = good().replace(&format!("token: {TOKEN}"), "token_env: NOPE");
        assert!(load(&missing, "p.yaml")
            .unwrap_err()
            .to_string()
            .contains("NOPE is not set"));
        let bad = good().replace(&format!("token: {TOKEN}"), "token_env: \"$(x) y\"");
        let e = load(&bad, "p.yaml").unwrap_err().to_string();
        assert!(e.contains("is not an environment variable name"), "{e}");
        assert!(!e.contains("$(x)"), "{e}");
    }

    #[test]
    fn every_problem_is_reported_with_line_and_hint() {
        let text = format!("name: Acme Prod\nproduct: {}\norganization: Acme\ndeployment_url: http://x\ntoken: nope\nregistraton: silent\nssl_whitelist: xyz\n", product_id());
        let err = load(&text, "p.yaml").unwrap_err();
        let fields: Vec<_> = err
            .problems
            .iter()
            .map(|p| p.field.clone().unwrap())
            .collect();
        assert_eq!(
            fields,
            [
                "registraton",
                "name",
                "deployment_url",
                "token",
                "ssl_whitelist"
            ],
            "{err}"
        );
        let msg = err.to_string();
        assert!(msg.contains("p.yaml:6: registraton: unknown key"), "{msg}");
        assert!(
            msg.contains("did you mean 'registration'? It is required"),
            "{msg}"
        );
        assert!(!msg.contains(MISSING), "the typo is the one message: {msg}");
        assert!(!msg.contains("nope"), "token value leaked: {msg}");
    }

    #[test]
    fn a_misspelled_key_does_not_hide_a_missing_one_it_is_not() {
        // `registraton` is not `name`: name is still reported missing. A misspelled optional
        // key is not called required.
        let text = good()
            .replace("name: acme-prod\n", "")
            .replace("registration:", "registraton:")
            + "scop: user\n";
        let err = load(&text, "p.yaml").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(&format!("name: {MISSING}")), "{msg}");
        assert!(!msg.contains(&format!("registration: {MISSING}")), "{msg}");
        assert!(
            msg.contains("did you mean 'scope'?\n") || msg.ends_with("did you mean 'scope'?"),
            "{msg}"
        );
        assert_eq!(err.problems.len(), 3, "{msg}");
        // A typo of one token key stands for all three.
        let tok = good().replace("token:", "tokne:");
        let err = load(&tok, "p.yaml").unwrap_err();
        assert_eq!(err.problems.len(), 1, "{err}");
        assert!(
            err.to_string()
                .contains("did you mean 'token'? It is required"),
            "{err}"
        );
        // With a default product, `prodcut` is only a typo, not a required key.
        let text = good().replace("product:", "prodcut:");
        let id = product_id();
        let err = load_with(&text, "p.yaml", Some(&id)).unwrap_err();
        assert!(err.to_string().contains("did you mean 'product'?"), "{err}");
        assert!(!err.to_string().contains("It is required"), "{err}");
    }

    #[test]
    fn duplicates_are_reported_with_every_other_problem() {
        for (file, text) in [
            (
                "p.yaml",
                format!("name: Bad Name\nproduct: {}\norganization: A\ndeployment_url: http://x\ntoken: nope\nregistration: silent\nregistration: manual\n", product_id()),
            ),
            (
                "p.json",
                format!("{{\n\"name\": \"Bad Name\",\n\"product\": \"{}\",\n\"organization\": \"A\",\n\"deployment_url\": \"http://x\",\n\"token\": \"nope\",\n\"registration\": \"silent\",\n\"registration\": \"manual\"\n}}", product_id()),
            ),
        ] {
            let err = load(&text, file).unwrap_err();
            let fields: Vec<_> = err.problems.iter().map(|p| p.field.clone().unwrap()).collect();
            assert_eq!(fields, ["registration", "name", "deployment_url", "token"], "{err}");
            let line = if file.ends_with("json") { 8 } else { 7 };
            assert!(err.to_string().contains(&format!("{file}:{line}: registration: key 'registration' appears twice")), "{err}");
        }
    }

    #[test]
    fn the_token_is_masked_in_any_form_in_every_message() {
        let lower = TOKEN.replace('-', "");
        for extra in [
            format!("scope: \"{{{TOKEN}}}\""),
            format!("\"{{{TOKEN}}}\": 1"),
            format!("scope: {}", TOKEN.to_uppercase()),
            format!("scope: x{lower}"),
            format!("organization: \"{TOKEN}\"\nscope: {TOKEN}"),
        ] {
            let text = good().replace("organization: Acme Corp\n", "") + &extra + "\n";
            let err = load(&text, "p.yaml").unwrap_err();
            let shown = format!(
                "{err} {err:?} {}",
                serde_json::to_string(&err.problems).unwrap()
            );
            assert!(!shown.to_lowercase().contains(&lower[..12]), "{shown}");
            assert!(!shown.to_lowercase().contains(&TOKEN[..13]), "{shown}");
        }
        // The token from the environment, reappearing dash-less under another key.
        let text = good().replace(&format!("token: {TOKEN}"), "token_env: TOK")
            + &format!("scope: {lower}\n");
        let err = load(&text, "p.yaml").unwrap_err();
        assert!(!format!("{err:?}").contains(&lower), "{err:?}");
        for (key, what) in [
            ("token_env", "the name of an environment variable"),
            ("token_file", "a file's path"),
        ] {
            let text = good().replace(
                &format!("token: {TOKEN}"),
                &format!("{key}: \"{{{TOKEN}}}\""),
            );
            let err = load(&text, "p.yaml").unwrap_err().to_string();
            assert!(err.contains(what), "{err}");
            assert!(!err.contains(&TOKEN[..8]), "{err}");
        }
    }

    #[test]
    fn the_token_copied_into_another_field_is_refused() {
        // Another UUID is only text.
        let other = good().replace("Acme Corp", "Acme 6f1a2b3c-4d5e-4f60-8172-93a4b5c6d7e8");
        assert!(load(&other, "p.yaml").is_ok());
        let bare = TOKEN.replace('-', "");
        for (key, line) in [
            (
                "organization",
                format!("organization: Acme {}", TOKEN.to_uppercase()),
            ),
            ("organization", format!("organization: \"{{{TOKEN}}}\"")),
            (
                "proxy_url",
                format!("organization: A\nproxy_url: http://p/{bare}.pac"),
            ),
            ("name", format!("organization: A\nname: x{bare}")),
        ] {
            let text = good().replace("organization: Acme Corp\n", "").replace(
                if key == "name" {
                    "name: acme-prod\n"
                } else {
                    "\u{0}"
                },
                "",
            ) + &line
                + "\n";
            let err = load(&text, "p.yaml").unwrap_err();
            assert_eq!(err.problems.len(), 1, "{err}");
            assert_eq!(err.problems[0].field.as_deref(), Some(key));
            assert!(err.to_string().contains("holds the policy token"), "{err}");
            assert!(
                !format!("{err:?}").to_lowercase().contains(&bare[..10]),
                "{err:?}"
            );
        }
    }

    #[test]
    fn json_policies_and_packed_characters() {
        let text = format!(
            r#"{{"name": "a", "product": "{}", "organization": "A & B", "deployment_url": "https://h/?a=b", "token": "{TOKEN}", "registration": "manual"}}"#,
            product_id()
        );
        let err = load(&text, "p.json").unwrap_err();
        assert_eq!(err.problems.len(), 1, "{err}");
        assert_eq!(err.problems[0].field.as_deref(), Some("deployment_url"));
    }

    #[test]
    fn hints_name_the_known_products() {
        let text = good().replace(&format!("product: {}\n", product_id()), "");
        let err = load(&text, "p.yaml").unwrap_err().to_string();
        let products = Products::load(None).unwrap();
        for id in products.ids() {
            assert!(err.contains(id), "{err}");
        }
    }
}
