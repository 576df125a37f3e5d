//! Windows artifacts: MSI properties, install arguments, the transform, command lines and
//! SCCM files.

mod args;
mod installer;
mod properties;

pub use args::render_install_args;
pub use installer::MsiInstaller;
pub use properties::{windows_properties, Property, WindowsProperties};

use crate::build::{Artifact, Context, Platform};
use crate::error::Result;

/// Every Windows artifact for one policy, under `<policy>/windows/`.
pub fn render(ctx: &Context) -> Result<Vec<Artifact>> {
    let Some(props) = windows_properties(ctx.policy, ctx.product) else {
        return Ok(Vec::new());
    };
    let dir = format!("{}/windows", ctx.policy.name);
    let args = render_install_args(&props)?;
    Ok(vec![Artifact::bytes(format!("{dir}/install-args.txt"), "install-args", Platform::Windows, args.into_bytes())
        .for_policy(&ctx.policy.name)
        .secret(props.packed.secret)])
}
