//! The compact receipt code a household receipt's QR code carries (decision record 0019).
//!
//! A code is the household receipt JSON (`daylight-household-receipt/v1`: the tlog-proof
//! bundle and the commitment opening), serialized compactly, compressed with raw DEFLATE
//! (RFC 1951, no zlib or gzip header) and written in unpadded base64url (RFC 4648 §5). The QR
//! code holds the URL `<node origin>/receipt#<code>`: a URL fragment is never sent to any
//! server, so opening it verifies the receipt in the browser, offline, and tells no one.
//!
//! The code carries the whole receipt, so it verifies against the genesis alone. Whoever
//! holds it can link the household to its payment, as with a bank statement.

use std::io::{Read as _, Write as _};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;

/// The largest receipt (decompressed JSON) a code may hold: a receipt is a few kilobytes, so
/// anything near this is not one, and decoding stops here instead of inflating a bomb.
pub const MAX_RECEIPT_BYTES: usize = 256 * 1024;

/// The longest code accepted (characters). A QR code holds at most 2,953 bytes.
pub const MAX_CODE_CHARS: usize = 64 * 1024;

/// Why a receipt could not be encoded or a code not decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptCodeError {
    /// The code is empty.
    #[error("the receipt code is empty: scan the QR code again or copy the whole link")]
    Empty,
    /// The code is longer than any receipt code.
    #[error(
        "the receipt code has {0} characters, more than any receipt needs ({MAX_CODE_CHARS}): \
         it is not a receipt code"
    )]
    TooLong(usize),
    /// The code holds a character outside base64url.
    #[error(
        "the receipt code holds {found:?} at position {position}, which base64url never \
         uses: the link was changed or cut; scan the QR code again"
    )]
    NotBase64Url {
        /// 0-based character position.
        position: usize,
        /// The character found.
        found: char,
    },
    /// The base64url text does not decode (a cut code often ends mid-group).
    #[error("the receipt code is not whole base64url ({0}): it was cut short; scan it again")]
    BadBase64(String),
    /// The decoded bytes are not raw DEFLATE data, or end early.
    #[error("the receipt code does not decompress ({0}): it was cut short or altered")]
    NotDeflate(String),
    /// The receipt inflates beyond [`MAX_RECEIPT_BYTES`].
    #[error(
        "the receipt code inflates to more than {MAX_RECEIPT_BYTES} bytes, far more than a \
         receipt: it is not a receipt code"
    )]
    TooLarge,
    /// The decompressed receipt is not UTF-8 JSON.
    #[error("the receipt code does not hold a JSON receipt: {0}")]
    NotJson(String),
}

/// Encodes a household receipt (its JSON text, pretty or not) into a receipt code: compact
/// JSON, raw DEFLATE at the best compression, unpadded base64url. Fails only if the text is
/// not JSON or is larger than [`MAX_RECEIPT_BYTES`].
pub fn encode(receipt_json: &str) -> Result<String, ReceiptCodeError> {
    let value: serde_json::Value =
        serde_json::from_str(receipt_json).map_err(|e| ReceiptCodeError::NotJson(e.to_string()))?;
    let compact = value.to_string();
    if compact.len() > MAX_RECEIPT_BYTES {
        return Err(ReceiptCodeError::TooLarge);
    }
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::best());
    // Writing to and finishing a Vec cannot fail.
    let deflated = encoder
        .write_all(compact.as_bytes())
        .and_then(|()| encoder.finish())
        .map_err(|e| ReceiptCodeError::NotDeflate(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(deflated))
}

/// Decodes a receipt code into the receipt's JSON text. Accepts the code alone or a whole
/// receipt link (`…/receipt#<code>`: the part after the last `#`), with surrounding
/// whitespace. Never panics; every failure says what was wrong.
pub fn decode(code: &str) -> Result<String, ReceiptCodeError> {
    let code = code.trim();
    let code = code.rsplit_once('#').map_or(code, |(_, fragment)| fragment);
    if code.is_empty() {
        return Err(ReceiptCodeError::Empty);
    }
    if code.len() > MAX_CODE_CHARS {
        return Err(ReceiptCodeError::TooLong(code.len()));
    }
    if let Some((position, found)) = code
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(ReceiptCodeError::NotBase64Url { position, found });
    }
    let deflated = URL_SAFE_NO_PAD
        .decode(code)
        .map_err(|e| ReceiptCodeError::BadBase64(e.to_string()))?;
    let mut inflated = Vec::new();
    DeflateDecoder::new(deflated.as_slice())
        .take(MAX_RECEIPT_BYTES as u64 + 1)
        .read_to_end(&mut inflated)
        .map_err(|e| ReceiptCodeError::NotDeflate(e.to_string()))?;
    if inflated.len() > MAX_RECEIPT_BYTES {
        return Err(ReceiptCodeError::TooLarge);
    }
    let text = String::from_utf8(inflated)
        .map_err(|_| ReceiptCodeError::NotJson("it is not UTF-8 text".into()))?;
    serde_json::from_str::<serde_json::Value>(&text)
        .map_err(|e| ReceiptCodeError::NotJson(e.to_string()))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECEIPT: &str = r#"{
  "format": "daylight-household-receipt/v1",
  "bundle": "c2sp.org/tlog-proof@v1\nextra AAEC\nindex 7\n\nexample.com/log\n9\nsFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n\n— example.com/log AAAA\n",
  "opening": {"pseudonym": "ab", "rid": "x-1", "amount": {"minor": "300000", "currency": "CNY"}, "nonce": "cd"}
}"#;

    #[test]
    fn a_receipt_round_trips_compactly_and_url_safely() {
        let code = encode(RECEIPT).unwrap();
        assert!(
            code.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        let back: serde_json::Value = serde_json::from_str(&decode(&code).unwrap()).unwrap();
        let original: serde_json::Value = serde_json::from_str(RECEIPT).unwrap();
        assert_eq!(back, original);
        // The bundle string, with its em dash and newlines, survives byte for byte.
        assert_eq!(back["bundle"], original["bundle"]);
        // Compressed: shorter than the pretty JSON it came from.
        assert!(code.len() < RECEIPT.len(), "{} chars", code.len());
        // A whole link decodes too.
        let link = format!(" https://node.example/receipt#{code}\n");
        assert_eq!(decode(&link).unwrap(), decode(&code).unwrap());
    }

    #[test]
    fn damaged_codes_are_refused_with_the_reason() {
        let code = encode(RECEIPT).unwrap();
        assert_eq!(decode(""), Err(ReceiptCodeError::Empty));
        assert_eq!(decode("https://x/receipt#"), Err(ReceiptCodeError::Empty));
        assert!(matches!(
            decode(&code.replacen(|_| true, "+", 1)),
            Err(ReceiptCodeError::NotBase64Url { position: 0, .. })
        ));
        // Cut anywhere: never a panic, never a receipt.
        for cut in 1..code.len() {
            assert!(decode(&code[..cut]).is_err(), "cut at {cut} decoded");
        }
        assert!(matches!(
            decode("AAAA"),
            Err(ReceiptCodeError::NotDeflate(_) | ReceiptCodeError::NotJson(_))
        ));
        assert!(matches!(
            decode(&"A".repeat(MAX_CODE_CHARS + 1)),
            Err(ReceiptCodeError::TooLong(_))
        ));
        assert!(matches!(
            encode("not json"),
            Err(ReceiptCodeError::NotJson(_))
        ));
    }

    #[test]
    fn a_deflate_bomb_stops_at_the_limit() {
        let bomb = format!("[\"{}\"]", "0".repeat(MAX_RECEIPT_BYTES * 4));
        let mut encoder = DeflateEncoder::new(Vec::new(), Compression::best());
        encoder.write_all(bomb.as_bytes()).unwrap();
        let code = URL_SAFE_NO_PAD.encode(encoder.finish().unwrap());
        assert!(code.len() < MAX_CODE_CHARS);
        assert_eq!(decode(&code), Err(ReceiptCodeError::TooLarge));
    }
}
