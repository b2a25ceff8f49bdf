//! Serving `/daylight/sync/1` requests (heads, checkpoints, entry chunks with proofs,
//! witnessing) from the logs this node holds, on the blocking pool.

use crate::network::protocol::{MAX_ENTRIES_PER_REQUEST, MAX_ENTRY_BYTES_PER_ANSWER};
use crate::network::{SyncRequest, SyncResponse};
use crate::store::Store;
use crate::witness::{AddOutcome, Witness};
use daylight_verifier::Hash;
use daylight_verifier::evidence::Evidence;
use daylight_verifier::merkle::{prove_consistency, tree_hash};

use super::*;

impl Replication {
    /// Answers a `/daylight/sync/1` request.
    pub(super) async fn answer(&self, request: SyncRequest) -> SyncResponse {
        if request == SyncRequest::Genesis {
            return SyncResponse::Genesis(self.genesis.current().to_json());
        }
        let store = self.store.clone();
        let logs = self.logs.clone();
        let witness = self.witness.clone();
        let answer =
            tokio::task::spawn_blocking(move || serve(&store, &logs, witness.as_deref(), request))
                .await
                .unwrap_or_else(|e| (SyncResponse::Refused(e.to_string()), None));
        if let (_, Some(evidence)) = &answer {
            self.record_evidence((**evidence).clone()).await;
        }
        answer.0
    }
}

/// How many of `entries` (at least one, if there is one) fit in `bound` bytes.
fn within_bytes(entries: &[Vec<u8>], bound: usize) -> usize {
    let mut total = 0usize;
    let fitting = entries
        .iter()
        .take_while(|entry| {
            total += entry.len();
            total <= bound
        })
        .count();
    fitting.max(entries.len().min(1))
}

/// Serves one request from storage; returns evidence when an add-checkpoint revealed some.
pub(super) fn serve(
    store: &Store,
    logs: &HeldLogs,
    witness: Option<&Witness>,
    request: SyncRequest,
) -> (SyncResponse, Option<Box<Evidence>>) {
    let refused = |why: String| (SyncResponse::Refused(why), None);
    let held = |origin: &str| logs.by_origin(origin).map(|l| l.number);
    match request {
        // Answered from the live genesis by `answer`, before storage is involved.
        SyncRequest::Genesis => refused("the genesis chain is answered by the replication".into()),
        SyncRequest::Checkpoint { origin } => {
            let Some(log) = held(&origin) else {
                return (SyncResponse::Checkpoint(None), None);
            };
            let note = store
                .latest_checkpoint(log)
                .ok()
                .flatten()
                .map(|(_, note)| with_cosignatures(store, log, &note));
            (SyncResponse::Checkpoint(note), None)
        }
        SyncRequest::Heads => {
            let notes = logs
                .iter()
                .filter_map(|log| {
                    let (_, note) = store.latest_checkpoint(log.number).ok().flatten()?;
                    Some(with_cosignatures(store, log.number, &note))
                })
                .collect();
            (SyncResponse::Heads(notes), None)
        }
        SyncRequest::Entries {
            origin,
            start,
            count,
            prove_to,
        } => {
            let Some(log) = held(&origin) else {
                return refused(format!("this node does not hold {origin}"));
            };
            let size = store.size(log).unwrap_or(0);
            if prove_to > size || start >= prove_to {
                return refused(format!("need start < prove_to <= {size}"));
            }
            let end = start
                + count
                    .clamp(1, MAX_ENTRIES_PER_REQUEST)
                    .min(prove_to - start);
            let mut entries = match store.entries(log, start..end) {
                Ok(e) => e,
                Err(e) => return refused(e.to_string()),
            };
            entries.truncate(within_bytes(&entries, MAX_ENTRY_BYTES_PER_ANSWER));
            if entries.is_empty() {
                return refused(format!("entry {start} of {origin} cannot be read"));
            }
            // What is answered ends where the entries do (fewer than asked when the byte bound
            // or missing entries cut them); the proof starts there.
            let end = start + entries.len() as u64;
            let proof = if end == prove_to {
                Vec::new()
            } else {
                match prove_consistency(end, prove_to, &store.hash_reader(log)) {
                    Ok(p) => p,
                    Err(e) => return refused(e.to_string()),
                }
            };
            (
                SyncResponse::Entries {
                    entries: entries
                        .into_iter()
                        .map(serde_bytes::ByteBuf::from)
                        .collect(),
                    proof: proof.into_iter().map(|h| h.0).collect(),
                },
                None,
            )
        }
        SyncRequest::Consistency { origin, old, new } => {
            let Some(log) = held(&origin) else {
                return refused(format!("this node does not hold {origin}"));
            };
            let reader = store.hash_reader(log);
            let size = store.size(log).unwrap_or(0);
            if new > size {
                return refused(format!("this node holds {size} entries of {origin}"));
            }
            match (
                tree_hash(old, &reader),
                prove_consistency(old, new, &reader),
            ) {
                (Ok(root), Ok(proof)) => (
                    SyncResponse::Consistency {
                        old_root: root.0,
                        proof: proof.into_iter().map(|h| h.0).collect(),
                    },
                    None,
                ),
                (Err(e), _) | (_, Err(e)) => refused(e.to_string()),
            }
        }
        SyncRequest::AddCheckpoint {
            old,
            proof,
            checkpoint,
        } => {
            let Some(witness) = witness else {
                return refused("this node is not a witness".into());
            };
            let proof: Vec<Hash> = proof.into_iter().map(Hash).collect();
            match witness.add_checkpoint(old, &proof, checkpoint.as_bytes()) {
                AddOutcome::Cosigned(lines) => (
                    SyncResponse::Cosigned(lines.iter().map(|l| l.to_line()).collect()),
                    None,
                ),
                AddOutcome::Conflict { latest, evidence } => {
                    (SyncResponse::Conflict(latest), evidence)
                }
                other => refused(format!("{other:?}")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::within_bytes;

    #[test]
    fn an_answer_is_cut_at_the_byte_bound_but_never_empty() {
        let entries = vec![vec![0u8; 400]; 10];
        assert_eq!(within_bytes(&entries, 4_000), 10);
        assert_eq!(within_bytes(&entries, 3_999), 9);
        assert_eq!(within_bytes(&entries, 400), 1);
        // An entry larger than the bound still goes alone.
        assert_eq!(within_bytes(&[vec![0u8; 70_000]], 1_000), 1);
        assert_eq!(within_bytes(&[], 1_000), 0);
    }
}
