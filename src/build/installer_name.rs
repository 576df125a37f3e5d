//! Installer file names become output paths: they are written into SHA256SUMS, the manifest,
//! scripts and XML. Names that cannot be written there as they are, and checked back, are
//! refused before anything is read.

use crate::error::{Problem, Problems, Result};
use std::path::Path;

/// Why `name` cannot be an output's file name, if it cannot.
fn unsafe_reason(name: &str) -> Option<String> {
    if name.contains('\\') {
        // GNU sha256sum escapes such names with a leading backslash and reads `\` in a listed
        // name as an escape: the line would name another file.
        return Some(
            "contains a backslash, which SHA256SUMS cannot list (sha256sum -c reads it as an escape)"
                .into(),
        );
    }
    let c = name
        .chars()
        .find(|&c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}'))?;
    Some(format!(
        "contains the control character U+{:04X}, which cannot be written safely into SHA256SUMS, scripts or XML (a line break would split the checksum line)",
        u32::from(c)
    ))
}

/// Refuse installers whose file names cannot be written into the outputs as they are.
pub(super) fn check(installers: &[&Path]) -> Result<()> {
    let mut problems = Problems::default();
    let hint = "rename the installer file to a plain name (letters, digits, spaces, '.', '-', '_')";
    for path in installers {
        let Some(name) = path.file_name() else {
            continue; // not a file: reading it reports that
        };
        let reason = match name.to_str() {
            None => Some("is not valid UTF-8, which the manifest, scripts and XML need".into()),
            Some(n) => unsafe_reason(n),
        };
        if let Some(r) = reason {
            problems.push(
                Problem::new(format!("the file name {r}"))
                    .file(path)
                    .hint(hint),
            );
        }
    }
    problems.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_names_are_refused_with_the_reason() {
        for ok in [
            "vendor.pkg",
            "Install Vendor 11.7 (x64) ä 中.pkg",
            "a'b$c`d\"e&f.msi",
        ] {
            assert!(check(&[Path::new(ok)]).is_ok(), "{ok}");
        }
        let e = check(&[Path::new("weird/x\\y.pkg")]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.to_string()
                .contains("x\\y.pkg: the file name contains a backslash"),
            "{e}"
        );
        let e = check(&[Path::new("x\ny.msi"), Path::new("z\u{7f}.pkg")]).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("x\\ny.msi: the file name contains the control character U+000A"),
            "{text}"
        );
        assert!(text.contains("U+007F"), "{text}");
        use std::os::unix::ffi::OsStrExt;
        let latin1 = std::ffi::OsStr::from_bytes(b"caf\xe9.pkg");
        let e = check(&[Path::new(latin1)]).unwrap_err();
        assert!(e.to_string().contains("not valid UTF-8"), "{e}");
    }
}
