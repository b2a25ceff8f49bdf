//! `daylight import`: a CSV or Excel sheet into records by a mapping file (docs/import.md).
//!
//! 1. The mapping is matched to the sheet's headers and every row is built and checked as
//!    the node will check it (on all cores). `--dry-run` stops here: every bad row is named
//!    with its row number, column and reason; nothing is signed; exit 2 if any row is bad.
//!    Without `--dry-run`, a sheet with bad rows is refused the same way, before anything
//!    is signed or sent.
//! 2. Each record is signed (Ed25519 signatures are deterministic, so a rerun makes the same
//!    bytes). Rows the output directory's journal says are logged are skipped, after checking
//!    they did not change.
//! 3. The rest is sent in batches ([`submit`]); household openings are synced to disk
//!    before their records leave ([`journal`]).
//! 4. For household payments, receipts are written once a cosigned checkpoint covers them
//!    ([`receipts`]).

pub mod build;
pub mod journal;
pub mod mapping;
pub mod receipts;
pub mod sheet;
pub mod submit;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use daylight_verifier::record::{MemberId, ProgrammeKey, to_entry_bytes};
use serde_json::json;

use crate::check::read_signing_key;
use crate::clerk::programme_key::{self, LoadedKey};
use crate::error::{CliError, EXIT_USAGE, input};
use crate::output::{Report, print_error, print_report};
use build::{Built, Context, RowError};
use mapping::{As, Template};
use submit::Prepared;

/// The arguments of `daylight import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The mapping file (TOML, docs/import.md).
    #[arg(long)]
    pub mapping: PathBuf,
    /// The sheet: .csv (UTF-8 or GB18030) or .xlsx.
    pub sheet: PathBuf,
    /// The member's node, e.g. http://127.0.0.1:8080 (not needed with --dry-run).
    #[arg(long, required_unless_present = "dry_run")]
    pub node: Option<String>,
    /// The operator's private key file (not needed with --dry-run; with it, the dry run also
    /// checks the rids' member).
    #[arg(long, required_unless_present = "dry_run")]
    pub key: Option<PathBuf>,
    /// The programme key file, when the mapping turns ID numbers into pseudonyms.
    #[arg(long)]
    pub programme_key: Option<PathBuf>,
    /// The pinned genesis (version 1's file or a chain JSON): needed to verify and write
    /// household receipts.
    #[arg(long)]
    pub genesis: Option<PathBuf>,
    /// Check every row and name every bad one; sign and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Where this import keeps its journals, the households' openings and receipts (default
    /// SHEET.import beside the sheet). Give the same directory to resume.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Records per submission.
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// Submissions in flight at once.
    #[arg(long, default_value_t = 2)]
    pub jobs: usize,
    /// Write no household receipts (and need no --genesis).
    #[arg(long)]
    pub no_receipts: bool,
    /// How long to wait for a cosigned checkpoint covering the household rows before
    /// writing their receipts.
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    pub receipt_wait: u64,
}

/// Runs `daylight import` and prints its report; exit 2 when rows are bad.
pub fn main(args: ImportArgs, json: bool) -> ExitCode {
    match run(&args) {
        Ok((report, bad)) => {
            let code = print_report(&report, json);
            if bad {
                ExitCode::from(EXIT_USAGE)
            } else {
                code
            }
        }
        Err(e) => print_error(&e, json),
    }
}

fn uses(template: &Template, kind: As) -> bool {
    match template {
        Template::Literal(_) => false,
        Template::Cell(c) => c.kind == kind,
        Template::Object(fields) => fields.iter().any(|(_, t)| uses(t, kind)),
        Template::Array(items) => items.iter().any(|t| uses(t, kind)),
    }
}

/// Builds (and, with a key, signs) every row on all cores, in row order.
fn build_all(
    ctx: &Context,
    rows: &[sheet::Row],
    key: Option<&daylight_verifier::SigningKey>,
) -> Vec<Result<Prepared, Vec<RowError>>> {
    let one = |row: &sheet::Row| {
        let built: Built = build::build(ctx, row)?;
        let rid = built.record.rid.to_string();
        let entry = match key {
            Some(key) => to_entry_bytes(&built.record.sign(key)),
            None => Vec::new(),
        };
        Ok(Prepared {
            row: built.row,
            rid,
            leaf: daylight_verifier::merkle::leaf_hash(&entry),
            entry,
            opening: built.opening,
            new_opening: built.new_opening,
        })
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = rows.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = rows
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(one).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// The header(s) the rid is made from, to name in errors about rids.
fn rid_column(template: &Template) -> String {
    match template {
        Template::Object(fields) => fields
            .iter()
            .find(|(name, _)| name == "rid")
            .and_then(|(_, t)| match t {
                Template::Cell(c) => Some(c.headers()),
                _ => None,
            })
            .unwrap_or_else(|| "-".into()),
        _ => "-".into(),
    }
}

fn default_out(sheet: &Path) -> PathBuf {
    let name = sheet
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "sheet".into());
    sheet.with_file_name(format!("{name}.import"))
}

fn bad_rows_report(report: &mut Report, errors: &[RowError], rows: usize) {
    let bad: HashSet<usize> = errors.iter().map(|e| e.row).collect();
    report.line(format!(
        "{} of {rows} rows are bad; nothing was signed or sent. Fix them and run again:",
        bad.len()
    ));
    for e in errors {
        report.line(format!(
            "  row {}, column {}: {}",
            e.row, e.column, e.reason
        ));
    }
    report.json["bad_rows"] = json!(bad.len());
    report.json["errors"] = json!(errors);
}

/// Runs the import; the flag says whether rows were bad (exit 2).
pub fn run(args: &ImportArgs) -> Result<(Report, bool), CliError> {
    let started = Instant::now();
    let mapping = mapping::read(&args.mapping)?;
    let sheet = sheet::read(&args.sheet, &mapping.sheet)?;
    let template = mapping.compile(&sheet.headers)?;
    let operator = args.key.as_deref().map(read_signing_key).transpose()?;
    let member = match &operator {
        None => None,
        Some(key) => {
            let name = crate::clerk::attest::key_name(key)?;
            if name.role != daylight_genesis::names::OPERATOR_ROLE {
                return Err(input(format!(
                    "{} is not an operator key: records are signed and sent by the member's \
                     operator",
                    key.name()
                )));
            }
            Some(MemberId::parse(&name.member).map_err(|e| input(format!("member: {e}")))?)
        }
    };
    let pseudonyms = uses(&template, As::Pseudonym);
    let loaded: Option<LoadedKey> = match (&args.programme_key, pseudonyms) {
        (Some(path), _) => Some(programme_key::load(path)?),
        (None, true) if args.dry_run => None,
        (None, true) => {
            return Err(input(
                "the mapping turns ID numbers into pseudonyms: give the programme key with \
                 --programme-key FILE",
            ));
        }
        (None, false) => None,
    };
    // A dry run without the programme key still checks every ID number, with a stand-in key.
    let stand_in = (pseudonyms && loaded.is_none()).then(|| LoadedKey {
        program: String::new(),
        key: ProgrammeKey::from_bytes([0; 32]),
        fingerprint: String::new(),
        warning: None,
    });
    let households = uses(&template, As::Commitment);
    let receipts = households && !args.no_receipts && !args.dry_run;
    if receipts && args.genesis.is_none() {
        return Err(input(
            "the sheet has household payments: give the pinned genesis with --genesis FILE to \
             write their receipts, or --no-receipts to write none",
        ));
    }
    let out = args.out.clone().unwrap_or_else(|| default_out(&args.sheet));
    let (logged_before, openings) = journal::Journal::load(&out)?;
    let ctx = Context {
        template: &template,
        programme: loaded.as_ref().or(stand_in.as_ref()),
        member: member.as_ref(),
        openings: &openings,
    };
    let rid_header = rid_column(&template);
    let signer = if args.dry_run {
        None
    } else {
        operator.as_ref()
    };
    let mut prepared = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for result in build_all(&ctx, &sheet.rows, signer) {
        match result {
            Err(e) => errors.extend(e),
            Ok(p) => match seen.insert(p.rid.clone(), p.row) {
                Some(first) => errors.push(RowError {
                    row: p.row,
                    column: rid_header.clone(),
                    reason: format!("rid {} is made by row {first} too: rids are unique", p.rid),
                }),
                None => prepared.push(p),
            },
        }
    }
    // Rows the journal says are logged: skipped, if they did not change.
    let logged_leaves = submit::logged_leaves(&logged_before);
    let mut skipped = 0;
    let mut household_rows = Vec::new();
    let mut to_send = Vec::new();
    for p in prepared {
        if let Some(opening) = &p.opening {
            household_rows.push((p.rid.clone(), opening.clone()));
        }
        match logged_leaves.get(p.rid.as_str()) {
            Some((_, Some(leaf))) if args.dry_run || *leaf == p.leaf => skipped += 1,
            Some((index, _)) => errors.push(RowError {
                row: p.row,
                column: rid_header.clone(),
                reason: format!(
                    "{} was logged by an earlier run of this import (index {index}) and the row \
                     has changed since: logged records never change; publish a correction",
                    p.rid
                ),
            }),
            None => to_send.push(p),
        }
    }
    errors.sort_by_key(|e| e.row);
    let total = sheet.rows.len();
    let mut report = Report::new(json!({
        "sheet": args.sheet.display().to_string(), "read_as": sheet.described,
        "rows": total, "out": out.display().to_string(), "dry_run": args.dry_run,
    }));
    report.line(format!(
        "Read {total} rows from {} ({}).",
        args.sheet.display(),
        sheet.described
    ));
    if !errors.is_empty() {
        bad_rows_report(&mut report, &errors, total);
        return Ok((report, true));
    }
    report.json["bad_rows"] = json!(0);
    if args.dry_run {
        report.line(format!(
            "Dry run: all {total} rows make valid records ({skipped} logged already by an \
             earlier run). Nothing was signed or sent."
        ));
        return Ok((report, false));
    }
    let (Some(node), Some(operator), Some(member)) = (&args.node, &operator, &member) else {
        return Err(input("give --node and --key, or --dry-run"));
    };
    let client = crate::client::Client::new(node)?;
    let journal = journal::Journal::open(&out)?;
    let dir = out.join("households");
    if receipts {
        std::fs::create_dir_all(&dir)
            .map_err(|e| input(format!("cannot create {}: {e}", dir.display())))?;
    }
    let progress = indicatif::ProgressBar::new(total as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} rows logged, {per_sec}, {eta} left",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    progress.set_position(skipped as u64);
    let target = submit::Target {
        client: &client,
        journal: &journal,
        progress: &progress,
        total,
    };
    let outcome = submit::send(&target, &to_send, args.batch, args.jobs)?;
    progress.finish_and_clear();
    let elapsed = started.elapsed();
    let rate = total as f64 / elapsed.as_secs_f64().max(1e-9);
    report.line(format!(
        "Logged {} rows now; {} were logged by an earlier run ({skipped} known from the \
         journal, {} found on the node); {} in {:.1} s ({rate:.0} rows/s), signed by {}.",
        outcome.logged.len(),
        skipped + outcome.found.len(),
        outcome.found.len(),
        total,
        elapsed.as_secs_f64(),
        operator.name()
    ));
    report.json["logged_now"] = json!(outcome.logged.len());
    report.json["logged_before"] = json!(skipped + outcome.found.len());
    report.json["seconds"] = json!(elapsed.as_secs_f64());
    for c in &outcome.conflicts {
        report.fail(&format!("row {}", c.row), c.reason.clone());
    }
    report.json["conflicts"] = json!(outcome.conflicts);
    if households {
        report.line(format!(
            "Kept {} households' openings in {} (each household's receipt carries its own).",
            household_rows.len(),
            out.join(journal::OPENINGS).display()
        ));
    }
    if receipts && let Some(genesis) = &args.genesis {
        let mut index: HashMap<&str, u64> = logged_before
            .values()
            .map(|l| (l.rid.as_str(), l.index))
            .collect();
        for l in outcome.logged.iter().chain(&outcome.found) {
            index.insert(l.rid.as_str(), l.index);
        }
        let wanted: Vec<receipts::Wanted> = household_rows
            .iter()
            .filter_map(|(rid, opening)| {
                index.get(rid.as_str()).map(|i| receipts::Wanted {
                    rid: rid.clone(),
                    index: *i,
                    opening: opening.clone(),
                })
            })
            .collect();
        let pinned = crate::pin::load(genesis, std::slice::from_ref(node))?;
        let written = receipts::write(
            node,
            &pinned,
            member.as_str(),
            &wanted,
            &dir,
            Duration::from_secs(args.receipt_wait),
        )?;
        report.line(format!(
            "Wrote {} household receipts (JSON and printable HTML) to {} ({} written before).",
            written.written,
            dir.display(),
            written.present
        ));
        report.json["receipts_written"] = json!(written.written);
        if let Some(missing) = written.missing {
            report.fail("receipts", missing);
        } else {
            report.pass(
                "receipts",
                "every household receipt verifies against the pinned genesis",
            );
        }
    }
    Ok((report, false))
}
