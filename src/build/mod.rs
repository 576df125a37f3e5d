//! The build: load and validate every input, plan, render per policy and platform, stage,
//! write the manifest and commit.

mod artifact;
mod inputs;
mod installer_name;
mod leftovers;
mod stage;
mod test_hooks;

pub use artifact::{Artifact, Contents, DeriveFn, Platform, StreamFn};
pub use inputs::{
    display_path, hash_file, hash_file_with, hex, read_text, regular_file, sha256_hex,
    sha3_512_hex, Input, Role,
};
pub use leftovers::remove_unfinished;
pub use stage::{Placement, Staging, Written};

use crate::config::Config;
use crate::error::{Error, Problem, Problems, Result};
use crate::manifest::{self, Manifest, OutputRecord, OutputSpill, ProductRef};
use crate::policy::{load_policy, LoadOptions, Policy};
use crate::product::{Product, Products};
use rayon::prelude::*;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Build flags that shape the artifacts.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// Also write a distribution package wrapping the vendor pkg.
    pub wrap_vendor: bool,
    /// The Jamf script reads its values from parameters $4-$11.
    pub jamf_params: bool,
    /// Copy installers instead of hard-linking them.
    pub copy_installers: bool,
}

/// Everything `agentpack build` was asked for.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub config: Option<PathBuf>,
    pub policies: Vec<PathBuf>,
    pub msi: Option<PathBuf>,
    pub pkg: Option<PathBuf>,
    pub out: Option<PathBuf>,
    pub product: Option<String>,
    pub profiles: Option<PathBuf>,
    pub flags: Flags,
    pub keep_going: bool,
    /// Show progress bars (terminal, not --json).
    pub progress: bool,
}

/// What one policy's renderers see. Installers are read once per build and shared.
pub struct Context<'a> {
    pub policy: &'a Policy,
    pub product: &'a Product,
    pub msi: Option<&'a crate::windows::MsiInstaller>,
    pub pkg: Option<&'a crate::macos::PkgInstaller>,
    pub flags: &'a Flags,
}

#[derive(Debug, Serialize)]
pub struct PolicySummary {
    pub name: String,
    pub outputs: usize,
}

/// The machine-readable result (`--json`). Holds no secret.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// True when every policy was built (false with --keep-going failures), as in every
    /// command's --json output.
    pub ok: bool,
    pub out: String,
    pub product: String,
    pub policies: Vec<PolicySummary>,
    pub outputs: usize,
    pub build_time: String,
    /// Policies that failed with --keep-going (their problems).
    pub failed: Vec<Problem>,
    pub notes: Vec<String>,
}

fn env_lookup(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Resolve the request against agentpack.yaml (explicit or in the working folder).
fn resolve(req: &Request) -> Result<(Config, Option<PathBuf>)> {
    let config_path = match &req.config {
        Some(p) => Some(p.clone()),
        None => {
            let p = PathBuf::from(crate::config::DEFAULT_CONFIG);
            (req.policies.is_empty() && p.is_file()).then_some(p)
        }
    };
    let mut cfg = match &config_path {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    if !req.policies.is_empty() {
        cfg.policies = req.policies.clone();
    }
    if req.msi.is_some() {
        cfg.msi = req.msi.clone();
    }
    if req.pkg.is_some() {
        cfg.pkg = req.pkg.clone();
    }
    if req.out.is_some() {
        cfg.out = req.out.clone();
    }
    if req.product.is_some() {
        cfg.product = req.product.clone();
    }
    if cfg.policies.is_empty() {
        return Err(Error::bad_input(
            Problem::new("no policy to build")
                .hint("pass --policy FILE, or run where agentpack.yaml lists `policies:` (or give --config FILE)"),
        ));
    }
    Ok((cfg, config_path))
}

/// Load every policy, collecting all problems. With `keep_going`, failed policies are returned
/// as problems instead of failing the build.
fn load_policies(
    cfg: &Config,
    products: &Products,
    keep_going: bool,
) -> Result<(Vec<Policy>, Vec<Problem>)> {
    let env = env_lookup;
    let opts = LoadOptions {
        products,
        default_product: cfg.product.as_deref(),
        env: &env,
    };
    let results: Vec<_> = cfg
        .policies
        .par_iter()
        .map(|p| load_policy(p, &opts))
        .collect();
    let mut policies = Vec::new();
    let mut problems = Problems::default();
    let mut internal = None;
    for r in results {
        match r {
            Ok(p) => policies.push(p),
            Err(e) if e.kind == crate::error::Kind::Internal => internal = Some(e),
            Err(e) => problems.extend(e),
        }
    }
    if let Some(e) = internal {
        return Err(e);
    }
    // Names must be unique: they are folder names.
    let mut seen = std::collections::BTreeMap::new();
    for p in &policies {
        if let Some(first) = seen.insert(p.name.clone(), p.source.clone()) {
            problems.push(
                Problem::new(format!(
                    "policy name '{}' is also used by {}",
                    p.name,
                    first.display()
                ))
                .file(&p.source)
                .field("name")
                .hint("give each policy its own name"),
            );
        }
    }
    if problems.is_empty() || keep_going {
        Ok((policies, problems.0))
    } else {
        Err(Error::many(problems.0))
    }
}

/// The build's product: the request's, else the policies' (which must agree).
fn choose_product<'p>(
    cfg: &Config,
    policies: &[Policy],
    products: &'p Products,
) -> Result<&'p Product> {
    let id = match (&cfg.product, policies.first()) {
        (Some(id), _) => id.clone(),
        (None, Some(p)) => p.product.clone(),
        (None, None) => return Err(Error::bad_input(Problem::new("no valid policy to build"))),
    };
    let mut problems = Problems::default();
    for p in policies.iter().filter(|p| p.product != id) {
        problems.push(
            Problem::new(format!(
                "is for product '{}' but this build is for '{id}'",
                p.product
            ))
            .file(&p.source)
            .field("product")
            .hint("build each product separately: installers belong to one product"),
        );
    }
    problems.finish()?;
    products.require(&id).map_err(Error::bad_input)
}

/// Run a build; on any failure OUT is left as it was.
pub fn run(req: &Request) -> Result<Summary> {
    let (cfg, config_path) = resolve(req)?;
    let products = Products::load(req.profiles.as_deref())?;
    let (policies, mut failed) = load_policies(&cfg, &products, req.keep_going)?;
    let product = choose_product(&cfg, &policies, &products)?;
    let out = cfg.out.clone().unwrap_or_else(|| PathBuf::from("dist"));

    // Inputs, each hashed once. Installers are read once and shared by every policy.
    let mut inputs = Vec::new();
    if let Some(c) = &config_path {
        inputs.push(Input::read(c, Role::Config, false)?);
    }
    for p in &policies {
        inputs.push(Input::read(&p.source, Role::Policy, false)?);
    }
    let named: Vec<&Path> = [cfg.msi.as_deref(), cfg.pkg.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    installer_name::check(&named)?;
    let progress = req.progress;
    let (msi, pkg) = rayon::join(
        || {
            cfg.msi
                .as_deref()
                .map(|p| crate::windows::MsiInstaller::read(p, progress))
                .transpose()
        },
        || {
            cfg.pkg
                .as_deref()
                .map(|p| crate::macos::PkgInstaller::read(p, progress))
                .transpose()
        },
    );
    let (msi, pkg) = match (msi, pkg) {
        (Ok(m), Ok(p)) => (m, p),
        (Err(a), Err(b)) => {
            let mut e = a;
            e.problems.extend(b.problems);
            return Err(e);
        }
        (Err(e), _) | (_, Err(e)) => return Err(e),
    };
    let mut notes = Vec::new();
    let msi = msi.map(|(mut m, input)| {
        m.input = inputs.len();
        inputs.push(input);
        notes.extend(m.notes(product));
        m
    });
    let pkg = pkg.map(|(mut p, input)| {
        p.input = inputs.len();
        inputs.push(input);
        p
    });

    // Render and write every policy in parallel. Each policy's artifacts are written as soon as
    // they are rendered, so memory holds a few policies at a time, not the whole build.
    let build_time = build_time(&inputs)?;
    // OUT is replaced whole: refuse one that holds an input (a policy, token file, installer).
    let mut held: Vec<PathBuf> = inputs.iter().map(|i| i.abs.clone()).collect();
    held.extend(policies.iter().filter_map(|p| p.token_file.clone()));
    let staging = Staging::begin(&out, &held)?;
    notes.extend(staging.notes().iter().cloned());
    // Each policy's manifest records go to disk as soon as it is written: memory stays flat
    // however many policies a build has.
    let spill = OutputSpill::new(staging.path().parent().unwrap_or(Path::new(".")))?;
    let flags = &req.flags;
    let rendered: Vec<(String, Result<usize>)> = policies
        .par_iter()
        .map(|policy| {
            let ctx = Context {
                policy,
                product,
                msi: msi.as_ref(),
                pkg: pkg.as_ref(),
                flags,
            };
            let r = crate::windows::render(&ctx)
                .and_then(|mut w| {
                    w.extend(crate::macos::render(&ctx)?);
                    Ok(w)
                })
                .and_then(|artifacts| write(&staging, &artifacts, &inputs, flags))
                .and_then(|records| {
                    let n = records.len();
                    spill.add(&policy.name, records)?;
                    test_hooks::panic_at("policy");
                    Ok(n)
                });
            // A policy that failed (with --keep-going, the others are still committed) leaves
            // none of its files behind: its folder holds what it wrote before failing.
            let r = match r {
                Err(e) if e.kind == crate::error::Kind::BadInput => {
                    staging.discard(Path::new(&policy.name)).and(Err(e))
                }
                r => r,
            };
            (policy.name.clone(), r)
        })
        .collect();
    test_hooks::pause("staged");
    let mut outputs = 0;
    let mut summaries = Vec::new();
    let mut problems = Problems::default();
    for (name, r) in rendered {
        match r {
            Ok(n) => {
                summaries.push(PolicySummary { name, outputs: n });
                outputs += n;
            }
            Err(e) if e.kind == crate::error::Kind::Internal => return Err(e),
            Err(e) => problems.extend(e),
        }
    }
    if !problems.is_empty() {
        if !req.keep_going {
            return Err(Error::many(problems.0));
        }
        failed.extend(problems.0);
    }
    if summaries.is_empty() {
        return Err(Error::many(failed));
    }
    if let Some(p) = &pkg {
        notes.extend(p.notes(flags));
    }
    notes.extend(crate::macos::unconfirmed_notes(product, &policies, &cfg));

    let product_ref = ProductRef {
        id: product.id.clone(),
        display_name: product.display_name.clone(),
        era: product.era.clone(),
    };
    let head = Manifest::new(build_time, product_ref, &inputs, Vec::new());
    let written = staging.write_with(Path::new(manifest::MANIFEST), 0o644, |w| {
        spill.write_manifest(&head.to_json(), w)
    })?;
    staging.write_with(Path::new(manifest::SUMS), 0o644, |w| {
        spill.write_sums(&written.sha256, w)
    })?;
    drop(spill);
    staging.commit()?;

    summaries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Summary {
        ok: failed.is_empty(),
        out: display_path(&out),
        product: product.id.clone(),
        policies: summaries,
        outputs,
        build_time: head.build_time,
        failed,
        notes,
    })
}

/// Write one policy's artifacts into staging and describe them for the manifest.
fn write(
    staging: &Staging,
    artifacts: &[Artifact],
    inputs: &[Input],
    flags: &Flags,
) -> Result<Vec<OutputRecord>> {
    let written = staging.write_artifacts(artifacts, inputs, flags.copy_installers)?;
    artifacts
        .iter()
        .zip(written)
        .map(|(a, w)| {
            Ok(OutputRecord {
                path: record_path(&a.path)?,
                size: w.size,
                sha256: w.sha256,
                kind: a.kind.to_string(),
                platform: manifest::platform_name(a.platform),
                policy: a.policy.clone(),
                secret: a.secret,
                placement: w.placement,
            })
        })
        .collect()
}

/// An output's path as the manifest and SHA256SUMS list it: exactly the file's name, or an
/// internal error (names come from validated policy names and installer names).
fn record_path(path: &Path) -> Result<String> {
    path.to_str()
        .filter(|p| !p.contains('\\') && !p.chars().any(char::is_control))
        .map(str::to_string)
        .ok_or_else(|| {
            Error::internal(format!(
                "output path {} cannot be listed in SHA256SUMS",
                path.display()
            ))
        })
}

/// `SOURCE_DATE_EPOCH` when set; otherwise the newest input's mtime, so that rebuilding the
/// same inputs gives the same manifest.
fn build_time(inputs: &[Input]) -> Result<u64> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        // At most 9999-12-31T23:59:59Z: the manifest writes a four-digit year.
        Ok(v) if !v.trim().is_empty() => {
            v.trim()
                .parse()
                .ok()
                .filter(|&t| t <= 253_402_300_799)
                .ok_or_else(|| {
                    Error::bad_input(
                Problem::new(format!(
                    "SOURCE_DATE_EPOCH is '{}', not a number of seconds before the year 10000",
                    v.chars().take(24).collect::<String>()
                ))
                .field("SOURCE_DATE_EPOCH")
                .hint("set it to a Unix timestamp, e.g. $(git log -1 --format=%ct), or unset it"),
            )
                })
        }
        _ => Ok(inputs.iter().map(|i| i.mtime).max().unwrap_or(0)),
    }
}
