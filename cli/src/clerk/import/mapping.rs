//! The mapping file (TOML, docs/import.md): which sheet and header row to read, and the
//! record each row becomes. `[record]` is the record's JSON shape; each value is either a
//! constant (a string, number, table or array, copied as it is) or a *cell* — an inline table
//! with `column`, `template` or `as` — filled from the row:
//!
//! * `{ column = "金额（元）", as = "money", currency = "CNY" }` — yuan to `{minor, currency}`;
//! * `{ column = "发放日期", as = "date" }` — a date in a common written form to `YYYY-MM-DD`;
//! * `{ column = "身份证号", as = "pseudonym" }` — an ID number to the programme's pseudonym;
//! * `{ as = "commitment" }` — the household payee's commitment, with a fresh nonce;
//! * `{ template = "county-320206-2024-pay-{序号:04}" }` — text with cells put in;
//! * `{ column = "状态", values = { "纳入" = "enrolled", "退出" = "exited" } }` — a lookup;
//! * `optional = true` — leave the field out when the cell is empty.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::clerk::values::fold_width;
use crate::error::{CliError, input, read_text};

/// How a cell's text becomes a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum As {
    /// Text, trimmed.
    Text,
    /// An amount in major units (yuan) to `{"minor", "currency"}`.
    Money,
    /// Minor units (fen), digits only, to `{"minor", "currency"}`.
    Minor,
    /// A date to `YYYY-MM-DD`.
    Date,
    /// An ID number to its pseudonym.
    Pseudonym,
    /// The household payee's commitment (no column).
    Commitment,
}

/// One piece of a template: text, or a column's value (zero-padded to `width`).
#[derive(Clone, Debug)]
pub enum Piece {
    /// Literal text.
    Text(String),
    /// The cell of column `index` (named `header`).
    Column {
        /// The column's position in the sheet.
        index: usize,
        /// Its header.
        header: String,
        /// Zero-pad numbers to this many digits.
        width: Option<usize>,
    },
}

/// A value filled from the row.
#[derive(Clone, Debug)]
pub struct Cell {
    /// The column read (`None` for templates and commitments).
    pub column: Option<(usize, String)>,
    /// The template, if the value is made of several pieces.
    pub template: Option<Vec<Piece>>,
    /// How the text becomes a value.
    pub kind: As,
    /// The currency of money.
    pub currency: String,
    /// Leave the field out when the cell is empty.
    pub optional: bool,
    /// A lookup from what the sheet says to what the record says.
    pub values: Option<BTreeMap<String, String>>,
}

impl Cell {
    /// The header(s) this value comes from, for error messages.
    pub fn headers(&self) -> String {
        if let Some((_, header)) = &self.column {
            return header.clone();
        }
        let names: Vec<&str> = self
            .template
            .iter()
            .flatten()
            .filter_map(|p| match p {
                Piece::Column { header, .. } => Some(header.as_str()),
                Piece::Text(_) => None,
            })
            .collect();
        if names.is_empty() {
            "-".to_string()
        } else {
            names.join("+")
        }
    }
}

/// The shape of the record a row becomes.
#[derive(Clone, Debug)]
pub enum Template {
    /// A constant.
    Literal(Value),
    /// An object of named templates.
    Object(Vec<(String, Template)>),
    /// An array of templates.
    Array(Vec<Template>),
    /// A value from the row.
    Cell(Cell),
}

/// How to read the sheet.
#[derive(Clone, Debug, Default)]
pub struct SheetOptions {
    /// The worksheet of a workbook (default the first).
    pub name: Option<String>,
    /// The header row, counting from 1 (default 1).
    pub header_row: usize,
    /// A CSV file's encoding: `auto`, `utf-8` or `gb18030`.
    pub encoding: String,
}

/// A parsed mapping, before its columns are matched to a sheet.
pub struct Mapping {
    /// How to read the sheet.
    pub sheet: SheetOptions,
    /// The record shape, as TOML.
    record: toml::Table,
}

/// Reads a mapping file.
pub fn read(path: &Path) -> Result<Mapping, CliError> {
    let text = read_text(path)?;
    let mut table: toml::Table = text.parse().map_err(|e| {
        input(format!(
            "the mapping {} is not valid TOML: {e}",
            path.display()
        ))
    })?;
    let sheet = match table.remove("sheet") {
        None => toml::Table::new(),
        Some(toml::Value::Table(t)) => t,
        Some(_) => return Err(input("mapping: [sheet] must be a table")),
    };
    let record = match table.remove("record") {
        Some(toml::Value::Table(t)) => t,
        _ => {
            return Err(input(format!(
                "the mapping {} has no [record] table: see docs/import.md for the format",
                path.display()
            )));
        }
    };
    if let Some(key) = table.keys().next() {
        return Err(input(format!(
            "mapping: unknown top-level key {key:?}; only [sheet] and [record] are read"
        )));
    }
    let header_row = match sheet.get("header_row") {
        None => 1,
        Some(toml::Value::Integer(n)) if *n >= 1 => *n as usize,
        Some(_) => return Err(input("mapping: sheet.header_row must be a number from 1")),
    };
    let encoding = match sheet.get("encoding") {
        None => "auto".to_string(),
        Some(toml::Value::String(s)) if ["auto", "utf-8", "gb18030"].contains(&s.as_str()) => {
            s.clone()
        }
        Some(_) => {
            return Err(input(
                "mapping: sheet.encoding must be \"auto\", \"utf-8\" or \"gb18030\"",
            ));
        }
    };
    let name = match sheet.get("name") {
        None => None,
        Some(toml::Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(input("mapping: sheet.name must be a string")),
    };
    for key in sheet.keys() {
        if !["header_row", "encoding", "name"].contains(&key.as_str()) {
            return Err(input(format!(
                "mapping: unknown key sheet.{key}; known: name, header_row, encoding"
            )));
        }
    }
    Ok(Mapping {
        sheet: SheetOptions {
            name,
            header_row,
            encoding,
        },
        record,
    })
}

/// Matches a header as clerks write it: trimmed, full-width forms folded.
pub fn header_key(header: &str) -> String {
    fold_width(header).trim().to_string()
}

impl Mapping {
    /// The record template with its columns matched to the sheet's `headers`.
    pub fn compile(&self, headers: &[String]) -> Result<Template, CliError> {
        let keys: Vec<String> = headers.iter().map(|h| header_key(h)).collect();
        let mut template = compile_table(&self.record, "record", &keys, headers)?;
        if let Template::Object(fields) = &mut template
            && !fields.iter().any(|(k, _)| k == "v")
        {
            fields.insert(0, ("v".to_string(), Template::Literal(Value::from(1))));
        }
        Ok(template)
    }
}

fn column(name: &str, keys: &[String], headers: &[String], at: &str) -> Result<usize, CliError> {
    let key = header_key(name);
    keys.iter().position(|k| *k == key).ok_or_else(|| {
        input(format!(
            "mapping: {at} names column {name:?}, which the sheet does not have; its columns \
             are: {}",
            headers.join(", ")
        ))
    })
}

fn parse_template(
    text: &str,
    keys: &[String],
    headers: &[String],
    at: &str,
) -> Result<Vec<Piece>, CliError> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        if rest[open..].starts_with("{{") {
            pieces.push(Piece::Text(format!("{}{{", &rest[..open])));
            rest = &rest[open + 2..];
            continue;
        }
        let close = rest[open..].find('}').ok_or_else(|| {
            input(format!(
                "mapping: {at}: template {text:?} has a {{ without }}"
            ))
        })? + open;
        if open > 0 {
            pieces.push(Piece::Text(rest[..open].to_string()));
        }
        let inner = &rest[open + 1..close];
        let (name, width) = match inner.rsplit_once(':') {
            Some((name, w)) if !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()) => {
                (name, Some(w.parse::<usize>().unwrap_or(0)))
            }
            _ => (inner, None),
        };
        let index = column(name, keys, headers, at)?;
        pieces.push(Piece::Column {
            index,
            header: headers[index].trim().to_string(),
            width,
        });
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.replace("}}", "}")));
    }
    Ok(pieces)
}

fn is_cell(table: &toml::Table) -> bool {
    table.contains_key("column") || table.contains_key("template") || table.contains_key("as")
}

fn compile_table(
    table: &toml::Table,
    at: &str,
    keys: &[String],
    headers: &[String],
) -> Result<Template, CliError> {
    if is_cell(table) {
        return compile_cell(table, at, keys, headers).map(Template::Cell);
    }
    let mut fields = Vec::new();
    for (name, value) in table {
        let here = format!("{at}.{name}");
        fields.push((name.clone(), compile_value(value, &here, keys, headers)?));
    }
    Ok(Template::Object(fields))
}

fn compile_value(
    value: &toml::Value,
    at: &str,
    keys: &[String],
    headers: &[String],
) -> Result<Template, CliError> {
    Ok(match value {
        toml::Value::Table(t) => compile_table(t, at, keys, headers)?,
        toml::Value::Array(items) => Template::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| compile_value(v, &format!("{at}[{i}]"), keys, headers))
                .collect::<Result<_, _>>()?,
        ),
        toml::Value::String(s) => Template::Literal(Value::String(s.clone())),
        toml::Value::Integer(n) => Template::Literal(Value::from(*n)),
        toml::Value::Boolean(b) => Template::Literal(Value::Bool(*b)),
        other => {
            return Err(input(format!(
                "mapping: {at} is {}, which no record field takes; write a string or a number",
                other.type_str()
            )));
        }
    })
}

fn compile_cell(
    table: &toml::Table,
    at: &str,
    keys: &[String],
    headers: &[String],
) -> Result<Cell, CliError> {
    let text = |key: &str| -> Result<Option<String>, CliError> {
        match table.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(input(format!("mapping: {at}.{key} must be a string"))),
        }
    };
    for key in table.keys() {
        if !["column", "template", "as", "currency", "optional", "values"].contains(&key.as_str()) {
            return Err(input(format!(
                "mapping: unknown key {at}.{key}; a cell takes column, template, as, currency, \
                 optional and values"
            )));
        }
    }
    let kind = match text("as")?.as_deref() {
        None | Some("text") => As::Text,
        Some("money") => As::Money,
        Some("minor") => As::Minor,
        Some("date") => As::Date,
        Some("pseudonym") => As::Pseudonym,
        Some("commitment") => As::Commitment,
        Some(other) => {
            return Err(input(format!(
                "mapping: {at}.as = {other:?}; use text, money, minor, date, pseudonym or \
                 commitment"
            )));
        }
    };
    let column_name = text("column")?;
    let template = text("template")?;
    let column = match &column_name {
        Some(name) => {
            let index = column(name, keys, headers, at)?;
            Some((index, headers[index].trim().to_string()))
        }
        None => None,
    };
    let template = template
        .map(|t| parse_template(&t, keys, headers, at))
        .transpose()?;
    match (kind, column.is_some(), template.is_some()) {
        (As::Commitment, false, false) => {}
        (As::Commitment, _, _) => {
            return Err(input(format!(
                "mapping: {at}: a commitment is computed, it takes no column or template"
            )));
        }
        (_, true, false) | (_, false, true) => {}
        _ => {
            return Err(input(format!(
                "mapping: {at}: give exactly one of column and template"
            )));
        }
    }
    let values = match table.get("values") {
        None => None,
        Some(toml::Value::Table(t)) => Some(
            t.iter()
                .map(|(k, v)| match v {
                    toml::Value::String(s) => Ok((header_key(k), s.clone())),
                    _ => Err(input(format!("mapping: {at}.values.{k} must be a string"))),
                })
                .collect::<Result<_, _>>()?,
        ),
        Some(_) => return Err(input(format!("mapping: {at}.values must be a table"))),
    };
    let optional = match table.get("optional") {
        None => false,
        Some(toml::Value::Boolean(b)) => *b,
        Some(_) => {
            return Err(input(format!(
                "mapping: {at}.optional must be true or false"
            )));
        }
    };
    Ok(Cell {
        column,
        template,
        kind,
        currency: text("currency")?.unwrap_or_else(|| "CNY".to_string()),
        optional,
        values,
    })
}
