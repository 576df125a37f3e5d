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
    let summary = crate::build::run(&req)?;
    if json {
        print_json(&summary);
    } else {
        for n in &summary.notes {
            eprintln!("note: {n}");
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
