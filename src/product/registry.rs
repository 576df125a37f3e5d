//! Loading profiles: the embedded set, optionally overridden from a folder.

use super::schema::{Product, WindowsPlacement};
use crate::error::{Error, Problem, Problems, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// The embedded profiles, as (file name, text): every file in `profiles/`, listed by build.rs.
const EMBEDDED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/profiles.rs"));

/// All known products by id.
#[derive(Debug, Clone)]
pub struct Products {
    by_id: BTreeMap<String, Product>,
}

impl Products {
    /// The embedded profiles, plus those in `dir` (which override embedded ones of the same id).
    pub fn load(dir: Option<&Path>) -> Result<Products> {
        let mut by_id = BTreeMap::new();
        for (name, text) in EMBEDDED {
            let p = parse(Path::new(&format!("profiles/{name}")), text)
                .map_err(|e| Error::internal(format!("embedded profile {name} is invalid: {e}")))?;
            by_id.insert(p.id.clone(), p);
        }
        if let Some(dir) = dir {
            let entries = std::fs::read_dir(dir)
                .map_err(|e| Error::io(dir, "read the profiles folder", e))?;
            let mut paths: Vec<_> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
                .collect();
            paths.sort();
            let mut problems = Problems::default();
            for path in paths {
                let text = match std::fs::read_to_string(&path) {
                    Ok(t) => t,
                    Err(e) => {
                        problems.extend(Error::io(&path, "read the profile", e));
                        continue;
                    }
                };
                match parse(&path, &text) {
                    Ok(p) => {
                        by_id.insert(p.id.clone(), p);
                    }
                    Err(e) => problems.extend(e),
                }
            }
            problems.finish()?;
        }
        Ok(Products { by_id })
    }

    pub fn get(&self, id: &str) -> Option<&Product> {
        self.by_id.get(id)
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.by_id.keys().map(String::as_str)
    }

    pub fn all(&self) -> impl Iterator<Item = &Product> {
        self.by_id.values()
    }

    /// The product, or a bad-input problem listing the known ones.
    pub fn require(&self, id: &str) -> std::result::Result<&Product, Problem> {
        self.get(id).ok_or_else(|| {
            let known: Vec<&str> = self.ids().collect();
            let mut hint = format!("known products: {}", known.join(", "));
            if let Some(close) = crate::policy::did_you_mean(id, &known) {
                hint = format!("did you mean '{close}'? {hint}");
            }
            Problem::new(format!("unknown product '{id}'"))
                .hint(format!("{hint} (or add a profile with --profiles DIR)"))
        })
    }
}

fn parse(path: &Path, text: &str) -> Result<Product> {
    let product: Product = serde_norway::from_str(text).map_err(|e| {
        Error::bad_input(
            Problem::new(format!(
                "invalid profile: {}",
                crate::secret::hide_quoted_values(&e.to_string())
            ))
            .file(path)
            .line(e.location().map(|l| l.line())),
        )
    })?;
    check(&product).map_err(|e| e.in_file(path))?;
    Ok(product)
}

/// Consistency rules a profile must meet so the renderers can trust it.
fn check(p: &Product) -> Result<()> {
    let mut problems = Problems::default();
    let id_ok = !p.id.is_empty()
        && p.id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !id_ok {
        problems.push(Problem::new("must be lowercase letters, digits and '-'").field("id"));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, prop) in p.properties.iter().enumerate() {
        let field = format!("properties[{i}].name");
        let valid = prop
            .name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
            && prop
                .name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            problems.push(
                Problem::new(format!("'{}' is not a public MSI property name", prop.name))
                    .field(&field)
                    .hint("use uppercase letters, digits and '_'"),
            );
        }
        if !seen.insert(prop.from) {
            problems.push(
                Problem::new("two properties take their value from the same policy field")
                    .field(&field),
            );
        }
    }
    if p.windows.is_none()
        && p.properties
            .iter()
            .any(|x| x.windows != WindowsPlacement::None)
    {
        problems.push(
            Problem::new("properties are placed on Windows but there is no 'windows' section")
                .field("windows"),
        );
    }
    for s in &p.scopes {
        if s != "device" && s != "user" {
            problems.push(
                Problem::new(format!("unknown scope '{s}'"))
                    .field("scopes")
                    .hint("use device or user"),
            );
        }
    }
    problems.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profiles_dir() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles")
    }

    #[test]
    fn every_file_in_the_profiles_folder_is_embedded_and_consistent() {
        let mut files: Vec<(String, String)> = std::fs::read_dir(profiles_dir())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
            .map(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read_to_string(&p).unwrap())
            })
            .collect();
        files.sort();
        let embedded: Vec<(String, String)> = EMBEDDED
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        assert_eq!(embedded, files, "build.rs embeds exactly profiles/*.yaml");
        let products = Products::load(None).unwrap();
        let mut ids: Vec<String> = files
            .iter()
            .map(|(n, t)| parse(Path::new(n), t).unwrap().id)
            .collect();
        ids.sort();
        assert_eq!(products.ids().collect::<Vec<_>>(), ids);
    }

    #[test]
    fn unknown_product_suggests_a_close_one() {
        let products = Products::load(None).unwrap();
        let id = products.ids().max_by_key(|i| i.len()).unwrap().to_string();
        let typo = &id[..id.len() - 1];
        let p = products.require(typo).unwrap_err();
        let hint = p.hint.unwrap();
        assert!(hint.contains(&format!("did you mean '{id}'")), "{hint}");
    }

    #[test]
    fn override_folder_replaces_and_adds() {
        let dir = tempfile::tempdir().unwrap();
        let (_, text) = EMBEDDED[0];
        let id = parse(Path::new("x"), text).unwrap().id;
        let text = text.replace(&format!("id: {id}\n"), &format!("id: {id}-test\n"));
        std::fs::write(dir.path().join("x.yaml"), text).unwrap();
        let products = Products::load(Some(dir.path())).unwrap();
        assert!(products.get(&format!("{id}-test")).is_some());
        assert!(products.get(&id).is_some());
        std::fs::write(dir.path().join("bad.yaml"), "id: Bad\nnope: 1\n").unwrap();
        let err = Products::load(Some(dir.path())).unwrap_err();
        assert!(err.to_string().contains("bad.yaml"), "{err}");
    }

    #[test]
    fn profile_errors_do_not_echo_values() {
        let dir = tempfile::tempdir().unwrap();
        let (_, text) = EMBEDDED[0];
        let secret = "0fb12341246b448db07fc6573ad5ad02";
        let bad = text.replacen("id: ", &format!("era: [\"{secret}\"]\nid: "), 1);
        std::fs::write(dir.path().join("bad.yaml"), bad).unwrap();
        let err = Products::load(Some(dir.path())).unwrap_err();
        assert!(!format!("{err} {err:?}").contains(secret), "{err}");
    }

    /// Words of display names and vendor names that are not names of a vendor.
    const GENERIC: &[&str] = &["agent", "software", "group", "inc", "llc", "corp", "app"];

    /// What names a vendor, from the profiles: ids, display and vendor names (and their
    /// distinctive words), and the vendor's domains (from its reverse-DNS identifiers).
    fn vendor_strings(products: &Products) -> Vec<String> {
        let mut out = std::collections::BTreeSet::new();
        for p in products.all() {
            for name in [&p.id, &p.display_name, &p.vendor] {
                out.insert(name.to_lowercase());
            }
            for word in p
                .display_name
                .split_whitespace()
                .chain(p.vendor.split_whitespace())
            {
                let w = word.to_lowercase();
                if w.len() >= 4 && !GENERIC.contains(&w.as_str()) {
                    out.insert(w);
                }
            }
            let mut ids: Vec<&String> = Vec::new();
            if let Some(m) = &p.macos {
                ids.push(&m.bundle_id);
                ids.extend(&m.receipt_ids);
                ids.extend(m.launchd.values());
                if let Some(s) = &m.system_extension {
                    ids.extend(&s.identifiers);
                }
            }
            for id in ids {
                let labels: Vec<&str> = id.split('.').collect();
                if labels.len() >= 2 {
                    out.insert(labels[1].to_lowercase());
                    out.insert(format!("{}.{}", labels[1], labels[0]).to_lowercase());
                }
            }
        }
        out.into_iter().collect()
    }

    /// The rule: no vendor string in src/ (code, comments and tests alike). Vendor facts live
    /// in profiles/ and templates; a new vendor or era never needs a code change.
    #[test]
    fn no_vendor_string_in_src() {
        let products = Products::load(None).unwrap();
        let needles = vendor_strings(&products);
        assert!(needles.len() >= products.all().count() * 2, "{needles:?}");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut found = Vec::new();
        for entry in walkdir::WalkDir::new(&src) {
            let entry = entry.unwrap();
            if !entry.file_type().is_file() {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(entry.path()) else {
                continue;
            };
            for (n, line) in text.lines().enumerate() {
                let lower = line.to_lowercase();
                for needle in &needles {
                    if lower.contains(needle.as_str()) {
                        let rel = entry
                            .path()
                            .strip_prefix(&src)
                            .unwrap()
                            .display()
                            .to_string();
                        found.push(format!("src/{rel}:{}: '{needle}'", n + 1));
                    }
                }
            }
        }
        assert!(
            found.is_empty(),
            "vendor strings in src/ (take them from the profiles instead):\n{}",
            found.join("\n")
        );
    }
}
