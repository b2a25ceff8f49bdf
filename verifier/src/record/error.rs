//! The one error type of the record model: what is wrong, and where in the record.

use std::fmt::Write as _;

/// Why a record was refused, naming the field it concerns.
///
/// `path` uses the JSON shape of the record: `amount.minor`, `funded_by[1].ref.leaf`,
/// `signatures[0].sig`. The record as a whole is `$`. `Display` writes `path: message`, so a
/// publisher sees at once which field to fix and how.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct RecordError {
    /// Where the problem is, e.g. `funded_by[1].ref.leaf`; `$` for the record as a whole.
    pub path: String,
    /// What is wrong and what a valid value looks like.
    pub message: String,
}

/// The path of the record as a whole.
pub const ROOT: &str = "$";

impl RecordError {
    /// An error at `path` with `message`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        RecordError {
            path: path.into(),
            message: message.into(),
        }
    }

    /// An error about the record as a whole.
    pub fn root(message: impl Into<String>) -> Self {
        RecordError::new(ROOT, message)
    }
}

/// `prefix.field`, or `field` at the root. A `field` starting with `[` is an index.
pub(crate) fn join(prefix: &str, field: &str) -> String {
    if prefix.is_empty() || prefix == ROOT {
        field.to_string()
    } else if field.starts_with('[') {
        format!("{prefix}{field}")
    } else {
        format!("{prefix}.{field}")
    }
}

/// `prefix[index]`.
pub(crate) fn index(prefix: &str, i: usize) -> String {
    let mut out = if prefix == ROOT {
        String::new()
    } else {
        prefix.to_string()
    };
    let _ = write!(out, "[{i}]");
    out
}

/// Turns a serde error found while reading a typed part of a record into a [`RecordError`],
/// keeping the path serde reached and naming a missing field in the path itself.
pub(crate) fn from_serde(
    prefix: &str,
    err: serde_path_to_error::Error<serde_json::Error>,
) -> RecordError {
    let mut path = prefix.to_string();
    for segment in err.path().iter() {
        match segment {
            serde_path_to_error::Segment::Seq { index: i } => path = index(&path, *i),
            serde_path_to_error::Segment::Map { key } => path = join(&path, key),
            serde_path_to_error::Segment::Enum { variant } => path = join(&path, variant),
            serde_path_to_error::Segment::Unknown => path = join(&path, "?"),
        }
    }
    let mut message = err.inner().to_string();
    // serde reports a missing field at its parent; name the field itself.
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        path = join(&path, field);
        message = "is required but missing".to_string();
    } else if let Some(rest) = message.strip_prefix("unknown field `") {
        // "unknown field `x`, expected one of ..." : point at the field.
        if let Some((field, expected)) = rest.split_once('`') {
            if !path.ends_with(field) {
                path = join(&path, field);
            }
            let valid = expected
                .trim_start_matches(',')
                .trim()
                .strip_prefix("expected")
                .map(|e| format!("; valid fields here:{e}"))
                .unwrap_or_default();
            message = format!("is not a field of this object (remove it){valid}");
        }
    }
    if path.is_empty() {
        path = ROOT.to_string();
    }
    RecordError { path, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_fields_and_indices() {
        assert_eq!(join(ROOT, "amount"), "amount");
        assert_eq!(join("amount", "minor"), "amount.minor");
        assert_eq!(index("funded_by", 1), "funded_by[1]");
        assert_eq!(join("funded_by[1]", "ref"), "funded_by[1].ref");
        assert_eq!(
            RecordError::new("a.b", "must be x").to_string(),
            "a.b: must be x"
        );
    }
}
