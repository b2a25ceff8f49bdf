//! Values as clerks write them: amounts in yuan (`3,000.00`, `3000`, `¥3,000.00`, `3000元`)
//! turned into exact minor units, dates in the common written forms (`2024-04-20`,
//! `2024/4/20`, `2024.4.20`, `2024年4月20日`, `20240420`), and resident ID numbers. Full-width
//! digits and punctuation (`３０００`, `，`, `．`) are read as their ASCII forms. No floating
//! point is used anywhere: amounts are parsed as decimal text.

/// Folds full-width ASCII (U+FF01–U+FF5E, e.g. `３`, `，`, `．`) and the ideographic space to
/// ASCII.
pub fn fold_width(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect()
}

/// Parses an amount written in major units (yuan for CNY) with at most `exponent` decimals
/// into minor units. Accepts a leading `¥`/`￥`/`RMB`/`CNY`, a trailing `元`, thousands
/// separators in groups of three, and spaces around; refuses signs, exponents and anything
/// else, saying what was wrong.
pub fn parse_major(text: &str, exponent: u8) -> Result<u64, String> {
    let folded = fold_width(text);
    let mut s = folded.trim();
    if s.is_empty() {
        return Err("is empty: write the amount, e.g. 3,000.00".into());
    }
    for prefix in ["¥", "￥", "RMB", "CNY"] {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = rest.trim_start();
            break;
        }
    }
    if let Some(rest) = s.strip_suffix('元') {
        s = rest.trim_end();
    }
    if s.starts_with('-') || s.starts_with('(') {
        return Err(format!(
            "{text:?} is negative: a payment states money paid; undo a payment with a \
             correction or void instead"
        ));
    }
    if s.starts_with('+') {
        s = &s[1..];
    }
    let (whole, fraction) = match s.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (s, None),
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit() || b == b',') {
        return Err(format!(
            "{text:?} is not an amount: write digits with an optional decimal point, e.g. \
             3,000.00 or 3000"
        ));
    }
    if whole.contains(',') {
        let groups: Vec<&str> = whole.split(',').collect();
        let first_ok = (1..=3).contains(&groups[0].len());
        if !first_ok || groups[1..].iter().any(|g| g.len() != 3) {
            return Err(format!(
                "{text:?} has misplaced thousands separators: write 3,000.00 or 3000.00"
            ));
        }
    }
    let digits: String = whole.chars().filter(|c| *c != ',').collect();
    let fraction = fraction.unwrap_or("");
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{text:?} is not an amount: only digits may follow the decimal point"
        ));
    }
    if fraction.len() > usize::from(exponent) {
        return Err(format!(
            "{text:?} has {} decimals; this currency has {exponent}: round it as the payment \
             was made",
            fraction.len()
        ));
    }
    let mut minor: u64 = 0;
    let padded = format!("{fraction:0<width$}", width = usize::from(exponent));
    for b in digits.bytes().chain(padded.bytes()) {
        minor = minor
            .checked_mul(10)
            .and_then(|m| m.checked_add(u64::from(b - b'0')))
            .ok_or_else(|| format!("{text:?} is too large to be an amount"))?;
    }
    Ok(minor)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        _ => 28,
    }
}

/// Checks that year, month and day name a real date and writes it as `YYYY-MM-DD`.
pub fn ymd(year: u32, month: u32, day: u32, text: &str) -> Result<String, String> {
    if !(1900..=9999).contains(&year) {
        return Err(format!("{text:?}: the year {year} is out of range"));
    }
    if !(1..=12).contains(&month) {
        return Err(format!("{text:?}: there is no month {month}"));
    }
    if day == 0 || day > days_in_month(year, month) {
        return Err(format!(
            "{text:?} is not a real date: {year}-{month:02} has {} days",
            days_in_month(year, month)
        ));
    }
    Ok(format!("{year:04}-{month:02}-{day:02}"))
}

/// Parses a date in a common written form into `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Result<String, String> {
    let folded = fold_width(text);
    let s = folded.trim();
    if s.is_empty() {
        return Err("is empty: write the date, e.g. 2024-04-20".into());
    }
    // An ISO date-time as spreadsheets export it: keep the date part of a midnight.
    let s = match s.split_once(['T', ' ']) {
        Some((date, time)) if time.trim_start_matches(['0', ':', '.']).is_empty() => date,
        _ => s,
    };
    let unrecognised = || {
        format!(
            "{text:?} is not a date in a form this tool reads: write 2024-04-20, 2024/4/20, \
             2024年4月20日 or 20240420"
        )
    };
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        let n = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(0);
        return ymd(n(0..4), n(4..6), n(6..8), text);
    }
    let chinese = s.strip_suffix('日').unwrap_or(s);
    let parts: Vec<&str> = if chinese.contains('年') {
        chinese.split(['年', '月']).collect()
    } else {
        s.split(['-', '/', '.']).collect()
    };
    if parts.len() != 3
        || parts
            .iter()
            .any(|p| p.is_empty() || p.len() > 4 || !p.bytes().all(|b| b.is_ascii_digit()))
        || parts[0].len() != 4
    {
        return Err(unrecognised());
    }
    let n: Vec<u32> = parts.iter().map(|p| p.parse().unwrap_or(0)).collect();
    ymd(n[0], n[1], n[2], text)
}

/// Normalises a resident ID number as written (spaces, full-width digits, a lowercase `x`)
/// and checks it: 18 characters with a valid GB 11643 check character. The message says what
/// to fix without repeating the number.
pub fn normalize_id(text: &str) -> Result<String, String> {
    let folded: String = fold_width(text)
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_ascii_uppercase();
    if folded.is_empty() {
        return Err("is empty: write the household's 18-character ID number".into());
    }
    if folded.len() == 15 && folded.bytes().all(|b| b.is_ascii_digit()) {
        return Err(
            "is a 15-digit first-generation ID number: write the household's 18-character \
             number"
                .into(),
        );
    }
    if folded.contains('E') && folded.contains('.') {
        return Err(
            "was stored by the spreadsheet as a number and rounded: format the column as text \
             and type the number again"
                .into(),
        );
    }
    if folded.len() != 18 {
        return Err(format!(
            "has {} characters; a resident ID number has 18: check it against the ID card",
            folded.chars().count()
        ));
    }
    if !daylight_verifier::record::privacy::is_resident_id(&folded) {
        return Err(
            "is not a valid resident ID number (wrong check character or birth date): check it \
             against the ID card"
                .into(),
        );
    }
    Ok(folded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_in_yuan_become_exact_minor_units() {
        for (text, minor) in [
            ("3,000.00", 300_000),
            ("3000", 300_000),
            ("¥3,000.00", 300_000),
            ("￥3000.5", 300_050),
            ("３０００元", 300_000),
            ("0.01", 1),
            ("1,234,567.89", 123_456_789),
            (" 12 ", 1200),
        ] {
            assert_eq!(parse_major(text, 2), Ok(minor), "{text}");
        }
        assert_eq!(parse_major("3000", 0), Ok(3000));
        for bad in [
            "",
            "-5",
            "3.005",
            "3,00.00",
            "abc",
            "1e5",
            "3.000.00",
            "99999999999999999999",
        ] {
            assert!(parse_major(bad, 2).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_in_written_forms() {
        for text in [
            "2024-04-20",
            "2024/4/20",
            "2024.4.20",
            "2024年4月20日",
            "20240420",
            "2024-04-20T00:00:00",
            "２０２４年４月２０日",
        ] {
            assert_eq!(parse_date(text).as_deref(), Ok("2024-04-20"), "{text}");
        }
        for bad in [
            "2024-02-30",
            "2024/13/01",
            "next week",
            "24-4-20",
            "2023年2月29日",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_date("2024-02-29").as_deref(), Ok("2024-02-29"));
    }

    #[test]
    fn id_numbers_are_checked() {
        assert_eq!(
            normalize_id("11010519491231002x").as_deref(),
            Ok("11010519491231002X")
        );
        assert!(normalize_id("110105194912310021").is_err());
        assert!(
            normalize_id("110105491231002")
                .unwrap_err()
                .contains("15-digit")
        );
        assert!(
            normalize_id("1.10105194912310E+17")
                .unwrap_err()
                .contains("number")
        );
    }
}
