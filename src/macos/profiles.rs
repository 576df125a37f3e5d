//! Configuration profiles (.mobileconfig): unsigned XML plists, one payload each, for the
//! payload kinds the product has facts for. Keys per `configuration-profiles.md` §2-§7.

use super::ids;
use crate::error::{Error, Problem, Result};
use crate::policy::Policy;
use crate::product::{MacFacts, Product};
use plist::{Dictionary, Value};

/// One profile, ready to write.
pub struct Profile {
    /// File name part: `pppc`, `notifications`, `system-extension`, `login-items`.
    pub kind: &'static str,
    pub uuid: String,
    pub display_name: String,
    pub description: String,
    pub value: Value,
}

impl Profile {
    /// The .mobileconfig bytes (XML plist, tab-indented).
    pub fn to_xml(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.value
            .to_writer_xml(&mut out)
            .map_err(|e| Error::internal(format!("writing profile {}: {e}", self.kind)))?;
        out.push(b'\n');
        Ok(out)
    }
}

fn dict(pairs: Vec<(&str, Value)>) -> Value {
    let mut d = Dictionary::new();
    for (k, v) in pairs {
        d.insert(k.to_string(), v);
    }
    Value::Dictionary(d)
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

fn strings(v: &[String]) -> Value {
    Value::Array(v.iter().map(|x| s(x)).collect())
}

/// Text that ends up in XML must hold only XML characters (policy validation forbids control
/// characters but not e.g. U+FFFE).
fn check_xml(field: &str, v: &str, policy: &Policy) -> Result<()> {
    match v.chars().find(|c| !crate::formats::quote::is_xml_char(*c)) {
        None => Ok(()),
        Some(c) => Err(Error::bad_input(
            Problem::new(format!(
                "contains U+{:04X}, which XML (profiles, Jamf files) cannot hold",
                c as u32
            ))
            .file(&policy.source)
            .field(field)
            .hint("remove the character"),
        )),
    }
}

struct Payload {
    kind: &'static str,
    payload_type: &'static str,
    /// What the profile does, for display names.
    title: &'static str,
    content: Vec<(&'static str, Value)>,
    /// The product facts (dotted paths) the payload is built from.
    facts: Vec<&'static str>,
}

fn pppc(product: &Product, mac: &MacFacts) -> Result<Option<Payload>> {
    if mac.tcc_services.is_empty() {
        return Ok(None);
    }
    // The Team ID is not a TCC key: it is pinned by the code requirement, so insist on it there.
    if !mac.code_requirement.contains(&mac.team_id) {
        return Err(Error::internal(format!(
            "product {}: macos.code_requirement does not name Team ID {}",
            product.id, mac.team_id
        )));
    }
    let identity = dict(vec![
        ("Identifier", s(&mac.bundle_id)),
        ("IdentifierType", s("bundleID")),
        ("CodeRequirement", s(&mac.code_requirement)),
        ("StaticCode", Value::Boolean(false)),
        ("Allowed", Value::Boolean(true)),
        (
            "Comment",
            s(&format!(
                "{} (Team ID {})",
                product.display_name, mac.team_id
            )),
        ),
    ]);
    let mut services = Dictionary::new();
    for svc in &mac.tcc_services {
        services.insert(svc.clone(), Value::Array(vec![identity.clone()]));
    }
    Ok(Some(Payload {
        kind: "pppc",
        payload_type: "com.apple.TCC.configuration-profile-policy",
        title: "privacy permissions (PPPC)",
        content: vec![("Services", Value::Dictionary(services))],
        facts: vec![
            "macos.bundle_id",
            "macos.team_id",
            "macos.code_requirement",
            "macos.tcc_services",
        ],
    }))
}

fn notifications(mac: &MacFacts) -> Option<Payload> {
    if mac.notifications_off.is_empty() {
        return None;
    }
    let settings = mac
        .notifications_off
        .iter()
        .map(|id| {
            dict(vec![
                ("BundleIdentifier", s(id)),
                ("NotificationsEnabled", Value::Boolean(false)),
                ("ShowInNotificationCenter", Value::Boolean(false)),
                ("ShowInLockScreen", Value::Boolean(false)),
                ("AlertType", Value::Integer(0.into())),
                ("BadgesEnabled", Value::Boolean(false)),
                ("SoundsEnabled", Value::Boolean(false)),
                ("CriticalAlertEnabled", Value::Boolean(false)),
            ])
        })
        .collect();
    Some(Payload {
        kind: "notifications",
        payload_type: "com.apple.notificationsettings",
        title: "notification settings",
        content: vec![("NotificationSettings", Value::Array(settings))],
        facts: vec!["macos.notifications_off"],
    })
}

const EXTENSION_TYPES: [&str; 3] = [
    "DriverExtension",
    "NetworkExtension",
    "EndpointSecurityExtension",
];

fn system_extension(product: &Product, mac: &MacFacts) -> Result<Option<Payload>> {
    let Some(ext) = &mac.system_extension else {
        return Ok(None);
    };
    if let Some(t) = ext
        .types
        .iter()
        .find(|t| !EXTENSION_TYPES.contains(&t.as_str()))
    {
        return Err(Error::internal(format!(
            "product {}: unknown system extension type '{t}'",
            product.id
        )));
    }
    let team = ext.team_id.clone();
    let mut content = Vec::new();
    if ext.identifiers.is_empty() {
        content.push((
            "AllowedTeamIdentifiers",
            strings(std::slice::from_ref(&team)),
        ));
    } else {
        let mut allowed = Dictionary::new();
        allowed.insert(team.clone(), strings(&ext.identifiers));
        content.push(("AllowedSystemExtensions", Value::Dictionary(allowed)));
    }
    if !ext.types.is_empty() {
        let mut types = Dictionary::new();
        types.insert(team, strings(&ext.types));
        content.push(("AllowedSystemExtensionTypes", Value::Dictionary(types)));
    }
    Ok(Some(Payload {
        kind: "system-extension",
        payload_type: "com.apple.system-extension-policy",
        title: "system extensions",
        content,
        facts: team_facts("macos.system_extension", &ext.team_id, mac),
    }))
}

fn login_items(product: &Product, mac: &MacFacts) -> Option<Payload> {
    let items = mac.login_items.as_ref()?;
    let rule = dict(vec![
        ("RuleType", s("TeamIdentifier")),
        ("RuleValue", s(&items.team_id)),
        (
            "Comment",
            s(&format!(
                "{} login items and background services",
                product.display_name
            )),
        ),
    ]);
    Some(Payload {
        kind: "login-items",
        payload_type: "com.apple.servicemanagement",
        title: "managed login items",
        content: vec![("Rules", Value::Array(vec![rule]))],
        facts: team_facts("macos.login_items", &items.team_id, mac),
    })
}

/// `section`, and `macos.team_id` when the section's Team ID is that same value: a guess of the
/// app's Team ID is the same guess wherever it is repeated.
fn team_facts(section: &'static str, team_id: &str, mac: &MacFacts) -> Vec<&'static str> {
    let mut facts = vec![section];
    if team_id == mac.team_id {
        facts.push("macos.team_id");
    }
    facts
}

/// The sentence a profile built from unconfirmed facts carries in its description.
fn unconfirmed_sentence(unconfirmed: &[&str]) -> String {
    let (what, pronoun) = match unconfirmed.len() {
        0 => return String::new(),
        1 => ("an unconfirmed vendor fact", "it"),
        _ => ("unconfirmed vendor facts", "them"),
    };
    format!(
        " It relies on {what} ({}): check {pronoun} against a real installer before deploying.",
        unconfirmed.join(", ")
    )
}

fn wrap(policy: &Policy, product: &Product, p: Payload) -> Profile {
    let identifier = format!(
        "{}.{}",
        ids::policy_prefix(&product.id, &policy.name),
        p.kind
    );
    let payload_id = format!("{identifier}.{}", p.payload_type);
    let display_name = format!("{} {} ({})", product.display_name, p.title, policy.name);
    let description = format!(
        "{} for {}, deployment policy {}. Built by agentpack.{}",
        capitalise(p.title),
        product.display_name,
        policy.name,
        unconfirmed_sentence(&product.unconfirmed_among(&p.facts))
    );
    let mut payload = vec![
        ("PayloadType", s(p.payload_type)),
        ("PayloadVersion", Value::Integer(1.into())),
        ("PayloadIdentifier", s(&payload_id)),
        ("PayloadUUID", s(&ids::payload_uuid(&payload_id))),
        ("PayloadDisplayName", s(&display_name)),
        ("PayloadOrganization", s(&policy.organization)),
    ];
    payload.extend(p.content);
    let uuid = ids::payload_uuid(&identifier);
    let value = dict(vec![
        ("PayloadContent", Value::Array(vec![dict(payload)])),
        ("PayloadDescription", s(&description)),
        ("PayloadDisplayName", s(&display_name)),
        ("PayloadIdentifier", s(&identifier)),
        ("PayloadOrganization", s(&policy.organization)),
        ("PayloadRemovalDisallowed", Value::Boolean(true)),
        ("PayloadScope", s("System")),
        ("PayloadType", s("Configuration")),
        ("PayloadUUID", s(&uuid)),
        ("PayloadVersion", Value::Integer(1.into())),
    ]);
    Profile {
        kind: p.kind,
        uuid,
        display_name,
        description,
        value,
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The payloads the product has facts for, in a fixed order.
fn payloads(product: &Product, mac: &MacFacts) -> Result<Vec<Payload>> {
    Ok([
        pppc(product, mac)?,
        notifications(mac),
        system_extension(product, mac)?,
        login_items(product, mac),
    ]
    .into_iter()
    .flatten()
    .collect())
}

/// Every profile the product has facts for, in a fixed order.
pub fn profiles(policy: &Policy, product: &Product, mac: &MacFacts) -> Result<Vec<Profile>> {
    check_xml("organization", &policy.organization, policy)?;
    Ok(payloads(product, mac)?
        .into_iter()
        .map(|p| wrap(policy, product, p))
        .collect())
}

/// The facts each profile is built from: ("the <title> profile", facts).
pub fn fact_uses(product: &Product, mac: &MacFacts) -> Result<Vec<(String, Vec<&'static str>)>> {
    Ok(payloads(product, mac)?
        .into_iter()
        .map(|p| (format!("the {} profile", p.title), p.facts))
        .collect())
}
