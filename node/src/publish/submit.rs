//! Submission: from request bytes to validated entries handed to the sequencer.
//!
//! A body is one record (a JSON object) or many (a JSON array). Each is checked with
//! [`daylight_verifier::record::prepare_record`] — shape, field rules, privacy guard, and who
//! signed — off the async runtime in parallel tasks, so both cores work; each task's
//! signatures are then verified as one Ed25519 batch (up to 1,024 records: a larger
//! batch costs less per signature). A submission is logged whole or not at all: a refused
//! record refuses it, naming its position, and so does a record id that appears twice in it,
//! naming both positions. Which record is named when several are wrong does not depend on
//! how the work is split: records are taken in chunks of 256, and the first chunk holding a
//! refused record names its first record refused by the checks before the signatures, or,
//! if none is, its first bad signature.
//!
//! References to records of this same log, and the version a correction or void pins, are
//! resolved by the sequencer, which sees the log in order. References to other logs are
//! checked for form only until this node mirrors them.

use daylight_genesis::Genesis;
use daylight_verifier::record::{
    AcceptedKeys, Body, MemberId, Pin, PreparedRecord, RecordError, prepare_record,
};

use crate::publish::log_writer::Ack;
use crate::publish::sequencer::{Sequencer, SequencerError};
use crate::store::{Amendment, LocalReference, NewEntry};

/// Records per chunk: the unit in which refusals are reported (see the module doc).
const CHUNK: usize = 256;
/// The most records one validation task checks, and verifies as one Ed25519 batch (a whole
/// number of chunks).
const MAX_TASK: usize = 4 * CHUNK;

/// Why a submission was refused.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The body is not a JSON object or array.
    #[error("the body must be a JSON record or an array of records: {0}")]
    Malformed(String),
    /// An empty array.
    #[error("the array holds no records")]
    Empty,
    /// A record failed a check.
    #[error("record {position}{}: {error}", rid.as_ref().map(|r| format!(" ({r})")).unwrap_or_default())]
    Invalid {
        /// Zero-based position in the submission.
        position: usize,
        /// Its rid, if it could be read.
        rid: Option<String>,
        /// What is wrong.
        error: RecordError,
    },
    /// The same record id twice in one submission. Nothing of the submission was logged.
    #[error(
        "record id {rid:?} appears twice in this submission, as records {first} and {second} \
         (counting from 0); a record id names one record, so remove or renumber one of them \
         and submit again (nothing of this submission was logged)"
    )]
    DuplicateInSubmission {
        /// The record id.
        rid: String,
        /// Zero-based position of its first appearance.
        first: usize,
        /// Zero-based position of its second appearance.
        second: usize,
    },
    /// The log could not take the records.
    #[error(transparent)]
    Sequencer(#[from] SequencerError),
}

/// Checks submissions for one member's log.
#[derive(Clone)]
pub struct Submitter {
    member: MemberId,
    /// The keys accepted now, shared by every clone; replaced when a genesis version changes
    /// them ([`Submitter::set_keys`]), e.g. revokes an operator key.
    keys: std::sync::Arc<std::sync::RwLock<std::sync::Arc<AcceptedKeys>>>,
}

impl Submitter {
    /// The checks for `member`'s log, with the keys the genesis accepts for it.
    pub fn from_genesis(genesis: &Genesis, member: &str) -> anyhow::Result<Submitter> {
        let member_id = MemberId::parse(member)
            .map_err(|e| anyhow::anyhow!("member id {member:?} is not valid: {e}"))?;
        Ok(Submitter::new(member_id, genesis.accepted_keys(member)?))
    }

    /// The checks for `member`'s log, accepting `keys`.
    pub fn new(member: MemberId, keys: AcceptedKeys) -> Submitter {
        Submitter {
            member,
            keys: std::sync::Arc::new(std::sync::RwLock::new(std::sync::Arc::new(keys))),
        }
    }

    /// Checks later submissions (in this submitter and every clone of it) against `keys`,
    /// the newest version's accepted keys: a key it no longer lists is refused from now on.
    pub fn set_keys(&self, keys: AcceptedKeys) {
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = std::sync::Arc::new(keys);
    }

    /// The keys accepted now.
    fn keys(&self) -> std::sync::Arc<AcceptedKeys> {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Validates `body` and logs it; answers once every record is durable.
    pub async fn submit(
        &self,
        sequencer: &Sequencer,
        body: &[u8],
    ) -> Result<Vec<(String, Ack)>, SubmitError> {
        let records = split_body(body)?;
        let count = records.len();
        // As many records per task as spreads them over the cores, in whole chunks, at most
        // MAX_TASK (so that each batch is large and every core has work).
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let per_task = count
            .div_ceil(cores)
            .next_multiple_of(CHUNK)
            .clamp(CHUNK, MAX_TASK);
        let mut tasks = Vec::with_capacity(count.div_ceil(per_task));
        let mut records = records.into_iter();
        for task_number in 0.. {
            // Each task's records move to it: nothing is copied.
            let part: Vec<Vec<u8>> = records.by_ref().take(per_task).collect();
            if part.is_empty() {
                break;
            }
            let this = self.clone();
            tasks.push(tokio::task::spawn_blocking(move || {
                this.check_records(task_number * per_task, &part)
            }));
        }
        let mut entries = Vec::with_capacity(count);
        for task in tasks {
            let checked = task
                .await
                .map_err(|e| SubmitError::Malformed(format!("validation task failed: {e}")))??;
            entries.extend(checked);
        }
        let rids: Vec<String> = entries.iter().filter_map(|e| e.rid.clone()).collect();
        check_distinct(&rids)?;
        let acks = sequencer.submit(entries).await?;
        Ok(rids.into_iter().zip(acks).collect())
    }

    /// Checks `records` (the JSON text of each; `first` is the position of the first in its
    /// submission, a multiple of the chunk size, for error messages) as [`Submitter::submit`]
    /// does, on the calling thread, without logging them: every record's checks, then all
    /// their signatures verified in one Ed25519 batch — and only if the batch fails, each
    /// verified alone, to name the record at fault. Returns the entries to log, in order.
    /// Public so that the node benchmark can measure the checks alone.
    pub fn check_records(
        &self,
        first: usize,
        records: &[Vec<u8>],
    ) -> Result<Vec<NewEntry>, SubmitError> {
        let invalid = |i: usize, error| SubmitError::Invalid {
            position: first + i,
            rid: rid_of(&records[i]),
            error,
        };
        let mut prepared = Vec::with_capacity(records.len());
        let mut refused = None;
        let keys = self.keys();
        for (i, json) in records.iter().enumerate() {
            match prepare_record(json, &self.member, &keys) {
                Ok(record) => prepared.push(record),
                Err(error) => {
                    refused = Some((i, error));
                    break;
                }
            }
        }
        // The chunks before the refused record's own are checked whole, signatures included,
        // before it is named (see the module doc): the first refusal in chunk order wins.
        let whole = refused
            .as_ref()
            .map_or(prepared.len(), |(i, _)| i / CHUNK * CHUNK);
        let checked = &prepared[..whole];
        if !checked.is_empty() && !verify_in_batch(checked) {
            for (i, record) in checked.iter().enumerate() {
                record
                    .signatures
                    .clone()
                    .verify()
                    .map_err(|e| invalid(i, e))?;
            }
        }
        if let Some((i, error)) = refused {
            return Err(invalid(i, error));
        }
        Ok(prepared.into_iter().map(|p| self.entry(p)).collect())
    }

    fn entry(&self, checked: PreparedRecord) -> NewEntry {
        let record = &checked.record.record;
        let amendment = |pin: &Pin, void: bool| Amendment {
            target: pin.rid.as_str().to_string(),
            pinned: pin.leaf.0,
            void,
        };
        let amends = match &record.body {
            Body::Correction(c) => Some(amendment(&c.corrects, false)),
            Body::Void(v) => Some(amendment(&v.voids, true)),
            _ => None,
        };
        let references = record
            .body
            .references()
            .into_iter()
            .filter(|(_, r)| r.log == self.member)
            .map(|(path, r)| LocalReference {
                path,
                rid: r.rid.as_str().to_string(),
                leaf: r.leaf.0,
            })
            .collect();
        let rid = Some(record.rid.as_str().to_string());
        let mut entry = NewEntry::plain(checked.entry, rid);
        entry.amends = amends;
        entry.references = references;
        entry
    }
}

/// Verifies every signature of `records` as one Ed25519 batch (about twice as fast per
/// signature as one at a time; see docs/decisions/0006).
fn verify_in_batch(records: &[PreparedRecord]) -> bool {
    let count: usize = records.iter().map(|r| r.signatures.signatures.len()).sum();
    let mut messages = Vec::with_capacity(count);
    let mut signatures = Vec::with_capacity(count);
    let mut keys = Vec::with_capacity(count);
    for record in records {
        for (key, sig) in &record.signatures.signatures {
            messages.push(record.signatures.message.as_slice());
            signatures.push(ed25519_dalek::Signature::from_bytes(sig));
            keys.push(*key.ed25519());
        }
    }
    ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok()
}

/// Splits a body into the JSON text of each record, without building a JSON tree: an array's
/// elements are cut out as raw text and parsed once, by the record parser.
fn split_body(body: &[u8]) -> Result<Vec<Vec<u8>>, SubmitError> {
    let malformed = |e: serde_json::Error| SubmitError::Malformed(e.to_string());
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let items: Vec<Vec<u8>> = match first {
        Some(b'[') => serde_json::from_slice::<Vec<&serde_json::value::RawValue>>(body)
            .map_err(malformed)?
            .into_iter()
            .map(|raw| raw.get().as_bytes().to_vec())
            .collect(),
        Some(b'{') => vec![body.to_vec()],
        _ => {
            return Err(SubmitError::Malformed(
                "expected an object or an array".into(),
            ));
        }
    };
    if items.is_empty() {
        return Err(SubmitError::Empty);
    }
    Ok(items)
}

/// Refuses a submission that holds one record id twice, naming the first two positions. (The
/// sequencer refuses rids already in the log; this tells the two mistakes apart.)
fn check_distinct(rids: &[String]) -> Result<(), SubmitError> {
    let mut seen = std::collections::HashMap::with_capacity(rids.len());
    for (position, rid) in rids.iter().enumerate() {
        if let Some(&first) = seen.get(rid.as_str()) {
            return Err(SubmitError::DuplicateInSubmission {
                rid: rid.clone(),
                first,
                second: position,
            });
        }
        seen.insert(rid.as_str(), position);
    }
    Ok(())
}

fn rid_of(json: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(json).ok()?;
    value.get("rid")?.as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use daylight_verifier::record::Record;
    use daylight_verifier::{KeyType, SigningKey};

    /// A key a new genesis version revokes is refused from then on, in every clone of the
    /// submitter, with the verifier's message naming the key.
    #[test]
    fn a_revoked_key_is_refused_once_the_keys_change() {
        let key = SigningKey::generate("test.daylight/county-1/operator/clerk", KeyType::Ed25519)
            .unwrap();
        let submitter = Submitter::new(
            MemberId::parse("county-1").unwrap(),
            AcceptedKeys::new().with_operator(key.verifier()),
        );
        let record = Record::from_value(serde_json::json!({
            "v": 1, "rid": "county-1-a-1", "kind": "allocation",
            "event_date": "2024-03-05", "program": "r24",
            "payer": {"member": "county-1"}, "payee": {"org": {"name": "Coop"}},
            "amount": {"minor": "100", "currency": "CNY"}, "purpose": "Roads"
        }))
        .unwrap()
        .sign(&key);
        let json = serde_json::to_vec(&record).unwrap();
        let clone = submitter.clone();
        assert!(clone.check_records(0, std::slice::from_ref(&json)).is_ok());
        submitter.set_keys(AcceptedKeys::new().with_revoked_operator(key.verifier(), 0));
        let refused = clone
            .check_records(0, std::slice::from_ref(&json))
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("test.daylight/county-1/operator/clerk"),
            "{refused}"
        );
        assert!(refused.contains("revoked"), "{refused}");
    }

    /// Which record a refusal names does not depend on how many records a task checks: the
    /// first chunk holding a refused record names its first record refused before the
    /// signatures, or else its first bad signature.
    #[test]
    fn the_refusal_named_is_the_same_for_any_task_size() {
        let key = SigningKey::generate("county-1-clerk", KeyType::Ed25519).unwrap();
        let submitter = Submitter::new(
            MemberId::parse("county-1").unwrap(),
            AcceptedKeys::new().with_operator(key.verifier()),
        );
        let records: Vec<Vec<u8>> = (0..700)
            .map(|i| {
                let record = Record::from_value(serde_json::json!({
                    "v": 1, "rid": format!("county-1-a-{i}"), "kind": "allocation",
                    "event_date": "2024-03-05", "program": "r24",
                    "payer": {"member": "county-1"}, "payee": {"org": {"name": "Coop"}},
                    "amount": {"minor": "100", "currency": "CNY"}, "purpose": "Roads"
                }))
                .unwrap()
                .sign(&key);
                serde_json::to_vec(&record).unwrap()
            })
            .collect();
        let bad_signature = |json: &[u8]| {
            String::from_utf8(json.to_vec())
                .unwrap()
                .replace("\"purpose\":\"Roads\"", "\"purpose\":\"Rods\"")
                .into_bytes()
        };
        let bad_field = |json: &[u8]| {
            String::from_utf8(json.to_vec())
                .unwrap()
                .replace("\"minor\":\"100\"", "\"minor\":\"0\"")
                .into_bytes()
        };
        let named = |records: &[Vec<u8>], per_task: usize| -> Option<usize> {
            for (n, part) in records.chunks(per_task).enumerate() {
                if let Err(SubmitError::Invalid { position, .. }) =
                    submitter.check_records(n * per_task, part)
                {
                    return Some(position);
                }
            }
            None
        };
        // Each case: the records damaged (position, whether its signature or a field), and
        // the position the refusal must name.
        type Case = (&'static [(usize, bool)], Option<usize>);
        let cases: [Case; 5] = [
            (&[], None),
            (&[(500, true)], Some(500)),
            (&[(10, true), (300, false)], Some(10)),
            (&[(10, true), (100, false)], Some(100)),
            (&[(300, true), (600, false), (650, true)], Some(300)),
        ];
        for (damage, expected) in cases {
            let mut submission = records.clone();
            for &(i, signature) in damage {
                submission[i] = if signature {
                    bad_signature(&submission[i])
                } else {
                    bad_field(&submission[i])
                };
            }
            for per_task in [CHUNK, 2 * CHUNK, MAX_TASK] {
                assert_eq!(
                    named(&submission, per_task),
                    expected,
                    "{damage:?}, {per_task}"
                );
            }
        }
    }

    #[test]
    fn a_rid_twice_in_one_submission_names_both_positions() {
        let rids: Vec<String> = ["a-1", "a-2", "a-3", "a-2", "a-1"]
            .iter()
            .map(|r| r.to_string())
            .collect();
        let error = check_distinct(&rids).unwrap_err();
        assert!(matches!(
            &error,
            SubmitError::DuplicateInSubmission { rid, first: 1, second: 3 } if rid == "a-2"
        ));
        let message = error.to_string();
        assert!(
            message.contains("appears twice in this submission, as records 1 and 3"),
            "{message}"
        );
        assert!(!message.contains("already in the log"), "{message}");
        assert!(check_distinct(&rids[..3]).is_ok());
    }
}
