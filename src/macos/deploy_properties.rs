//! deploy.properties: one `KEY=VALUE` line per deployment property the product reads on macOS.

use crate::error::Result;
use crate::policy::Policy;
use crate::product::Product;
use serde::Serialize;

#[derive(Serialize)]
struct Line {
    name: String,
    value: String,
}

/// The rendered file (it holds the token: write it 0600).
pub fn render_deploy_properties(policy: &Policy, product: &Product) -> Result<String> {
    let properties: Vec<Line> = product
        .properties
        .iter()
        .filter(|d| d.macos)
        .filter_map(|d| {
            policy.value(d.from).map(|value| Line {
                name: d.name.clone(),
                value,
            })
        })
        .collect();
    crate::render::render(
        "macos/deploy.properties",
        &serde_json::json!({ "properties": properties }),
    )
}
