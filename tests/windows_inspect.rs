//! `agentpack inspect` and `agentpack mst diff` on what build writes and on the fixtures.

#[path = "windows_helpers.rs"]
mod helpers;

use agentpack::formats::mst::{read_transform_file, Database};
use helpers::*;
use std::collections::BTreeMap;
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

#[test]
fn mst_diff_writes_a_transform_inspect_can_read() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d.mst");
    let o = assert_cmd::Command::cargo_bin("agentpack")
        .unwrap()
        .args(["--json", "mst", "diff"])
        .arg(msi_fixture("diff-base.msi"))
        .arg(msi_fixture("diff-modified.msi"))
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
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

    // What the file holds is what the library's diff says.
    let base = Database::open(&msi_fixture("diff-base.msi")).unwrap();
    let modified = Database::open(&msi_fixture("diff-modified.msi")).unwrap();
    let want = agentpack::formats::mst::resolve(
        &base,
        &agentpack::formats::mst::diff(&base, &modified).unwrap(),
    )
    .unwrap();
    // Same records; the file is sorted by table and key, the diff by first mention.
    let canon = |t: &[agentpack::formats::mst::TableChanges]| {
        let mut v: Vec<String> = t
            .iter()
            .flat_map(|t| {
                t.rows
                    .iter()
                    .map(move |r| format!("{} {} {r:?}", t.schema.name, t.added))
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        canon(&read_transform_file(&out, Some(&base)).unwrap().changes()),
        canon(&want)
    );
    let base_path = msi_fixture("diff-base.msi");
    let (code, text, err) = inspect(&[&out], &["--base", base_path.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(text.contains("Widget") && text.contains("Extra"), "{text}");
}
