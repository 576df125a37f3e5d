use super::print_json;
use crate::cli::ImportArgs;
use crate::error::{Error, Problem, Problems, Result};
use crate::policy::{self, LoadOptions};
use crate::product::{Product, Products, Source, WindowsPlacement};
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
    if let Some(var) = &args.token_env {
        policy::check_env_name(var).map_err(|v| {
            Error::bad_input(Problem::new(v.message).field("--token-env").hint(v.hint))
        })?;
    }
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
    // Problems are reported against what the user gave: the console's arguments or the
    // deploy.properties file, naming their properties, not policy keys.
    let policy = policy::load_policy_text(Path::new("imported.yaml"), &full, &opts)
        .map_err(|e| speak_of_the_input(e, &args, product, &imported))?;
    // Where the token goes: inline only in a 0600 file of its own; otherwise a token file
    // (0600) or an environment variable, and the policy holds no secret.
    let default_var = format!(
        "AGENTPACK_TOKEN_{}",
        args.name.to_ascii_uppercase().replace('-', "_")
    );
    let token_var = args
        .token_env
        .as_deref()
        .or((args.token_file.is_none() && args.output.is_none()).then_some(default_var.as_str()));
    let render = |token: policy::TokenOut| {
        policy::render_policy_yaml(&args.name, &args.product, &organization, &imported, token)
    };
    let mut notes = Vec::new();
    let set_before_build = |var: &str| {
        format!(
            "the policy reads the token from the environment variable {var}: set it before `agentpack build` or `agentpack policy check` (export {var}=<token>)"
        )
    };
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
        (None, Some(var), _) => {
            notes.push(set_before_build(var));
            (render(policy::TokenOut::Env(var)), false)
        }
        (None, None, Some(_)) => (full.clone(), true),
        (None, None, None) => {
            notes.push(format!(
                "{}; the token is not printed (-o FILE writes it into the policy, mode 0600; --token-file FILE into a file of its own)",
                set_before_build(&default_var)
            ));
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
        if let Some(var) = token_var {
            report["token_env"] = serde_json::json!(var);
        }
        match &args.output {
            Some(out) => report["written"] = serde_json::json!(out),
            None => report["policy_yaml"] = serde_json::json!(text),
        }
        print_json(&report);
    } else {
        for n in &notes {
            eprintln!("note: {}", crate::error::escape_controls(n));
        }
        if args.output.is_none() {
            out_raw!("{text}");
        }
    }
    Ok(0)
}

/// Rewrite the problems of an imported policy so that they speak of what was imported: the
/// console's arguments (or deploy.properties, with its line) and their property names, or the
/// command-line flag that gave the value, never of policy keys the user did not write.
fn speak_of_the_input(
    mut e: Error,
    args: &ImportArgs,
    product: &Product,
    imported: &policy::ImportedValues,
) -> Error {
    let macos = args.deploy_properties.is_some();
    let source = args
        .deploy_properties
        .clone()
        .unwrap_or_else(|| PathBuf::from("--windows-args"));
    let what = if macos {
        "deploy.properties".to_string()
    } else {
        "the console's arguments".to_string()
    };
    let packed = product
        .windows
        .as_ref()
        .map(|w| w.packed_property.as_str())
        .unwrap_or_default();
    for p in &mut e.problems {
        let key = p.field.clone().unwrap_or_default();
        p.line = None;
        p.file = Some(source.clone());
        let flag = match key.as_str() {
            "name" => Some("--name"),
            "product" => Some("--product"),
            "organization" if args.organization.is_some() => Some("--organization"),
            "organization" => Some("--name"),
            _ => None,
        };
        if let Some(flag) = flag {
            p.file = None;
            p.field = Some(flag.to_string());
            if p.message == policy::MISSING {
                p.hint = Some(format!("pass {flag}"));
            }
            continue;
        }
        if key == "scope" {
            let props: Vec<&str> = product
                .windows
                .as_ref()
                .map(|w| w.user_scope_properties.keys().map(String::as_str).collect())
                .unwrap_or_default();
            p.field = Some(props.join(", "));
            p.hint = Some(format!(
                "{} installs for all users only: remove {} from the arguments",
                product.display_name,
                props.join(" and ")
            ));
            continue;
        }
        let Some(def) = POLICY_SOURCES
            .iter()
            .find(|s| s.policy_key() == key)
            .and_then(|s| product.property_for(*s))
        else {
            continue;
        };
        let in_packed = !macos && def.windows == WindowsPlacement::Packed;
        p.field = Some(if in_packed {
            format!("{} (in {packed})", def.name)
        } else {
            def.name.clone()
        });
        if macos {
            p.line = imported.lines.get(key.as_str()).copied();
        }
        let example = match def.from {
            Source::Registration | Source::Cloaked => "true or false".to_string(),
            Source::Token => "<token>".to_string(),
            _ => "…".to_string(),
        };
        if p.message == policy::MISSING {
            p.message = format!("is missing from {what}");
            p.hint = Some(match (macos, in_packed) {
                (true, _) => format!("add a line {}={example}, as the console shows it", def.name),
                (false, true) => format!(
                    "the console's arguments hold {packed}=\"…&{}={example}&…\": paste them whole, exactly as the console shows them",
                    def.name
                ),
                (false, false) => format!(
                    "the console's arguments include {}={example}: paste them whole, exactly as the console shows them",
                    def.name
                ),
            });
        } else if p.message == "is empty" {
            p.hint = Some(format!(
                "give {} a value, as the console shows it",
                def.name
            ));
        }
    }
    e
}

/// The policy fields a property can fill.
const POLICY_SOURCES: [Source; 6] = [
    Source::DeploymentUrl,
    Source::Token,
    Source::SslWhitelist,
    Source::ProxyUrl,
    Source::Registration,
    Source::Cloaked,
];
