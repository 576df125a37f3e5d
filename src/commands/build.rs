use super::print_json;
use crate::build::{Flags, Request};
use crate::cli::BuildArgs;
use crate::error::Result;
use std::io::IsTerminal;
use std::path::Path;

pub fn run(args: BuildArgs, profiles: Option<&Path>, json: bool) -> Result<i32> {
    let req = Request {
        config: args.config,
        policies: args.policies,
        msi: args.msi,
        pkg: args.pkg,
        out: args.out,
        product: args.product,
        profiles: profiles.map(Path::to_path_buf),
        flags: Flags {
            wrap_vendor: args.wrap_vendor,
            jamf_params: args.jamf_params,
            copy_installers: args.copy_installers,
        },
        keep_going: args.keep_going,
        progress: !json && std::io::stderr().is_terminal(),
    };
    stop_cleanly_on_signals(json);
    let summary = crate::build::run(&req)?;
    if json {
        print_json(&summary);
    } else {
        for n in &summary.notes {
            eprintln!("note: {}", crate::error::escape_controls(n));
        }
        for p in &summary.failed {
            eprintln!("error: {p}");
        }
        out!(
            "built {} files for {} {} ({}) into {}",
            summary.outputs,
            summary.policies.len(),
            if summary.policies.len() == 1 {
                "policy"
            } else {
                "policies"
            },
            summary.product,
            summary.out
        );
    }
    Ok(if summary.failed.is_empty() { 0 } else { 2 })
}

/// On SIGINT, SIGTERM or SIGHUP, remove what the build has written so far (its staging folder
/// holds deployment tokens) and its lock file, then exit 128 + the signal's number (130, 143,
/// 129), as a shell reports a process the signal killed. OUT is left as it was.
fn stop_cleanly_on_signals(json: bool) {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return; // the default action (die at once) still applies; the next build sweeps up
    };
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            // Held until exit: no write of the build lands after the cleanup.
            let _held = crate::build::remove_unfinished();
            let name = match sig {
                SIGINT => "SIGINT",
                SIGTERM => "SIGTERM",
                _ => "SIGHUP",
            };
            let message = format!(
                "interrupted by {name}: the build stopped; its unfinished files were removed"
            );
            if json {
                print_json(&serde_json::json!({
                    "ok": false,
                    "kind": "interrupted",
                    "problems": [{ "message": message }],
                }));
            }
            eprintln!("error: {message}");
            std::process::exit(128 + sig);
        }
    });
}
