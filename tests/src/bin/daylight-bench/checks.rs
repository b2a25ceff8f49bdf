//! The record checks alone, and the physical references (SHA-256, Ed25519, fsync).

use super::*;

pub(super) fn references(
    report: &mut Report,
    records: &[serde_json::Value],
    entry_size: usize,
    data_dir: &std::path::Path,
) -> anyhow::Result<()> {
    let entries: Vec<Vec<u8>> = records
        .iter()
        .take(20_000)
        .map(|r| to_entry_bytes(&serde_json::from_value(r.clone()).expect("record")))
        .collect();
    let bytes: usize = entries.iter().map(Vec::len).sum();
    let began = Instant::now();
    let mut sink = 0u8;
    for _ in 0..10 {
        for e in &entries {
            sink ^= daylight_verifier::merkle::leaf_hash(e).0[0];
        }
    }
    let elapsed = began.elapsed().as_secs_f64();
    std::hint::black_box(sink);
    report.add(
        "SHA-256 leaf hashing of the same entries, one core",
        format!(
            "{:.0} MB/s ({:.0} entries/s)",
            10.0 * bytes as f64 / elapsed / 1e6,
            10.0 * entries.len() as f64 / elapsed
        ),
    );

    let key = SigningKey::generate("bench/key", KeyType::Ed25519)?;
    let messages: Vec<Vec<u8>> = (0..4096u32)
        .map(|i| {
            let mut m = vec![7u8; entry_size];
            m[..4].copy_from_slice(&i.to_le_bytes());
            m
        })
        .collect();
    let signatures: Vec<ed25519_dalek::Signature> = messages
        .iter()
        .map(|m| ed25519_dalek::Signature::from_bytes(&key.sign_raw(m)))
        .collect();
    let verifier = key.verifier();
    let began = Instant::now();
    for (m, s) in messages.iter().zip(&signatures) {
        assert!(verifier.verify_raw(m, &s.to_bytes()));
    }
    report.add(
        "Ed25519 verifications/s, one at a time (strict), one core",
        format!(
            "{:.0}",
            messages.len() as f64 / began.elapsed().as_secs_f64()
        ),
    );
    let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    let keys = vec![*verifier.ed25519(); messages.len()];
    // The node verifies each chunk of a submission (`submit::CHUNK` records) as one batch.
    for batch in [64, 256, 1024] {
        let began = Instant::now();
        for ((m, s), k) in refs
            .chunks(batch)
            .zip(signatures.chunks(batch))
            .zip(keys.chunks(batch))
        {
            ed25519_dalek::verify_batch(m, s, k).expect("batch verifies");
        }
        report.add(
            &format!("Ed25519 verifications/s, batches of {batch}, one core"),
            format!(
                "{:.0}",
                messages.len() as f64 / began.elapsed().as_secs_f64()
            ),
        );
    }

    let path = data_dir.join("fsync-probe");
    let mut file = std::fs::File::create(&path)?;
    let block = vec![1u8; 4096];
    let began = Instant::now();
    let mut n = 0u64;
    while began.elapsed() < Duration::from_secs(2) {
        file.write_all(&block)?;
        file.sync_data()?;
        n += 1;
    }
    report.add(
        "fsyncs/s on the data disk (4 KiB write + fdatasync)",
        format!("{:.0}", n as f64 / began.elapsed().as_secs_f64()),
    );
    drop(file);
    std::fs::remove_file(path)?;
    Ok(())
}

/// Records checked per second on one thread: by the node's submission check (each record's
/// checks, then the chunk's signatures in one Ed25519 batch, as `POST /v1/records` does), and
/// by the checks as they ran before issue 13, rebuilt from the verifier's public functions
/// (full parse into a JSON tree, field rules with a JCS pass to measure the size, privacy
/// guard, signers with a JCS pass for the signing bytes, a JCS pass for the entry bytes),
/// with the same batch verification, so the two rows differ only in the preparation.
pub(super) fn checks_alone(
    report: &mut Report,
    genesis_file: &std::path::Path,
    bodies: &[Vec<u8>],
) -> anyhow::Result<()> {
    let genesis = daylight_genesis::Genesis::open(&std::fs::read(genesis_file)?)?;
    let submitter = daylight_node::publish::submit::Submitter::from_genesis(&genesis, "county-1")?;
    let keys = genesis.accepted_keys("county-1")?;
    let member = MemberId::parse("county-1").map_err(|e| anyhow::anyhow!("{e}"))?;
    let chunk = 256;
    for round in 0..2 {
        let began = Instant::now();
        for (n, records) in bodies.chunks(chunk).enumerate() {
            let entries = submitter
                .check_records(n * chunk, records)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            std::hint::black_box(entries);
        }
        let now = bodies.len() as f64 / began.elapsed().as_secs_f64();
        let began = Instant::now();
        for records in bodies.chunks(chunk) {
            let mut messages = Vec::with_capacity(records.len());
            let mut signatures = Vec::with_capacity(records.len());
            let mut signers = Vec::with_capacity(records.len());
            let mut kept = Vec::with_capacity(records.len());
            for json in records {
                let record = SignedRecord::from_json(json).map_err(|e| anyhow::anyhow!("{e}"))?;
                validate(&record, &member).map_err(|e| anyhow::anyhow!("{e}"))?;
                check_privacy(&record).map_err(|e| anyhow::anyhow!("{e}"))?;
                let pending =
                    prepare_signatures(&record, &keys).map_err(|e| anyhow::anyhow!("{e}"))?;
                let entry = to_entry_bytes(&record);
                for (key, sig) in &pending.signatures {
                    signers.push(*key.ed25519());
                    signatures.push(ed25519_dalek::Signature::from_bytes(sig));
                }
                messages.push(pending.message);
                kept.push((record, entry));
            }
            let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
            ed25519_dalek::verify_batch(&refs, &signatures, &signers)
                .map_err(|e| anyhow::anyhow!("batch: {e}"))?;
            std::hint::black_box(kept);
        }
        let before = bodies.len() as f64 / began.elapsed().as_secs_f64();
        // The first round warms caches and the per-thread key memory; the second is reported.
        if round == 1 {
            report.add(
                &format!(
                    "record checks alone, one thread, {}-record chunks (schema, JCS form, privacy, signers, batched Ed25519): now / as before issue 13",
                    chunk
                ),
                format!(
                    "{now:.0} / {before:.0} records/s ({:.2}×)",
                    now / before
                ),
            );
        }
    }
    Ok(())
}
