//! The payload-free configuration package (its preinstall writes deploy.properties) and the
//! optional distribution package wrapping it with the vendor's components.

use super::{ids, scripts, PkgInstaller};
use crate::build::StreamFn;
use crate::error::{Error, Problem, Result};
use crate::formats::flatpkg::{ComponentPackage, DistributionPackage, PkgError};
use crate::policy::Policy;
use crate::product::Product;

/// A built configuration package.
pub struct ConfigPkg {
    pub file_name: String,
    pub version: String,
    pub component: ComponentPackage,
    pub bytes: Vec<u8>,
}

/// A flatpkg error as a build error; messages name files and fields, never script contents.
pub(crate) fn pkg_error(e: PkgError, what: &str) -> Error {
    if e.is_bad_input() {
        Error::bad_input(Problem::new(format!("{what}: {e}")))
    } else {
        Error::internal(format!("{what}: {e}"))
    }
}

/// Identifier `com.agentpack.<product>.config.<policy>`; version `1.<n>` from the SHA-256 of
/// the preinstall script rendered without its version line (which would be circular), so the
/// same policy and product give the same bytes and any change to the file gives a new version.
pub fn build(
    policy: &Policy,
    product: &Product,
    location: &(String, String),
    props: &str,
) -> Result<ConfigPkg> {
    let identifier = ids::config_pkg_identifier(&product.id, &policy.name);
    let unversioned = scripts::render_preinstall(policy, location, props, &identifier, "")?;
    let version = ids::content_version(unversioned.as_bytes());
    let preinstall = scripts::render_preinstall(policy, location, props, &identifier, &version)?;
    let component = ComponentPackage::new(&identifier, &version)
        .with_script("preinstall", preinstall.into_bytes());
    let bytes = component
        .build()
        .map_err(|e| pkg_error(e, "building the configuration package"))?;
    Ok(ConfigPkg {
        file_name: format!("{}-config.pkg", policy.name),
        version,
        component,
        bytes,
    })
}

/// Our config component first, then the vendor's component(s), whose members the xar writer
/// streams from its file when the returned writer runs. The result is unsigned (see
/// `PkgInstaller::notes`).
pub fn wrap(
    policy: &Policy,
    product: &Product,
    config: &ConfigPkg,
    vendor: &PkgInstaller,
) -> StreamFn {
    let title = format!("{} ({})", product.display_name, policy.name);
    let product_id = format!("{}.wrapped", ids::policy_prefix(&product.id, &policy.name));
    let dist = DistributionPackage::new(title, product_id, &config.version)
        .component(
            format!("{}-config.pkg", policy.name),
            config.component.clone(),
        )
        .include_package(&vendor.path);
    std::sync::Arc::new(move |out: &mut dyn std::io::Write| {
        dist.write_to(out)
            .map(|_| ())
            .map_err(|e| pkg_error(e, "wrapping the vendor package"))
    })
}
