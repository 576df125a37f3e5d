//! The tera environment over the templates embedded from `templates/`.
//!
//! Strict: an undefined variable is an error. Autoescape is off; every value reaching a script,
//! command line or XML goes through the filter for that target (see `formats::quote`).

use crate::error::{Error, Result};
use std::sync::OnceLock;

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/", $name)))),*]
    };
}

/// Every template, by its path under `templates/`.
pub const TEMPLATES: &[(&str, &str)] = templates![
    "macos/deploy.properties",
    "macos/write-properties.sh",
    "macos/preinstall.sh",
    "jamf/install.sh",
    "jamf/script.xml",
    "jamf/profile.xml",
    "jamf/policy.xml",
    "jamf/package.xml",
    "windows/install-args.txt",
    "windows/install.cmd",
    "windows/uninstall.cmd",
    "sccm/New-Application.ps1",
];

fn build() -> std::result::Result<tera::Tera, tera::Error> {
    let mut tera = tera::Tera::default();
    tera.autoescape_on(vec![]);
    tera.add_raw_templates(TEMPLATES.iter().copied())?;
    crate::formats::quote::register_filters(&mut tera);
    Ok(tera)
}

fn engine() -> Result<&'static tera::Tera> {
    static ENGINE: OnceLock<std::result::Result<tera::Tera, String>> = OnceLock::new();
    ENGINE
        .get_or_init(|| build().map_err(|e| describe(&e)))
        .as_ref()
        .map_err(|e| Error::internal(format!("templates do not compile: {e}")))
}

/// The full chain of a tera error (its Display shows only the outermost cause).
fn describe(e: &tera::Error) -> String {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

/// Render a template with a serializable context.
pub fn render(name: &str, context: &impl serde::Serialize) -> Result<String> {
    let ctx = tera::Context::from_serialize(context)
        .map_err(|e| Error::internal(format!("template context for {name}: {}", describe(&e))))?;
    engine()?.render(name, &ctx).map_err(|e| {
        let msg = describe(&e);
        // A value that cannot be escaped for the target is the input's fault, not ours.
        if crate::formats::quote::find_quote_error(&e).is_some() {
            Error::bad_input(crate::error::Problem::new(format!(
                "rendering {name}: {msg}"
            )))
        } else {
            Error::internal(format!("rendering {name}: {msg}"))
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn all_templates_compile_and_undefined_variables_fail() {
        super::engine().unwrap();
        let err = super::render("windows/install-args.txt", &serde_json::json!({})).unwrap_err();
        assert_eq!(err.exit_code(), 1);
    }
}
