//! The stored form of a [`StateRow`]: compact binary, written and read only here.
//!
//! A row keeps the record's entry once, as the JSON text an answer carries (the entry's own
//! bytes whenever they are already in that form, as JCS entries are), and its current version
//! only when it is not simply that text without its `signatures` member — for a record never
//! corrected, the current version is a cut of the entry, stored as two numbers. Nothing is
//! escaped and nothing is parsed to read a row.
//!
//! Layout (little-endian; a *text* is a `u32` length and UTF-8 bytes):
//!
//! | field | encoding |
//! |---|---|
//! | flags | `u8`: 1 voided, 2 current is a cut of the entry |
//! | number, index | `u32`, `u64` |
//! | leaf | 32 bytes |
//! | current index, current leaf, amendments | `u64`, 32 bytes, `u32` |
//! | rid, member, kind | texts |
//! | date | `u32` |
//! | program | text |
//! | payees, areas, funded_by | `u32` count, texts |
//! | current | cut: `u32` start, `u32` length removed from the entry; otherwise a text |
//! | entry | the rest of the row |

use daylight_verifier::Hash;

use super::derive::{Keys, StateRow};

const VOIDED: u8 = 1;
const CUT: u8 = 2;

/// The row's bytes.
pub(super) fn encode(row: &StateRow) -> Vec<u8> {
    let mut out = Vec::with_capacity(row.entry.len() + 256);
    let cut = cut(&row.entry, &row.current);
    out.push(if row.voided { VOIDED } else { 0 } | if cut.is_some() { CUT } else { 0 });
    out.extend_from_slice(&row.number.to_le_bytes());
    out.extend_from_slice(&row.index.to_le_bytes());
    out.extend_from_slice(&hash(&row.leaf).0);
    out.extend_from_slice(&row.current_index.to_le_bytes());
    out.extend_from_slice(&hash(&row.current_leaf).0);
    out.extend_from_slice(&row.amendments.to_le_bytes());
    text(&mut out, &row.rid);
    let keys = &row.keys;
    text(&mut out, &keys.member);
    text(&mut out, &keys.kind);
    out.extend_from_slice(&keys.date.to_le_bytes());
    text(&mut out, &keys.program);
    for list in [&keys.payees, &keys.areas, &keys.funded_by] {
        out.extend_from_slice(&(list.len() as u32).to_le_bytes());
        for value in list {
            text(&mut out, value);
        }
    }
    match cut {
        Some((at, len)) => {
            out.extend_from_slice(&at.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
        }
        None => text(&mut out, &row.current),
    }
    out.extend_from_slice(row.entry.as_bytes());
    out
}

/// The row of `bytes`; `None` if they are not one (damage in a derived file).
pub(super) fn decode(bytes: &[u8]) -> Option<StateRow> {
    let mut r = Reader(bytes);
    let flags = r.u8()?;
    let number = r.u32()?;
    let index = r.u64()?;
    let leaf = r.hash()?;
    let current_index = r.u64()?;
    let current_leaf = r.hash()?;
    let amendments = r.u32()?;
    let rid = r.text()?;
    let member = r.text()?;
    let kind = r.text()?;
    let date = r.u32()?;
    let program = r.text()?;
    let payees = r.list()?;
    let areas = r.list()?;
    let funded_by = r.list()?;
    let current = if flags & CUT != 0 {
        Cut(r.u32()? as usize, r.u32()? as usize)
    } else {
        Text(r.text()?)
    };
    let entry = std::str::from_utf8(r.0).ok()?.to_string();
    let current = match current {
        Text(t) => t,
        Cut(at, len) => {
            let (head, rest) = (entry.get(..at)?, entry.get(at..)?);
            let mut current = String::with_capacity(entry.len() - len.min(entry.len()));
            current.push_str(head);
            current.push_str(rest.get(len..)?);
            current
        }
    };
    Some(StateRow {
        number,
        member: member.clone(),
        index,
        leaf,
        rid,
        entry,
        current_index,
        current_leaf,
        voided: flags & VOIDED != 0,
        amendments,
        current,
        keys: Keys {
            member,
            kind,
            date,
            program,
            payees,
            areas,
            funded_by,
        },
    })
}

enum Current {
    Cut(usize, usize),
    Text(String),
}
use Current::{Cut, Text};

/// `current` as `entry` with one span removed, (start, length), if it is one: the span starts
/// where they first differ (what follows must then be equal), so the result is exact.
fn cut(entry: &str, current: &str) -> Option<(u32, u32)> {
    let (e, c) = (entry.as_bytes(), current.as_bytes());
    let removed = e.len().checked_sub(c.len())?;
    let at = e.iter().zip(c).take_while(|(a, b)| a == b).count();
    (e[at + removed..] == c[at..]).then_some((u32::try_from(at).ok()?, removed as u32))
}

fn hash(hex: &str) -> Hash {
    Hash::from_hex(hex).unwrap_or_default()
}

fn text(out: &mut Vec<u8>, value: &str) {
    out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    out.extend_from_slice(value.as_bytes());
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn hash(&mut self) -> Option<String> {
        Some(Hash(self.take(32)?.try_into().ok()?).to_hex())
    }

    fn text(&mut self) -> Option<String> {
        let n = self.u32()? as usize;
        Some(std::str::from_utf8(self.take(n)?).ok()?.to_string())
    }

    fn list(&mut self) -> Option<Vec<String>> {
        let n = self.u32()? as usize;
        (0..n).map(|_| self.text()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(entry: &str, current: &str) -> StateRow {
        StateRow {
            number: 3,
            member: "county-1".into(),
            index: 7,
            leaf: Hash([1; 32]).to_hex(),
            rid: "county-1-a".into(),
            entry: entry.into(),
            current_index: 9,
            current_leaf: Hash([2; 32]).to_hex(),
            voided: true,
            amendments: 2,
            current: current.into(),
            keys: Keys {
                member: "county-1".into(),
                kind: "payment".into(),
                date: 20_240_401,
                program: "p".into(),
                payees: vec!["x".into(), "y".into()],
                areas: vec!["320206".into()],
                funded_by: vec!["county-1-r1".into()],
            },
        }
    }

    #[test]
    fn rows_read_back_exactly() {
        let entry = r#"{"a":1,"rid":"r","signatures":[{"k":"s"}],"z":"é"}"#;
        for current in [
            r#"{"a":1,"rid":"r","z":"é"}"#,
            r#"{"a":1,"rid":"r","signatures":[{"k":"s"}]}"#,
            r#"{"b":2}"#,
            "",
            entry,
        ] {
            let row = row(entry, current);
            let bytes = encode(&row);
            assert_eq!(decode(&bytes).as_ref(), Some(&row), "{current}");
            assert!(decode(&bytes[..bytes.len() / 2]).is_none_or(|r| r != row));
        }
        // A current version that is the entry without its signatures costs two numbers.
        let cut = encode(&row(entry, r#"{"a":1,"rid":"r","z":"é"}"#));
        let stored = encode(&row(entry, r#"{"b":2}"#));
        assert_eq!(cut.len() - 8, stored.len() - 4 - 7);
    }
}
