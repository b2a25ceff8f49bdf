//! Compact JSON for the export's output: a `serde` serializer that writes exactly the bytes
//! `serde_json::to_writer` writes, only faster at strings.
//!
//! An OCDS export of a million records writes about 1.8 GB of JSON, most of it strings: ids,
//! names, hashes and dates. `serde_json` looks at each byte of a string on its own to decide
//! whether it needs an escape; this writer looks at eight at a time and copies each run of
//! plain bytes whole ([`first_needing_escape`]). Everything else is written as `serde_json` writes it,
//! and numbers that are not integers are handed to `serde_json` itself.
//!
//! Invariant: **for every value, [`append`] writes the bytes `serde_json::to_writer`
//! writes**, or fails where it fails. The export's files must not change with the writer
//! that wrote them (the tests below compare the two on every kind of value and every string
//! escape). A few things `serde_json` accepts are refused here with an error instead, none of
//! which the export writes: map keys that are neither strings, characters, booleans nor
//! integers, and `serde_json`'s own raw values and arbitrary-precision numbers.

use std::io::Write;

use daylight_verifier::json_text::{first_needing_escape, needs_escape};
use serde::Serialize;
use serde::ser::{self, Error as _, Impossible};

/// The error of a failed write: the writer's I/O error, or a value JSON cannot hold.
pub type Error = serde_json::Error;

/// Appends `value` as compact JSON to `out`: the same bytes as `serde_json::to_writer`.
/// (Into memory: a byte of punctuation is a push, not a call.)
pub fn append<T: ?Sized + Serialize>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    value.serialize(&mut Serializer { out })
}

/// Writes `value` as compact JSON into `writer`, through memory (see [`append`]).
pub fn to_writer<W: Write, T: ?Sized + Serialize>(mut writer: W, value: &T) -> Result<(), Error> {
    let mut out = Vec::new();
    append(&mut out, value)?;
    writer.write_all(&out).map_err(Error::io)
}

/// Appends compact JSON to `out`.
pub struct Serializer<'o> {
    out: &'o mut Vec<u8>,
}

impl<'o> Serializer<'o> {
    fn raw(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.out.extend_from_slice(bytes);
        Ok(())
    }

    fn byte(&mut self, byte: u8) -> Result<(), Error> {
        self.out.push(byte);
        Ok(())
    }

    fn string(&mut self, text: &str) -> Result<(), Error> {
        write_string(self.out, text);
        Ok(())
    }

    fn integer(&mut self, n: impl itoa::Integer) -> Result<(), Error> {
        self.raw(itoa::Buffer::new().format(n).as_bytes())
    }

    /// A number `serde_json` writes with its own float formatting.
    fn by_serde_json(&mut self, value: impl Serialize) -> Result<(), Error> {
        serde_json::to_writer(&mut *self.out, &value)
    }

    /// Opens an object or a list; `close` is written when it ends.
    fn open(&mut self, open: u8, close: &'static [u8]) -> Result<Compound<'_, 'o>, Error> {
        self.byte(open)?;
        Ok(Compound {
            ser: self,
            first: true,
            close,
        })
    }

    /// Opens `{"variant":` around a variant's content.
    fn open_variant(&mut self, variant: &str) -> Result<(), Error> {
        self.byte(b'{')?;
        self.string(variant)?;
        self.byte(b':')
    }
}

/// The escape `serde_json` writes for `byte` (one that JSON needs escaped).
fn escape(byte: u8) -> [u8; 6] {
    let short = |c: u8| [b'\\', c, 0, 0, 0, 0];
    match byte {
        b'"' => short(b'"'),
        b'\\' => short(b'\\'),
        0x08 => short(b'b'),
        0x0c => short(b'f'),
        b'\n' => short(b'n'),
        b'\r' => short(b'r'),
        b'\t' => short(b't'),
        _ => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            [
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xf)],
            ]
        }
    }
}

/// Appends `text` as a JSON string: quoted, with runs of plain bytes copied whole.
fn write_string(out: &mut Vec<u8>, text: &str) {
    let mut rest = text.as_bytes();
    out.reserve(rest.len() + 2);
    out.push(b'"');
    while let Some(at) = first_needing_escape(rest) {
        out.extend_from_slice(&rest[..at]);
        let escaped = escape(rest[at]);
        let len = if escaped[1] == b'u' { 6 } else { 2 };
        out.extend_from_slice(&escaped[..len]);
        rest = &rest[at + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

/// An object or list being written: a comma goes before every member but the first.
pub struct Compound<'a, 'o> {
    ser: &'a mut Serializer<'o>,
    first: bool,
    close: &'static [u8],
}

impl Compound<'_, '_> {
    fn comma(&mut self) -> Result<(), Error> {
        if self.first {
            self.first = false;
            Ok(())
        } else {
            self.ser.byte(b',')
        }
    }

    fn item<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.comma()?;
        value.serialize(&mut *self.ser)
    }

    /// A struct's member. Its name is short and, in practice, never needs an escape: it is
    /// checked byte by byte and written with its quotes, comma and colon in one go.
    fn field<T: ?Sized + Serialize>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        let out = &mut *self.ser.out;
        out.reserve(key.len() + 4);
        if !std::mem::replace(&mut self.first, false) {
            out.push(b',');
        }
        if key.bytes().any(needs_escape) {
            write_string(out, key);
        } else {
            out.push(b'"');
            out.extend_from_slice(key.as_bytes());
            out.push(b'"');
        }
        out.push(b':');
        value.serialize(&mut *self.ser)
    }

    fn finish(self) -> Result<(), Error> {
        self.ser.raw(self.close)
    }
}

/// The ten integer methods of a serializer, each writing its number with `itoa` through the
/// serializer's own `integer` (a bare number, or a quoted map key).
macro_rules! integers_by_itoa {
    () => {
        integers_by_itoa!(
            serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
            serialize_i128: i128, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
            serialize_u64: u64, serialize_u128: u128
        );
    };
    ($($method:ident: $t:ty),*) => {
        $(
            fn $method(self, v: $t) -> Result<(), Error> {
                self.integer(v)
            }
        )*
    };
}

/// `serde_json`'s own values (raw JSON text, arbitrary-precision numbers) are structs with
/// names in this namespace; this writer refuses them instead of writing them wrongly.
const SERDE_JSON_PRIVATE: &str = "$serde_json::private::";

impl<'a, 'o> ser::Serializer for &'a mut Serializer<'o> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a, 'o>;
    type SerializeTuple = Compound<'a, 'o>;
    type SerializeTupleStruct = Compound<'a, 'o>;
    type SerializeTupleVariant = Compound<'a, 'o>;
    type SerializeMap = Compound<'a, 'o>;
    type SerializeStruct = Compound<'a, 'o>;
    type SerializeStructVariant = Compound<'a, 'o>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.raw(if v { b"true" } else { b"false" })
    }
    integers_by_itoa!();
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.by_serde_json(v)
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.by_serde_json(v)
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.string(v.encode_utf8(&mut [0u8; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.string(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        let mut list = self.open(b'[', b"]")?;
        for byte in v {
            list.item(byte)?;
        }
        list.finish()
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.raw(b"null")
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.raw(b"null")
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.raw(b"null")
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.string(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.open_variant(variant)?;
        value.serialize(&mut *self)?;
        self.byte(b'}')
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a, 'o>, Error> {
        self.open(b'[', b"]")
    }
    fn serialize_tuple(self, _len: usize) -> Result<Compound<'a, 'o>, Error> {
        self.open(b'[', b"]")
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, 'o>, Error> {
        self.open(b'[', b"]")
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, 'o>, Error> {
        self.open_variant(variant)?;
        self.open(b'[', b"]}")
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a, 'o>, Error> {
        self.open(b'{', b"}")
    }
    fn serialize_struct(self, name: &'static str, _len: usize) -> Result<Compound<'a, 'o>, Error> {
        if name.starts_with(SERDE_JSON_PRIVATE) {
            return Err(Error::custom(format!(
                "the export's JSON writer cannot write serde_json's {name}"
            )));
        }
        self.open(b'{', b"}")
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, 'o>, Error> {
        self.open_variant(variant)?;
        self.open(b'{', b"}}")
    }
}

/// The compound traits whose members are a list's items (`[a,b]`; a tuple variant's list).
macro_rules! list_compounds {
    ($($compound:ident :: $method:ident),*) => {
        $(
            impl ser::$compound for Compound<'_, '_> {
                type Ok = ();
                type Error = Error;
                fn $method<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
                    self.item(value)
                }
                fn end(self) -> Result<(), Error> {
                    self.finish()
                }
            }
        )*
    };
}

list_compounds!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), Error> {
        self.comma()?;
        key.serialize(MapKey {
            ser: &mut *self.ser,
        })
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.ser.byte(b':')?;
        value.serialize(&mut *self.ser)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

/// The compound traits whose members are named fields (`{"a":1}`).
macro_rules! struct_compounds {
    ($($compound:ident),*) => {
        $(
            impl ser::$compound for Compound<'_, '_> {
                type Ok = ();
                type Error = Error;
                fn serialize_field<T: ?Sized + Serialize>(
                    &mut self,
                    key: &'static str,
                    value: &T,
                ) -> Result<(), Error> {
                    self.field(key, value)
                }
                fn end(self) -> Result<(), Error> {
                    self.finish()
                }
            }
        )*
    };
}

struct_compounds!(SerializeStruct, SerializeStructVariant);

/// A map key: a string as it is; a character, boolean or integer quoted, as `serde_json`
/// writes them.
struct MapKey<'a, 'o> {
    ser: &'a mut Serializer<'o>,
}

impl MapKey<'_, '_> {
    fn quoted(self, text: &str) -> Result<(), Error> {
        self.ser.string(text)
    }

    fn integer(self, n: impl itoa::Integer) -> Result<(), Error> {
        self.quoted(itoa::Buffer::new().format(n))
    }
}

fn key_must_be_a_string() -> Error {
    Error::custom("key must be a string")
}

impl ser::Serializer for MapKey<'_, '_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.quoted(v)
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.quoted(v.encode_utf8(&mut [0u8; 4]))
    }
    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.quoted(if v { "true" } else { "false" })
    }
    integers_by_itoa!();
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.quoted(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_f32(self, _v: f32) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_f64(self, _v: f64) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_none(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, _value: &T) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_must_be_a_string())
    }
}

#[cfg(test)]
mod tests {
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
}
