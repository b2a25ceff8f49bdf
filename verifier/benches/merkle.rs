//! Merkle engine benchmarks: appends over an in-memory hash store, proof generation and proof
//! verification. Run with `cargo bench -p daylight-verifier --bench merkle`.
//!
//! Goals (issue 2): 1,000,000 appends of 400-byte leaves in under 1 s; an inclusion proof in
//! a 2^30-leaf tree verified in under 10 µs.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use daylight_verifier::Hash;
use daylight_verifier::merkle::{
    Frontier, HashReader, MemoryHashStore, NodeId, TreeError, append, append_batch, leaf_hash,
    node_hash, prove_consistency, prove_inclusion, tree_hash, verify_consistency, verify_inclusion,
};

const ENTRY_SIZE: usize = 400;
const APPENDS: u64 = 1_000_000;

/// A deterministic 400-byte entry for index `i` (the index in its first bytes).
fn entry(buffer: &mut [u8; ENTRY_SIZE], i: u64) -> &[u8] {
    buffer[..8].copy_from_slice(&i.to_le_bytes());
    &buffer[..]
}

/// A real tree of 2^30 leaves without 2^30 hashes of memory: its leaves repeat with period
/// 2^16, so every subtree of level 16 or more has the same hash. All of its hashes are
/// genuine RFC 6962 hashes of that tree, so its proofs are real proofs.
struct PeriodicTree {
    block: MemoryHashStore,
    above: Vec<Hash>,
}

const PERIOD_LEVEL: u8 = 16;

impl PeriodicTree {
    fn new() -> PeriodicTree {
        let leaves: Vec<Hash> = (0..1u64 << PERIOD_LEVEL)
            .map(|i| leaf_hash(&i.to_le_bytes()))
            .collect();
        let mut block = MemoryHashStore::new();
        block.extend(append_batch(0, &leaves, &block).unwrap());
        let mut above = vec![block.get(NodeId::new(PERIOD_LEVEL, 0)).unwrap()];
        for _ in PERIOD_LEVEL..63 {
            let last = *above.last().unwrap();
            above.push(node_hash(&last, &last));
        }
        PeriodicTree { block, above }
    }

    fn leaf(&self, index: u64) -> Hash {
        self.block
            .get(NodeId::new(0, index % (1 << PERIOD_LEVEL)))
            .unwrap()
    }
}

impl HashReader for PeriodicTree {
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, TreeError> {
        ids.iter()
            .map(|id| {
                if id.level >= PERIOD_LEVEL {
                    Ok(self.above[(id.level - PERIOD_LEVEL) as usize])
                } else {
                    let period = 1u64 << (PERIOD_LEVEL - id.level);
                    let local = NodeId::new(id.level, id.index % period);
                    self.block.get(local).ok_or(TreeError::Missing(*id))
                }
            })
            .collect()
    }
}

fn appends(c: &mut Criterion) {
    let mut group = c.benchmark_group("append");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(12));
    group.throughput(Throughput::Elements(APPENDS));

    group.bench_function("1M leaves of 400 B, storage-backed append()", |b| {
        b.iter_batched(
            MemoryHashStore::new,
            |mut store| {
                let mut buffer = [7u8; ENTRY_SIZE];
                for i in 0..APPENDS {
                    let new = append(i, leaf_hash(entry(&mut buffer, i)), &store).unwrap();
                    store.extend(new);
                }
                store
            },
            BatchSize::PerIteration,
        )
    });

    group.bench_function("1M leaves of 400 B, in-memory frontier", |b| {
        b.iter_batched(
            MemoryHashStore::new,
            |mut store| {
                let mut buffer = [7u8; ENTRY_SIZE];
                let mut frontier = Frontier::empty();
                let mut new = Vec::with_capacity(64);
                for i in 0..APPENDS {
                    frontier.append(leaf_hash(entry(&mut buffer, i)), &mut new);
                    store.extend(new.drain(..));
                }
                (store, frontier.root())
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn proofs(c: &mut Criterion) {
    let big = PeriodicTree::new();
    let size_2_30 = 1u64 << 30;
    let root_2_30 = tree_hash(size_2_30, &big).unwrap();

    let mut store = MemoryHashStore::new();
    let leaves: Vec<Hash> = (0..APPENDS).map(|i| leaf_hash(&i.to_le_bytes())).collect();
    store.extend(append_batch(0, &leaves, &store).unwrap());
    let root_1m = tree_hash(APPENDS, &store).unwrap();

    let mut group = c.benchmark_group("proof");
    let mut i = 0u64;
    let mut next = move |modulus: u64| {
        i = i
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (i >> 11) % modulus
    };

    group.bench_function("prove inclusion, 2^30 leaves", |b| {
        b.iter(|| prove_inclusion(black_box(next(size_2_30)), size_2_30, &big).unwrap())
    });
    group.bench_function("prove inclusion, 1M leaves in memory", |b| {
        b.iter(|| prove_inclusion(black_box(next(APPENDS)), APPENDS, &store).unwrap())
    });

    let samples: Vec<(u64, Hash, Vec<Hash>)> = (0..256)
        .map(|_| {
            let index = next(size_2_30);
            let proof = prove_inclusion(index, size_2_30, &big).unwrap();
            (index, big.leaf(index), proof)
        })
        .collect();
    let mut k = 0usize;
    group.bench_function("verify inclusion, 2^30 leaves", |b| {
        b.iter(|| {
            k = (k + 1) % samples.len();
            let (index, leaf, proof) = &samples[k];
            verify_inclusion(*index, size_2_30, leaf, proof, &root_2_30).unwrap()
        })
    });
    group.bench_function("prove and verify inclusion, 2^30 leaves", |b| {
        b.iter(|| {
            let index = next(size_2_30);
            let proof = prove_inclusion(index, size_2_30, &big).unwrap();
            verify_inclusion(index, size_2_30, &big.leaf(index), &proof, &root_2_30).unwrap()
        })
    });
    group.bench_function("verify inclusion, 1M leaves", |b| {
        b.iter(|| {
            let index = next(APPENDS);
            let proof = prove_inclusion(index, APPENDS, &store).unwrap();
            verify_inclusion(index, APPENDS, &leaves[index as usize], &proof, &root_1m).unwrap()
        })
    });

    let old = size_2_30 - 12_345;
    let old_root = tree_hash(old, &big).unwrap();
    let consistency = prove_consistency(old, size_2_30, &big).unwrap();
    group.bench_function("prove consistency, 2^30 leaves", |b| {
        b.iter(|| prove_consistency(black_box(old), size_2_30, &big).unwrap())
    });
    group.bench_function("verify consistency, 2^30 leaves", |b| {
        b.iter(|| verify_consistency(old, size_2_30, &old_root, &root_2_30, &consistency).unwrap())
    });
    group.finish();
}

fn raw_sha256(c: &mut Criterion) {
    let mut group = c.benchmark_group("reference");
    let data = [1u8; ENTRY_SIZE];
    group.throughput(Throughput::Bytes(ENTRY_SIZE as u64));
    group.bench_function("SHA-256 of one 400-byte leaf", |b| {
        b.iter(|| leaf_hash(black_box(&data)))
    });
    group.finish();
}

criterion_group!(benches, appends, proofs, raw_sha256);
criterion_main!(benches);
