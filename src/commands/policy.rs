use super::print_json;
use crate::cli::ImportArgs;
use crate::error::{Error, Problem, Problems, Result};
use crate::policy::{self, LoadOptions};
use crate::product::Products;
use std::io::Write;
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

/// Write `data` to `path` atomically with `mode`: through a fresh, unpredictable temporary
/// file beside it (created 0600, never an existing file or link), renamed into place. On any
/// failure the temporary file is removed.
fn write_file(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".agentpack-")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, "create a file in", e))?;
    tmp.write_all(data)
        .map_err(|e| Error::io(tmp.path(), "write", e))?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io(tmp.path(), "set permissions of", e))?;
    tmp.persist(path)
        .map_err(|e| Error::io(path, "write", e.error))?;
    Ok(())
}

/// `target` relative to the folder `from` (both made absolute), for `token_file`, which is
/// read relative to the policy file's folder.
fn relative_to(target: &Path, from: &Path) -> PathBuf {
    let abs = |p: &Path| {
        let p = if p.as_os_str().is_empty() {
            Path::new(".")
        } else {
            p
        };
        std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
    };
    let name = target.file_name().map(PathBuf::from).unwrap_or_default();
    let target_dir = abs(target.parent().unwrap_or(Path::new(".")));
    let from = abs(from);
    let common = target_dir
        .components()
        .zip(from.components())
        .take_while(|(a, b)| a == b)
        .count();
    let mut rel = PathBuf::new();
    for _ in from.components().skip(common) {
        rel.push("..");
    }
    for c in target_dir.components().skip(common) {
        rel.push(c);
    }
    rel.join(name)
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

    // Where the token goes: inline only in a 0600 file of its own; otherwise a token file
    // (0600) or an environment variable, and the policy holds no secret.
    let default_var = format!(
        "AGENTPACK_TOKEN_{}",
        args.name.to_ascii_uppercase().replace('-', "_")
    );
    let render = |token: policy::TokenOut| {
        policy::render_policy_yaml(&args.name, &args.product, &organization, &imported, token)
    };
    let mut notes = Vec::new();
    let (text, secret) = match (&args.token_file, &args.token_env, &args.output) {
        (Some(tf), _, out) => {
            write_file(tf, format!("{}\n", policy.token.expose()).as_bytes(), 0o600)?;
            // token_file is read relative to the policy file's folder.
            let reference = match out {
                Some(o) => relative_to(tf, o.parent().unwrap_or(Path::new("."))),
                None => {
                    let abs = std::fs::canonicalize(tf).unwrap_or_else(|_| tf.clone());
                    notes.push("token_file is written as an absolute path: with -o FILE it is relative to the policy's folder".to_string());
                    abs
                }
            };
            notes.push(format!("wrote the token to {} (mode 0600)", tf.display()));
            (
                render(policy::TokenOut::File(&reference.to_string_lossy())),
                false,
            )
        }
        (None, Some(var), _) => (render(policy::TokenOut::Env(var)), false),
        (None, None, Some(_)) => (full.clone(), true),
        (None, None, None) => {
            notes.push(format!("the token is not printed; set {default_var} to it (or use -o FILE / --token-file FILE)"));
            (render(policy::TokenOut::Env(&default_var)), false)
        }
    };
    if let Some(out) = &args.output {
        write_file(out, text.as_bytes(), if secret { 0o600 } else { 0o644 })?;
        if secret {
            notes.push(format!(
                "wrote {} (holds the token; mode 0600)",
                out.display()
            ));
        } else {
            notes.push(format!("wrote {}", out.display()));
        }
    }
    if json {
        let mut report = serde_json::json!({ "ok": true, "policy": policy, "notes": notes });
        match &args.output {
            Some(out) => report["written"] = serde_json::json!(out),
            None => report["policy_yaml"] = serde_json::json!(text),
        }
        print_json(&report);
    } else {
        for n in &notes {
            eprintln!("note: {n}");
        }
        if args.output.is_none() {
            out_raw!("{text}");
        }
    }
    Ok(0)
}
