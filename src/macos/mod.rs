//! macOS artifacts: deploy.properties, the configuration package (and optionally a package
//! wrapping the vendor's), configuration profiles, the Jamf script and Jamf import files.
//!
//! Under `OUT/<policy>/macos/`: `deploy.properties`, `<policy>-config.pkg`, the vendor pkg
//! (linked), `<policy>-<product>.pkg` (`--wrap-vendor`), `<policy>-<kind>.mobileconfig`.
//! Under `OUT/<policy>/jamf/`: `install-<policy>.sh`, `classic/*.xml`, `api/*.json` (package
//! records in both: their priorities order the config package before the vendor's).

mod config_pkg;
mod deploy_properties;
mod ids;
mod installer;
mod jamf;
mod profiles;
mod scripts;
mod unconfirmed;

pub use crate::build::sha3_512_hex;
pub use deploy_properties::render_deploy_properties;
pub use ids::{config_pkg_identifier, content_version, payload_uuid};
pub use installer::PkgInstaller;
pub use unconfirmed::unconfirmed_notes;

use crate::build::{Artifact, Contents, Context, Platform};
use crate::error::{Error, Problem, Result};

fn artifact(path: String, kind: &'static str, data: Vec<u8>, policy: &str) -> Artifact {
    Artifact::bytes(path, kind, Platform::Macos, data).for_policy(policy)
}

/// Every macOS artifact for one policy.
pub fn render(ctx: &Context) -> Result<Vec<Artifact>> {
    let Some(mac) = &ctx.product.macos else {
        return Ok(Vec::new());
    };
    let (policy, product) = (ctx.policy, ctx.product);
    let name = policy.name.as_str();
    let dir = format!("{name}/macos");
    let jamf_dir = format!("{name}/jamf");
    let props = render_deploy_properties(policy, product)?;
    let location = scripts::target_location(product, mac)?;
    let mut out = vec![artifact(
        format!("{dir}/deploy.properties"),
        "deploy-properties",
        props.clone().into_bytes(),
        name,
    )
    .secret(true)];

    // The config package, the vendor package beside it, and optionally both in one.
    let config = config_pkg::build(policy, product, &location, &props)?;
    let config_sha3 = sha3_512_hex(&config.bytes);
    let mut packages = vec![config.file_name.clone()];
    let mut records = vec![jamf::PackageRecord {
        role: "config",
        file_name: config.file_name.clone(),
        info: format!(
            "{} configuration for policy {name}: writes deploy.properties; holds the deployment token. Version {}.",
            product.display_name, config.version
        ),
        priority: jamf::CONFIG_PRIORITY,
        sha3_512: config_sha3,
    }];
    if let Some(pkg) = ctx.pkg {
        packages.push(pkg.file_name.clone());
        out.push(Artifact {
            contents: Contents::Installer { input: pkg.input },
            ..artifact(
                format!("{dir}/{}", pkg.file_name),
                "vendor-pkg",
                Vec::new(),
                name,
            )
        });
        records.push(jamf::PackageRecord {
            role: "vendor",
            file_name: pkg.file_name.clone(),
            info: format!(
                "{}'s installer for {}, unmodified.",
                product.vendor, product.display_name
            ),
            priority: jamf::VENDOR_PRIORITY,
            sha3_512: pkg.sha3_512.clone(),
        });
    } else {
        packages.push(mac.vendor_pkg_name.clone());
    }
    if ctx.flags.wrap_vendor {
        let Some(pkg) = ctx.pkg else {
            return Err(Error::bad_input(
                Problem::new("--wrap-vendor needs the vendor package")
                    .hint("pass --pkg with the vendor's .pkg"),
            ));
        };
        // Streamed to disk (the vendor's members are copied from its file, never held whole);
        // its Jamf record needs the package's hash, so it is derived once the package is written.
        let wrapped = config_pkg::wrap(policy, product, &config, pkg);
        let file_name = format!("{name}-{}.pkg", product.id);
        let wrapped_path = format!("{dir}/{file_name}");
        let record = jamf::PackageRecord {
            role: "wrapped",
            file_name: file_name.clone(),
            info: format!("{} with the configuration of policy {name}: the vendor package and deploy.properties in one unsigned package; holds the deployment token.", product.display_name),
            priority: jamf::VENDOR_PRIORITY,
            sha3_512: String::new(),
        };
        out.push(artifact(
            format!("{jamf_dir}/classic/package-wrapped.xml"),
            "jamf-classic-package",
            jamf::classic_package(&record)?.into_bytes(),
            name,
        ));
        out.push(Artifact {
            contents: Contents::Stream(wrapped),
            ..artifact(wrapped_path.clone(), "wrapped-pkg", Vec::new(), name).secret(true)
        });
        let render: crate::build::DeriveFn =
            std::sync::Arc::new(move |w: &crate::build::Written| {
                let mut r = record.clone();
                r.sha3_512 = w.sha3_512.clone().unwrap_or_default();
                jamf::api_package(&r)
            });
        out.push(Artifact {
            contents: Contents::Derived {
                from: wrapped_path.into(),
                render,
            },
            ..artifact(
                format!("{jamf_dir}/api/package-wrapped.json"),
                "jamf-api-package",
                Vec::new(),
                name,
            )
        });
    }
    out.push(
        artifact(
            format!("{dir}/{}", config.file_name),
            "config-pkg",
            config.bytes,
            name,
        )
        .secret(true),
    );

    // Profiles, each with its Classic API import file.
    for p in profiles::profiles(policy, product, mac)? {
        out.push(artifact(
            format!("{dir}/{name}-{}.mobileconfig", p.kind),
            "profile",
            p.to_xml()?,
            name,
        ));
        let xml = jamf::classic_profile(policy, &p)?;
        out.push(artifact(
            format!("{jamf_dir}/classic/profile-{}.xml", p.kind),
            "jamf-classic-profile",
            xml.into_bytes(),
            name,
        ));
    }

    // The Jamf script: values embedded (secret) or read from parameters.
    let params = if ctx.flags.jamf_params {
        scripts::jamf_params(policy, product)?
    } else {
        Vec::new()
    };
    let embedded = !ctx.flags.jamf_params;
    let script = scripts::render_jamf_script(
        policy,
        &location,
        embedded.then_some(props.as_str()),
        &params,
    )?;
    let filename = format!("install-{name}.sh");
    let record = jamf::ScriptRecord {
        filename: &filename,
        contents: &script,
        params: &params,
    };
    let classic_script = jamf::classic_script(policy, product, &record)?;
    let api_script = jamf::api_script(policy, product, &record)?;
    out.push(
        artifact(
            format!("{jamf_dir}/{filename}"),
            "jamf-script",
            script.into_bytes(),
            name,
        )
        .secret(embedded)
        .executable(),
    );
    out.push(
        artifact(
            format!("{jamf_dir}/classic/script.xml"),
            "jamf-classic-script",
            classic_script.into_bytes(),
            name,
        )
        .secret(embedded),
    );
    out.push(
        artifact(
            format!("{jamf_dir}/api/script.json"),
            "jamf-api-script",
            api_script,
            name,
        )
        .secret(embedded),
    );

    // The policy and the package records.
    let package_refs: Vec<&str> = packages.iter().map(String::as_str).collect();
    let policy_xml = jamf::classic_policy(policy, product, &package_refs)?;
    out.push(artifact(
        format!("{jamf_dir}/classic/policy.xml"),
        "jamf-classic-policy",
        policy_xml.into_bytes(),
        name,
    ));
    for r in &records {
        let json = jamf::api_package(r)?;
        out.push(artifact(
            format!("{jamf_dir}/api/package-{}.json", r.role),
            "jamf-api-package",
            json,
            name,
        ));
        out.push(artifact(
            format!("{jamf_dir}/classic/package-{}.xml", r.role),
            "jamf-classic-package",
            jamf::classic_package(r)?.into_bytes(),
            name,
        ));
    }
    Ok(out)
}
