//! Command-line definitions (clap). Each subcommand's work lives in `commands`.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

// No `Debug` on these types: `--windows-args` holds the deployment token.
#[derive(Parser)]
#[command(
    name = "agentpack",
    version,
    about = "Build SCCM transforms, Jamf packages, profiles and checksum manifests for endpoint agents from one deployment policy."
)]
pub struct Cli {
    /// Folder of vendor profiles that add to or override the embedded ones.
    #[arg(long, global = true, value_name = "DIR")]
    pub profiles: Option<PathBuf>,
    /// Print a machine-readable JSON result on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Build every artifact for the policies into OUT (default from agentpack.yaml).
    Build(BuildArgs),
    /// Check or import policy files.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// List the vendor profiles (products) agentpack knows.
    Products,
    /// Re-hash an output folder against its manifest.json.
    Verify {
        /// The output folder of a build.
        out: PathBuf,
    },
    /// Show what an .msi or .mst holds (identity, properties, summary, row changes).
    Inspect {
        file: PathBuf,
        /// Base MSI, to name the columns of a transform's changes.
        #[arg(long, value_name = "MSI")]
        base: Option<PathBuf>,
        /// Show deployment tokens instead of masking them.
        #[arg(long)]
        show_secrets: bool,
    },
    /// MSI transform tools.
    #[command(subcommand)]
    Mst(MstCommand),
}

#[derive(Args)]
pub struct BuildArgs {
    /// Config file (default: agentpack.yaml in the working folder, when no --policy is given).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A policy file (repeatable); replaces the config's `policies`.
    #[arg(long = "policy", value_name = "FILE")]
    pub policies: Vec<PathBuf>,
    /// The vendor's Windows installer (.msi).
    #[arg(long, value_name = "FILE")]
    pub msi: Option<PathBuf>,
    /// The vendor's macOS installer (.pkg).
    #[arg(long, value_name = "FILE")]
    pub pkg: Option<PathBuf>,
    /// Output folder (replaced atomically).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Product id for policies that do not name one.
    #[arg(long, value_name = "ID")]
    pub product: Option<String>,
    /// Also write one distribution package holding the config and the vendor's components
    /// (drops the vendor's signature).
    #[arg(long)]
    pub wrap_vendor: bool,
    /// The Jamf script reads its values from script parameters $4-$11.
    #[arg(long)]
    pub jamf_params: bool,
    /// Copy installers into each policy's folder instead of hard-linking them.
    #[arg(long)]
    pub copy_installers: bool,
    /// Build the valid policies even when others fail (still exits 2).
    #[arg(long)]
    pub keep_going: bool,
}

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Validate policy files and report every problem.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Product for policies that do not name one.
        #[arg(long, value_name = "ID")]
        product: Option<String>,
    },
    /// Make a policy file from the console's install arguments or a deploy.properties file.
    Import(ImportArgs),
}

#[derive(Args)]
pub struct ImportArgs {
    /// The arguments copied from the console (with or without `msiexec /i file.msi`).
    #[arg(
        long,
        value_name = "ARGS",
        conflicts_with = "deploy_properties",
        required_unless_present = "deploy_properties"
    )]
    pub windows_args: Option<String>,
    /// A macOS deploy.properties file.
    #[arg(long, value_name = "FILE")]
    pub deploy_properties: Option<PathBuf>,
    /// Policy name (used in output names).
    #[arg(long)]
    pub name: String,
    #[arg(long)]
    pub product: String,
    /// Organisation display name (default: the policy name).
    #[arg(long)]
    pub organization: Option<String>,
    /// Write the policy to FILE instead of stdout (mode 0600 when it holds the token, that is
    /// without --token-env or --token-file).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Refer to the token through this environment variable (the policy holds no secret).
    #[arg(long, value_name = "VAR")]
    pub token_env: Option<String>,
    /// Write the token to FILE (mode 0600) and refer to it with `token_file` (relative to the
    /// policy's folder with -o, else absolute).
    #[arg(long, value_name = "FILE", conflicts_with = "token_env")]
    pub token_file: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum MstCommand {
    /// Write the transform that turns BASE into MODIFIED (like msitran -g).
    Diff {
        base: PathBuf,
        modified: PathBuf,
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
    },
}
