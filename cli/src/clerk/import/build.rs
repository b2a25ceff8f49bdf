//! One row into one record: the mapping's template filled from the row's cells, the
//! household commitment computed (with the opening kept from an earlier run, if any), and the
//! record checked as the node will check it. Every problem is named by row, column and
//! reason; nothing here prints or keeps an ID number.

use std::collections::HashMap;

use daylight_verifier::record::{
    Currency, HexHash, MemberId, Money, Opening, Record, RecordError, Rid, SignedRecord,
    check_privacy, pseudonym, validate_all,
};
use serde_json::{Map, Value};

use crate::clerk::import::mapping::{As, Cell, Piece, Template, header_key};
use crate::clerk::import::sheet::{self, Row};
use crate::clerk::programme_key::LoadedKey;
use crate::clerk::values::{normalize_id, parse_date, parse_major};

/// A problem with one row: where and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    /// The row number as the spreadsheet shows it.
    pub row: usize,
    /// The column header, `-` when the problem is in the mapping's constants.
    pub column: String,
    /// What is wrong and what to do.
    pub reason: String,
}

/// A row made into a checked record.
#[derive(Clone, Debug)]
pub struct Built {
    /// The row number.
    pub row: usize,
    /// The checked record, unsigned.
    pub record: Record,
    /// The household payee's opening, if the record has a commitment.
    pub opening: Option<Opening>,
    /// Whether the opening is new in this run (not yet written to the openings journal).
    pub new_opening: bool,
}

/// What every row is built with.
pub struct Context<'a> {
    /// The compiled mapping.
    pub template: &'a Template,
    /// The programme key, when the mapping makes pseudonyms.
    pub programme: Option<&'a LoadedKey>,
    /// The member whose log the records go to (`None` in a dry run without the operator key:
    /// then each rid's own prefix stands in).
    pub member: Option<&'a MemberId>,
    /// Openings written by an earlier run, by rid.
    pub openings: &'a HashMap<String, Opening>,
}

impl Context<'_> {
    /// The programme every record must be of: the programme key's, when pseudonyms are made.
    fn program(&self) -> Option<&str> {
        self.programme.map(|k| k.program.as_str())
    }
}

struct Eval<'a> {
    row: &'a Row,
    programme: Option<&'a LoadedKey>,
    errors: Vec<RowError>,
    /// (record path, column header) of every value read from the row.
    columns: Vec<(String, String)>,
    /// Record paths of the household objects whose commitment is computed.
    commitments: Vec<String>,
}

impl Eval<'_> {
    fn fail(&mut self, column: &str, reason: impl Into<String>) {
        let error = RowError {
            row: self.row.number,
            column: column.to_string(),
            reason: reason.into(),
        };
        // One cell can fill several fields (the amount and its funding part): say it once.
        if !self.errors.contains(&error) {
            self.errors.push(error);
        }
    }

    fn raw(&self, cell: &Cell) -> Result<(String, Option<&sheet::Value>), String> {
        if let Some((index, _)) = &cell.column {
            let value = &self.row.cells[*index];
            return Ok((value.text(), Some(value)));
        }
        let mut text = String::new();
        for piece in cell.template.iter().flatten() {
            match piece {
                Piece::Text(t) => text.push_str(t),
                Piece::Column {
                    index,
                    header,
                    width,
                } => {
                    let value = self.row.cells[*index].text();
                    if value.is_empty() {
                        return Err(format!("is empty, and the template needs column {header}"));
                    }
                    match width {
                        Some(w) if value.bytes().all(|b| b.is_ascii_digit()) => {
                            text.push_str(&format!("{value:0>w$}", w = *w));
                        }
                        _ => text.push_str(&value),
                    }
                }
            }
        }
        Ok((text, None))
    }

    fn cell(&mut self, cell: &Cell, path: &str) -> Option<Value> {
        let header = cell.headers();
        if cell.kind == As::Commitment {
            let parent = path.rsplit_once('.').map_or("", |(p, _)| p).to_string();
            self.commitments.push(parent);
            return Some(Value::Null);
        }
        self.columns.push((path.to_string(), header.clone()));
        let (text, value) = match self.raw(cell) {
            Ok(found) => found,
            Err(reason) if cell.optional => {
                let _ = reason;
                return None;
            }
            Err(reason) => {
                self.fail(&header, reason);
                return None;
            }
        };
        if text.is_empty() {
            if !cell.optional {
                self.fail(
                    &header,
                    "is empty: this column must be filled in on every row",
                );
            }
            return None;
        }
        let text = match &cell.values {
            None => text,
            Some(map) => match map.get(&header_key(&text)) {
                Some(mapped) => mapped.clone(),
                None => {
                    let known: Vec<&str> = map.keys().map(String::as_str).collect();
                    self.fail(
                        &header,
                        format!("{text:?} is not one of: {}", known.join(", ")),
                    );
                    return None;
                }
            },
        };
        let is_number = matches!(value, Some(sheet::Value::Float(_) | sheet::Value::Int(_)));
        let result = match cell.kind {
            As::Text | As::Commitment => Ok(Value::String(text)),
            As::Money | As::Minor => Currency::parse(&cell.currency).and_then(|currency| {
                let minor = if cell.kind == As::Minor {
                    if text.bytes().all(|b| b.is_ascii_digit()) {
                        text.parse::<u64>()
                            .map_err(|_| format!("{text:?} is too large"))
                    } else {
                        Err(format!(
                            "{text:?} is not a whole number of minor units (fen)"
                        ))
                    }
                } else {
                    parse_major(&text, currency.exponent())
                }?;
                Ok(serde_json::json!({"minor": minor.to_string(), "currency": currency.code()}))
            }),
            As::Date => parse_date(&text).map(Value::String).map_err(|e| {
                if is_number {
                    format!("{e}; the cell is a number, not a date: format the column as dates")
                } else {
                    e
                }
            }),
            As::Pseudonym => {
                if is_number {
                    Err(
                        "was stored by the spreadsheet as a number, which loses digits: \
                         format the column as text and type the ID number again"
                            .to_string(),
                    )
                } else {
                    match (normalize_id(&text), self.programme) {
                        (Err(e), _) => Err(format!("the ID number {e}")),
                        (Ok(_), None) => Err("needs the programme key (--programme-key)".into()),
                        (Ok(id), Some(key)) => pseudonym(&key.key, &id)
                            .map(|p| Value::String(p.to_string()))
                            .map_err(|e| e.to_string()),
                    }
                }
            }
        };
        match result {
            Ok(v) => Some(v),
            Err(reason) => {
                self.fail(&header, reason);
                None
            }
        }
    }

    fn eval(&mut self, template: &Template, path: &str) -> Option<Value> {
        match template {
            Template::Literal(v) => Some(v.clone()),
            Template::Cell(cell) => self.cell(cell, path),
            Template::Object(fields) => {
                let mut map = Map::new();
                for (name, t) in fields {
                    let here = if path.is_empty() {
                        name.clone()
                    } else {
                        format!("{path}.{name}")
                    };
                    if let Some(v) = self.eval(t, &here) {
                        map.insert(name.clone(), v);
                    }
                }
                Some(Value::Object(map))
            }
            Template::Array(items) => Some(Value::Array(
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, t)| self.eval(t, &format!("{path}[{i}]")))
                    .collect(),
            )),
        }
    }

    /// The column a record error's path points into.
    fn column_of(&self, path: &str) -> String {
        self.columns
            .iter()
            .filter(|(p, _)| {
                path == p
                    || path.starts_with(&format!("{p}."))
                    || path.starts_with(&format!("{p}["))
            })
            .max_by_key(|(p, _)| p.len())
            .map_or_else(|| "-".to_string(), |(_, h)| h.clone())
    }

    fn record_error(&mut self, e: &RecordError) {
        let column = self.column_of(&e.path);
        self.fail(&column, e.to_string());
    }
}

fn at<'v>(value: &'v mut Value, path: &str) -> Option<&'v mut Map<String, Value>> {
    let mut here = value;
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (name, index) = match part.split_once('[') {
            Some((n, i)) => (n, i.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        here = here.get_mut(name)?;
        if let Some(i) = index {
            here = here.get_mut(i)?;
        }
    }
    here.as_object_mut()
}

/// Computes the commitment at `parent` (a household object): its pseudonym, the record's rid
/// and amount, and a nonce — the earlier run's, if it wrote one for this rid.
fn commit(
    value: &mut Value,
    parent: &str,
    openings: &HashMap<String, Opening>,
) -> Result<(Opening, bool), String> {
    let rid = value["rid"].as_str().unwrap_or_default().to_string();
    let amount: Money = serde_json::from_value(value["amount"].clone())
        .map_err(|_| "the record needs an amount (as = \"money\") for a commitment".to_string())?;
    let rid = Rid::parse(&rid).map_err(|e| format!("rid: {e}"))?;
    let object = at(value, parent).ok_or("a commitment must sit in a household object")?;
    let pseudonym = object
        .get("pseudonym")
        .and_then(Value::as_str)
        .and_then(|p| HexHash::parse(p).ok())
        .ok_or("a commitment needs a pseudonym beside it (as = \"pseudonym\")")?;
    let (opening, new) = match openings.get(rid.as_str()) {
        Some(old) if old.pseudonym == pseudonym && old.amount == amount => (old.clone(), false),
        Some(_) => {
            return Err(format!(
                "the row changed since its household's opening was written (a different \
                 household or amount for {rid}); an opening never changes once written: \
                 restore the row, or give it a new rid"
            ));
        }
        None => (
            Opening::new(pseudonym, rid, amount).map_err(|e| e.to_string())?,
            true,
        ),
    };
    object.insert(
        "commitment".into(),
        Value::String(opening.commitment().to_string()),
    );
    Ok((opening, new))
}

/// Builds and checks one row.
pub fn build(ctx: &Context, row: &Row) -> Result<Built, Vec<RowError>> {
    let mut eval = Eval {
        row,
        programme: ctx.programme,
        errors: Vec::new(),
        columns: Vec::new(),
        commitments: Vec::new(),
    };
    let mut value = eval.eval(ctx.template, "").unwrap_or(Value::Null);
    if !eval.errors.is_empty() {
        return Err(eval.errors);
    }
    let mut opening = None;
    for parent in std::mem::take(&mut eval.commitments) {
        match commit(&mut value, &parent, ctx.openings) {
            Ok(made) => opening = Some(made),
            Err(reason) => {
                let column = eval.column_of("rid");
                eval.fail(&column, reason);
                return Err(eval.errors);
            }
        }
    }
    let record = match Record::from_value(value) {
        Ok(r) => r,
        Err(e) => {
            eval.record_error(&e);
            return Err(eval.errors);
        }
    };
    let unsigned = SignedRecord {
        record,
        signatures: Vec::new(),
    };
    let own = MemberId::parse(unsigned.record.rid.as_str().split('-').next().unwrap_or(""));
    let member = match (ctx.member, &own) {
        (Some(m), _) => m,
        (None, Ok(m)) => m,
        (None, Err(e)) => {
            eval.fail(&eval.column_of("rid"), format!("rid: {e}"));
            return Err(eval.errors);
        }
    };
    for e in validate_all(&unsigned, member) {
        if e.path != "signatures" {
            eval.record_error(&e);
        }
    }
    if let Err(e) = check_privacy(&unsigned) {
        eval.record_error(&e);
    }
    if let Some(program) = ctx.program()
        && unsigned.record.program.as_str() != program
    {
        let column = eval.column_of("program");
        eval.fail(
            &column,
            format!(
                "program is {}, but the programme key is for {program}: pseudonyms are made \
                 with the key of the record's programme",
                unsigned.record.program
            ),
        );
    }
    if !eval.errors.is_empty() {
        return Err(eval.errors);
    }
    let (opening, new_opening) = match opening {
        Some((o, new)) => (Some(o), new),
        None => (None, false),
    };
    Ok(Built {
        row: row.number,
        record: unsigned.record,
        opening,
        new_opening,
    })
}
