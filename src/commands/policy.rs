use super::print_json;
use crate::cli::ImportArgs;
use crate::error::{Error, Problem, Problems, Result};
use crate::policy::{self, LoadOptions};
use crate::product::Products;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

pub fn check(
    files: &[PathBuf],
    product: Option<&str>,
    profiles: Option<&Path>,
    json: bool,
) -> Result<i32> {
    let products = Products::load(profiles)?;
    let env = |k: &str| std::env::var(k).ok();
    let opts = LoadOptions {
        products: &products,
        default_product: product,
        env: &env,
    };
    let mut problems = Problems::default();
    let mut ok = Vec::new();
    for f in files {
        match policy::load_policy(f, &opts) {
            Ok(p) => ok.push(p),
            Err(e) if e.kind == crate::error::Kind::Internal => return Err(e),
            Err(e) => problems.extend(e),
        }
    }
    if json && problems.is_empty() {
        print_json(&serde_json::json!({ "ok": true, "policies": ok }));
    } else if !json {
        for p in &ok {
            out!("ok: {} ({}, {})", p.source.display(), p.name, p.product);
        }
    }
    problems.finish()?;
    Ok(0)
}

/// Write `data` to `path` with mode 0600 (it holds the token).
fn write_secret(path: &Path, data: &[u8]) -> Result<()> {
    let tmp = path.with_extension("agentpack-tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| Error::io(&tmp, "create", e))?;
    f.write_all(data).map_err(|e| Error::io(&tmp, "write", e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, "write", e))
}

pub fn import(args: ImportArgs, profiles: Option<&Path>, json: bool) -> Result<i32> {
    let products = Products::load(profiles)?;
    let product = products
        .require(&args.product)
        .map_err(|p| Error::bad_input(p.field("--product")))?;
    let imported = match (&args.windows_args, &args.deploy_properties) {
        (Some(a), _) => policy::import_windows_args(a, product)?,
        (None, Some(f)) => {
            let hint = "pass the deploy.properties file as the console or a Mac wrote it";
            let text = crate::build::read_text(f, "deploy.properties", 1 << 20, hint)?;
            policy::import_deploy_properties(&text, product).map_err(|e| e.in_file(f))?
        }
        (None, None) => {
            return Err(Error::bad_input(Problem::new(
                "give --windows-args or --deploy-properties",
            )))
        }
    };
    let organization = args
        .organization
        .clone()
        .unwrap_or_else(|| args.name.clone());
    // Validate the result exactly as a build would, token included.
    let full = policy::render_policy_yaml(
        &args.name,
        &args.product,
        &organization,
        &imported,
        policy::TokenOut::Inline,
    );
    let env = |_: &str| None;
    let opts = LoadOptions {
        products: &products,
        default_product: None,
        env: &env,
    };
    // Problems are reported against what the user gave: the arguments or the properties file.
    let source = match &args.deploy_properties {
        Some(f) => f.clone(),
        None => PathBuf::from("--windows-args"),
    };
    let policy =
        policy::load_policy_text(Path::new("imported.yaml"), &full, &opts).map_err(|mut e| {
            for p in &mut e.problems {
                p.file = Some(source.clone());
                p.line = None;
            }
            e
        })?;

    if let Some(out) = &args.output {
        write_secret(out, full.as_bytes())?;
        if json {
            print_json(&serde_json::json!({ "ok": true, "written": out, "policy": policy }));
        } else {
            eprintln!("wrote {} (holds the token; mode 0600)", out.display());
        }
        return Ok(0);
    }
    // On stdout the token is never printed: it goes to a file or an environment variable.
    let default_var = format!(
        "AGENTPACK_TOKEN_{}",
        args.name.to_ascii_uppercase().replace('-', "_")
    );
    let text = match &args.token_file {
        Some(tf) => {
            write_secret(tf, format!("{}\n", policy.token.expose()).as_bytes())?;
            policy::render_policy_yaml(
                &args.name,
                &args.product,
                &organization,
                &imported,
                policy::TokenOut::File(&tf.to_string_lossy()),
            )
        }
        None => {
            let var = args.token_env.as_deref().unwrap_or(&default_var);
            eprintln!("note: the token is not printed; set {var} to it (or use -o FILE / --token-file FILE)");
            policy::render_policy_yaml(
                &args.name,
                &args.product,
                &organization,
                &imported,
                policy::TokenOut::Env(var),
            )
        }
    };
    if json {
        print_json(&serde_json::json!({ "ok": true, "policy_yaml": text }));
    } else {
        out_raw!("{text}");
    }
    Ok(0)
}
