//! The CSV export's columns: the header of each file and the cells of each row, side by
//! side, so a column and the value written under it are defined in one place (docs/data.md
//! documents the same lists). [`super::csv`] writes the files.

use std::fmt::Write as _;

use daylight_verifier::hash::Hash;
use daylight_verifier::record::{Body, Document, FundingPart, Kind, Money, Party, Reference};

use super::model::{Current, party_area, party_name, party_type, write_decimal, write_party_id};

/// The columns every current-state file starts with.
pub const COMMON: &[&str] = &[
    "log",
    "rid",
    "kind",
    "status",
    "index",
    "leaf",
    "original_index",
    "original_leaf",
    "versions",
    "corrected_by",
    "voided_by",
    "void_reason",
    "event_date",
    "program",
];

/// The kind's own columns, after [`COMMON`].
pub fn kind_columns(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Allocation => &[
            "payer_type",
            "payer_id",
            "payer_name",
            "payee_type",
            "payee_id",
            "payee_name",
            "amount",
            "amount_minor",
            "currency",
            "funded_by",
            "funded_by_minor",
            "purpose",
            "documents",
            "document_sha256",
        ],
        Kind::Receipt => &[
            "payer_type",
            "payer_id",
            "payer_name",
            "amount",
            "amount_minor",
            "currency",
            "funded_by",
            "funded_by_minor",
        ],
        Kind::Payment => &[
            "payee_type",
            "payee_id",
            "payee_name",
            "payee_area",
            "payee_commitment",
            "amount",
            "amount_minor",
            "currency",
            "funded_by",
            "funded_by_minor",
            "purpose",
            "project",
            "documents",
            "document_sha256",
        ],
        Kind::Project => &[
            "project",
            "stage",
            "title",
            "amount",
            "amount_minor",
            "currency",
            "contractor_type",
            "contractor_id",
            "contractor_name",
            "area",
            "funded_by",
            "funded_by_minor",
            "documents",
            "document_sha256",
        ],
        Kind::Asset => &[
            "asset",
            "event",
            "description",
            "owner_type",
            "owner_id",
            "owner_name",
            "operator_type",
            "operator_id",
            "operator_name",
            "beneficiaries",
            "supervisor_type",
            "supervisor_id",
            "supervisor_name",
            "value",
            "value_minor",
            "currency",
            "source",
            "documents",
            "document_sha256",
        ],
        Kind::Household => &[
            "pseudonym",
            "area",
            "household_status",
            "notice_start",
            "notice_end",
            "notice_days",
            "basis",
        ],
        Kind::Finding => &[
            "rule",
            "severity",
            "subjects",
            "summary",
            "checked_at",
            "evidence",
            "evidence_sha256",
        ],
        Kind::Rectification => &[
            "finding",
            "action",
            "rectification_status",
            "due_date",
            "documents",
            "document_sha256",
        ],
        Kind::Correction | Kind::Void => &[],
    }
}

/// The columns of `history.csv`.
pub const HISTORY: &[&str] = &[
    "log",
    "index",
    "leaf",
    "rid",
    "kind",
    "valid",
    "event_date",
    "program",
    "target_rid",
    "target_leaf",
    "applied",
    "reason",
    "replacement_kind",
    "amount",
    "amount_minor",
    "currency",
    "problem",
];

/// The columns of `funding.csv`.
pub const FUNDING: &[&str] = &[
    "log",
    "rid",
    "kind",
    "status",
    "index",
    "leaf",
    "part",
    "source_log",
    "source_rid",
    "source_leaf",
    "amount",
    "amount_minor",
    "currency",
];

/// The file name of a kind's current-state file.
pub fn file_name(kind: Kind) -> String {
    format!("{kind}.csv")
}

/// Where a row's cells go: a CSV file (each cell written straight into the writer, formatted
/// in a reused buffer, no `String` per cell) or, in tests, a `Vec<String>`.
pub trait Cells {
    /// A cell holding `s`.
    fn str(&mut self, s: &str);
    /// A cell built by `f` in a scratch buffer (formatted text, `; `-joined lists).
    fn build(&mut self, f: impl FnOnce(&mut String));

    /// An empty cell.
    fn empty(&mut self) {
        self.str("");
    }
    /// A cell holding `v`'s text.
    fn display(&mut self, v: impl std::fmt::Display) {
        self.build(|b| {
            let _ = write!(b, "{v}");
        });
    }
    /// A cell holding a decimal integer.
    fn int(&mut self, n: impl itoa::Integer) {
        self.str(itoa::Buffer::new().format(n));
    }
    /// A cell holding a hash as 64 lowercase hex digits.
    fn hex(&mut self, h: &Hash) {
        self.str(h.hex_digits(&mut [0u8; 64]));
    }
    /// A cell holding `true` or `false`.
    fn bool(&mut self, b: bool) {
        self.str(if b { "true" } else { "false" });
    }
}

impl Cells for Vec<String> {
    fn str(&mut self, s: &str) {
        self.push(s.to_string());
    }
    fn build(&mut self, f: impl FnOnce(&mut String)) {
        let mut s = String::new();
        f(&mut s);
        self.push(s);
    }
}

/// The [`COMMON`] cells of a current-state row.
pub fn common_cells(row: &mut impl Cells, log: &str, c: &Current<'_>) {
    let s = c.state;
    let (original_index, original_leaf) = c.original();
    row.str(log);
    row.str(s.rid.as_str());
    row.str(s.kind().as_str());
    row.str(c.status());
    row.int(c.content_index);
    row.hex(&c.content_leaf);
    row.int(original_index);
    row.hex(&original_leaf);
    row.int(s.versions.len());
    row.build(|b| join_into(b, c.corrected_by.iter(), |b, r| b.push_str(r)));
    row.str(c.voided_by.map(|v| v.0).unwrap_or_default());
    row.str(c.voided_by.map(|v| v.3).unwrap_or_default());
    row.display(s.content.event_date);
    row.str(s.content.program.as_str());
}

/// The amount cells (decimal, minor units, currency) of `money`, empty when absent.
pub fn money_cells(row: &mut impl Cells, money: Option<&Money>) {
    match money {
        Some(m) => {
            row.build(|b| write_decimal(b, m));
            row.int(m.minor.0);
            row.str(m.currency.code());
        }
        None => {
            row.empty();
            row.empty();
            row.empty();
        }
    }
}

fn party_cells(row: &mut impl Cells, p: Option<&Party>) {
    match p {
        Some(p) => {
            row.str(party_type(p));
            row.build(|b| write_party_id(b, p));
            row.str(party_name(p));
        }
        None => {
            row.empty();
            row.empty();
            row.empty();
        }
    }
}

fn funding_cells(row: &mut impl Cells, parts: &[FundingPart]) {
    row.build(|b| join_into(b, parts.iter(), |b, p| write_reference(b, &p.reference)));
    row.build(|b| {
        join_into(b, parts.iter(), |b, p| {
            b.push_str(itoa::Buffer::new().format(p.amount.minor.0))
        })
    });
}

fn document_cells(row: &mut impl Cells, docs: &[Document]) {
    row.build(|b| join_into(b, docs.iter(), |b, d| b.push_str(d.title.as_str())));
    row.build(|b| {
        join_into(b, docs.iter(), |b, d| {
            let _ = write!(b, "{}", d.sha256);
        })
    });
}

/// Writes `items` into `b`, `; `-separated.
fn join_into<T>(
    b: &mut String,
    items: impl Iterator<Item = T>,
    mut each: impl FnMut(&mut String, T),
) {
    for (i, item) in items.enumerate() {
        if i > 0 {
            b.push_str("; ");
        }
        each(b, item);
    }
}

/// A reference as `log/rid/leaf` (`super::model::reference`).
fn write_reference(b: &mut String, r: &Reference) {
    let _ = write!(b, "{}/{}/{}", r.log, r.rid, r.leaf);
}

/// A party in a list cell: `type:id` (or `org:name` for an organisation without a USCC).
fn write_party_item(b: &mut String, p: &Party) {
    b.push_str(party_type(p));
    b.push(':');
    let at = b.len();
    write_party_id(b, p);
    if b.len() == at {
        b.push_str(party_name(p));
    }
}

/// Pushes the kind's own cells, in the order of [`kind_columns`].
pub fn kind_cells(row: &mut impl Cells, body: &Body) {
    match body {
        Body::Allocation(a) => {
            party_cells(row, Some(&a.payer));
            party_cells(row, Some(&a.payee));
            money_cells(row, Some(&a.amount));
            funding_cells(row, &a.funded_by);
            row.str(a.purpose.as_str());
            document_cells(row, &a.documents);
        }
        Body::Receipt(r) => {
            party_cells(row, Some(&r.payer));
            money_cells(row, Some(&r.amount));
            funding_cells(row, &r.funded_by);
        }
        Body::Payment(p) => {
            party_cells(row, Some(&p.payee));
            let household = p.payee.household();
            row.str(party_area(&p.payee));
            match household.and_then(|h| h.commitment.as_ref()) {
                Some(c) => row.display(c),
                None => row.empty(),
            }
            money_cells(row, Some(&p.amount));
            funding_cells(row, &p.funded_by);
            row.str(p.purpose.as_str());
            match &p.project {
                Some(x) => row.display(x),
                None => row.empty(),
            }
            document_cells(row, &p.documents);
        }
        Body::Project(p) => {
            row.display(&p.project);
            row.str(stage(p.stage));
            row.display(&p.title);
            money_cells(row, p.amount.as_ref());
            party_cells(row, p.contractor.as_ref());
            match &p.area {
                Some(a) => row.display(a),
                None => row.empty(),
            }
            funding_cells(row, &p.funded_by);
            document_cells(row, &p.documents);
        }
        Body::Asset(a) => {
            row.display(&a.asset);
            row.str(&snake(&a.event));
            row.display(&a.description);
            party_cells(row, Some(&a.owner));
            party_cells(row, a.operator.as_ref());
            row.build(|b| join_into(b, a.beneficiaries.iter(), write_party_item));
            party_cells(row, Some(&a.supervisor));
            money_cells(row, Some(&a.value));
            row.build(|b| {
                if let Some(r) = &a.source {
                    write_reference(b, r);
                }
            });
            document_cells(row, &a.documents);
        }
        Body::Household(h) => {
            row.display(h.pseudonym);
            row.display(&h.area);
            row.str(&snake(&h.status));
            row.display(h.notice.start);
            row.display(h.notice.end);
            row.display(h.notice.days());
            row.display(&h.basis);
        }
        Body::Finding(f) => {
            row.display(&f.rule);
            row.str(&snake(&f.severity));
            row.build(|b| join_into(b, f.subjects.iter(), write_reference));
            row.display(&f.summary);
            row.display(&f.checked_at);
            document_cells(row, &f.evidence);
        }
        Body::Rectification(r) => {
            row.build(|b| write_reference(b, &r.finding));
            row.display(&r.action);
            row.str(&snake(&r.status));
            match r.due_date {
                Some(d) => row.display(d),
                None => row.empty(),
            }
            document_cells(row, &r.documents);
        }
        Body::Correction(_) | Body::Void(_) => {}
    }
}

/// A project stage's text.
pub fn stage(s: daylight_verifier::record::ProjectStage) -> &'static str {
    use daylight_verifier::record::ProjectStage::*;
    match s {
        Approved => "approved",
        Tendered => "tendered",
        Awarded => "awarded",
        Milestone => "milestone",
        Accepted => "accepted",
    }
}

/// A unit enum's snake-case text, as it appears in the record.
fn snake<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::model::FACTUAL;
    use daylight_verifier::record::Record;

    fn payment(purpose: &str, org: &str) -> Body {
        let value = serde_json::json!({
            "v": 1, "rid": "county-1-pay-1", "kind": "payment",
            "event_date": "2024-04-15", "program": "r24",
            "payee": {"org": {"name": org}},
            "amount": {"minor": "300005", "currency": "CNY"},
            "funded_by": [{"ref": {"log": "county-1", "rid": "county-1-r-1", "leaf": "ab".repeat(32)},
                           "amount": {"minor": "300005", "currency": "CNY"}}],
            "purpose": purpose,
        });
        Record::from_value(value).unwrap().body
    }

    fn csv_line(cells: &[String]) -> String {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        w.write_record(cells).unwrap();
        String::from_utf8(w.into_inner().unwrap()).unwrap()
    }

    #[test]
    fn every_kind_fills_its_columns() {
        let mut row = Vec::new();
        kind_cells(&mut row, &payment("Road", "Coop"));
        assert_eq!(row.len(), kind_columns(Kind::Payment).len());
        assert_eq!(row[5], "3000.05");
        assert_eq!(row[6], "300005");
        assert_eq!(row[7], "CNY");
        assert_eq!(row[8], format!("county-1/county-1-r-1/{}", "ab".repeat(32)));
    }

    #[test]
    fn chinese_text_and_quotes_are_kept_and_quoted() {
        let mut row = Vec::new();
        kind_cells(
            &mut row,
            &payment("茶叶加工厂, \"第一期\"付款", "惠山区张家茶叶专业合作社"),
        );
        let line = csv_line(&row);
        assert!(
            line.contains("\"茶叶加工厂, \"\"第一期\"\"付款\""),
            "{line}"
        );
        assert!(line.contains(",惠山区张家茶叶专业合作社,"), "{line}");
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(line.as_bytes());
        let back = reader.records().next().unwrap().unwrap();
        assert_eq!(&back[10], "茶叶加工厂, \"第一期\"付款");
        // A line break inside a cell (none reach a record's text, but reasons could) is quoted.
        assert_eq!(csv_line(&["a\nb".into(), "c".into()]), "\"a\nb\",c\r\n");
    }

    #[test]
    fn headers_are_unique_per_file() {
        for kind in FACTUAL {
            let mut names: Vec<&str> = COMMON.iter().chain(kind_columns(kind)).copied().collect();
            let n = names.len();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), n, "{kind}");
        }
    }
}
