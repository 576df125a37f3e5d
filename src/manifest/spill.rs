//! Output records kept on disk while a build runs, so that its memory does not grow with the
//! number of policies: each policy's records are serialized (as their lines in manifest.json
//! and in SHA256SUMS) into an unnamed temporary file as soon as the policy is written, and only
//! a small index stays in memory. At the end both files are streamed out in path order.
//!
//! Path order across policies is the order of `<policy>/`: every output path of a policy starts
//! with its folder, so sorting policies by that key and each policy's records by path sorts all
//! paths (as `Manifest::new` and `Manifest::sums` do, which the golden test holds us to).

use super::{OutputRecord, MANIFEST};
use crate::error::{Error, Result};
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Mutex;

/// Where one policy's serialized records are in the spill file.
#[derive(Clone)]
struct Entry {
    /// `<policy>/`: sorts the policies as their paths sort.
    key: String,
    json: (u64, usize),
    sums: (u64, usize),
}

pub struct OutputSpill {
    file: Mutex<(File, u64)>,
    index: Mutex<Vec<Entry>>,
}

fn io(e: std::io::Error) -> Error {
    Error::io(Path::new("(the temporary list of outputs)"), "write", e)
}

impl OutputSpill {
    /// An unnamed temporary file in `dir` (removed by the system when closed).
    pub fn new(dir: &Path) -> Result<OutputSpill> {
        let file = tempfile::tempfile_in(dir)
            .map_err(|e| Error::io(dir, "create a temporary file in", e))?;
        Ok(OutputSpill {
            file: Mutex::new((file, 0)),
            index: Mutex::new(Vec::new()),
        })
    }

    /// Spill one policy's records (all under the folder `<policy>/`).
    pub fn add(&self, policy: &str, mut records: Vec<OutputRecord>) -> Result<()> {
        let key = format!("{policy}/");
        if let Some(r) = records.iter().find(|r| !r.path.starts_with(&key)) {
            return Err(Error::internal(format!(
                "output {} is outside its policy's folder {key}",
                r.path
            )));
        }
        records.sort_by(|a, b| a.path.cmp(&b.path));
        let mut json = String::new();
        let mut sums = String::new();
        for (i, r) in records.iter().enumerate() {
            if i > 0 {
                json.push_str(",\n");
            }
            let pretty = serde_json::to_string_pretty(r)
                .map_err(|e| Error::internal(format!("manifest record: {e}")))?;
            // Nested two levels deep in manifest.json (JSON strings hold no raw line breaks).
            for (j, line) in pretty.lines().enumerate() {
                if j > 0 {
                    json.push('\n');
                }
                json.push_str("    ");
                json.push_str(line);
            }
            sums.push_str(&format!("{}  {}\n", r.sha256, r.path));
        }
        let mut f = self
            .file
            .lock()
            .map_err(|_| Error::internal("output list lock"))?;
        let (file, end) = &mut *f;
        let json_at = *end;
        file.write_all(json.as_bytes()).map_err(io)?;
        let sums_at = json_at + json.len() as u64;
        file.write_all(sums.as_bytes()).map_err(io)?;
        *end = sums_at + sums.len() as u64;
        drop(f);
        self.index
            .lock()
            .map_err(|_| Error::internal("output list lock"))?
            .push(Entry {
                key,
                json: (json_at, json.len()),
                sums: (sums_at, sums.len()),
            });
        Ok(())
    }

    fn sorted(&self) -> Result<Vec<Entry>> {
        let mut index: Vec<Entry> = self
            .index
            .lock()
            .map_err(|_| Error::internal("output list lock"))?
            .iter()
            .filter(|e| e.json.1 > 0)
            .cloned()
            .collect();
        index.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(index)
    }

    fn copy(&self, (at, len): (u64, usize), out: &mut dyn Write) -> Result<()> {
        let f = self
            .file
            .lock()
            .map_err(|_| Error::internal("output list lock"))?;
        let mut buf = vec![0u8; len];
        f.0.read_exact_at(&mut buf, at).map_err(io)?;
        drop(f);
        out.write_all(&buf).map_err(io)
    }

    /// manifest.json: `head` is the manifest with no outputs as `Manifest::to_json` writes it
    /// (ending in `"outputs": []` and the closing brace); the records go into that array.
    pub fn write_manifest(&self, head: &[u8], out: &mut dyn Write) -> Result<()> {
        let text = std::str::from_utf8(head).map_err(|e| Error::internal(e.to_string()))?;
        let prefix = text.strip_suffix("[]\n}\n").ok_or_else(|| {
            Error::internal("manifest head does not end in an empty outputs array")
        })?;
        let index = self.sorted()?;
        if index.is_empty() {
            return out.write_all(head).map_err(io);
        }
        out.write_all(prefix.as_bytes()).map_err(io)?;
        out.write_all(b"[\n").map_err(io)?;
        for (i, e) in index.iter().enumerate() {
            if i > 0 {
                out.write_all(b",\n").map_err(io)?;
            }
            self.copy(e.json, out)?;
        }
        out.write_all(b"\n  ]\n}\n").map_err(io)
    }

    /// SHA256SUMS: every output and manifest.json (hashed `manifest_sha256`), in path order.
    pub fn write_sums(&self, manifest_sha256: &str, out: &mut dyn Write) -> Result<()> {
        let line = format!("{manifest_sha256}  {MANIFEST}\n");
        let mut pending = Some(line);
        for e in self.sorted()? {
            // This policy's paths start with its key: manifest.json goes first if it sorts first.
            if pending.is_some() && MANIFEST < e.key.as_str() {
                out.write_all(pending.take().unwrap_or_default().as_bytes())
                    .map_err(io)?;
            }
            self.copy(e.sums, out)?;
        }
        if let Some(line) = pending {
            out.write_all(line.as_bytes()).map_err(io)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Manifest, ProductRef};
    use super::*;

    fn record(path: &str) -> OutputRecord {
        OutputRecord {
            path: path.into(),
            size: path.len() as u64,
            sha256: format!("{:064x}", path.len()),
            kind: "k".into(),
            platform: "any".into(),
            policy: path.split('/').next().map(String::from),
            secret: false,
            placement: None,
        }
    }

    /// Spilled in any order, written out exactly as the in-memory manifest writes it.
    #[test]
    fn streamed_manifest_and_sums_equal_the_in_memory_ones() {
        let product = ProductRef {
            id: "p".into(),
            display_name: "P".into(),
            era: "e".into(),
        };
        // Names whose folders sort unlike the names: "a-b/" < "a/"; "manifest" vs manifest.json.
        let policies = ["a", "a-b", "manifest", "manifest-x", "b0", "zz"];
        let all: Vec<OutputRecord> = policies
            .iter()
            .flat_map(|p| ["x/2.txt", "x/1.txt", "y.json"].map(|f| record(&format!("{p}/{f}"))))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let spill = OutputSpill::new(dir.path()).unwrap();
        for p in policies.iter().rev() {
            let mine = all
                .iter()
                .filter(|r| r.path.starts_with(&format!("{p}/")))
                .cloned()
                .collect();
            spill.add(p, mine).unwrap();
        }
        let whole = Manifest::new(7, product.clone(), &[], all);
        let head = Manifest::new(7, product, &[], Vec::new()).to_json();
        let mut json = Vec::new();
        spill.write_manifest(&head, &mut json).unwrap();
        assert_eq!(
            String::from_utf8(json).unwrap(),
            String::from_utf8(whole.to_json()).unwrap()
        );
        let mut sums = Vec::new();
        spill.write_sums("ab", &mut sums).unwrap();
        assert_eq!(String::from_utf8(sums).unwrap(), whole.sums("ab"));
        assert!(
            spill.add("q", vec![record("other/x")]).is_err(),
            "outside its folder"
        );
    }
}
