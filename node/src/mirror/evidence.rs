//! Evidence of equivocation: verified against the log's key, stored (after which this node
//! never cosigns that log again), and gossiped once.

use crate::network::Topic;
use daylight_verifier::evidence::Evidence;

use super::*;

impl Replication {
    /// Stores new evidence, stops cosigning the log, and gossips it.
    pub async fn record_evidence(&self, evidence: Evidence) {
        let id = evidence.id().to_hex();
        let json = evidence.to_json();
        let (store, origin, key, document) = (
            self.store.clone(),
            evidence.origin.clone(),
            id.clone(),
            json.clone(),
        );
        let stored =
            tokio::task::spawn_blocking(move || store.put_evidence(&origin, &key, &document)).await;
        let Ok(stored) = stored else {
            tracing::error!("storing evidence {id}: the storage task failed");
            return;
        };
        match stored {
            Ok(true) => {
                tracing::warn!("evidence {id}: log {} equivocated", evidence.origin);
                let _ = self
                    .network
                    .publish(Topic::Evidence, json.into_bytes())
                    .await;
            }
            Ok(false) => {}
            Err(e) => tracing::error!("storing evidence: {e}"),
        }
    }

    pub(super) async fn evidence_seen(&self, data: &[u8]) -> Result<(), String> {
        let evidence = Evidence::from_json(data).map_err(|e| e.to_string())?;
        let log = self
            .logs
            .by_origin(&evidence.origin)
            .ok_or_else(|| format!("unknown origin {:?}", evidence.origin))?;
        evidence
            .verify(log.policy.log_key())
            .map_err(|e| e.to_string())?;
        self.record_evidence(evidence).await;
        Ok(())
    }
}
