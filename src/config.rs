//! `agentpack.yaml`: which product, installers and policies one build uses.

use crate::error::{Error, Problem, Problems, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

pub const DEFAULT_CONFIG: &str = "agentpack.yaml";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Installers {
    pub windows: Option<PathBuf>,
    pub macos: Option<PathBuf>,
}

/// The file as written; paths are relative to the file's folder.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub product: Option<String>,
    #[serde(default)]
    pub installers: Installers,
    #[serde(default)]
    pub policies: Vec<String>,
    pub out: Option<PathBuf>,
}

/// A loaded config with paths resolved against its folder.
#[derive(Debug, Default)]
pub struct Config {
    pub file: Option<PathBuf>,
    pub product: Option<String>,
    pub msi: Option<PathBuf>,
    pub pkg: Option<PathBuf>,
    pub policies: Vec<PathBuf>,
    pub out: Option<PathBuf>,
}

const KEYS: &[&str] = &["product", "installers", "policies", "out"];

impl Config {
    pub fn load(path: &Path) -> Result<Config> {
        let text = crate::build::read_text(path, "config", 1 << 20, "save the config as UTF-8")?;
        let file: ConfigFile = serde_norway::from_str(&text).map_err(|e| {
            let msg = e.to_string();
            let shown = match msg.find(" at line ") {
                Some(i) => &msg[..i],
                None => &msg,
            };
            let shown = crate::secret::hide_quoted_values(shown);
            let mut p = Problem::new(format!("invalid config: {shown}"))
                .file(path)
                .line(e.location().map(|l| l.line()));
            if let Some(word) = msg
                .split('`')
                .nth(1)
                .filter(|_| msg.starts_with("unknown field"))
            {
                if let Some(k) = crate::policy::did_you_mean(word, KEYS) {
                    p = p.hint(format!("did you mean '{k}'?"));
                }
            }
            Error::bad_input(p)
        })?;
        let base = path.parent().unwrap_or(Path::new(""));
        let mut problems = Problems::default();
        let mut policies = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for pattern in &file.policies {
            match expand(base, pattern) {
                Ok(found) if found.is_empty() => problems.push(
                    Problem::new(format!("'{pattern}' matches no file"))
                        .file(path)
                        .field("policies")
                        .hint("paths and globs are relative to the config file"),
                ),
                Ok(found) => {
                    // A file both listed and matched by a glob is one policy, not a clash.
                    for f in found {
                        let key = std::fs::canonicalize(&f).unwrap_or_else(|_| f.clone());
                        if seen.insert(key) {
                            policies.push(f);
                        }
                    }
                }
                Err(p) => problems.push(p.file(path)),
            }
        }
        problems.finish()?;
        Ok(Config {
            file: Some(path.to_path_buf()),
            product: file.product,
            msi: file.installers.windows.map(|p| base.join(p)),
            pkg: file.installers.macos.map(|p| base.join(p)),
            policies,
            out: file.out.map(|p| base.join(p)),
        })
    }
}

/// A path or glob relative to `base`, sorted for deterministic order.
pub fn expand(base: &Path, pattern: &str) -> std::result::Result<Vec<PathBuf>, Problem> {
    let full = base.join(pattern);
    let text = full.to_string_lossy();
    if !pattern.contains(['*', '?', '[']) {
        return Ok(if full.exists() {
            vec![full]
        } else {
            Vec::new()
        });
    }
    let paths = glob::glob(&text).map_err(|e| {
        Problem::new(format!("'{pattern}' is not a valid glob: {e}")).field("policies")
    })?;
    let mut out: Vec<PathBuf> = paths
        .filter_map(|p| p.ok())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_and_resolves_paths() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("policies")).unwrap();
        for n in ["b.yaml", "a.yaml"] {
            std::fs::write(dir.path().join("policies").join(n), "").unwrap();
        }
        let cfg = dir.path().join("agentpack.yaml");
        std::fs::write(&cfg, "product: example\ninstallers:\n  windows: x.msi\npolicies: [\"policies/*.yaml\"]\nout: dist\n").unwrap();
        let c = Config::load(&cfg).unwrap();
        assert_eq!(c.policies.len(), 2);
        std::fs::write(
            &cfg,
            "policies: [\"policies/a.yaml\", \"policies/*.yaml\"]\n",
        )
        .unwrap();
        assert_eq!(
            Config::load(&cfg).unwrap().policies.len(),
            2,
            "listed and globbed: once"
        );
        assert!(c.policies[0].ends_with("policies/a.yaml"));
        assert_eq!(c.msi.unwrap(), dir.path().join("x.msi"));
    }

    #[test]
    fn unknown_keys_and_empty_globs_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("agentpack.yaml");
        std::fs::write(&cfg, "prodcut: example\n").unwrap();
        assert!(Config::load(&cfg)
            .unwrap_err()
            .to_string()
            .contains("did you mean 'product'"));
        std::fs::write(&cfg, "policies: [\"none/*.yaml\"]\n").unwrap();
        assert!(Config::load(&cfg)
            .unwrap_err()
            .to_string()
            .contains("matches no file"));
    }
}
