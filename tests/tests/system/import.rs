//! `daylight import` as a county clerk runs it (DESIGN §7b, docs/import.md): sheets written by
//! other programs (Python's GB18030 codec, openpyxl with Chinese headers and date cells; see
//! tests/data/import/generate.py) imported into real nodes with household receipts; a dry run
//! that names each of thirty kinds of bad row; an import killed halfway and run again, which
//! logs every row exactly once and keeps every household's opening; and no ID number in
//! anything a node holds or serves.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use daylight_tests::lifecycle::{daylight, expect, ok, p, wait_quorum};
use daylight_tests::{
    NodeProcess, TestNetwork, cli_binary, get, post_json, qr_scan, set_bootstrap,
};
use daylight_verifier::receipt_code;
use daylight_verifier::record::{Opening, SignedRecord};
use serde_json::Value;

const PROGRAM: &str = "rural-revitalisation-2024";

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/import")
        .join(name)
}

fn ids() -> Vec<String> {
    std::fs::read_to_string(data("ids.txt"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

struct Net {
    network: TestNetwork,
    city: NodeProcess,
    county: NodeProcess,
    operator: PathBuf,
    programme: PathBuf,
    receipt_leaf: String,
}

impl Net {
    /// A city and a county witnessing each other (quorum 1), the county's operator key on
    /// disk, a programme key, and a county receipt to fund the payments.
    fn start() -> Net {
        let network = TestNetwork::city_and_county().expect("network");
        let operator = network.dir.path().join("county-1.operator.key");
        let keys = &network.keys["county-1"];
        std::fs::write(&operator, keys.operator.to_private_key_string()).unwrap();
        let city_config = network.init_node("city-1").unwrap();
        let county_config = network.init_node("county-1").unwrap();
        let city = NodeProcess::start(&city_config).unwrap();
        set_bootstrap(&county_config, std::slice::from_ref(&city.p2p)).unwrap();
        let county = NodeProcess::start(&county_config).unwrap();
        let programme = network.dir.path().join("programme.key");
        ok(daylight(&[
            "programme-key",
            "new",
            "--program",
            PROGRAM,
            "--out",
            p(&programme),
        ]));
        let receipt =
            daylight_tests::signed_receipt(&keys.operator, "county-1-2024-rcpt-0001", 1 << 40);
        let reply = post_json(
            &county.url("/v1/records"),
            &serde_json::to_vec(&receipt).unwrap(),
        )
        .unwrap();
        assert_eq!(reply.status, 201, "{}", reply.text());
        let receipt_leaf = reply.json()["leaf"].as_str().unwrap().to_string();
        Net {
            network,
            city,
            county,
            operator,
            programme,
            receipt_leaf,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.network.dir.path().join(name)
    }

    /// The payments mapping of docs/import.md, funded by this network's receipt.
    fn payments_mapping(&self, rid_prefix: &str) -> PathBuf {
        let path = self.path(&format!("{rid_prefix}.toml"));
        std::fs::write(&path, payments_mapping(rid_prefix, &self.receipt_leaf)).unwrap();
        path
    }

    fn import(&self, mapping: &Path, sheet: &Path, out: &Path, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = [
            "--json",
            "import",
            "--mapping",
            p(mapping),
            "--node",
            &self.county.url(""),
            "--key",
            p(&self.operator),
            "--programme-key",
            p(&self.programme),
            "--genesis",
            p(&self.network.genesis_file),
            "--out",
            p(out),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push(p(sheet).to_string());
        args
    }

    fn log_size(&self) -> u64 {
        let note = get(&self.county.url("/log/county-1/checkpoint"))
            .unwrap()
            .text();
        note.lines().nth(1).unwrap().parse().unwrap()
    }

    fn record(&self, rid: &str) -> Option<Value> {
        let reply = get(&self.county.url(&format!("/v1/records/{rid}"))).unwrap();
        (reply.status == 200).then(|| reply.json())
    }
}

fn payments_mapping(rid_prefix: &str, leaf: &str) -> String {
    format!(
        r#"[record]
kind = "payment"
rid = {{ template = "county-1-2024-{rid_prefix}-{{序号:04}}" }}
program = "{PROGRAM}"
event_date = {{ column = "发放日期", as = "date" }}
purpose = {{ column = "用途" }}
amount = {{ column = "金额（元）", as = "money", currency = "CNY" }}
payee.household.pseudonym = {{ column = "身份证号", as = "pseudonym" }}
payee.household.area = {{ column = "村代码" }}
payee.household.commitment = {{ as = "commitment" }}

[[record.funded_by]]
ref = {{ log = "county-1", rid = "county-1-2024-rcpt-0001", leaf = "{leaf}" }}
amount = {{ column = "金额（元）", as = "money" }}
"#
    )
}

const ENROLMENT_MAPPING: &str = r#"[sheet]
name = "纳入名单"

[record]
kind = "household"
rid = { template = "county-1-2024-hh-{编号:03}" }
program = "rural-revitalisation-2024"
event_date = { column = "决定日期", as = "date" }
pseudonym = { column = "身份证号", as = "pseudonym" }
area = { column = "村代码" }
status = { column = "状态", values = { "纳入" = "enrolled", "退出" = "exited", "重新纳入" = "reenrolled" } }
basis = { column = "依据", values = { "收入低于标准" = "income_below_line", "收入稳定" = "income_stable" } }
notice.start = { column = "公示开始", as = "date" }
notice.end = { column = "公示结束", as = "date" }
"#;

fn run(args: &[String]) -> daylight_tests::lifecycle::Run {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    daylight(&refs)
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// Asserts that no ID number of `ids` (upper or lower case `x`) appears in `bytes`: every
/// 18-character window of digits (and a final `x`/`X`) is looked up.
fn assert_no_id(what: &str, bytes: &[u8], ids: &[String]) {
    let set: std::collections::HashSet<&[u8]> = ids.iter().map(|i| i.as_bytes()).collect();
    let mut upper = [0u8; 18];
    for (i, window) in bytes.windows(18).enumerate() {
        if !window[..17].iter().all(u8::is_ascii_digit) {
            continue;
        }
        upper.copy_from_slice(window);
        upper[17] = upper[17].to_ascii_uppercase();
        assert!(
            !set.contains(&upper[..]),
            "an ID number was found in {what} at byte {i}"
        );
    }
}

#[test]
fn sheets_from_other_programs_import_into_a_real_node_with_receipts() {
    let net = Net::start();
    // An .xlsx written by openpyxl: Chinese headers, date cells, a lookup of Chinese values.
    let enrolment = net.path("enrolment.toml");
    std::fs::write(&enrolment, ENROLMENT_MAPPING).unwrap();
    let out = net.path("enrolment.out");
    let dry = ok(run(&{
        let mut a = net.import(&enrolment, &data("enrolment.xlsx"), &out, &[]);
        a.insert(2, "--dry-run".into());
        a
    }));
    assert_eq!(dry.json()["bad_rows"], 0, "{}", dry.stdout);
    assert_eq!(net.log_size(), 1, "a dry run sends nothing");
    let done = ok(run(&net.import(
        &enrolment,
        &data("enrolment.xlsx"),
        &out,
        &[],
    )));
    assert_eq!(done.json()["logged_now"], 8, "{}", done.stdout);
    let exit = net.record("county-1-2024-hh-004").expect("row 5 logged");
    assert_eq!(exit["entry"]["status"], "exited");
    assert_eq!(exit["entry"]["basis"], "income_stable");
    assert_eq!(exit["entry"]["notice"]["start"], "2024-03-01");
    assert_eq!(exit["entry"]["notice"]["end"], "2024-03-11");
    assert_eq!(exit["entry"]["event_date"], "2024-03-24");

    // A GB18030 CSV of household payments: openings and receipts for each household.
    let mapping = net.payments_mapping("pay");
    let out = net.path("payments.out");
    let done = ok(run(&net.import(
        &mapping,
        &data("payments-gb18030.csv"),
        &out,
        &[],
    )));
    let report = done.json();
    assert_eq!(report["logged_now"], 12, "{}", done.stdout);
    assert_eq!(report["receipts_written"], 12, "{}", done.stdout);
    assert_eq!(report["read_as"], "CSV, GB18030");
    let amounts: Vec<String> = (1..=12)
        .map(|n| {
            let r = net.record(&format!("county-1-2024-pay-{n:04}")).unwrap();
            r["entry"]["amount"]["minor"].as_str().unwrap().to_string()
        })
        .collect();
    // generate.py: amounts[i % 8] of "3,000.00", "3000", "¥3,000.00", "1500.5", "￥2,400.00",
    // "800元", "1,234.56", "500", starting at row 1 with "3000".
    let expected = [
        "300000", "300000", "150050", "240000", "80000", "123456", "50000", "300000", "300000",
        "300000", "150050", "240000",
    ];
    assert_eq!(amounts, expected);
    let dir = out.join("households");
    for n in 1..=12 {
        let rid = format!("county-1-2024-pay-{n:04}");
        let receipt = dir.join(format!("{rid}.receipt.json"));
        let html = std::fs::read_to_string(dir.join(format!("{rid}.receipt.html"))).unwrap();
        assert!(html.contains("daylight-household-receipt/v1"), "{html}");
        // Small, sharing the one verifier beside it (the browser test opens such a pair).
        assert!(html.len() < 120_000, "{rid}: {} bytes", html.len());
        assert!(
            html.contains("<script src=\"receipt-verifier.js\">"),
            "{html}"
        );
        let verified = ok(daylight(&[
            "receipt",
            "verify",
            "--genesis",
            p(&net.network.genesis_file),
            p(&receipt),
        ]));
        assert!(verified.stdout.contains("opening"), "{}", verified.stdout);
    }
    let verifier = std::fs::read_to_string(dir.join("receipt-verifier.js")).unwrap();
    assert!(verifier.contains("DAYLIGHT_RECEIPT_VERIFIER"));
    // The printed page's QR code scans, with an independent decoder, to the receipt itself.
    if qr_scan::available() {
        let rid = "county-1-2024-pay-0003";
        let scanned = qr_scan::scan_page(&dir.join(format!("{rid}.receipt.html"))).unwrap();
        assert_eq!(scanned.len(), 1, "one QR code on the page: {scanned:?}");
        // The test genesis lists no member's address, so the link has no origin.
        let code = scanned[0].strip_prefix("/receipt#").unwrap_or_else(|| {
            panic!(
                "the code is the receipt's link: {}",
                &scanned[0][..60.min(scanned[0].len())]
            )
        });
        let carried: Value = serde_json::from_str(&receipt_code::decode(code).unwrap()).unwrap();
        let written: Value = serde_json::from_slice(
            &std::fs::read(dir.join(format!("{rid}.receipt.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(carried, written, "the QR code carries the receipt");
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI installs chromium and zbar-tools"
        );
        eprintln!("SKIPPED scanning the receipt's QR code: chromium or zbarimg is missing");
    }
    // Run again: everything is logged already, nothing is sent twice.
    let again = ok(run(&net.import(
        &mapping,
        &data("payments-gb18030.csv"),
        &out,
        &[],
    )));
    assert_eq!(again.json()["logged_now"], 0, "{}", again.stdout);
    assert_eq!(again.json()["logged_before"], 12);
    assert_eq!(net.log_size(), 1 + 8 + 12);
    // The same sheet as LibreOffice Calc saves it as CSV in GB18030 (its own quoting and line
    // ends): read as the same twelve records, so all are found logged already.
    let libreoffice = ok(run(&net.import(
        &mapping,
        &data("payments-libreoffice-gb18030.csv"),
        &out,
        &[],
    )));
    let report = libreoffice.json();
    assert_eq!(report["read_as"], "CSV, GB18030", "{}", libreoffice.stdout);
    assert_eq!(report["logged_now"], 0, "{}", libreoffice.stdout);
    assert_eq!(report["logged_before"], 12, "{}", libreoffice.stdout);
    assert_eq!(net.log_size(), 1 + 8 + 12);

    // No ID number in anything the nodes hold or serve, nor in anything the import wrote.
    let ids = ids();
    let served = [
        "/v1/records?log=county-1&limit=100".to_string(),
        "/v1/feed?after=0".to_string(),
        "/log/county-1/tile/entries/000.p/21".to_string(),
        "/v1/audit".to_string(),
    ];
    let mut paths: Vec<String> = served.to_vec();
    for n in 1..=12 {
        paths.push(format!("/v1/records/county-1-2024-pay-{n:04}"));
        paths.push(format!("/log/county-1/receipt/{}", n + 8));
    }
    for node in [&net.county, &net.city] {
        for path in &paths {
            let reply = get(&node.url(path)).unwrap();
            assert_no_id(&format!("{path} ({})", reply.status), &reply.body, &ids);
        }
    }
    let city_checked = wait_quorum(
        &net.city,
        &daylight_genesis::GenesisChain::parse_any(
            &std::fs::read(&net.network.genesis_file).unwrap(),
        )
        .unwrap(),
        "county-1",
        21,
        Duration::from_secs(60),
    );
    assert!(city_checked >= 21);
    for file in files(net.network.dir.path()) {
        let bytes = std::fs::read(&file).unwrap();
        assert_no_id(&file.display().to_string(), &bytes, &ids);
    }
}

#[test]
fn a_dry_run_names_every_bad_row_with_its_column_and_reason() {
    let dir = daylight_tests::TempDir::new("import-dry");
    let programme = dir.path().join("programme.key");
    ok(daylight(&[
        "programme-key",
        "new",
        "--program",
        PROGRAM,
        "--out",
        p(&programme),
    ]));
    let mapping = dir.path().join("bad.toml");
    std::fs::write(&mapping, payments_mapping("pay", &"ab".repeat(32))).unwrap();
    let sheet = data("bad-rows.csv");
    let run = expect(
        2,
        daylight(&[
            "--json",
            "import",
            "--dry-run",
            "--mapping",
            p(&mapping),
            "--programme-key",
            p(&programme),
            "--out",
            p(&dir.path().join("out")),
            p(&sheet),
        ]),
    );
    let report = run.json();
    let errors = report["errors"].as_array().expect("errors listed").clone();
    let expected: Vec<Value> =
        serde_json::from_slice(&std::fs::read(data("bad-rows.expected.json")).unwrap()).unwrap();
    assert_eq!(expected.len(), 30);
    assert_eq!(report["bad_rows"], 30, "{}", run.stdout);
    let named: BTreeSet<u64> = errors.iter().map(|e| e["row"].as_u64().unwrap()).collect();
    for want in &expected {
        let row = want["row"].as_u64().unwrap();
        let found = errors.iter().any(|e| {
            e["row"] == want["row"]
                && e["column"] == want["column"]
                && e["reason"]
                    .as_str()
                    .unwrap()
                    .contains(want["reason"].as_str().unwrap())
        });
        assert!(found, "row {row}: expected {want}, got {errors:#?}");
    }
    assert!(
        !named.contains(&2) && !named.contains(&33),
        "good rows named: {named:?}"
    );
    assert_eq!(named.len(), 30);
    assert!(!dir.path().join("out").exists(), "a dry run writes nothing");
    assert_no_id("the dry run's report", run.all().as_bytes(), &ids());
    // Human output names rows the same way.
    let human = expect(
        2,
        daylight(&[
            "import",
            "--dry-run",
            "--mapping",
            p(&mapping),
            "--programme-key",
            p(&programme),
            p(&sheet),
        ]),
    );
    assert!(
        human
            .stdout
            .contains("row 26, column 发放日期: \"2024/13/01\": there is no month 13"),
        "{}",
        human.stdout
    );
}

#[test]
fn an_import_killed_halfway_and_run_again_logs_every_row_exactly_once() {
    let net = Net::start();
    let mapping = net.payments_mapping("big");
    let out = net.path("big.out");
    let sheet = data("payments-300.csv");
    // Small batches, one at a time: the kill lands between batches or inside one.
    let args = net.import(
        &mapping,
        &sheet,
        &out,
        &["--batch", "3", "--jobs", "1", "--no-receipts"],
    );
    let mut child = Command::new(cli_binary().unwrap())
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    for line in stderr.lines() {
        let line = line.unwrap();
        let logged: u64 = line
            .strip_prefix("logged ")
            .and_then(|l| l.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        if logged >= 60 {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let size = net.log_size();
    assert!(
        (1 + 60..1 + 300).contains(&size),
        "the import was killed halfway: the log holds {size} entries"
    );
    // The openings written before the kill, each synced before its record was sent.
    let before: BTreeMap<String, String> = std::fs::read_to_string(out.join("openings.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|o| {
            (
                o["rid"].as_str().unwrap().to_string(),
                o["nonce"].to_string(),
            )
        })
        .collect();
    assert!(before.len() as u64 >= size - 1);

    let again = ok(run(&args));
    let report = again.json();
    assert_eq!(
        report["logged_now"].as_u64().unwrap() + report["logged_before"].as_u64().unwrap(),
        300,
        "{}",
        again.stdout
    );
    assert_eq!(
        net.log_size(),
        301,
        "every row exactly once, and the funding receipt"
    );
    // Every household's opening, once each, in the journal (the clerk's copy; receipts carry
    // each household's own).
    let lines = std::fs::read_to_string(out.join("openings.jsonl")).unwrap();
    let mut openings: BTreeMap<String, Opening> = BTreeMap::new();
    // Blank lines and a line a kill cut short are not openings (the journal skips them too).
    for opening in lines
        .lines()
        .filter_map(|l| serde_json::from_str::<Opening>(l).ok())
    {
        let rid = opening.rid.to_string();
        assert!(
            openings.insert(rid.clone(), opening).is_none(),
            "{rid} twice"
        );
    }
    assert_eq!(openings.len(), 300);
    for n in 1..=300 {
        let rid = format!("county-1-2024-big-{n:04}");
        let answer = net
            .record(&rid)
            .unwrap_or_else(|| panic!("{rid} is not logged"));
        let entry = SignedRecord::from_value(answer["entry"].clone()).unwrap();
        let opening = &openings[&rid];
        opening
            .verify(&entry)
            .unwrap_or_else(|e| panic!("{rid}: the household's opening does not open it: {e}"));
        if let Some(nonce) = before.get(&rid) {
            assert_eq!(
                &serde_json::to_string(&opening.nonce).unwrap(),
                nonce,
                "{rid}"
            );
        }
    }
}
