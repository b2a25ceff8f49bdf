//! Reading JSON arrays into vectors that hold exactly their elements.
//!
//! serde's own `Vec` reader learns nothing of an array's length from serde_json, so it starts
//! empty and the first push makes room for four elements. Nearly every list in a record
//! (a payment's funding parts, its documents) holds one: a replayed million-record network
//! then carries hundreds of megabytes of room it never uses, and the memory has to be
//! faulted in and zeroed before it is wasted. Fields read through [`exact`] start with room
//! for one element and give back what is left over at the end.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserializer;
use serde::de::{Deserialize, SeqAccess, Visitor};

/// Reads a JSON array into a `Vec` whose capacity equals its length (for
/// `#[serde(deserialize_with = "...")]`).
pub(crate) fn exact<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Exact<T>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for Exact<T> {
        type Value = Vec<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            // The hint is exact where the format knows the length; cap it, it comes from input.
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(1).clamp(1, 64));
            while let Some(element) = seq.next_element()? {
                out.push(element);
            }
            out.shrink_to_fit();
            Ok(out)
        }
    }

    deserializer.deserialize_seq(Exact(PhantomData))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Holder {
        #[serde(deserialize_with = "super::exact")]
        list: Vec<[u64; 14]>,
    }

    fn read(json: &str) -> Vec<[u64; 14]> {
        serde_json::from_str::<Holder>(json).unwrap().list
    }

    #[test]
    fn capacity_is_the_length() {
        for n in [0usize, 1, 2, 3, 5, 9] {
            let items = vec![format!("[{}]", ["7"; 14].join(",")); n].join(",");
            let list = read(&format!(r#"{{"list": [{items}]}}"#));
            assert_eq!(list.len(), n);
            assert_eq!(list.capacity(), n, "{n} elements");
            assert!(list.iter().all(|e| e == &[7; 14]));
        }
    }

    #[test]
    fn a_non_array_is_refused_with_what_was_expected() {
        let error = serde_json::from_str::<Holder>(r#"{"list": 3}"#)
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("expected an array"), "{error}");
    }
}
