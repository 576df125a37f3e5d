use super::print_json;
use crate::error::{shown, Result};
use std::path::Path;

/// `path` as a shell word for a command the user can paste (quoted when not plain).
fn shell_word(path: &Path) -> String {
    let text = path.to_string_lossy();
    let plain = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@%".contains(c));
    if plain {
        text.into_owned()
    } else {
        crate::formats::quote::sh_single(&text).unwrap_or_else(|_| text.into_owned())
    }
}

pub fn run(out: &Path, json: bool) -> Result<i32> {
    let v = crate::manifest::verify(out)?;
    if json {
        print_json(&serde_json::json!({
            "ok": v.ok(),
            "checked": v.checked,
            "changed": v.changed,
            "missing": v.missing,
            "extra": v.extra,
            "exposed": v.exposed,
        }));
    } else {
        // Names come from the folder and the manifest: control characters are shown escaped.
        for p in &v.changed {
            out!("changed: {}", shown(p));
        }
        for p in &v.missing {
            out!("missing: {}", shown(p));
        }
        for p in &v.extra {
            out!("extra:   {}", shown(p));
        }
        for e in &v.exposed {
            out!(
                "mode:    {} holds a deployment token but is mode {}, readable by others: run chmod {} {}",
                shown(&e.path),
                e.mode,
                e.fix,
                shown(&shell_word(&out.join(&e.path)))
            );
        }
        if v.ok() {
            out!(
                "ok: {} files match {}",
                v.checked,
                shown(&out.join(crate::manifest::MANIFEST).to_string_lossy())
            );
        } else {
            eprintln!(
                "error: {} fails verification against its manifest ({} changed, {} missing, {} extra, {} secret files readable by others)",
                shown(&out.to_string_lossy()),
                v.changed.len(),
                v.missing.len(),
                v.extra.len(),
                v.exposed.len()
            );
            if !v.exposed.is_empty() {
                eprintln!("  hint: files holding the deployment token must be readable by their owner only: run the chmod commands above");
            }
        }
    }
    Ok(if v.ok() { 0 } else { 2 })
}
