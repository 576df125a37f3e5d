//! Jamf Pro import files: Classic API XML (script, profiles, policy, package records) and Jamf
//! Pro API JSON (script and package records). No credentials; scope is a `%COMPUTER_GROUP%` placeholder.

use super::profiles::Profile;
use super::scripts::JamfParam;
use crate::error::{Error, Result};
use crate::policy::Policy;
use crate::product::Product;
use serde_json::{json, Value};

/// Jamf installs a policy's packages by priority, lower number first.
pub const CONFIG_PRIORITY: u8 = 9;
pub const VENDOR_PRIORITY: u8 = 10;

/// The Jamf script, as Jamf will name and describe it.
pub struct ScriptRecord<'a> {
    pub filename: &'a str,
    pub contents: &'a str,
    pub params: &'a [JamfParam],
}

fn script_name(policy: &Policy, product: &Product) -> String {
    format!(
        "{} deploy.properties ({})",
        product.display_name, policy.name
    )
}

fn script_info(product: &Product) -> String {
    format!(
        "Writes {}'s deploy.properties before its installer runs. Priority Before, in the same policy as the vendor package.",
        product.display_name
    )
}

const SCRIPT_NOTES: &str = "Built by agentpack. Upload with JamfUploader's skip_script_key_substitution: the script contains %-sequences.";

/// Labels for parameters 4-11 (empty when unused).
fn labels(params: &[JamfParam]) -> Vec<(u8, String)> {
    (4u8..=11)
        .map(|n| {
            (
                n,
                params
                    .iter()
                    .find(|p| p.number == n)
                    .map(|p| p.label.clone())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

pub fn classic_script(policy: &Policy, product: &Product, s: &ScriptRecord) -> Result<String> {
    let parameters: Vec<Value> = labels(s.params)
        .into_iter()
        .map(|(n, l)| json!({"number": n, "label": l}))
        .collect();
    crate::render::render(
        "jamf/script.xml",
        &json!({
            "name": script_name(policy, product),
            "filename": s.filename,
            "info": script_info(product),
            "notes": SCRIPT_NOTES,
            "parameters": parameters,
            "contents": s.contents,
        }),
    )
}

pub fn api_script(policy: &Policy, product: &Product, s: &ScriptRecord) -> Result<Vec<u8>> {
    let mut body = serde_json::Map::new();
    body.insert("name".into(), json!(script_name(policy, product)));
    body.insert("info".into(), json!(script_info(product)));
    body.insert("notes".into(), json!(SCRIPT_NOTES));
    body.insert("priority".into(), json!("BEFORE"));
    body.insert("categoryId".into(), json!("-1"));
    for (n, label) in labels(s.params) {
        body.insert(format!("parameter{n}"), json!(label));
    }
    body.insert("osRequirements".into(), json!(""));
    body.insert("scriptContents".into(), json!(s.contents));
    to_json(&Value::Object(body))
}

/// A package record for `POST /api/v1/packages`, then upload the file to `/{id}/upload`.
#[derive(Clone)]
pub struct PackageRecord {
    /// `config`, `vendor` or `wrapped`: names the JSON file.
    pub role: &'static str,
    /// Also the package's name in Jamf, which policies refer to it by (as JamfUploader does).
    pub file_name: String,
    pub info: String,
    pub priority: u8,
    pub sha3_512: String,
}

pub fn api_package(p: &PackageRecord) -> Result<Vec<u8>> {
    to_json(&json!({
        "packageName": p.file_name,
        "fileName": p.file_name,
        "info": p.info,
        "notes": "Built by agentpack. fileName must equal the uploaded file's name.",
        "categoryId": "-1",
        "priority": p.priority,
        "fillUserTemplate": false,
        "uninstall": false,
        "rebootRequired": false,
        "osInstall": false,
        "osRequirements": "",
        "suppressUpdates": false,
        "suppressFromDock": false,
        "suppressEula": false,
        "suppressRegistration": false,
        "hashType": "SHA3_512",
        "hashValue": p.sha3_512,
    }))
}

/// The same record for the Classic API (`POST /JSSResource/packages/id/0`), for admins who do
/// not use the Jamf Pro API: without it a package uploaded in the console gets priority 10, and
/// the config package would install after the vendor's whenever its name sorts later. Fields as
/// Jamf's Classic package resource names them; no hash (the Jamf Pro API record carries it).
pub fn classic_package(p: &PackageRecord) -> Result<String> {
    crate::render::render(
        "jamf/package.xml",
        &json!({
            "name": p.file_name,
            "filename": p.file_name,
            "info": p.info,
            "notes": "Built by agentpack. filename must equal the uploaded file's name.",
            "priority": p.priority,
            "config_priority": CONFIG_PRIORITY,
            "vendor_priority": VENDOR_PRIORITY,
        }),
    )
}

fn to_json(v: &Value) -> Result<Vec<u8>> {
    let mut out =
        serde_json::to_vec_pretty(v).map_err(|e| Error::internal(format!("JSON: {e}")))?;
    out.push(b'\n');
    Ok(out)
}

/// The plist as Jamf's `<payloads>` carries it: XML without indentation or line breaks
/// (JamfUploader strips them too), escaped once more by the template.
pub fn payload_text(profile: &Profile) -> Result<String> {
    let mut out = Vec::new();
    let opts = plist::XmlWriteOptions::default().indent(b' ', 0);
    profile
        .value
        .to_writer_xml_with_options(&mut out, &opts)
        .map_err(|e| Error::internal(format!("writing profile {}: {e}", profile.kind)))?;
    let text = String::from_utf8(out).map_err(|e| Error::internal(e.to_string()))?;
    Ok(text.replace(['\n', '\t'], ""))
}

pub fn classic_profile(policy: &Policy, profile: &Profile) -> Result<String> {
    crate::render::render(
        "jamf/profile.xml",
        &json!({
            "policy": policy.name,
            "name": profile.display_name,
            "description": profile.description,
            "uuid": profile.uuid,
            "payloads": payload_text(profile)?,
        }),
    )
}

/// A policy installing `packages` (config package first).
pub fn classic_policy(policy: &Policy, product: &Product, packages: &[&str]) -> Result<String> {
    crate::render::render(
        "jamf/policy.xml",
        &json!({
            "policy": policy.name,
            "name": format!("Install {} ({})", product.display_name, policy.name),
            "packages": packages,
            "config_priority": CONFIG_PRIORITY,
            "vendor_priority": VENDOR_PRIORITY,
        }),
    )
}
