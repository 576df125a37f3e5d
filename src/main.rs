//! Entry point: parse arguments, run, map errors to exit codes (0 ok, 1 internal, 2 bad input).

use agentpack::error::{Error, Problem};
use clap::Parser;
use std::io::Write as _;

/// `{"ok": false, "kind", "problems"}` on stdout, as every command's --json error.
fn print_json_error(e: &Error) {
    let report = serde_json::json!({ "ok": false, "kind": e.kind, "problems": e.problems });
    let _ = writeln!(
        std::io::stdout(),
        "{}",
        serde_json::to_string_pretty(&report).unwrap_or_default()
    );
}

/// Whether `--json` is among the arguments (looked for when clap could not parse them).
fn json_requested() -> bool {
    std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json")
}

/// A usage error: clap's text (tokens masked) on stderr, a JSON error too under --json; exit 2.
fn usage_error(e: clap::Error) -> ! {
    use clap::error::ErrorKind as K;
    if matches!(e.kind(), K::DisplayHelp | K::DisplayVersion) || e.exit_code() == 0 {
        e.exit();
    }
    let text = e.render().to_string();
    if json_requested() {
        let first = text.lines().next().unwrap_or_default();
        let message = first.strip_prefix("error: ").unwrap_or(first);
        let usage = text
            .lines()
            .find_map(|l| l.strip_prefix("Usage: "))
            .map_or_else(String::new, |u| format!("usage: {u}; "));
        let problem = Problem::new(message).hint(format!("{usage}see agentpack --help"));
        print_json_error(&Error::bad_input(problem));
    }
    let shown: Vec<String> = text.lines().map(agentpack::error::shown).collect();
    eprintln!("{}", shown.join("\n").trim_end());
    std::process::exit(2);
}

fn main() {
    agentpack::panic_guard::install();
    let cli = agentpack::cli::Cli::try_parse().unwrap_or_else(|e| usage_error(e));
    let json = cli.json;
    // A panic is a bug: the hook has reported it; whatever it interrupted was unwound (a
    // build's staging folder removed) and the exit code says "internal failure".
    let result =
        std::panic::catch_unwind(move || agentpack::commands::run(cli)).unwrap_or_else(|_| {
            if json {
                let e = Error::internal("agentpack panicked (a bug): see the report on stderr");
                print_json_error(&e);
            }
            std::process::exit(1)
        });
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            if json {
                print_json_error(&e);
            }
            eprintln!("error: {e}");
            std::process::exit(e.exit_code());
        }
    }
}
