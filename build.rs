//! Embeds every vendor profile in `profiles/` into the binary. The list is made from the
//! folder, so a new vendor or product era is a new file there, never a code change.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=profiles");
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&root).join("profiles");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a readable profiles folder").path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    // Sorted, so the generated code (and the binary) does not depend on directory order.
    files.sort();
    let mut code = String::from("&[\n");
    for path in &files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_else(|| panic!("{}: profile file names must be UTF-8", path.display()));
        let full = path
            .to_str()
            .unwrap_or_else(|| panic!("{}: the path must be UTF-8", path.display()));
        code += &format!("    ({name:?}, include_str!({full:?})),\n");
    }
    code += "]\n";
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("profiles.rs");
    std::fs::write(&out, code).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
}
