//! JSON Lines: `current.jsonl` (one object per record in its current state) and
//! `history.jsonl` (one object per entry, in log order, with the entry's record exactly as
//! logged). UTF-8 without a byte order mark, `\n` line ends.

use std::io::Write as _;

use daylight_verifier::hash::Hash;

use super::json;
use super::model::{self, EntryEvent, ExportedLog, HistorySink};
use super::ordered::map_in_order;
use super::output::{OutputFile, WrittenFile};
use super::sorted::ContentWriter;

/// One line of `history.jsonl` but its last field, `record`: the entry's bytes go in after it
/// as they are (a record's entry is canonical JSON already), or `null`.
#[derive(serde::Serialize)]
struct HistoryLine<'a> {
    log: &'a str,
    index: u64,
    leaf: &'a str,
    rid: Option<&'a str>,
    kind: Option<&'static str>,
    valid: bool,
    applied: Option<bool>,
    problem: Option<&'a str>,
}

/// Writes `history.jsonl` as entries arrive.
pub struct HistoryJsonl {
    file: OutputFile,
    line: Vec<u8>,
}

impl HistoryJsonl {
    /// Starts `history.jsonl` in `file`.
    pub fn new(file: OutputFile) -> HistoryJsonl {
        HistoryJsonl {
            file,
            line: Vec::with_capacity(4096),
        }
    }

    /// Closes the file.
    pub fn finish(self) -> std::io::Result<WrittenFile> {
        self.file.finish()
    }
}

impl HistorySink for HistoryJsonl {
    fn entry(&mut self, e: &EntryEvent<'_>) -> std::io::Result<()> {
        let mut leaf = [0u8; 64];
        let head = HistoryLine {
            log: e.log,
            index: e.index,
            leaf: e.leaf.hex_digits(&mut leaf),
            rid: e.rid,
            kind: e.content.map(|c| c.body.kind().as_str()),
            valid: e.content.is_some(),
            applied: e.applied,
            problem: e.problem.as_deref(),
        };
        let line = &mut self.line;
        line.clear();
        json::append(line, &head)?;
        line.pop(); // the closing brace: `record` follows
        line.extend_from_slice(b",\"record\":");
        // The entry is canonical JSON when it is a record (it was read as one): it goes in as
        // it is, unparsed.
        match e.content {
            Some(_) if std::str::from_utf8(e.raw).is_ok() => line.extend_from_slice(e.raw),
            _ => line.extend_from_slice(b"null"),
        }
        line.extend_from_slice(b"}\n");
        self.file.write_all(line)?;
        self.file.rows += 1;
        Ok(())
    }
}

/// One line of `current.jsonl` (fields in the alphabetical order the format has always had)
/// up to `record`, which a [`ContentWriter`] writes between this and [`CurrentTail`].
#[derive(serde::Serialize)]
struct CurrentHead<'a> {
    corrected_by: &'a [&'a str],
    current_leaf: &'a str,
    index: u64,
    kind: &'static str,
    leaf: &'a str,
    log: &'a str,
    original: Version<'a>,
}

/// The fields of a `current.jsonl` line after `record`.
#[derive(serde::Serialize)]
struct CurrentTail<'a> {
    rid: &'a str,
    status: &'static str,
    versions: Vec<VersionBy<'a>>,
    voided: Option<Voided<'a>>,
}

#[derive(serde::Serialize)]
struct Version<'a> {
    index: u64,
    leaf: &'a str,
}

#[derive(serde::Serialize)]
struct VersionBy<'a> {
    by: Option<&'a str>,
    index: u64,
    leaf: HexHash,
}

#[derive(serde::Serialize)]
struct Voided<'a> {
    index: u64,
    leaf: HexHash,
    reason: &'a str,
    rid: &'a str,
}

/// A hash written as 64 lowercase hex digits, encoded on the stack.
struct HexHash(Hash);

impl serde::Serialize for HexHash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut digits = [0u8; 64];
        serializer.serialize_str(self.0.hex_digits(&mut digits))
    }
}

/// Records serialised together by one thread in [`write_current`].
const RECORDS_PER_RUN: usize = 2048;

/// Writes `current.jsonl` for `logs` into `file`: the lines are serialised on every core,
/// runs of [`RECORDS_PER_RUN`] records of one log at a time, and written in order.
pub fn write_current(logs: &[ExportedLog], mut file: OutputFile) -> std::io::Result<WrittenFile> {
    // A run is a log and the first of its records in the run; the records themselves are
    // taken from the log's state by the worker, so nothing is gathered up front.
    let runs: Vec<(&ExportedLog, usize)> = logs
        .iter()
        .flat_map(|log| {
            (0..log.state.len())
                .step_by(RECORDS_PER_RUN)
                .map(move |first| (log, first))
        })
        .collect();
    // Buffers go back to the workers once written: the same few megabytes are filled over
    // and over instead of fresh memory for each run.
    let written: std::sync::Mutex<Vec<Vec<u8>>> = std::sync::Mutex::default();
    map_in_order(
        runs.len(),
        |run| {
            let (log, first) = runs[run];
            let reused = written.lock().ok().and_then(|mut w| w.pop());
            let mut buf = reused.unwrap_or_else(|| Vec::with_capacity(RECORDS_PER_RUN * 1024));
            let mut lines = 0u64;
            let mut content = ContentWriter::default();
            for c in model::current_from(&log.state, first, RECORDS_PER_RUN) {
                current_line(&mut buf, &mut content, &log.member, &c)?;
                lines += 1;
            }
            Ok::<_, std::io::Error>((buf, lines))
        },
        |_, run| {
            let (mut buf, lines) = run?;
            file.write_all(&buf)?;
            file.rows += lines;
            buf.clear();
            if let Ok(mut w) = written.lock() {
                w.push(buf);
            }
            Ok(())
        },
    )?;
    file.finish()
}

/// Appends the `current.jsonl` line of `c`, a record in force in the log of `member`.
fn current_line(
    buf: &mut Vec<u8>,
    content: &mut ContentWriter,
    member: &str,
    c: &model::Current<'_>,
) -> std::io::Result<()> {
    let (original_index, original_leaf) = c.original();
    let s = c.state;
    let (mut a, mut b, mut d) = ([0u8; 64], [0u8; 64], [0u8; 64]);
    let head = CurrentHead {
        corrected_by: &c.corrected_by,
        current_leaf: s.current_leaf().hex_digits(&mut a),
        index: c.content_index,
        kind: s.kind().as_str(),
        leaf: c.content_leaf.hex_digits(&mut b),
        log: member,
        original: Version {
            index: original_index,
            leaf: original_leaf.hex_digits(&mut d),
        },
    };
    let tail = CurrentTail {
        rid: s.rid.as_str(),
        status: c.status(),
        versions: s
            .versions
            .iter()
            .map(|v| VersionBy {
                by: v.by.as_ref().map(|r| r.as_str()),
                index: v.index,
                leaf: HexHash(v.leaf),
            })
            .collect(),
        voided: c.voided_by.map(|(rid, index, leaf, reason)| Voided {
            index,
            leaf: HexHash(leaf),
            reason,
            rid,
        }),
    };
    json::append(buf, &head)?;
    buf.pop(); // the head's closing brace: `record` and the tail follow
    buf.extend_from_slice(b",\"record\":");
    content.write(buf, &s.content)?;
    let tail_at = buf.len();
    json::append(buf, &tail)?;
    buf[tail_at] = b','; // the tail's opening brace: its fields go on the same object
    buf.push(b'\n');
    Ok(())
}
