//! `manifest.json` — for each log the cosigned checkpoint the export was verified against (the
//! whole note, so anyone can check its signatures again), the genesis version, the tool
//! version, and every file with its SHA-256, size and row count — and the staging directory
//! the files are written in until the export is complete.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::output::{OutputFile, WrittenFile};

/// Closes the history files and writes the current-state files of every format, each format
/// on its own thread (they only read the logs' states); returns the files in format order.
pub fn finish(
    logs: &[super::model::ExportedLog],
    history_csv: Option<super::csv::HistoryCsv>,
    history_jsonl: Option<super::jsonl::HistoryJsonl>,
    releases: Option<super::ocds::ReleaseWriter>,
    create: &(impl Fn(&str) -> std::io::Result<OutputFile> + Sync),
) -> std::io::Result<Vec<WrittenFile>> {
    std::thread::scope(|scope| {
        let csv = history_csv.map(|h| {
            scope.spawn(move || -> std::io::Result<Vec<WrittenFile>> {
                let mut files = super::csv::write_current(logs, create)?;
                files.push(h.finish()?);
                Ok(files)
            })
        });
        let jsonl = history_jsonl.map(|h| {
            scope.spawn(move || -> std::io::Result<Vec<WrittenFile>> {
                let current = super::jsonl::write_current(logs, create("current.jsonl")?)?;
                Ok(vec![current, h.finish()?])
            })
        });
        let ocds = releases.map(|r| {
            scope.spawn(move || -> std::io::Result<Vec<WrittenFile>> {
                r.finish(logs, create(super::ocds::RECORDS)?)
            })
        });
        let mut files = Vec::new();
        for handle in [csv, jsonl, ocds].into_iter().flatten() {
            let written = handle
                .join()
                .map_err(|_| std::io::Error::other("an export writer panicked"))??;
            files.extend(written);
        }
        Ok(files)
    })
}

/// What the manifest says about one log.
pub struct LogEntry {
    /// The member id.
    pub member: String,
    /// The node or static copy the log was replayed from.
    pub source: String,
    /// The checkpoint the entries were verified against.
    pub checkpoint: daylight_verifier::TrustedCheckpoint,
    /// Entries that are not valid records (kept in the history, left out of the state).
    pub invalid: u64,
    /// Factual records in the current state.
    pub records: u64,
}

/// Everything the manifest records about the export.
pub struct Manifest<'a> {
    /// The genesis verified against.
    pub genesis: &'a daylight_genesis::Genesis,
    /// The genesis chain's network id.
    pub network_id: &'a str,
    /// The pinned version (sequence, id).
    pub pinned: (u64, &'a str),
    /// The logs.
    pub logs: &'a [LogEntry],
    /// The formats written.
    pub formats: Vec<&'static str>,
    /// The OCDS ocid prefix, when OCDS was written.
    pub ocid_prefix: Option<&'a str>,
    /// Whether Ed25519 signatures of every record were verified too.
    pub signatures_verified: bool,
    /// The files written.
    pub files: &'a [WrittenFile],
}

impl Manifest<'_> {
    /// The manifest as JSON.
    pub fn to_json(&self) -> Value {
        let logs: Vec<Value> = self
            .logs
            .iter()
            .map(|l| {
                let c = &l.checkpoint;
                json!({
                    "member": l.member,
                    "source": l.source,
                    "origin": c.checkpoint.origin,
                    "size": c.checkpoint.size,
                    "root": c.checkpoint.root.to_hex(),
                    "checkpoint_note": c.note.to_text(),
                    "cosigners": c.cosigners.iter()
                        .map(|w| json!({"name": w.name, "timestamp": w.timestamp}))
                        .collect::<Vec<_>>(),
                    "invalid_entries": l.invalid,
                    "records": l.records,
                })
            })
            .collect();
        json!({
            "format": "daylight-export/1",
            "tool": {"name": "daylight", "version": env!("CARGO_PKG_VERSION")},
            "created": now_rfc3339(),
            "network": self.genesis.network(),
            "genesis": {
                "network_id": self.network_id,
                "pinned": {"sequence": self.pinned.0, "id": self.pinned.1},
                "used": {"sequence": self.genesis.sequence(), "id": self.genesis.id()},
            },
            "verification": {
                "checkpoints": "each log's checkpoint is signed by its log key and cosigned by a quorum of its witnesses under the genesis used",
                "entries": "every entry tile was hashed into the log's tree, whose root equals the checkpoint's root",
                "record_signatures": if self.signatures_verified { "verified (Ed25519) against the genesis keys" } else { "not verified (use --verify-signatures); each record was checked by its publisher's node" },
            },
            "formats": self.formats,
            "ocid_prefix": self.ocid_prefix,
            "logs": logs,
            "files": self.files.iter()
                .map(|f| json!({"path": f.name, "sha256": f.sha256, "bytes": f.bytes, "rows": f.rows}))
                .collect::<Vec<_>>(),
        })
    }
}

/// Now, as an RFC 3339 UTC instant with seconds.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let date = daylight_verifier::record::Date::from_days_since_epoch(days)
        .map_or_else(|| "1970-01-01".to_string(), |d| d.to_string());
    let rest = secs % 86_400;
    format!(
        "{date}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// A scratch directory inside the export directory: files are written there and moved into
/// place only when every log verified, so a failed export leaves no half-written files.
pub struct Staging {
    dir: PathBuf,
    out: PathBuf,
}

impl Staging {
    /// Creates `out` if needed and a fresh staging directory inside it.
    pub fn new(out: &Path) -> std::io::Result<Staging> {
        std::fs::create_dir_all(out)?;
        let dir = out.join(format!(".daylight-export-{}.partial", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir(&dir)?;
        Ok(Staging {
            dir,
            out: out.to_path_buf(),
        })
    }

    /// The staging directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Moves every staged file into the export directory and removes the staging directory.
    pub fn commit(self, names: &[String]) -> std::io::Result<()> {
        for name in names {
            std::fs::rename(self.dir.join(name), self.out.join(name))?;
        }
        std::fs::remove_dir_all(&self.dir)?;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_rfc3339() {
        let now = now_rfc3339();
        assert_eq!(now.len(), 20, "{now}");
        assert!(now.ends_with('Z'));
    }
}
