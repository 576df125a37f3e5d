//! Windows artifacts: MSI properties, install arguments, the transform, command lines and
//! SCCM files.
//!
//! Under `<policy>/windows/`: `install-args.txt` always; with an MSI also `<policy>.mst` (the
//! only file besides install-args.txt holding the token: secret), the MSI itself (hard link or
//! copy), `install.cmd`, `uninstall.cmd`, and `sccm/deployment-type.json` plus
//! `sccm/New-<Product>Application.ps1`. The install line uses paths relative to that folder,
//! as ConfigMgr runs it from its content cache; `install.cmd` first `pushd`es to its own folder
//! so it works from any working folder (UNC shares included).

mod args;
mod commands;
mod installer;
mod properties;
pub mod redact;
mod sccm;
mod scripts;
mod transform;

pub use args::render_install_args;
pub use commands::MsiexecLine;
pub use installer::MsiInstaller;
pub use properties::{windows_properties, Property, WindowsProperties};
pub use sccm::{script_name, DeploymentType, RETURN_CODES};
pub use transform::render_transform;

use crate::build::{Artifact, Contents, Context, Platform};
use crate::error::Result;

/// LF → CRLF, for files Windows tools read (cmd.exe needs CRLF to parse labels and blocks).
pub(crate) fn crlf(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\n', "\r\n")
}

/// Every Windows artifact for one policy, under `<policy>/windows/`.
pub fn render(ctx: &Context) -> Result<Vec<Artifact>> {
    let Some(props) = windows_properties(ctx.policy, ctx.product) else {
        return Ok(Vec::new());
    };
    let name = &ctx.policy.name;
    let dir = format!("{name}/windows");
    let file = |rel: &str, kind: &'static str, data: Vec<u8>| {
        Artifact::bytes(format!("{dir}/{rel}"), kind, Platform::Windows, data).for_policy(name)
    };
    let args = render_install_args(&props)?;
    let mut out = vec![
        file("install-args.txt", "install-args", args.into_bytes()).secret(props.packed.secret)
    ];
    let (Some(msi), Some(facts)) = (ctx.msi, ctx.product.windows.as_ref()) else {
        return Ok(out);
    };

    let mst_name = format!("{name}.mst");
    let mst = render_transform(msi, ctx.policy, &props)?;
    let install = MsiexecLine::install(
        &msi.file_name,
        &mst_name,
        &facts.install_log,
        ctx.policy.scope,
    )?;
    let uninstall = MsiexecLine::uninstall(&msi.identity().product_code)?;
    let folder = sccm::Folder {
        msi,
        msi_size: msi.size,
        msi_sha256: &msi.sha256,
        mst_name: &mst_name,
        mst: &mst,
        install: &install,
        uninstall: &uninstall,
    };
    let dt = sccm::deployment_type(ctx.policy, &folder)?;
    let mut json =
        serde_json::to_vec_pretty(&dt).map_err(|e| crate::error::Error::internal(e.to_string()))?;
    json.push(b'\n');
    let script = sccm::render_script(ctx.policy, ctx.product, &msi.file_name, &dt)?;

    out.push(file(&mst_name, "transform", mst).secret(true));
    out.push(file(
        "install.cmd",
        "install-script",
        scripts::render_install_cmd(ctx.policy, ctx.product, &install)?,
    ));
    out.push(file(
        "uninstall.cmd",
        "uninstall-script",
        scripts::render_uninstall_cmd(ctx.policy, ctx.product, &uninstall)?,
    ));
    out.push(file(
        "sccm/deployment-type.json",
        "sccm-deployment-type",
        json,
    ));
    out.push(file(
        &format!("sccm/{}", sccm::script_name(ctx.product)),
        "sccm-script",
        script,
    ));
    out.push(Artifact {
        contents: Contents::Installer { input: msi.input },
        ..file(&msi.file_name, "installer", Vec::new())
    });
    Ok(out)
}
