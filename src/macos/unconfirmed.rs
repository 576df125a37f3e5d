//! Build notes naming the vendor facts marked `unconfirmed` in the product profile that this
//! build's artifacts rely on, so that nobody deploys a guess unknowingly. Both platforms' uses
//! are collected here because the notes are one list for the whole build.

use super::profiles;
use crate::config::Config;
use crate::policy::{Policy, Scope};
use crate::product::Product;

/// One note per group of artifacts built from unconfirmed facts; none when the build uses none.
/// `cfg` tells whether the build has the vendor's MSI and pkg.
pub fn unconfirmed_notes(product: &Product, policies: &[Policy], cfg: &Config) -> Vec<String> {
    notes_for(product, policies, cfg.msi.is_some(), cfg.pkg.is_some())
}

fn notes_for(product: &Product, policies: &[Policy], msi: bool, pkg: bool) -> Vec<String> {
    let user_scope = policies.iter().any(|p| p.scope == Scope::User);
    let mut uses: Vec<(String, Vec<&str>)> = product
        .windows_fact_uses(user_scope, msi)
        .into_iter()
        .map(|(what, facts)| (what.to_string(), facts))
        .collect();
    if let Some(mac) = &product.macos {
        uses.push((
            "deploy.properties, the config package and the Jamf script".into(),
            vec!["properties", "macos.deploy_properties_path"],
        ));
        if user_scope {
            // They write the device-wide deploy.properties whatever the scope.
            uses.push((
                "the macOS files of policies with scope: user".into(),
                vec!["macos.user_scope", "scope.user"],
            ));
        }
        if !pkg {
            // Without the vendor's pkg the Jamf policy names the file the vendor usually ships.
            uses.push((
                "the Jamf policy (the vendor package's name)".into(),
                vec!["macos.vendor_pkg_name"],
            ));
        }
        // A profile that cannot be built has already failed the build.
        uses.extend(profiles::fact_uses(product, mac).unwrap_or_default());
    }
    uses.into_iter()
        .filter_map(|(what, facts)| {
            let unconfirmed = product.unconfirmed_among(&facts);
            let (noun, pronoun) = match unconfirmed.len() {
                0 => return None,
                1 => ("fact", "it"),
                _ => ("facts", "them"),
            };
            Some(format!(
                "{}: unconfirmed {noun} used by {what}: {}: check {pronoun} against a real installer (agentpack products)",
                product.id,
                unconfirmed.join(", ")
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A made-up product (src/ holds no vendor's names) marking `unconfirmed` unconfirmed.
    fn product(unconfirmed: &[&str]) -> Product {
        let yaml = r#"
id: example-agent
display_name: Example Agent
vendor: Example Vendor
era: "1.x"
properties:
  - { name: SERVER_URL, from: deployment_url, windows: packed, macos: true }
  - { name: SERVER_TOKEN, from: token, windows: packed, macos: true }
windows:
  packed_property: AGENT_ARGS
  msi_name: "Agent_<version>.msi"
  install_log: agent-install.log
  user_scope_properties: { ALLUSERS: "2" }
  display_name_match: "Example Agent"
macos:
  deploy_properties_path: /Library/Application Support/Example/deploy.properties
  vendor_pkg_name: Install Example.pkg
  app_path: /Applications/Example.app
  bundle_id: com.example.agent
  team_id: ABCDE12345
  code_requirement: 'identifier "com.example.agent" and certificate leaf[subject.OU] = ABCDE12345'
  tcc_services: [SystemPolicyAllFiles]
  notifications_off: [com.example.notifier]
  system_extension: { team_id: ABCDE12345, identifiers: [com.example.agent.ext], types: [NetworkExtension] }
  login_items: { team_id: ABCDE12345 }
detection: { username_variable: AGENT_USER, home_variable: AGENT_HOME }
"#;
        let mut p: Product = serde_norway::from_str(yaml).unwrap();
        p.unconfirmed = unconfirmed.iter().map(|u| u.to_string()).collect();
        p
    }

    fn find<'a>(notes: &'a [String], what: &str) -> &'a str {
        notes
            .iter()
            .find(|n| n.contains(what))
            .unwrap_or_else(|| panic!("no note for {what}: {notes:#?}"))
    }

    #[test]
    fn each_artifact_names_the_unconfirmed_facts_it_uses() {
        let p = product(&[
            "properties",
            "macos.deploy_properties_path",
            "macos.bundle_id",
            "macos.team_id",
            "macos.system_extension",
            "macos.vendor_pkg_name",
            "windows.msi_name",
        ]);
        let notes = notes_for(&p, &[], false, false);
        assert!(find(&notes, "(PPPC) profile")
            .contains(": macos.bundle_id, macos.team_id: check them against a real installer"));
        assert!(find(&notes, "system extensions profile")
            .contains(": macos.team_id, macos.system_extension: check them"));
        // The login items rule repeats the app's unconfirmed Team ID.
        assert!(find(&notes, "login items profile").contains(": macos.team_id: check it"));
        assert!(find(&notes, "the config package")
            .contains(": properties, macos.deploy_properties_path: check them"));
        assert!(find(&notes, "install-args.txt").contains(": properties: check it"));
        assert!(find(&notes, "vendor package's name").contains(": macos.vendor_pkg_name: check it"));
        assert!(
            !notes.iter().any(|n| n.contains("notification")),
            "{notes:#?}"
        );
        assert!(
            !notes.iter().any(|n| n.contains("msi_name")),
            "not read by any artifact"
        );
        assert!(notes
            .iter()
            .all(|n| n.starts_with("example-agent: unconfirmed ")
                && n.ends_with(" against a real installer (agentpack products)")));
        // With the vendor's pkg its name is the real one; with an MSI the transform is built.
        let with_both = notes_for(&p, &[], true, true);
        assert!(!with_both.iter().any(|n| n.contains("vendor_pkg_name")));
        assert!(find(&with_both, "transform and install.cmd").contains(": properties: check it"));
    }

    #[test]
    fn a_build_using_no_unconfirmed_fact_gets_no_note() {
        let p = product(&[
            "windows.transform_route",
            "windows.user_scope_properties",
            "macos.user_scope",
        ]);
        assert!(notes_for(&p, &[], false, true).is_empty());
        assert!(notes_for(&p, &[], false, false).is_empty());
        let with_msi = notes_for(&p, &[], true, true);
        assert_eq!(with_msi.len(), 1, "{with_msi:?}");
        assert!(with_msi[0].contains(": windows.transform_route: check it"));
        assert!(product(&[])
            .unconfirmed_among(&["macos", "properties"])
            .is_empty());
    }

    #[test]
    fn parents_and_parts_of_a_fact_both_count() {
        let p = product(&[
            "macos.system_extension",
            "macos.login_items.team_id",
            "macos.team",
        ]);
        assert_eq!(
            p.unconfirmed_among(&["macos.system_extension.team_id"]),
            ["macos.system_extension"]
        );
        assert_eq!(
            p.unconfirmed_among(&["macos.login_items"]),
            ["macos.login_items.team_id"]
        );
        // A name that merely starts the same is another fact.
        assert!(p.unconfirmed_among(&["macos.team_id"]).is_empty());
    }
}
