//! Reading sheets: CSV in UTF-8 (with or without a byte-order mark) or GB18030, as Chinese
//! offices' spreadsheet programs export it, and Excel workbooks (`.xlsx`, `.xls`, `.ods`
//! through calamine). Rows are numbered as the spreadsheet shows them: the header row is
//! `header_row` (1 by default), the first data row the one after it. Rows with every cell
//! empty are skipped.

use std::path::Path;

use calamine::{Data, Reader as _};

use crate::clerk::import::mapping::SheetOptions;
use crate::error::{CliError, input, read_file};

/// A cell as the sheet holds it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Nothing.
    Empty,
    /// Text.
    Text(String),
    /// A whole number cell.
    Int(i64),
    /// A number cell.
    Float(f64),
    /// A date cell (year, month, day).
    Date(u16, u8, u8),
    /// A true/false cell.
    Bool(bool),
    /// An error cell such as `#VALUE!`.
    Error(String),
}

impl Value {
    /// Whether the cell is empty or only white space.
    pub fn is_empty(&self) -> bool {
        match self {
            Value::Empty => true,
            Value::Text(t) => t.trim().is_empty(),
            _ => false,
        }
    }

    /// The cell as text: numbers as written (whole numbers without a decimal point, others in
    /// their shortest exact decimal form), dates as `YYYY-MM-DD`.
    pub fn text(&self) -> String {
        match self {
            Value::Empty => String::new(),
            Value::Text(t) => t.trim().to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format!("{f}"),
            Value::Date(y, m, d) => format!("{y:04}-{m:02}-{d:02}"),
            Value::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
            Value::Error(e) => e.clone(),
        }
    }
}

/// One data row.
#[derive(Clone, Debug)]
pub struct Row {
    /// Its number as the spreadsheet shows it (1-based, counting the header).
    pub number: usize,
    /// Its cells, one per header (missing cells are empty).
    pub cells: Vec<Value>,
}

/// A whole sheet.
#[derive(Clone, Debug)]
pub struct Sheet {
    /// The headers, in column order.
    pub headers: Vec<String>,
    /// The data rows.
    pub rows: Vec<Row>,
    /// How the file was read, e.g. `CSV, GB18030`.
    pub described: String,
}

/// Reads a sheet: `.csv` as CSV, `.xlsx`/`.xlsm`/`.xls`/`.ods` as a workbook.
pub fn read(path: &Path, options: &SheetOptions) -> Result<Sheet, CliError> {
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "csv" | "txt" => read_csv(path, options),
        "xlsx" | "xlsm" | "xls" | "ods" => read_workbook(path, options),
        _ => Err(input(format!(
            "{}: cannot tell the sheet's format from its name; save it as .csv or .xlsx",
            path.display()
        ))),
    }
}

/// Decodes CSV bytes: UTF-8 (a byte-order mark is dropped), else GB18030.
pub fn decode(bytes: &[u8], encoding: &str) -> Result<(String, &'static str), String> {
    let utf8 = |b: &[u8]| std::str::from_utf8(b).map(str::to_string);
    let gb = |b: &[u8]| {
        encoding_rs::GB18030
            .decode_without_bom_handling_and_without_replacement(b)
            .map(|c| c.into_owned())
    };
    let bom = bytes.strip_prefix(b"\xEF\xBB\xBF");
    match encoding {
        "utf-8" => utf8(bom.unwrap_or(bytes))
            .map(|t| (t, "UTF-8"))
            .map_err(|e| format!("is not UTF-8 ({e}); set sheet.encoding = \"gb18030\"?")),
        "gb18030" => gb(bytes)
            .map(|t| (t, "GB18030"))
            .ok_or_else(|| "is not GB18030 text".to_string()),
        _ => {
            if let Some(rest) = bom {
                return utf8(rest)
                    .map(|t| (t, "UTF-8 with BOM"))
                    .map_err(|e| format!("starts like UTF-8 but is not ({e})"));
            }
            if let Ok(text) = utf8(bytes) {
                return Ok((text, "UTF-8"));
            }
            gb(bytes).map(|t| (t, "GB18030")).ok_or_else(|| {
                "is neither UTF-8 nor GB18030 text: save the sheet again as CSV in UTF-8"
                    .to_string()
            })
        }
    }
}

fn read_csv(path: &Path, options: &SheetOptions) -> Result<Sheet, CliError> {
    let bytes = read_file(path)?;
    let (text, encoding) =
        decode(&bytes, &options.encoding).map_err(|e| input(format!("{} {e}", path.display())))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut headers = None;
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let number = i + 1;
        let record = record.map_err(|e| input(format!("{}: row {number}: {e}", path.display())))?;
        if number < options.header_row {
            continue;
        }
        let cells: Vec<String> = record.iter().map(str::to_string).collect();
        if number == options.header_row {
            headers = Some(cells);
            continue;
        }
        let cells: Vec<Value> = cells
            .into_iter()
            .map(|c| {
                if c.trim().is_empty() {
                    Value::Empty
                } else {
                    Value::Text(c)
                }
            })
            .collect();
        if cells.iter().all(Value::is_empty) {
            continue;
        }
        rows.push(Row { number, cells });
    }
    finish(path, headers, rows, format!("CSV, {encoding}"))
}

fn finish(
    path: &Path,
    headers: Option<Vec<String>>,
    mut rows: Vec<Row>,
    described: String,
) -> Result<Sheet, CliError> {
    let headers = headers.ok_or_else(|| {
        input(format!(
            "{} has no header row: the row named by sheet.header_row must name the columns",
            path.display()
        ))
    })?;
    let headers: Vec<String> = headers.iter().map(|h| h.trim().to_string()).collect();
    for row in &mut rows {
        row.cells.resize(headers.len(), Value::Empty);
    }
    Ok(Sheet {
        headers,
        rows,
        described,
    })
}

fn cell(data: &Data) -> Value {
    match data {
        Data::Empty => Value::Empty,
        Data::String(s) => Value::Text(s.clone()),
        Data::Int(i) => Value::Int(*i),
        Data::Float(f) => Value::Float(*f),
        Data::Bool(b) => Value::Bool(*b),
        Data::DateTime(d) if d.is_datetime() => {
            let (y, m, day, ..) = d.to_ymd_hms_milli();
            Value::Date(y, m, day)
        }
        Data::DateTime(d) => Value::Text(format!("{}", d.as_f64())),
        Data::DateTimeIso(s) | Data::DurationIso(s) => Value::Text(s.clone()),
        Data::Error(e) => Value::Error(format!("{e}")),
    }
}

fn read_workbook(path: &Path, options: &SheetOptions) -> Result<Sheet, CliError> {
    let mut workbook = calamine::open_workbook_auto(path)
        .map_err(|e| input(format!("cannot open the workbook {}: {e}", path.display())))?;
    let names = workbook.sheet_names();
    let name = match &options.name {
        Some(name) if names.contains(name) => name.clone(),
        Some(name) => {
            return Err(input(format!(
                "{} has no worksheet {name:?}; it has: {}",
                path.display(),
                names.join(", ")
            )));
        }
        None => names
            .first()
            .cloned()
            .ok_or_else(|| input(format!("{} has no worksheet", path.display())))?,
    };
    let range = workbook
        .worksheet_range(&name)
        .map_err(|e| input(format!("cannot read worksheet {name:?}: {e}")))?;
    let (first_row, first_column) = range.start().unwrap_or((0, 0));
    let pad = first_column as usize;
    let mut headers = None;
    let mut rows = Vec::new();
    for (i, data) in range.rows().enumerate() {
        let number = first_row as usize + i + 1;
        if number < options.header_row {
            continue;
        }
        let mut cells = vec![Value::Empty; pad];
        cells.extend(data.iter().map(cell));
        if number == options.header_row {
            headers = Some(cells.iter().map(Value::text).collect());
            continue;
        }
        if cells.iter().all(Value::is_empty) {
            continue;
        }
        rows.push(Row { number, cells });
    }
    finish(path, headers, rows, format!("workbook, sheet {name:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_encodings_are_detected() {
        let text = "序号,金额（元）\n1,\"3,000.00\"\n";
        let (gb, _, _) = encoding_rs::GB18030.encode(text);
        assert_eq!(decode(&gb, "auto").unwrap(), (text.to_string(), "GB18030"));
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(text.as_bytes());
        assert_eq!(decode(&bom, "auto").unwrap().0, text);
        assert_eq!(decode(text.as_bytes(), "auto").unwrap().1, "UTF-8");
        assert!(decode(&gb, "utf-8").is_err());
    }

    #[test]
    fn numbers_read_as_written() {
        assert_eq!(Value::Float(3000.5).text(), "3000.5");
        assert_eq!(Value::Float(3000.0).text(), "3000");
        assert_eq!(Value::Date(2024, 4, 20).text(), "2024-04-20");
    }
}
