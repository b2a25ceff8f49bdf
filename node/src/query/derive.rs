//! What the index keeps of one entry, derived with the verifier's record reader, and how a
//! correction or void changes a record's current state — the same rules as
//! [`daylight_verifier::record::LogState`] (`docs/records.md`, *Current state*), applied to
//! one stored row at a time instead of a whole log in memory.

use daylight_verifier::Hash;
use daylight_verifier::record::{Body, Kind, Party, Record, Replacement, SignedRecord};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The values a record is found by: each becomes a row of the secondary index.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keys {
    /// The member whose log holds the record.
    pub member: String,
    /// The record's kind.
    pub kind: String,
    /// Its event date as `yyyymmdd`.
    pub date: u32,
    /// Its programme.
    pub program: String,
    /// Who is paid: member ids, organisation names and USCCs, household pseudonyms.
    pub payees: Vec<String>,
    /// Administrative division codes, each with its 6- and 9-digit prefixes.
    pub areas: Vec<String>,
    /// The rids of the records its `funded_by` draws on (a rid names its log too): where the
    /// money of each of those went.
    pub funded_by: Vec<String>,
}

impl Keys {
    /// The keys of a record's content in the log of `member`.
    pub fn of(member: &str, content: &Replacement) -> Keys {
        let mut payees = Vec::new();
        let mut areas = Vec::new();
        let mut party = |p: &Party, payee: bool, areas: &mut Vec<String>| match p {
            Party::Member(m) if payee => payees.push(m.as_str().to_string()),
            Party::Org(o) if payee => {
                payees.push(o.name.as_str().to_string());
                if let Some(uscc) = &o.uscc {
                    payees.push(uscc.as_str().to_string());
                }
            }
            Party::Household(h) => {
                if payee {
                    payees.push(h.pseudonym.to_string());
                }
                areas.push(h.area.as_str().to_string());
            }
            _ => {}
        };
        match &content.body {
            Body::Allocation(a) => party(&a.payee, true, &mut areas),
            Body::Payment(p) => party(&p.payee, true, &mut areas),
            Body::Receipt(_) => payees.push(member.to_string()),
            Body::Project(p) => {
                if let Some(c) = &p.contractor {
                    party(c, true, &mut areas);
                }
                if let Some(a) = &p.area {
                    areas.push(a.as_str().to_string());
                }
            }
            Body::Asset(a) => {
                for b in &a.beneficiaries {
                    party(b, false, &mut areas);
                }
            }
            Body::Household(h) => areas.push(h.area.as_str().to_string()),
            _ => {}
        }
        Keys {
            member: member.to_string(),
            kind: content.body.kind().as_str().to_string(),
            date: date_number(&content.event_date.to_string()).unwrap_or(0),
            program: content.program.as_str().to_string(),
            payees: dedup(payees),
            areas: dedup(areas.iter().flat_map(|a| area_prefixes(a)).collect()),
            funded_by: dedup(
                content
                    .body
                    .funded_by()
                    .iter()
                    .map(|part| part.reference.rid.as_str().to_string())
                    .collect(),
            ),
        }
    }

    /// Every index key of these values (see `index_key`).
    pub fn index_keys(&self) -> Vec<String> {
        let mut keys = vec![
            ALL.to_string(),
            index_key(Filter::Log, &self.member),
            index_key(Filter::Kind, &self.kind),
            index_key(Filter::Program, &self.program),
        ];
        keys.extend(self.payees.iter().map(|p| index_key(Filter::Payee, p)));
        keys.extend(self.areas.iter().map(|a| index_key(Filter::Area, a)));
        keys.extend(
            self.funded_by
                .iter()
                .map(|rid| index_key(Filter::FundedBy, rid)),
        );
        keys
    }
}

/// The index key every record has: the scan of everything.
pub const ALL: &str = "*";

/// What a secondary index row is keyed by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// The log's member id.
    Log,
    /// The kind.
    Kind,
    /// The programme.
    Program,
    /// A payee.
    Payee,
    /// An area code or prefix.
    Area,
    /// A record drawn on through `funded_by`.
    FundedBy,
}

/// The index key of `value` for `filter`: a one-letter tag, `:`, the value.
pub fn index_key(filter: Filter, value: &str) -> String {
    let tag = match filter {
        Filter::Log => 'l',
        Filter::Kind => 'k',
        Filter::Program => 'p',
        Filter::Payee => 'y',
        Filter::Area => 'a',
        Filter::FundedBy => 'f',
    };
    format!("{tag}:{value}")
}

/// `yyyy-mm-dd` as the number `yyyymmdd`, if it is a real date.
pub fn date_number(text: &str) -> Option<u32> {
    let date = daylight_verifier::record::Date::parse(text).ok()?;
    Some(u32::from(date.year()) * 10_000 + u32::from(date.month()) * 100 + u32::from(date.day()))
}

/// An area code and its coarser levels: `320206101201` → `320206`, `320206101`,
/// `320206101201`, so a county's code finds its townships' and villages' records.
fn area_prefixes(area: &str) -> Vec<String> {
    [6, 9, 12]
        .into_iter()
        .filter(|&n| n <= area.len() && area.is_char_boundary(n))
        .map(|n| area[..n].to_string())
        .collect()
}

fn dedup(mut values: Vec<String>) -> Vec<String> {
    values.sort();
    values.dedup();
    values
}

/// What one entry is, for the index.
#[derive(Debug)]
pub enum Derived {
    /// A record stating facts: it gets a state row.
    Record {
        /// Its rid.
        rid: String,
        /// Its content, keys and the entry as JSON.
        content: Content,
    },
    /// A correction or void of another record of the log.
    Amendment {
        /// The correction's or void's own rid.
        rid: String,
        /// The record it amends.
        target: String,
        /// The version it pins.
        pinned: Hash,
        /// Its kind (correction or void).
        kind: Kind,
        /// For a correction: the new content.
        replacement: Option<Content>,
    },
    /// Not a record (a log may hold anything its key signed); listed in the feed only.
    Unreadable,
}

/// A record's content as the index keeps it.
#[derive(Debug)]
pub struct Content {
    /// The content without signatures, under the record's rid, as JSON.
    pub json: Value,
    /// Its index keys.
    pub keys: Keys,
}

impl Derived {
    /// Reads entry `bytes` of the log of `member`.
    pub fn of(member: &str, bytes: &[u8]) -> Derived {
        let Ok(signed) = SignedRecord::from_entry(bytes) else {
            return Derived::Unreadable;
        };
        let Record {
            rid,
            event_date,
            program,
            body,
        } = signed.record;
        let content = |rid: &daylight_verifier::record::Rid, replacement: Replacement| {
            let keys = Keys::of(member, &replacement);
            let record = Record {
                rid: rid.clone(),
                event_date: replacement.event_date,
                program: replacement.program,
                body: replacement.body,
            };
            Content {
                json: Value::Object(record.to_object()),
                keys,
            }
        };
        match body {
            Body::Correction(c) => {
                let c = *c;
                Derived::Amendment {
                    rid: rid.to_string(),
                    target: c.corrects.rid.to_string(),
                    pinned: c.corrects.leaf.0,
                    kind: Kind::Correction,
                    replacement: Some(content(&c.corrects.rid, c.replacement)),
                }
            }
            Body::Void(v) => Derived::Amendment {
                rid: rid.to_string(),
                target: v.voids.rid.to_string(),
                pinned: v.voids.leaf.0,
                kind: Kind::Void,
                replacement: None,
            },
            body => Derived::Record {
                rid: rid.to_string(),
                content: content(
                    &rid,
                    Replacement {
                        event_date,
                        program,
                        body,
                    },
                ),
            },
        }
    }
}

/// A record's row in the index: where it is, what it said, and its current version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StateRow {
    /// The storage number of the log that holds it.
    pub number: u32,
    /// The member whose log holds it.
    pub member: String,
    /// Its index.
    pub index: u64,
    /// Its leaf, hex.
    pub leaf: String,
    /// Its rid.
    pub rid: String,
    /// The entry as logged, JSON text.
    pub entry: String,
    /// The entry that made the current version: index.
    pub current_index: u64,
    /// ... and leaf, hex.
    pub current_leaf: String,
    /// Whether voided.
    pub voided: bool,
    /// Corrections and voids applied.
    pub amendments: u32,
    /// The current content, JSON text.
    pub current: String,
    /// The current content's keys.
    pub keys: Keys,
}

/// Why a correction or void was not applied (the record keeps its state).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotApplied {
    /// The record is voided already.
    Voided,
    /// The pin is not the current version.
    NotCurrent,
    /// The replacement changes the record's kind.
    KindChange,
}

impl StateRow {
    /// Applies a correction (with `replacement`) or void (without) at `index` with `leaf`
    /// that pins `pinned`, if the rules allow (`docs/records.md`, *Current state*).
    pub fn amend(
        &mut self,
        index: u64,
        leaf: &Hash,
        pinned: &Hash,
        replacement: Option<&Content>,
    ) -> Result<(), NotApplied> {
        if self.voided {
            return Err(NotApplied::Voided);
        }
        if self.current_leaf != pinned.to_hex() {
            return Err(NotApplied::NotCurrent);
        }
        if let Some(r) = replacement
            && r.keys.kind != self.keys.kind
        {
            return Err(NotApplied::KindChange);
        }
        match replacement {
            Some(r) => {
                self.current = r.json.to_string();
                self.keys = r.keys.clone();
            }
            None => self.voided = true,
        }
        self.current_index = index;
        self.current_leaf = leaf.to_hex();
        self.amendments = self.amendments.saturating_add(1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: &str, leaf: Hash) -> StateRow {
        StateRow {
            number: 0,
            member: "county-1".into(),
            index: 0,
            leaf: leaf.to_hex(),
            rid: "county-1-a".into(),
            entry: "{}".into(),
            current_index: 0,
            current_leaf: leaf.to_hex(),
            voided: false,
            amendments: 0,
            current: "{}".into(),
            keys: Keys {
                kind: kind.into(),
                ..Keys::default()
            },
        }
    }

    fn content(kind: &str, program: &str) -> Content {
        Content {
            json: serde_json::json!({"program": program}),
            keys: Keys {
                kind: kind.into(),
                program: program.into(),
                ..Keys::default()
            },
        }
    }

    #[test]
    fn only_a_pin_of_the_current_version_applies() {
        let (a, b, c) = (Hash([1; 32]), Hash([2; 32]), Hash([3; 32]));
        let mut r = row("payment", a);
        // A correction pinning the original applies and becomes current.
        r.amend(5, &b, &a, Some(&content("payment", "p2"))).unwrap();
        assert_eq!((r.current_index, r.keys.program.as_str()), (5, "p2"));
        // Pinning the original again is a non-current pin: refused.
        assert_eq!(
            r.amend(6, &c, &a, Some(&content("payment", "p3"))),
            Err(NotApplied::NotCurrent)
        );
        // A change of kind is refused.
        assert_eq!(
            r.amend(6, &c, &b, Some(&content("project", "p3"))),
            Err(NotApplied::KindChange)
        );
        // A void of the current version applies; nothing applies after it.
        r.amend(7, &c, &b, None).unwrap();
        assert!(r.voided);
        assert_eq!(r.amendments, 2);
        assert_eq!(r.keys.program, "p2", "a void keeps the content");
        assert_eq!(r.amend(8, &a, &c, None), Err(NotApplied::Voided));
    }

    #[test]
    fn areas_find_coarser_levels_and_dates_are_numbers() {
        assert_eq!(
            area_prefixes("320206101201"),
            ["320206", "320206101", "320206101201"]
        );
        assert_eq!(area_prefixes("320206"), ["320206"]);
        assert_eq!(date_number("2024-04-15"), Some(20_240_415));
        assert_eq!(date_number("2023-02-29"), None);
        assert_eq!(index_key(Filter::Payee, "x"), "y:x");
    }
}
