//! The files an export writes, hashed as they are written, and `manifest.json`: for each log
//! the cosigned checkpoint the export was verified against (the whole note, so anyone can
//! check its signatures again), the genesis version, the tool version, and every file with its
//! SHA-256, size and row count.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A file being written: buffered, hashed and counted on the way to disk.
pub struct OutputFile {
    name: String,
    inner: BufWriter<File>,
    hasher: Sha256,
    bytes: u64,
    /// `bytes` when the file was last handed to [`write_back`].
    written_back: u64,
    /// Data rows (CSV rows, JSON lines, releases) written, for the manifest.
    pub rows: u64,
}

/// How much an output file grows between two hand-overs to [`write_back`].
const WRITE_BACK_EVERY: u64 = 64 << 20;

/// Starts writing `file`'s dirty pages to disk on a background thread and returns at once.
/// An export writes gigabytes; left to the final `sync_all`, all of it waited for the disk
/// at the end, while the disk was idle during the minutes of writing before. A failed
/// background sync is not reported here: the final `sync_all` reports it.
fn write_back(file: File) {
    static QUEUE: std::sync::OnceLock<Option<std::sync::mpsc::Sender<File>>> =
        std::sync::OnceLock::new();
    let queue = QUEUE.get_or_init(|| {
        let (queue, files) = std::sync::mpsc::channel::<File>();
        std::thread::Builder::new()
            .name("export-write-back".into())
            .spawn(move || {
                for file in files {
                    let _ = file.sync_data();
                }
            })
            .ok()
            .map(|_| queue)
    });
    if let Some(queue) = queue {
        // The thread never stops, so sending cannot fail.
        let _ = queue.send(file);
    }
}

/// A finished file, as the manifest lists it.
#[derive(Debug, Clone)]
pub struct WrittenFile {
    /// The file name inside the export directory.
    pub name: String,
    /// SHA-256 of its bytes, lowercase hex.
    pub sha256: String,
    /// Its size.
    pub bytes: u64,
    /// Data rows.
    pub rows: u64,
}

impl OutputFile {
    /// Creates `dir/name`, replacing any file there.
    pub fn create(dir: &Path, name: &str) -> std::io::Result<OutputFile> {
        let file = File::create(dir.join(name))?;
        Ok(OutputFile {
            name: name.to_string(),
            inner: BufWriter::with_capacity(1 << 20, file),
            hasher: Sha256::new(),
            bytes: 0,
            written_back: 0,
            rows: 0,
        })
    }

    /// Flushes and closes the file; returns what the manifest says of it.
    pub fn finish(mut self) -> std::io::Result<WrittenFile> {
        self.inner.flush()?;
        self.inner.get_ref().sync_all()?;
        Ok(WrittenFile {
            name: self.name,
            sha256: hex::encode(self.hasher.finalize()),
            bytes: self.bytes,
            rows: self.rows,
        })
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        if self.bytes - self.written_back >= WRITE_BACK_EVERY {
            self.written_back = self.bytes;
            self.inner.flush()?;
            write_back(self.inner.get_ref().try_clone()?);
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

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
    fn output_files_hash_what_they_write() {
        let dir = std::env::temp_dir().join(format!("daylight-manifest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut f = OutputFile::create(&dir, "a.txt").unwrap();
        f.write_all(b"abc").unwrap();
        let written = f.finish().unwrap();
        assert_eq!(
            written.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(written.bytes, 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn instants_are_rfc3339() {
        let now = now_rfc3339();
        assert_eq!(now.len(), 20, "{now}");
        assert!(now.ends_with('Z'));
    }
}
