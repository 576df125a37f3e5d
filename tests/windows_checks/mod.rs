//! Independent checks of Windows artifacts, shared by the windows_*, mst_* and example tests
//! (`#[path = "windows_checks/mod.rs"] mod checks;` beside `mod common;`):
//!
//! * tables as `msiinfo export` (msitools) prints them, in the IDT format;
//! * the rules native Windows Installer applies to a transform's row changes, which Wine does
//!   not (it turns an update of a missing row into an insert and ignores the error flags);
//! * the PowerShell syntax check `tests/tools/ps_parse.py` (tree-sitter grammar).
//!
//! Each helper that needs a tool takes it from a `*_tool` function, which skips visibly (and
//! fails under AGENTPACK_REQUIRE_TOOLS=1) when it is missing.
#![allow(dead_code)]

use crate::common;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A program on PATH, or None after a visible skip notice.
pub fn tool(test: &str, name: &str) -> Option<PathBuf> {
    common::program(test, name)
}

/// `msiinfo`, or None after a visible skip notice.
pub fn msiinfo_tool(test: &str) -> Option<PathBuf> {
    common::program(test, "msiinfo")
}

/// One table as `msiinfo export` prints it: column names, IDT types, key column names, rows.
/// Binary cells name a file that msiinfo wrote under `dir/<Table>/`.
pub struct Export {
    pub columns: Vec<String>,
    pub types: Vec<String>,
    pub keys: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub dir: tempfile::TempDir,
}

impl Export {
    fn index(&self, column: &str) -> usize {
        self.columns
            .iter()
            .position(|c| c == column)
            .unwrap_or_else(|| panic!("no column {column} in {:?}", self.columns))
    }

    /// Each row by its key cells (in key-column order).
    pub fn by_key(&self) -> BTreeMap<Vec<String>, &Vec<String>> {
        let at: Vec<usize> = self.keys.iter().map(|k| self.index(k)).collect();
        self.rows
            .iter()
            .map(|r| (at.iter().map(|&i| r[i].clone()).collect(), r))
            .collect()
    }

    /// The bytes of a binary cell.
    pub fn binary(&self, table: &str, cell: &str) -> Vec<u8> {
        std::fs::read(self.dir.path().join(table).join(cell))
            .unwrap_or_else(|e| panic!("binary cell {table}/{cell}: {e}"))
    }
}

/// The tables of `msi` (not the `_`-prefixed pseudo tables msiinfo lists).
pub fn msi_tables(msiinfo: &Path, msi: &Path) -> BTreeSet<String> {
    let (ok, out, err) = common::run(Command::new(msiinfo).arg("tables").arg(msi));
    assert!(ok, "msiinfo tables {}: {err}", msi.display());
    out.lines()
        .map(str::trim)
        .filter(|t| !t.is_empty() && !t.starts_with('_'))
        .map(String::from)
        .collect()
}

/// `msiinfo export MSI TABLE`, or None when the database has no such table. IDT: line 1 the
/// column names, line 2 their types, line 3 the table name (after a codepage, when there is
/// one) and its key columns, then one row per line, fields separated by tabs.
/// The system tables (`_Columns`, ...) are always there.
pub fn export(msiinfo: &Path, msi: &Path, table: &str) -> Option<Export> {
    if !table.starts_with('_') && !msi_tables(msiinfo, msi).contains(table) {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(msiinfo)
        .current_dir(dir.path())
        .arg("export")
        .arg(msi)
        .arg(table)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "msiinfo export {} {table}: {}",
        msi.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("msiinfo prints UTF-8");
    let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
    let mut fields = |what: &str| -> Vec<String> {
        lines
            .next()
            .unwrap_or_else(|| panic!("msiinfo export {table}: no {what} line"))
            .split('\t')
            .map(String::from)
            .collect()
    };
    let columns = fields("column names");
    let types = fields("column types");
    let mut head = fields("table name");
    if head[0].parse::<u32>().is_ok() {
        head.remove(0); // a codepage
    }
    assert_eq!(head[0], table, "msiinfo export: line 3 names another table");
    let keys = head[1..].to_vec();
    let rows = lines
        .map(|l| {
            let mut r: Vec<String> = l.split('\t').map(String::from).collect();
            r.resize(columns.len(), String::new());
            r
        })
        .collect();
    Some(Export {
        columns,
        types,
        keys,
        rows,
        dir,
    })
}

/// `agentpack --json inspect --show-secrets [--base BASE] MST` (values unmasked: the checks
/// compare them; failure messages name keys only).
pub fn inspect_json(base: Option<&Path>, mst: &Path) -> Value {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_agentpack"));
    cmd.args(["--json", "inspect", "--show-secrets"]);
    if let Some(b) = base {
        cmd.arg("--base").arg(b);
    }
    let out = cmd.arg(mst).output().unwrap();
    assert!(
        out.status.success(),
        "inspect {}: {}",
        mst.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A JSON cell as IDT text: NULL is empty, numbers in decimal.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Object(o) if o.contains_key("binary_bytes") => {
            format!("<{} bytes>", o["binary_bytes"])
        }
        other => other.to_string(),
    }
}

fn key_cells(change: &Value, keys: &[String]) -> Vec<String> {
    keys.iter().map(|k| cell(&change["key"][k])).collect()
}

/// Error-condition flags (reference msi-transforms.md §7.2, lower word of PID_CHARCOUNT).
const ADD_EXISTING_ROW: u64 = 0x01;
const DEL_MISSING_ROW: u64 = 0x02;
const ADD_EXISTING_TABLE: u64 = 0x04;
const UPDATE_MISSING_ROW: u64 = 0x10;

/// What native Windows Installer refuses when it applies `mst` to `base`, given the error
/// conditions the transform suppresses: an insert of a row the base has, an update or delete
/// of a row it lacks, a table or column added that it has. The row changes come from
/// `agentpack inspect`, the base's rows from msiinfo.
pub fn native_rule_violations(msiinfo: &Path, base: &Path, mst: &Path) -> Vec<String> {
    let dump = inspect_json(Some(base), mst);
    let suppressed = dump["summary"]["error_suppression"].as_u64().unwrap();
    let tables = msi_tables(msiinfo, base);
    let mut wrong = Vec::new();
    let mut flag = |bit: u64, what: String| {
        if suppressed & bit == 0 {
            wrong.push(what);
        }
    };
    for t in dump["tables"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        let changes = t["changes"].as_array().unwrap();
        match name {
            "_Tables" => {
                for c in changes {
                    let table = cell(&c["key"]["Name"]);
                    if c["op"] == "insert" && tables.contains(&table) {
                        flag(
                            ADD_EXISTING_TABLE,
                            format!("adds table {table}, which exists"),
                        );
                    }
                }
            }
            "_Columns" => {
                for c in changes {
                    let table = cell(&c["key"]["Table"]);
                    let number = c["key"]["Number"].as_u64().unwrap() as usize;
                    let width = export(msiinfo, base, &table).map_or(0, |e| e.columns.len());
                    if c["op"] == "insert" && number <= width {
                        flag(
                            ADD_EXISTING_ROW,
                            format!("adds column {number} of {table}, which exists"),
                        );
                    }
                }
            }
            _ => {
                let Some(rows) = export(msiinfo, base, name) else {
                    for c in changes.iter().filter(|c| c["op"] != "insert") {
                        let what = format!("{} {name} row {} of a new table", c["op"], c["key"]);
                        flag(UPDATE_MISSING_ROW | DEL_MISSING_ROW, what);
                    }
                    continue;
                };
                let present = rows.by_key();
                for c in changes {
                    let key = key_cells(c, &rows.keys);
                    let exists = present.contains_key(&key);
                    match (c["op"].as_str().unwrap(), exists) {
                        ("insert", true) => flag(
                            ADD_EXISTING_ROW,
                            format!("inserts {name} {key:?}, which exists"),
                        ),
                        ("update", false) => flag(
                            UPDATE_MISSING_ROW,
                            format!("updates {name} {key:?}, which is missing"),
                        ),
                        ("delete", false) => flag(
                            DEL_MISSING_ROW,
                            format!("deletes {name} {key:?}, which is missing"),
                        ),
                        _ => {}
                    }
                }
            }
        }
    }
    wrong
}

/// Assert that native Windows Installer would apply `mst` to `base` without an error (skips
/// visibly without msiinfo).
pub fn assert_native_rules(test: &str, base: &Path, mst: &Path) {
    let Some(msiinfo) = msiinfo_tool(test) else {
        return;
    };
    let wrong = native_rule_violations(&msiinfo, base, mst);
    assert!(
        wrong.is_empty(),
        "{} on {}: native Windows Installer would refuse it:\n{}",
        mst.display(),
        base.display(),
        wrong.join("\n")
    );
}

/// `NAME -> VALUE` of the base's Property table, as msiinfo reads it.
pub fn msiinfo_properties(msiinfo: &Path, msi: &Path) -> BTreeMap<String, String> {
    let e = export(msiinfo, msi, "Property").expect("a Property table");
    e.rows
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect()
}

/// tests/tools/ps_parse.py when python3 has the tree-sitter modules, or None after a visible
/// skip notice.
pub fn ps_checker(test: &str) -> Option<PathBuf> {
    let python = common::program(test, "python3")?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/ps_parse.py");
    let out = Command::new(python)
        .arg(&script)
        .arg("--versions")
        .output()
        .unwrap();
    if out.status.code() == Some(3) {
        common::skip(
            test,
            "python3 modules tree-sitter and tree-sitter-powershell (versions in tests/tools/ps_parse.py)",
        );
        return None;
    }
    assert!(
        out.status.success(),
        "ps_parse.py --versions: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(script)
}

/// The checker's complaints about `file`, or None when it parses cleanly.
pub fn ps_problems(checker: &Path, file: &Path) -> Option<String> {
    let (ok, _, err) = common::run(Command::new("python3").arg(checker).arg(file));
    (!ok).then_some(err)
}

/// The top-level `$Name = <literal>` assignments of `file` (strings decoded by PowerShell's
/// rules; arrays of hash literals as arrays of objects); panics when the file does not parse.
pub fn ps_assignments(checker: &Path, file: &Path) -> BTreeMap<String, Value> {
    let (ok, out, err) = common::run(
        Command::new("python3")
            .arg(checker)
            .arg("--assignments")
            .arg(file),
    );
    assert!(ok, "{} does not parse:\n{err}", file.display());
    serde_json::from_str(&out).unwrap()
}
