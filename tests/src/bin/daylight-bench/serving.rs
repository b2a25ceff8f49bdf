//! Proofs and tiles served over HTTP by the node, and the same tiles served by nginx from a
//! static copy beside it.

use super::lean_http::Connection;
use super::*;

/// Inclusion proofs served per second over HTTP for random indexes of the tree of `size`,
/// from [`PROOF_CLIENTS`] keep-alive clients, for `window`.
pub(super) fn proofs_served(
    report: &mut Report,
    http: std::net::SocketAddr,
    size: u64,
    window: Duration,
) -> anyhow::Result<()> {
    let proof_base = format!("http://{http}/log/county-1/proof/inclusion");
    let served = AtomicU64::new(0);
    let began = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..PROOF_CLIENTS {
            let served = &served;
            let proof_base = &proof_base;
            scope.spawn(move || {
                let agent = agent();
                let mut x = t + 1;
                while began.elapsed() < window {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let index = (x >> 20) % size;
                    let url = format!("{proof_base}?index={index}&size={size}");
                    let mut response = agent.get(&url).call().expect("proof request");
                    assert_eq!(response.status(), 200, "proof of {index}");
                    let _ = response.body_mut().read_to_vec();
                    served.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    let rate = served.load(Ordering::Relaxed) as f64 / began.elapsed().as_secs_f64();
    check_proofs(http, size)?;
    report.add(
        &format!(
            "inclusion proofs served/s over HTTP, tree of {size}, {PROOF_CLIENTS} keep-alive clients"
        ),
        format!("{rate:.0}"),
    );
    Ok(())
}

/// Checks a sample of the proofs served against the checkpoint's root, as a client does,
/// with each leaf hash taken from the level-0 hash tile that holds it (the node builds
/// proofs and tiles on different paths, so this checks one against the other).
fn check_proofs(http: std::net::SocketAddr, size: u64) -> anyhow::Result<()> {
    let agent = agent();
    let base = format!("http://{http}/log/county-1");
    let note = agent
        .get(&format!("{base}/checkpoint"))
        .call()?
        .body_mut()
        .read_to_string()?;
    let body = note.split_once("\n\n").context("a checkpoint note")?.0;
    let checkpoint = daylight_verifier::checkpoint::Checkpoint::parse(&format!("{body}\n"))?;
    anyhow::ensure!(
        checkpoint.size == size,
        "checkpoint of size {}",
        checkpoint.size
    );
    let full = size / 256 * 256;
    for n in 0..200u64 {
        let index = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) % full;
        let tile = agent
            .get(&format!(
                "{base}/tile/0/{}",
                daylight_verifier::tile::encode_index(index / 256)
            ))
            .call()?
            .body_mut()
            .read_to_vec()?;
        let at = (index % 256) as usize * 32;
        let leaf = daylight_verifier::Hash(tile[at..at + 32].try_into()?);
        let text = agent
            .get(&format!("{base}/proof/inclusion?index={index}&size={size}"))
            .call()?
            .body_mut()
            .read_to_string()?;
        let proof: daylight_api::InclusionProof = serde_json::from_str(&text)?;
        daylight_verifier::merkle::verify_inclusion(
            index,
            size,
            &leaf,
            &proof.proof,
            &checkpoint.root,
        )
        .map_err(|e| anyhow::anyhow!("the proof of {index} does not verify: {e}"))?;
    }
    Ok(())
}

/// Full tiles served per second over HTTP (issue 13, item 2): level-0 hash tiles and entry
/// bundles of a tree of `size`, from [`tile_clients`] keep-alive connections of the lean
/// client ([`Connection`]). Two figures per
/// kind: the first read of every full tile once (storage read and integrity check), then
/// random re-reads for `window` (what the node's hot-tile cache holds, and storage for the
/// rest). Every answer is checked for status 200 and, for hash tiles, 8,192 bytes.
pub(super) fn tiles_served(
    report: &mut Report,
    http: std::net::SocketAddr,
    size: u64,
    window: Duration,
) -> anyhow::Result<()> {
    tiles_at(report, &format!("http://{http}"), "", size, window)
}

/// [`tiles_served`] from the server at `base` (`http://host:port`), reported with `label`
/// before each figure's description.
fn tiles_at(
    report: &mut Report,
    base: &str,
    label: &str,
    size: u64,
    window: Duration,
) -> anyhow::Result<()> {
    let full = size / 256;
    anyhow::ensure!(full > 0, "no full tile in a tree of {size}");
    let clients = tile_clients();
    for kind in ["0", "entries"] {
        let path = |index: u64| {
            format!(
                "/log/county-1/tile/{kind}/{}",
                daylight_verifier::tile::encode_index(index)
            )
        };
        let fetch = |connection: &mut Connection, index: u64| -> anyhow::Result<()> {
            let (status, body) = connection.get(&path(index))?;
            anyhow::ensure!(status == 200, "tile {kind}/{index}: {status}");
            anyhow::ensure!(
                kind != "0" || body.len() == 8192,
                "hash tile {index}: {} bytes",
                body.len()
            );
            Ok(())
        };
        // First reads: every full tile once, shared out between the clients.
        let next = AtomicU64::new(0);
        let began = Instant::now();
        std::thread::scope(|scope| -> anyhow::Result<()> {
            let handles: Vec<_> = (0..clients)
                .map(|_| {
                    let (next, fetch) = (&next, &fetch);
                    scope.spawn(move || -> anyhow::Result<()> {
                        let mut connection = Connection::open(base)?;
                        loop {
                            let index = next.fetch_add(1, Ordering::Relaxed);
                            if index >= full {
                                return Ok(());
                            }
                            fetch(&mut connection, index)?;
                        }
                    })
                })
                .collect();
            for h in handles {
                h.join().expect("tile client")?;
            }
            Ok(())
        })?;
        let first = full as f64 / began.elapsed().as_secs_f64();
        // Random re-reads for `window`.
        let served = AtomicU64::new(0);
        let began = Instant::now();
        std::thread::scope(|scope| -> anyhow::Result<()> {
            let handles: Vec<_> = (0..clients)
                .map(|t| {
                    let (served, fetch) = (&served, &fetch);
                    scope.spawn(move || -> anyhow::Result<()> {
                        let mut connection = Connection::open(base)?;
                        let mut x = t + 7;
                        while began.elapsed() < window {
                            x = x
                                .wrapping_mul(6364136223846793005)
                                .wrapping_add(1442695040888963407);
                            fetch(&mut connection, (x >> 20) % full)?;
                            served.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(())
                    })
                })
                .collect();
            for h in handles {
                h.join().expect("tile client")?;
            }
            Ok(())
        })?;
        let again = served.load(Ordering::Relaxed) as f64 / began.elapsed().as_secs_f64();
        let what = if kind == "0" {
            "full hash tiles (level 0)"
        } else {
            "full entry bundles"
        };
        report.add(
            &format!(
                "{label}{}{what} served/s over HTTP, tree of {size}, {clients} keep-alive \
                 connections (lean client): first read of each of {full} / random re-reads",
                if label.is_empty() { "" } else { " " }
            ),
            format!("{first:.0} / {again:.0}"),
        );
    }
    Ok(())
}

/// Keep-alive connections the tile measurements use: `DAYLIGHT_BENCH_TILE_CLIENTS`, else
/// [`TILE_CLIENTS`].
fn tile_clients() -> u64 {
    std::env::var("DAYLIGHT_BENCH_TILE_CLIENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(TILE_CLIENTS)
}

/// nginx serving the same full tiles from a static copy beside the node: the full level-0
/// hash tiles and entry bundles of the tree of `size` are fetched once from the node (the
/// bytes `daylight-node publish-static` writes: the same checked tiles, at the same paths)
/// and written to `dir` in the tlog-tiles layout, then nginx (Debian's, as in the
/// static-copy tests, with as many workers as the node has runtime threads) serves `dir` and
/// is measured as [`tiles_served`] measures the node: first reads of each tile, then random
/// re-reads.
///
/// The copy is written here rather than by `publish-static` because that also writes one
/// `rid/` object per record (1,000,000 small files, each fsync'd), which takes longer than
/// the rest of the bench; the tiles are the same bytes either way.
pub(super) fn nginx_served(
    report: &mut Report,
    http: std::net::SocketAddr,
    dir: &std::path::Path,
    size: u64,
    window: Duration,
) -> anyhow::Result<()> {
    if !daylight_tests::nginx::available() {
        report.add(
            "nginx serving the same tiles",
            format!("skipped: {} is not installed", daylight_tests::nginx::NGINX),
        );
        return Ok(());
    }
    let full = size / 256;
    let agent = agent();
    for kind in ["0", "entries"] {
        for index in 0..full {
            let path = format!(
                "log/county-1/tile/{kind}/{}",
                daylight_verifier::tile::encode_index(index)
            );
            let mut response = agent.get(&format!("http://{http}/{path}")).call()?;
            anyhow::ensure!(response.status() == 200, "{path}: {}", response.status());
            let body = response.body_mut().read_to_vec()?;
            let file = dir.join(&path);
            std::fs::create_dir_all(file.parent().context("a tile path has a parent")?)?;
            std::fs::write(&file, body)?;
        }
    }
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let nginx = daylight_tests::nginx::Nginx::start_with_workers(dir, workers)?;
    let base = nginx.url("");
    tiles_at(
        report,
        &base,
        &format!("nginx ({workers} workers) serving the same tiles from a directory:"),
        size,
        window,
    )
}
