//! The hot-tile cache: full tiles (hash tiles and entry bundles) that passed the integrity
//! checks, kept in memory so that serving a popular tile costs no storage read and no check.
//!
//! Full tiles are immutable, so an entry never goes stale; the cache is bounded by bytes and
//! evicts with CLOCK (a second-chance approximation of least-recently-used: a hit only sets a
//! flag under a shared lock, so concurrent readers do not serialise on reordering a list).
//! A repair of a log drops that log's tiles ([`TileCache::remove_log`], called by
//! [`Store::repair`](super::Store::repair)), so nothing cached before a repair outlives it.
//!
//! Invariant (kept by the callers, in `http/tiles.rs`): only bytes that passed the checks
//! against a checkpoint signed by the log's key are inserted.
//!
//! The cache itself is [`ClockCache`], generic over what it holds, so that the verified hash
//! subtrees proofs are built from ([`super::subtrees`]) are kept the same way under their own
//! bound.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use daylight_verifier::tile::TileKind;

/// The default bound of the cache: 64 MiB of tile bytes.
pub const DEFAULT_TILE_CACHE_BYTES: usize = 64 << 20;

/// Bytes counted per cached tile beyond its own (key, slot and map overhead), so that many
/// small tiles cannot exceed the bound by much.
const OVERHEAD_PER_TILE: usize = 96;

/// A key of a [`ClockCache`]: which log the value belongs to, for [`ClockCache::remove_log`].
pub trait CacheKey: Copy + Eq + Hash {
    /// The log's storage number.
    fn log(&self) -> u32;
}

/// A value of a [`ClockCache`]: how many bytes it counts against the bound (besides a fixed
/// overhead per entry).
pub trait Weighted: Clone {
    /// Bytes it holds.
    fn weight(&self) -> usize;
}

impl Weighted for Arc<[u8]> {
    fn weight(&self) -> usize {
        self.len()
    }
}

/// The hot-tile cache: full tiles' bytes as served, by tile.
pub type TileCache = ClockCache<TileKey, Arc<[u8]>>;

/// Which tile: the log's storage number, the kind (hash tile of a level, or entry bundle) and
/// the tile index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TileKey {
    /// The log's storage number.
    pub log: u32,
    /// Hash tile (with its tile level) or entry bundle.
    pub kind: TileKind,
    /// The tile's index within its level.
    pub index: u64,
}

impl CacheKey for TileKey {
    fn log(&self) -> u32 {
        self.log
    }
}

/// One cached value and its CLOCK reference flag.
struct Slot<K, V> {
    key: K,
    bytes: V,
    referenced: AtomicBool,
}

/// The cache's contents, under one lock.
struct Inner<K, V> {
    slots: Vec<Slot<K, V>>,
    /// Key → position in `slots`.
    positions: HashMap<K, usize>,
    /// The CLOCK hand: the next slot eviction looks at.
    hand: usize,
    /// Bytes counted (tile bytes plus [`OVERHEAD_PER_TILE`] each).
    bytes: usize,
}

impl<K, V> Default for Inner<K, V> {
    fn default() -> Self {
        Inner {
            slots: Vec::new(),
            positions: HashMap::new(),
            hand: 0,
            bytes: 0,
        }
    }
}

impl<K: CacheKey, V: Weighted> Inner<K, V> {
    /// Removes the slot at `at` (the last slot moves into its place).
    fn remove_at(&mut self, at: usize) {
        let gone = self.slots.swap_remove(at);
        self.positions.remove(&gone.key);
        self.bytes -= gone.bytes.weight() + OVERHEAD_PER_TILE;
        if let Some(moved) = self.slots.get(at) {
            self.positions.insert(moved.key, at);
        }
    }
}

/// A byte-bounded cache of checked values, evicting with CLOCK (see the module doc).
pub struct ClockCache<K, V> {
    capacity: usize,
    inner: RwLock<Inner<K, V>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl<K: CacheKey, V: Weighted> ClockCache<K, V> {
    /// An empty cache holding at most `capacity` bytes (0 disables it).
    pub fn new(capacity: usize) -> Self {
        ClockCache {
            capacity,
            inner: RwLock::new(Inner::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The cached bytes of `key`, if any (and marks them recently used).
    pub fn get(&self, key: &K) -> Option<V> {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        let found = inner.positions.get(key).and_then(|&at| inner.slots.get(at));
        match found {
            Some(slot) => {
                slot.referenced.store(true, Ordering::Relaxed);
                self.hits.fetch_add(1, Ordering::Relaxed);
                Some(slot.bytes.clone())
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Caches `bytes` as the tile `key` (which must have passed the integrity checks),
    /// evicting tiles not used since the hand last passed them until it fits. A tile larger
    /// than the whole cache is not kept.
    pub fn insert(&self, key: K, bytes: V) {
        let cost = bytes.weight() + OVERHEAD_PER_TILE;
        if cost > self.capacity {
            return;
        }
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if let Some(at) = inner.positions.get(&key).copied() {
            inner.remove_at(at);
        }
        // Each turn either clears a set flag (a second chance) or evicts; flags are only set
        // under the read lock, so within `2 · len` turns something is evicted: this ends.
        while inner.bytes + cost > self.capacity && !inner.slots.is_empty() {
            if inner.hand >= inner.slots.len() {
                inner.hand = 0;
            }
            let at = inner.hand;
            if inner.slots[at].referenced.swap(false, Ordering::Relaxed) {
                inner.hand += 1;
            } else {
                // The hand stays at `at`, which now holds the slot moved there (if any).
                inner.remove_at(at);
            }
        }
        let at = inner.slots.len();
        inner.positions.insert(key, at);
        inner.slots.push(Slot {
            key,
            bytes,
            referenced: AtomicBool::new(false),
        });
        inner.bytes += cost;
    }

    /// Drops every cached tile of `log` (after a repair of that log).
    pub fn remove_log(&self, log: u32) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        inner.slots.retain(|slot| slot.key.log() != log);
        inner.positions = inner
            .slots
            .iter()
            .enumerate()
            .map(|(at, slot)| (slot.key, at))
            .collect();
        inner.bytes = inner
            .slots
            .iter()
            .map(|slot| slot.bytes.weight() + OVERHEAD_PER_TILE)
            .sum();
        inner.hand = 0;
    }

    /// Tiles cached now.
    pub fn len(&self) -> usize {
        self.inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .slots
            .len()
    }

    /// Whether no tile is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes counted now (tile bytes plus a fixed overhead per tile); never above the bound
    /// after an insert returns.
    pub fn bytes(&self) -> usize {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).bytes
    }

    /// Whether a value of `weight` bytes fits without evicting anything.
    pub fn has_room(&self, weight: usize) -> bool {
        self.bytes() + weight + OVERHEAD_PER_TILE <= self.capacity
    }

    /// Lookups answered from the cache and lookups that missed, since start.
    pub fn hits_and_misses(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(log: u32, index: u64) -> TileKey {
        TileKey {
            log,
            kind: TileKind::Hashes { level: 0 },
            index,
        }
    }

    fn tile(byte: u8) -> Arc<[u8]> {
        Arc::from(vec![byte; 1000])
    }

    #[test]
    fn the_bound_holds_and_recently_used_tiles_survive() {
        let per = 1000 + OVERHEAD_PER_TILE;
        let cache = TileCache::new(4 * per);
        for i in 0..4 {
            cache.insert(key(1, i), tile(i as u8));
        }
        assert_eq!(cache.len(), 4);
        assert_eq!(cache.bytes(), 4 * per);
        // Tile 0 and 2 are used; inserting two more evicts 1 and 3 (no second chance).
        assert!(cache.get(&key(1, 0)).is_some());
        assert!(cache.get(&key(1, 2)).is_some());
        cache.insert(key(1, 4), tile(4));
        cache.insert(key(1, 5), tile(5));
        assert!(cache.bytes() <= 4 * per);
        assert_eq!(cache.len(), 4);
        assert_eq!(cache.get(&key(1, 0)).unwrap()[0], 0);
        assert_eq!(cache.get(&key(1, 2)).unwrap()[0], 2);
        assert!(cache.get(&key(1, 1)).is_none());
        assert!(cache.get(&key(1, 3)).is_none());
        assert!(cache.get(&key(1, 5)).is_some());
        // Many more inserts never exceed the bound.
        for i in 10..200 {
            cache.insert(key(1, i), tile(i as u8));
            assert!(cache.bytes() <= 4 * per);
        }
        // A tile larger than the cache is not kept.
        cache.insert(key(1, 999), Arc::from(vec![0; 5 * per]));
        assert!(cache.get(&key(1, 999)).is_none());
        assert!(cache.bytes() <= 4 * per);
        let (hits, misses) = cache.hits_and_misses();
        assert!(hits >= 5 && misses >= 3, "{hits} {misses}");
    }

    #[test]
    fn kinds_are_distinct_and_a_repair_drops_only_that_log() {
        let cache = TileCache::new(1 << 20);
        let bundle = TileKey {
            log: 1,
            kind: TileKind::Entries,
            index: 0,
        };
        let level1 = TileKey {
            log: 1,
            kind: TileKind::Hashes { level: 1 },
            index: 0,
        };
        cache.insert(key(1, 0), tile(1));
        cache.insert(bundle, tile(2));
        cache.insert(level1, tile(3));
        cache.insert(key(2, 0), tile(4));
        assert_eq!(cache.get(&key(1, 0)).unwrap()[0], 1);
        assert_eq!(cache.get(&bundle).unwrap()[0], 2);
        assert_eq!(cache.get(&level1).unwrap()[0], 3);
        // Replacing a tile's bytes keeps one slot and counts the new size.
        cache.insert(key(2, 0), Arc::from(vec![5; 10]));
        assert_eq!(cache.len(), 4);
        assert_eq!(cache.get(&key(2, 0)).unwrap().len(), 10);
        cache.remove_log(1);
        assert_eq!(cache.len(), 1);
        assert!(cache.get(&key(1, 0)).is_none());
        assert!(cache.get(&bundle).is_none());
        assert_eq!(cache.get(&key(2, 0)).unwrap()[0], 5);
        assert_eq!(cache.bytes(), 10 + OVERHEAD_PER_TILE);
        // A disabled cache keeps nothing.
        let off = TileCache::new(0);
        off.insert(key(1, 0), tile(1));
        assert!(off.is_empty());
    }
}
