//! Gossiped checkpoints: a note must be signed by the key the genesis lists for its origin, at
//! its size (the log's policy knows earlier keys and their rotation points; anything else is
//! rejected, which lowers the sender's gossipsub score); every valid witness
//! cosignature on it is collected; a different root for a size already held becomes
//! evidence; a checkpoint ahead of the mirror starts a catch-up.
//!
//! A checkpoint of an origin this node holds no log for is rejected too, so a peer that floods
//! made-up origins is penalised (`tests/bad_peers.rs`). But a member a genesis version adds
//! can race that version on gossip, and one rejected message puts its relayer below
//! gossipsub's graylist threshold (weight −100 per invalid message squared, against −80), so
//! this node would then ignore that peer, the version included. So before rejecting, the node
//! asks the relayer for its genesis chain ([`Replication::unknown_origin`]): if that brings a
//! newer version, the checkpoint is ignored, not rejected, and once the version is applied its
//! next checkpoint (or a catch-up on connection) is taken.

use daylight_verifier::checkpoint::SignedCheckpoint;
use daylight_verifier::cosignature;
use daylight_verifier::evidence::Evidence;
use daylight_verifier::note::Note;
use daylight_verifier::{Hash, VerifierKey};
use libp2p::PeerId;
use std::sync::Arc;

use super::*;
use crate::store::Batch;

/// Why a checkpoint note was not taken.
#[derive(Debug)]
pub(super) enum NotTaken {
    /// Its origin is no log this node holds (see the module doc).
    UnknownOrigin(String),
    /// Not a valid checkpoint of a held log: rejected.
    Invalid(String),
}

impl From<String> for NotTaken {
    fn from(reason: String) -> NotTaken {
        NotTaken::Invalid(reason)
    }
}

impl std::fmt::Display for NotTaken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotTaken::UnknownOrigin(origin) => write!(f, "unknown origin {origin:?}"),
            NotTaken::Invalid(reason) => f.write_str(reason),
        }
    }
}

impl Replication {
    /// The verdict on a gossiped checkpoint of `origin`, which no log held here has: ignored
    /// if `source`, asked for its genesis chain, had a newer version (the origin may be a
    /// member it adds); rejected otherwise.
    pub(super) async fn unknown_origin(&self, source: PeerId, origin: &str) -> MessageAcceptance {
        let newer = crate::genesis::gossip::pulled_newer(
            &self.genesis,
            &self.network,
            source,
            std::time::Duration::from_secs(2),
        )
        .await;
        if newer {
            tracing::info!(
                "checkpoint of {origin:?} from {source}: a newer genesis version was fetched; \
                 ignored until it is applied"
            );
            MessageAcceptance::Ignore
        } else {
            tracing::info!("rejected checkpoint gossip from {source}: unknown origin {origin:?}");
            MessageAcceptance::Reject
        }
    }

    /// A checkpoint note arrived (gossip or answer). Err says why it was not taken: an
    /// unknown origin, or not a valid checkpoint of a held log (to be rejected).
    pub(super) async fn checkpoint_seen(
        self: &Arc<Self>,
        data: &[u8],
        source: Option<PeerId>,
    ) -> Result<(), NotTaken> {
        let digest = Hash::digest(data);
        if self
            .handled_notes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&digest)
        {
            return Ok(());
        }
        let outcome = self.handle_checkpoint(data, source).await;
        if outcome.is_ok() {
            let mut handled = self.handled_notes.lock().unwrap_or_else(|e| e.into_inner());
            if handled.len() >= HANDLED_NOTES_LIMIT {
                handled.clear();
            }
            handled.insert(digest);
        }
        outcome
    }

    pub(super) async fn handle_checkpoint(
        self: &Arc<Self>,
        data: &[u8],
        source: Option<PeerId>,
    ) -> Result<(), NotTaken> {
        let note = Note::parse(data).map_err(|e| e.to_string())?;
        let body = daylight_verifier::Checkpoint::parse(&note.text).map_err(|e| e.to_string())?;
        let log = self
            .logs
            .by_origin(&body.origin)
            .ok_or_else(|| NotTaken::UnknownOrigin(body.origin.clone()))?;
        let signed = log.policy.open(data).map_err(|e| e.to_string())?;
        let checkpoint = &signed.checkpoint;
        if checkpoint.size == 0 && checkpoint.root != Hash::digest(b"") {
            return Err(NotTaken::Invalid(
                "a checkpoint of size 0 must carry the empty tree's root".into(),
            ));
        }

        // Collect every valid cosignature by one of this log's witnesses.
        let mut cosignatures = Vec::new();
        for witness in log.policy.witnesses() {
            for line in note.signatures.iter().filter(|s| s.is_by(witness)) {
                if cosignature::verify(witness, &note.text, line).is_ok() {
                    cosignatures.push((witness.name().to_string(), line.to_line()));
                }
            }
        }
        // Store them, and read what this node holds of the log, on the blocking pool.
        let (number, size, root) = (log.number, checkpoint.size, checkpoint.root);
        let (held, held_size) = self
            .stored(move |store| {
                for (witness, line) in &cosignatures {
                    let _ = store.put_cosignature(number, size, &root, witness, line);
                }
                Ok::<_, crate::store::StorageError>((
                    store.checkpoint_at(number, size)?,
                    store.size(number)?,
                ))
            })
            .await?;

        // A different root for a size already held is equivocation. (The held checkpoint's
        // body is compared first; its signature is checked only when building evidence.)
        let holds_checkpoint = held.is_some();
        if let Some(held) = held
            && !held.starts_with(note.text.as_str())
            && let Ok(held) = log.policy.open(held.as_bytes())
            && held.checkpoint.root != checkpoint.root
        {
            if let Ok(evidence) = Evidence::conflicting_roots(&held, &signed) {
                self.record_evidence(evidence).await;
            }
            return Ok(());
        }

        let is_own = log.own;
        if !is_own && checkpoint.size > held_size {
            self.clone().start_sync(
                log_signed_only(&signed, log.policy.log_key_for(checkpoint.size)),
                source,
            );
        } else if !is_own && checkpoint.size == 0 && !holds_checkpoint {
            // A log with no records yet: its size-0 checkpoint is mirrored (there is nothing
            // to fetch) and cosigned like any other, so a fresh network audits green.
            let empty = log_signed_only(&signed, log.policy.log_key_for(checkpoint.size))
                .note
                .to_text();
            let origin = log.origin.clone();
            self.stored(move |store| {
                store.commit_batch(
                    &Batch {
                        log: number,
                        start: 0,
                        entries: Vec::new(),
                        hashes: Vec::new(),
                        checkpoint: Some(empty),
                        mirrored: true,
                    },
                    &origin,
                )
            })
            .await?;
            self.cosign_and_publish(&signed).await;
        } else if !is_own && checkpoint.size == held_size {
            // Already mirrored: cosign if not yet done (e.g. after a restart).
            self.cosign_and_publish(&signed).await;
        }
        Ok(())
    }
}

/// The note with only the log's own signature (cosignatures are stored separately).
pub(super) fn log_signed_only(
    signed: &SignedCheckpoint,
    log_key: &VerifierKey,
) -> SignedCheckpoint {
    let mut signed = signed.clone();
    signed.note.signatures.retain(|s| s.is_by(log_key));
    signed
}
