//! A publisher node as a real process under abuse (DESIGN §5.5; docs/decisions/0010): it
//! runs with a 256-descriptor limit, and idle connections, floods of junk submissions,
//! malformed requests and misdirected witness requests must neither lock out `/healthz` nor
//! blow its memory, and every refusal is JSON.
//!
//! The tests take turns (one lock): two of them time `/healthz` and measure memory, which
//! other nodes starting on the same two cores would disturb. Figures are printed; run with
//! `cargo test -p daylight-tests --test abuse -- --nocapture` to see them.

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use daylight_tests::{NodeProcess, TestNetwork, node_binary, wait_for};
use daylight_verifier::Hash;
use daylight_verifier::checkpoint::Checkpoint;

/// The open-file limit (soft and hard) the node runs under.
const FD_LIMIT: u64 = 256;
/// How fast `/healthz` must answer, even under attack.
const HEALTHZ_BUDGET: Duration = Duration::from_millis(100);
/// The most memory the node may reach (VmHWM) under the junk-submission flood.
const MEMORY_BUDGET_KB: u64 = 300 * 1024;
/// Longest any single exchange in these tests may take.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

static SERIAL: Mutex<()> = Mutex::new(());

/// A node process, its pid, and the network it belongs to.
struct Limited {
    node: NodeProcess,
    pid: u32,
    _network: TestNetwork,
    network_keys: std::collections::BTreeMap<String, daylight_verifier::SigningKey>,
}

/// Starts county-1's node of a city with two counties under a `FD_LIMIT` open-file limit
/// (soft and hard, so it cannot raise it), with `http` appended as its `[http]` table.
fn start_limited(http: &str) -> anyhow::Result<Limited> {
    let network = TestNetwork::city_with_counties(2)?;
    let config = network.init_node("county-1")?;
    if !http.is_empty() {
        let mut text = std::fs::read_to_string(&config)?;
        text.push_str(&format!("\n[http]\n{http}\n"));
        std::fs::write(&config, text)?;
    }
    let mut command = Command::new(node_binary()?);
    command.arg("run").arg("--config").arg(&config);
    // SAFETY: the closure runs in the child between fork and exec. It allocates nothing and
    // only makes the setrlimit system call, which is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            let limit = rustix::process::Rlimit {
                current: Some(FD_LIMIT),
                maximum: Some(FD_LIMIT),
            };
            rustix::process::setrlimit(rustix::process::Resource::Nofile, limit)
                .map_err(std::io::Error::from)
        });
    }
    let node = NodeProcess::start_command(command)?;
    let pid = pid_of(&config)?;
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits"))?;
    let files = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap_or_default();
    assert!(
        files.split_whitespace().filter(|w| *w == "256").count() == 2,
        "{files}"
    );
    let network_keys = network
        .keys
        .iter()
        .map(|(id, k)| (id.clone(), k.log.clone()))
        .collect();
    Ok(Limited {
        node,
        pid,
        _network: network,
        network_keys,
    })
}

/// The pid of the `daylight-node` process run with `config`.
fn pid_of(config: &Path) -> anyhow::Result<u32> {
    let wanted = config.as_os_str().as_encoded_bytes();
    for entry in std::fs::read_dir("/proc")? {
        let entry = entry?;
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        if args.first().is_some_and(|a| a.ends_with(b"daylight-node")) && args.contains(&wanted) {
            return Ok(pid);
        }
    }
    anyhow::bail!("no daylight-node process runs {}", config.display())
}

/// A field of `/proc/<pid>/status` in kB (`VmRSS`, `VmHWM`).
fn memory_kb(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .ok_or_else(|| anyhow::anyhow!("no {field} in /proc/{pid}/status"))?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// An HTTP answer read off a raw socket.
struct Answer {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }

    /// Asserts a JSON error `{error, detail}` with `status` (and `error` when given).
    fn assert_json_error(&self, status: u16, error: Option<&str>, what: &str) {
        let json = self.json();
        assert_eq!(
            self.status,
            status,
            "{what}: {}{}",
            self.head,
            String::from_utf8_lossy(&self.body)
        );
        assert!(
            self.header("content-type")
                .is_some_and(|t| t.starts_with("application/json")),
            "{what}: {}",
            self.head
        );
        assert!(json["error"].is_string(), "{what}: {json}");
        assert!(
            json["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{what}: {json}"
        );
        if let Some(error) = error {
            assert_eq!(json["error"], error, "{what}: {json}");
        }
        println!("{what}: {} {json}", self.status);
    }
}

fn connect(addr: SocketAddr) -> anyhow::Result<TcpStream> {
    let stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(stream)
}

/// Reads one answer: its head, then a body of its content-length (or up to end of file).
fn read_answer(stream: &mut TcpStream) -> anyhow::Result<Answer> {
    let mut data = Vec::new();
    let mut chunk = [0u8; 16 << 10];
    let head_end = loop {
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut chunk)?;
        anyhow::ensure!(
            n > 0,
            "connection closed before an answer: {:?}",
            String::from_utf8_lossy(&data)
        );
        data.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("not an HTTP answer: {head:?}"))?;
    let mut answer = Answer {
        status,
        head,
        body: data[head_end..].to_vec(),
    };
    let length = answer
        .header("content-length")
        .and_then(|l| l.parse::<usize>().ok());
    while length.is_none_or(|l| answer.body.len() < l) {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        answer.body.extend_from_slice(&chunk[..n]);
    }
    Ok(answer)
}

/// Sends `request` on a new connection and reads the answer.
fn exchange(addr: SocketAddr, request: &[u8]) -> anyhow::Result<Answer> {
    let mut stream = connect(addr)?;
    stream.write_all(request)?;
    read_answer(&mut stream)
}

/// Times `GET /healthz` on a new connection, as a monitoring probe does; checks the answer.
fn healthz(addr: SocketAddr) -> anyhow::Result<Duration> {
    let began = Instant::now();
    let answer = exchange(
        addr,
        b"GET /healthz HTTP/1.1\r\nhost: node\r\nconnection: close\r\n\r\n",
    )?;
    let took = began.elapsed();
    anyhow::ensure!(answer.status == 200, "healthz answered {}", answer.status);
    Ok(took)
}

/// A metric's value from `/metrics`.
fn metric(addr: SocketAddr, name: &str) -> anyhow::Result<u64> {
    let answer = exchange(
        addr,
        b"GET /metrics HTTP/1.1\r\nhost: node\r\nconnection: close\r\n\r\n",
    )?;
    let text = String::from_utf8_lossy(&answer.body);
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no metric {name}"))
}

/// Asserts `/healthz` kept its budget: at most one probe in twenty over [`HEALTHZ_BUDGET`]
/// (rounded up, so one of a few probes may be), none over a second. (The node, the attackers
/// and the probe share two cores with whatever else the machine runs, so a rare probe can
/// lose its core for longer than the budget: the figures printed show the maximum; the bound
/// catches a node that queues `/healthz` behind the attack, which is what it is for. A flood
/// that lasts a second gives only about nine probes, so a plain 95th percentile would let
/// none of them be slow.)
fn assert_prompt(latencies: &[Duration]) {
    let mut sorted = latencies.to_vec();
    sorted.sort();
    let slow = sorted.iter().filter(|l| **l >= HEALTHZ_BUDGET).count();
    assert!(
        slow <= sorted.len().div_ceil(20) && sorted[sorted.len() - 1] < Duration::from_secs(1),
        "/healthz too slow: {slow} of {} probes over {HEALTHZ_BUDGET:?}: {sorted:?}",
        sorted.len()
    );
}

/// Sorts `durations` and describes them: count, median, 90th percentile, maximum.
fn summary(durations: &mut [Duration]) -> String {
    durations.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let n = durations.len();
    format!(
        "{n} samples, median {:.1} ms, p90 {:.1} ms, max {:.1} ms",
        ms(durations[n / 2]),
        ms(durations[n * 9 / 10]),
        ms(durations[n - 1])
    )
}

/// [`summary`] of `/healthz` probes, with how many missed [`HEALTHZ_BUDGET`].
fn probes(latencies: &mut [Duration]) -> String {
    let slow = latencies.iter().filter(|l| **l >= HEALTHZ_BUDGET).count();
    format!(
        "{}, {slow} over {} ms",
        summary(latencies),
        HEALTHZ_BUDGET.as_millis()
    )
}

#[test]
fn idle_connections_do_not_lock_out_healthz() -> anyhow::Result<()> {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let limited = start_limited("")?;
    let addr = limited.node.http;
    let cap = metric(addr, "daylight_http_connection_cap")?;
    assert_eq!(
        cap,
        FD_LIMIT - 128,
        "the cap keeps the default reserve of 128"
    );

    // 300 connections that never send a byte: more than the cap, more than the descriptors.
    let idle: Vec<TcpStream> = (0..300)
        .map(|_| connect(addr))
        .collect::<anyhow::Result<_>>()?;
    let mut latencies = Vec::new();
    for _ in 0..20 {
        latencies.push(healthz(addr)?);
    }
    let open = metric(addr, "daylight_http_connections_open")?;
    let shed = metric(addr, "daylight_http_connections_shed_total")?;
    let held = idle
        .iter()
        .filter(|s| {
            s.set_nonblocking(true).is_ok()
                && matches!(s.peek(&mut [0u8; 1]), Err(e) if e.kind() == ErrorKind::WouldBlock)
        })
        .count();
    println!(
        "300 idle connections (cap {cap}, {FD_LIMIT} descriptors): the node holds {open} \
         connections, {held} of the idle ones still open, {shed} shed; /healthz {}",
        probes(&mut latencies)
    );
    assert!(open <= cap, "{open} connections open, cap {cap}");
    assert!(shed >= 300 - cap, "only {shed} shed");
    assert!(held as u64 <= cap, "{held} idle connections still held");
    assert_prompt(&latencies);
    drop(idle);
    Ok(())
}

/// What [`flood`] saw.
struct Flood {
    /// Each submission's answer.
    answers: Vec<Answer>,
    /// How long each submission took, from its first byte to its answer.
    took: Vec<Duration>,
    /// `/healthz` latencies while submissions were in flight.
    latencies: Vec<Duration>,
    /// The highest resident memory sampled meanwhile, in kB.
    peak_rss: u64,
}

/// Posts `body` 40 times in parallel while timing `/healthz`, and checks each body was read
/// to its end; returns the answers, how long each took, the `/healthz` latencies during the flood and the highest resident memory
/// sampled (kB). The posting threads run at the lowest priority: a real attacker's CPU is
/// not the node's, and here the two share two cores with the probe.
fn flood(addr: SocketAddr, pid: u32, body: Vec<u8>) -> anyhow::Result<Flood> {
    let head = format!(
        "POST /v1/records HTTP/1.1\r\nhost: node\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    );
    let body = Arc::new(body);
    let posters = 40;
    let start = Arc::new(Barrier::new(posters + 1));
    let active = Arc::new(AtomicUsize::new(posters));
    let handles: Vec<_> = (0..posters)
        .map(|_| {
            let (body, head, start, active) =
                (body.clone(), head.clone(), start.clone(), active.clone());
            std::thread::spawn(move || -> anyhow::Result<(Answer, Duration, bool)> {
                let _ = rustix::process::setpriority_process(None, 19);
                let mut stream = connect(addr)?;
                start.wait();
                let began = Instant::now();
                let sent = stream
                    .write_all(head.as_bytes())
                    .and_then(|()| stream.write_all(&body));
                // An answer may come before the whole body was taken: read it either way.
                let answer = read_answer(&mut stream);
                active.fetch_sub(1, Ordering::SeqCst);
                match (answer, sent) {
                    (Ok(answer), sent) => Ok((answer, began.elapsed(), sent.is_ok())),
                    (Err(_), Err(e)) => Err(e.into()),
                    (Err(e), Ok(())) => Err(e),
                }
            })
        })
        .collect();
    start.wait();
    let mut latencies = Vec::new();
    let mut peak_rss = 0;
    // Probe while any submission is in flight (bounded: each probe takes well under a second).
    for _ in 0..10_000 {
        if active.load(Ordering::SeqCst) == 0 {
            break;
        }
        latencies.push(healthz(addr)?);
        peak_rss = peak_rss.max(memory_kb(pid, "VmRSS")?);
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut answers = Vec::new();
    let mut took = Vec::new();
    for handle in handles {
        let (answer, elapsed, sent) = handle.join().expect("poster thread")?;
        // The node reads a refused body to its end, so the answer never races a reset.
        assert!(sent, "the node stopped reading before the body ended");
        answers.push(answer);
        took.push(elapsed);
    }
    Ok(Flood {
        answers,
        took,
        latencies,
        peak_rss,
    })
}

#[test]
fn junk_submissions_stay_within_memory() -> anyhow::Result<()> {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let limited = start_limited("")?;
    let addr = limited.node.http;
    let pid = limited.pid;
    let baseline = memory_kb(pid, "VmRSS")?;

    // 15 MB of `[{},{},...]`: five million empty records, refused as they are counted.
    let mut junk = Vec::with_capacity(15_000_000);
    junk.push(b'[');
    while junk.len() < 15_000_000 - 3 {
        junk.extend_from_slice(b"{},");
    }
    junk.extend_from_slice(b"{}]");
    let Flood {
        answers,
        mut took,
        mut latencies,
        peak_rss,
    } = flood(addr, pid, junk)?;
    for answer in &answers {
        answer.assert_json_error(413, Some("too_large"), "a 15 MB junk submission");
    }
    let peak = memory_kb(pid, "VmHWM")?;
    println!(
        "40 parallel 15 MB `[{{}},{{}},...]` submissions: resident {} MB before, {} MB at \
         most while sampled, VmHWM {} MB; each answered 413 in {}; /healthz meanwhile {}",
        baseline / 1024,
        peak_rss / 1024,
        peak / 1024,
        summary(&mut took),
        probes(&mut latencies)
    );
    assert!(
        latencies.len() >= 3,
        "too few /healthz samples during the flood"
    );
    assert!(peak < MEMORY_BUDGET_KB, "peak resident memory {peak} kB");
    assert_prompt(&latencies);

    // 15 MB of 60 records of 250 kB: within every count and size limit, so each is read
    // whole and parsed; the memory budget (64 MiB) lets four at a time in, the others wait
    // (and get a 503 after 10 s).
    let record = format!("{{\"purpose\":\"{}\"}}", "a".repeat(249_980));
    let big = format!("[{}]", vec![record; 60].join(",")).into_bytes();
    let Flood {
        answers,
        mut took,
        mut latencies,
        peak_rss,
    } = flood(addr, pid, big)?;
    for answer in &answers {
        assert!(
            matches!(answer.status, 422 | 503),
            "{} {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
        answer.assert_json_error(answer.status, None, "a 15 MB submission of large records");
    }
    let peak = memory_kb(pid, "VmHWM")?;
    println!(
        "40 parallel 15 MB submissions of 60 large records: {} MB at most while sampled, \
         VmHWM {} MB; answered in {}; /healthz meanwhile {}",
        peak_rss / 1024,
        peak / 1024,
        summary(&mut took),
        probes(&mut latencies)
    );
    assert!(peak < MEMORY_BUDGET_KB, "peak resident memory {peak} kB");
    assert_prompt(&latencies);
    Ok(())
}

#[test]
fn every_error_is_json() -> anyhow::Result<()> {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Small submission limits, so the budget can be filled by one slow client.
    let limited = start_limited(
        "header_read_timeout_seconds = 1\nmax_body_bytes = 65536\n\
         submission_memory_bytes = 65536\nmax_concurrent_submissions = 1\n\
         submission_wait_seconds = 1",
    )?;
    let addr = limited.node.http;
    let get = |target: &str| format!("GET {target} HTTP/1.1\r\nhost: node\r\n\r\n").into_bytes();

    exchange(addr, &get("/nowhere"))?.assert_json_error(404, Some("not_found"), "404");
    // `/v1/records` lists (GET) and takes submissions (POST); nothing else.
    let wrong_method = exchange(addr, b"DELETE /v1/records HTTP/1.1\r\nhost: node\r\n\r\n")?;
    wrong_method.assert_json_error(405, Some("method_not_allowed"), "405");
    let allow = wrong_method.header("allow").unwrap_or_default();
    assert!(
        allow.contains("GET") && allow.contains("POST") && !allow.contains("DELETE"),
        "allow: {allow}"
    );

    // A request head that stops halfway: 408 after the header timeout (1 s here).
    let began = Instant::now();
    exchange(addr, b"GET /healthz HTTP/1.1\r\nhost: no")?.assert_json_error(
        408,
        Some("request_timeout"),
        "408 (head not finished)",
    );
    assert!(began.elapsed() >= Duration::from_millis(900));

    // Bodies: declared too long, too many records, an add-checkpoint body over its limit.
    exchange(
        addr,
        b"POST /v1/records HTTP/1.1\r\nhost: node\r\ncontent-length: 20000000\r\n\r\n",
    )?
    .assert_json_error(413, Some("too_large"), "413 (declared length)");
    let mut records = b"[{}".to_vec();
    for _ in 0..10_000 {
        records.extend_from_slice(b",{}");
    }
    records.push(b']');
    let mut request = format!(
        "POST /v1/records HTTP/1.1\r\nhost: node\r\ncontent-length: {}\r\n\r\n",
        records.len()
    )
    .into_bytes();
    request.extend_from_slice(&records);
    let answer = exchange(addr, &request)?;
    answer.assert_json_error(413, Some("too_large"), "413 (10,001 records)");
    assert!(
        answer.json()["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("10000")
    );
    exchange(
        addr,
        b"POST /log/county-2/add-checkpoint HTTP/1.1\r\nhost: node\r\ncontent-length: 100000\r\n\r\n",
    )?
    .assert_json_error(413, Some("too_large"), "413 (add-checkpoint body)");

    // The submission budget held by a slow client: the next submission waits 1 s, then 503.
    let mut slow = connect(addr)?;
    slow.write_all(b"POST /v1/records HTTP/1.1\r\nhost: node\r\ncontent-length: 1000\r\n\r\n[")?;
    wait_for(IO_TIMEOUT, "the slow submission to hold the budget", || {
        (metric(addr, "daylight_submissions_active").ok()? == 1).then_some(())
    });
    let busy = exchange(
        addr,
        b"POST /v1/records HTTP/1.1\r\nhost: node\r\ncontent-length: 2\r\n\r\n[]",
    )?;
    busy.assert_json_error(503, Some("busy"), "503 (submission budget full)");
    assert_eq!(busy.header("retry-after").as_deref(), Some("1"));
    drop(slow);

    // Request targets and heads: ours (414 over 8 KiB), hyper's (head over 16 KiB, answered
    // before any router runs: 414 when the request line never ended, else 431).
    let long = format!("/v1/records/{}", "a".repeat(9000));
    exchange(addr, &get(&long))?.assert_json_error(414, Some("uri_too_long"), "414 (target)");
    let mut endless_line = b"GET /".to_vec();
    endless_line.resize(16 << 10, b'a');
    exchange(addr, &endless_line)?.assert_json_error(
        414,
        Some("uri_too_long"),
        "414 (request line over the head limit)",
    );
    let mut big_header = b"GET /healthz HTTP/1.1\r\nhost: node\r\nx-big: ".to_vec();
    big_header.resize(16 << 10, b'a');
    exchange(addr, &big_header)?.assert_json_error(
        431,
        Some("headers_too_large"),
        "431 (header over the head limit)",
    );
    let mut many = b"GET /healthz HTTP/1.1\r\nhost: node\r\n".to_vec();
    for i in 0..120 {
        many.extend_from_slice(format!("x-h{i}: 1\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    exchange(addr, &many)?.assert_json_error(
        431,
        Some("headers_too_large"),
        "431 (120 header fields)",
    );

    // Paths that are not UTF-8, percent-encoded and raw, and a request that is not HTTP.
    exchange(addr, &get("/v1/records/%FF%FE"))?.assert_json_error(
        400,
        None,
        "400 (percent-encoded path not UTF-8)",
    );
    exchange(
        addr,
        b"GET /v1/records/\xff\xfe HTTP/1.1\r\nhost: node\r\n\r\n",
    )?
    .assert_json_error(400, None, "400 (raw path not UTF-8)");
    exchange(addr, b"HELLO THERE\r\n\r\n")?.assert_json_error(
        400,
        Some("bad_request"),
        "400 (not HTTP)",
    );

    // Still serving.
    assert!(healthz(addr)? < Duration::from_secs(5));
    let unparsable = metric(addr, "daylight_http_unparsable_requests_total")?;
    let timeouts = metric(addr, "daylight_http_header_timeouts_total")?;
    assert!(unparsable >= 5 && timeouts >= 1, "{unparsable} {timeouts}");
    Ok(())
}

#[test]
fn witness_refuses_other_logs_checkpoints_and_its_own_log() -> anyhow::Result<()> {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let limited = start_limited("")?;
    let addr = limited.node.http;
    let key = |member: &str| &limited.network_keys[member];
    let checkpoint = |member: &str| -> anyhow::Result<String> {
        let origin = format!("{}/{member}", daylight_tests::NETWORK);
        Ok(Checkpoint::new(&origin, 1, Hash::digest(member.as_bytes()))
            .sign(key(member))?
            .to_text())
    };
    let post = |member: &str, note: &str| {
        let body = format!("old 0\n\n{note}");
        let request = format!(
            "POST /log/{member}/add-checkpoint HTTP/1.1\r\nhost: node\r\n\
             content-length: {}\r\n\r\n{body}",
            body.len()
        );
        exchange(addr, request.as_bytes())
    };

    // city-1's checkpoint posted as county-2's: refused, naming both logs.
    let mismatch = post("county-2", &checkpoint("city-1")?)?;
    mismatch.assert_json_error(
        400,
        Some("origin_mismatch"),
        "city checkpoint as county-2's",
    );
    let detail = mismatch.json()["detail"].to_string();
    assert!(
        detail.contains("county-2") && detail.contains("city-1"),
        "{detail}"
    );
    // The node's own log (county-1): a witness never cosigns itself.
    post("county-1", &checkpoint("county-1")?)?.assert_json_error(
        403,
        Some("own_log"),
        "own checkpoint",
    );
    // The right log's checkpoint is cosigned.
    let cosigned = post("city-1", &checkpoint("city-1")?)?;
    assert_eq!(
        cosigned.status,
        200,
        "{}",
        String::from_utf8_lossy(&cosigned.body)
    );
    assert!(String::from_utf8_lossy(&cosigned.body).starts_with("— "));
    Ok(())
}
