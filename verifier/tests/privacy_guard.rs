//! The privacy guard (DESIGN §4.3, docs/decisions/0009-privacy-guard-unicode.md) judges what a
//! person would read, not the bytes: disguised resident ID, mobile and bank card numbers are
//! refused with the path of the field that holds them and a masked value (table-driven), and
//! near misses — dates, amounts, hashes, codes, lists — are accepted.
//!
//! Every record goes through the node's checks (`check_record`), the log reader
//! (`SignedRecord::from_entry`, whose single-pass reader asserts in debug builds that its
//! privacy screen flags every record the guard refuses) and the audit ledger.

mod common;

use common::*;
use daylight_verifier::audit::Rule;
use daylight_verifier::record::{
    self, Record, RecordError, SignedRecord, Uscc, check_privacy, to_entry_bytes,
};
use serde_json::{Value, json};

const LOG: &str = "county-320206";
const PROGRAM: &str = "relief24";

// ---------------------------------------------------------------------------------------
// Numbers with valid check digits, and the ways people write them.

/// An 18-character resident ID: `first17` and its GB 11643 check character.
fn id18(first17: &str) -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    assert_eq!(first17.len(), 17);
    let sum: u32 = first17
        .bytes()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    format!("{first17}{}", CHECK[(sum % 11) as usize] as char)
}

/// A card number: `body` and its Luhn check digit.
fn luhn(body: &str) -> String {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(d - b'0');
            if i % 2 == 0 {
                let twice = d * 2;
                if twice > 9 { twice - 9 } else { twice }
            } else {
                d
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// `text` with its ASCII digits written in the Unicode digit block starting at `zero`.
fn digits_in(text: &str, zero: u32) -> String {
    text.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32(zero + d).expect("a digit"),
            None => c,
        })
        .collect()
}

/// `text` in full-width characters (digits and `X`), as Chinese input methods type them.
fn fullwidth(text: &str) -> String {
    digits_in(text, 0xFF10)
        .replace('X', "\u{FF38}")
        .replace('x', "\u{FF58}")
}

/// `text` with `sep` between every two characters.
fn interleave(text: &str, sep: &str) -> String {
    let chars: Vec<String> = text.chars().map(String::from).collect();
    chars.join(sep)
}

/// `text` cut into groups of `sizes` characters (the rest in a last group), joined by `sep`.
fn grouped(text: &str, sizes: &[usize], sep: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut at = 0;
    for &n in sizes {
        out.push(chars[at..at + n].iter().collect::<String>());
        at += n;
    }
    if at < chars.len() {
        out.push(chars[at..].iter().collect());
    }
    out.join(sep)
}

// ---------------------------------------------------------------------------------------
// Records with a value in one field.

/// Where a value goes.
#[derive(Debug, Clone, Copy)]
enum Slot {
    /// A payment's purpose.
    Purpose,
    /// The name of an organisation paid.
    OrgName,
    /// The title of a supporting document.
    DocTitle,
    /// The project identifier of a payment.
    Project,
    /// An amount in minor units (the payment's amount and its funding part).
    Minor,
    /// A void's reason.
    VoidReason,
    /// The purpose of a correction's replacement payment.
    Replacement,
}

impl Slot {
    /// The path the guard must name.
    fn path(self) -> &'static str {
        match self {
            Slot::Purpose => "purpose",
            Slot::OrgName => "payee.org.name",
            Slot::DocTitle => "documents[0].title",
            Slot::Project => "project",
            Slot::Minor => "amount.minor",
            Slot::VoidReason => "reason",
            Slot::Replacement => "replacement.purpose",
        }
    }

    /// A valid, signed record with `value` in this slot.
    fn record(self, value: &str) -> SignedRecord {
        self.record_numbered(value, 1)
    }

    /// [`Slot::record`], as record number `n` of the log (its rid).
    fn record_numbered(self, value: &str, n: usize) -> SignedRecord {
        let mut fields = match self {
            Slot::VoidReason => json!({
                "kind": "void",
                "voids": {"rid": format!("{LOG}-2024-pay-0101"), "leaf": hex("payment")},
                "reason": value,
            }),
            Slot::Replacement => {
                let mut replacement = payment();
                replacement["purpose"] = json!(value);
                replacement["event_date"] = json!("2024-02-01");
                replacement["program"] = json!(PROGRAM);
                json!({
                    "kind": "correction",
                    "corrects": {"rid": format!("{LOG}-2024-pay-0101"), "leaf": hex("payment")},
                    "reason": "The purpose was incomplete",
                    "replacement": replacement,
                })
            }
            _ => {
                let mut p = payment();
                match self {
                    Slot::Purpose => p["purpose"] = json!(value),
                    Slot::OrgName => p["payee"]["org"]["name"] = json!(value),
                    Slot::DocTitle => p["documents"][0]["title"] = json!(value),
                    Slot::Project => p["project"] = json!(value),
                    Slot::Minor => {
                        p["amount"]["minor"] = json!(value);
                        p["funded_by"][0]["amount"]["minor"] = json!(value);
                    }
                    Slot::VoidReason | Slot::Replacement => unreachable!(),
                }
                p
            }
        };
        let map = fields.as_object_mut().expect("object");
        map.insert("v".into(), json!(1));
        map.insert("rid".into(), json!(format!("{LOG}-2024-x-{n:04}")));
        map.insert("event_date".into(), json!("2024-02-01"));
        map.insert("program".into(), json!(PROGRAM));
        Record::from_value(fields)
            .unwrap_or_else(|e| panic!("{self:?} {value:?}: {e}"))
            .sign(&operator(LOG))
    }
}

/// The kind fields of a payment to an organisation, with no personal number anywhere.
fn payment() -> Value {
    json!({
        "kind": "payment",
        "payee": {"org": {"name": "Zhangjia Tea Growers' Cooperative", "uscc": "93320206MA1XKQ8Y35"}},
        "amount": cny(3_000_000),
        "funded_by": [{"ref": {"log": LOG, "rid": format!("{LOG}-2024-rcpt-0003"), "leaf": hex("receipt")},
                       "amount": cny(3_000_000)}],
        "purpose": "Seeds and tools",
        "documents": [{"title": "Invoice 7", "sha256": hex("invoice")}],
    })
}

/// Runs the node's checks, and the log reader's, on a signed record: the first error.
fn guard(signed: &SignedRecord) -> Result<(), RecordError> {
    let entry = to_entry_bytes(signed);
    // The log reader: its single-pass screen must flag what the guard refuses (a debug
    // assertion inside checks it), and it reads back the same record.
    let read = SignedRecord::from_entry(&entry).expect("a well-formed entry");
    assert_eq!(&read, signed);
    let direct = check_privacy(&read);
    let node = record::check_record(&entry, &member(LOG), &accepted(LOG)).map(|_| ());
    assert_eq!(direct, node, "check_privacy and check_record disagree");
    node
}

// ---------------------------------------------------------------------------------------
// The cases.

/// What the guard must say a refused value is.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Id,
    Mobile,
    Card,
}

impl Kind {
    fn words(self) -> &'static str {
        match self {
            Kind::Id => "resident ID number",
            Kind::Mobile => "mobile phone number",
            Kind::Card => "bank card number",
        }
    }
}

/// A refused case: where the value goes, the value, what it hides and its plain digits.
struct Refused {
    slot: Slot,
    value: String,
    kind: Kind,
    plain: String,
}

fn refused_cases() -> Vec<Refused> {
    // The GB 11643 example, whose check character is X, and two more with digit checks.
    let id_x = "11010519491231002X".to_string();
    let id_a = id18("32068119800101123");
    let id_b = id18("44030619991231567");
    assert!(
        !id_a.ends_with('X') && !id_b.ends_with('X'),
        "{id_a} {id_b}"
    );
    // First-generation (15-digit) IDs: area, YYMMDD, sequence.
    let old_a = "110105491231002".to_string();
    let old_b = "320681800101123".to_string();
    let mobile = "13812345678".to_string();
    let mobile2 = "15987654321".to_string();
    let mobile3 = "18600001111".to_string();
    let card19 = luhn("622202123456789012");
    let card16 = luhn("621700000000000");
    let visa = "4111111111111111".to_string();
    let mastercard = "5500000000000004".to_string();
    let old_domestic = luhn("955880000000000000");
    let mastercard2 = luhn("222100000000000");
    let card17 = luhn("6222021234567890");

    let mut cases = Vec::new();
    let mut add = |slot: Slot, value: String, kind: Kind, plain: &str| {
        cases.push(Refused {
            slot,
            value,
            kind,
            plain: plain.to_string(),
        })
    };
    use Kind::{Card, Id, Mobile};
    use Slot::*;

    // 18-digit resident IDs.
    add(Purpose, fullwidth(&id_x), Id, &id_x);
    add(Purpose, fullwidth("11010519491231002x"), Id, &id_x);
    add(Purpose, format!("身份证{}", fullwidth(&id_a)), Id, &id_a);
    add(Purpose, digits_in(&id_a, 0x0660), Id, &id_a); // Arabic-Indic
    add(Purpose, digits_in(&id_a, 0x06F0), Id, &id_a); // Extended Arabic-Indic
    add(Purpose, digits_in(&id_a, 0x0966), Id, &id_a); // Devanagari
    add(Purpose, digits_in(&id_a, 0x1D7CE), Id, &id_a); // mathematical bold
    add(Purpose, grouped(&id_x, &[6, 8], " "), Id, &id_x);
    add(Purpose, grouped(&id_x, &[6, 8], "-"), Id, &id_x);
    add(Purpose, grouped(&id_a, &[4, 4, 4, 4], " "), Id, &id_a);
    add(Purpose, grouped(&id_x, &[4, 4, 4, 4], " "), Id, &id_x);
    add(Purpose, interleave(&id_x, "\u{200B}"), Id, &id_x);
    add(Purpose, interleave(&id_a, "\u{200C}"), Id, &id_a);
    add(Purpose, grouped(&id_a, &[6, 8], "\u{2060}"), Id, &id_a);
    add(Purpose, grouped(&id_a, &[3, 3, 3], "\u{FEFF}"), Id, &id_a);
    add(Purpose, grouped(&id_b, &[6, 8], "\u{AD}"), Id, &id_b);
    add(Purpose, format!("{id_x}abc"), Id, &id_x);
    add(Purpose, format!("ID{id_a}abc"), Id, &id_a);
    add(Purpose, format!("{}号", id_b), Id, &id_b);
    add(Purpose, grouped(&id_a, &[6, 8], "\u{3000}"), Id, &id_a);
    add(Purpose, grouped(&id_a, &[6, 8], "\u{A0}"), Id, &id_a);
    add(Purpose, grouped(&id_b, &[6, 8], " \u{2013} "), Id, &id_b);
    add(Purpose, grouped(&id_b, &[6, 8], "."), Id, &id_b);
    add(Purpose, grouped(&id_b, &[6, 8], "\u{B7}"), Id, &id_b);
    add(Purpose, "11010519491231002\u{FF38}".into(), Id, &id_x);
    add(Purpose, "11010519491231002 X".into(), Id, &id_x);
    add(Purpose, "11010519491231002\u{D7}".into(), Id, &id_x);
    add(
        Purpose,
        format!("{}{}", fullwidth(&id_a[..9]), &id_a[9..]),
        Id,
        &id_a,
    );
    add(Purpose, interleave(&id_b, "\u{FE0F}\u{20E3}"), Id, &id_b); // keycaps
    add(
        OrgName,
        format!("Zhang San {}", fullwidth(&id_a)),
        Id,
        &id_a,
    );
    add(DocTitle, grouped(&id_b, &[6, 8], " "), Id, &id_b);
    add(VoidReason, interleave(&id_x, "\u{200B}"), Id, &id_x);
    add(
        Replacement,
        format!("Subsidy for {}", fullwidth(&id_b)),
        Id,
        &id_b,
    );
    add(Minor, id_b.clone(), Id, &id_b);
    // 15-digit (first-generation) IDs.
    add(Purpose, old_a.clone(), Id, &old_a);
    add(Purpose, format!("{old_b}号"), Id, &old_b);
    add(Purpose, fullwidth(&old_b), Id, &old_b);
    add(Purpose, grouped(&old_b, &[6, 6], " "), Id, &old_b);
    add(OrgName, format!("户主 {old_a}"), Id, &old_a);
    add(DocTitle, interleave(&old_a, "\u{200D}"), Id, &old_a);
    // Mobile numbers.
    add(Purpose, fullwidth(&mobile), Mobile, &mobile);
    add(Purpose, "+86 138 1234 5678".into(), Mobile, &mobile);
    add(Purpose, "0086 138 1234 5678".into(), Mobile, &mobile);
    add(Purpose, "0086-13812345678".into(), Mobile, &mobile);
    add(Purpose, "008613812345678".into(), Mobile, &mobile);
    add(Purpose, "(+86)13812345678".into(), Mobile, &mobile);
    add(Purpose, "(+86) 138-1234-5678".into(), Mobile, &mobile);
    add(Purpose, "86 13812345678".into(), Mobile, &mobile);
    add(Purpose, "138.1234.5678".into(), Mobile, &mobile);
    add(Purpose, "138\u{B7}1234\u{B7}5678".into(), Mobile, &mobile);
    add(Purpose, "1381 2345 678".into(), Mobile, &mobile);
    add(Purpose, "138 123 456 78".into(), Mobile, &mobile);
    add(Purpose, interleave(&mobile, "\u{200B}"), Mobile, &mobile);
    add(
        Purpose,
        fullwidth("138\u{FF0D}1234\u{FF0D}5678"),
        Mobile,
        &mobile,
    );
    add(
        Purpose,
        "138\u{3000}1234\u{3000}5678".into(),
        Mobile,
        &mobile,
    );
    add(Purpose, "Tel13812345678abc".into(), Mobile, &mobile);
    add(
        Purpose,
        "电话：１３８ １２３４ ５６７８".into(),
        Mobile,
        &mobile,
    );
    add(Purpose, digits_in(&mobile, 0x0660), Mobile, &mobile);
    add(
        Purpose,
        "\u{2460}\u{2462}\u{2467}\u{2460}\u{2461}\u{2462}\u{2463}\u{2464}\u{2465}\u{2466}\u{2467}"
            .into(),
        Mobile,
        &mobile,
    ); // circled digits
    add(Purpose, "138\u{A0}1234\u{A0}5678".into(), Mobile, &mobile);
    add(
        Purpose,
        "138 \u{2014} 1234 \u{2014} 5678".into(),
        Mobile,
        &mobile,
    );
    add(
        Purpose,
        "138\u{2212}1234\u{2212}5678".into(),
        Mobile,
        &mobile,
    );
    add(
        Purpose,
        "+86\u{2060}138\u{2060}1234\u{2060}5678".into(),
        Mobile,
        &mobile,
    );
    add(
        OrgName,
        "Coop (contact 159 8765 4321)".into(),
        Mobile,
        &mobile2,
    );
    add(
        DocTitle,
        "186\u{2013}0000\u{2013}1111".into(),
        Mobile,
        &mobile3,
    );
    add(
        VoidReason,
        "Requested by 186.0000.1111".into(),
        Mobile,
        &mobile3,
    );
    add(Project, "prj-138-1234-5678".into(), Mobile, &mobile);
    add(Replacement, fullwidth(&mobile2), Mobile, &mobile2);
    // Bank card numbers (Luhn-valid).
    add(Purpose, card19.clone(), Card, &card19);
    add(Purpose, grouped(&card19, &[4, 4, 4, 4], " "), Card, &card19);
    add(Purpose, grouped(&visa, &[4, 4, 4], " "), Card, &visa);
    add(Purpose, grouped(&visa, &[4, 4, 4], "-"), Card, &visa);
    add(Purpose, fullwidth(&card16), Card, &card16);
    add(
        Purpose,
        grouped(&mastercard, &[4, 4, 4], " "),
        Card,
        &mastercard,
    );
    add(Purpose, format!("卡号{old_domestic}"), Card, &old_domestic);
    add(Purpose, mastercard2.clone(), Card, &mastercard2);
    add(Purpose, interleave(&card16, "\u{200B}"), Card, &card16);
    add(
        Purpose,
        fullwidth(&grouped(&card19, &[4, 4, 4, 4], "\u{3000}")),
        Card,
        &card19,
    );
    add(OrgName, format!("Coop, account {card19}"), Card, &card19);
    add(DocTitle, grouped(&card16, &[4, 4, 4], "."), Card, &card16);
    add(Minor, card17.clone(), Card, &card17);
    add(Minor, card19.clone(), Card, &card19);
    cases
}

/// Values a person would not read as personal numbers, with the slot they go in.
fn near_misses() -> Vec<(Slot, String)> {
    let uscc = format!(
        "91320682MA1W8K2P0{}",
        Uscc::check_char("91320682MA1W8K2P0").expect("check character")
    );
    let mut cases: Vec<(Slot, String)> = [
        // Dates, times and ranges.
        "2024-01-15",
        "2024.01.15",
        "20240115",
        "2024/01/15",
        "2024-01-01 to 2024-12-31",
        "2024-01-01 \u{2013} 2024-12-31",
        "2024-01-01\u{2014}2024-12-31",
        "2024-01-15 13:45",
        "2024-01-15 13:45:30+08:00",
        "２０２４年１月１５日至２０２４年１２月３１日",
        "08:00-12:00, 14:00-17:30",
        // Lists, amounts and quantities in text.
        "100, 200, 300",
        "Lots 100 200 300 400",
        "Allocation of 138000000.00 yuan",
        "138,000,000.00 yuan in 3 tranches",
        "￥１３８，０００，０００．００",
        "3000 元 2024年1月15日 发放",
        // Codes and identifiers.
        "Village 320682101001",
        "Villages 320682101001, 320682101002",
        "county-320206-2024-000123",
        "Contract 320206-2024-000123-01",
        "Invoice 2024-0012-3456",
        "Item 12345678901",
        "Order 138123456789",
        "Order 138-1234-567",
        "IP 192.168.100.200",
        "Version 1.2.3",
        // A number with a card's grouping but an invalid Luhn digit; an ID-shaped number
        // with an impossible birth date.
        "4111 1111 1111 1112",
        "110105194913310024",
    ]
    .into_iter()
    .map(|t| (Slot::Purpose, t.to_string()))
    .collect();
    cases.push((Slot::OrgName, format!("Huishan Tea Co. (USCC {uscc})")));
    cases.push((Slot::DocTitle, format!("Notice {}", hex("notice"))));
    cases.push((Slot::Project, "prj-2024-0001".into()));
    cases.push((Slot::VoidReason, "Entered twice on 2024-01-15".into()));
    cases.push((Slot::Replacement, "Seeds, 2024-01-01 to 2024-06-30".into()));
    // Amounts: 11 digits (138,000,000.00 CNY), a 15-digit amount shaped like a first-
    // generation ID and a 16-digit Luhn-valid one (10^12 and 10^13 yuan: national scale).
    cases.push((Slot::Minor, "13800000000".into()));
    cases.push((Slot::Minor, "110105491231002".into()));
    cases.push((Slot::Minor, "4111111111111111".into()));
    cases
}

#[test]
fn disguised_personal_numbers_are_refused_naming_the_field() {
    let cases = refused_cases();
    assert!(cases.len() >= 60, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let signed = case.slot.record(&case.value);
        let problem = match guard(&signed) {
            Ok(()) => Some("accepted".to_string()),
            Err(e) if e.path != case.slot.path() => Some(format!("refused at {e}")),
            Err(e) if !e.message.contains(case.kind.words()) => Some(format!("said {e}")),
            Err(e) if e.message.contains(&case.plain) || e.message.contains(&case.value) => {
                Some(format!("repeated the number: {e}"))
            }
            Err(e) if !e.message.contains("***") => Some(format!("did not mask it: {e}")),
            Err(_) => None,
        };
        if let Some(problem) = problem {
            failures.push(format!(
                "{:?} {:?} ({:?} {}): {problem}",
                case.slot, case.value, case.kind, case.plain
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn near_misses_are_accepted() {
    let cases = near_misses();
    assert!(cases.len() >= 20, "{} cases", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(slot, value)| {
            guard(&slot.record(value))
                .err()
                .map(|e| format!("{slot:?} {value:?}: {e}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A household payment: the 12-digit area code and the hashes are fixed formats the guard
/// skips.
#[test]
fn household_payments_pass() {
    let mut fields = payment();
    fields["payee"] = household_payee("household 1", "nonce 1");
    fields["payee"]["household"]["area"] = json!("320682101001");
    let map = fields.as_object_mut().expect("object");
    map.insert("v".into(), json!(1));
    map.insert("rid".into(), json!(format!("{LOG}-2024-pay-0102")));
    map.insert("event_date".into(), json!("2024-02-01"));
    map.insert("program".into(), json!(PROGRAM));
    let signed = Record::from_value(fields)
        .expect("record")
        .sign(&operator(LOG));
    guard(&signed).expect("accepted");
}

/// The audit ledger (the fast reader's screen, then the guard on flagged records) refuses
/// exactly the refused cases, each as an invalid entry naming the field.
#[test]
fn the_audit_ledger_agrees() {
    let refused = refused_cases();
    let near = near_misses();
    let mut net = Net::new();
    for (i, case) in refused.iter().enumerate() {
        let signed = case.slot.record_numbered(&case.value, i);
        net.raw(LOG, &to_entry_bytes(&signed));
    }
    for (i, (slot, value)) in near.iter().enumerate() {
        let signed = slot.record_numbered(value, refused.len() + i);
        net.raw(LOG, &to_entry_bytes(&signed));
    }
    let report = net.audit("2024-03-01");
    let invalid: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.rule == Rule::LogIntegrity && f.summary.contains("not a valid record"))
        .map(|f| f.summary.as_str())
        .collect();
    assert_eq!(invalid.len(), refused.len(), "{invalid:#?}");
    for (i, case) in refused.iter().enumerate() {
        let summary = invalid
            .iter()
            .find(|s| s.starts_with(&format!("Entry {i} of log")))
            .unwrap_or_else(|| panic!("entry {i} ({:?}) not refused", case.value));
        assert!(
            summary.contains(&format!("{}: holds", case.slot.path())),
            "{summary}"
        );
    }
}

#[test]
fn the_generated_numbers_are_valid() {
    use daylight_verifier::record::privacy::{is_mobile_number, is_resident_id};
    assert_eq!(id18("11010519491231002"), "11010519491231002X");
    assert!(is_resident_id(&id18("32068119800101123")));
    assert!(is_mobile_number("13812345678"));
    assert_eq!(luhn("411111111111111"), "4111111111111111");
    assert_eq!(luhn("550000000000000"), "5500000000000004");
}
