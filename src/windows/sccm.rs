//! ConfigMgr (SCCM) files: `deployment-type.json` (everything an admin or a tool needs to
//! create the MSI deployment type) and `New-<Product>Application.ps1` (creates or updates it).

use super::commands::MsiexecLine;
use super::installer::MsiInstaller;
use crate::build::sha256_hex;
use crate::error::{Error, Result};
use crate::policy::{Policy, Scope};
use crate::product::Product;
use serde::Serialize;

pub const SCHEMA: &str = "agentpack.sccm-deployment-type.v1";

/// ConfigMgr's default MSI return codes (reference §13), in its order.
pub const RETURN_CODES: [ReturnCode; 5] = [
    ReturnCode {
        code: 0,
        r#type: "Success",
        name: "Success",
    },
    ReturnCode {
        code: 1707,
        r#type: "Success",
        name: "Success",
    },
    ReturnCode {
        code: 3010,
        r#type: "SoftReboot",
        name: "Soft reboot",
    },
    ReturnCode {
        code: 1641,
        r#type: "HardReboot",
        name: "Hard reboot",
    },
    ReturnCode {
        code: 1618,
        r#type: "FastRetry",
        name: "Fast retry",
    },
];

#[derive(Debug, Clone, Copy, Serialize)]
pub struct ReturnCode {
    pub code: i32,
    /// ConfigMgr's `ExitCodeClass`.
    #[serde(rename = "type")]
    pub r#type: &'static str,
    pub name: &'static str,
}

/// A content file with its checksum, so the share can be checked before distribution.
#[derive(Debug, Clone, Serialize)]
pub struct ContentFile {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Detection {
    /// Always `windows-installer`: a clause on the ProductCode.
    pub r#type: &'static str,
    pub product_code: String,
    pub property: &'static str,
    pub operator: &'static str,
    pub value: String,
}

/// `deployment-type.json`. Field order is fixed by the struct, arrays are sorted: deterministic.
#[derive(Debug, Clone, Serialize)]
pub struct DeploymentType {
    pub schema: &'static str,
    pub application_name: String,
    pub publisher: String,
    pub software_version: String,
    pub deployment_type_name: String,
    pub technology: &'static str,
    pub install_command: String,
    pub uninstall_command: String,
    pub installation_behavior: &'static str,
    /// None for per-user installs: ConfigMgr takes no logon requirement with InstallForUser.
    pub logon_requirement: Option<&'static str>,
    pub user_interaction: &'static str,
    pub content_files: Vec<ContentFile>,
    pub detection: Detection,
    pub return_codes: Vec<ReturnCode>,
}

/// What the renderers need about the policy's Windows folder.
pub struct Folder<'a> {
    pub msi: &'a MsiInstaller,
    pub msi_size: u64,
    pub msi_sha256: &'a str,
    pub mst_name: &'a str,
    pub mst: &'a [u8],
    pub install: &'a MsiexecLine,
    pub uninstall: &'a MsiexecLine,
}

pub fn deployment_type(policy: &Policy, folder: &Folder) -> Result<DeploymentType> {
    let id = folder.msi.identity();
    let (behavior, logon) = match policy.scope {
        Scope::Device => ("InstallForSystem", Some("WhetherOrNotUserLoggedOn")),
        Scope::User => ("InstallForUser", None),
    };
    let mut content_files = vec![
        ContentFile {
            name: folder.msi.file_name.clone(),
            size: folder.msi_size,
            sha256: folder.msi_sha256.to_string(),
        },
        ContentFile {
            name: folder.mst_name.to_string(),
            size: folder.mst.len() as u64,
            sha256: sha256_hex(folder.mst),
        },
    ];
    content_files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(DeploymentType {
        schema: SCHEMA,
        application_name: format!(
            "{} {} ({})",
            id.product_name, id.product_version, policy.name
        ),
        publisher: id.manufacturer.clone(),
        software_version: id.product_version.clone(),
        deployment_type_name: format!("{} - Windows Installer (.msi)", policy.name),
        technology: "MSI",
        install_command: folder.install.command_line()?,
        uninstall_command: folder.uninstall.command_line()?,
        installation_behavior: behavior,
        logon_requirement: logon,
        user_interaction: "Hidden",
        content_files,
        detection: Detection {
            r#type: "windows-installer",
            product_code: id.product_code.clone(),
            property: "ProductVersion",
            operator: "IsEquals",
            value: id.product_version.clone(),
        },
        return_codes: RETURN_CODES.to_vec(),
    })
}

/// `New-<DisplayName without spaces>Application.ps1`.
pub fn script_name(product: &Product) -> String {
    let name: String = product
        .display_name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    format!("New-{name}Application.ps1")
}

/// Text safe inside a `<# ... #>` help comment on one line.
fn comment_safe(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .replace("#>", "# >")
}

#[derive(Serialize)]
struct ScriptContext<'a> {
    app_name: &'a str,
    publisher: &'a str,
    version: &'a str,
    dt_name: &'a str,
    msi_file: &'a str,
    product_code: &'a str,
    install_command: &'a str,
    uninstall_command: &'a str,
    install_behavior: &'a str,
    logon_requirement: Option<&'a str>,
    return_codes: &'a [ReturnCode],
    /// Checked on the content share before anything changes in ConfigMgr.
    content_files: &'a [ContentFile],
    // Shown in the help comment only.
    product_name: String,
    policy: &'a str,
    files: Vec<String>,
    script_name: String,
}

/// The script, UTF-8 with BOM (Windows PowerShell 5.1 reads BOM-less files in the ANSI code
/// page) and CRLF line endings. Refuses to write it if the token found its way in.
pub fn render_script(
    policy: &Policy,
    product: &Product,
    msi_file: &str,
    dt: &DeploymentType,
) -> Result<Vec<u8>> {
    let ctx = ScriptContext {
        app_name: &dt.application_name,
        publisher: &dt.publisher,
        version: &dt.software_version,
        dt_name: &dt.deployment_type_name,
        msi_file,
        product_code: &dt.detection.product_code,
        install_command: &dt.install_command,
        uninstall_command: &dt.uninstall_command,
        install_behavior: dt.installation_behavior,
        logon_requirement: dt.logon_requirement,
        return_codes: &dt.return_codes,
        content_files: &dt.content_files,
        product_name: comment_safe(&format!("{} {}", product.display_name, dt.software_version)),
        policy: &policy.name,
        files: dt
            .content_files
            .iter()
            .map(|f| comment_safe(&f.name))
            .collect(),
        script_name: script_name(product),
    };
    let text = crate::render::render("sccm/New-Application.ps1", &ctx)?;
    if text.contains(policy.token.expose()) {
        return Err(Error::internal(
            "the SCCM script would contain the deployment token",
        ));
    }
    let mut out = vec![0xEF, 0xBB, 0xBF];
    out.extend(super::crlf(&text).into_bytes());
    Ok(out)
}
