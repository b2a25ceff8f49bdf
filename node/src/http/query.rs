//! `GET /v1/records?log=&kind=&program=&payee=&area=&funded_by=&from=&to=&cursor=&limit=`:
//! filtered, cursor-paginated pages of the current state of every held record, from the
//! query index ([`crate::query`]). Every parameter is checked; an unknown one, a bad date, an
//! oversized limit or a cursor this node did not give is a 400 naming the parameter.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
#[cfg(test)]
use daylight_api::{CurrentRecord, RecordItem};
use daylight_verifier::Hash;
use daylight_verifier::record::{Kind, Rid};

use super::*;
use crate::query::{Query, QueryError, QueryIndex, StateRow, date_number};

/// Records per page when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 100;
/// Largest `limit`.
pub const MAX_LIMIT: usize = 1000;
/// Most index rows one page looks at (see `crate::query::read`): bounds the answer's cost.
pub const SCAN_BUDGET: usize = 20_000;
/// Longest parameter value accepted (rids, names and codes are far shorter).
const MAX_VALUE: usize = 1000;

/// The query parameters, decoded: (name, value), each name at most once, only `allowed`
/// names.
pub(super) fn params(
    raw: Option<&str>,
    allowed: &[&str],
) -> Result<HashMap<String, String>, ApiError> {
    let mut out = HashMap::new();
    for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = percent_decode(name).map_err(|e| ApiError::bad_request(e.to_string()))?;
        if !allowed.contains(&name.as_str()) {
            return Err(ApiError::bad_request(format!(
                "{name}: unknown query parameter; this endpoint takes {}",
                allowed.join(", ")
            )));
        }
        let value =
            percent_decode(value).map_err(|e| ApiError::bad_request(format!("{name}: {e}")))?;
        if value.chars().count() > MAX_VALUE {
            return Err(ApiError::bad_request(format!(
                "{name}: longer than {MAX_VALUE} characters"
            )));
        }
        if out.insert(name.clone(), value).is_some() {
            return Err(ApiError::bad_request(format!(
                "{name}: given more than once; give each parameter once"
            )));
        }
    }
    Ok(out)
}

/// Decodes `application/x-www-form-urlencoded` text (`+` is a space, `%XX` a byte).
pub(super) fn percent_decode(text: &str) -> Result<String, &'static str> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or("a % must be followed by two hex digits")?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "not UTF-8 once decoded")
}

/// A non-empty text parameter.
fn text(params: &HashMap<String, String>, name: &str) -> Result<Option<String>, ApiError> {
    match params.get(name) {
        None => Ok(None),
        Some(v) if v.is_empty() => Err(ApiError::bad_request(format!(
            "{name}: empty; leave the parameter out to not filter by it"
        ))),
        Some(v) => Ok(Some(v.clone())),
    }
}

/// A `YYYY-MM-DD` parameter as `yyyymmdd`.
fn date(params: &HashMap<String, String>, name: &str) -> Result<Option<u32>, ApiError> {
    let Some(value) = params.get(name) else {
        return Ok(None);
    };
    date_number(value).map(Some).ok_or_else(|| {
        ApiError::bad_request(format!(
            "{name}: {value:?} is not a date; write it as YYYY-MM-DD (a day that exists)"
        ))
    })
}

/// The `limit` parameter: 1 to `max`, `default` when absent.
pub(super) fn limit(
    params: &HashMap<String, String>,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    let Some(value) = params.get("limit") else {
        return Ok(default);
    };
    match value.parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(ApiError::bad_request(format!(
            "limit: {value:?} must be a whole number from 1 to {max}"
        ))),
    }
}

/// A cursor parameter, as a feed sequence number.
pub(super) fn cursor(index: &QueryIndex, name: &str, value: &str) -> Result<u64, ApiError> {
    index.decode(value).map_err(|e| match e {
        QueryError::Expired => {
            ApiError::new(StatusCode::GONE, "cursor_expired", format!("{name}: {e}"))
        }
        e => ApiError::bad_request(format!("{name}: {e}")),
    })
}

/// The parameters of `GET /v1/records`, checked.
pub(super) fn records_query(state: &AppState, raw: Option<&str>) -> Result<Query, ApiError> {
    const ALLOWED: [&str; 10] = [
        "log",
        "kind",
        "program",
        "payee",
        "area",
        "funded_by",
        "from",
        "to",
        "cursor",
        "limit",
    ];
    let params = params(raw, &ALLOWED)?;
    let log = text(&params, "log")?;
    if let Some(member) = &log
        && state.logs.by_member(member).is_none()
    {
        return Err(ApiError::bad_request(format!(
            "log: this node holds no log of member {member:?}"
        )));
    }
    let kind = text(&params, "kind")?;
    if let Some(k) = &kind {
        match Kind::parse(k) {
            Some(parsed) if parsed.is_factual() => {}
            Some(_) => {
                return Err(ApiError::bad_request(format!(
                    "kind: {k} records are applied to the records they amend, not listed; \
                     see /v1/records/<rid> or the feed"
                )));
            }
            None => {
                return Err(ApiError::bad_request(format!(
                    "kind: {k:?} is not a record kind; one of {}",
                    Kind::ALL
                        .iter()
                        .filter(|k| k.is_factual())
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
    }
    let area = text(&params, "area")?;
    if let Some(a) = &area
        && !(matches!(a.len(), 6 | 9 | 12) && a.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(ApiError::bad_request(format!(
            "area: {a:?} is not an administrative division code (6, 9 or 12 digits)"
        )));
    }
    let funded_by = text(&params, "funded_by")?;
    // A record id names its log: `<member id>-<local part>`.
    if let Some(rid) = &funded_by
        && (Rid::parse(rid).is_err() || !rid.contains('-'))
    {
        return Err(ApiError::bad_request(format!(
            "funded_by: {rid:?} is not a record id (`<member id>-<local part>`)"
        )));
    }
    let (from, to) = (date(&params, "from")?, date(&params, "to")?);
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(ApiError::bad_request("to: earlier than from"));
    }
    let after = match params.get("cursor") {
        Some(c) => cursor(&state.query, "cursor", c)?,
        None => 0,
    };
    Ok(Query {
        log,
        kind,
        program: text(&params, "program")?,
        payee: text(&params, "payee")?,
        area,
        funded_by,
        from,
        to,
        after,
        limit: limit(&params, DEFAULT_LIMIT, MAX_LIMIT)?,
        budget: SCAN_BUDGET,
    })
}

/// `GET /v1/records?...`.
pub(super) async fn list_records(
    State(state): Shared,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    state.query.check_available()?;
    on_blocking_pool(state, move |state| {
        let query = records_query(state, raw.as_deref())?;
        let page = state.query.page(&query).map_err(|e| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "index_unavailable",
                e.to_string(),
            )
        })?;
        let body = answer(&page.items, &state.query.cursor(page.last), page.end);
        Ok((
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response())
    })
    .await
}

/// The JSON of a [`daylight_api::RecordPage`] of `items`, written without parsing the stored texts again:
/// a state row keeps the entry and the current version as the exact JSON text a
/// [`daylight_api::RecordPage`] serializes them to, so they are copied in as raw JSON. The field names and
/// order are [`daylight_api::RecordPage`]'s (a unit test compares the two).
fn answer(items: &[(u64, StateRow, u64)], next: &str, end: bool) -> Vec<u8> {
    use serde_json::value::RawValue;

    #[derive(serde::Serialize)]
    struct Page<'a> {
        items: Vec<Item<'a>>,
        next: &'a str,
        end: bool,
    }
    #[derive(serde::Serialize)]
    struct Item<'a> {
        log: &'a str,
        index: u64,
        #[serde(with = "daylight_api::hex_hash")]
        leaf: Hash,
        rid: &'a str,
        kind: &'a str,
        record: Raw<'a>,
        current: Current<'a>,
        covered_by: u64,
    }
    #[derive(serde::Serialize)]
    struct Current<'a> {
        index: u64,
        #[serde(with = "daylight_api::hex_hash")]
        leaf: Hash,
        voided: bool,
        amendments: u32,
        record: Raw<'a>,
    }
    /// Stored JSON text, or `null` if it is not JSON (damage in a derived file), as before.
    enum Raw<'a> {
        Text(&'a RawValue),
        Null,
    }
    impl serde::Serialize for Raw<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            match self {
                Raw::Text(raw) => raw.serialize(s),
                Raw::Null => s.serialize_unit(),
            }
        }
    }
    fn raw(text: &str) -> Raw<'_> {
        match serde_json::from_str::<&RawValue>(text) {
            Ok(raw) => Raw::Text(raw),
            Err(_) => Raw::Null,
        }
    }
    let hash = |hex: &str| Hash::from_hex(hex).unwrap_or_default();
    let page = Page {
        items: items
            .iter()
            .map(|(_, row, covered_by)| Item {
                log: &row.member,
                index: row.index,
                leaf: hash(&row.leaf),
                rid: &row.rid,
                kind: &row.keys.kind,
                record: raw(&row.entry),
                current: Current {
                    index: row.current_index,
                    leaf: hash(&row.current_leaf),
                    voided: row.voided,
                    amendments: row.amendments,
                    record: raw(&row.current),
                },
                covered_by: *covered_by,
            })
            .collect(),
        next,
        end,
    };
    serde_json::to_vec(&page).unwrap_or_default()
}

/// The answer item of a state row, as the [`daylight_api::RecordPage`] type has it.
#[cfg(test)]
fn item(row: StateRow, covered_by: u64) -> RecordItem {
    let json = |text: &str| serde_json::from_str(text).unwrap_or(serde_json::Value::Null);
    let hash = |hex: &str| Hash::from_hex(hex).unwrap_or_default();
    RecordItem {
        record: json(&row.entry),
        leaf: hash(&row.leaf),
        current: CurrentRecord {
            index: row.current_index,
            leaf: hash(&row.current_leaf),
            voided: row.voided,
            amendments: row.amendments,
            record: json(&row.current),
        },
        log: row.member,
        index: row.index,
        rid: row.rid,
        kind: row.keys.kind,
        covered_by,
    }
}

impl crate::query::QueryIndex {
    /// 503 `index_unavailable`, naming the reason, when this node has no query index
    /// ([`crate::query::QueryIndex::stand_in`]).
    pub(super) fn check_available(&self) -> Result<(), ApiError> {
        match self.unavailable() {
            None => Ok(()),
            Some(reason) => Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "index_unavailable",
                reason.to_string(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The answer written from raw texts is byte for byte the [`daylight_api::RecordPage`]
    /// of the same rows, and reads back as one.
    #[test]
    fn the_raw_answer_is_the_record_page() {
        use crate::query::Keys;
        // Stored texts are serialized JSON (`query::write` keeps the entry in that form).
        let entry = r#"{"kind":"payment","n":[1,2.5,"\u00e9\n"],"rid":"county-1-a","signatures":[{"k":"s"}]}"#;
        let entry = serde_json::from_str::<serde_json::Value>(entry)
            .unwrap()
            .to_string();
        let row = |current: &str, voided: bool| StateRow {
            number: 0,
            member: "county-1".into(),
            index: 4,
            leaf: Hash([1; 32]).to_hex(),
            rid: "county-1-a".into(),
            entry: entry.clone(),
            current_index: 9,
            current_leaf: Hash([2; 32]).to_hex(),
            voided,
            amendments: 1,
            current: current.into(),
            keys: Keys {
                kind: "payment".into(),
                ..Keys::default()
            },
        };
        let items = vec![
            (1, row(r#"{"kind":"payment","rid":"county-1-a"}"#, false), 7),
            (2, row("not json", true), 8),
        ];
        let text = answer(&items, "c", false);
        let page = daylight_api::RecordPage {
            items: items
                .iter()
                .map(|(_, row, covered)| item(row.clone(), *covered))
                .collect(),
            next: "c".into(),
            end: false,
        };
        assert_eq!(
            String::from_utf8(text.clone()).unwrap(),
            serde_json::to_string(&page).unwrap()
        );
        assert_eq!(
            serde_json::from_slice::<daylight_api::RecordPage>(&text).unwrap(),
            page
        );
    }

    #[test]
    fn parameters_are_decoded_and_checked_by_name() {
        let p = params(Some("payee=Tea+Growers%27+Co&limit=5"), &["payee", "limit"]).unwrap();
        assert_eq!(p["payee"], "Tea Growers' Co");
        assert_eq!(limit(&p, 100, 1000).unwrap(), 5);
        let named = |raw: &str, name: &str| {
            let e = params(Some(raw), &["a", "limit"]).unwrap_err();
            assert!(e.json_text().contains(name), "{raw}: {}", e.json_text());
        };
        named("bogus=1", "bogus: unknown");
        named("a=1&a=2", "a: given more than once");
        named("a=%zz", "a: a % must");
        named("a=%ff", "a: not UTF-8");
        let p = params(Some("limit=1001"), &["limit"]).unwrap();
        assert!(
            limit(&p, 100, 1000)
                .unwrap_err()
                .json_text()
                .contains("limit")
        );
        let p = params(Some("limit=0"), &["limit"]).unwrap();
        assert!(limit(&p, 100, 1000).is_err());
        let p = params(Some("from=2023-02-29"), &["from"]).unwrap();
        assert!(date(&p, "from").unwrap_err().json_text().contains("from:"));
        let p = params(Some("program="), &["program"]).unwrap();
        assert!(
            text(&p, "program")
                .unwrap_err()
                .json_text()
                .contains("program:")
        );
        assert_eq!(params(None, &[]).unwrap().len(), 0);
    }
}
