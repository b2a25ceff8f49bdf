//! CSV: one file per record kind (the current state), `funding.csv` (one row per funding
//! part of a current record) and `history.csv` (every entry in log order).
//!
//! UTF-8 with a byte order mark (spreadsheet programs then read Chinese text correctly),
//! RFC 4180 quoting by the `csv` crate, CRLF line ends, one header row. Amounts appear as an
//! exact decimal in major units (`3000.00`), in minor units (`300000`) and with their
//! currency; references as `log/rid/leaf`; lists joined by `; `. Every row names the log,
//! index and leaf of the entry it comes from. The columns are documented in docs/data.md;
//! the lists in [`super::columns`] are the single source of both.

use super::columns::{
    COMMON, Cells, FUNDING, HISTORY, common_cells, file_name, kind_cells, kind_columns, money_cells,
};
use super::output::{OutputFile, WrittenFile};
use daylight_verifier::record::{Body, Replacement};

use super::model::{self, EntryEvent, ExportedLog, FACTUAL, HistorySink};

/// The UTF-8 byte order mark.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

type Writer = csv::Writer<OutputFile>;

/// A CSV file being written row by row.
struct CsvFile {
    w: Writer,
    scratch: String,
    err: Option<csv::Error>,
    rows: u64,
}

impl Cells for CsvFile {
    fn str(&mut self, s: &str) {
        if let Err(e) = self.w.write_field(s)
            && self.err.is_none()
        {
            self.err = Some(e);
        }
    }
    fn build(&mut self, f: impl FnOnce(&mut String)) {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        f(&mut scratch);
        self.str(&scratch);
        self.scratch = scratch;
    }
}

impl CsvFile {
    fn open(file: OutputFile, header: &[&str]) -> std::io::Result<CsvFile> {
        let mut file = file;
        std::io::Write::write_all(&mut file, BOM)?;
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .buffer_capacity(1 << 16)
            .from_writer(file);
        w.write_record(header).map_err(into_io)?;
        Ok(CsvFile {
            w,
            scratch: String::with_capacity(256),
            err: None,
            rows: 0,
        })
    }

    /// Ends the row (its cells were written with [`Cells`]).
    fn end_row(&mut self) -> std::io::Result<()> {
        if let Some(e) = self.err.take() {
            return Err(into_io(e));
        }
        self.w
            .write_record(std::iter::empty::<&[u8]>())
            .map_err(into_io)?;
        self.rows += 1;
        Ok(())
    }

    fn close(self) -> std::io::Result<WrittenFile> {
        let mut file = self.w.into_inner().map_err(|e| e.into_error())?;
        file.rows = self.rows;
        file.finish()
    }
}

fn into_io(e: csv::Error) -> std::io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => std::io::Error::other(format!("{other:?}")),
    }
}

/// Writes `history.csv` as entries arrive.
pub struct HistoryCsv {
    f: CsvFile,
}

impl HistoryCsv {
    /// Starts `history.csv` in `file`.
    pub fn new(file: OutputFile) -> std::io::Result<HistoryCsv> {
        Ok(HistoryCsv {
            f: CsvFile::open(file, HISTORY)?,
        })
    }

    /// Closes the file.
    pub fn finish(self) -> std::io::Result<WrittenFile> {
        self.f.close()
    }
}

impl HistorySink for HistoryCsv {
    fn entry(&mut self, e: &EntryEvent<'_>) -> std::io::Result<()> {
        let row = &mut self.f;
        row.str(e.log);
        row.int(e.index);
        row.hex(e.leaf);
        row.str(e.rid.unwrap_or_default());
        let content = e.content;
        row.str(content.map_or("", |c| c.body.kind().as_str()));
        row.bool(content.is_some());
        match content {
            Some(c) => {
                row.display(c.event_date);
                row.str(c.program.as_str());
            }
            None => {
                row.empty();
                row.empty();
            }
        }
        let (target, reason, replacement) = match content.map(|c| &c.body) {
            Some(Body::Correction(c)) => {
                (Some(&c.corrects), c.reason.as_str(), Some(&c.replacement))
            }
            Some(Body::Void(v)) => (Some(&v.voids), v.reason.as_str(), None),
            _ => (None, "", None),
        };
        match target {
            Some(t) => {
                row.str(t.rid.as_str());
                row.display(t.leaf);
            }
            None => {
                row.empty();
                row.empty();
            }
        }
        match e.applied {
            Some(a) => row.bool(a),
            None => row.empty(),
        }
        row.str(reason);
        row.str(replacement.map_or("", |r: &Replacement| r.body.kind().as_str()));
        let amount = match (replacement, content) {
            (Some(r), _) => r.body.amount(),
            (None, Some(c)) => c.body.amount(),
            _ => None,
        };
        money_cells(row, amount);
        row.str(e.problem.as_deref().unwrap_or_default());
        row.end_row()
    }
}

/// Writes the current-state files of `logs` (one per factual kind, and `funding.csv`) into
/// files made by `create`.
pub fn write_current(
    logs: &[ExportedLog],
    mut create: impl FnMut(&str) -> std::io::Result<OutputFile>,
) -> std::io::Result<Vec<WrittenFile>> {
    let mut writers = Vec::new();
    for kind in FACTUAL {
        let header: Vec<&str> = COMMON.iter().chain(kind_columns(kind)).copied().collect();
        writers.push(CsvFile::open(create(&file_name(kind))?, &header)?);
    }
    let funding = CsvFile::open(create("funding.csv")?, FUNDING)?;
    // Two passes over the same state on two threads: the kinds' files on this one,
    // `funding.csv` (as many rows as the payments) on the other.
    let (kinds, funded) = std::thread::scope(|scope| {
        let funded = scope.spawn(|| write_funding(logs, funding));
        let kinds = (|| {
            for log in logs {
                for current in model::current(&log.state) {
                    let kind = current.state.kind();
                    let Some(slot) = FACTUAL.iter().position(|k| *k == kind) else {
                        continue;
                    };
                    let w = &mut writers[slot];
                    common_cells(w, &log.member, &current);
                    kind_cells(w, &current.state.content.body);
                    w.end_row()?;
                }
            }
            writers
                .into_iter()
                .map(CsvFile::close)
                .collect::<std::io::Result<Vec<_>>>()
        })();
        let funded = funded
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("writing funding.csv panicked")));
        (kinds, funded)
    });
    let mut written = kinds?;
    written.push(funded?);
    Ok(written)
}

/// Writes `funding.csv`: one row per funding reference of each record in force.
fn write_funding(logs: &[ExportedLog], mut row: CsvFile) -> std::io::Result<WrittenFile> {
    for log in logs {
        for current in model::current(&log.state) {
            let kind = current.state.kind();
            if !FACTUAL.contains(&kind) {
                continue;
            }
            for (i, part) in current.state.content.body.funded_by().iter().enumerate() {
                row.str(&log.member);
                row.str(current.state.rid.as_str());
                row.str(kind.as_str());
                row.str(current.status());
                row.int(current.content_index);
                row.hex(&current.content_leaf);
                row.int(i);
                row.str(part.reference.log.as_str());
                row.str(part.reference.rid.as_str());
                row.display(part.reference.leaf);
                money_cells(&mut row, Some(&part.amount));
                row.end_row()?;
            }
        }
    }
    row.close()
}
