//! The background scrub and repair task of [`Integrity`]: paced full passes over every held
//! log, and repair of what they find (from the replay itself, or with entries from peers).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use daylight_verifier::Hash;
use daylight_verifier::merkle::{NodeId, tree_hash};
use libp2p::PeerId;

use super::replay::{Replay, SCRUB_CHUNK, full_replay, signed_head};
use super::{Integrity, SignedRoot};
use crate::health::Problem;
use crate::held::HeldLog;
use crate::network::protocol::MAX_ENTRIES_PER_REQUEST;
use crate::network::{Network, SyncRequest, SyncResponse};

/// How the scrub is paced.
#[derive(Clone, Copy, Debug)]
pub struct ScrubPace {
    /// Entries checked per second at most (bounds the scrub's disk reads and CPU).
    pub entries_per_second: u64,
    /// Pause between the end of one full pass over every log and the next pass.
    pub pass_interval: Duration,
}

impl Default for ScrubPace {
    fn default() -> Self {
        ScrubPace {
            entries_per_second: 20_000,
            pass_interval: Duration::from_secs(3600),
        }
    }
}

impl Integrity {
    /// Starts a scrub pass over every held log now instead of at the next interval (for
    /// operators' tools and benchmarks).
    pub fn scrub_now(&self) {
        self.wake.notify_one();
    }

    /// Whether any damage is known and not yet repaired.
    pub fn has_damage(&self) -> bool {
        !self
            .damaged
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// The fast check at start: each log's stored tree root against its latest signed
    /// checkpoint. Logs that fail are reported (and scrubbed and repaired first).
    pub fn check_at_start(&self) {
        for log in self.logs.iter() {
            if let Err(what) = self.fast_check(log) {
                let size = self.store.size(log.number).unwrap_or(0);
                self.report(log.number, (0, size), what);
            }
        }
    }

    fn fast_check(&self, log: &HeldLog) -> Result<(), String> {
        let Some(head) = self.signed_head(log)? else {
            return Ok(());
        };
        let root = tree_hash(head.size, &self.store.hash_reader(log.number))
            .map_err(|e| format!("the stored tree ({e})"))?;
        if root != head.root {
            return Err(format!(
                "the stored tree of size {} (its root is not the signed one)",
                head.size
            ));
        }
        Ok(())
    }

    fn signed_head(&self, log: &HeldLog) -> Result<Option<SignedRoot>, String> {
        signed_head(&self.store, log)
    }

    /// The scrub: a fast check of every log, then full passes over every log at `pace`, one
    /// after another, with repair of whatever they find. Damage reported on read starts a pass
    /// at once. Ends when `stop` is cancelled.
    pub async fn run(self: Arc<Self>, pace: ScrubPace, stop: crate::shutdown::Shutdown) {
        let this = self.clone();
        let _ = tokio::task::spawn_blocking(move || this.check_at_start()).await;
        loop {
            let logs = self.logs.clone();
            for log in logs.iter() {
                if stop.is_cancelled() {
                    return;
                }
                if let Err(e) = self.scrub_and_repair(log, pace, &stop).await {
                    tracing::warn!("scrub of {}: {e}", log.origin);
                }
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(if self.has_damage() {
                    Duration::from_secs(5)
                } else {
                    pace.pass_interval
                }) => {}
            }
        }
    }

    /// One pass over `log`, then its repair if the pass found damage.
    async fn scrub_and_repair(
        self: &Arc<Self>,
        log: &HeldLog,
        pace: ScrubPace,
        stop: &crate::shutdown::Shutdown,
    ) -> Result<(), String> {
        let head = match self.signed_head(log) {
            Ok(Some(head)) => head,
            Ok(None) => return Ok(()),
            Err(what) => {
                let size = self.store.size(log.number).unwrap_or(0);
                self.report(log.number, (0, size), what);
                return Ok(());
            }
        };
        let mut replay = Replay::new(head);
        let mut next = 0;
        while next < head.size {
            if stop.is_cancelled() {
                return Ok(());
            }
            let end = (next + SCRUB_CHUNK).min(head.size);
            let started = tokio::time::Instant::now();
            let store = self.store.clone();
            let number = log.number;
            replay = tokio::task::spawn_blocking(move || {
                let entries = store.entries(number, next..end).unwrap_or_default();
                replay.feed(&store, number, next, end, entries, &HashMap::new());
                replay
            })
            .await
            .map_err(|e| e.to_string())?;
            self.scrubbed.fetch_add(end - next, Ordering::Relaxed);
            let budget = Duration::from_secs_f64(
                (end - next) as f64 / pace.entries_per_second.max(1) as f64,
            );
            next = end;
            if let Some(rest) = budget.checked_sub(started.elapsed()) {
                tokio::select! {
                    _ = stop.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(rest) => {}
                }
            }
        }
        if replay.is_clean() {
            self.repaired(log);
            return Ok(());
        }
        let what = replay.describe();
        let size = head.size;
        self.report(log.number, (0, size), what);
        self.repair(log, replay).await
    }

    /// Marks `log` as holding no known damage.
    fn repaired(&self, log: &HeldLog) {
        let had = self
            .damaged
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&log.number)
            .is_some();
        if had {
            tracing::info!(
                "log {} verified again against its signed checkpoint",
                log.origin
            );
        }
        self.health.clear(&Problem::Damaged(log.origin.clone()));
    }

    /// Repairs `log` after a pass that found damage: from the replay itself when the entries
    /// reach the signed root, else with entries fetched from peers and a second replay.
    async fn repair(self: &Arc<Self>, log: &HeldLog, replay: Replay) -> Result<(), String> {
        if replay.root_matches() {
            let hashes = replay.wrong_hashes;
            self.write_repair(log, Vec::new(), hashes).await?;
            return self.confirm_repair(log, replay.head).await;
        }
        let suspects = replay.suspect_tiles();
        let Some(network) = &self.network else {
            return Err("entries are damaged and no network to repair them from".into());
        };
        let peers: Vec<PeerId> = network
            .peers()
            .await
            .unwrap_or_default()
            .iter()
            .filter_map(|p| p.peer_id.parse().ok())
            .collect();
        for peer in peers {
            let Some(fetched) = self.fetch(network, peer, log, &suspects).await else {
                continue;
            };
            let this = self.clone();
            let checked = log.clone();
            let head = replay.head;
            let second = tokio::task::spawn_blocking(move || {
                this.full_replay(&checked, head, &fetched)
                    .map(|r| (r, fetched))
            })
            .await
            .map_err(|e| e.to_string())?;
            let Ok((second, fetched)) = second else {
                continue;
            };
            if !second.root_matches() {
                tracing::warn!(
                    "peer {peer} sent entries of {} that do not lead to its signed root",
                    log.origin
                );
                continue;
            }
            let entries: Vec<(u64, Vec<u8>)> = fetched.into_iter().collect();
            tracing::info!(
                "repairing {} entries of {} from peer {peer}",
                entries.len(),
                log.origin
            );
            self.write_repair(log, entries, second.wrong_hashes).await?;
            return self.confirm_repair(log, head).await;
        }
        Err(format!(
            "no connected peer served entries of {} that verify; will try again",
            log.origin
        ))
    }

    /// Reads the repaired log back: only a replay from storage that is clean clears the
    /// damage. Damage to the storage engine's own pages (a B-tree page whose keys are out of
    /// order) can survive a rewrite; then the damage stays reported and is still not served.
    async fn confirm_repair(
        self: &Arc<Self>,
        log: &HeldLog,
        head: SignedRoot,
    ) -> Result<(), String> {
        let this = self.clone();
        let checked = log.clone();
        let replay = tokio::task::spawn_blocking(move || {
            full_replay(&this.store, &checked, head, &HashMap::new())
        })
        .await
        .map_err(|e| e.to_string())??;
        if replay.is_clean() {
            self.repaired(log);
            return Ok(());
        }
        Err(format!(
            "the repair of {} did not hold ({}): the database's own structure is damaged there; \
             the damaged items stay unserved — restore the database from a backup, or (on a \
             mirror) move the data directory aside and let the node copy the log again",
            log.origin,
            replay.describe()
        ))
    }

    /// Entries of the `suspects` tiles of `log` from `peer`, by index (unverified).
    async fn fetch(
        &self,
        network: &Network,
        peer: PeerId,
        log: &HeldLog,
        suspects: &BTreeSet<(u64, u64)>,
    ) -> Option<HashMap<u64, Vec<u8>>> {
        let mut fetched = HashMap::new();
        for &(start, end) in suspects {
            let mut at = start;
            while at < end {
                let count = (end - at).min(MAX_ENTRIES_PER_REQUEST);
                let request = SyncRequest::Entries {
                    origin: log.origin.clone(),
                    start: at,
                    count,
                    prove_to: at + count,
                };
                let Ok(SyncResponse::Entries { entries, .. }) =
                    network.request(peer, request).await
                else {
                    return None;
                };
                if entries.is_empty() || entries.len() as u64 > count {
                    return None;
                }
                for entry in entries {
                    fetched.insert(at, entry.into_vec());
                    at += 1;
                }
            }
        }
        Some(fetched)
    }

    fn full_replay(
        &self,
        log: &HeldLog,
        head: SignedRoot,
        substitutes: &HashMap<u64, Vec<u8>>,
    ) -> Result<Replay, String> {
        full_replay(&self.store, log, head, substitutes)
    }

    async fn write_repair(
        &self,
        log: &HeldLog,
        entries: Vec<(u64, Vec<u8>)>,
        hashes: Vec<(NodeId, Hash)>,
    ) -> Result<(), String> {
        let store = self.store.clone();
        let number = log.number;
        let count = entries.len() + hashes.len();
        tokio::task::spawn_blocking(move || store.repair(number, &entries, &hashes))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        self.repairs.fetch_add(1, Ordering::Relaxed);
        // Checks remembered before the repair stay valid (they passed); the store itself drops
        // the log's cached tiles on every repair (`Store::repair`).
        tracing::info!("repaired {count} stored items of log {}", log.origin);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::Health;
    use crate::integrity::replay;

    use crate::integrity::test_log::signed_log;

    /// A stop that arrives while the scrub is pacing itself ends the task, also when that
    /// was the last log of the pass (the stop must not be consumed and then waited for).
    #[tokio::test]
    async fn the_scrub_stops_when_told_mid_pass() {
        let (dir, store, log) = signed_log(700);
        let integrity = Arc::new(Integrity::new(
            store,
            Arc::new(Health::default()),
            Arc::new(crate::held::HeldLogs::from_logs(vec![log])),
            None,
        ));
        let pace = ScrubPace {
            entries_per_second: 1_000,
            pass_interval: Duration::from_secs(3600),
        };
        let stop = crate::shutdown::Shutdown::new();
        let task = stop.spawn(integrity.clone().run(pace, stop.clone()));
        while integrity.scrubbed.load(Ordering::Relaxed) == 0 {
            tokio::task::yield_now().await;
        }
        stop.cancel();
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("the scrub ends within 10 s of being stopped")
            .unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A whole pass over an intact log finds nothing; a changed stored hash is found and
    /// repaired from the entries, with no peer.
    #[tokio::test]
    async fn a_pass_finds_a_wrong_hash_and_repairs_it_from_the_entries() {
        let (dir, store, log) = signed_log(300);
        let health = Arc::new(Health::default());
        let integrity = Arc::new(Integrity::new(
            store.clone(),
            health.clone(),
            Arc::new(crate::held::HeldLogs::from_logs(vec![log.clone()])),
            None,
        ));
        assert_eq!(replay::verify_log(&store, &log).unwrap(), None);
        let id = daylight_verifier::merkle::NodeId::new(3, 5);
        store
            .repair(log.number, &[], &[(id, daylight_verifier::Hash([9; 32]))])
            .unwrap();
        assert!(replay::verify_log(&store, &log).unwrap().is_some());
        let pace = ScrubPace {
            entries_per_second: 1_000_000,
            pass_interval: Duration::from_secs(3600),
        };
        let stop = crate::shutdown::Shutdown::new();
        let task = stop.spawn(integrity.clone().run(pace, stop.clone()));
        while integrity.repairs.load(Ordering::Relaxed) == 0 {
            tokio::task::yield_now().await;
        }
        stop.cancel();
        task.await.unwrap();
        assert_eq!(replay::verify_log(&store, &log).unwrap(), None);
        assert!(health.report().is_empty(), "{:?}", health.report());
        assert!(integrity.damage_found.load(Ordering::Relaxed) > 0);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
