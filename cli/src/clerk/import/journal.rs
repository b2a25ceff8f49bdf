//! The import's own durable state in its output directory, so an interrupted import resumes
//! without duplicates and without changing any household's opening:
//!
//! * `openings.jsonl` — one household opening (pseudonym, rid, amount, nonce) per line,
//!   appended and synced to disk *before* the batch holding its record is submitted; a rerun
//!   reuses it, so the record it makes is byte for byte the one that may already be logged;
//! * `logged.jsonl` — `{"rid", "index", "leaf"}` per record the node acknowledged, appended
//!   and synced after each batch; a rerun skips these rows without asking the node.
//!
//! A line cut short by a crash is ignored (it was never synced, so nothing relied on it).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use daylight_verifier::record::Opening;
use serde::{Deserialize, Serialize};

use crate::clerk::files::sync_parent;
use crate::error::{CliError, input};

/// The openings journal's file name in the output directory: the clerk's copy of every
/// household's opening (mode 0600), the only one until receipts are written.
pub const OPENINGS: &str = "openings.jsonl";

/// One acknowledged record.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Logged {
    /// The record id.
    pub rid: String,
    /// Its index in the log.
    pub index: u64,
    /// Its leaf hash (hex).
    pub leaf: String,
}

/// What earlier runs left: logged records and openings, each by rid.
pub type Earlier = (HashMap<String, Logged>, HashMap<String, Opening>);

/// The two journals of an output directory.
pub struct Journal {
    openings: Mutex<File>,
    logged: Mutex<File>,
    dir: PathBuf,
}

fn read_lines<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, CliError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(input(format!("cannot read {}: {e}", path.display()))),
    };
    let mut items = Vec::new();
    for line in std::io::BufReader::new(file).lines() {
        let line = line.map_err(|e| input(format!("cannot read {}: {e}", path.display())))?;
        if let Ok(item) = serde_json::from_str(&line) {
            items.push(item);
        }
    }
    Ok(items)
}

fn append_file(path: &Path) -> Result<File, CliError> {
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options
        .open(path)
        .map_err(|e| input(format!("cannot open {}: {e}", path.display())))?;
    sync_parent(path);
    Ok(file)
}

fn append<T: Serialize>(file: &Mutex<File>, items: &[T], path: &Path) -> Result<(), CliError> {
    if items.is_empty() {
        return Ok(());
    }
    let mut bytes = Vec::new();
    for item in items {
        serde_json::to_writer(&mut bytes, item)
            .map_err(|e| input(format!("cannot encode a journal line: {e}")))?;
        bytes.push(b'\n');
    }
    let mut file = file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    // A line cut short by an earlier crash would swallow this one: start on a new line.
    file.write_all(b"\n")
        .and_then(|()| file.write_all(&bytes))
        .and_then(|()| file.sync_data())
        .map_err(|e| input(format!("cannot write {}: {e}", path.display())))
}

impl Journal {
    /// What earlier runs in `dir` logged, by rid, and the openings they wrote, by rid (both
    /// empty when `dir` does not exist).
    pub fn load(dir: &Path) -> Result<Earlier, CliError> {
        let logged: HashMap<String, Logged> = read_lines::<Logged>(&dir.join("logged.jsonl"))?
            .into_iter()
            .map(|l| (l.rid.clone(), l))
            .collect();
        let openings: HashMap<String, Opening> = read_lines::<Opening>(&dir.join(OPENINGS))?
            .into_iter()
            .map(|o| (o.rid.to_string(), o))
            .collect();
        Ok((logged, openings))
    }

    /// Opens (creating) the journals in `dir` for appending.
    pub fn open(dir: &Path) -> Result<Journal, CliError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| input(format!("cannot create {}: {e}", dir.display())))?;
        Ok(Journal {
            openings: Mutex::new(append_file(&dir.join(OPENINGS))?),
            logged: Mutex::new(append_file(&dir.join("logged.jsonl"))?),
            dir: dir.to_path_buf(),
        })
    }

    /// Appends openings and syncs them to disk.
    pub fn add_openings(&self, openings: &[&Opening]) -> Result<(), CliError> {
        append(&self.openings, openings, &self.dir.join(OPENINGS))
    }

    /// Appends acknowledged records and syncs them to disk.
    pub fn add_logged(&self, logged: &[Logged]) -> Result<(), CliError> {
        append(&self.logged, logged, &self.dir.join("logged.jsonl"))
    }
}
