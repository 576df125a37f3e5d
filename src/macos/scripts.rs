//! Shell scripts that write deploy.properties: the config package's preinstall and the Jamf
//! script. Values reach the shell only through the `sh` filter (single-quoted words) or, with
//! `--jamf-params`, as Jamf parameters checked by the script before use.

use crate::error::{Error, Problem, Result};
use crate::policy::Policy;
use crate::product::{MacFacts, Product, Source};
use serde::Serialize;

/// Folder and file name of deploy.properties on the target volume.
pub fn target_location(product: &Product, mac: &MacFacts) -> Result<(String, String)> {
    let path = &mac.deploy_properties_path;
    match path.rsplit_once('/') {
        Some((dir, file)) if path.starts_with('/') && !dir.is_empty() && !file.is_empty() => {
            Ok((dir.to_string(), file.to_string()))
        }
        _ => Err(Error::internal(format!(
            "product {}: macos.deploy_properties_path must be an absolute file path below /",
            product.id
        ))),
    }
}

/// The config package's preinstall script.
pub fn render_preinstall(
    policy: &Policy,
    location: &(String, String),
    content: &str,
    identifier: &str,
    version: &str,
) -> Result<String> {
    crate::render::render(
        "macos/preinstall.sh",
        &serde_json::json!({
            "identifier": identifier,
            "version": version,
            "policy": policy.name,
            "organization": policy.organization,
            "content": content,
            "dir": location.0,
            "file": location.1,
        }),
    )
}

/// One Jamf script parameter ($4-$11) and what it carries.
#[derive(Debug, Clone, Serialize)]
pub struct JamfParam {
    pub number: u8,
    /// The deploy.properties key it fills.
    pub name: String,
    /// The label shown in Jamf ("Parameter 4" …).
    pub label: String,
    kind: &'static str,
    required: bool,
    /// The policy's value, used when the parameter is empty (never the token).
    default: Option<String>,
    /// `default` as written after `KEY=` in deploy.properties (escaped like the embedded file).
    default_escaped: Option<String>,
    var: String,
    arg: String,
    #[serde(rename = "ref")]
    reference: String,
}

fn kind_of(source: Source) -> (&'static str, &'static str) {
    match source {
        Source::DeploymentUrl => ("url", "https URL"),
        Source::Token => ("token", "UUID"),
        Source::SslWhitelist => ("hex", "certificate SHA-1/SHA-256 hex"),
        Source::ProxyUrl => ("proxy", "http(s) URL of the PAC file"),
        Source::Registration | Source::Cloaked => ("bool", "true or false"),
    }
}

/// The parameter mapping: one parameter per macOS property, in the product's order, from $4.
pub fn jamf_params(policy: &Policy, product: &Product) -> Result<Vec<JamfParam>> {
    let props: Vec<_> = product.properties.iter().filter(|d| d.macos).collect();
    if props.len() > 8 {
        return Err(Error::bad_input(
            Problem::new(format!(
                "{} has {} macOS properties; Jamf scripts take at most 8 parameters",
                product.id,
                props.len()
            ))
            .hint("build without --jamf-params"),
        ));
    }
    props
        .iter()
        .zip(4u8..)
        .map(|(d, number)| {
            let (kind, what) = kind_of(d.from);
            let required = matches!(d.from, Source::Token | Source::DeploymentUrl);
            let default = (d.from != Source::Token)
                .then(|| policy.value(d.from))
                .flatten();
            let label = match (&default, d.from) {
                (_, Source::Token) => format!("{} ({what}, required)", d.name),
                (Some(v), _) if !required => {
                    format!("{} ({what}; empty = {v}; none = not set)", d.name)
                }
                (Some(v), _) => format!("{} ({what}; empty = {v})", d.name),
                (None, _) => format!("{} ({what}; empty = not set)", d.name),
            };
            let default_escaped = default
                .as_deref()
                .map(crate::formats::quote::java_properties_value)
                .transpose()
                .map_err(|e| Error::internal(format!("{}: {e}", d.name)))?;
            Ok(JamfParam {
                number,
                name: d.name.clone(),
                label,
                kind,
                required,
                default,
                default_escaped,
                var: format!("p{number}"),
                arg: format!("${{{number}:-}}"),
                reference: format!("$p{number}"),
            })
        })
        .collect()
}

/// The Jamf script: values embedded (`params` empty) or read from parameters.
pub fn render_jamf_script(
    policy: &Policy,
    location: &(String, String),
    content: Option<&str>,
    params: &[JamfParam],
) -> Result<String> {
    crate::render::render(
        "jamf/install.sh",
        &serde_json::json!({
            "policy": policy.name,
            "organization": policy.organization,
            "content": content.unwrap_or(""),
            "params": params,
            "dir": location.0,
            "file": location.1,
        }),
    )
}
