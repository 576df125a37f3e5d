//! The deployment policy: the contract users write (`name`, `product`, `deployment_url`, ...).
//!
//! `raw` reads YAML or JSON into ordered keys with line numbers, `load` turns them into a
//! validated [`Policy`] reporting every problem at once, `import` builds one from the console's
//! copied install arguments or from a deploy.properties file.

mod import;
mod load;
mod model;
mod raw;
mod validate;

pub use import::{
    import_deploy_properties, import_windows_args, render_policy_yaml, ImportedValues, TokenOut,
};
pub use load::{load_policy, load_policy_text, LoadOptions, MISSING};
pub use model::{Policy, Registration, Scope, POLICY_KEYS};
pub use validate::{check_env_name, check_name, check_packable};

/// The closest candidate to a misspelled word, if any is close enough.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(word, c), *c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    #[test]
    fn did_you_mean_finds_typos_only() {
        let keys = super::POLICY_KEYS;
        assert_eq!(
            super::did_you_mean("deployment_ur", keys),
            Some("deployment_url")
        );
        assert_eq!(super::did_you_mean("tokn", keys), Some("token"));
        assert_eq!(super::did_you_mean("zzzzzz", keys), None);
    }
}
