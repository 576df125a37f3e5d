use super::print_json;
use crate::error::Result;
use crate::product::Products;
use std::path::Path;

pub fn run(profiles: Option<&Path>, json: bool) -> Result<i32> {
    let products = Products::load(profiles)?;
    if json {
        let all: Vec<_> = products.all().collect();
        print_json(&all);
        return Ok(0);
    }
    for p in products.all() {
        let platforms: Vec<&str> = [
            p.windows.as_ref().map(|_| "windows"),
            p.macos.as_ref().map(|_| "macos"),
        ]
        .into_iter()
        .flatten()
        .collect();
        out!(
            "{:<14} {} ({}), {} [{}]",
            p.id,
            p.display_name,
            p.vendor,
            p.era,
            platforms.join(", ")
        );
        if !p.unconfirmed.is_empty() {
            out!("{:<14} unconfirmed: {}", "", p.unconfirmed.join(", "));
        }
    }
    Ok(0)
}
