//! Deserializing a value from its JSON string form without an intermediate `String`.
//!
//! Most scalar types of the formats (dates, hashes, keys, rids, amounts) are strings parsed by
//! a `parse(&str)` function. Reading them through `String::deserialize` allocated once per
//! field and then parsed a copy; with a visitor, serde_json hands over the text borrowed
//! straight from the input when it has no escapes, so a value that keeps no text (a date, a
//! hash) allocates nothing. This runs for every field of every entry an auditor replays.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserializer;
use serde::de::{Error, Visitor};

/// Deserializes a JSON string with `parse`; a non-string is an error that says `expecting`.
pub(crate) fn from_text<'de, D, T, E>(
    deserializer: D,
    expecting: &'static str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    E: fmt::Display,
{
    deserializer.deserialize_str(TextVisitor {
        expecting,
        parse,
        value: PhantomData,
    })
}

struct TextVisitor<F, T> {
    expecting: &'static str,
    parse: F,
    value: PhantomData<T>,
}

impl<'de, F, T, E> Visitor<'de> for TextVisitor<F, T>
where
    F: FnOnce(&str) -> Result<T, E>,
    E: fmt::Display,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<V: Error>(self, text: &str) -> Result<T, V> {
        (self.parse)(text).map_err(V::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_len(text: &str) -> Result<usize, String> {
        if text.is_empty() {
            Err("must not be empty".into())
        } else {
            Ok(text.len())
        }
    }

    fn read(json: &str) -> Result<usize, String> {
        let mut de = serde_json::Deserializer::from_str(json);
        from_text(&mut de, "a non-empty string", parse_len).map_err(|e| e.to_string())
    }

    #[test]
    fn parses_borrowed_and_escaped_text_and_reports_errors() {
        assert_eq!(read(r#""abc""#), Ok(3));
        // An escape makes serde_json decode into a scratch buffer: still parsed.
        assert_eq!(read(r#""a\u0062c""#), Ok(3));
        assert!(read(r#""""#).unwrap_err().contains("must not be empty"));
        let wrong = read("12").unwrap_err();
        assert!(wrong.contains("a non-empty string"), "{wrong}");
    }
}
