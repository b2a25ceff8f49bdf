//! The clerks' tools as a county clerk uses them (DESIGN §7b, docs/cli.md): a programme key,
//! household records made locally from ID numbers (which never leave the machine or reach a
//! file except the household's own copy), attestations added by each signer to a record
//! file, the operator's signature added without submitting, and the result accepted by a
//! real node.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use daylight_genesis::{Attestor, GenesisBuilder, Role, names};
use daylight_tests::lifecycle::{daylight, expect, ok, p};
use daylight_tests::{
    MemberKeys, NETWORK, NodeProcess, TempDir, TestNetwork, cli_binary, get, post_json,
    set_bootstrap,
};
use daylight_verifier::record::{Opening, SignedRecord};
use daylight_verifier::{KeyType, SigningKey};
use serde_json::Value;

const PROGRAM: &str = "rural-revitalisation-2024";
/// A synthetic resident ID number with a valid check character (see
/// tests/data/import/generate.py for how such numbers are made).
const ID: &str = "320206198001019003";
const ROLES: [&str; 2] = ["village_committee", "township"];

/// A city and a county (quorum 1) whose genesis lists two attestor keys of the county; the
/// county's operator and attestor keys are written to files.
fn network() -> (TestNetwork, BTreeMap<String, PathBuf>) {
    let dir = TempDir::new("clerk");
    let mut draft = GenesisBuilder::new(NETWORK);
    draft.set_quorum(1);
    let city = MemberKeys::generate(dir.path(), "city-1").unwrap();
    let county = MemberKeys::generate(dir.path(), "county-1").unwrap();
    let mut files = BTreeMap::new();
    let mut county_member = county.member("county-1", Role::County, "320206");
    county_member.parent = Some("city-1".into());
    for role in ROLES {
        let name = names::attestor_key_name(NETWORK, "county-1", role, "zhangjia");
        let key = SigningKey::generate(&name, KeyType::Ed25519).unwrap();
        county_member.attestors.push(Attestor {
            role: role.into(),
            key: key.verifier(),
        });
        let file = dir.path().join(format!("{role}.key"));
        std::fs::write(&file, key.to_private_key_string()).unwrap();
        files.insert(role.to_string(), file);
    }
    // A key named like an attestor that the genesis does not list.
    let stranger = SigningKey::generate(
        &names::attestor_key_name(NETWORK, "county-1", "township", "unknown"),
        KeyType::Ed25519,
    )
    .unwrap();
    let file = dir.path().join("stranger.key");
    std::fs::write(&file, stranger.to_private_key_string()).unwrap();
    files.insert("stranger".into(), file);
    let file = dir.path().join("operator.key");
    std::fs::write(&file, county.operator.to_private_key_string()).unwrap();
    files.insert("operator".into(), file);
    draft.add_member(city.member("city-1", Role::City, "320200"));
    draft.add_member(county_member);
    let mut signed = draft.sign(&city.log).unwrap();
    signed.sign(&county.log).unwrap();
    let genesis_file = dir.path().join("genesis.note");
    std::fs::write(&genesis_file, signed.to_text()).unwrap();
    let keys = BTreeMap::from([
        ("city-1".to_string(), city),
        ("county-1".to_string(), county),
    ]);
    (
        TestNetwork {
            dir,
            genesis_file,
            keys,
        },
        files,
    )
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Runs `daylight household ...` with the ID number on standard input.
fn household(args: &[&str], id: &str) -> daylight_tests::lifecycle::Run {
    let mut child = Command::new(cli_binary().unwrap())
        .arg("household")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{id}").unwrap();
    let out = child.wait_with_output().unwrap();
    daylight_tests::lifecycle::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn contains(path: &Path, text: &str) -> bool {
    String::from_utf8_lossy(&std::fs::read(path).unwrap()).contains(text)
}

#[test]
fn programme_keys_and_household_records_are_made_locally() {
    let dir = TempDir::new("clerk-household");
    let key = dir.path().join("programme.key");
    let made = ok(daylight(&[
        "--json",
        "programme-key",
        "new",
        "--program",
        PROGRAM,
        "--out",
        p(&key),
    ]));
    assert_eq!(mode(&key), 0o600);
    let secret = std::fs::read_to_string(&key).unwrap();
    let secret = secret.split_whitespace().nth(2).unwrap().to_string();
    let shown = ok(daylight(&["--json", "programme-key", "show", p(&key)]));
    assert_eq!(shown.json()["fingerprint"], made.json()["fingerprint"]);
    assert_eq!(shown.json()["program"], PROGRAM);
    assert!(!shown.all().contains(&secret) && !made.all().contains(&secret));
    let again = expect(
        2,
        daylight(&[
            "programme-key",
            "new",
            "--program",
            PROGRAM,
            "--out",
            p(&key),
        ]),
    );
    assert!(
        again.stderr.contains("never overwritten"),
        "{}",
        again.stderr
    );
    assert!(std::fs::read_to_string(&key).unwrap().contains(&secret));

    // An enrolment, the ID number on standard input; written without the ID number.
    let record = dir.path().join("enrol.json");
    let copy = dir.path().join("household-copy.json");
    let common = |out: &Path| {
        vec![
            "--programme-key".to_string(),
            p(&key).into(),
            "--rid".into(),
            "county-1-2024-hh-0001".into(),
            "--area".into(),
            "320206101201".into(),
            "--date".into(),
            "2024年4月12日".into(),
            "--out".into(),
            p(out).into(),
        ]
    };
    let mut args = vec!["enrol".to_string()];
    args.extend(common(&record));
    args.extend(
        [
            "--notice-start",
            "2024/4/1",
            "--notice-end",
            "2024-04-10",
            "--basis",
            "income_below_line",
            "--household-copy",
            p(&copy),
        ]
        .map(String::from),
    );
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = ok(household(&refs, &ID.to_lowercase()));
    assert!(!run.all().contains(ID), "the ID number was printed");
    let value: Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    assert_eq!(value["status"], "enrolled");
    assert_eq!(value["event_date"], "2024-04-12");
    assert_eq!(value["notice"]["start"], "2024-04-01");
    assert_eq!(value["program"], PROGRAM);
    assert!(!contains(&record, ID));
    assert!(
        contains(&copy, ID),
        "the household's own copy holds its ID number"
    );
    assert_eq!(mode(&copy), 0o600);
    // The same ID number gives the same pseudonym; a typo is refused without echoing it.
    let exit = dir.path().join("exit.json");
    let mut args = vec!["exit".to_string()];
    args.extend(common(&exit));
    args[4] = "county-1-2024-hh-0002".into();
    args.extend(
        [
            "--notice-start",
            "2024-04-01",
            "--notice-end",
            "2024-04-10",
            "--basis",
            "income_stable",
        ]
        .map(String::from),
    );
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(household(&refs, ID));
    let exited: Value = serde_json::from_slice(&std::fs::read(&exit).unwrap()).unwrap();
    assert_eq!(exited["pseudonym"], value["pseudonym"]);
    let typo = format!("{}1", &ID[..17]);
    let refused = expect(2, household(&refs, &typo));
    assert!(
        refused.stderr.contains("check character"),
        "{}",
        refused.stderr
    );
    assert!(!refused.all().contains(&typo));

    // A payment: the commitment in the record opens with the household's opening.
    let payment = dir.path().join("payment.json");
    let opening = dir.path().join("opening.json");
    let leaf = "ab".repeat(32);
    let funded = format!("county-1:county-1-2024-rcpt-0001:{leaf}");
    let mut args = vec!["payment".to_string()];
    args.extend(common(&payment));
    args[4] = "county-1-2024-pay-0001".into();
    args.extend(
        [
            "--amount",
            "¥3,000.00",
            "--funded-by",
            &funded,
            "--purpose",
            "产业扶持补贴",
            "--opening",
            p(&opening),
        ]
        .map(String::from),
    );
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(household(&refs, ID));
    assert_eq!(mode(&opening), 0o600);
    assert!(!contains(&payment, ID) && !contains(&opening, ID));
    let value: Value = serde_json::from_slice(&std::fs::read(&payment).unwrap()).unwrap();
    assert_eq!(value["amount"]["minor"], "300000");
    let op = SigningKey::generate(
        &names::operator_key_name(NETWORK, "county-1", "clerk"),
        KeyType::Ed25519,
    )
    .unwrap();
    let signed = daylight_verifier::record::Record::from_value(value)
        .unwrap()
        .sign(&op);
    let opened: Opening = serde_json::from_slice(&std::fs::read(&opening).unwrap()).unwrap();
    opened
        .verify(&signed)
        .expect("the opening opens the payment");
    let again = expect(2, household(&refs, ID));
    assert!(
        again.stderr.contains("never overwritten"),
        "{}",
        again.stderr
    );
}

#[test]
fn attestations_pass_between_signers_before_the_operator_publishes() {
    let (network, keys) = network();
    let genesis = network.genesis_file.clone();
    let dir = network.dir.path().to_path_buf();
    let programme = dir.join("programme.key");
    ok(daylight(&[
        "programme-key",
        "new",
        "--program",
        PROGRAM,
        "--out",
        p(&programme),
    ]));
    let record = dir.join("exit.json");
    ok(household(
        &[
            "exit",
            "--programme-key",
            p(&programme),
            "--rid",
            "county-1-2024-hh-0031",
            "--area",
            "320206101201",
            "--date",
            "2024-04-12",
            "--notice-start",
            "2024-04-01",
            "--notice-end",
            "2024-04-10",
            "--basis",
            "income_stable",
            "--out",
            p(&record),
        ],
        ID,
    ));
    let attest = |role: &str, file: &Path| {
        daylight(&[
            "--json",
            "attest",
            "--key",
            p(&keys[role]),
            "--genesis",
            p(&genesis),
            p(file),
        ])
    };
    // The village committee signs the file, then passes it to the township.
    let first = ok(attest("village_committee", &record));
    assert_eq!(first.json()["signatures"].as_array().unwrap().len(), 1);
    let second = ok(attest("township", &record));
    let roles: Vec<Value> = second.json()["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["role"].clone())
        .collect();
    assert_eq!(roles, ["village_committee", "township"]);
    // Signing twice adds nothing.
    let twice = ok(attest("township", &record));
    assert_eq!(twice.json()["added"], false);
    // A key the genesis does not list, and an operator key, are refused.
    let stranger = expect(2, attest("stranger", &record));
    assert!(
        stranger.stderr.contains("does not list"),
        "{}",
        stranger.stderr
    );
    let operator = expect(2, attest("operator", &record));
    assert!(
        operator.stderr.contains("daylight sign"),
        "{}",
        operator.stderr
    );
    // A record changed after it was signed is refused, naming who signed it.
    let tampered = dir.join("tampered.json");
    let text = std::fs::read_to_string(&record).unwrap();
    std::fs::write(
        &tampered,
        text.replace("income_stable", "income_below_line"),
    )
    .unwrap();
    let refused = expect(2, attest("township", &tampered));
    assert!(
        refused.stderr.contains("village_committee") && refused.stderr.contains("changed"),
        "{}",
        refused.stderr
    );
    // The operator signs without submitting; the file then goes to the node as it is.
    let signed = dir.join("signed.json");
    let run = ok(daylight(&[
        "sign",
        "--key",
        p(&keys["operator"]),
        "--genesis",
        p(&genesis),
        "--out",
        p(&signed),
        p(&record),
    ]));
    assert!(run.stdout.contains("operator"), "{}", run.stdout);
    let parsed = SignedRecord::from_json(&std::fs::read(&signed).unwrap()).unwrap();
    assert_eq!(parsed.signatures.len(), 3);
    let city_config = network.init_node("city-1").unwrap();
    let county_config = network.init_node("county-1").unwrap();
    let city = NodeProcess::start(&city_config).unwrap();
    set_bootstrap(&county_config, std::slice::from_ref(&city.p2p)).unwrap();
    let county = NodeProcess::start(&county_config).unwrap();
    let reply = post_json(&county.url("/v1/records"), &std::fs::read(&signed).unwrap()).unwrap();
    assert_eq!(reply.status, 201, "{}", reply.text());
    let logged = get(&county.url("/v1/records/county-1-2024-hh-0031"))
        .unwrap()
        .json();
    assert_eq!(logged["entry"]["signatures"].as_array().unwrap().len(), 3);
    assert!(!logged.to_string().contains(ID));
    drop(city);
}
