//! One small function per subcommand: turn parsed arguments into library calls and print.

/// `println!` that ignores a closed stdout (e.g. `agentpack inspect x --json | head`).
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}

/// `print!` that ignores a closed stdout.
#[allow(unused_macros)]
macro_rules! out_raw {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($t)*);
    }};
}

mod build;
mod inspect;
mod policy;
mod products;
mod verify;

use crate::cli::{Cli, Command, MstCommand, PolicyCommand};
use crate::error::Result;

/// Run a command; the Ok value is the exit code.
pub fn run(cli: Cli) -> Result<i32> {
    let profiles = cli.profiles.as_deref();
    match cli.command {
        Command::Build(args) => build::run(args, profiles, cli.json),
        Command::Policy(PolicyCommand::Check { files, product }) => {
            policy::check(&files, product.as_deref(), profiles, cli.json)
        }
        Command::Policy(PolicyCommand::Import(args)) => policy::import(args, profiles, cli.json),
        Command::Products => products::run(profiles, cli.json),
        Command::Verify { out } => verify::run(&out, cli.json),
        Command::Inspect {
            file,
            base,
            show_secrets,
        } => inspect::run_with(&file, base.as_deref(), cli.json, show_secrets),
        Command::Mst(MstCommand::Diff {
            base,
            modified,
            output,
        }) => inspect::mst_diff(&base, &modified, &output, cli.json),
    }
}

/// Print a serializable value as pretty JSON on stdout.
fn print_json(value: &impl serde::Serialize) {
    out!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}
