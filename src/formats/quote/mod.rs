//! Escaping of one value for each text target a value can reach: msiexec command lines, cmd.exe
//! batch files, POSIX sh, PowerShell, XML, java.util.Properties files, plus tera filters that
//! apply them. Nothing here knows about any vendor or product.
//!
//! Every function either returns text that the target reads back as exactly the input, or a
//! [`QuoteError`] naming the target and the offending character. Errors never contain the input
//! value (values may be secrets such as deployment tokens), only the character as `U+XXXX` and its
//! position.
//!
//! Plists need nothing here: the `plist` crate escapes XML text itself.

mod cmd;
mod filters;
mod msiexec;
mod powershell;
mod properties;
mod sh;
mod xml;
mod yaml;

pub use cmd::{cmd_batch, cmd_batch_token, cmd_line_text, cmd_line_token};
pub use filters::{find_quote_error, register_filters, FILTER_NAMES};
pub use msiexec::{
    is_property_name, is_public_property_name, msiexec_path, msiexec_path_list, msiexec_property,
    msiexec_value,
};
pub use powershell::{powershell_ascii, powershell_single, POWERSHELL_QUOTES};
pub use properties::{
    has_line_break, java_properties_key, java_properties_value, properties_value_is_plain,
};
pub use sh::sh_single;
pub use xml::{is_xml_char, xml_attr, xml_text};
pub use yaml::yaml_double_quoted;

use std::fmt;

/// The target a value was being escaped for (named in errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuoteTarget {
    MsiexecValue,
    MsiexecPropertyName,
    MsiexecPath,
    CmdBatch,
    CmdToken,
    Sh,
    PowerShell,
    XmlText,
    XmlAttr,
    PropertiesKey,
    PropertiesValue,
    /// A tera filter got a value it cannot stringify (array, object, null) or bad arguments.
    Filter,
}

impl fmt::Display for QuoteTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            QuoteTarget::MsiexecValue => "msiexec property value",
            QuoteTarget::MsiexecPropertyName => "msiexec property name",
            QuoteTarget::MsiexecPath => "msiexec file argument",
            QuoteTarget::CmdBatch => "cmd.exe quoted text",
            QuoteTarget::CmdToken => "cmd.exe command-line token",
            QuoteTarget::Sh => "POSIX sh single-quoted word",
            QuoteTarget::PowerShell => "PowerShell single-quoted string",
            QuoteTarget::XmlText => "XML text",
            QuoteTarget::XmlAttr => "XML attribute value",
            QuoteTarget::PropertiesKey => "java.util.Properties key",
            QuoteTarget::PropertiesValue => "java.util.Properties value",
            QuoteTarget::Filter => "template filter",
        })
    }
}

/// A value that cannot be represented safely in a target.
///
/// Deliberately holds no part of the value except the single offending character, which is only
/// ever shown as a code point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteError {
    target: QuoteTarget,
    /// The offending character and its 0-based position in characters, if one is to blame.
    at: Option<(char, usize)>,
    reason: &'static str,
}

impl QuoteError {
    /// An error blamed on one character of the input.
    pub(crate) fn char(
        target: QuoteTarget,
        ch: char,
        position: usize,
        reason: &'static str,
    ) -> Self {
        QuoteError {
            target,
            at: Some((ch, position)),
            reason,
        }
    }

    /// An error about the value as a whole (empty name, wrong type, ...).
    pub(crate) fn whole(target: QuoteTarget, reason: &'static str) -> Self {
        QuoteError {
            target,
            at: None,
            reason,
        }
    }

    pub fn target(&self) -> QuoteTarget {
        self.target
    }

    /// The offending character, if the error is about one character.
    pub fn character(&self) -> Option<char> {
        self.at.map(|(c, _)| c)
    }

    /// Position of the offending character, counted in characters from 0.
    pub fn position(&self) -> Option<usize> {
        self.at.map(|(_, p)| p)
    }

    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

impl fmt::Display for QuoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            Some((ch, pos)) => write!(
                f,
                "cannot write value as {}: character U+{:04X} at position {}: {}",
                self.target, ch as u32, pos, self.reason
            ),
            None => write!(f, "cannot write value as {}: {}", self.target, self.reason),
        }
    }
}

impl std::error::Error for QuoteError {}

/// First character of `v` for which `bad` returns a reason, as an error for `target`.
pub(crate) fn reject(
    v: &str,
    target: QuoteTarget,
    bad: impl Fn(char) -> Option<&'static str>,
) -> Result<(), QuoteError> {
    for (pos, ch) in v.chars().enumerate() {
        if let Some(reason) = bad(ch) {
            return Err(QuoteError::char(target, ch, pos, reason));
        }
    }
    Ok(())
}

/// Reasons shared by several targets.
pub(crate) const NUL: &str = "NUL cannot be passed through C strings, files or process arguments";
pub(crate) const LINE_BREAK: &str = "a line break would end the command line";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names_target_and_code_point_but_not_value() {
        let secret = "token-s3cr3t\nrest";
        let e = msiexec_value(secret).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("U+000A"), "{msg}");
        assert!(msg.contains("position 12"), "{msg}");
        assert!(msg.contains("msiexec"), "{msg}");
        assert!(!msg.contains("s3cr3t") && !msg.contains("rest"), "{msg}");
        assert_eq!(e.character(), Some('\n'));
        assert_eq!(e.target(), QuoteTarget::MsiexecValue);
    }

    #[test]
    fn astral_code_point_is_shown_in_full() {
        let e = QuoteError::char(QuoteTarget::Sh, '\u{1F600}', 0, "test");
        assert!(e.to_string().contains("U+1F600"));
    }
}
