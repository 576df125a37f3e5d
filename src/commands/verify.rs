use super::print_json;
use crate::error::Result;
use std::path::Path;

pub fn run(out: &Path, json: bool) -> Result<i32> {
    let v = crate::manifest::verify(out)?;
    if json {
        print_json(
            &serde_json::json!({ "ok": v.ok(), "checked": v.checked, "changed": v.changed, "missing": v.missing, "extra": v.extra }),
        );
    } else {
        for p in &v.changed {
            out!("changed: {p}");
        }
        for p in &v.missing {
            out!("missing: {p}");
        }
        for p in &v.extra {
            out!("extra:   {p}");
        }
        if v.ok() {
            out!(
                "ok: {} files match {}",
                v.checked,
                out.join(crate::manifest::MANIFEST).display()
            );
        } else {
            eprintln!(
                "error: {} does not match its manifest ({} changed, {} missing, {} extra)",
                out.display(),
                v.changed.len(),
                v.missing.len(),
                v.extra.len()
            );
        }
    }
    Ok(if v.ok() { 0 } else { 2 })
}
