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
