//! `install.cmd` and `uninstall.cmd`: the same msiexec lines as ConfigMgr's, for running by hand
//! or from another tool. CRLF line endings; `%` in file names doubled for the batch parser.

use super::commands::MsiexecLine;
use crate::error::Result;
use crate::policy::Policy;
use crate::product::Product;
use serde::Serialize;

#[derive(Serialize)]
struct CmdContext<'a> {
    product: &'a str,
    policy: &'a str,
    line: String,
    /// Non-ASCII file names: switch cmd to UTF-8 before the line is read.
    utf8: bool,
}

fn render(
    template: &str,
    policy: &Policy,
    product: &Product,
    line: &MsiexecLine,
) -> Result<Vec<u8>> {
    let line = line.batch_line()?;
    let ctx = CmdContext {
        product: &product.display_name,
        policy: &policy.name,
        utf8: !line.is_ascii(),
        line,
    };
    Ok(super::crlf(&crate::render::render(template, &ctx)?).into_bytes())
}

pub fn render_install_cmd(
    policy: &Policy,
    product: &Product,
    line: &MsiexecLine,
) -> Result<Vec<u8>> {
    render("windows/install.cmd", policy, product, line)
}

pub fn render_uninstall_cmd(
    policy: &Policy,
    product: &Product,
    line: &MsiexecLine,
) -> Result<Vec<u8>> {
    render("windows/uninstall.cmd", policy, product, line)
}
