//! The shape of a vendor profile file.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One product era: a vendor's agent over a range of versions that share deployment facts.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub id: String,
    pub display_name: String,
    pub vendor: String,
    pub era: String,
    /// Dotted paths of facts that are best evidence, not vendor-confirmed.
    #[serde(default)]
    pub unconfirmed: Vec<String>,
    /// Deployment properties in the vendor console's order.
    pub properties: Vec<PropertyDef>,
    /// Install scopes the product supports (default: device and user).
    #[serde(default = "all_scopes")]
    pub scopes: Vec<String>,
    pub windows: Option<WindowsFacts>,
    pub macos: Option<MacFacts>,
    pub detection: Detection,
}

fn all_scopes() -> Vec<String> {
    vec!["device".into(), "user".into()]
}

/// The policy field a property takes its value from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    DeploymentUrl,
    Token,
    SslWhitelist,
    ProxyUrl,
    /// `true` for silent registration, `false` for manual.
    Registration,
    Cloaked,
}

impl Source {
    /// The policy file key this source reads.
    pub fn policy_key(self) -> &'static str {
        match self {
            Source::DeploymentUrl => "deployment_url",
            Source::Token => "token",
            Source::SslWhitelist => "ssl_whitelist",
            Source::ProxyUrl => "proxy_url",
            Source::Registration => "registration",
            Source::Cloaked => "cloaked",
        }
    }
}

/// Where a property goes in the Windows installer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowsPlacement {
    /// Packed as `KEY=VALUE` into the packed property, `&`-joined.
    Packed,
    /// An MSI property of its own.
    Property,
    /// Not used on Windows.
    None,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PropertyDef {
    pub name: String,
    pub from: Source,
    pub windows: WindowsPlacement,
    pub macos: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WindowsFacts {
    /// The MSI property holding the packed `&`-joined deployment keys.
    pub packed_property: String,
    /// The vendor's MSI file naming pattern (documentation only).
    pub msi_name: String,
    /// UpgradeCodes this product era is known to use; an MSI with another one gets a warning.
    #[serde(default)]
    pub upgrade_codes: Vec<String>,
    /// Log file name under `%WINDIR%\Temp`.
    pub install_log: String,
    /// Extra properties for `scope: user`.
    #[serde(default)]
    pub user_scope_properties: BTreeMap<String, String>,
    pub service: Option<String>,
    pub service_exe: Option<String>,
    /// Regular expression matching the Programs and Features display name.
    pub display_name_match: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MacFacts {
    /// Absolute path of deploy.properties on the target volume.
    pub deploy_properties_path: String,
    /// The vendor's package file name inside its DMG.
    pub vendor_pkg_name: String,
    #[serde(default)]
    pub receipt_ids: Vec<String>,
    pub app_path: String,
    pub bundle_id: String,
    pub team_id: String,
    pub code_requirement: String,
    /// TCC services to allow (PPPC).
    #[serde(default)]
    pub tcc_services: Vec<String>,
    #[serde(default)]
    pub launchd: BTreeMap<String, String>,
    /// Bundle ids whose notifications are turned off.
    #[serde(default)]
    pub notifications_off: Vec<String>,
    pub system_extension: Option<SystemExtension>,
    pub login_items: Option<LoginItems>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SystemExtension {
    pub team_id: String,
    pub identifiers: Vec<String>,
    #[serde(default)]
    pub types: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LoginItems {
    pub team_id: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Detection {
    pub username_variable: String,
    pub home_variable: String,
}

impl Product {
    /// Whether a dotted fact path (or a parent of it) is marked unconfirmed.
    pub fn is_unconfirmed(&self, path: &str) -> bool {
        self.unconfirmed
            .iter()
            .any(|u| path == u || path.starts_with(&format!("{u}.")))
    }

    /// The `unconfirmed` entries that facts read by an artifact depend on, in the profile's
    /// order. A fact depends on an entry that names it, a parent of it (`macos.system_extension`
    /// for `macos.system_extension.team_id`) or a part of it (an artifact reading all of
    /// `macos.login_items` reads `macos.login_items.team_id`).
    pub fn unconfirmed_among(&self, facts: &[&str]) -> Vec<&str> {
        let within = |inner: &str, outer: &str| {
            inner == outer
                || inner
                    .strip_prefix(outer)
                    .is_some_and(|rest| rest.starts_with('.'))
        };
        self.unconfirmed
            .iter()
            .map(String::as_str)
            .filter(|u| facts.iter().any(|f| within(f, u) || within(u, f)))
            .collect()
    }

    /// The facts the Windows artifacts read, by what reads them: the install arguments always,
    /// the transform and command lines with an MSI, the per-user properties only for policies
    /// with `scope: user`. Empty without Windows facts.
    pub fn windows_fact_uses(
        &self,
        user_scope: bool,
        msi: bool,
    ) -> Vec<(&'static str, Vec<&'static str>)> {
        if self.windows.is_none() {
            return Vec::new();
        }
        let mut uses = vec![(
            "the Windows install arguments (install-args.txt)",
            vec!["properties", "windows.packed_property"],
        )];
        if msi {
            uses.push((
                "the transform and install.cmd",
                vec![
                    "properties",
                    "windows.packed_property",
                    "windows.transform_route",
                    "windows.install_log",
                ],
            ));
        }
        if user_scope {
            uses.push((
                "the Windows files of policies with scope: user",
                vec!["windows.user_scope_properties", "scope.user"],
            ));
        }
        uses
    }

    pub fn property_for(&self, source: Source) -> Option<&PropertyDef> {
        self.properties.iter().find(|p| p.from == source)
    }

    /// Whether the policy's value for `source` is packed into the Windows packed property.
    pub fn is_packed(&self, source: Source) -> bool {
        self.property_for(source)
            .is_some_and(|p| p.windows == WindowsPlacement::Packed)
    }
}
