//! The OCDS objects an export writes, as structs that borrow from the records and serialize
//! straight from them.
//!
//! Invariant: **every struct declares its fields in byte order of their JSON names**, the order
//! in which a `serde_json::Value` map writes its keys. The files keep the exact bytes they had
//! when releases were built as JSON trees, and a reader sees one key order in every object of
//! a package. A new field goes where its name sorts.

use std::borrow::Cow;

use daylight_verifier::hash::Hash;
use daylight_verifier::record::{Date, Document, Money, Reference};
use serde::Serialize;
use serde::ser::{SerializeStruct as _, Serializer};

use crate::export::model::major_f64;

/// A date as OCDS writes it, at midnight UTC, or a time already written out.
#[derive(Clone, Copy)]
pub(super) enum When<'a> {
    Day(Date),
    At(&'a str),
}

impl Serialize for When<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            When::Day(d) => {
                let mut text = *b"0000-00-00T00:00:00Z";
                let digits = |out: &mut [u8], mut n: u32| {
                    for place in out.iter_mut().rev() {
                        *place = b'0' + (n % 10) as u8;
                        n /= 10;
                    }
                };
                digits(&mut text[0..4], u32::from(d.year()));
                digits(&mut text[5..7], u32::from(d.month()));
                digits(&mut text[8..10], u32::from(d.day()));
                s.serialize_str(std::str::from_utf8(&text).unwrap_or_default())
            }
            When::At(t) => s.serialize_str(t),
        }
    }
}

/// A hash as 64 lowercase hex digits.
#[derive(Clone, Copy)]
pub(super) struct Hex<'a>(pub(super) &'a Hash);

impl Serialize for Hex<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.hex_digits(&mut [0u8; 64]))
    }
}

/// A reference as `log/rid/leaf`.
pub(super) struct RefOut<'a>(pub(super) &'a Reference);

impl Serialize for RefOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut leaf = [0u8; 64];
        let mut text = Joined::default();
        text.push(r.log.as_str());
        text.push("/");
        text.push(r.rid.as_str());
        text.push("/");
        text.push(r.leaf.0.hex_digits(&mut leaf));
        text.serialize(s)
    }
}

/// An OCDS `Value`: the amount in major units and the currency.
#[derive(Serialize)]
pub(super) struct Amount {
    pub(super) amount: f64,
    pub(super) currency: &'static str,
}

impl Amount {
    pub(super) fn of(m: &Money) -> Amount {
        Amount {
            amount: major_f64(m),
            currency: m.currency.code(),
        }
    }
}

/// A document: its title, and its SHA-256 as id and description.
pub(super) struct DocumentOut<'a>(pub(super) &'a Document);

impl Serialize for DocumentOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self.0;
        let mut out = s.serialize_struct("Document", 3)?;
        out.serialize_field(
            "description",
            &format_args!("SHA-256 {}", d.sha256).to_string(),
        )?;
        out.serialize_field("id", &d.sha256)?;
        out.serialize_field("title", d.title.as_str())?;
        out.end()
    }
}

pub(super) fn documents(docs: &[Document]) -> Vec<DocumentOut<'_>> {
    docs.iter().map(DocumentOut).collect()
}

/// An OCDS organization id, kept as what it is made of and written out when serialized (a
/// process paying 900,000 households refers to each of them twice).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum PartyId<'a> {
    /// A member of the network: its member id.
    Member(&'a str),
    /// An organisation with a unified social credit code: `CN-SAIC-<uscc>`.
    Uscc(&'a str),
    /// An organisation without one: `org-` and 16 hex digits of its name's SHA-256.
    Named([u8; 16]),
    /// A household: `household-<pseudonym>`.
    Household(&'a Hash),
}

impl std::fmt::Display for PartyId<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PartyId::Member(m) => f.write_str(m),
            PartyId::Uscc(u) => write!(f, "CN-SAIC-{u}"),
            PartyId::Named(digits) => {
                f.write_str("org-")?;
                f.write_str(std::str::from_utf8(digits).unwrap_or_default())
            }
            PartyId::Household(h) => {
                f.write_str("household-")?;
                f.write_str(h.hex_digits(&mut [0u8; 64]))
            }
        }
    }
}

impl Serialize for PartyId<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            PartyId::Member(m) => s.serialize_str(m),
            PartyId::Household(h) => {
                let mut text = Joined::default();
                text.push("household-");
                text.push(h.hex_digits(&mut [0u8; 64]));
                text.serialize(s)
            }
            other => s.collect_str(other),
        }
    }
}

/// An organization's name as OCDS shows it; a household has none in the log, so it is shown
/// as `household` and the start of its pseudonym.
#[derive(Clone, Copy)]
pub(super) enum PartyName<'a> {
    Text(&'a str),
    Household(&'a Hash),
}

impl Serialize for PartyName<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            PartyName::Text(t) => s.serialize_str(t),
            PartyName::Household(h) => {
                let mut name = *b"household 000000000000";
                let _ = hex::encode_to_slice(&h.0[..6], &mut name[10..]);
                s.serialize_str(std::str::from_utf8(&name).unwrap_or_default())
            }
        }
    }
}

/// A string of a few parts joined on the stack, for the ids and references every release
/// repeats; one that does not fit is joined on the heap.
struct Joined {
    bytes: [u8; 512],
    len: usize,
    spilled: Option<String>,
}

impl Default for Joined {
    fn default() -> Joined {
        Joined {
            bytes: [0; 512],
            len: 0,
            spilled: None,
        }
    }
}

impl Joined {
    fn push(&mut self, part: &str) {
        if let Some(spilled) = &mut self.spilled {
            spilled.push_str(part);
        } else if let Some(room) = self.bytes.get_mut(self.len..self.len + part.len()) {
            room.copy_from_slice(part.as_bytes());
            self.len += part.len();
        } else {
            let mut spilled = String::from_utf8_lossy(&self.bytes[..self.len]).into_owned();
            spilled.push_str(part);
            self.spilled = Some(spilled);
        }
    }

    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.spilled {
            Some(text) => s.serialize_str(text),
            // Only whole `str`s were copied in, so the bytes are UTF-8.
            None => {
                s.serialize_str(std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default())
            }
        }
    }
}

/// An organization reference: `{id, name}`.
#[derive(Clone, Copy, Serialize)]
pub(super) struct PartyRef<'a> {
    pub(super) id: PartyId<'a>,
    pub(super) name: PartyName<'a>,
}

/// An organization in `parties`.
#[derive(Serialize)]
pub(super) struct PartyOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) address: Option<Region<'a>>,
    pub(super) id: PartyId<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) identifier: Option<Identifier<'a>>,
    pub(super) name: PartyName<'a>,
    pub(super) roles: Roles,
}

/// A role a party plays in a contracting process (the four an export gives).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    Buyer,
    Payer,
    Payee,
    Supplier,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Buyer => "buyer",
            Role::Payer => "payer",
            Role::Payee => "payee",
            Role::Supplier => "supplier",
        }
    }
}

/// A party's roles in the order they were first given, in a few bytes: a process paying
/// 900,000 households lists 900,000 parties.
#[derive(Clone, Copy, Default)]
pub(super) struct Roles {
    given: [Option<Role>; 4],
}

impl Roles {
    /// Adds `role` if the party does not have it yet. There are four roles, so there is
    /// always room.
    pub(super) fn add(&mut self, role: Role) {
        for slot in &mut self.given {
            match slot {
                Some(r) if *r == role => return,
                Some(_) => {}
                None => {
                    *slot = Some(role);
                    return;
                }
            }
        }
    }
}

impl Serialize for Roles {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.given.iter().map_while(|r| r.map(Role::as_str)))
    }
}

#[derive(Serialize)]
pub(super) struct Region<'a> {
    pub(super) region: &'a str,
}

#[derive(Serialize)]
pub(super) struct Identifier<'a> {
    pub(super) id: &'a str,
    #[serde(rename = "legalName")]
    pub(super) legal_name: &'a str,
    pub(super) scheme: &'static str,
}

#[derive(Serialize)]
pub(super) struct Planning<'a> {
    pub(super) budget: Budget<'a>,
    pub(super) documents: Vec<DocumentOut<'a>>,
}

#[derive(Serialize)]
pub(super) struct Budget<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) amount: Option<Amount>,
    pub(super) description: Cow<'a, str>,
    pub(super) id: &'a str,
    pub(super) project: &'a str,
    #[serde(rename = "projectID")]
    pub(super) project_id: &'a str,
}

#[derive(Serialize)]
pub(super) struct Tender<'a> {
    pub(super) documents: Vec<DocumentOut<'a>>,
    pub(super) id: &'a str,
    pub(super) status: &'static str,
    pub(super) title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) value: Option<Amount>,
}

#[derive(Serialize)]
pub(super) struct Award<'a> {
    pub(super) date: When<'a>,
    pub(super) documents: Vec<DocumentOut<'a>>,
    pub(super) id: &'a str,
    pub(super) status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) suppliers: Option<[PartyRef<'a>; 1]>,
    pub(super) title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) value: Option<Amount>,
}

/// A contract; `T` is its transactions (written out from the payments when serialized).
#[derive(Serialize)]
pub(super) struct Contract<'b, 'a, T: Listing> {
    #[serde(rename = "awardID")]
    pub(super) award_id: &'b str,
    pub(super) id: &'b str,
    #[serde(skip_serializing_if = "Implementation::is_empty")]
    pub(super) implementation: Implementation<'b, 'a, T>,
}

#[derive(Serialize)]
pub(super) struct Implementation<'b, 'a, T: Listing> {
    #[serde(skip_serializing_if = "is_empty_slice")]
    pub(super) milestones: &'b [Milestone<'a>],
    #[serde(skip_serializing_if = "Listing::is_empty")]
    pub(super) transactions: T,
}

impl<T: Listing> Implementation<'_, '_, T> {
    pub(super) fn is_empty(&self) -> bool {
        self.milestones.is_empty() && self.transactions.is_empty()
    }
}

/// A list written out from what it is made of when serialized; whether it has anything to
/// write decides whether its key is written at all.
pub(super) trait Listing {
    fn is_empty(&self) -> bool;
}

#[derive(Serialize)]
pub(super) struct Milestone<'a> {
    pub(super) code: &'static str,
    #[serde(rename = "dateMet")]
    pub(super) date_met: When<'a>,
    pub(super) documents: Vec<DocumentOut<'a>>,
    pub(super) id: &'a str,
    pub(super) status: &'static str,
    pub(super) title: &'a str,
    #[serde(rename = "type")]
    pub(super) kind: &'static str,
}

#[derive(Serialize)]
pub(super) struct Transaction<'a> {
    pub(super) date: When<'a>,
    pub(super) id: &'a str,
    pub(super) payee: PartyRef<'a>,
    pub(super) payer: PartyRef<'a>,
    /// The first funding reference, or null.
    pub(super) source: Option<RefOut<'a>>,
    pub(super) value: Amount,
}

/// A release; `D` is its `daylight` object (the entry, or the compiled release's records),
/// `P` its parties and `C` its contracts, each written out when serialized.
#[derive(Serialize)]
pub(super) struct Release<'b, 'a, D, P, C: Listing> {
    #[serde(skip_serializing_if = "is_empty_slice")]
    pub(super) awards: &'b [Award<'a>],
    pub(super) buyer: PartyRef<'a>,
    #[serde(skip_serializing_if = "Listing::is_empty")]
    pub(super) contracts: C,
    pub(super) date: When<'b>,
    pub(super) daylight: D,
    pub(super) id: String,
    #[serde(rename = "initiationType")]
    pub(super) initiation_type: &'static str,
    pub(super) ocid: &'b str,
    pub(super) parties: P,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) planning: Option<&'b Planning<'a>>,
    pub(super) tag: [&'static str; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) tender: Option<&'b Tender<'a>>,
}

pub(super) fn is_empty_slice<T>(items: &&[T]) -> bool {
    items.is_empty()
}

/// A release's `daylight` object: the entry it comes from.
#[derive(Serialize)]
pub(super) struct EntryOut<'a> {
    pub(super) index: u64,
    pub(super) kind: &'static str,
    pub(super) leaf: Hex<'a>,
    pub(super) log: &'a str,
    pub(super) rid: Option<&'a str>,
}

/// One of the records a compiled release was compiled from (its `daylight.records`).
#[derive(Serialize)]
pub(super) struct CompiledRecord<'a> {
    pub(super) index: u64,
    pub(super) leaf: Hex<'a>,
    pub(super) log: &'a str,
    pub(super) rid: &'a str,
    pub(super) status: &'static str,
}

/// A linked release in a record.
#[derive(Serialize)]
pub(super) struct LinkedRelease<'b> {
    pub(super) date: When<'b>,
    pub(super) tag: [&'static str; 1],
    pub(super) url: Url<'b>,
}

/// A release's URL: the release package's URI and the release id.
pub(super) struct Url<'b> {
    pub(super) uri: &'b str,
    pub(super) log: &'b str,
    pub(super) index: u64,
}

impl Serialize for Url<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut text = Joined::default();
        text.push(self.uri);
        text.push("#");
        text.push(self.log);
        text.push("-");
        text.push(itoa::Buffer::new().format(self.index));
        text.serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json<T: Serialize>(value: &T) -> String {
        serde_json::to_string(value).unwrap()
    }

    #[test]
    fn days_are_written_at_midnight_with_every_digit() {
        let day = Date::new(987, 3, 4).unwrap();
        assert_eq!(json(&When::Day(day)), r#""0987-03-04T00:00:00Z""#);
        let day = Date::parse("2026-12-31").unwrap();
        assert_eq!(json(&When::Day(day)), r#""2026-12-31T00:00:00Z""#);
    }

    #[test]
    fn joined_text_too_long_for_the_stack_is_whole() {
        let long = "长".repeat(300);
        let url = Url {
            uri: &long,
            log: "county-320206",
            index: 42,
        };
        assert_eq!(json(&url), format!("\"{long}#county-320206-42\""));
        let short = Url {
            uri: "https://example.org/ocds-releases.json",
            log: "county-320206",
            index: 7,
        };
        assert_eq!(
            json(&short),
            r#""https://example.org/ocds-releases.json#county-320206-7""#
        );
    }

    #[test]
    fn household_ids_and_names_come_from_the_pseudonym() {
        let h = Hash([0xab; 32]);
        let party = PartyRef {
            id: PartyId::Household(&h),
            name: PartyName::Household(&h),
        };
        assert_eq!(
            json(&party),
            format!(
                r#"{{"id":"household-{}","name":"household abababababab"}}"#,
                "ab".repeat(32)
            )
        );
        assert_eq!(
            PartyId::Household(&h).to_string(),
            format!("household-{}", "ab".repeat(32))
        );
        assert_eq!(
            json(&PartyId::Named(*b"0123456789abcdef")),
            r#""org-0123456789abcdef""#
        );
    }
}
