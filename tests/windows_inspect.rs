//! `agentpack inspect` and `agentpack mst diff` on what build writes and on the fixtures.

#[path = "windows_checks/mod.rs"]
mod checks;
mod common;
#[path = "windows_helpers.rs"]
mod helpers;

use agentpack::formats::mst::{read_transform_file, Database};
use checks::{cell, export, msi_tables, msiinfo_tool, Export};
use helpers::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn inspect(args: &[&Path], extra: &[&str]) -> (Option<i32>, String, String) {
    let mut cmd = assert_cmd::Command::cargo_bin("agentpack").unwrap();
    cmd.arg("inspect").args(extra).args(args);
    let o = cmd.output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Property name → value after the change, from `inspect --json` of a transform.
fn json_property_changes(j: &serde_json::Value) -> BTreeMap<String, (String, String)> {
    let table = j["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Property")
        .unwrap();
    table["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let name = c["key"]["Property"].as_str().unwrap().to_string();
            (
                name,
                (
                    c["op"].as_str().unwrap().to_string(),
                    c["values"]["Value"].as_str().unwrap_or("").to_string(),
                ),
            )
        })
        .collect()
}

#[test]
fn inspect_decodes_every_transform_back_into_the_intended_changes_without_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let url = "https://console.example.com:4285/Köln";
    let pac = "http://proxy.example.com/pac/é.pac";
    let extra = format!("ssl_whitelist: 7746278a457e64737094c44eebe2a59e25d1a4f1\nproxy_url: {pac}\ncloaked: true\n");
    let p = dir.path().join("p.yaml");
    let text = std::fs::read_to_string(policy(dir.path(), "acme", "")).unwrap();
    let text = text
        .replace("https://console.example.com:4285", url)
        .replace("cloaked: false\n", &extra);
    std::fs::write(&p, text).unwrap();
    let packed = format!(
        "DEPLOYMENT_URL={url}&DEPLOYMENT_POLICY_TOKEN={TOKEN}&SSL_WHITELIST=7746278a457e64737094c44eebe2a59e25d1a4f1&PROXY_URL={pac}"
    );
    for (msi, silent_op) in [
        ("vendor.msi", "insert"),
        ("vendor-silent.msi", "update"),
        ("nonascii.msi", "insert"),
    ] {
        let sub = dir.path().join(msi);
        std::fs::create_dir(&sub).unwrap();
        let b = build(&sub, std::slice::from_ref(&p), &msi_fixture(msi), &[]);
        let mst = b.out.join("acme/windows/acme.mst");

        // The library decodes exactly the policy's values (token included).
        let base = Database::open(&msi_fixture(msi)).unwrap();
        let after = property_values(&base, &read_transform_file(&mst, Some(&base)).unwrap());
        assert_eq!(after["CP_ARGS"], packed, "{msi}");
        assert_eq!(after["CP_SILENT"], "true");
        assert_eq!(after["DEVICE_CLOAKED"], "true");

        // The command shows the same changes, token masked, with and without --base.
        for with_base in [true, false] {
            let base_path = msi_fixture(msi);
            let (code, out, err) = if with_base {
                inspect(&[&mst], &["--json", "--base", base_path.to_str().unwrap()])
            } else {
                inspect(&[&mst], &["--json"])
            };
            assert_eq!(code, Some(0), "{err}");
            assert!(
                !out.contains(TOKEN) && !err.contains(TOKEN),
                "{msi}: token printed"
            );
            let j: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert_eq!(j["kind"], "transform");
            let changes = json_property_changes(&j);
            let masked = packed.replace(TOKEN, "<redacted>");
            assert_eq!(changes["CP_ARGS"], ("insert".to_string(), masked));
            assert_eq!(
                changes["CP_SILENT"],
                (silent_op.to_string(), "true".to_string())
            );
            assert_eq!(
                changes["DEVICE_CLOAKED"],
                ("insert".to_string(), "true".to_string())
            );
            assert_eq!(
                changes["MsiHiddenProperties"],
                ("insert".to_string(), "CP_ARGS".to_string())
            );
            assert_eq!(changes.len(), 4, "{msi}: {changes:?}");
            let rev = &j["summary"]["revision_parts"];
            assert_eq!(rev["old_product_code"], rev["new_product_code"]);
            assert_eq!(rev["old_version"], rev["new_version"]);
            assert_eq!(
                rev["old_product_code"].as_str().unwrap(),
                base.identity().product_code
            );
        }
        let (code, text, _) = inspect(&[&mst], &[]);
        assert_eq!(code, Some(0));
        assert!(
            text.contains("CP_ARGS") && text.contains("<redacted>") && !text.contains(TOKEN),
            "{text}"
        );
    }
}

#[test]
fn inspect_shows_an_msi_identity_and_property_table() {
    let (code, out, err) = inspect(&[&msi_fixture("nonascii.msi")], &["--json"]);
    assert_eq!(code, Some(0), "{err}");
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j["kind"], "msi");
    assert_eq!(
        j["identity"]["product_code"],
        "{2C3D4E5F-6A7B-4C8D-9E0F-1A2B3C4D5E6F}"
    );
    assert_eq!(j["identity"]["codepage"], 1252);
    assert_eq!(j["properties"]["GREETING"], "Grüße aus Köln");
    let (code, text, _) = inspect(&[&msi_fixture("vendor.msi")], &[]);
    assert_eq!(code, Some(0));
    assert!(
        text.contains("ProductCode:") && text.contains("{6F1A2B3C-4D5E-4F60-8172-93A4B5C6D7E8}"),
        "{text}"
    );
}

#[test]
fn inspect_refuses_broken_files_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let full = std::fs::read(msi_fixture("vendor.msi")).unwrap();
    for (name, bytes) in [
        ("cut.msi", full[..4000].to_vec()),
        ("x.mst", b"garbage".to_vec()),
    ] {
        let f = dir.path().join(name);
        std::fs::write(&f, bytes).unwrap();
        let (code, _, err) = inspect(&[&f], &[]);
        assert_eq!(code, Some(2), "{name}: {err}");
        assert!(err.contains(name) && !err.contains("panicked"), "{err}");
    }
}

/// One row change as a comparable line: `TABLE OP [key cells] {column: value}`.
fn change_line(
    table: &str,
    op: &str,
    key: Vec<String>,
    values: BTreeMap<String, String>,
) -> String {
    format!("{table} {op} {key:?} {values:?}")
}

/// The row changes that turn BASE into MODIFIED, from msiinfo's exports alone (no agentpack
/// code): inserts, deletes, updates of the differing non-key cells (binary cells compared by
/// their bytes), and the `_Tables` / `_Columns` rows of a new table.
fn msiinfo_diff(msiinfo: &Path, base: &Path, modified: &Path) -> BTreeSet<String> {
    let mut lines = BTreeSet::new();
    let columns = export(msiinfo, modified, "_Columns").unwrap();
    for table in msi_tables(msiinfo, modified) {
        let new = export(msiinfo, modified, &table).unwrap();
        let old = export(msiinfo, base, &table);
        assert!(
            old.as_ref()
                .is_none_or(|o| o.columns.len() == new.columns.len()),
            "{table}: the fixture pair changes columns"
        );
        if old.is_none() {
            let name = BTreeMap::from([("Name".to_string(), table.clone())]);
            lines.insert(change_line("_Tables", "insert", vec![table.clone()], name));
            for c in columns.rows.iter().filter(|r| r[0] == table) {
                let values = ["Table", "Number", "Name", "Type"]
                    .iter()
                    .map(|n| n.to_string())
                    .zip(c.iter().cloned())
                    .collect();
                lines.insert(change_line("_Columns", "insert", c[..2].to_vec(), values));
            }
        }
        let shown = |e: &Export, row: &[String], i: usize| {
            if e.types[i].starts_with(['v', 'V']) && !row[i].is_empty() {
                format!("<{} bytes>", e.binary(&table, &row[i]).len())
            } else {
                row[i].clone()
            }
        };
        let same = |a: &Export, ra: &[String], b: &Export, rb: &[String], i: usize| {
            if a.types[i].starts_with(['v', 'V']) && !ra[i].is_empty() && !rb[i].is_empty() {
                a.binary(&table, &ra[i]) == b.binary(&table, &rb[i])
            } else {
                ra[i] == rb[i]
            }
        };
        let before = old.as_ref().map(Export::by_key).unwrap_or_default();
        let after = new.by_key();
        for (key, row) in &after {
            let values: BTreeMap<String, String> = match before.get(key) {
                None => (0..new.columns.len())
                    .map(|i| (new.columns[i].clone(), shown(&new, row, i)))
                    .collect(),
                Some(prev) => (0..new.columns.len())
                    .filter(|&i| !new.keys.contains(&new.columns[i]))
                    .filter(|&i| !same(old.as_ref().unwrap(), prev, &new, row, i))
                    .map(|i| (new.columns[i].clone(), shown(&new, row, i)))
                    .collect(),
            };
            match before.contains_key(key) {
                false => lines.insert(change_line(&table, "insert", key.clone(), values)),
                true if !values.is_empty() => {
                    lines.insert(change_line(&table, "update", key.clone(), values))
                }
                true => false,
            };
        }
        for key in before.keys().filter(|k| !after.contains_key(*k)) {
            lines.insert(change_line(&table, "delete", key.clone(), BTreeMap::new()));
        }
    }
    lines
}

/// The row changes `inspect --json` decodes from a transform, in the same form.
fn inspected_changes(dump: &Value) -> BTreeSet<String> {
    let mut lines = BTreeSet::new();
    for t in dump["tables"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        let keys: Vec<&str> = t["columns"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c[1].as_str().unwrap().ends_with(" key"))
            .map(|c| c[0].as_str().unwrap())
            .collect();
        for c in t["changes"].as_array().unwrap() {
            let key = keys.iter().map(|k| cell(&c["key"][*k])).collect();
            let values = c["values"]
                .as_object()
                .map(|v| v.iter().map(|(k, v)| (k.clone(), cell(v))).collect())
                .unwrap_or_default();
            lines.insert(change_line(name, c["op"].as_str().unwrap(), key, values));
        }
    }
    lines
}

#[test]
fn mst_diff_writes_exactly_the_changes_msiinfo_sees_between_the_databases() {
    let base = msi_fixture("diff-base.msi");
    let modified = msi_fixture("diff-modified.msi");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d.mst");
    let o = assert_cmd::Command::cargo_bin("agentpack")
        .unwrap()
        .args(["--json", "mst", "diff"])
        .arg(&base)
        .arg(&modified)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
    let names: Vec<&str> = summary["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Widget") && names.contains(&"Extra"),
        "{names:?}"
    );
    let (code, text, err) = inspect(&[&out], &["--base", base.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(text.contains("Widget") && text.contains("Extra"), "{text}");

    let Some(msiinfo) = msiinfo_tool("mst_diff_writes_exactly_the_changes") else {
        return;
    };
    let want = msiinfo_diff(&msiinfo, &base, &modified);
    // Every kind of change is in the fixture pair, so the comparison covers each.
    for kind in [
        "_Tables insert",
        "_Columns insert",
        "Widget insert",
        "Widget update",
        "Widget delete",
        "Binary update",
        "Binary insert",
        "Property delete",
    ] {
        assert!(
            want.iter().any(|l| l.starts_with(kind)),
            "{kind}: {want:#?}"
        );
    }
    let got = inspected_changes(&checks::inspect_json(Some(&base), &out));
    assert_eq!(got, want, "inspect's reading of the transform");
}

/// Errors of `mst diff` name each file once (the file at fault, then the other in the text).
#[test]
fn mst_diff_errors_name_each_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let o = assert_cmd::Command::cargo_bin("agentpack")
        .unwrap()
        .args(["mst", "diff"])
        .arg(msi_fixture("diff-modified.msi"))
        .arg(msi_fixture("diff-base.msi"))
        .arg("-o")
        .arg(dir.path().join("x.mst"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    let base = msi_fixture("diff-base.msi").display().to_string();
    let modified = msi_fixture("diff-modified.msi").display().to_string();
    assert_eq!(err.matches(&base).count(), 1, "{err}");
    assert_eq!(err.matches(&modified).count(), 1, "{err}");
    assert!(
        err.contains(&format!("error: {base}: table Extra")),
        "{err}"
    );
    assert!(
        err.contains("cannot drop tables") && err.contains("hint: mst diff"),
        "{err}"
    );
    assert!(!dir.path().join("x.mst").exists());
}
