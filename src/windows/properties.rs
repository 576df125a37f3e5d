//! Policy + product profile → the MSI property values, in the console's order.

use crate::policy::{Policy, Scope};
use crate::product::{Product, WindowsPlacement};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Property {
    pub name: String,
    pub value: String,
    /// Holds the deployment token.
    pub secret: bool,
}

/// The MSI properties a policy sets: the packed property first, then the separate ones, then
/// the per-user ones for `scope: user`.
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
