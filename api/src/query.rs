//! The answers of the query and feed endpoints (DESIGN §5.7, `docs/data.md`):
//!
//! * [`RecordPage`] — `GET /v1/records?log=&kind=&program=&payee=&area=&from=&to=&cursor=&limit=`:
//!   a page of the current state of records, each a [`RecordItem`];
//! * [`FeedPage`] — `GET /v1/feed?after=CURSOR` (long-poll), each a [`FeedItem`]; the same
//!   items are the `data` of the server-sent events, whose `id` is the item's cursor.
//!
//! Cursors are opaque strings: give back what the node answered. A cursor names a place in
//! the node's index, so it is valid on that node only, until the node rebuilds its index
//! (then it answers 410 `cursor_expired`).

use daylight_verifier::Hash;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::hex_hash;

/// `GET /v1/records?...`: one page of records matching every filter, in the order the node
/// indexed them (which new records only ever extend).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordPage {
    /// The records, at most `limit`.
    pub items: Vec<RecordItem>,
    /// The cursor to ask for the next page with. Always present: records indexed later that
    /// match come after it, so a client that reached the end asks again with it later.
    pub next: String,
    /// Whether the node looked at every record indexed now: `false` means ask again with
    /// `next` (a page may hold fewer than `limit` items when the node stopped looking to keep
    /// the answer fast).
    pub end: bool,
}

/// One record of a [`RecordPage`]: where it is, what it said, and what it says now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordItem {
    /// The member whose log holds it.
    pub log: String,
    /// Its index in that log.
    pub index: u64,
    /// The leaf hash of its entry.
    #[serde(with = "hex_hash")]
    pub leaf: Hash,
    /// Its record id.
    pub rid: String,
    /// Its kind.
    pub kind: String,
    /// The signed record as logged (the entry, as JSON).
    pub record: Value,
    /// Its current version, with corrections and voids applied.
    pub current: CurrentRecord,
    /// The size of the latest signed checkpoint of the log that the node indexed, which
    /// includes this entry and its current version: verify with the inclusion proof
    /// `/log/<log>/proof/inclusion?index=<index>&size=<covered_by>` or with the tiles.
    pub covered_by: u64,
}

/// The current version of a record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurrentRecord {
    /// The index of the entry that made this version current: the record's own index, or
    /// that of its latest correction or void.
    pub index: u64,
    /// That entry's leaf hash (what a correction or void of the record must pin).
    #[serde(with = "hex_hash")]
    pub leaf: Hash,
    /// Whether a void withdrew the record.
    pub voided: bool,
    /// How many corrections and voids were applied to it.
    pub amendments: u32,
    /// The record's content now, without signatures: the original's, or the latest
    /// correction's replacement under the record's rid.
    pub record: Value,
}

/// `GET /v1/feed?after=CURSOR`: the items after the cursor, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeedPage {
    /// The items, at most the page limit.
    pub items: Vec<FeedItem>,
    /// The cursor to resume from: the last item's, or the one asked with when no item came.
    pub next: String,
}

/// One item of the feed: a new entry in a held log, or new evidence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeedItem {
    /// This item's cursor: resume after it with `after=<cursor>` (or `Last-Event-ID`).
    pub cursor: String,
    /// What happened.
    pub event: FeedEvent,
}

/// What a [`FeedItem`] reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FeedEvent {
    /// A new entry of a held log.
    Entry(FeedEntry),
    /// New evidence that a log equivocated.
    Evidence(FeedEvidence),
}

/// A new entry of a held log, covered by a signed checkpoint of that log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeedEntry {
    /// The member whose log it is in.
    pub log: String,
    /// Its index.
    pub index: u64,
    /// Its leaf hash.
    #[serde(with = "hex_hash")]
    pub leaf: Hash,
    /// The record's kind (`unreadable` for an entry that is not a record).
    pub kind: String,
    /// The record id, if the entry is a record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rid: Option<String>,
    /// Whether this entry is an auditor's finding (kind `finding`).
    #[serde(default)]
    pub finding: bool,
    /// For a correction or void: the rid of the record it amends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amends: Option<String>,
    /// The size of the signed checkpoint the node had when it indexed the entry: it
    /// includes the entry.
    pub covered_by: u64,
}

/// New evidence that a log signed two incompatible histories (DESIGN §3.8).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeedEvidence {
    /// The member whose log it concerns, if the node holds that log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    /// The log's origin.
    pub origin: String,
    /// The evidence document (`daylight evidence verify` checks it).
    pub evidence: Value,
}

/// The `data` of the last server-sent event of a stream the node ends (event type
/// `dropped`): a reader too slow to keep up, or a node stopping. Resume with `after=cursor`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedDropped {
    /// The cursor of the last item sent: resume after it.
    pub cursor: String,
    /// Why the stream ended.
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feed_item_reads_back_with_its_type_tag() {
        let item = FeedItem {
            cursor: "c".into(),
            event: FeedEvent::Entry(FeedEntry {
                log: "county-1".into(),
                index: 3,
                leaf: Hash([1; 32]),
                kind: "payment".into(),
                rid: Some("county-1-p".into()),
                finding: false,
                amends: None,
                covered_by: 4,
            }),
        };
        let text = serde_json::to_string(&item).unwrap();
        assert!(text.contains(r#""type":"entry""#), "{text}");
        assert_eq!(serde_json::from_str::<FeedItem>(&text).unwrap(), item);
    }
}
