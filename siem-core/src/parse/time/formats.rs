//! Timestamp readers for the non-syslog parsers: month names, zone application, the few
//! timestamp shapes web servers, CEF/LEEF devices and application logs write, and a subset of
//! Java `SimpleDateFormat` for LEEF's `devTimeFormat`.
//!
//! Everything here is total: unreadable input gives `None`, never a panic. The building blocks
//! (month names, zone application, year inference) are the parent module's.

use chrono::{
    DateTime, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike,
    Utc,
};
use chrono_tz::Tz;

use super::{digits, infer_year, local_to_utc, month_from_abbrev};

/// The month number (1-12) of an English month name or its three-letter abbreviation, in any
/// case.
pub(crate) fn month_number(name: &str) -> Option<u32> {
    let b = name.as_bytes();
    let m = month_from_abbrev(b.get(..3)?)?;
    if b.len() == 3 {
        return Some(m);
    }
    const FULL: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let full = FULL[(m - 1) as usize];
    // `Sept` is common enough in the wild to accept.
    (name.eq_ignore_ascii_case(full) || (m == 9 && name.eq_ignore_ascii_case("sept"))).then_some(m)
}

/// Whether `name` is an English weekday name or abbreviation.
pub(crate) fn is_weekday(name: &str) -> bool {
    const DAYS: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    name.len() >= 3
        && DAYS
            .iter()
            .any(|d| name.eq_ignore_ascii_case(&d[..3]) || name.eq_ignore_ascii_case(d))
}

/// Exactly `n` digits at `s[at..]`.
fn fixed(s: &[u8], at: usize, n: usize) -> Option<u32> {
    let part = s.get(at..at + n)?;
    let mut value = 0u32;
    for &b in part {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u32::from(b - b'0');
    }
    Some(value)
}

/// A fraction of a second written after the separator: returns nanoseconds and digits used.
fn fraction(s: &[u8]) -> (u32, usize) {
    let mut nanos: u64 = 0;
    let mut n = 0;
    while n < s.len() && s[n].is_ascii_digit() {
        if n < 9 {
            nanos = nanos * 10 + u64::from(s[n] - b'0');
        }
        n += 1;
    }
    let mut scale = n.min(9);
    while scale < 9 {
        nanos *= 10;
        scale += 1;
    }
    (nanos as u32, n)
}

/// A numeric UTC offset: `Z`, `+hh`, `+hhmm`, `+hh:mm` (also `UTC`/`GMT`). Returns seconds east
/// and bytes used.
fn offset(s: &[u8]) -> Option<(i32, usize)> {
    match s.first()? {
        b'Z' | b'z' => Some((0, 1)),
        b'+' | b'-' => {
            let sign = if s[0] == b'-' { -1 } else { 1 };
            let h = fixed(s, 1, 2)?;
            let (m, used) = if s.get(3) == Some(&b':') {
                (fixed(s, 4, 2)?, 6)
            } else if let Some(m) = fixed(s, 3, 2) {
                (m, 5)
            } else {
                (0, 3)
            };
            if h > 23 || m > 59 {
                return None;
            }
            Some((sign * (h as i32 * 3600 + m as i32 * 60), used))
        }
        b'U' if s.starts_with(b"UTC") => Some((0, 3)),
        b'G' if s.starts_with(b"GMT") => Some((0, 3)),
        _ => None,
    }
}

fn with_offset(naive: NaiveDateTime, secs_east: i32) -> Option<DateTime<Utc>> {
    let off = FixedOffset::east_opt(secs_east)?;
    match off.from_local_datetime(&naive) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        _ => None,
    }
}

/// The Common Log Format time, `10/Oct/2000:13:55:36 -0700` (Apache `%t`, nginx `$time_local`).
///
/// Consecutive lines of a log mostly share the minute: the time of the usual 26-byte shape
/// whose text outside the seconds is that of the previous one read on this thread is that
/// time's minute plus its seconds, without reading the date, the month name and the offset
/// again. (The same result as [`parse_clf_text`], which a property test checks.)
pub(crate) fn parse_clf(s: &str) -> Option<DateTime<Utc>> {
    /// The last 26-byte time read (seconds zeroed) and its minute in UTC (offsets are whole
    /// minutes): the date, the hour and the minute.
    type Minute = ([u8; 26], NaiveDate, u32, u32);
    thread_local! {
        static LAST_MINUTE: std::cell::Cell<Option<Minute>> = const { std::cell::Cell::new(None) };
    }
    let Ok(text) = <[u8; 26]>::try_from(s.as_bytes()) else {
        return parse_clf_text(s);
    };
    // `dd/Mon/yyyy:HH:MM:SS ±hhmm`: the seconds are at 18..20 whenever these hold.
    if text[2] != b'/' || text[17] != b':' || text[20] != b' ' {
        return parse_clf_text(s);
    }
    let (s1, s2) = (text[18], text[19]);
    if !s1.is_ascii_digit() || !s2.is_ascii_digit() {
        return parse_clf_text(s);
    }
    // `parse_clf_text` reads seconds 60-99 as 59.
    let seconds = (u32::from(s1 - b'0') * 10 + u32::from(s2 - b'0')).min(59);
    let mut key = text;
    key[18] = b'0';
    key[19] = b'0';
    LAST_MINUTE.with(|last| {
        if let Some((cached, date, hour, minute)) = last.get()
            && cached == key
        {
            return Some(date.and_hms_opt(hour, minute, seconds)?.and_utc());
        }
        let t = parse_clf_text(s)?;
        let naive = t.naive_utc();
        if naive.second() == seconds && naive.nanosecond() == 0 {
            last.set(Some((key, naive.date(), naive.hour(), naive.minute())));
        }
        Some(t)
    })
}

/// [`parse_clf`] without the minute cache.
fn parse_clf_text(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    // dd/Mon/yyyy:HH:MM:SS +zzzz ; the day may have one digit in hand-written logs.
    let (day, dn) = digits(b, 1, 2)?;
    let rest = b.get(dn..)?;
    if rest.first() != Some(&b'/') {
        return None;
    }
    let month = month_number(s.get(dn + 1..dn + 4)?)?;
    let r = rest.get(4..)?;
    if r.first() != Some(&b'/') {
        return None;
    }
    let year = fixed(r, 1, 4)?;
    if r.get(5) != Some(&b':') {
        return None;
    }
    let hour = fixed(r, 6, 2)?;
    let minute = fixed(r, 9, 2)?;
    let second = fixed(r, 12, 2)?;
    if r.get(8) != Some(&b':') || r.get(11) != Some(&b':') {
        return None;
    }
    let mut at = 14;
    let mut nanos = 0;
    if matches!(r.get(at), Some(b'.') | Some(b',')) {
        let (n, used) = fraction(r.get(at + 1..)?);
        nanos = n;
        at += 1 + used;
    }
    let naive = NaiveDate::from_ymd_opt(year as i32, month, day)?.and_hms_nano_opt(
        hour,
        minute,
        second.min(59),
        nanos,
    )?;
    match r.get(at) {
        None => Some(naive.and_utc()),
        Some(b' ') => {
            let (off, used) = offset(r.get(at + 1..)?)?;
            if at + 1 + used != r.len() {
                return None;
            }
            with_offset(naive, off)
        }
        _ => None,
    }
}

/// ISO 8601 / RFC 3339 and the common relatives: `T` or a space between date and time, `.` or
/// `,` before the fraction, an optional offset (`Z`, `+02:00`, `+0200`, ` UTC`). Without an
/// offset the time is read in `tz`. Trailing text after the time is refused.
pub(crate) fn parse_iso(s: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let b = s.trim().as_bytes();
    let year = fixed(b, 0, 4)?;
    let sep = *b.get(4)?;
    if sep != b'-' && sep != b'/' {
        return None;
    }
    let (month, mn) = digits(b.get(5..)?, 1, 2)?;
    let mut at = 5 + mn;
    if b.get(at) != Some(&sep) {
        return None;
    }
    let (day, dn) = digits(b.get(at + 1..)?, 1, 2)?;
    at += 1 + dn;
    let date = NaiveDate::from_ymd_opt(year as i32, month, day)?;
    if at == b.len() {
        return local_to_utc(date.and_hms_opt(0, 0, 0)?, tz);
    }
    if !matches!(b[at], b'T' | b't' | b' ') {
        return None;
    }
    at += 1;
    let hour = fixed(b, at, 2)?;
    if b.get(at + 2) != Some(&b':') {
        return None;
    }
    let minute = fixed(b, at + 3, 2)?;
    at += 5;
    let mut second = 0;
    if b.get(at) == Some(&b':') {
        second = fixed(b, at + 1, 2)?;
        at += 3;
    }
    let mut nanos = 0;
    if matches!(b.get(at), Some(b'.') | Some(b',')) {
        let (n, used) = fraction(b.get(at + 1..)?);
        if used == 0 {
            return None;
        }
        nanos = n;
        at += 1 + used;
    }
    let naive = date.and_time(NaiveTime::from_hms_nano_opt(
        hour,
        minute,
        second.min(59),
        nanos,
    )?);
    if at == b.len() {
        return local_to_utc(naive, tz);
    }
    let mut rest = &b[at..];
    if rest[0] == b' ' {
        rest = &rest[1..];
    }
    let (off, used) = offset(rest)?;
    if used != rest.len() {
        return None;
    }
    with_offset(naive, off)
}

/// Epoch time as digits: seconds (10 digits), milliseconds (13), microseconds (16) or
/// nanoseconds (19), told apart by magnitude; a fraction after a `.` is allowed on seconds.
pub(crate) fn parse_epoch(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    if int.is_empty() || int.len() > 19 || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: i64 = int.parse().ok()?;
    match int.len() {
        0..=11 => {
            let nanos = match frac {
                Some(f) if f.bytes().all(|b| b.is_ascii_digit()) => fraction(f.as_bytes()).0,
                Some(_) => return None,
                None => 0,
            };
            DateTime::from_timestamp(value, nanos)
        }
        12..=14 if frac.is_none() => DateTime::from_timestamp_millis(value),
        15..=17 if frac.is_none() => DateTime::from_timestamp_micros(value),
        18..=19 if frac.is_none() => Some(DateTime::from_timestamp_nanos(value)),
        _ => None,
    }
}

/// Fractional epoch seconds as a float (Python's `LogRecord.created`).
pub(crate) fn from_epoch_f64(secs: f64) -> Option<DateTime<Utc>> {
    if !secs.is_finite() || secs.abs() > 1e13 {
        return None;
    }
    let whole = secs.floor();
    let nanos = ((secs - whole) * 1e9).round().clamp(0.0, 999_999_999.0) as u32;
    DateTime::from_timestamp(whole as i64, nanos)
}

/// `HH:MM:SS[.fff]` at the start of `s`; returns the time and the bytes used.
pub(crate) fn clock(s: &[u8]) -> Option<(NaiveTime, usize)> {
    let (hour, hn) = digits(s, 1, 2)?;
    if s.get(hn) != Some(&b':') {
        return None;
    }
    let minute = fixed(s, hn + 1, 2)?;
    if s.get(hn + 3) != Some(&b':') {
        return None;
    }
    let second = fixed(s, hn + 4, 2)?;
    let mut at = hn + 6;
    let mut nanos = 0;
    if matches!(s.get(at), Some(b'.') | Some(b',')) {
        let (n, used) = fraction(s.get(at + 1..)?);
        if used > 0 {
            nanos = n;
            at += 1 + used;
        }
    }
    Some((
        NaiveTime::from_hms_nano_opt(hour, minute, second.min(59), nanos)?,
        at,
    ))
}

/// Splits on runs of ASCII spaces.
fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split(' ').filter(|w| !w.is_empty())
}

/// `Mon dd yyyy HH:MM:SS[.fff] [zone]` or `Mon dd HH:MM:SS[.fff] [zone]` (the CEF `rt`
/// formats; the second is yearless), and `Www Mon dd HH:MM:SS[.ffffff] yyyy` (Apache error log,
/// `asctime`). A trailing zone may be a numeric offset, `UTC`/`GMT`/`Z`, or an IANA name.
pub(crate) fn parse_month_first(s: &str, tz: Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let mut parts: Vec<&str> = words(s.trim()).take(7).collect();
    if parts
        .first()
        .is_some_and(|w| is_weekday(w.trim_end_matches(',')))
    {
        parts.remove(0);
    }
    if parts.len() < 3 {
        return None;
    }
    let month = month_number(parts[0])?;
    let day: u32 = parts[1].trim_end_matches(',').parse().ok()?;
    let (year, time_at) = if parts[2].len() == 4 && parts[2].bytes().all(|b| b.is_ascii_digit()) {
        (Some(parts[2].parse::<i32>().ok()?), 3)
    } else {
        (None, 2)
    };
    let (time, used) = clock(parts.get(time_at)?.as_bytes())?;
    if used != parts[time_at].len() {
        return None;
    }
    let mut rest = &parts[time_at + 1..];
    let mut year = year;
    if year.is_none()
        && let Some(y) = rest
            .first()
            .filter(|w| w.len() == 4 && w.bytes().all(|b| b.is_ascii_digit()))
    {
        year = y.parse().ok();
        rest = &rest[1..];
    }
    let zone = match rest {
        [] => None,
        [z] => Some(*z),
        _ => return None,
    };
    let naive_for = |year: i32| NaiveDate::from_ymd_opt(year, month, day).map(|d| d.and_time(time));
    match (year, zone) {
        (Some(y), None) => local_to_utc(naive_for(y)?, tz),
        (Some(y), Some(z)) => apply_zone(naive_for(y)?, z),
        (None, None) => infer_year(month, day, time, tz, now),
        (None, Some(z)) => {
            let zone_tz: Tz = match z.parse::<Tz>() {
                Ok(t) => t,
                Err(_) => {
                    let (off, used) = offset(z.as_bytes())?;
                    if used != z.len() {
                        return None;
                    }
                    let shifted = infer_year(month, day, time, chrono_tz::UTC, now)?;
                    return Some(shifted - chrono::Duration::seconds(i64::from(off)));
                }
            };
            infer_year(month, day, time, zone_tz, now)
        }
    }
}

/// Applies a zone written after a time: numeric offset, `Z`/`UTC`/`GMT`, or an IANA name.
fn apply_zone(naive: NaiveDateTime, zone: &str) -> Option<DateTime<Utc>> {
    if let Some((off, used)) = offset(zone.as_bytes())
        && used == zone.len()
    {
        return with_offset(naive, off);
    }
    match zone.parse::<Tz>() {
        Ok(tz) => local_to_utc(naive, tz),
        Err(_) => with_offset(naive, abbreviation_offset(zone)?),
    }
}

/// nginx error-log time: `2021/12/01 13:53:33`, in `tz`.
pub(crate) fn parse_slashed(s: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() != 19
        || b[4] != b'/'
        || b[7] != b'/'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(fixed(b, 0, 4)? as i32, fixed(b, 5, 2)?, fixed(b, 8, 2)?)?;
    let time =
        NaiveTime::from_hms_opt(fixed(b, 11, 2)?, fixed(b, 14, 2)?, fixed(b, 17, 2)?.min(59))?;
    local_to_utc(date.and_time(time), tz)
}

/// Any timestamp shape this module knows, tried cheapest first: epoch digits, ISO 8601, CLF,
/// month-first. Used where a format does not say which one it carries (grok `@timestamp`,
/// logfmt `time=`).
pub(crate) fn parse_any(s: &str, tz: Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let first = *s.as_bytes().first()?;
    if first.is_ascii_digit() {
        parse_epoch(s)
            .or_else(|| parse_iso(s, tz))
            .or_else(|| parse_clf(s))
            .or_else(|| parse_slashed(s, tz))
    } else {
        parse_month_first(s, tz, now)
    }
}

/// A compiled subset of Java's `SimpleDateFormat` (what LEEF `devTimeFormat` uses): `yyyy yy
/// MMM MM M dd d HH H hh h mm m ss s SSS a z Z X EEE` and `'literal'` text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JavaFormat {
    items: Vec<JavaItem>,
}

#[derive(Debug, Clone, PartialEq)]
enum JavaItem {
    Year,
    MonthName,
    MonthNum,
    Day,
    Hour24,
    Hour12,
    Minute,
    Second,
    Millis,
    AmPm,
    Zone,
    Weekday,
    Literal(String),
}

impl JavaFormat {
    /// Compiles a pattern; `None` for letters this subset does not know.
    pub(crate) fn compile(pattern: &str) -> Option<JavaFormat> {
        let mut items = Vec::new();
        let chars: Vec<char> = pattern.chars().take(256).collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let mut run = 1;
            while i + run < chars.len() && chars[i + run] == c {
                run += 1;
            }
            let item = match c {
                'y' => JavaItem::Year,
                'M' | 'L' if run >= 3 => JavaItem::MonthName,
                'M' | 'L' => JavaItem::MonthNum,
                'd' => JavaItem::Day,
                'H' | 'k' => JavaItem::Hour24,
                'h' | 'K' => JavaItem::Hour12,
                'm' => JavaItem::Minute,
                's' => JavaItem::Second,
                'S' => JavaItem::Millis,
                'a' => JavaItem::AmPm,
                'z' | 'Z' | 'X' => JavaItem::Zone,
                'E' => JavaItem::Weekday,
                '\'' => {
                    // Quoted literal; '' is a single quote.
                    let mut lit = String::new();
                    let mut j = i + 1;
                    while j < chars.len() {
                        if chars[j] == '\'' {
                            if chars.get(j + 1) == Some(&'\'') {
                                lit.push('\'');
                                j += 2;
                                continue;
                            }
                            break;
                        }
                        lit.push(chars[j]);
                        j += 1;
                    }
                    if run == 2 {
                        lit = "'".into();
                        j = i + 1;
                    }
                    items.push(JavaItem::Literal(lit));
                    i = j + 1;
                    continue;
                }
                c if c.is_ascii_alphabetic() => return None,
                c => {
                    let lit: String = std::iter::repeat_n(c, run).collect();
                    JavaItem::Literal(lit)
                }
            };
            items.push(item);
            i += run;
        }
        Some(JavaFormat { items })
    }

    /// Reads `s` with this format; without a zone in the text, the time is read in `tz`.
    pub(crate) fn parse(&self, s: &str, tz: Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let b = s.trim().as_bytes();
        let mut at = 0;
        let (mut year, mut month, mut day) = (None, None, None);
        let (mut hour, mut minute, mut second, mut nanos, mut pm) = (0u32, 0u32, 0u32, 0u32, None);
        let mut zone: Option<Result<i32, Tz>> = None;
        for item in &self.items {
            match item {
                JavaItem::Literal(lit) => {
                    let lit = lit.as_bytes();
                    if b.get(at..at + lit.len()) != Some(lit) {
                        return None;
                    }
                    at += lit.len();
                }
                JavaItem::Year => {
                    let (y, n) = digits(b.get(at..)?, 2, 4)?;
                    year = Some(if n == 2 { 2000 + y as i32 } else { y as i32 });
                    at += n;
                }
                JavaItem::MonthName => {
                    let end = b[at..]
                        .iter()
                        .position(|c| !c.is_ascii_alphabetic())
                        .map_or(b.len(), |p| at + p);
                    month = Some(month_number(std::str::from_utf8(&b[at..end]).ok()?)?);
                    at = end;
                }
                JavaItem::Weekday => {
                    let end = b[at..]
                        .iter()
                        .position(|c| !c.is_ascii_alphabetic())
                        .map_or(b.len(), |p| at + p);
                    at = end;
                }
                JavaItem::MonthNum
                | JavaItem::Day
                | JavaItem::Hour24
                | JavaItem::Hour12
                | JavaItem::Minute
                | JavaItem::Second => {
                    let (v, n) = digits(b.get(at..)?, 1, 2)?;
                    at += n;
                    match item {
                        JavaItem::MonthNum => month = Some(v),
                        JavaItem::Day => day = Some(v),
                        JavaItem::Hour24 | JavaItem::Hour12 => hour = v,
                        JavaItem::Minute => minute = v,
                        _ => second = v,
                    }
                }
                JavaItem::Millis => {
                    let (n, used) = fraction(b.get(at..)?);
                    if used == 0 {
                        return None;
                    }
                    nanos = n;
                    at += used;
                }
                JavaItem::AmPm => {
                    let word = b.get(at..at + 2)?;
                    pm = Some(word.eq_ignore_ascii_case(b"PM"));
                    if !word.eq_ignore_ascii_case(b"AM") && !word.eq_ignore_ascii_case(b"PM") {
                        return None;
                    }
                    at += 2;
                }
                JavaItem::Zone => {
                    let rest = b.get(at..)?;
                    if let Some((off, used)) = offset(rest) {
                        zone = Some(Ok(off));
                        at += used;
                    } else {
                        let end = rest
                            .iter()
                            .position(|c| {
                                !(c.is_ascii_alphanumeric()
                                    || matches!(c, b'/' | b'_' | b'-' | b'+'))
                            })
                            .unwrap_or(rest.len());
                        let name = std::str::from_utf8(&rest[..end]).ok()?;
                        zone = Some(match name.parse::<Tz>() {
                            Ok(t) => Err(t),
                            Err(_) => Ok(abbreviation_offset(name)?),
                        });
                        at += end;
                    }
                }
            }
        }
        if at != b.len() {
            return None;
        }
        if let Some(pm) = pm {
            hour %= 12;
            if pm {
                hour += 12;
            }
        }
        let time = NaiveTime::from_hms_nano_opt(hour, minute, second.min(59), nanos)?;
        let (month, day) = (month?, day?);
        match (year, zone) {
            (Some(y), None) => {
                local_to_utc(NaiveDate::from_ymd_opt(y, month, day)?.and_time(time), tz)
            }
            (Some(y), Some(Ok(off))) => {
                with_offset(NaiveDate::from_ymd_opt(y, month, day)?.and_time(time), off)
            }
            (Some(y), Some(Err(zone_tz))) => local_to_utc(
                NaiveDate::from_ymd_opt(y, month, day)?.and_time(time),
                zone_tz,
            ),
            (None, None) => infer_year(month, day, time, tz, now),
            (None, Some(Err(zone_tz))) => infer_year(month, day, time, zone_tz, now),
            (None, Some(Ok(off))) => Some(
                infer_year(month, day, time, chrono_tz::UTC, now)?
                    - chrono::Duration::seconds(i64::from(off)),
            ),
        }
    }
}

/// Offsets of the zone abbreviations devices commonly print. Abbreviations are ambiguous in
/// general; these are the North American and European readings.
fn abbreviation_offset(name: &str) -> Option<i32> {
    let hours = match name.to_ascii_uppercase().as_str() {
        "UTC" | "GMT" | "UT" | "Z" | "WET" => 0,
        "BST" | "CET" | "WEST" => 1,
        "CEST" | "EET" => 2,
        "EEST" | "MSK" => 3,
        "EST" | "CDT" => -5,
        "EDT" => -4,
        "CST" => -6,
        "MST" => -7,
        "MDT" => -6,
        "PST" => -8,
        "PDT" => -7,
        "JST" => 9,
        "IST" => 5, // India; the half hour is added below.
        _ => return None,
    };
    let extra = if name.eq_ignore_ascii_case("IST") {
        1800
    } else {
        0
    };
    Some(hours * 3600 + extra)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    #[test]
    fn clf_times() {
        assert_eq!(
            parse_clf("04/Jan/2020:07:25:02 +0000"),
            Some(utc(2020, 1, 4, 7, 25, 2))
        );
        assert_eq!(
            parse_clf("17/Oct/2023:05:57:49 +1100"),
            Some(utc(2023, 10, 16, 18, 57, 49))
        );
        assert_eq!(
            parse_clf("29/Jul/2023:10:26:06 -0700"),
            Some(utc(2023, 7, 29, 17, 26, 6))
        );
        assert_eq!(
            parse_clf("29/Jul/2023:10:26:06"),
            Some(utc(2023, 7, 29, 10, 26, 6))
        );
        assert_eq!(parse_clf("32/Jul/2023:10:26:06 +0000"), None);
        assert_eq!(parse_clf("29/Jul/2023:10:26:06 +0000x"), None);
        assert_eq!(parse_clf(""), None);
        assert_eq!(parse_clf("2/Ju"), None);
    }

    #[test]
    fn iso_times() {
        let tz = chrono_tz::Europe::Paris;
        assert_eq!(
            parse_iso("2024-05-01T10:00:00Z", tz),
            Some(utc(2024, 5, 1, 10, 0, 0))
        );
        assert_eq!(
            parse_iso("2024-05-01 12:00:00,123", tz).map(|t| t.timestamp_subsec_millis()),
            Some(123)
        );
        assert_eq!(
            parse_iso("2024-05-01 12:00:00", tz),
            Some(utc(2024, 5, 1, 10, 0, 0))
        );
        assert_eq!(
            parse_iso("2024-05-01T12:00:00+0200", chrono_tz::UTC),
            Some(utc(2024, 5, 1, 10, 0, 0))
        );
        assert_eq!(
            parse_iso("2024-05-01T12:00:00 UTC", tz),
            Some(utc(2024, 5, 1, 12, 0, 0))
        );
        assert_eq!(parse_iso("2024-13-01T12:00:00", tz), None);
        assert_eq!(parse_iso("2024-05-01T12:00:00 junk", tz), None);
    }

    #[test]
    fn month_first_and_epoch() {
        let now = utc(2024, 3, 1, 0, 0, 0);
        assert_eq!(
            parse_month_first("Thu Oct 13 12:24:49.880562 2022", chrono_tz::UTC, now)
                .map(|t| t.timestamp()),
            Some(utc(2022, 10, 13, 12, 24, 49).timestamp())
        );
        assert_eq!(
            parse_month_first("Dec 31 2023 23:59:59", chrono_tz::UTC, now),
            Some(utc(2023, 12, 31, 23, 59, 59))
        );
        // Yearless and in the future: last year.
        assert_eq!(
            parse_month_first("Dec 31 23:59:59", chrono_tz::UTC, now),
            Some(utc(2023, 12, 31, 23, 59, 59))
        );
        assert_eq!(
            parse_month_first("Feb 28 10:00:00 +0100", chrono_tz::UTC, now),
            Some(utc(2024, 2, 28, 9, 0, 0))
        );
        assert_eq!(parse_epoch("1714557600"), Some(utc(2024, 5, 1, 10, 0, 0)));
        assert_eq!(
            parse_epoch("1714557600000"),
            Some(utc(2024, 5, 1, 10, 0, 0))
        );
        assert_eq!(
            parse_epoch("1714557600.5").map(|t| t.timestamp_subsec_millis()),
            Some(500)
        );
        assert_eq!(parse_epoch("99999999999999999999"), None);
        assert_eq!(
            parse_slashed("2021/12/01 13:53:33", chrono_tz::UTC),
            Some(utc(2021, 12, 1, 13, 53, 33))
        );
    }

    #[test]
    fn java_formats() {
        let now = utc(2024, 3, 1, 0, 0, 0);
        let f = JavaFormat::compile("MMM dd yyyy HH:mm:ss.SSS zzz").unwrap();
        assert_eq!(
            f.parse("Jan 05 2024 10:00:00.250 UTC", chrono_tz::UTC, now)
                .map(|t| t.timestamp_millis()),
            Some(utc(2024, 1, 5, 10, 0, 0).timestamp_millis() + 250)
        );
        let f = JavaFormat::compile("yyyy-MM-dd'T'HH:mm:ssZ").unwrap();
        assert_eq!(
            f.parse("2024-01-05T10:00:00+0100", chrono_tz::UTC, now),
            Some(utc(2024, 1, 5, 9, 0, 0))
        );
        let f = JavaFormat::compile("dd/MM/yyyy hh:mm:ss a").unwrap();
        assert_eq!(
            f.parse("05/01/2024 01:00:00 PM", chrono_tz::UTC, now),
            Some(utc(2024, 1, 5, 13, 0, 0))
        );
        assert!(JavaFormat::compile("yyyy-qq").is_none());
    }

    #[test]
    fn dst_gap_and_overlap_do_not_panic() {
        let tz = chrono_tz::Europe::Paris;
        // 2024-03-31 02:30 does not exist in Paris; 2024-10-27 02:30 exists twice.
        assert!(parse_iso("2024-03-31 02:30:00", tz).is_some());
        assert_eq!(
            parse_iso("2024-10-27 02:30:00", tz),
            Some(utc(2024, 10, 27, 0, 30, 0))
        );
    }

    mod props {
        use super::super::*;
        use chrono::TimeZone;
        use proptest::prelude::*;

        proptest! {
            /// The hand-written CLF and ISO readers agree with chrono's strftime parser.
            #[test]
            fn clf_and_iso_match_chrono(secs in -2_000_000_000i64..8_000_000_000, offset_minutes in -720i32..=840, millis in 0u32..1000) {
                let offset = FixedOffset::east_opt(offset_minutes * 60).unwrap();
                let t = offset.timestamp_opt(secs, millis * 1_000_000).unwrap();
                let clf = t.format("%d/%b/%Y:%H:%M:%S %z").to_string();
                let reference = DateTime::parse_from_str(&clf, "%d/%b/%Y:%H:%M:%S %z").unwrap().with_timezone(&Utc);
                prop_assert_eq!(parse_clf(&clf), Some(reference));
                let iso = t.to_rfc3339();
                prop_assert_eq!(parse_iso(&iso, chrono_tz::UTC), Some(t.with_timezone(&Utc)));
            }

            /// The minute cache of `parse_clf` gives what reading the text gives, on runs of
            /// times that share a minute, seconds 60-99, and near misses of the 26-byte shape.
            #[test]
            fn clf_minute_cache_matches_reading(
                secs in -2_000_000_000i64..8_000_000_000, offset_minutes in -720i32..=840,
                steps in proptest::collection::vec((0u8..100, 0usize..26, 0u8..4, any::<u8>()), 1..16),
            ) {
                let offset = FixedOffset::east_opt(offset_minutes * 60).unwrap();
                let t = offset.timestamp_opt(secs, 0).unwrap();
                let base = t.format("%d/%b/%Y:%H:%M:%S %z").to_string();
                for (second, at, how, byte) in steps {
                    let mut text = base.clone().into_bytes();
                    text[18] = b'0' + second / 10;
                    text[19] = b'0' + second % 10;
                    // Now and then a changed byte elsewhere: another minute, or no time at all.
                    if how == 0 {
                        text[at] = byte;
                    }
                    if let Ok(text) = String::from_utf8(text) {
                        prop_assert_eq!(parse_clf(&text), parse_clf_text(&text), "{}", text);
                    }
                }
            }

            #[test]
            fn total_on_any_text(text in ".{0,64}") {
                let now = Utc::now();
                let _ = parse_any(&text, chrono_tz::Europe::Paris, now);
                let _ = parse_clf(&text);
                if let Some(f) = JavaFormat::compile(&text) {
                    let _ = f.parse(&text, chrono_tz::UTC, now);
                }
            }
        }
    }
}
