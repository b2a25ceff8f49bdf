//! The privacy guard: refuses a record holding a resident ID, mobile phone or bank card
//! number, however its digits are written.
//!
//! It judges what a person would read, not the bytes (DESIGN §4.3,
//! `docs/decisions/0009-privacy-guard-unicode.md`):
//!
//! * every character with a decimal digit value (full-width `１`, Arabic-Indic `١`, Devanagari,
//!   mathematical, superscript, circled `①`...) is read as that digit;
//! * invisible characters (zero-width space and joiners, word joiner, BOM, soft hyphen,
//!   direction marks, variation selectors, enclosing keycap marks) are not there at all;
//! * digits with nothing between them form a *group*; groups separated by at most three
//!   visible separators (spaces of any width, dashes, dots, middle dots) form a *run*;
//!   anything else (a letter, `:`, `,`, `/`, ...) ends the run;
//! * a personal number is any span of whole groups of one run whose digits have one of the
//!   shapes below (so `138 1234 5678` and `0086 13812345678` are found, and `138123456789`,
//!   one 12-digit group, is not).
//!
//! The search reads each string once, keeps only the last groups that could still be part of
//! a match (19 digits at most) on the stack, and allocates nothing.

use std::ops::Range;

use serde_json::Value;

use crate::record::envelope::SignedRecord;
use crate::record::error::{ROOT, RecordError, index, join};

/// The GB 11643 weights of the first 17 digits of a resident ID number.
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// The check character for each weighted sum modulo 11.
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// The longest personal number, in digits: a 19-digit bank card (a mobile with `0086` has 15,
/// a resident ID 18).
const MAX_SPAN: usize = 19;
/// The fewest digits of any number the guard looks for in a free string: a mobile number.
const MIN_FREE_DIGITS: usize = 11;
/// The fewest digits of any number the guard looks for in an amount: a card number of 17
/// digits (an ID has 18, or 17 and an `X`, which an amount cannot hold).
const MIN_AMOUNT_DIGITS: usize = 17;
/// The shortest card number that counts in an amount: 17 digits of minor units are at least
/// 10^14 yuan, more than any public budget.
const MIN_AMOUNT_CARD: usize = 17;
/// The most visible separators between two groups of one number (`138 - 1234`).
const MAX_SEPARATORS: usize = 3;

/// Whether `text` is exactly an 18-character PRC resident ID number: an area code starting
/// 1-8, a real birth date from 1900 to 2099, a sequence number, and a valid GB 11643 check
/// character (`0-9` or `X`, lowercase `x` accepted).
pub fn is_resident_id(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut digits = [0u8; 17];
    for (d, c) in digits.iter_mut().zip(b) {
        *d = c - b'0';
    }
    id18(&digits, b[17].to_ascii_uppercase())
}

/// Whether `text` is exactly a PRC mobile number: 11 digits `1[3-9]xxxxxxxxx`, optionally
/// after `+86`, `86` or `0086`. (The guard also finds them grouped, in other digits and
/// inside text; this is the strict form.)
pub fn is_mobile_number(text: &str) -> bool {
    let rest = text
        .strip_prefix('+')
        .filter(|r| r.starts_with("86"))
        .unwrap_or(text);
    let b = rest.as_bytes();
    if b.len() > MAX_SPAN || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut digits = [0u8; MAX_SPAN];
    for (d, c) in digits.iter_mut().zip(b) {
        *d = c - b'0';
    }
    let digits = &digits[..b.len()];
    if rest.len() != text.len() {
        // After `+`, the `86` is required.
        digits.len() == 13 && mobile(&digits[2..])
    } else {
        prefixed_mobile(digits)
    }
}

/// The value of `digits` (at most 9 of them) as a number.
fn number(digits: &[u8]) -> u32 {
    digits.iter().fold(0, |n, &d| n * 10 + u32::from(d))
}

/// Whether `day`.`month`.`year` is a date of the Gregorian calendar.
fn real_date(year: u32, month: u32, day: u32) -> bool {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// The 18-digit resident ID rule over the values of the first 17 digits and the check
/// character (`b'0'..=b'9'` or `b'X'`): area code starting 1-8, birth date YYYYMMDD from 1900
/// to 2099 at positions 7-14, valid GB 11643 check character.
fn id18(d: &[u8], check: u8) -> bool {
    let year = number(&d[6..10]);
    if !(1..=8).contains(&d[0])
        || !(1900..=2099).contains(&year)
        || !real_date(year, number(&d[10..12]), number(&d[12..14]))
    {
        return false;
    }
    let sum: u32 = d[..17]
        .iter()
        .zip(ID_WEIGHTS)
        .map(|(&d, w)| u32::from(d) * w)
        .sum();
    ID_CHECK[(sum % 11) as usize] == check
}

/// The 15-digit (first-generation, 1984-2004) resident ID rule: area code starting 1-8 and a
/// birth date YYMMDD in 19YY at positions 7-12. These numbers have no check digit.
fn id15(d: &[u8]) -> bool {
    (1..=8).contains(&d[0])
        && real_date(
            1900 + number(&d[6..8]),
            number(&d[8..10]),
            number(&d[10..12]),
        )
}

/// An 11-digit mobile number: `1[3-9]` and nine digits.
fn mobile(d: &[u8]) -> bool {
    d.len() == 11 && d[0] == 1 && (3..=9).contains(&d[1])
}

/// A mobile number, alone or after the country code written `86` or `0086`.
fn prefixed_mobile(d: &[u8]) -> bool {
    match d.len() {
        11 => mobile(d),
        13 => d[..2] == [8, 6] && mobile(&d[2..]),
        15 => d[..4] == [0, 0, 8, 6] && mobile(&d[4..]),
        _ => false,
    }
}

/// A 16-19 digit payment card number: an issuer prefix of a card used in China (3 JCB and
/// others, 4 Visa, 5 and 2221-2720 Mastercard, 6 UnionPay, 9 older domestic debit cards such
/// as 9558) and a valid Luhn check digit.
fn card(d: &[u8]) -> bool {
    if !(16..=MAX_SPAN).contains(&d.len()) {
        return false;
    }
    let issuer = match d[0] {
        3..=6 | 9 => true,
        2 => (2221..=2720).contains(&number(&d[..4])),
        _ => false,
    };
    issuer && luhn(d)
}

/// The Luhn (ISO/IEC 7812) check: every second digit from the right doubled, digit sums
/// added, a multiple of 10.
fn luhn(d: &[u8]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            match (i % 2 == 1, d * 2) {
                (false, _) => d,
                (true, twice) if twice > 9 => twice - 9,
                (true, twice) => twice,
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The code points of the digit zero of every block of ten decimal digits of Unicode
/// (general category Nd, up to Unicode 16), in increasing order. `char::to_digit` reads only
/// ASCII.
const DECIMAL_ZEROS: [u32; 77] = [
    0x0030, 0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6,
    0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80,
    0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0,
    0xFF10, 0x104A0, 0x10D30, 0x10D40, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450,
    0x114D0, 0x11650, 0x116C0, 0x116D0, 0x116DA, 0x11730, 0x118E0, 0x11950, 0x11BF0, 0x11C50,
    0x11D50, 0x11DA0, 0x11DE0, 0x11F50, 0x16130, 0x16A60, 0x16AC0, 0x16B50, 0x16D70, 0x1CCF0,
    0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E4F0, 0x1E5F1, 0x1E950,
    0x1FBF0,
];

/// Other characters a reader takes for a digit (Unicode numeric type Digit): superscripts,
/// subscripts, circled, parenthesized and dotted digits, as (first code point, its value,
/// how many follow in order).
const DIGIT_SYMBOLS: [(u32, u8, u8); 17] = [
    (0x00B2, 2, 2),   // ² ³
    (0x00B9, 1, 1),   // ¹
    (0x2070, 0, 1),   // ⁰
    (0x2074, 4, 6),   // ⁴ ... ⁹
    (0x2080, 0, 10),  // ₀ ... ₉
    (0x2460, 1, 9),   // ① ... ⑨
    (0x2474, 1, 9),   // ⑴ ... ⑼
    (0x2488, 1, 9),   // ⒈ ... ⒐
    (0x24EA, 0, 1),   // ⓪
    (0x24F5, 1, 9),   // ⓵ ... ⓽
    (0x24FF, 0, 1),   // ⓿
    (0x2776, 1, 9),   // ❶ ... ❾
    (0x2780, 1, 9),   // ➀ ... ➈
    (0x278A, 1, 9),   // ➊ ... ➒
    (0x1F100, 0, 1),  // 🄀
    (0x1F101, 0, 10), // 🄁 ... 🄊
    (0x1369, 1, 9),   // Ethiopic ፩ ... ፱
];

/// The value of `c` if a reader takes it for a decimal digit.
pub(crate) fn digit_value(c: char) -> Option<u8> {
    if c.is_ascii() {
        return c.is_ascii_digit().then(|| c as u8 - b'0');
    }
    if !c.is_numeric() {
        return None;
    }
    let cp = u32::from(c);
    let block = DECIMAL_ZEROS.partition_point(|&zero| zero <= cp);
    if let Some(offset) = block.checked_sub(1).map(|b| cp - DECIMAL_ZEROS[b])
        && offset < 10
    {
        return Some(offset as u8);
    }
    DIGIT_SYMBOLS.iter().find_map(|&(first, value, count)| {
        let offset = cp.checked_sub(first)?;
        (offset < u32::from(count)).then(|| value + offset as u8)
    })
}

/// Characters a reader does not see: zero-width space, (non-)joiners and word joiner,
/// byte-order mark, soft hyphen, direction marks and isolates, invisible operators, variation
/// selectors, combining grapheme joiner, and the combining marks that enclose a digit (the
/// keycap of `1️⃣`, circles and squares).
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{AD}'
            | '\u{34F}'
            | '\u{61C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{20DD}'..='\u{20E4}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{E0100}'..='\u{E01EF}'
    )
}

/// Separators a reader skips inside a number: spaces of every width (NBSP, ideographic space
/// U+3000...), hyphens and dashes (`-`, `‐` to `―`, minus, full-width), dots and middle dots
/// (`.`, `．`, `·`, `・`, `‧`).
fn is_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '\u{A0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200A}'
            | '\u{202F}'
            | '\u{205F}'
            | '\u{3000}'
            | '-'
            | '\u{2010}'..='\u{2015}'
            | '\u{2212}'
            | '\u{FE58}'
            | '\u{FE63}'
            | '\u{FF0D}'
            | '.'
            | '\u{FF0E}'
            | '\u{B7}'
            | '\u{2027}'
            | '\u{30FB}'
            | '\u{FF65}'
    )
}

/// A decimal point: a last group of one or two digits after it is a fraction
/// (`138000000.00` is an amount, not `13800000000`).
fn is_decimal_point(c: char) -> bool {
    matches!(c, '.' | '\u{FF0E}')
}

/// The check character `X` of a resident ID as people type it: `X`, `x`, full-width `Ｘ`,
/// `ｘ`, or the multiplication sign `×`.
fn is_check_x(c: char) -> bool {
    matches!(c, 'X' | 'x' | '\u{FF38}' | '\u{FF58}' | '\u{D7}')
}

/// What kind of personal number a string holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Personal {
    /// An 18- or 15-digit resident ID number.
    IdNumber,
    /// A mobile phone number, with or without a country code.
    Mobile,
    /// A payment card number.
    BankCard,
}

impl Personal {
    fn describe(self) -> &'static str {
        match self {
            Personal::IdNumber => "a resident ID number",
            Personal::Mobile => "a mobile phone number",
            Personal::BankCard => "a bank card number",
        }
    }
}

/// The fewest digits a value of this class must hold for the guard to find anything in it;
/// `None` for fields it skips.
fn min_digits(class: FieldClass) -> Option<usize> {
    match class {
        FieldClass::Free => Some(MIN_FREE_DIGITS),
        FieldClass::Amount => Some(MIN_AMOUNT_DIGITS),
        FieldClass::Exempt => None,
    }
}

/// Whether `text` holds at least `min` characters a reader takes for digits.
fn enough_digits(text: &str, min: usize) -> bool {
    let mut ascii = 0;
    let mut other = false;
    for &b in text.as_bytes() {
        ascii += usize::from(b.is_ascii_digit());
        other |= !b.is_ascii();
    }
    if ascii >= min {
        return true;
    }
    other
        && ascii
            + text
                .chars()
                .filter(|&c| !c.is_ascii() && digit_value(c).is_some())
                .count()
            >= min
}

/// A cheap screen for the single-pass entry reader: `false` means the guard certainly finds
/// nothing in the UTF-8 `text` of a field of class `class`. It counts ASCII digits and the
/// first bytes of non-ASCII characters (each non-ASCII digit has exactly one), so it never
/// undercounts, decodes nothing and allocates nothing.
pub(crate) fn may_hold_personal(text: &[u8], class: FieldClass) -> bool {
    let Some(min) = min_digits(class) else {
        return false;
    };
    text.iter()
        .filter(|&&b| b.is_ascii_digit() || b >= 0xC0)
        .count()
        >= min
}

/// A block of digits with no visible separator inside.
#[derive(Debug, Clone, Copy)]
struct Group {
    /// Byte range in the text, from the first digit to the end of the last.
    start: usize,
    end: usize,
    /// Digit values (only the first [`MAX_SPAN`] are kept: a longer group matches nothing).
    digits: [u8; MAX_SPAN],
    len: usize,
    /// Whether a decimal point is among the separators before it.
    after_point: bool,
}

impl Group {
    fn new(start: usize, after_point: bool) -> Group {
        Group {
            start,
            end: start,
            digits: [0; MAX_SPAN],
            len: 0,
            after_point,
        }
    }

    fn push(&mut self, digit: u8, end: usize) {
        if let Some(slot) = self.digits.get_mut(self.len) {
            *slot = digit;
        }
        self.len += 1;
        self.end = end;
    }
}

/// A personal number found in a run: what it is, where, and how many characters long (its
/// digits, and the `X`).
#[derive(Debug, Clone)]
struct Match {
    kind: Personal,
    at: Range<usize>,
    len: usize,
}

/// The last groups of the current run that could still be part of a match (together at most
/// [`MAX_SPAN`] digits), and the longest match found in the run so far.
struct Window {
    groups: [Group; MAX_SPAN],
    len: usize,
    digits: usize,
    best: Option<Match>,
}

impl Window {
    fn new() -> Window {
        Window {
            groups: [Group::new(0, false); MAX_SPAN],
            len: 0,
            digits: 0,
            best: None,
        }
    }

    /// Ends the run: returns its longest match, and forgets it.
    fn finish(&mut self) -> Option<(Personal, Range<usize>)> {
        self.len = 0;
        self.digits = 0;
        self.best.take().map(|m| (m.kind, m.at))
    }

    /// Adds the next group of the run and looks for a personal number among the spans of
    /// groups that end with it. `x_end`: the byte offset after an `X` that follows it (only
    /// for the last group of a run). `last`: whether it ends the run.
    fn add(&mut self, group: Group, class: FieldClass, x_end: Option<usize>, last: bool) {
        if group.len > MAX_SPAN {
            // No number is that long, and none spans across it.
            self.len = 0;
            self.digits = 0;
            return;
        }
        if last && group.after_point && group.len <= 2 {
            // A fraction: the run before it was already searched.
            return;
        }
        while self.len > 0 && self.digits + group.len > MAX_SPAN {
            self.digits -= self.groups[0].len;
            self.groups.copy_within(1..self.len, 0);
            self.len -= 1;
        }
        self.groups[self.len] = group;
        self.len += 1;
        self.digits += group.len;
        self.search(class, x_end);
    }

    /// Tries every span of groups that ends with the newest, and keeps a match longer than
    /// the best so far: `110105 19491231 002X` is an ID number, though its last 11 digits
    /// have the shape of a mobile number.
    fn search(&mut self, class: FieldClass, x_end: Option<usize>) {
        // The span's digits, filled from the back.
        let mut buf = [0u8; MAX_SPAN];
        let mut n = 0;
        let newest = self.len - 1;
        let end = self.groups[newest].end;
        // Whether every group of the span but the last has four digits, as card numbers are
        // written (`6222 0212 3456 7890 128`).
        let mut card_grouping = true;
        for i in (0..self.len).rev() {
            let g = &self.groups[i];
            buf[MAX_SPAN - n - g.len..MAX_SPAN - n].copy_from_slice(&g.digits[..g.len]);
            n += g.len;
            card_grouping &= i == newest || g.len == 4;
            let d = &buf[MAX_SPAN - n..];
            let id = n == 18 && id18(d, b'0' + d[17]);
            let card = card_grouping && card(d);
            let found = match class {
                FieldClass::Exempt => None,
                FieldClass::Free => {
                    if id || (n == 15 && id15(d)) {
                        Some((Personal::IdNumber, end, n))
                    } else if let Some(x_end) = x_end
                        && n == 17
                        && id18(d, b'X')
                    {
                        Some((Personal::IdNumber, x_end, 18))
                    } else if prefixed_mobile(d) {
                        Some((Personal::Mobile, end, n))
                    } else if card {
                        Some((Personal::BankCard, end, n))
                    } else {
                        None
                    }
                }
                FieldClass::Amount => {
                    if id {
                        Some((Personal::IdNumber, end, n))
                    } else if card && n >= MIN_AMOUNT_CARD {
                        Some((Personal::BankCard, end, n))
                    } else {
                        None
                    }
                }
            };
            if let Some((kind, until, len)) = found
                && self.best.as_ref().is_none_or(|b| len > b.len)
            {
                self.best = Some(Match {
                    kind,
                    at: g.start..until,
                    len,
                });
            }
        }
    }
}

/// Finds a resident ID, mobile or bank card number in `text` as a person would read it (see
/// the module documentation), with the rules of `class`. Returns the longest one of the
/// first run of digits that holds one, and where it is, as a byte range of `text`.
pub(crate) fn find_personal(text: &str, class: FieldClass) -> Option<(Personal, Range<usize>)> {
    let min = min_digits(class)?;
    if !enough_digits(text, min) {
        return None;
    }
    let mut window = Window::new();
    // The group being read, and the last group read while its separators are being read.
    let mut reading: Option<Group> = None;
    let mut pending: Option<Group> = None;
    let mut separators = 0;
    let mut point = false;
    for (i, c) in text.char_indices() {
        if is_invisible(c) {
            continue;
        }
        if let Some(digit) = digit_value(c) {
            if reading.is_none() {
                if let Some(before) = pending.take() {
                    window.add(before, class, None, false);
                }
                reading = Some(Group::new(i, point));
            }
            if let Some(group) = &mut reading {
                group.push(digit, i + c.len_utf8());
            }
            continue;
        }
        if let Some(group) = reading.take() {
            pending = Some(group);
            separators = 0;
            point = false;
        }
        if pending.is_some() && separators < MAX_SEPARATORS && is_separator(c) {
            separators += 1;
            point |= is_decimal_point(c);
            continue;
        }
        // Anything else ends the run.
        if let Some(last) = pending.take() {
            let x_end = is_check_x(c).then(|| i + c.len_utf8());
            window.add(last, class, x_end, true);
            if let Some(found) = window.finish() {
                return Some(found);
            }
        }
        separators = 0;
        point = false;
    }
    if let Some(last) = reading.or(pending) {
        window.add(last, class, None, true);
    }
    window.finish()
}

/// Masks all but the first three and last two visible characters, so error messages and logs
/// never repeat a personal number in full.
fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().filter(|&c| !is_invisible(c)).collect();
    if chars.len() <= 5 {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars[..3].iter().collect();
    out.push_str(&"*".repeat(chars.len() - 5));
    out.extend(&chars[chars.len() - 2..]);
    out
}

/// How the guard treats a field, by its name (the model gives each name one type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldClass {
    /// Free strings (names, purposes, reasons, identifiers, dates): every rule applies.
    Free,
    /// Typed amounts (`minor`): only numbers longer than any public budget count, i.e. 18-digit
    /// IDs and 17-19 digit card numbers (10^14 yuan and more). An 11-digit amount is
    /// legitimate (138,000,000.00 CNY), and so, at national scale, are 15- and 16-digit ones.
    Amount,
    /// Fixed formats validated when parsed (hex hashes, check-digit codes, all-digit area
    /// codes of 6, 9 or 12 digits): skipped.
    Exempt,
}

/// The guard's class of a field, by its name.
pub(crate) fn classify(field: &[u8]) -> FieldClass {
    match field {
        b"minor" => FieldClass::Amount,
        b"leaf" | b"sha256" | b"pseudonym" | b"commitment" | b"uscc" | b"area" => {
            FieldClass::Exempt
        }
        _ => FieldClass::Free,
    }
}

/// Refuses a record holding a value that a person would read as a PRC resident ID number
/// (18 digits with a valid check character, or 15 digits), a mobile phone number or a bank
/// card number, however its digits are written and grouped, naming the field. See
/// `docs/decisions/0004-privacy-guard.md` and `0009-privacy-guard-unicode.md` for which fields
/// are checked and how.
///
/// Signatures are not checked (vkeys and base64 are checked by signature verification).
pub fn check_privacy(record: &SignedRecord) -> Result<(), RecordError> {
    let mut object = record.record.to_object();
    object.remove("signatures");
    match find_in(&Value::Object(object), ROOT, FieldClass::Free) {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

fn find_in(value: &Value, path: &str, class: FieldClass) -> Option<RecordError> {
    match value {
        Value::String(text) => {
            let (what, at) = find_personal(text, class)?;
            Some(RecordError::new(
                path,
                format!(
                    "holds what looks like {} ({}): the public log must never hold ID, phone or bank card numbers, however they are written (DESIGN §4.3); identify households by pseudonym only",
                    what.describe(),
                    mask(&text[at])
                ),
            ))
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| find_in(v, &index(path, i), class)),
        Value::Object(map) => map
            .iter()
            .find_map(|(k, v)| find_in(v, &join(path, k), classify(k.as_bytes()))),
        Value::Number(n) => {
            let text = n.to_string();
            let (what, at) = find_personal(&text, class)?;
            Some(RecordError::new(
                path,
                format!(
                    "holds a number shaped like {} ({}): remove it",
                    what.describe(),
                    mask(&text[at])
                ),
            ))
        }
        Value::Bool(_) | Value::Null => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(text: &str) -> Option<Personal> {
        find_personal(text, FieldClass::Free).map(|(p, _)| p)
    }

    #[test]
    fn resident_ids_need_a_valid_check_digit_and_birth_date() {
        // The GB 11643 example number.
        assert!(is_resident_id("11010519491231002X"));
        assert!(is_resident_id("11010519491231002x"));
        assert!(!is_resident_id("110105194912310021"));
        assert!(!is_resident_id("11010519491331002X")); // month 13
        assert!(!is_resident_id("11010519490230002X")); // 30 February
        assert!(!is_resident_id("01010519491231002X")); // area 0
        assert!(!is_resident_id("11010519491231002"));
        assert!(!is_resident_id("１1010519491231002X"));
    }

    #[test]
    fn mobile_numbers() {
        assert!(is_mobile_number("13812345678"));
        assert!(is_mobile_number("+8613812345678"));
        assert!(is_mobile_number("8613812345678"));
        assert!(is_mobile_number("008613812345678"));
        assert!(!is_mobile_number("+13812345678"));
        assert!(!is_mobile_number("12812345678"));
        assert!(!is_mobile_number("1381234567"));
        assert!(!is_mobile_number("+0086138123456789"));
    }

    #[test]
    fn calendar_and_check_digits() {
        assert!(real_date(2000, 2, 29) && real_date(2024, 2, 29));
        assert!(!real_date(1900, 2, 29) && !real_date(2023, 2, 29));
        assert!(!real_date(2024, 4, 31) && !real_date(2024, 0, 1) && !real_date(2024, 1, 0));
        let digits = |s: &str| s.bytes().map(|b| b - b'0').collect::<Vec<_>>();
        assert!(luhn(&digits("4111111111111111")));
        assert!(!luhn(&digits("4111111111111112")));
        assert!(card(&digits("6222021234567890128")) == luhn(&digits("6222021234567890128")));
        // Issuer prefixes: dates and times (19xx, 20xx) are not cards.
        assert!(!card(&digits("2024011513450000")));
        assert!(!card(&digits("2")) && !card(&digits("411111111111111")));
        assert!(card(&digits("2221000000000009")));
        assert!(id15(&digits("110105491231002")));
        assert!(!id15(&digits("110105491331002")));
        assert!(!id15(&digits("910105491231002")));
    }

    #[test]
    fn unicode_digits_fold_to_their_values() {
        for zero in DECIMAL_ZEROS {
            for v in 0..10u8 {
                let c = char::from_u32(zero + u32::from(v)).expect("a char");
                assert!(c.is_numeric(), "{:X}", zero + u32::from(v));
                assert_eq!(digit_value(c), Some(v), "{:X}", zero + u32::from(v));
            }
        }
        for (first, value, count) in DIGIT_SYMBOLS {
            for k in 0..count {
                let c = char::from_u32(first + u32::from(k)).expect("a char");
                assert!(c.is_numeric(), "{c}");
                assert_eq!(digit_value(c), Some(value + k), "{c}");
            }
        }
        assert_eq!(digit_value('７'), Some(7));
        assert_eq!(digit_value('٣'), Some(3));
        assert_eq!(digit_value('③'), Some(3));
        for c in ['a', 'X', '一', '三', '〇', '零', '⑩', '½', 'Ⅻ', ' '] {
            assert_eq!(digit_value(c), None, "{c}");
        }
        assert!(DECIMAL_ZEROS.windows(2).all(|w| w[0] + 10 <= w[1]));
    }

    #[test]
    fn finding_numbers_inside_text() {
        assert_eq!(find("call 138-1234-5678 now"), Some(Personal::Mobile));
        assert_eq!(find("call 138 1234 5678"), Some(Personal::Mobile));
        assert_eq!(find("tel:+8613812345678"), Some(Personal::Mobile));
        assert_eq!(find("id 11010519491231002X."), Some(Personal::IdNumber));
        assert_eq!(find("village 320206101201"), None);
        assert_eq!(find("138123456789"), None); // 12 digits: not a phone
        assert_eq!(find("county-320206-2024-000123"), None);
        assert_eq!(find_personal("13800000000", FieldClass::Amount), None);
        assert_eq!(mask("13812345678"), "138******78");
    }

    #[test]
    fn numbers_as_people_write_them() {
        for text in [
            "１３８１２３４５６７８",
            "1\u{200B}3\u{200B}8\u{200B}1234\u{2060}5678",
            "138.1234.5678",
            "138\u{3000}1234\u{3000}5678",
            "(+86) 138-1234-5678",
            "0086 138 1234 5678",
            "008613812345678",
            "1381 2345 678",
            "Tel:138 - 1234 - 5678",
        ] {
            assert_eq!(find(text), Some(Personal::Mobile), "{text}");
        }
        for text in [
            "１１０１０５１９４９１２３１００２Ｘ",
            "110105 19491231 002X",
            "11010519491231002Xabc",
            "11010519491231002 x",
            "110105491231002",
            "身份证号110105194912310038号",
        ] {
            assert_eq!(find(text), Some(Personal::IdNumber), "{text}");
        }
        for text in [
            "2024-01-15",
            "2024.01.15",
            "2024-01-01 to 2024-12-31",
            "2024-01-01 – 2024-12-31",
            "2024-01-15 13:45",
            "100, 200, 300",
            "138000000.00 yuan",
            "0510-8888-1234",
            "１２３４５",
        ] {
            assert_eq!(find(text), None, "{text}");
        }
    }

    #[test]
    fn the_found_range_covers_what_was_written() {
        let text = "Tel １３８-1234-5678!";
        let (_, at) = find_personal(text, FieldClass::Free).expect("found");
        assert_eq!(&text[at.clone()], "１３８-1234-5678");
        assert_eq!(mask(&text[at]), "１３８********78");
        let text = "ID 11010519491231002x.";
        let (_, at) = find_personal(text, FieldClass::Free).expect("found");
        assert_eq!(&text[at], "11010519491231002x");
        assert_eq!(mask("1\u{200B}3\u{200B}812345678"), "138******78");
    }

    #[test]
    fn the_digit_count_shortcuts_keep_every_personal_number() {
        // The shortest personal numbers have exactly 11 digits; 10 cannot be one.
        assert!(enough_digits("138-1234-5678", 11));
        assert!(!enough_digits("138-1234-567", 11));
        assert!(enough_digits("１３８１２３４５６７８", 11));
        for text in [
            "13812345678",
            "138 1234 5678",
            "11010519491231002X",
            "１３８１２３４５６７８",
            "٠٠٨٦١٣٨١٢٣٤٥٦٧٨",
            "①③⑧①②③④⑤⑥⑦⑧",
        ] {
            assert!(enough_digits(text, MIN_FREE_DIGITS), "{text}");
            assert!(
                may_hold_personal(text.as_bytes(), FieldClass::Free),
                "{text}"
            );
            assert!(find_personal(text, FieldClass::Free).is_some(), "{text}");
        }
        // The byte screen counts at least one for every digit a reader sees.
        for zero in DECIMAL_ZEROS {
            let text: String = (0..MIN_FREE_DIGITS as u32)
                .map(|k| char::from_u32(zero + k % 10).expect("a char"))
                .collect();
            assert!(
                may_hold_personal(text.as_bytes(), FieldClass::Free),
                "{text}"
            );
        }
        assert!(!may_hold_personal(
            b"Monthly allowance 2024",
            FieldClass::Free
        ));
        assert!(!may_hold_personal(b"13812345678", FieldClass::Amount));
        assert!(!may_hold_personal(b"13812345678", FieldClass::Exempt));
    }

    #[test]
    fn field_classes() {
        assert_eq!(classify(b"minor"), FieldClass::Amount);
        for name in ["leaf", "sha256", "pseudonym", "commitment", "uscc", "area"] {
            assert_eq!(classify(name.as_bytes()), FieldClass::Exempt, "{name}");
        }
        assert_eq!(classify(b"purpose"), FieldClass::Free);
        // Amounts: an 18-digit ID and 17-19 digit cards, nothing shorter.
        assert_eq!(
            find_personal("110105194912310038", FieldClass::Amount).map(|(p, _)| p),
            Some(Personal::IdNumber)
        );
        assert_eq!(find_personal("110105491231002", FieldClass::Amount), None);
        assert_eq!(find_personal("4111111111111111", FieldClass::Amount), None);
        assert_eq!(
            find_personal("4111111111111111", FieldClass::Free).map(|(p, _)| p),
            Some(Personal::BankCard)
        );
    }

    proptest::proptest! {
        /// On any mix of digits, separators, invisible characters and letters: no panic, a
        /// range on character boundaries, the byte screen never misses a match, and writing
        /// the digits full-width changes nothing.
        #[test]
        fn the_search_reads_digits_in_any_script_alike(
            picks in proptest::collection::vec(0usize..24, 0..64),
        ) {
            const PALETTE: [char; 24] = [
                '1', '3', '8', '0', '2', '5', '6', '9', '4', '7', ' ', '-', '.', '\u{200B}',
                'X', 'a', ',', ':', '\u{3000}', '一', '\u{FF11}', '\u{0663}', '+', '\u{B7}',
            ];
            let text: String = picks.iter().map(|&i| PALETTE[i]).collect();
            for class in [FieldClass::Free, FieldClass::Amount] {
                let found = find_personal(&text, class);
                if let Some((_, at)) = &found {
                    proptest::prop_assert!(text.get(at.clone()).is_some());
                    proptest::prop_assert!(may_hold_personal(text.as_bytes(), class));
                }
                let wide: String = text
                    .chars()
                    .map(|c| match c.to_digit(10) {
                        Some(d) => char::from_u32(0xFF10 + d).unwrap_or(c),
                        None => c,
                    })
                    .collect();
                proptest::prop_assert_eq!(
                    found.map(|(p, _)| p),
                    find_personal(&wide, class).map(|(p, _)| p)
                );
            }
        }
    }
}
