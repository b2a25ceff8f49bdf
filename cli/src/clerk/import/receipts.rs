//! Household receipts: once a checkpoint covering the household rows is cosigned by a quorum
//! of witnesses, each household payment's receipt (`daylight-household-receipt/v1`: the
//! tlog-proof bundle with the household's opening) is fetched, verified against the pinned
//! genesis as `daylight receipt verify` would, and written with a printable HTML copy that
//! verifies itself offline in a browser (`daylight_portal::linked_receipt_html`: a few
//! kilobytes each, all sharing the one verifier script written beside them, since a
//! self-contained file of 1.6 MB per household would not do for a sheet of thousands).

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use daylight_verifier::record::Opening;

use crate::clerk::files::replace;
use crate::error::{CliError, input};
use crate::pin::Pinned;
use crate::receipt::{Which, fetch};

/// How often to ask again while waiting for a cosigned checkpoint.
const STEP: Duration = Duration::from_millis(250);

/// A household row to write a receipt for.
pub struct Wanted {
    /// The record id.
    pub rid: String,
    /// Its index in the log.
    pub index: u64,
    /// The household's opening (from the openings journal), which the receipt carries.
    pub opening: Opening,
}

/// What was written, or why not.
pub struct Written {
    /// Receipts written now.
    pub written: usize,
    /// Receipts that were there already.
    pub present: usize,
    /// Why receipts are missing, if some are.
    pub missing: Option<String>,
}

fn one(
    node: &str,
    pinned: &Pinned,
    log: &str,
    wanted: &Wanted,
    dir: &Path,
    chain_json: &str,
) -> Result<Option<String>, CliError> {
    let out = dir.join(format!("{}.receipt.json", wanted.rid));
    let report = fetch(
        node,
        Which::Index {
            log: log.to_string(),
            index: wanted.index,
        },
        &out,
        Some(&wanted.opening),
        Some(pinned.genesis()),
    )?;
    if let Some(failure) = report.failure {
        return Ok(Some(failure));
    }
    let text = std::fs::read_to_string(&out)
        .map_err(|e| input(format!("cannot read {}: {e}", out.display())))?;
    let html = daylight_portal::linked_receipt_html(&text, chain_json);
    replace(
        &dir.join(format!("{}.receipt.html", wanted.rid)),
        html.as_bytes(),
        true,
    )?;
    Ok(None)
}

/// Waits (at most `wait`) until the last household row's receipt verifies, then writes every
/// household row's receipt that is not written yet.
pub fn write(
    node: &str,
    pinned: &Pinned,
    log: &str,
    wanted: &[Wanted],
    dir: &Path,
    wait: Duration,
) -> Result<Written, CliError> {
    let chain_json = pinned.chain.to_json();
    let (present, todo): (Vec<&Wanted>, Vec<&Wanted>) = wanted
        .iter()
        .partition(|w| dir.join(format!("{}.receipt.html", w.rid)).exists());
    let mut result = Written {
        written: 0,
        present: present.len(),
        missing: None,
    };
    let Some(last) = todo.iter().max_by_key(|w| w.index) else {
        return Ok(result);
    };
    // The verifier every receipt's HTML loads from beside it (rewritten, so it always matches
    // this version's receipts).
    replace(
        &dir.join(daylight_portal::RECEIPT_VERIFIER_SCRIPT),
        daylight_portal::receipt_verifier_script().as_bytes(),
        false,
    )?;
    let deadline = Instant::now() + wait;
    loop {
        match one(node, pinned, log, last, dir, &chain_json)? {
            None => break,
            Some(reason) if Instant::now() >= deadline => {
                result.missing = Some(format!(
                    "no receipt written: after {} s the node still serves no checkpoint that \
                     covers the household rows and verifies ({reason}); the records are \
                     logged: run the same import again later (it skips logged rows) to write \
                     the receipts",
                    wait.as_secs()
                ));
                return Ok(result);
            }
            Some(_) => std::thread::sleep(STEP.min(deadline - Instant::now())),
        }
    }
    result.written += 1;
    // The rest on every core: each receipt is a fetch, a verification and a page with a QR
    // code to draw, independent of the others.
    let rest: Vec<&Wanted> = todo.iter().copied().filter(|w| w.rid != last.rid).collect();
    let next = AtomicUsize::new(0);
    let written = AtomicUsize::new(0);
    let missing: Mutex<Option<String>> = Mutex::new(None);
    let error: Mutex<Option<CliError>> = Mutex::new(None);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|scope| {
        for _ in 0..threads.min(rest.len()) {
            scope.spawn(|| {
                while let Some(w) = rest.get(next.fetch_add(1, Ordering::Relaxed)) {
                    match one(node, pinned, log, w, dir, &chain_json) {
                        Ok(None) => {
                            written.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(Some(reason)) => {
                            lock(&missing).get_or_insert(format!(
                                "the receipt of {} did not verify: {reason}",
                                w.rid
                            ));
                        }
                        Err(e) => {
                            lock(&error).get_or_insert(e);
                            // No more: the others stop at their next receipt.
                            next.store(rest.len(), Ordering::Relaxed);
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    result.written += written.into_inner();
    result.missing = missing.into_inner().unwrap_or_else(|p| p.into_inner());
    Ok(result)
}

/// The value behind `mutex`, even if a thread panicked holding it.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
