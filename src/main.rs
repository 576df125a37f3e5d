//! Entry point: parse arguments, run, map errors to exit codes (0 ok, 1 internal, 2 bad input).

use clap::Parser;

fn main() {
    let cli = agentpack::cli::Cli::parse();
    let json = cli.json;
    match agentpack::commands::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            if json {
                let report =
                    serde_json::json!({ "ok": false, "kind": e.kind, "problems": e.problems });
                use std::io::Write as _;
                let _ = writeln!(
                    std::io::stdout(),
                    "{}",
                    serde_json::to_string_pretty(&report).unwrap_or_default()
                );
            }
            eprintln!("error: {e}");
            std::process::exit(e.exit_code());
        }
    }
}
