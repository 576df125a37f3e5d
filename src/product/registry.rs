//! Loading profiles: the embedded set, optionally overridden from a folder.

use super::schema::{Product, WindowsPlacement};
use crate::error::{Error, Problem, Problems, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// The embedded profiles, as (file name, text).
const EMBEDDED: &[(&str, &str)] = &[
    (
        "code42-legacy.yaml",
        include_str!("../../profiles/code42-legacy.yaml"),
    ),
    ("code42.yaml", include_str!("../../profiles/code42.yaml")),
    (
        "crashplan.yaml",
        include_str!("../../profiles/crashplan.yaml"),
    ),
    (
        "incydr-agent.yaml",
        include_str!("../../profiles/incydr-agent.yaml"),
    ),
];

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
            Problem::new(format!("invalid profile: {e}"))
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

    #[test]
    fn embedded_profiles_load_and_are_consistent() {
        let products = Products::load(None).unwrap();
        let ids: Vec<&str> = products.ids().collect();
        assert_eq!(
            ids,
            ["code42", "code42-legacy", "crashplan", "incydr-agent"]
        );
        let cp = products.get("crashplan").unwrap();
        assert_eq!(cp.windows.as_ref().unwrap().packed_property, "CP_ARGS");
        assert_eq!(cp.macos.as_ref().unwrap().team_id, "UGHXR79U6M");
    }

    #[test]
    fn unknown_product_suggests_a_close_one() {
        let products = Products::load(None).unwrap();
        let p = products.require("crashplna").unwrap_err();
        assert!(p.hint.unwrap().contains("did you mean 'crashplan'"));
    }

    #[test]
    fn override_folder_replaces_and_adds() {
        let dir = tempfile::tempdir().unwrap();
        let text = include_str!("../../profiles/crashplan.yaml")
            .replace("id: crashplan", "id: crashplan-test");
        std::fs::write(dir.path().join("x.yaml"), text).unwrap();
        let products = Products::load(Some(dir.path())).unwrap();
        assert!(products.get("crashplan-test").is_some());
        std::fs::write(dir.path().join("bad.yaml"), "id: Bad\nnope: 1\n").unwrap();
        let err = Products::load(Some(dir.path())).unwrap_err();
        assert!(err.to_string().contains("bad.yaml"), "{err}");
    }
}
