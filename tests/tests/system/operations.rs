//! `docs/operations.md`, run as an agency's IT officer runs it: every `sh` block of the guide,
//! in order, as written, in one bash process. Only what cannot be the same on every machine
//! changes: the fixed ports of the guide (127.0.0.1:7101–7110 for libp2p, 7201–7210 for
//! HTTP) become free ones, and the working directory is a temporary one.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use daylight_tests::{TempDir, cli_binary, node_binary, unused_port};

/// How long the whole guide may take before the test gives up (it takes about 20 s).
const DEADLINE: Duration = Duration::from_secs(300);

/// Every ```sh block of the guide, in order.
fn guide_blocks() -> anyhow::Result<Vec<String>> {
    let guide = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/operations.md"
    ))?;
    let blocks: Vec<String> = guide
        .split("```sh\n")
        .skip(1)
        .filter_map(|b| b.split("```").next().map(str::to_string))
        .collect();
    anyhow::ensure!(blocks.len() > 10, "expected the guide's shell blocks");
    Ok(blocks)
}

/// Whether `port` is one of the guide's fixed ports.
fn is_guide_port(port: u16) -> bool {
    (7101..=7110).contains(&port) || (7201..=7210).contains(&port)
}

/// Replaces each of the guide's fixed ports, as a whole word (not inside a longer number or
/// hex string), by a free port, the same one everywhere it appears. Returns the script and
/// the replacements made.
fn with_free_ports(script: &str) -> (String, BTreeMap<u16, u16>) {
    let mut ports = BTreeMap::new();
    let mut taken = BTreeSet::new();
    let mut out = String::with_capacity(script.len());
    let bytes = script.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        let word = bytes[i..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        if starts_word && word == 4 {
            let text = &script[i..i + 4];
            if let Ok(port) = text.parse::<u16>()
                && is_guide_port(port)
            {
                let free = *ports.entry(port).or_insert_with(|| {
                    loop {
                        let p = unused_port();
                        if taken.insert(p) {
                            break p;
                        }
                    }
                });
                out.push_str(&free.to_string());
                i += 4;
                continue;
            }
        }
        let step = if word > 0 {
            word
        } else {
            script[i..].chars().next().map_or(1, char::len_utf8)
        };
        out.push_str(&script[i..i + step]);
        i += step;
    }
    (out, ports)
}

/// The last lines of a file, for a failure message.
fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[test]
fn the_operations_guide_runs_as_written() -> anyhow::Result<()> {
    let work = TempDir::new("operations");
    let (blocks, ports) = with_free_ports(&guide_blocks()?.join("\n"));
    assert!(
        ports.contains_key(&7101) && ports.contains_key(&7205),
        "the guide uses its fixed ports: {ports:?}"
    );
    // `daylight` and `daylight-node` are this build's binaries, found first on PATH (rather
    // than shell functions, so that `daylight-node run ... &` puts the node's own process id in
    // `$!`, which the guide writes to its .pid files and later stops).
    let bin = work.path().join("bin");
    std::fs::create_dir_all(&bin)?;
    std::os::unix::fs::symlink(cli_binary()?, bin.join("daylight"))?;
    std::os::unix::fs::symlink(node_binary()?, bin.join("daylight-node"))?;
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // Nodes the guide started in the background are killed when the script ends, whether it
    // finished or failed.
    let script = format!(
        "set -euo pipefail\ntrap 'set +e; kill -KILL $(jobs -p) 2>/dev/null; wait 2>/dev/null' \
         EXIT\ncd {dir:?}\n{blocks}",
        dir = work.path(),
    );
    let stdout_path = work.path().join("stdout.txt");
    let stderr_path = work.path().join("stderr.txt");
    let started = Instant::now();
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("PATH", &path)
        .env("DAYLIGHT_HOME", work.path().join("citizen-home"))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path)?)
        .stderr(std::fs::File::create(&stderr_path)?)
        // Its own process group: whatever it leaves behind can be killed with it.
        .process_group(0)
        .spawn()?;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if started.elapsed() > DEADLINE {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let group = child.id();
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{group}")])
        .stderr(Stdio::null())
        .status();
    let _ = child.wait();
    let elapsed = started.elapsed();
    let stdout = std::fs::read_to_string(&stdout_path)?;
    let stderr = std::fs::read_to_string(&stderr_path)?;
    let ops = work.path().join("ops");
    if !status.is_some_and(|s| s.success()) {
        let mut logs = String::new();
        for entry in std::fs::read_dir(&ops).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "log") {
                logs.push_str(&format!("--- {}\n{}\n", path.display(), tail(&path, 30)));
            }
        }
        panic!(
            "the guide failed ({}) after {elapsed:?}; ports {ports:?}\n--- stdout (end)\n{}\n--- \
             stderr (end)\n{}\n{logs}",
            status.map_or("timed out".to_string(), |s| s.to_string()),
            tail(&stdout_path, 60),
            tail(&stderr_path, 30),
        );
    }
    eprintln!("the guide ran in {elapsed:?}");

    // Beyond the exit status: what each step was there to show.
    let has = |text: &str| stdout.contains(text);
    assert!(has("Every founder has signed: the genesis is complete."));
    assert!(has("took genesis version 2 and passes it on"), "{stdout}");
    assert!(has("Members added: county-320623."), "{stdout}");
    assert!(has("took genesis version 3"), "{stdout}");
    assert!(has("installed the new log key"), "{stdout}");
    // The leaked clerk key was refused, naming the revocation, and earlier records verify.
    assert!(
        has("publishing with the revoked key: exit code 2"),
        "{stdout}"
    );
    assert!(
        stderr.contains("operator key ops.daylight/county-320612/operator/clerk1")
            && stderr.contains("was revoked from index 1 (genesis version 4)"),
        "{stderr}"
    );
    assert!(has("county-320612 retires: its log ends"), "{stdout}");
    assert!(
        has("same checkpoint: origin, size and root"),
        "the restored node serves the checkpoint it served before"
    );
    // Every verification passed, each with the genesis version of its moment.
    let verified_with = |rid: &str| -> Vec<String> {
        stdout
            .lines()
            .filter(|l| l.starts_with(&format!("Verifying record {rid} against genesis")))
            .map(str::to_string)
            .collect()
    };
    let rotated = verified_with("county-320602-2025-prj-0002");
    assert!(
        rotated
            .iter()
            .all(|l| l.ends_with("(ops.daylight, version 3).")),
        "{rotated:?}"
    );
    let last = verified_with("county-320623-2025-prj-0001");
    assert!(
        last.last()
            .is_some_and(|l| l.ends_with("(ops.daylight, version 5).")),
        "the citizen's last verify uses version 5: {last:?}"
    );
    let verifies = stdout.matches("\nVerifying record ").count();
    assert_eq!(
        verifies,
        blocks.matches("daylight verify ").count(),
        "{stdout}"
    );
    assert!(!stdout.contains("NOT VERIFIED"), "{stdout}");
    // The citizen's pin is now the whole chain, versions 1 to 5.
    let pin: serde_json::Value = serde_json::from_slice(&std::fs::read(ops.join("citizen.note"))?)?;
    assert_eq!(pin["versions"].as_array().map(Vec::len), Some(5), "{pin}");
    assert!(ops.join("citizen.note.1.bak").is_file());
    Ok(())
}

#[test]
fn only_the_guides_own_ports_are_replaced() {
    let (out, ports) = with_free_ports(
        "--addr /ip4/127.0.0.1/tcp/7101 http://127.0.0.1:7201/x 17101 a7101b 7101\n7300 中7202",
    );
    assert_eq!(ports.len(), 3, "{ports:?}");
    let p = |n: u16| ports[&n].to_string();
    assert_eq!(
        out,
        format!(
            "--addr /ip4/127.0.0.1/tcp/{} http://127.0.0.1:{}/x 17101 a7101b {}\n7300 中{}",
            p(7101),
            p(7201),
            p(7101),
            p(7202)
        )
    );
}
