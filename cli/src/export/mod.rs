//! `daylight export`: replays logs from a node or static copy (the same replay as `audit`:
//! each log's checkpoint must carry its quorum of cosignatures, and every entry tile is hashed
//! into the tree, whose root must equal the checkpoint's), applies corrections and voids, and
//! writes the current state and the history as CSV, JSON Lines and OCDS 1.1.5, with a
//! `manifest.json` naming each log's checkpoint and each file's SHA-256 (docs/data.md).
//!
//! * [`model`] — entries into history events and each log's current state;
//! * [`columns`] — the CSV columns and the cells written under them;
//! * [`csv`], [`jsonl`], [`ocds`] — the formats;
//! * [`json`](mod@json) — compact JSON as `serde_json` writes it, with faster strings;
//! * [`output`] — the files written, hashed and written on a thread of their own;
//! * [`disk`] — bytes to disk past the page cache (`O_DIRECT`) where the file system allows;
//! * [`memory`] — ordinary pages instead of huge ones for the records held;
//! * [`sorted`] — a record's content as JSON with sorted keys, without a JSON tree;
//! * [`manifest`] — the manifest, and the staging directory (a failed export leaves no
//!   half-written files);
//! * [`ordered`] — work on every core with results taken in order (reading entries, writing
//!   `current.jsonl`).

pub mod columns;
pub mod csv;
pub mod disk;
pub mod json;
pub mod jsonl;
pub mod manifest;
pub mod memory;
pub mod model;
pub mod ocds;
pub mod ordered;
pub mod output;
pub mod sorted;

use std::path::Path;

use serde_json::json;

use crate::error::{CliError, failed, input};
use crate::output::Report;
use crate::pin::Pinned;
use crate::replay::replay;
use crate::source::Source;
use manifest::{LogEntry, Manifest, Staging};
use model::{ExportedLog, HistorySink, LogReader};
use output::OutputFile;

/// An export format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Format {
    /// One CSV file per record kind, funding.csv and history.csv (UTF-8 with BOM).
    Csv,
    /// current.jsonl and history.jsonl.
    Jsonl,
    /// OCDS 1.1.5 release and record packages.
    Ocds,
}

impl Format {
    fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
            Format::Ocds => "ocds",
        }
    }
}

/// What to export and where.
pub struct ExportRequest<'a> {
    /// The genesis chain followed from the pin.
    pub pinned: &'a Pinned,
    /// Nodes or static copies to replay from, tried in order for each log.
    pub nodes: &'a [String],
    /// The logs to export; every member's when empty.
    pub members: &'a [String],
    /// The formats to write (at least one).
    pub formats: &'a [Format],
    /// The output directory (created if missing).
    pub out: &'a Path,
    /// The OCDS ocid prefix; default `ocds-daylight-<network>`.
    pub ocid_prefix: Option<&'a str>,
    /// Also verify every record's Ed25519 signatures (slower).
    pub verify_signatures: bool,
}

/// Runs `daylight export`.
pub fn run(request: ExportRequest<'_>) -> Result<Report, CliError> {
    let genesis = request.pinned.genesis();
    let mut formats = request.formats.to_vec();
    formats.sort();
    formats.dedup();
    if formats.is_empty() {
        return Err(input("give at least one --format: csv, jsonl or ocds"));
    }
    let members: Vec<String> = if request.members.is_empty() {
        genesis.members().iter().map(|m| m.id.clone()).collect()
    } else {
        request.members.to_vec()
    };
    for m in &members {
        if genesis.definition().member(m).is_none() {
            return Err(input(format!(
                "--log {m}: the genesis has no member {m}; its members are {}",
                genesis.member_ids()
            )));
        }
    }
    let sources = request
        .nodes
        .iter()
        .map(|n| Source::new(n))
        .collect::<Result<Vec<_>, _>>()?;
    let prefix = request
        .ocid_prefix
        .map(str::to_string)
        .unwrap_or_else(|| format!("ocds-daylight-{}", genesis.network()));
    let out = request.out;
    let io = |e: std::io::Error| {
        input(format!(
            "cannot write the export to {}: {e}; check the directory is writable and has room",
            out.display()
        ))
    };
    let staging = Staging::new(out).map_err(io)?;
    memory::use_small_pages();
    let create = |name: &str| OutputFile::create(staging.path(), name);
    let has = |f: Format| formats.contains(&f);
    let mut history_csv = if has(Format::Csv) {
        Some(csv::HistoryCsv::new(create("history.csv").map_err(io)?).map_err(io)?)
    } else {
        None
    };
    let mut history_jsonl = if has(Format::Jsonl) {
        Some(jsonl::HistoryJsonl::new(
            create("history.jsonl").map_err(io)?,
        ))
    } else {
        None
    };
    let mut releases = if has(Format::Ocds) {
        let package = ocds::Package::new(genesis.network(), &prefix);
        Some(ocds::ReleaseWriter::new(package, create(ocds::RELEASES).map_err(io)?).map_err(io)?)
    } else {
        None
    };

    let progress = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template(
            "{msg:>16} [{bar:40}] {pos}/{len} entries ({per_sec}, {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    let mut report = Report::new(json!({"out": out.display().to_string()}));
    let mut logs: Vec<ExportedLog> = Vec::new();
    let mut entries: Vec<LogEntry> = Vec::new();
    for member in &members {
        let mut reader = LogReader::new(member).map_err(input)?;
        if request.verify_signatures {
            reader.verify_signatures(
                genesis
                    .accepted_keys(member)
                    .map_err(|e| input(format!("{member}: {e}")))?,
            );
        }
        let mut outcome = None;
        for source in &sources {
            progress.reset();
            let mut sinks: Vec<&mut dyn HistorySink> = Vec::new();
            if let Some(s) = history_csv.as_mut() {
                sinks.push(s);
            }
            if let Some(s) = history_jsonl.as_mut() {
                sinks.push(s);
            }
            if let Some(s) = releases.as_mut() {
                sinks.push(s);
            }
            let result = replay(source, genesis, member, &progress, |run| {
                if run.first == 0 {
                    reader.expect(run.log_size);
                }
                reader
                    .read_batch(run.first, run.entries, &mut sinks)
                    .map_err(io)
            });
            match result {
                // Another node may hold the log; move on only if nothing was read yet.
                Err(CliError::Unreachable { url, reason }) if reader.entries == 0 => {
                    report.node_unreachable(&url, reason.clone());
                    outcome = Some(Err(CliError::Unreachable { url, reason }));
                }
                other => {
                    outcome = Some(other.map(|r| (r, source.base().to_string())));
                    break;
                }
            }
        }
        let (replayed, source) = match outcome {
            Some(result) => result?,
            None => return Err(input("give at least one --node")),
        };
        let checkpoint = replayed.checkpoint;
        let records = model::current(&reader.state).count() as u64;
        report.pass(
            &format!("log {member}"),
            format!(
                "{} entries replayed from {source}; their tree has the root of the checkpoint \
                 cosigned by {} witness(es); {records} records in the current state{}",
                checkpoint.checkpoint.size,
                checkpoint.cosigners.len(),
                if reader.invalid > 0 {
                    format!(
                        ", {} entries that are not valid records (in the history only)",
                        reader.invalid
                    )
                } else {
                    String::new()
                }
            ),
        );
        entries.push(LogEntry {
            member: member.clone(),
            source,
            checkpoint,
            invalid: reader.invalid,
            records,
        });
        logs.push(ExportedLog {
            member: member.clone(),
            state: reader.state,
        });
    }
    progress.finish_and_clear();

    let files =
        manifest::finish(&logs, history_csv, history_jsonl, releases, &create).map_err(io)?;
    let manifest = Manifest {
        genesis,
        network_id: request.pinned.chain.network_id(),
        pinned: (request.pinned.pinned.0, &request.pinned.pinned.1),
        logs: &entries,
        formats: formats.iter().map(|f| f.as_str()).collect(),
        ocid_prefix: has(Format::Ocds).then_some(prefix.as_str()),
        signatures_verified: request.verify_signatures,
        files: &files,
    }
    .to_json();
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| failed(e.to_string()))?;
    std::fs::write(staging.path().join("manifest.json"), text + "\n").map_err(io)?;
    let mut names: Vec<String> = files.iter().map(|f| f.name.clone()).collect();
    names.push("manifest.json".to_string());
    staging.commit(&names).map_err(io)?;

    let total: u64 = entries.iter().map(|e| e.checkpoint.checkpoint.size).sum();
    let seconds = started.elapsed().as_secs_f64();
    report.line(format!(
        "Exported {} log(s), {total} entries, to {} in {seconds:.2} s ({}), each log verified \
         against its quorum-cosigned checkpoint (listed in manifest.json with every file's \
         SHA-256).",
        entries.len(),
        out.display(),
        formats
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    for f in &files {
        report.line(format!("  {:<22} {:>9} rows  {}", f.name, f.rows, f.sha256));
    }
    report.json["files"] = manifest["files"].clone();
    report.json["logs"] = manifest["logs"].clone();
    report.json["manifest"] = json!(out.join("manifest.json").display().to_string());
    report.json["seconds"] = json!(seconds);
    Ok(report)
}
