//! `<policy>.mst`: the customization transform that sets the policy's properties in the vendor
//! MSI's Property table (updating rows it has, inserting the rest).

use super::installer::MsiInstaller;
use super::properties::WindowsProperties;
use crate::error::{Error, Problem, Result};
use crate::formats::mst::{write_transform, ChangeSet, TransformOptions};
use crate::policy::Policy;
use crate::secret::REDACTED;

/// The transform's bytes. ProductCode, ProductVersion and UpgradeCode never change (the writer
/// refuses), so ConfigMgr's detection on the ProductCode stays valid.
/// The Windows Installer property listing properties whose values are not logged.
pub const HIDDEN: &str = "MsiHiddenProperties";

/// The base's hidden properties plus every property holding the token, `;`-separated; None
/// when nothing needs adding.
fn hidden_properties(base: Option<&str>, props: &WindowsProperties) -> Option<String> {
    let mut names: Vec<String> = base
        .unwrap_or("")
        .split(';')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(String::from)
        .collect();
    let before = names.len();
    for p in props.all().filter(|p| p.secret && !p.value.is_empty()) {
        if !names.iter().any(|n| n == &p.name) {
            names.push(p.name.clone());
        }
    }
    (names.len() > before).then(|| names.join(";"))
}

pub fn render_transform(
    msi: &MsiInstaller,
    policy: &Policy,
    props: &WindowsProperties,
) -> Result<Vec<u8>> {
    let mut changes = ChangeSet::new();
    // An empty value would delete the row (empty is NULL in Windows Installer): leave it alone.
    for p in props.all().filter(|p| !p.value.is_empty()) {
        changes.set_property(&p.name, &p.value);
    }
    // Keep the token out of the device's verbose install log: Windows Installer does not log
    // the values of properties listed in MsiHiddenProperties (keeping the base's entries).
    if let Some(hidden) = hidden_properties(msi.db.property(HIDDEN), props) {
        changes.set_property(HIDDEN, &hidden);
    }
    let opts = TransformOptions {
        title: format!("agentpack policy {}", policy.name),
        ..TransformOptions::default()
    };
    write_transform(&msi.db, &changes, &opts).map_err(|e| {
        // MST errors may quote the offending value, which can hold the token: redact it.
        let message = e.to_string().replace(policy.token.expose(), REDACTED);
        let problem = Problem::new(format!(
            "cannot write the transform for {}: {message}",
            msi.file_name
        ))
        .file(&policy.source)
        .hint("use values the MSI's codepage can hold (see `agentpack inspect` on the MSI)");
        if e.is_bad_input() {
            Error::bad_input(problem)
        } else {
            Error::internal(problem.message)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::windows::Property;

    fn props(secret_packed: bool) -> WindowsProperties {
        let p = |name: &str, value: &str, secret: bool| Property {
            name: name.into(),
            value: value.into(),
            secret,
        };
        WindowsProperties {
            packed: p("CP_ARGS", "DEPLOYMENT_POLICY_TOKEN=x", secret_packed),
            properties: vec![p("CP_SILENT", "true", false)],
        }
    }

    #[test]
    fn token_properties_are_hidden_keeping_the_base_list() {
        assert_eq!(
            hidden_properties(None, &props(true)).as_deref(),
            Some("CP_ARGS")
        );
        assert_eq!(
            hidden_properties(Some("A;B"), &props(true)).as_deref(),
            Some("A;B;CP_ARGS")
        );
        assert_eq!(hidden_properties(Some("CP_ARGS"), &props(true)), None);
        assert_eq!(hidden_properties(None, &props(false)), None);
    }
}
