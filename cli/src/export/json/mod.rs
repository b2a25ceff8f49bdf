//! Compact JSON for the export's output: a `serde` serializer that writes exactly the bytes
//! `serde_json::to_writer` writes, only faster at strings.
//!
//! An OCDS export of a million records writes about 1.8 GB of JSON, most of it strings: ids,
//! names, hashes and dates. `serde_json` looks at each byte of a string on its own to decide
//! whether it needs an escape; this writer looks at eight at a time and copies each run of
//! plain bytes whole ([`first_needing_escape`]). Everything else is written as `serde_json`
//! writes it, and numbers that are not integers are handed to `serde_json` itself.
//!
//! Invariant: **for every value, [`append`] writes the bytes `serde_json::to_writer`
//! writes**, or fails where it fails. The export's files must not change with the writer
//! that wrote them (`tests` compares the two on every kind of value and every string
//! escape). A few things `serde_json` accepts are refused here with an error instead, none of
//! which the export writes: map keys that are neither strings, characters, booleans nor
//! integers, and `serde_json`'s own raw values and arbitrary-precision numbers.
//!
//! * [`map_key`] — map keys, quoted as `serde_json` quotes them;
//! * `tests` — the writer against `serde_json`.

use std::io::Write;

use daylight_verifier::json_text::{first_needing_escape, needs_escape};
use serde::Serialize;
use serde::ser::{self, Error as _};

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

mod map_key;
use map_key::MapKey;

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

#[cfg(test)]
mod tests;
