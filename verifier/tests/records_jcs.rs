//! RFC 8785 (JCS) conformance, written from the RFC's text: member order by UTF-16 code units
//! (§3.2.3), string escaping (§3.2.2.2), number formatting (§3.2.2.3 and Appendix B), no white
//! space (§3.2.1), and the RFC's own examples.

use daylight_verifier::record::{canonicalize, is_canonical};

fn c(json: &str) -> String {
    String::from_utf8(canonicalize(json.as_bytes()).expect("valid JSON")).expect("UTF-8")
}

#[test]
fn rfc_section_3_2_3_sorting_example() {
    let input = r#"{
       "\u20ac": "Euro Sign",
       "\r": "Carriage Return",
       "\ufb33": "Hebrew Letter Dalet With Dagesh",
       "1": "One",
       "\ud83d\ude00": "Emoji: Grinning Face",
       "\u0080": "Control",
       "\u00f6": "Latin Small Letter O With Diaeresis"
    }"#;
    let expected = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\"ö\":\"Latin Small Letter O With Diaeresis\",\"€\":\"Euro Sign\",\"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
    assert_eq!(c(input), expected);
}

#[test]
fn non_bmp_names_sort_by_surrogates_before_high_bmp_names() {
    // U+1F600 is 0xD83D 0xDE00 in UTF-16, which sorts before U+FB33 and U+E000 although its
    // code point is larger: JCS sorts by UTF-16 code units, not code points or UTF-8 bytes.
    assert_eq!(
        c(r#"{"\ufb33":1,"\ud83d\ude00":2}"#),
        "{\"\u{1f600}\":2,\"\u{fb33}\":1}"
    );
    assert_eq!(
        c(r#"{"\ue000":1,"\ud800\udc00":2}"#),
        "{\"\u{10000}\":2,\"\u{e000}\":1}"
    );
    // Plain ASCII and prefixes: shorter first, then by code unit.
    assert_eq!(
        c(r#"{"b":1,"a":2,"ab":3,"B":4,"":5}"#),
        r#"{"":5,"B":4,"a":2,"ab":3,"b":1}"#
    );
    // Nested objects are sorted; arrays keep their order.
    assert_eq!(
        c(r#"{"z":{"y":1,"x":2},"a":[3,1,2]}"#),
        r#"{"a":[3,1,2],"z":{"x":2,"y":1}}"#
    );
}

#[test]
fn rfc_section_3_2_4_example() {
    let input = r#"{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }"#;
    let expected = r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#;
    assert_eq!(c(input), expected);
}

#[test]
fn strings_escape_only_quote_backslash_and_controls() {
    // The five short escapes, lowercase \u00xx for the other controls.
    assert_eq!(c(r#""\b\t\n\f\r""#), r#""\b\t\n\f\r""#);
    assert_eq!(
        c(r#""\u0000\u0001\u001F\u000b""#),
        r#""\u0000\u0001\u001f\u000b""#
    );
    assert_eq!(c(r#""\"\\""#), r#""\"\\""#);
    // Solidus, DEL, non-ASCII and U+2028 are written as themselves.
    assert_eq!(c(r#""\/""#), r#""/""#);
    assert_eq!(c(r#""\u007f""#), "\"\u{7f}\"");
    assert_eq!(c(r#""\u00e9\u4e2d\u2028""#), "\"é中\u{2028}\"");
    assert_eq!(c(r#""\ud83d\ude00""#), "\"\u{1f600}\"");
}

#[test]
fn numbers_follow_ecmascript() {
    for (input, expected) in [
        ("0", "0"),
        ("-0", "0"),
        ("-0.0", "0"),
        ("1.0", "1"),
        ("1e2", "100"),
        ("-7", "-7"),
        ("4.50", "4.5"),
        ("1e20", "100000000000000000000"),
        ("1e21", "1e+21"),
        ("1E+21", "1e+21"),
        ("123e20", "1.23e+22"),
        ("0.000001", "0.000001"),
        ("0.0000001", "1e-7"),
        ("9007199254740993", "9007199254740992"),
        ("1.5e-10", "1.5e-10"),
    ] {
        assert_eq!(c(&format!("[{input}]")), format!("[{expected}]"), "{input}");
    }
}

#[test]
fn rfc_appendix_b_number_samples() {
    for (bits, expected) in [
        (0x0000000000000000u64, "0"),
        (0x8000000000000000, "0"),
        (0x0000000000000001, "5e-324"),
        (0x8000000000000001, "-5e-324"),
        (0x7fefffffffffffff, "1.7976931348623157e+308"),
        (0xffefffffffffffff, "-1.7976931348623157e+308"),
        (0x4340000000000000, "9007199254740992"),
        (0xc340000000000000, "-9007199254740992"),
        (0x4430000000000000, "295147905179352830000"),
        (0x44b52d02c7e14af5, "9.999999999999997e+22"),
        (0x44b52d02c7e14af6, "1e+23"),
        (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
        (0x444b1ae4d6e2ef4e, "999999999999999700000"),
        (0x444b1ae4d6e2ef4f, "999999999999999900000"),
        (0x444b1ae4d6e2ef50, "1e+21"),
        (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
        (0x3eb0c6f7a0b5ed8d, "0.000001"),
        (0x41b3de4355555553, "333333333.3333332"),
        (0x41b3de4355555554, "333333333.33333325"),
        (0x41b3de4355555555, "333333333.3333333"),
        (0x41b3de4355555556, "333333333.3333334"),
        (0x41b3de4355555557, "333333333.33333343"),
        (0xbecbf647612f3696, "-0.0000033333333333333333"),
        (0x43143ff3c1cb0959, "1424953923781206.2"),
    ] {
        // Rust's `{:e}` is the shortest text that reads back as exactly this double.
        let text = format!("{:e}", f64::from_bits(bits));
        assert_eq!(
            c(&format!("[{text}]")),
            format!("[{expected}]"),
            "0x{bits:016x}"
        );
    }
}

#[test]
fn whitespace_and_literals() {
    assert_eq!(c(" [ true , false , null ] "), "[true,false,null]");
    assert_eq!(c("{ }"), "{}");
    assert_eq!(c("[ ]"), "[]");
}

#[test]
fn is_canonical_accepts_only_the_canonical_form() {
    assert!(is_canonical(br#"{"a":[1,"x",null],"b":{"c":true}}"#));
    assert!(is_canonical("{\"€\":\"\\u001f\"}".as_bytes()));
    for bad in [
        &br#"{"b":1,"a":2}"#[..], // unsorted
        br#"{"a": 1}"#,           // white space
        b"{\"a\":1}\n",           // trailing newline
        br#"{"a":"\/"}"#,         // escaped solidus
        br#"{"a":"\u001F"}"#,     // uppercase hex escape
        br#"{"a":"\u00e9"}"#,     // escaped non-ASCII
        br#"{"a":1.0}"#,          // number not in shortest form
        br#"{"a":-0}"#,           // negative zero
        br#"{"a":1e21}"#,         // exponent without sign
        br#"{"a":1,"a":1}"#,      // duplicate name
        br#"{"a":"\ud800"}"#,     // lone surrogate
        b"{\"a\":\"\xff\"}",      // invalid UTF-8
        b"",                      // nothing
        b"[1,]",                  // not JSON
    ] {
        assert!(!is_canonical(bad), "{:?}", String::from_utf8_lossy(bad));
    }
}
