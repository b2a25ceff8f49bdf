//! A single-pass reader for log entries: the happy path of [`SignedRecord::from_entry`].
//!
//! [`read_entry`] checks that the bytes are in a conservative subset of RFC 8785 form (no
//! white space, object names ASCII without escapes and strictly increasing — so sorted and
//! unique —, strings without escapes, integers below 2^53 only, no `null`, no empty object or
//! list) in one scan that also finds the top-level members, then deserializes each part
//! straight from its bytes into the record model's types. It returns `None` for anything
//! outside that subset or that does not deserialize, and the caller falls back to the full
//! reader, which gives the exact result and error message.
//!
//! The same scan screens the entry for the privacy guard: it runs the guard's search on every
//! value the guard checks (all but hashes, area codes and signatures, as
//! [`check_privacy`](super::check_privacy) classifies fields), skipping values with fewer
//! ASCII digits plus non-ASCII characters than any personal number has digits (a full-width
//! or other Unicode digit is one non-ASCII character, so none is missed), so only an entry
//! that the guard refuses needs the full check, which names the field.
//!
//! Why `Some` implies what the full reader returns: the subset is exactly what the JCS
//! serializer writes for such values, so the bytes are the canonical form of the JSON value
//! they hold; every scalar type of the model serializes back to the text it parsed (they keep
//! their text or refuse non-canonical spellings), and without `null` or empty lists no
//! optional field can be written out with its default. So re-serializing the record gives
//! the same bytes. Debug builds check this on every call.

use serde::de::DeserializeOwned;

use super::envelope::{Record, RecordSignature, SignedRecord};
use super::model::{Body, Kind};
use super::privacy::{FieldClass, classify, find_personal, may_hold_personal};
use super::types::{Date, Ident, Rid};
use crate::json_text::first_needing_escape;

/// One member of the top-level object: its name and the text of its value.
type Member<'a> = (&'a [u8], &'a str);

struct Scanner<'a> {
    /// The entry, checked to be UTF-8 before the scan: every part cut from it at an ASCII
    /// byte (a quote, a comma, a brace) is UTF-8 as well, so no part is checked again.
    text: &'a str,
    b: &'a [u8],
    i: usize,
    /// Whether a checked value has enough digits to hold a personal number.
    maybe_personal: bool,
}

/// Integers up to 15 digits are below 2^53: JCS writes them as they are.
const MAX_DIGITS: usize = 15;

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// A string without escapes or control characters; returns its content.
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.i;
        // The first byte a JSON string cannot hold as it is must be its closing quote.
        let len = first_needing_escape(self.b.get(start..)?)?;
        self.i = start + len;
        self.eat(b'"')?;
        self.text.get(start..start + len)
    }

    /// Notes a string or number that the privacy guard checks and would refuse: the guard's
    /// own search, on the same text with the same field class. Values that cannot hold enough
    /// digits (counting every non-ASCII character as one) are passed without decoding them.
    fn screen(&mut self, text: &str, class: FieldClass) {
        if self.maybe_personal || !may_hold_personal(text.as_bytes(), class) {
            return;
        }
        self.maybe_personal = find_personal(text, class).is_some();
    }

    /// A value of a field of privacy class `class` (list items share their list's class).
    fn value(&mut self, depth: u32, class: FieldClass) -> Option<()> {
        if depth > 32 {
            return None;
        }
        match self.peek()? {
            b'{' => self.object(depth + 1, false, class == FieldClass::Exempt, |_, _| {}),
            b'[' => {
                self.i += 1;
                if self.peek()? == b']' {
                    return None;
                }
                loop {
                    self.value(depth + 1, class)?;
                    match self.peek()? {
                        b',' => self.i += 1,
                        b']' => {
                            self.i += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'"' => {
                let text = self.string()?;
                self.screen(text, class);
                Some(())
            }
            b'0' => {
                self.i += 1;
                self.after_number()
            }
            b'1'..=b'9' => {
                let start = self.i;
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.i += 1;
                }
                if self.i - start > MAX_DIGITS {
                    return None;
                }
                // Digits are ASCII, so this `get` cannot fail; were it to, the full check runs.
                match self.text.get(start..self.i) {
                    Some(digits) => self.screen(digits, class),
                    None => self.maybe_personal = true,
                }
                self.after_number()
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            _ => None,
        }
    }

    /// A number must end here (no fraction or exponent).
    fn after_number(&self) -> Option<()> {
        matches!(self.peek()?, b',' | b']' | b'}').then_some(())
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.b[self.i..]
            .starts_with(word)
            .then(|| self.i += word.len())
    }

    /// An object with ASCII names in strictly increasing order; `each` sees every member.
    /// `record`: the record object itself, whose `signatures` the privacy guard skips;
    /// `exempt`: the privacy guard skips the whole object.
    fn object(
        &mut self,
        depth: u32,
        record: bool,
        exempt: bool,
        mut each: impl FnMut(&'a [u8], std::ops::Range<usize>),
    ) -> Option<()> {
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            return None;
        }
        let mut last: Option<&[u8]> = None;
        loop {
            let name = self.string()?.as_bytes();
            if !name.is_ascii() || last.is_some_and(|l| l >= name) {
                return None;
            }
            last = Some(name);
            self.eat(b':')?;
            let start = self.i;
            let class = if exempt || (record && name == b"signatures") {
                FieldClass::Exempt
            } else {
                classify(name)
            };
            self.value(depth, class)?;
            each(name, start..self.i);
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }
}

fn part<T: DeserializeOwned>(text: &str) -> Option<T> {
    serde_json::from_str(text).ok()
}

fn get<'a>(members: &[Member<'a>], name: &[u8]) -> Option<&'a str> {
    members.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
}

/// Reads a log entry on the fast path; `None` means "use the full reader" (which may still
/// accept it). See the module doc for why a result equals the full reader's. The flag says
/// whether the record may hold a personal number: `false` means it certainly passes
/// [`check_privacy`](super::check_privacy).
pub(crate) fn read_entry(bytes: &[u8]) -> Option<(SignedRecord, bool)> {
    read(bytes, false).map(|read| (read.record, read.maybe_personal))
}

/// What [`read_submission`] found in a record already in canonical form.
pub(crate) struct FastRead {
    /// The record, equal to what the full reader returns for the same bytes.
    pub record: SignedRecord,
    /// Whether the record may hold a personal number (`false`: it passes the privacy guard).
    pub maybe_personal: bool,
    /// The bytes its signatures cover, equal to
    /// [`signing_bytes`](super::canonical::signing_bytes)`(&record.record)`.
    pub signing: Vec<u8>,
}

/// [`read_entry`] for a submitted record whose text is already its entry bytes (what
/// `daylight publish` and any JCS writer send), also giving the bytes its signatures cover:
/// the same members without `signatures`, cut from the entry bytes instead of serializing
/// the record again. `None`: the text is not in the fast reader's canonical subset, and the
/// caller uses the full reader.
pub(crate) fn read_submission(bytes: &[u8]) -> Option<FastRead> {
    read(bytes, true)
}

/// The text of one top-level object `{` member `,` ... `}` built from `members`, skipping
/// those named in `skip`. The members are kept in their order and with their value text.
fn object_of(members: &[Member<'_>], skip: &[&[u8]], capacity: usize) -> String {
    let mut out = String::with_capacity(capacity);
    out.push('{');
    for (name, value) in members {
        if skip.contains(name) {
            continue;
        }
        if out.len() > 1 {
            out.push(',');
        }
        out.push('"');
        // Names are ASCII: the scan refuses any other.
        out.extend(name.iter().map(|&b| char::from(b)));
        out.push_str("\":");
        out.push_str(value);
    }
    out.push('}');
    out
}

/// The one scan behind [`read_entry`] and [`read_submission`]; `signing` asks for the
/// signing bytes too (left empty otherwise).
fn read(bytes: &[u8], signing: bool) -> Option<FastRead> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut members: Vec<Member<'_>> = Vec::with_capacity(16);
    let mut scanner = Scanner {
        text,
        b: bytes,
        i: 0,
        maybe_personal: false,
    };
    // A value is cut at ASCII bytes, so `get` never fails; if it did, the empty text would
    // not deserialize and the full reader would take over.
    scanner.object(1, true, false, |name, value| {
        members.push((name, text.get(value).unwrap_or_default()))
    })?;
    if scanner.i != bytes.len() || get(&members, b"v")? != "1" {
        return None;
    }
    let kind = get(&members, b"kind")?;
    let kind = Kind::parse(kind.get(1..kind.len() - 1)?)?;
    let rid: Rid = part(get(&members, b"rid")?)?;
    let event_date: Date = part(get(&members, b"event_date")?)?;
    let program: Ident = part(get(&members, b"program")?)?;
    let signatures: Vec<RecordSignature> = part(get(&members, b"signatures")?)?;
    // The kind's fields, as one object in the same (sorted) order.
    let fields = object_of(
        &members,
        &[
            b"v",
            b"kind",
            b"rid",
            b"event_date",
            b"program",
            b"signatures",
        ],
        bytes.len(),
    );
    let body = match kind {
        Kind::Allocation => Body::Allocation(part(&fields)?),
        Kind::Receipt => Body::Receipt(part(&fields)?),
        Kind::Payment => Body::Payment(part(&fields)?),
        Kind::Project => Body::Project(part(&fields)?),
        Kind::Asset => Body::Asset(part(&fields)?),
        Kind::Household => Body::Household(part(&fields)?),
        Kind::Finding => Body::Finding(part(&fields)?),
        Kind::Rectification => Body::Rectification(part(&fields)?),
        Kind::Void => Body::Void(part(&fields)?),
        // Rare; its nested replacement is read by the full reader.
        Kind::Correction => return None,
    };
    let record = SignedRecord {
        record: Record {
            rid,
            event_date,
            program,
            body,
        },
        signatures,
    };
    // The entry is the JCS form of the whole object (checked below in debug builds), so the
    // same members without `signatures`, in the same order, are the JCS form of the record
    // without it: JCS orders members by name and writes each value on its own.
    let signing = if signing {
        object_of(&members, &[b"signatures"], bytes.len()).into_bytes()
    } else {
        Vec::new()
    };
    debug_assert_eq!(
        super::canonical::to_entry_bytes(&record),
        bytes,
        "fast entry reader accepted a non-canonical entry"
    );
    debug_assert!(
        signing.is_empty() || signing == super::canonical::signing_bytes(&record.record),
        "signing bytes cut from the entry differ from the record's JCS signing bytes"
    );
    debug_assert!(
        scanner.maybe_personal || super::check_privacy(&record).is_ok(),
        "privacy screen passed a record the guard refuses"
    );
    Some(FastRead {
        record,
        maybe_personal: scanner.maybe_personal,
        signing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(json: &str) -> bool {
        let mut s = Scanner {
            text: json,
            b: json.as_bytes(),
            i: 0,
            maybe_personal: false,
        };
        s.object(1, true, false, |_, _| {}).is_some() && s.i == json.len()
    }

    #[test]
    fn scanner_accepts_only_a_canonical_subset() {
        assert!(scan(r#"{"a":1,"b":[true,"x"],"c":{"d":0}}"#));
        for bad in [
            r#"{"b":1,"a":2}"#,          // unsorted
            r#"{"a":1,"a":1}"#,          // duplicate
            r#"{"a": 1}"#,               // white space
            r#"{"a":01}"#,               // leading zero
            r#"{"a":1.0}"#,              // fraction
            r#"{"a":1e3}"#,              // exponent
            r#"{"a":-1}"#,               // negative: left to the full reader
            r#"{"a":null}"#,             // null
            r#"{"a":[]}"#,               // empty list
            r#"{"a":{}}"#,               // empty object
            r#"{"a":"\n"}"#,             // escape
            r#"{"é":1}"#,                // non-ASCII name
            r#"{"a":1234567890123456}"#, // 16 digits
            r#"{"a":1} "#,               // trailing space
        ] {
            assert!(!scan(bad), "{bad}");
        }
    }

    #[test]
    fn signed_records_take_the_fast_path() {
        use crate::{KeyType, SigningKey};
        let key =
            SigningKey::from_seed("net/county-1/operator/a", KeyType::Ed25519, [3; 32]).unwrap();
        let leaf = "ab".repeat(32);
        let record = Record::from_value(serde_json::json!({
            "v": 1, "rid": "county-1-p1", "kind": "payment", "event_date": "2024-02-01",
            "program": "relief24", "purpose": "Seeds \u{e9}t\u{e9} \"A\"",
            "payee": {"org": {"name": "Coop"}},
            "amount": {"minor": "300000", "currency": "CNY"},
            "funded_by": [{"ref": {"log": "county-1", "rid": "county-1-r1", "leaf": leaf},
                           "amount": {"minor": "300000", "currency": "CNY"}}],
            "documents": [{"title": "Invoice 7", "sha256": "cd".repeat(32)}],
        }))
        .unwrap();
        let signed = record.sign(&key);
        let bytes = super::super::canonical::to_entry_bytes(&signed);
        // Quotes in text need escapes: the full reader handles it.
        assert!(read_entry(&bytes).is_none());
        assert_eq!(SignedRecord::from_entry(&bytes).unwrap(), signed);
        let mut plain = signed.clone();
        let Body::Payment(p) = &mut plain.record.body else {
            unreachable!()
        };
        p.purpose = super::super::types::Text::parse("Seeds \u{e9}t\u{e9}").unwrap();
        let plain = plain.record.sign(&key);
        let bytes = super::super::canonical::to_entry_bytes(&plain);
        assert_eq!(read_entry(&bytes), Some((plain, false)));
    }

    /// The screen flags exactly the records whose checked values hold a personal number, as
    /// the guard reads them.
    #[test]
    fn the_privacy_screen_flags_long_numbers_outside_hashes_and_signatures() {
        use crate::{KeyType, SigningKey};
        let key =
            SigningKey::from_seed("net/county-1/operator/a", KeyType::Ed25519, [3; 32]).unwrap();
        let screened = |purpose: &str, minor: &str| {
            let record = Record::from_value(serde_json::json!({
                "v": 1, "rid": "county-1-p1", "kind": "payment", "event_date": "2024-02-01",
                "program": "relief24", "purpose": purpose,
                "payee": {"household": {"pseudonym": "12".repeat(32), "area": "320206101201",
                                        "commitment": "34".repeat(32)}},
                "amount": {"minor": minor, "currency": "CNY"},
                "funded_by": [{"ref": {"log": "county-1", "rid": "county-1-r1", "leaf": "56".repeat(32)},
                               "amount": {"minor": minor, "currency": "CNY"}}],
            }))
            .unwrap();
            let bytes = super::super::canonical::to_entry_bytes(&record.sign(&key));
            read_entry(&bytes).map(|(_, maybe_personal)| maybe_personal)
        };
        // Hashes full of digits and 12-digit area codes are skipped.
        assert_eq!(screened("Monthly allowance", "20000"), Some(false));
        assert_eq!(
            screened("每月生活补助 2024年1月至12月", "20000"),
            Some(false)
        );
        // An 11-digit amount is legitimate; an ID-shaped one is not.
        assert_eq!(screened("Monthly allowance", "13812345678"), Some(false));
        assert_eq!(
            screened("Monthly allowance", "11010519491231002"),
            Some(false)
        );
        assert_eq!(screened("ID 11010519491231002X", "20000"), Some(true));
        assert_eq!(screened("Tel 138-1234-5678", "20000"), Some(true));
        // Digits as people write them: full-width, invisible separators, cards.
        assert_eq!(screened("电话１３８１２３４５６７８", "20000"), Some(true));
        assert_eq!(
            screened("Tel 138\u{200B}1234\u{200B}5678", "20000"),
            Some(true)
        );
        assert_eq!(screened("Card 4111 1111 1111 1111", "20000"), Some(true));
        // An amount of 16 digits passes; one of 17 that is a valid card number does not.
        assert_eq!(
            screened("Monthly allowance", "4111111111111111"),
            Some(false)
        );
        assert_eq!(
            screened("Monthly allowance", "41111111111111113"),
            Some(true)
        );
        let mut record = Record::from_value(serde_json::json!({
            "v": 1, "rid": "county-1-p1", "kind": "payment", "event_date": "2024-02-01",
            "program": "relief24", "purpose": "Seeds for 2024",
            "payee": {"org": {"name": "Coop 7"}},
            "amount": {"minor": "3000000", "currency": "CNY"},
            "funded_by": [{"ref": {"log": "county-1", "rid": "county-1-r1", "leaf": "56".repeat(32)},
                           "amount": {"minor": "3000000", "currency": "CNY"}}],
        }))
        .unwrap()
        .sign(&key);
        let bytes = super::super::canonical::to_entry_bytes(&record);
        assert_eq!(read_entry(&bytes).map(|(_, m)| m), Some(false));
        // The same record with a phone number in its purpose is flagged.
        let Body::Payment(p) = &mut record.record.body else {
            unreachable!()
        };
        p.purpose = super::super::types::Text::parse("Call 13812345678").unwrap();
        let bytes = super::super::canonical::to_entry_bytes(&record.record.sign(&key));
        assert_eq!(read_entry(&bytes).map(|(_, m)| m), Some(true));
    }

    #[test]
    fn non_records_fall_back() {
        assert!(read_entry(b"not a record").is_none());
        assert!(read_entry(br#"{"v":1}"#).is_none());
        assert!(read_entry(br#"{"v":2,"kind":"void"}"#).is_none());
    }
}
