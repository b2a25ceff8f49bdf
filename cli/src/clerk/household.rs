//! `daylight household enrol|exit|payment`: a household record made locally from an ID number
//! and the programme key (docs/records.md, "Households and privacy"). The ID number is read
//! from standard input or a file (never an argument, which shells keep in their history and
//! other users see in the process list), checked (18 characters, GB 11643 check character),
//! turned into the programme's pseudonym, and forgotten: it is written only to the
//! household's own copy, and only when the clerk asks for it (`--household-copy`).

use std::io::BufRead as _;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use daylight_verifier::record::{
    Currency, MemberId, Money, Opening, Record, Rid, SignedRecord, check_privacy, pseudonym,
    validate_all,
};
use serde_json::{Value, json};

use crate::clerk::files::{create_private, pretty};
use crate::clerk::programme_key;
use crate::clerk::values::{normalize_id, parse_date, parse_major};
use crate::error::{CliError, input};
use crate::output::Report;

/// The `format` of the household's own copy.
pub const COPY_FORMAT: &str = "daylight-household-copy/v1";

/// What every household command needs.
#[derive(Args, Debug)]
pub struct Common {
    /// The programme key file (`daylight programme-key new`); the record's `program` is the
    /// key's programme.
    #[arg(long)]
    pub programme_key: PathBuf,
    /// Where to read the household's ID number: a file, or `-` for standard input (one line).
    #[arg(long, value_name = "FILE", default_value = "-")]
    pub id_number_from: String,
    /// The record id, e.g. county-320206-2024-hh-0031.
    #[arg(long)]
    pub rid: String,
    /// The household's administrative division code (village 12 digits, township 9).
    #[arg(long)]
    pub area: String,
    /// The date of the decision or payment, e.g. 2024-04-12, 2024/4/12 or 2024年4月12日.
    #[arg(long)]
    pub date: String,
    /// Where to write the record (JSON without signatures); never overwrites a file.
    #[arg(long)]
    pub out: PathBuf,
    /// Also write the household's own copy (its ID number, pseudonym and, for a payment, the
    /// opening) to this file, mode 0600: the only file that ever holds the ID number.
    #[arg(long, value_name = "FILE")]
    pub household_copy: Option<PathBuf>,
}

/// The public notice and basis of an enrolment or exit.
#[derive(Args, Debug)]
pub struct Notice {
    /// The first day of the public notice.
    #[arg(long)]
    pub notice_start: String,
    /// The last day of the public notice (the decision comes after it).
    #[arg(long)]
    pub notice_end: String,
    /// The basis of the decision, a code such as income_stable (never free text).
    #[arg(long)]
    pub basis: String,
}

/// `daylight household ...`.
#[derive(Subcommand, Debug)]
pub enum HouseholdCommand {
    /// Makes the record of a household's enrolment (or re-enrolment) after public notice.
    Enrol {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        notice: Notice,
        /// The household was enrolled before and exited: status `reenrolled`.
        #[arg(long)]
        reenrol: bool,
    },
    /// Makes the record of a household's exit after public notice.
    Exit {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        notice: Notice,
    },
    /// Makes a payment to a household, with a fresh commitment, and writes the household's
    /// opening.
    Payment {
        #[command(flatten)]
        common: Common,
        /// The amount in yuan (major units), e.g. 3,000.00 or ¥3000.
        #[arg(long)]
        amount: String,
        /// The currency (ISO 4217).
        #[arg(long, default_value = "CNY")]
        currency: String,
        /// Where the money came from: LOG:RID:LEAF (the whole amount), or LOG:RID:LEAF:AMOUNT
        /// for each of several parts. Repeatable.
        #[arg(long, required = true, value_name = "LOG:RID:LEAF[:AMOUNT]")]
        funded_by: Vec<String>,
        /// The purpose (never about the person).
        #[arg(long)]
        purpose: String,
        /// Where to write the household's opening (JSON, mode 0600; never overwritten).
        #[arg(long)]
        opening: PathBuf,
    },
}

/// Reads one ID number from `from` (`-` is standard input).
fn read_id(from: &str) -> Result<String, CliError> {
    let mut line = String::new();
    if from == "-" {
        std::io::stdin().lock().read_line(&mut line).map_err(|e| {
            input(format!(
                "cannot read the ID number from standard input: {e}"
            ))
        })?;
    } else {
        let text = std::fs::read_to_string(from)
            .map_err(|e| input(format!("cannot read the ID number from {from}: {e}")))?;
        line = text.lines().next().unwrap_or("").to_string();
    }
    normalize_id(&line).map_err(|e| input(format!("the ID number {e}")))
}

/// A member id under which `rid` passes the prefix rule: the part before its first `-`. The
/// node checks the real prefix when the record is published.
fn some_member(rid: &str) -> Result<MemberId, CliError> {
    let first = rid.split('-').next().unwrap_or("");
    MemberId::parse(first).map_err(|e| input(format!("--rid {rid:?}: {e}")))
}

/// Checks a record made here as the node would, except for signatures.
fn check(value: Value) -> Result<Record, CliError> {
    let record = Record::from_value(value).map_err(|e| input(format!("the record: {e}")))?;
    let member = some_member(record.rid.as_str())?;
    let unsigned = SignedRecord {
        record,
        signatures: Vec::new(),
    };
    if let Some(e) = validate_all(&unsigned, &member)
        .into_iter()
        .find(|e| e.path != "signatures")
    {
        return Err(input(format!("the record: {e}")));
    }
    check_privacy(&unsigned).map_err(|e| input(format!("the record: {e}")))?;
    Ok(unsigned.record)
}

/// Parses `LOG:RID:LEAF[:AMOUNT]` parts into `funded_by`, each part's amount in minor units.
fn funded_by(parts: &[String], total: u64, currency: Currency) -> Result<Value, CliError> {
    let mut list = Vec::new();
    for part in parts {
        let fields: Vec<&str> = part.split(':').collect();
        let minor = match (fields.len(), parts.len()) {
            (3, 1) => total,
            (4, _) => parse_major(fields[3], currency.exponent())
                .map_err(|e| input(format!("--funded-by {part}: the amount {e}")))?,
            _ => {
                return Err(input(format!(
                    "--funded-by {part}: write LOG:RID:LEAF, or LOG:RID:LEAF:AMOUNT for each \
                     part when the money came from several sources"
                )));
            }
        };
        list.push(json!({
            "ref": {"log": fields[0], "rid": fields[1], "leaf": fields[2]},
            "amount": {"minor": minor.to_string(), "currency": currency.code()},
        }));
    }
    Ok(Value::Array(list))
}

/// Runs a `daylight household` command.
pub fn run(command: HouseholdCommand) -> Result<Report, CliError> {
    let (common, status, notice, payment) = match command {
        HouseholdCommand::Enrol {
            common,
            notice,
            reenrol,
        } => {
            let status = if reenrol { "reenrolled" } else { "enrolled" };
            (common, status, Some(notice), None)
        }
        HouseholdCommand::Exit { common, notice } => (common, "exited", Some(notice), None),
        HouseholdCommand::Payment {
            common,
            amount,
            currency,
            funded_by,
            purpose,
            opening,
        } => (
            common,
            "paid",
            None,
            Some((amount, currency, funded_by, purpose, opening)),
        ),
    };
    let key = programme_key::load(&common.programme_key)?;
    let date = parse_date(&common.date).map_err(|e| input(format!("--date {e}")))?;
    let id_number = read_id(&common.id_number_from)?;
    let pseudonym = pseudonym(&key.key, &id_number).map_err(|e| input(e.to_string()))?;
    let mut report_json = json!({
        "rid": common.rid, "program": key.program, "pseudonym": pseudonym.to_string(),
        "out": common.out.display().to_string(), "programme_key": key.fingerprint,
    });
    let mut copy = json!({
        "format": COPY_FORMAT, "id_number": id_number, "program": key.program,
        "pseudonym": pseudonym.to_string(), "rid": common.rid,
    });
    let mut opening_out = None;
    let (record, opening) = if let Some(notice) = notice {
        let start =
            parse_date(&notice.notice_start).map_err(|e| input(format!("--notice-start {e}")))?;
        let end = parse_date(&notice.notice_end).map_err(|e| input(format!("--notice-end {e}")))?;
        let record = check(json!({
            "v": 1, "rid": common.rid, "kind": "household", "event_date": date,
            "program": key.program, "pseudonym": pseudonym.to_string(), "area": common.area,
            "status": status, "notice": {"start": start, "end": end}, "basis": notice.basis,
        }))?;
        copy["status"] = json!(status);
        (record, None)
    } else if let Some((amount, currency, parts, purpose, opening_path)) = payment {
        let currency = Currency::parse(&currency).map_err(|e| input(format!("--currency {e}")))?;
        let minor = parse_major(&amount, currency.exponent())
            .map_err(|e| input(format!("--amount {e}")))?;
        let rid = Rid::parse(&common.rid).map_err(|e| input(format!("--rid {e}")))?;
        let opening = Opening::new(pseudonym, rid, Money::new(minor, currency))
            .map_err(|e| input(format!("{e}; try again")))?;
        let record = check(json!({
            "v": 1, "rid": common.rid, "kind": "payment", "event_date": date,
            "program": key.program,
            "payee": {"household": {
                "pseudonym": pseudonym.to_string(), "area": common.area,
                "commitment": opening.commitment().to_string(),
            }},
            "amount": {"minor": minor.to_string(), "currency": currency.code()},
            "funded_by": funded_by(&parts, minor, currency)?,
            "purpose": purpose,
        }))?;
        report_json["commitment"] = json!(opening.commitment().to_string());
        report_json["opening"] = json!(opening_path.display().to_string());
        copy["opening"] = serde_json::to_value(&opening).unwrap_or(Value::Null);
        opening_out = Some(opening_path);
        (record, Some(opening))
    } else {
        return Err(input("nothing to make"));
    };
    // The opening first: a record whose opening was lost could never be proven by its
    // household.
    if let (Some(path), Some(opening)) = (&opening_out, &opening) {
        create_private(path, &pretty(opening)?)?;
    }
    create_private(&common.out, &pretty(&Value::Object(record.to_object()))?)?;
    if let Some(path) = &common.household_copy {
        create_private(path, &pretty(&copy)?)?;
        report_json["household_copy"] = json!(path.display().to_string());
    }
    let mut report = Report::new(report_json);
    report.line(format!(
        "Wrote the {} record {} to {} (pseudonym {}, programme key {}).",
        if opening.is_some() {
            "payment"
        } else {
            "household"
        },
        common.rid,
        common.out.display(),
        pseudonym,
        key.fingerprint
    ));
    if let (Some(path), Some(_)) = (&opening_out, &opening) {
        report.line(format!(
            "Wrote the household's opening to {}: give it to the household with its receipt \
             (`daylight receipt fetch --opening {}`), and to nobody else.",
            path.display(),
            path.display()
        ));
    }
    if let Some(path) = &common.household_copy {
        report.line(format!(
            "Wrote the household's own copy, which holds its ID number, to {}: give it to the \
             household and delete it from this machine.",
            path.display()
        ));
    }
    if let Some(warning) = key.warning {
        report.line(warning);
    }
    report.line(format!(
        "Next: attestors add their signatures (`daylight attest --key KEY {}`), then the \
         operator publishes it (`daylight publish`).",
        common.out.display()
    ));
    Ok(report)
}
