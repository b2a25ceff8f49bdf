//! Witnessing: once a mirror has verified a checkpoint, this node cosigns it (if it is one of
//! that log's witnesses) and gossips the cosigned note; unchanged checkpoints are re-cosigned
//! every [`COSIGNATURE_REFRESH`] so clients can tell a live log from a stalled one.

use crate::network::Topic;
use crate::witness::Refusal;
use daylight_verifier::checkpoint::SignedCheckpoint;

use super::gossip::log_signed_only;
use super::*;

impl Replication {
    /// Re-cosigns the latest mirrored checkpoint of every log this node witnesses.
    pub(super) async fn refresh_cosignatures(&self) {
        for log in self.logs.iter().filter(|l| !l.own) {
            let number = log.number;
            if let Ok(Some((_, note))) = self.stored(move |s| s.latest_checkpoint(number)).await
                && let Ok(signed) = log.policy.open(note.as_bytes())
            {
                self.cosign_and_publish(&signed).await;
            }
        }
    }

    /// Cosigns a mirrored, verified checkpoint (if this node witnesses that log) and gossips
    /// the cosigned note.
    pub(super) async fn cosign_and_publish(&self, signed: &SignedCheckpoint) {
        let Some(witness) = &self.witness else { return };
        let Some(log) = self.logs.by_origin(&signed.checkpoint.origin) else {
            return;
        };
        let me = witness.verifier();
        if !log.policy.witnesses().contains(&me) {
            return;
        }
        // Cosigning swaps the witness state durably (an fsync): off the async workers.
        let (store, number, target) = (self.store.clone(), log.number, signed.clone());
        let (witness, name) = (witness.clone(), me.name().to_string());
        let cosigned = tokio::task::spawn_blocking(move || {
            let cosigned = witness.cosign_mirrored(&target, &store.hash_reader(number));
            if let Ok(line) = &cosigned {
                let checkpoint = &target.checkpoint;
                let _ = store.put_cosignature(
                    number,
                    checkpoint.size,
                    &checkpoint.root,
                    &name,
                    &line.to_line(),
                );
            }
            cosigned
        })
        .await;
        let Ok(cosigned) = cosigned else {
            tracing::error!("witness: the cosigning task failed");
            return;
        };
        match cosigned {
            Ok(line) => {
                let mut note =
                    log_signed_only(signed, log.policy.log_key_for(signed.checkpoint.size)).note;
                note.signatures.push(line);
                let _ = self
                    .network
                    .publish(Topic::Checkpoints, note.to_text().into_bytes())
                    .await;
            }
            Err(Refusal::Evidence(evidence)) => self.record_evidence(*evidence).await,
            Err(Refusal::Stale | Refusal::Equivocating) => {}
            Err(Refusal::Storage(e)) => tracing::error!("witness: {e}"),
        }
    }
}
