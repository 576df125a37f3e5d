//! The validated policy.

use crate::secret::Secret;
use serde::Serialize;
use std::path::PathBuf;

/// Every key a policy file may hold.
pub const POLICY_KEYS: &[&str] = &[
    "name",
    "product",
    "organization",
    "deployment_url",
    "token",
    "token_env",
    "token_file",
    "ssl_whitelist",
    "proxy_url",
    "registration",
    "cloaked",
    "scope",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Registration {
    Silent,
    Manual,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Device,
    User,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Device => "device",
            Scope::User => "user",
        }
    }
}

/// A policy that passed every check. The token prints redacted.
#[derive(Debug, Clone, Serialize)]
pub struct Policy {
    pub name: String,
    pub product: String,
    pub organization: String,
    pub deployment_url: String,
    pub token: Secret,
    pub ssl_whitelist: Option<String>,
    pub proxy_url: Option<String>,
    pub registration: Registration,
    pub cloaked: bool,
    pub scope: Scope,
    /// The file it came from.
    pub source: PathBuf,
    /// The `token_file` it read, resolved against the policy's folder.
    #[serde(skip)]
    pub token_file: Option<PathBuf>,
}

impl Policy {
    /// The value a profile property takes from this policy, or None when the field is unset.
    /// The token comes back exposed: callers write it only into secret artifacts.
    pub fn value(&self, source: crate::product::Source) -> Option<String> {
        use crate::product::Source as S;
        match source {
            S::DeploymentUrl => Some(self.deployment_url.clone()),
            S::Token => Some(self.token.expose().to_string()),
            S::SslWhitelist => self.ssl_whitelist.clone(),
            S::ProxyUrl => self.proxy_url.clone(),
            S::Registration => Some((self.registration == Registration::Silent).to_string()),
            S::Cloaked => Some(self.cloaked.to_string()),
        }
    }
}
