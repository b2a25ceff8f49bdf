//! Benchmark of `daylight import` (issue 17): a sheet of 100,000 payments imported end to end
//! into a local node — read, mapped, checked, signed, sent in batches, logged (fsync'd) and
//! acknowledged — timed from the command's start to its exit.
//!
//! `cargo build --release -p daylight-cli -p daylight-node && cargo run --release -p
//! daylight-tests --bin daylight-importbench -- [ROWS] [--households] [--with-mirror]
//! [--receipts] [-- IMPORT OPTIONS]`
//!
//! The county's real `daylight-node` process runs on loopback, as the issue's "a local node";
//! the sheet is a UTF-8 CSV written here. With `--with-mirror`, the city's node runs too, on
//! the same cores: it witnesses the county and mirrors (verifies and indexes) every record as
//! it is logged, work another agency's machine does in a real network. With `--households`,
//! every row is a household payment: an ID number made into a pseudonym, a commitment with a
//! fresh nonce, and the opening synced to disk before its batch is sent. Receipts are not
//! written unless `--receipts` is given (household rows only; it implies `--with-mirror`, the
//! witness whose cosignature a receipt needs): then the receipts' step, which waits for a
//! cosigned checkpoint and writes each household's receipt and printable page, is timed on
//! its own.

use std::io::Write as _;
use std::process::Command;
use std::time::Instant;

use daylight_tests::{NodeProcess, TestNetwork, cli_binary, post_json, set_bootstrap};

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

fn resident_id(n: u32) -> String {
    let body = format!(
        "3202061980{:02}{:02}{:03}",
        1 + n % 12,
        1 + n % 28,
        n % 1000
    );
    let total: u32 = body
        .bytes()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    let check = b"10X98765432"[(total % 11) as usize] as char;
    format!("{body}{check}")
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let households = args.iter().any(|a| a == "--households");
    let own = |flag: &str| args.iter().take_while(|a| *a != "--").any(|a| a == flag);
    let receipts = own("--receipts");
    anyhow::ensure!(
        households || !receipts,
        "--receipts needs --households: only household rows get receipts"
    );
    let with_mirror = own("--with-mirror") || receipts;
    // Anything after `--` goes to `daylight import` as it is (e.g. `-- --batch 4096`).
    let import_args: Vec<&String> = args.iter().skip_while(|a| *a != "--").skip(1).collect();
    let rows: u32 = args
        .iter()
        .take_while(|a| *a != "--")
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let network = TestNetwork::city_and_county()?;
    let dir = network.dir.path().to_path_buf();
    let keys = &network.keys["county-1"];
    let operator = dir.join("operator.key");
    std::fs::write(&operator, keys.operator.to_private_key_string())?;
    let county_config = network.init_node("county-1")?;
    let city = if with_mirror {
        let city = NodeProcess::start(&network.init_node("city-1")?)?;
        set_bootstrap(&county_config, std::slice::from_ref(&city.p2p))?;
        Some(city)
    } else {
        None
    };
    let county = NodeProcess::start(&county_config)?;
    let receipt =
        daylight_tests::signed_receipt(&keys.operator, "county-1-2024-rcpt-0001", 1 << 50);
    let reply = post_json(&county.url("/v1/records"), &serde_json::to_vec(&receipt)?)?;
    anyhow::ensure!(reply.status == 201, "receipt refused: {}", reply.text());
    let leaf = reply.json()["leaf"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    let sheet = dir.join("payments.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&sheet)?);
    write!(
        out,
        "\u{feff}序号,收款单位,身份证号,村代码,金额（元）,发放日期,用途\r\n"
    )?;
    for n in 1..=rows {
        let amount = format!("\"{},{:03}.{:02}\"", 1 + n % 90, n % 1000, n % 100);
        let date = format!("2024年{}月{}日", 1 + n % 12, 1 + n % 28);
        writeln!(
            out,
            "{n},惠山区第{}农业合作社,{},320206101{:03},{amount},{date},产业扶持第{}期\r",
            n % 500,
            resident_id(n),
            n % 300,
            1 + n % 4
        )?;
    }
    out.flush()?;
    drop(out);
    let payee = if households {
        "payee.household.pseudonym = { column = \"身份证号\", as = \"pseudonym\" }\n\
         payee.household.area = { column = \"村代码\" }\n\
         payee.household.commitment = { as = \"commitment\" }\n"
    } else {
        "payee.org.name = { column = \"收款单位\" }\n"
    };
    let mapping = dir.join("mapping.toml");
    std::fs::write(
        &mapping,
        format!(
            "[record]\nkind = \"payment\"\n\
             rid = {{ template = \"county-1-2024-pay-{{序号:06}}\" }}\n\
             program = \"rural-revitalisation-2024\"\n\
             event_date = {{ column = \"发放日期\", as = \"date\" }}\n\
             purpose = {{ column = \"用途\" }}\n\
             amount = {{ column = \"金额（元）\", as = \"money\" }}\n{payee}\
             [[record.funded_by]]\n\
             ref = {{ log = \"county-1\", rid = \"county-1-2024-rcpt-0001\", leaf = \"{leaf}\" }}\n\
             amount = {{ column = \"金额（元）\", as = \"money\" }}\n"
        ),
    )?;
    let programme = dir.join("programme.key");
    let status = Command::new(cli_binary()?)
        .args([
            "programme-key",
            "new",
            "--program",
            "rural-revitalisation-2024",
            "--out",
        ])
        .arg(&programme)
        .status()?;
    anyhow::ensure!(status.success(), "programme-key new failed");

    let started = Instant::now();
    let mut import = Command::new(cli_binary()?);
    import.args(["--json", "import", "--node", &county.url("")]);
    if receipts {
        import.arg("--genesis").arg(&network.genesis_file);
    } else {
        import.arg("--no-receipts");
    }
    let output = import
        .arg("--mapping")
        .arg(&mapping)
        .arg("--key")
        .arg(&operator)
        .arg("--programme-key")
        .arg(&programme)
        .arg("--out")
        .arg(dir.join("import"))
        .args(import_args)
        .arg(&sheet)
        .output()?;
    let elapsed = started.elapsed();
    let output_seconds = elapsed.as_secs_f64();
    anyhow::ensure!(
        output.status.success(),
        "import failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    anyhow::ensure!(
        report["logged_now"] == rows,
        "not every row was logged: {report}"
    );
    let size = std::fs::metadata(&sheet)?.len();
    println!(
        "import of {rows} {} rows ({:.1} MB CSV) into one node{}, end to end: {:.2} s, {:.0} \
         rows/s (the command's own count: {:.2} s)",
        if households {
            "household payment"
        } else {
            "organisation payment"
        },
        size as f64 / 1e6,
        if with_mirror {
            " with a mirroring witness on the same cores"
        } else {
            ""
        },
        elapsed.as_secs_f64(),
        f64::from(rows) / elapsed.as_secs_f64(),
        report["seconds"].as_f64().unwrap_or(0.0)
    );
    if receipts {
        let written = report["receipts_written"].as_u64().unwrap_or(0);
        anyhow::ensure!(
            written == u64::from(rows),
            "not every receipt was written: {report}"
        );
        let logging = report["seconds"].as_f64().unwrap_or(0.0);
        let step = output_seconds - logging;
        println!(
            "receipts: {written} verified and written (JSON and printable HTML) in {step:.2} s \
             after the last row was logged, {:.0} receipts/s, waiting for the cosigned \
             checkpoint included",
            written as f64 / step
        );
    }
    drop(county);
    drop(city);
    Ok(())
}
