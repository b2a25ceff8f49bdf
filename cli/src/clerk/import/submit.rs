//! Signing is done; this sends the records to the node in batches (`POST /v1/records` with an
//! array), `jobs` batches at a time, with a progress bar. Before a batch is sent, the
//! openings of its household rows are synced to the openings journal; after the node
//! acknowledges it, its records go to the logged journal. A batch the node refuses because
//! a rid is already logged (409 `duplicate_rid`: an earlier run was interrupted between
//! sending and journaling) is sorted out by asking the node for each of its rids: a record
//! logged with exactly this content (same leaf hash) counts as logged, one with other content
//! is a conflict, and the rest are sent again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use daylight_verifier::Hash;
use daylight_verifier::record::Opening;
use indicatif::ProgressBar;

use crate::clerk::import::build::RowError;
use crate::clerk::import::journal::{Journal, Logged};
use crate::client::Client;
use crate::error::{CliError, input};

/// A signed record ready to send.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The row number.
    pub row: usize,
    /// The record id.
    pub rid: String,
    /// The entry bytes (JCS of the signed record).
    pub entry: Vec<u8>,
    /// The entry's leaf hash.
    pub leaf: Hash,
    /// The household opening, if any.
    pub opening: Option<Opening>,
    /// Whether the opening is new in this run.
    pub new_opening: bool,
}

/// What the submission did.
#[derive(Default)]
pub struct Outcome {
    /// Records acknowledged in this run.
    pub logged: Vec<Logged>,
    /// Records found logged already (an interrupted earlier run sent them).
    pub found: Vec<Logged>,
    /// Rows whose rid is logged with other content.
    pub conflicts: Vec<RowError>,
}

/// Where the submission goes and what it writes.
pub struct Target<'a> {
    /// The node.
    pub client: &'a Client,
    /// The journals.
    pub journal: &'a Journal,
    /// The progress bar (hidden when standard error is not a terminal).
    pub progress: &'a ProgressBar,
    /// Records in all, for progress lines.
    pub total: usize,
}

fn body(items: &[&Prepared]) -> Vec<u8> {
    let mut body = Vec::with_capacity(items.iter().map(|p| p.entry.len() + 1).sum::<usize>() + 2);
    body.push(b'[');
    for (i, p) in items.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(&p.entry);
    }
    body.push(b']');
    body
}

fn post(client: &Client, items: &[&Prepared]) -> Result<Result<Vec<Logged>, u16>, CliError> {
    let reply = client.post_json("/v1/records", &body(items))?;
    if reply.status == 409 {
        return Ok(Err(409));
    }
    if !reply.is_success() {
        return Err(reply.refusal());
    }
    let acks: Vec<daylight_api::Ack> = reply.parse("acknowledgements")?;
    if acks.len() != items.len() {
        return Err(input(format!(
            "the node acknowledged {} records of a batch of {}: check the node's log",
            acks.len(),
            items.len()
        )));
    }
    let mut logged = Vec::with_capacity(acks.len());
    for (ack, item) in acks.iter().zip(items) {
        if ack.rid != item.rid || ack.leaf != item.leaf {
            return Err(crate::error::failed(format!(
                "row {}: the node acknowledged {} with leaf {}, but the record signed here is \
                 {} with leaf {}",
                item.row, ack.rid, ack.leaf, item.rid, item.leaf
            )));
        }
        logged.push(Logged {
            rid: ack.rid.clone(),
            index: ack.index,
            leaf: ack.leaf.to_hex(),
        });
    }
    Ok(Ok(logged))
}

/// Sorts out a refused batch: which rids the node holds, with which content.
fn sort_out<'p>(
    client: &Client,
    items: &[&'p Prepared],
    outcome: &Mutex<Outcome>,
    journal: &Journal,
) -> Result<Vec<&'p Prepared>, CliError> {
    let mut remaining = Vec::new();
    let mut found = Vec::new();
    for item in items {
        let reply = client.get(&format!("/v1/records/{}", item.rid))?;
        if reply.status == 404 {
            remaining.push(*item);
            continue;
        }
        if !reply.is_success() {
            return Err(reply.refusal());
        }
        let answer: daylight_api::RecordAnswer = reply.parse("record")?;
        if answer.leaf == item.leaf {
            found.push(Logged {
                rid: item.rid.clone(),
                index: answer.index,
                leaf: answer.leaf.to_hex(),
            });
        } else {
            let mut o = outcome.lock().unwrap_or_else(|p| p.into_inner());
            o.conflicts.push(RowError {
                row: item.row,
                column: "-".into(),
                reason: format!(
                    "{} is logged already (index {}) with other content: logged records never \
                     change; publish a correction, or give this row a new rid",
                    item.rid, answer.index
                ),
            });
        }
    }
    journal.add_logged(&found)?;
    outcome
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .found
        .extend(found);
    Ok(remaining)
}

fn send_batch(
    target: &Target,
    items: &[&Prepared],
    outcome: &Mutex<Outcome>,
) -> Result<usize, CliError> {
    let new: Vec<&Opening> = items
        .iter()
        .filter(|p| p.new_opening)
        .filter_map(|p| p.opening.as_ref())
        .collect();
    // Durable before the records leave: a killed run never loses or changes an opening.
    target.journal.add_openings(&new)?;
    let logged = match post(target.client, items)? {
        Ok(logged) => logged,
        Err(_) => {
            let remaining = sort_out(target.client, items, outcome, target.journal)?;
            if remaining.is_empty() {
                return Ok(items.len());
            }
            match post(target.client, &remaining)? {
                Ok(logged) => logged,
                Err(_) => {
                    return Err(input(
                        "the node refused a batch twice as already logged: another import of \
                         the same rids is running? Wait for it, then run this one again",
                    ));
                }
            }
        }
    };
    target.journal.add_logged(&logged)?;
    outcome
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .logged
        .extend(logged);
    Ok(items.len())
}

/// Sends `items` in batches of `batch`, `jobs` at a time.
pub fn send(
    target: &Target,
    items: &[Prepared],
    batch: usize,
    jobs: usize,
) -> Result<Outcome, CliError> {
    let batches: Vec<Vec<&Prepared>> = items
        .chunks(batch.max(1))
        .map(|c| c.iter().collect())
        .collect();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let outcome = Mutex::new(Outcome::default());
    let first_error: Mutex<Option<CliError>> = Mutex::new(None);
    let already = target.total - items.len();
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(items) = batches.get(i) else { break };
                    match send_batch(target, items, &outcome) {
                        Ok(n) => {
                            target.progress.inc(n as u64);
                            let sent = done.fetch_add(n, Ordering::Relaxed) + n;
                            if target.progress.is_hidden() {
                                eprintln!("logged {} of {} rows", already + sent, target.total);
                            }
                        }
                        Err(e) => {
                            stop.store(true, Ordering::Relaxed);
                            let mut slot = first_error.lock().unwrap_or_else(|p| p.into_inner());
                            slot.get_or_insert(e);
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    Ok(outcome.into_inner().unwrap_or_else(|p| p.into_inner()))
}

/// Rows logged in earlier runs, from the journal, with their leaves as hashes.
pub fn logged_leaves(logged: &HashMap<String, Logged>) -> HashMap<&str, (u64, Option<Hash>)> {
    logged
        .iter()
        .map(|(rid, l)| (rid.as_str(), (l.index, Hash::from_hex(&l.leaf).ok())))
        .collect()
}
