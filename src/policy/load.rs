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
    let entries = raw::parse(text, json).map_err(|p| Error::bad_input(p.file(path)))?;
    Checker::new(path, entries, opts).run()
}

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
}

impl<'a> Checker<'a> {
    fn new(path: &'a Path, list: Vec<Entry>, opts: &'a LoadOptions<'a>) -> Self {
        let mut problems = Problems::default();
        let mut entries = BTreeMap::new();
        for e in list {
            if POLICY_KEYS.contains(&e.key.as_str()) {
                entries.insert(e.key.clone(), e);
                continue;
            }
            let mut p = Problem::new(format!("unknown key '{}'", e.key))
                .file(path)
                .line(e.line)
                .field(e.key.clone());
            p = match super::did_you_mean(&e.key, POLICY_KEYS) {
                Some(k) => p.hint(format!("did you mean '{k}'?")),
                None => p.hint(format!("known keys: {}", POLICY_KEYS.join(", "))),
            };
            problems.push(p);
        }
        Checker {
            path,
            entries,
            opts,
            problems,
            token_file: None,
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
        self.problems.push(
            Problem::new("is required but missing")
                .file(self.path)
                .field(key)
                .hint(hint),
        );
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
        let given: Vec<&str> = ["token", "token_env", "token_file"]
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
                if validate::check_token(var.trim()).is_ok() {
                    self.problem(
                        "token_env",
                        looks_like_a_token("the name of an environment variable"),
                    );
                    return None;
                }
                match (self.opts.env)(&var) {
                    Some(v) if !v.trim().is_empty() => ("token_env", v.trim().to_string()),
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
                if validate::check_token(rel.trim()).is_ok() {
                    self.problem("token_file", looks_like_a_token("a file's path"));
                    return None;
                }
                let base = self.path.parent().unwrap_or(Path::new("."));
                let file = base.join(&rel);
                match read_token_file(&file) {
                    Ok(t) => {
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
                    self.missing(
                        "product",
                        "add `product: crashplan` (see `agentpack products`) or pass --product",
                    );
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
            self.missing("deployment_url", "add the server URL from the deployment policy, e.g. https://console.us2.crashplan.com");
        }
        let token = self.token();
        let ssl_whitelist = self
            .checked("ssl_whitelist", validate::check_fingerprint)
            .map(|s| s.to_ascii_lowercase());
        let proxy_url = self.checked("proxy_url", validate::check_proxy_url);
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

    const GOOD: &str = "name: acme-prod\nproduct: crashplan\norganization: Acme Corp\ndeployment_url: https://console.us2.crashplan.com\ntoken: 0fb12341-246b-448d-b07f-c6573ad5ad02\nregistration: silent\n";

    fn load(text: &str, file: &str) -> Result<Policy> {
        let products = Products::load(None).unwrap();
        let env =
            |k: &str| (k == "TOK").then(|| "0fb12341-246b-448d-b07f-c6573ad5ad02".to_string());
        let opts = LoadOptions {
            products: &products,
            default_product: None,
            env: &env,
        };
        load_policy_text(Path::new(file), text, &opts)
    }

    #[test]
    fn good_policy_loads_with_defaults() {
        let p = load(GOOD, "p.yaml").unwrap();
        assert_eq!(p.name, "acme-prod");
        assert!(!p.cloaked);
        assert_eq!(p.scope, Scope::Device);
        assert_eq!(p.registration, Registration::Silent);
    }

    #[test]
    fn token_env_is_read() {
        let text = GOOD.replace(
            "token: 0fb12341-246b-448d-b07f-c6573ad5ad02",
            "token_env: TOK",
        );
        assert!(load(&text, "p.yaml").is_ok());
        let missing = GOOD.replace(
            "token: 0fb12341-246b-448d-b07f-c6573ad5ad02",
            "token_env: NOPE",
        );
        assert!(load(&missing, "p.yaml")
            .unwrap_err()
            .to_string()
            .contains("NOPE is not set"));
    }

    #[test]
    fn every_problem_is_reported_with_line_and_hint() {
        let text = "name: Acme Prod\nproduct: crashplan\norganization: Acme\ndeployment_url: http://x\ntoken: nope\nregistraton: silent\nssl_whitelist: xyz\n";
        let err = load(text, "p.yaml").unwrap_err();
        let fields: Vec<_> = err
            .problems
            .iter()
            .map(|p| p.field.clone().unwrap())
            .collect();
        for f in [
            "name",
            "deployment_url",
            "token",
            "registraton",
            "ssl_whitelist",
            "registration",
        ] {
            assert!(fields.contains(&f.to_string()), "{f} missing in {err}");
        }
        let msg = err.to_string();
        assert!(msg.contains("p.yaml:6: registraton: unknown key"), "{msg}");
        assert!(msg.contains("did you mean 'registration'"), "{msg}");
        assert!(!msg.contains("nope"), "token value leaked: {msg}");
    }

    #[test]
    fn json_policies_and_packed_characters() {
        let text = r#"{"name": "a", "product": "crashplan", "organization": "A & B", "deployment_url": "https://h/?a=b", "token": "0fb12341-246b-448d-b07f-c6573ad5ad02", "registration": "manual"}"#;
        let err = load(text, "p.json").unwrap_err();
        assert_eq!(err.problems.len(), 1, "{err}");
        assert_eq!(err.problems[0].field.as_deref(), Some("deployment_url"));
    }
}
