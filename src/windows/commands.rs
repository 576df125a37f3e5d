//! The msiexec command lines (reference msi-transforms §12, §13): install with the transform,
//! uninstall by ProductCode. Built once, then escaped for where they run.

use crate::error::{Error, Problem, Result};
use crate::formats::quote::{
    cmd_batch, cmd_batch_token, cmd_line_token, msiexec_path, msiexec_path_list, QuoteError,
};
use crate::policy::Scope;

/// One install or uninstall line as tokens, each already quoted for msiexec.
#[derive(Debug, Clone)]
pub struct MsiexecLine {
    tokens: Vec<Token>,
}

#[derive(Debug, Clone)]
enum Token {
    /// A fixed switch or a value from a validated source (ProductCode, `/qn`).
    Plain(String),
    /// Text quoted for msiexec that may contain `%` (file names): cmd escaping applies.
    Quoted(String),
    /// `"<%VAR%>\<file>"`: a log path whose folder is an environment variable cmd must expand.
    Log { var: &'static str, file: String },
}

/// Where the install log goes: users cannot write to `%WINDIR%\Temp`.
fn log_folder(scope: Scope) -> &'static str {
    match scope {
        Scope::Device => r"%WINDIR%\Temp",
        Scope::User => "%TEMP%",
    }
}

fn bad(what: &str, e: QuoteError, hint: &str) -> Error {
    Error::bad_input(Problem::new(format!("{what}: {e}")).hint(hint))
}

impl MsiexecLine {
    /// `msiexec /i "<msi>" TRANSFORMS="<mst>" /qn /norestart /l*v "<folder>\<log>"`, paths
    /// relative to the content folder.
    pub fn install(msi: &str, mst: &str, log: &str, scope: Scope) -> Result<MsiexecLine> {
        let rename = "rename the file: Windows paths cannot hold it";
        if let Some(c) = msi
            .chars()
            .find(|c| matches!(c, '<' | '>' | ':' | '"' | '/' | '\\' | '|' | '?' | '*'))
        {
            return Err(Error::bad_input(
                Problem::new(format!(
                    "the MSI's file name contains '{c}', which Windows file names cannot hold"
                ))
                .hint(rename),
            ));
        }
        // Windows drops trailing dots and spaces from file names: the copy on the content
        // share would not have the name the command line gives.
        if msi.ends_with(['.', ' ']) {
            return Err(Error::bad_input(
                Problem::new(format!(
                    "the MSI's file name {msi:?} ends in a dot or space, which Windows drops from file names"
                ))
                .hint(rename),
            ));
        }
        let msi = msiexec_path(msi).map_err(|e| bad("the MSI's file name", e, rename))?;
        let mst =
            msiexec_path_list(&[mst]).map_err(|e| bad("the transform's file name", e, rename))?;
        // Checked as a path so it can be quoted; the quotes are added around the variable too.
        msiexec_path(log).map_err(|e| {
            bad(
                "the profile's windows.install_log",
                e,
                "give a plain file name",
            )
        })?;
        let var = log_folder(scope);
        let mut tokens = vec![
            Token::Plain("msiexec".into()),
            Token::Plain("/i".into()),
            Token::Quoted(msi),
        ];
        tokens.push(Token::Quoted(format!("TRANSFORMS={mst}")));
        tokens.extend(["/qn", "/norestart", "/l*v"].map(|s| Token::Plain(s.into())));
        tokens.push(Token::Log {
            var,
            file: log.to_string(),
        });
        Ok(MsiexecLine { tokens })
    }

    /// `msiexec /x {ProductCode} /qn /norestart`.
    pub fn uninstall(product_code: &str) -> Result<MsiexecLine> {
        let ok = product_code.len() == 38
            && product_code.starts_with('{')
            && product_code.ends_with('}')
            && product_code[1..37]
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == '-');
        if !ok {
            return Err(Error::bad_input(
                Problem::new(format!(
                    "the MSI's ProductCode {product_code:?} is not a GUID in braces"
                ))
                .hint("pass the vendor's MSI; its ProductCode identifies the install"),
            ));
        }
        let tokens = ["msiexec", "/x", product_code, "/qn", "/norestart"]
            .map(|s| Token::Plain(s.into()))
            .to_vec();
        Ok(MsiexecLine { tokens })
    }

    /// As ConfigMgr runs it: `%` cannot be escaped there, so a file name holding one is refused.
    pub fn command_line(&self) -> Result<String> {
        self.join(|t| match t {
            Token::Plain(s) => Ok(s.clone()),
            Token::Quoted(s) => cmd_line_token(s),
            // Checked inside its quotes; the variable is then put in front of the name.
            Token::Log { var, file } => {
                Ok(cmd_line_token(&format!("\"{file}\""))?.replacen('"', &format!("\"{var}\\"), 1))
            }
        })
        .map_err(|e| {
            bad(
                "a file name on the ConfigMgr command line",
                e,
                "rename the file: '%' cannot be escaped on a command line",
            )
        })
    }

    /// As a line of a `.cmd` file: `%` in names doubled, variables left to expand.
    pub fn batch_line(&self) -> Result<String> {
        self.join(|t| match t {
            Token::Plain(s) => Ok(s.clone()),
            Token::Quoted(s) => cmd_batch_token(s),
            Token::Log { var, file } => Ok(format!("\"{var}\\{}\"", cmd_batch(file)?)),
        })
        .map_err(|e| bad("a file name in install.cmd", e, "rename the file"))
    }

    fn join(
        &self,
        f: impl Fn(&Token) -> std::result::Result<String, QuoteError>,
    ) -> std::result::Result<String, QuoteError> {
        Ok(self
            .tokens
            .iter()
            .map(f)
            .collect::<std::result::Result<Vec<_>, _>>()?
            .join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_line_quotes_paths_and_keeps_the_log_variable() {
        let l = MsiexecLine::install(
            "Crash Plan (x64) & co.msi",
            "acme.mst",
            "cp install.log",
            Scope::Device,
        )
        .unwrap();
        assert_eq!(
            l.command_line().unwrap(),
            r#"msiexec /i "Crash Plan (x64) & co.msi" TRANSFORMS="acme.mst" /qn /norestart /l*v "%WINDIR%\Temp\cp install.log""#
        );
        let l = MsiexecLine::install("100%.msi", "a.mst", "x.log", Scope::User).unwrap();
        assert_eq!(
            l.batch_line().unwrap(),
            r#"msiexec /i "100%%.msi" TRANSFORMS="a.mst" /qn /norestart /l*v "%TEMP%\x.log""#
        );
        assert!(l.command_line().is_err());
        assert!(MsiexecLine::install("a\"b.msi", "a.mst", "x.log", Scope::Device).is_err());
        for trailing in ["setup.msi.", "setup.msi "] {
            let e = MsiexecLine::install(trailing, "a.mst", "x.log", Scope::Device).unwrap_err();
            assert!(e.to_string().contains("ends in a dot or space"), "{e}");
        }
    }

    #[test]
    fn uninstall_needs_a_braced_guid() {
        let l = MsiexecLine::uninstall("{6F1A2B3C-4D5E-4F60-8172-93A4B5C6D7E8}").unwrap();
        assert_eq!(
            l.command_line().unwrap(),
            "msiexec /x {6F1A2B3C-4D5E-4F60-8172-93A4B5C6D7E8} /qn /norestart"
        );
        assert!(MsiexecLine::uninstall("{x & calc}").is_err());
    }
}
