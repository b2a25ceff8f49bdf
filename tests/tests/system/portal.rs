//! The citizens' portal in a real browser (Debian's chromium driven by playwright-core, the
//! scripts in `tests/browser/`), against the demo network: every page in zh-CN and en at
//! 1280 and 360 px with no console error, no sideways scrolling and no serious axe-core
//! violation; a record verifying with every check green; a tampered entry, proof tile,
//! checkpoint or cosignature — served by a small tampering proxy in front of a real node —
//! turning the page to "not verified" with the reason; a household's receipt verifying with
//! the network off, on the portal and as a standalone file from `file://`; the old
//! `/audit.html` redirecting. Screenshots of every page are taken; with `DAYLIGHT_SCREENSHOTS`
//! set they are written to `docs/screenshots/`.
//!
//! Needs `/usr/bin/chromium` and `npm ci` run in `tests/browser/` (`.ci/run` does both).

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;

use daylight_tests::TempDir;
use daylight_tests::demo::DemoProcess;

/// What a tampering proxy alters in the responses it relays.
#[derive(Clone, Copy, Debug)]
enum Tamper {
    /// The household payment's amount inside the log's entry bundle.
    Entry,
    /// The first hash of the log's level-0 hash tile (a proof the browser builds).
    Proof,
    /// The root hash of the log's checkpoint.
    Checkpoint,
    /// Every witness cosignature on the log's checkpoint.
    Cosignature,
}

/// A loopback HTTP/1.1 proxy in front of `upstream` that relays GET requests, altering the
/// responses `tamper` names for `member`'s log. One request per connection (it answers
/// `Connection: close`); it lives until the test process ends.
fn tampering_proxy(upstream: &str, member: &str, tamper: Tamper) -> anyhow::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = format!("http://{}", listener.local_addr()?);
    let (upstream, member) = (upstream.to_string(), member.to_string());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (upstream, member) = (upstream.clone(), member.clone());
            std::thread::spawn(move || {
                let _ = relay(stream, &upstream, &member, tamper);
            });
        }
    });
    Ok(address)
}

fn relay(stream: TcpStream, upstream: &str, member: &str, tamper: Tamper) -> anyhow::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut response = agent.get(&format!("{upstream}{path}")).call()?;
    let status = response.status();
    let headers: Vec<(String, String)> = ["content-type", "location", "cache-control"]
        .iter()
        .filter_map(|name| {
            let value = response.headers().get(*name)?.to_str().ok()?;
            Some((name.to_string(), value.to_string()))
        })
        .collect();
    let mut body = response
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_vec()?;
    let log = format!("/log/{member}/");
    match tamper {
        Tamper::Entry if path.starts_with(&format!("{log}tile/entries/")) => {
            replace_bytes(&mut body, b"\"minor\":\"300000\"", b"\"minor\":\"900000\"");
        }
        Tamper::Proof if path.starts_with(&format!("{log}tile/0/")) && !body.is_empty() => {
            body[0] ^= 0x01;
        }
        Tamper::Checkpoint if path == format!("{log}checkpoint") => {
            body = alter_checkpoint(&body, |lines| {
                // The root hash (third line): another valid base64 hash.
                if let Some(root) = lines.get_mut(2) {
                    *root = flip_base64(root, 0);
                }
            });
        }
        Tamper::Cosignature if path == format!("{log}checkpoint") => {
            body = alter_checkpoint(&body, |lines| {
                for line in lines.iter_mut() {
                    let mut words: Vec<String> = line.split(' ').map(str::to_string).collect();
                    if words.len() == 3 && words[0] == "—" && words[1].ends_with("/witness") {
                        // Past the key id: the timestamp and signature bytes.
                        words[2] = flip_base64(&words[2], 12);
                        *line = words.join(" ");
                    }
                }
            });
        }
        _ => {}
    }
    let mut out = stream;
    let mut head = format!(
        "HTTP/1.1 {} {}\r\ncontent-length: {}\r\nconnection: close\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    out.write_all(&body)?;
    out.flush()?;
    Ok(())
}

fn replace_bytes(body: &mut [u8], from: &[u8], to: &[u8]) {
    if let Some(at) = body.windows(from.len()).position(|w| w == from) {
        body[at..at + to.len()].copy_from_slice(to);
    }
}

fn alter_checkpoint(body: &[u8], change: impl FnOnce(&mut Vec<String>)) -> Vec<u8> {
    let text = String::from_utf8_lossy(body);
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    change(&mut lines);
    lines.join("\n").into_bytes()
}

/// `text` (base64) with the character at `at` changed to another base64 character.
fn flip_base64(text: &str, at: usize) -> String {
    text.char_indices()
        .map(|(i, c)| {
            if i != at {
                c
            } else if c == 'A' {
                'B'
            } else {
                'A'
            }
        })
        .collect()
}

/// Runs `node <script>` in tests/browser with the test's settings; returns its output, after
/// asserting it exited 0 and printed `all passed`.
fn run_script(script: &str, settings: &serde_json::Value) -> anyhow::Result<String> {
    let dir = browser_dir();
    anyhow::ensure!(
        dir.join("node_modules/playwright-core").is_dir(),
        "run `npm ci` in {} first (.ci/run does)",
        dir.display()
    );
    let out = Command::new("node")
        .arg(script)
        .current_dir(&dir)
        .env("DAYLIGHT_PORTAL_TEST", settings.to_string())
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("all passed"),
        "node {script} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(!stdout.contains("FAIL "), "{stdout}");
    Ok(stdout)
}

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// Where the pages' screenshots go: `docs/screenshots/` (the ones README links) when
/// `DAYLIGHT_SCREENSHOTS` is set, to refresh them after a change to the pages; otherwise
/// `work`, so that an ordinary test run does not rewrite 33 committed images.
fn screenshots_dir(work: &Path) -> anyhow::Result<PathBuf> {
    let dir = match std::env::var_os("DAYLIGHT_SCREENSHOTS") {
        Some(_) => Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots"),
        None => work.join("screenshots"),
    };
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The household's receipt (`daylight-household-receipt/v1`) from the demo's bundle and
/// opening files.
fn household_receipt(demo: &DemoProcess) -> anyhow::Result<String> {
    let bundle = std::fs::read_to_string(demo.file("receipt"))?;
    let opening: serde_json::Value = serde_json::from_slice(&std::fs::read(demo.file("opening"))?)?;
    Ok(serde_json::json!({
        "format": "daylight-household-receipt/v1",
        "bundle": bundle,
        "opening": opening,
    })
    .to_string())
}

#[test]
fn the_portal_works_in_a_real_browser() -> anyhow::Result<()> {
    let demo = DemoProcess::start()?;
    let county = demo.url("county-320681");
    let work = TempDir::new("portal");
    let receipt = household_receipt(&demo)?;
    let receipt_path = work.path().join("household-receipt.json");
    std::fs::write(&receipt_path, &receipt)?;
    let genesis = daylight_tests::get(&format!("{county}/v1/genesis"))?;
    assert_eq!(genesis.status, 200);
    let standalone = daylight_node::portal::standalone_receipt_html(&receipt, &genesis.text());
    let standalone_path = work.path().join("receipt.html");
    std::fs::write(&standalone_path, &standalone)?;
    // The small receipt `daylight import` prints for each household, with the verifier they share.
    let linked_dir = work.path().join("linked");
    std::fs::create_dir_all(&linked_dir)?;
    let linked_path = linked_dir.join("receipt.html");
    let linked = daylight_node::portal::linked_receipt_html(&receipt, &genesis.text());
    std::fs::write(&linked_path, &linked)?;
    std::fs::write(
        linked_dir.join(daylight_node::portal::RECEIPT_VERIFIER_SCRIPT),
        daylight_node::portal::receipt_verifier_script(),
    )?;
    let mut tamper = serde_json::Map::new();
    for (name, kind) in [
        ("entry", Tamper::Entry),
        ("proof", Tamper::Proof),
        ("checkpoint", Tamper::Checkpoint),
        ("cosignature", Tamper::Cosignature),
    ] {
        let proxy = tampering_proxy(&county, "county-320681", kind)?;
        tamper.insert(name.to_string(), proxy.into());
    }
    let settings = serde_json::json!({
        "node": county,
        "auditor": demo.url("auditor-320600"),
        "member": "county-320681",
        "record": demo.summary["household_payment"],
        "corrected": demo.summary["cooperative_payment"],
        "screenshots": screenshots_dir(work.path())?,
        "tamper": tamper,
        "receipt": receipt_path,
        "standalone": standalone_path,
        "linked": linked_path,
        "code": daylight_verifier::receipt_code::encode(&receipt)?,
        "amount": "¥3,000.00",
    });

    let pages = run_script("pages.mjs", &settings)?;
    for lang in ["zh", "en"] {
        for width in [1280, 360] {
            for page in [
                "network",
                "member",
                "record",
                "record-corrected",
                "search",
                "audit",
                "receipt",
            ] {
                assert!(
                    pages.contains(&format!("ok page {page} {lang} {width}")),
                    "{page} {lang} {width}:\n{pages}"
                );
            }
        }
    }
    assert!(pages.contains("7 checks green"), "{pages}");
    assert!(pages.contains("ok old /audit.html redirects"), "{pages}");
    assert!(
        pages.contains("ok where the money went lists what draws on a record"),
        "{pages}"
    );

    let tampered = run_script("tamper.mjs", &settings)?;
    for (kind, failed_check) in [
        ("entry", "inclusion"),
        ("proof", "inclusion"),
        ("checkpoint", "checkpoint_signature"),
        ("cosignature", "witness_quorum"),
    ] {
        let line = tampered
            .lines()
            .find(|l| l.starts_with(&format!("ok tampered {kind}:")))
            .unwrap_or_else(|| panic!("no result for {kind}:\n{tampered}"));
        assert!(line.contains("Not verified: "), "{line}");
        assert!(line.contains(failed_check), "{kind}: {line}");
    }

    let receipts = run_script("receipt.mjs", &settings)?;
    assert!(
        receipts.contains("ok receipt page offline after one visit"),
        "{receipts}"
    );
    assert!(receipts.contains("prints on 1 A4 page"), "{receipts}");
    for (lang, width) in [("zh", 360), ("zh", 1280), ("en", 360), ("en", 1280)] {
        assert!(
            receipts.contains(&format!(
                "ok standalone receipt file from file:// offline {lang} {width}"
            )),
            "{receipts}"
        );
    }
    assert!(
        receipts.contains("ok linked receipt file with its shared verifier from file:// offline"),
        "{receipts}"
    );
    println!("{pages}{tampered}{receipts}");
    Ok(())
}
