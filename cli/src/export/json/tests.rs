//! The writer against `serde_json`: the same bytes for every escape, number, container,
//! variant and map key, and an error where the writer refuses.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;

fn ours<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    to_writer(&mut out, value).unwrap();
    out
}

fn same_as_serde_json<T: Serialize>(value: &T) {
    let theirs = serde_json::to_vec(value).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&ours(value)),
        String::from_utf8_lossy(&theirs)
    );
}

/// Every byte that needs an escape, at every place in strings longer and shorter than a
/// word, next to plain ASCII and multi-byte characters.
#[test]
fn strings_are_escaped_as_serde_json_escapes_them() {
    let mut specials: Vec<char> = (0u8..0x20).map(char::from).collect();
    specials.extend(['"', '\\', '/', '\u{7f}', 'é', '长', '😀', '\u{2028}']);
    for special in specials {
        for len in 0..20 {
            for at in 0..=len {
                let mut text: String = "abcdefghijklmnopqrst"[..len].to_string();
                text.insert(at, special);
                same_as_serde_json(&text);
                text.push_str("长长");
                text.insert(0, special);
                same_as_serde_json(&text);
            }
        }
    }
    same_as_serde_json(&"");
    same_as_serde_json(&"\"\"\\\\\n\n");
    same_as_serde_json(&'\u{1}');
    same_as_serde_json(&'长');
}

#[test]
fn numbers_and_literals_match() {
    let values = json!([
        0,
        1,
        -1,
        u64::MAX,
        i64::MIN,
        100.01,
        100.0,
        0.1,
        1e21,
        1.5e-7,
        -0.0,
        3000.5,
        123456789012.34,
        true,
        false,
        null,
        "x"
    ]);
    same_as_serde_json(&values);
    same_as_serde_json(&f64::NAN);
    same_as_serde_json(&f32::INFINITY);
    same_as_serde_json(&1.1f32);
    same_as_serde_json(&u128::MAX);
    same_as_serde_json(&i128::MIN);
    same_as_serde_json(&(1u8, -2i16, 3u32, -4i8));
}

#[derive(Serialize)]
enum Shape {
    Unit,
    Newtype(u8),
    Tuple(u8, &'static str),
    Struct { a: Option<u8>, b: Vec<u8> },
}

#[derive(Serialize)]
struct Unit;

#[derive(Serialize)]
struct Newtype(&'static str);

#[derive(Serialize)]
struct Pair(u8, Option<&'static str>);

#[derive(Serialize)]
struct Fields<'a> {
    #[serde(rename = "a\"b")]
    quoted: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<u8>,
    shapes: Vec<Shape>,
    nested: BTreeMap<&'a str, Vec<Value>>,
    unit: Unit,
    newtype: Newtype,
    pair: Pair,
    empty: Vec<u8>,
    nothing: (),
    #[serde(with = "serde_bytes_as_seq")]
    bytes: &'a [u8],
}

mod serde_bytes_as_seq {
    pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }
}

#[test]
fn containers_and_variants_match() {
    let mut nested = BTreeMap::new();
    nested.insert(
        "k\n",
        vec![json!({"z": 1, "a": [1, {"b": null}]}), json!([])],
    );
    nested.insert("", vec![json!({})]);
    let fields = Fields {
        quoted: 7,
        skipped: None,
        shapes: vec![
            Shape::Unit,
            Shape::Newtype(3),
            Shape::Tuple(4, "t"),
            Shape::Struct {
                a: None,
                b: vec![1, 2],
            },
        ],
        nested,
        unit: Unit,
        newtype: Newtype("n"),
        pair: Pair(1, Some("长")),
        empty: Vec::new(),
        nothing: (),
        bytes: &[0, 255],
    };
    same_as_serde_json(&fields);
    same_as_serde_json(&Some(Shape::Unit));
}

#[test]
fn map_keys_are_written_as_serde_json_writes_them() {
    let ints: BTreeMap<i64, u8> = [(-3, 1), (7, 2)].into();
    same_as_serde_json(&ints);
    let bools: BTreeMap<bool, u8> = [(false, 1), (true, 2)].into();
    same_as_serde_json(&bools);
    let chars: BTreeMap<char, u8> = [('"', 1), ('长', 2)].into();
    same_as_serde_json(&chars);
    let lists: BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into();
    assert!(to_writer(Vec::new(), &lists).is_err());
    assert!(serde_json::to_vec(&lists).is_err());
}

#[test]
fn serde_json_raw_values_are_refused_not_miswritten() {
    let raw = serde_json::value::RawValue::from_string("[1, 2]".into()).unwrap();
    let err = to_writer(Vec::new(), &raw).unwrap_err();
    assert!(err.to_string().contains("cannot write"), "{err}");
}

#[test]
fn write_errors_are_reported() {
    struct Full;
    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let err = to_writer(Full, &json!({"a": "b"})).unwrap_err();
    assert!(err.is_io(), "{err}");
}
