//! A record's content as one JSON object with every object's keys in byte order: the bytes
//! that serializing `Replacement::to_object()` gives, written without building a JSON tree.
//!
//! The kind's fields are serialized as they are declared (by [`json`](mod@json), which writes what
//! serde_json writes, so strings are escaped exactly as a tree would escape them). Then every object's members are put in key order
//! on the way out. Building, serializing and dropping a `serde_json::Value` tree per record
//! was the largest part of writing `current.jsonl` after the disk itself.
//!
//! Invariant: the output is byte for byte what `serde_json::to_vec(&content.to_object())`
//! gives. Where that is not certain (a key with an escape in it, or a kind that is not a
//! fact), the tree is built after all. The tests compare both for every record in
//! docs/records.md.

use daylight_verifier::record::{Body, Replacement};

use super::json;

/// Writes records' contents as JSON objects with sorted keys; holds the working space kept
/// from one record to the next.
#[derive(Default)]
pub struct ContentWriter {
    scratch: Vec<u8>,
    sorter: Sorter,
}

impl ContentWriter {
    /// Appends `content` as a JSON object with sorted keys to `out`.
    pub fn write(&mut self, out: &mut Vec<u8>, content: &Replacement) -> serde_json::Result<()> {
        let start = out.len();
        let written = self.write_sorted(out, content);
        if !matches!(written, Ok(true)) {
            // Nothing half-written stays: the tree writes the whole object again.
            out.truncate(start);
        }
        match written {
            Ok(true) => Ok(()),
            Ok(false) => write_tree(out, content),
            Err(e) => Err(e),
        }
    }

    /// Writes `content` sorted, or says it could not be sure to (false): then the tree is
    /// used.
    fn write_sorted(
        &mut self,
        out: &mut Vec<u8>,
        content: &Replacement,
    ) -> serde_json::Result<bool> {
        let scratch = &mut self.scratch;
        scratch.clear();
        let fields = match &content.body {
            Body::Allocation(x) => json::append(scratch, x),
            Body::Receipt(x) => json::append(scratch, x),
            Body::Payment(x) => json::append(scratch, x),
            Body::Project(x) => json::append(scratch, x),
            Body::Asset(x) => json::append(scratch, x),
            Body::Household(x) => json::append(scratch, x),
            Body::Finding(x) => json::append(scratch, x),
            Body::Rectification(x) => json::append(scratch, x),
            Body::Void(_) | Body::Correction(_) => return Ok(false),
        };
        fields?;
        // The three members the content adds go into the same object: its closing brace
        // becomes a comma (or, for a kind without fields, the object starts again).
        match scratch.as_slice() {
            b"{}" => scratch.truncate(1),
            [b'{', .., b'}'] => {
                let last = scratch.len() - 1;
                scratch[last] = b',';
            }
            _ => return Ok(false),
        }
        scratch.extend_from_slice(b"\"event_date\":");
        json::append(scratch, &content.event_date)?;
        scratch.extend_from_slice(b",\"kind\":");
        json::append(scratch, content.body.kind().as_str())?;
        scratch.extend_from_slice(b",\"program\":");
        json::append(scratch, &content.program)?;
        scratch.push(b'}');
        Ok(self.sorter.value(scratch, 0, out, 0) == Some(scratch.len()))
    }
}

/// The slow, certain way: a JSON tree.
fn write_tree(out: &mut Vec<u8>, content: &Replacement) -> serde_json::Result<()> {
    json::append(out, &content.to_object())
}

/// Objects nested deeper than this are left to the tree (records nest four deep).
const MAX_DEPTH: usize = 16;

/// Puts the members of every object of compact JSON in key order, in one pass. Each depth
/// has its own buffers, so an object's members are written (each sorted itself) into its
/// depth's buffer and then copied out in key order.
#[derive(Default)]
struct Sorter {
    /// Per depth: the members' sorted values, one after another.
    values: Vec<Vec<u8>>,
    /// Per depth: each member's key (in the input) and value (in `values`), as ranges.
    members: Vec<Vec<(std::ops::Range<usize>, std::ops::Range<usize>)>>,
}

impl Sorter {
    /// Writes the value at `input[at..]` into `out`, sorted; returns where it ends in `input`,
    /// or `None` if it is not the compact JSON serde_json writes (or a key has an escape, or
    /// a key comes twice: shapes whose sorting a tree would do differently).
    fn value(&mut self, input: &[u8], at: usize, out: &mut Vec<u8>, depth: usize) -> Option<usize> {
        match *input.get(at)? {
            b'{' => self.object(input, at, out, depth),
            b'[' => {
                out.push(b'[');
                let mut i = at + 1;
                if input.get(i) == Some(&b']') {
                    out.push(b']');
                    return Some(i + 1);
                }
                loop {
                    i = self.value(input, i, out, depth + 1)?;
                    match *input.get(i)? {
                        b',' => out.push(b','),
                        b']' => {
                            out.push(b']');
                            return Some(i + 1);
                        }
                        _ => return None,
                    }
                    i += 1;
                }
            }
            b'"' => {
                let end = string_end(input, at)?;
                out.extend_from_slice(&input[at..end]);
                Some(end)
            }
            _ => {
                let len = input[at..]
                    .iter()
                    .position(|b| matches!(b, b',' | b'}' | b']'))
                    .unwrap_or(input.len() - at);
                if len == 0 {
                    return None;
                }
                out.extend_from_slice(&input[at..at + len]);
                Some(at + len)
            }
        }
    }

    fn object(
        &mut self,
        input: &[u8],
        at: usize,
        out: &mut Vec<u8>,
        depth: usize,
    ) -> Option<usize> {
        if depth >= MAX_DEPTH {
            return None;
        }
        if self.values.len() <= depth {
            self.values.resize_with(depth + 1, Vec::new);
            self.members.resize_with(depth + 1, Vec::new);
        }
        let mut values = std::mem::take(&mut self.values[depth]);
        let mut members = std::mem::take(&mut self.members[depth]);
        values.clear();
        members.clear();
        let end = self.members_of(input, at, depth, &mut values, &mut members);
        let sorted = end.filter(|_| {
            members.sort_unstable_by(|a, b| input[a.0.clone()].cmp(&input[b.0.clone()]));
            members
                .windows(2)
                .all(|w| input[w[0].0.clone()] != input[w[1].0.clone()])
        });
        if sorted.is_some() {
            out.push(b'{');
            for (n, (key, value)) in members.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                out.push(b'"');
                out.extend_from_slice(&input[key.clone()]);
                out.extend_from_slice(b"\":");
                out.extend_from_slice(&values[value.clone()]);
            }
            out.push(b'}');
        }
        self.values[depth] = values;
        self.members[depth] = members;
        sorted
    }

    /// Reads the members of the object at `input[at]`, each value sorted into `values`.
    fn members_of(
        &mut self,
        input: &[u8],
        at: usize,
        depth: usize,
        values: &mut Vec<u8>,
        members: &mut Vec<(std::ops::Range<usize>, std::ops::Range<usize>)>,
    ) -> Option<usize> {
        let mut i = at + 1;
        if input.get(i) == Some(&b'}') {
            return Some(i + 1);
        }
        loop {
            let key_end = string_end(input, i)?;
            let key = i + 1..key_end - 1;
            if input[key.clone()].contains(&b'\\') || input.get(key_end) != Some(&b':') {
                return None;
            }
            let value_start = values.len();
            i = self.value(input, key_end + 1, values, depth + 1)?;
            members.push((key, value_start..values.len()));
            match *input.get(i)? {
                b',' => i += 1,
                b'}' => return Some(i + 1),
                _ => return None,
            }
        }
    }
}

/// Where the string starting at `at` (at its opening quote) ends, just past its closing quote.
fn string_end(bytes: &[u8], at: usize) -> Option<usize> {
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let mut i = at + 1;
    loop {
        i += memchr::memchr2(b'"', b'\\', bytes.get(i..)?)?;
        match bytes[i] {
            b'"' => return Some(i + 1),
            _ => i += 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use daylight_verifier::record::{Kind, SignedRecord};

    /// Every record in docs/records.md, as the content a current state would hold.
    fn documented_contents() -> Vec<Replacement> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/records.md");
        let md = std::fs::read_to_string(path).expect("docs/records.md");
        let mut contents = Vec::new();
        let mut block: Option<String> = None;
        for line in md.lines() {
            match &mut block {
                None if line.trim_end() == "```json" => block = Some(String::new()),
                Some(text) if line.trim_end() == "```" => {
                    let value: serde_json::Value = serde_json::from_str(text).expect("JSON");
                    let canonical = serde_json::to_vec(&value).expect("bytes");
                    if let Ok(record) = SignedRecord::from_entry(&canonical) {
                        let r = record.record;
                        contents.push(Replacement {
                            event_date: r.event_date,
                            program: r.program,
                            body: r.body,
                        });
                    }
                    block = None;
                }
                Some(text) => {
                    text.push_str(line);
                    text.push('\n');
                }
                None => {}
            }
        }
        contents
    }

    #[test]
    fn every_documented_record_is_written_as_its_tree_would_be() {
        let contents = documented_contents();
        assert!(contents.len() >= 10, "only {} records read", contents.len());
        let kinds: std::collections::BTreeSet<&str> =
            contents.iter().map(|c| c.body.kind().as_str()).collect();
        for kind in Kind::ALL.into_iter().filter(|k| k.is_factual()) {
            assert!(
                kinds.contains(kind.as_str()),
                "docs/records.md has no {kind} to compare"
            );
        }
        let mut writer = ContentWriter::default();
        for content in &contents {
            let mut fast = Vec::new();
            if content.body.kind().is_factual() {
                // The fast way, not the tree it falls back on, is what is compared.
                assert!(writer.write_sorted(&mut fast, content).unwrap());
            } else {
                writer.write(&mut fast, content).unwrap();
            }
            let tree = serde_json::to_vec(&content.to_object()).unwrap();
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                String::from_utf8(tree).unwrap(),
                "a {} record",
                content.body.kind().as_str()
            );
        }
    }

    /// Sorts `input`, or `None` where it refuses.
    fn sorted(input: &[u8]) -> Option<String> {
        let mut out = Vec::new();
        let end = Sorter::default().value(input, 0, &mut out, 0)?;
        (end == input.len()).then(|| String::from_utf8(out).unwrap())
    }

    #[test]
    fn nested_objects_and_arrays_come_out_sorted() {
        let out = sorted(br#"{"z":[{"b":1,"a":"x\"}"}],"a":{"d":null,"c":[true,false]},"m":"{[,]}","e":{},"f":[]}"#);
        assert_eq!(
            out.as_deref(),
            Some(
                r#"{"a":{"c":[true,false],"d":null},"e":{},"f":[],"m":"{[,]}","z":[{"a":"x\"}","b":1}]}"#
            )
        );
    }

    #[test]
    fn what_is_not_compact_json_is_refused_not_guessed() {
        for bad in [
            &br#"{"a" :1}"#[..],
            br#"{"a":1,"a":2}"#,
            br#"{"a":1"#,
            br#"[1,"#,
            br#"{"a\"b":1}"#,
            br#"{"a":}"#,
            br#""open"#,
        ] {
            assert_eq!(sorted(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
