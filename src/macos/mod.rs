//! macOS artifacts: deploy.properties, the configuration package, Jamf script, profiles and
//! Jamf import files.

mod deploy_properties;
mod installer;

pub use deploy_properties::render_deploy_properties;
pub use installer::PkgInstaller;

use crate::build::{Artifact, Context, Platform};
use crate::error::Result;

/// Every macOS artifact for one policy, under `<policy>/macos/`.
pub fn render(ctx: &Context) -> Result<Vec<Artifact>> {
    if ctx.product.macos.is_none() {
        return Ok(Vec::new());
    }
    let dir = format!("{}/macos", ctx.policy.name);
    let props = render_deploy_properties(ctx.policy, ctx.product)?;
    Ok(vec![Artifact::bytes(format!("{dir}/deploy.properties"), "deploy-properties", Platform::Macos, props.into_bytes())
        .for_policy(&ctx.policy.name)
        .secret(true)])
}
