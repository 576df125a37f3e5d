//! Policy + product profile → the MSI property values, in the console's order.

use crate::policy::{Policy, Scope};
use crate::product::{Product, WindowsPlacement};
use serde::Serialize;
use std::fmt;

/// `Serialize` gives the real value (the templates need it); `Debug` masks a secret one, so a
/// `{:?}` in a message or log cannot print the token.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Property {
    pub name: String,
    pub value: String,
    /// Holds the deployment token.
    pub secret: bool,
}

impl fmt::Debug for Property {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Property");
        d.field("name", &self.name);
        if self.secret {
            d.field("value", &format_args!("{}", crate::secret::REDACTED));
        } else {
            d.field("value", &self.value);
        }
        d.field("secret", &self.secret).finish()
    }
}

/// The MSI properties a policy sets: the packed property first, then the separate ones, then
/// the per-user ones for `scope: user`. Its `Debug` is that of [`Property`]: secrets masked.
#[derive(Debug, Clone, Serialize)]
pub struct WindowsProperties {
    pub packed: Property,
    pub properties: Vec<Property>,
}

impl WindowsProperties {
    pub fn all(&self) -> impl Iterator<Item = &Property> {
        std::iter::once(&self.packed).chain(&self.properties)
    }
}

/// None when the product has no Windows installer facts.
pub fn windows_properties(policy: &Policy, product: &Product) -> Option<WindowsProperties> {
    let facts = product.windows.as_ref()?;
    let mut packed = Vec::new();
    let mut packed_secret = false;
    let mut properties = Vec::new();
    for def in &product.properties {
        let Some(value) = policy.value(def.from) else {
            continue;
        };
        let secret = def.from == crate::product::Source::Token;
        match def.windows {
            WindowsPlacement::Packed => {
                packed.push(format!("{}={value}", def.name));
                packed_secret |= secret;
            }
            WindowsPlacement::Property => properties.push(Property {
                name: def.name.clone(),
                value,
                secret,
            }),
            WindowsPlacement::None => {}
        }
    }
    if policy.scope == Scope::User {
        for (name, value) in &facts.user_scope_properties {
            properties.push(Property {
                name: name.clone(),
                value: value.clone(),
                secret: false,
            });
        }
    }
    Some(WindowsProperties {
        packed: Property {
            name: facts.packed_property.clone(),
            value: packed.join("&"),
            secret: packed_secret,
        },
        properties,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::REDACTED;

    const TOKEN: &str = "0fb12341-246b-448d-b07f-c6573ad5ad02";

    fn prop(name: &str, value: &str, secret: bool) -> Property {
        Property {
            name: name.into(),
            value: value.into(),
            secret,
        }
    }

    #[test]
    fn debug_masks_secret_values_only() {
        let packed = prop("CP_ARGS", &format!("URL=x&TOKEN={TOKEN}"), true);
        let plain = prop("CP_SILENT", "true", false);
        let shown = format!("{packed:?}");
        assert!(
            !shown.contains(TOKEN) && shown.contains(REDACTED),
            "{shown}"
        );
        assert!(shown.contains("CP_ARGS"), "{shown}");
        assert_eq!(
            format!("{plain:?}"),
            r#"Property { name: "CP_SILENT", value: "true", secret: false }"#
        );
        let all = WindowsProperties {
            packed,
            properties: vec![plain, prop("EXTRA", TOKEN, true)],
        };
        for shown in [format!("{all:?}"), format!("{all:#?}")] {
            assert!(!shown.contains(TOKEN), "{shown}");
            assert_eq!(shown.matches(REDACTED).count(), 2, "{shown}");
            assert!(shown.contains("\"true\""), "{shown}");
        }
        // The artifacts still get the value.
        assert!(serde_json::to_string(&all).unwrap().contains(TOKEN));
    }
}
