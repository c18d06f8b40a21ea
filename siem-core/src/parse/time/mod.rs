//! Time helpers shared by the parsers: month names, fast fixed-format timestamp readers,
//! applying a time zone to wall-clock times, and giving yearless timestamps a year.
//!
//! Everything here works on bytes, allocates nothing and never panics on any input: the readers
//! return `None` (or a shorter match) on anything they do not understand.
//!
//! # Conventions
//!
//! - **Zones.** A timestamp that carries an offset (`Z`, `+02:00`, `+0200`) is taken as it is.
//!   One that carries none is wall-clock time in the zone the caller configures
//!   ([`ParseOptions::timezone`](super::ParseOptions::timezone)), converted with the zone's
//!   rules for that date, so daylight saving time is honoured. See [`local_to_utc`] for the two
//!   wall-clock times a DST change makes odd (the repeated hour and the skipped hour).
//! - **Yearless timestamps** (classic syslog `Mmm dd hh:mm:ss`) get the latest year that does
//!   not put them more than [`FUTURE_TOLERANCE`] (one day) after the reference time: so a
//!   December line read on January 2nd lands in the previous year, while a line a few minutes
//!   "in the future" because of clock skew between hosts keeps the current year. See
//!   [`infer_year`].
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use siem_core::parse::time::{parse_bsd_prefix, parse_iso8601_prefix};
//!
//! let now = Utc.with_ymd_and_hms(2005, 8, 14, 10, 0, 0).unwrap();
//! let (stamp, used) = parse_bsd_prefix(b"Nov  4 18:30:40 host prog: msg").unwrap();
//! assert_eq!(used, 15);
//! let utc = stamp.resolve(chrono_tz::Europe::Paris, now).unwrap();
//! // November lies in the future of August 2005, so the year is 2004; CET is UTC+1.
//! assert_eq!(utc, Utc.with_ymd_and_hms(2004, 11, 4, 17, 30, 40).unwrap());
//!
//! let (iso, used) = parse_iso8601_prefix(b"2003-08-24T05:14:15.000003-07:00 host").unwrap();
//! assert_eq!(used, 32);
//! assert_eq!(iso.resolve(chrono_tz::UTC).unwrap().to_rfc3339(), "2003-08-24T12:14:15.000003+00:00");
//! ```

use chrono::{
    DateTime, Datelike, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeDelta, TimeZone, Utc,
};
use chrono_tz::Tz;

mod formats;
pub(crate) use formats::*;

/// How far after the reference time a yearless timestamp may lie and still keep the
/// reference's year: one day, to absorb clock skew between the logging host and the reader
/// (and time zones that run ahead of UTC).
pub const FUTURE_TOLERANCE: TimeDelta = TimeDelta::days(1);

/// English three-letter month abbreviations, January first.
pub const MONTH_ABBREVIATIONS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The month number (1-12) of an English three-letter month abbreviation, in any case
/// (`Mar`, `MAR`, `mar`).
///
/// ```
/// assert_eq!(siem_core::parse::time::month_from_abbrev(b"AUG"), Some(8));
/// assert_eq!(siem_core::parse::time::month_from_abbrev(b"Foo"), None);
/// ```
#[inline]
pub fn month_from_abbrev(name: &[u8]) -> Option<u32> {
    let [a, b, c] = name else { return None };
    // Lower-case ASCII letters by setting bit 0x20; non-letters cannot match anything below.
    let key = [a | 0x20, b | 0x20, c | 0x20];
    Some(match &key {
        b"jan" => 1,
        b"feb" => 2,
        b"mar" => 3,
        b"apr" => 4,
        b"may" => 5,
        b"jun" => 6,
        b"jul" => 7,
        b"aug" => 8,
        b"sep" => 9,
        b"oct" => 10,
        b"nov" => 11,
        b"dec" => 12,
        _ => return None,
    })
}

/// Converts a wall-clock time in `tz` to UTC, following the zone's rules (DST included).
///
/// Wall-clock times that a DST change makes odd are resolved the way most log tools do:
/// a time in the repeated hour (autumn) is taken as its **first** occurrence, and a time in
/// the skipped hour (spring) is moved forward by the length of the gap (so `02:30` on the
/// night clocks jump from 02:00 to 03:00 becomes `03:30` local). Returns `None` only for
/// dates outside chrono's range.
///
/// ```
/// use chrono::{NaiveDate, TimeZone, Utc};
/// use siem_core::parse::time::local_to_utc;
/// let paris = chrono_tz::Europe::Paris;
/// let summer = NaiveDate::from_ymd_opt(2024, 7, 1).unwrap().and_hms_opt(12, 0, 0).unwrap();
/// assert_eq!(local_to_utc(summer, paris), Some(Utc.with_ymd_and_hms(2024, 7, 1, 10, 0, 0).unwrap()));
/// // 02:30 does not exist on 2024-03-31 in Paris: it is read as 03:30 CEST.
/// let gap = NaiveDate::from_ymd_opt(2024, 3, 31).unwrap().and_hms_opt(2, 30, 0).unwrap();
/// assert_eq!(local_to_utc(gap, paris), Some(Utc.with_ymd_and_hms(2024, 3, 31, 1, 30, 0).unwrap()));
/// ```
pub fn local_to_utc(naive: NaiveDateTime, tz: Tz) -> Option<DateTime<Utc>> {
    if tz == chrono_tz::UTC {
        return Some(naive.and_utc());
    }
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
        LocalResult::None => {
            // In a gap: the offset just before the gap applies to the skipped wall-clock time,
            // which is the same as moving it forward by the gap's length.
            let before = naive.checked_sub_signed(TimeDelta::days(1))?;
            let offset = match tz.from_local_datetime(&before) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.offset().fix(),
                LocalResult::None => return None,
            };
            let utc = naive
                .checked_sub_signed(TimeDelta::seconds(i64::from(offset.local_minus_utc())))?;
            Some(utc.and_utc())
        }
    }
}

/// Gives a yearless wall-clock time (`month`, `day`, `time` in zone `tz`) the latest year in
/// which it lies no more than [`FUTURE_TOLERANCE`] after `now`, and returns it in UTC.
///
/// The year tried first is `now`'s (or the next one in early January, for zones ahead of UTC),
/// then earlier ones; February 29th walks back to the last leap year. `None` when the date
/// cannot exist (April 31st) or lies outside chrono's range.
///
/// ```
/// use chrono::{NaiveTime, TimeZone, Utc};
/// use siem_core::parse::time::infer_year;
/// let now = Utc.with_ymd_and_hms(2024, 1, 2, 0, 0, 0).unwrap();
/// let t = NaiveTime::from_hms_opt(23, 59, 0).unwrap();
/// // Dec 31 read on Jan 2: last year.
/// assert_eq!(infer_year(12, 31, t, chrono_tz::UTC, now), Some(Utc.with_ymd_and_hms(2023, 12, 31, 23, 59, 0).unwrap()));
/// // Jan 2 23:59 is less than a day ahead: this year (clock skew).
/// assert_eq!(infer_year(1, 2, t, chrono_tz::UTC, now), Some(Utc.with_ymd_and_hms(2024, 1, 2, 23, 59, 0).unwrap()));
/// ```
pub fn infer_year(
    month: u32,
    day: u32,
    time: NaiveTime,
    tz: Tz,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    if tz == chrono_tz::UTC {
        return infer_year_utc(month, day, time, now);
    }
    infer_year_search(month, day, time, tz, now)
}

/// The year search itself: the latest year from [`first_year`] down whose candidate is not
/// past the limit. [`infer_year`] for every zone, and the reference of its UTC fast path.
fn infer_year_search(
    month: u32,
    day: u32,
    time: NaiveTime,
    tz: Tz,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let limit = now.checked_add_signed(FUTURE_TOLERANCE)?;
    let first = first_year(month, now.year(), now.month() == 12);
    // Eight years back reaches a leap year from anywhere (1900 and 2100 are not leap years).
    for year in (first - 8..=first).rev() {
        let Some(date) = NaiveDate::from_ymd_opt(year, month, day) else {
            continue;
        };
        let candidate = local_to_utc(date.and_time(time), tz)?;
        if candidate <= limit {
            return Some(candidate);
        }
    }
    None
}

/// The year tried first: `now`'s, or the next one for January dates read in December (in
/// early January a zone ahead of UTC may already be in the next year).
#[inline]
fn first_year(month: u32, year_now: i32, now_in_december: bool) -> i32 {
    if month == 1 && now_in_december {
        year_now + 1
    } else {
        year_now
    }
}

/// [`infer_year_search`] in UTC, for one time of day, against a ready `limit`.
fn utc_search(
    month: u32,
    day: u32,
    time: NaiveTime,
    limit: DateTime<Utc>,
    first: i32,
) -> Option<NaiveDate> {
    (first - 8..=first)
        .rev()
        .filter_map(|year| NaiveDate::from_ymd_opt(year, month, day))
        .find(|date| date.and_time(time).and_utc() <= limit)
}

/// What [`infer_year_utc`] remembers between calls on one thread: the reference time last
/// seen (and what follows from it), and the date last resolved with the range of limits for
/// which its year holds at every time of day.
#[derive(Debug, Clone, Copy)]
struct YearCache {
    now: DateTime<Utc>,
    limit: DateTime<Utc>,
    year_now: i32,
    now_in_december: bool,
    /// `(month, day, first year tried)` of `date`; `date` holds while `lo <= limit < hi`.
    key: (u32, u32, i32),
    date: Option<NaiveDate>,
    lo: DateTime<Utc>,
    hi: Option<DateTime<Utc>>,
}

thread_local! {
    static YEAR_CACHE: std::cell::Cell<Option<YearCache>> = const { std::cell::Cell::new(None) };
}

/// [`infer_year`] in UTC, where a candidate grows with the time of day: when the earliest
/// (00:00) and the latest (23:59:60.999...) time of a date pick the same year, every time of
/// that date does, as long as the limit stays between the latest candidate of that year and
/// the earliest one of the next year in which the date exists. Consecutive lines of a log
/// share their date, so the year search (and the limit) is done once per date instead of once
/// per line. The result is the search's, exactly (a property test compares them).
fn infer_year_utc(
    month: u32,
    day: u32,
    time: NaiveTime,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    YEAR_CACHE.with(|cell| {
        let cached = cell.get();
        let mut entry = match cached {
            Some(e) if e.now == now => e,
            _ => YearCache {
                now,
                limit: now.checked_add_signed(FUTURE_TOLERANCE)?,
                year_now: now.year(),
                now_in_december: now.month() == 12,
                ..cached.unwrap_or(YearCache {
                    now,
                    limit: now,
                    year_now: 0,
                    now_in_december: false,
                    key: (0, 0, 0),
                    date: None,
                    lo: now,
                    hi: None,
                })
            },
        };
        let first = first_year(month, entry.year_now, entry.now_in_december);
        let limit = entry.limit;
        if let Some(date) = entry.date
            && entry.key == (month, day, first)
            && entry.lo <= limit
            && entry.hi.is_none_or(|hi| limit < hi)
        {
            if cached.is_none_or(|c| c.now != now) {
                cell.set(Some(entry));
            }
            return Some(date.and_time(time).and_utc());
        }
        const LATEST: NaiveTime = match NaiveTime::from_hms_nano_opt(23, 59, 59, 1_999_999_999) {
            Some(t) => t,
            None => NaiveTime::MIN,
        };
        let earliest = utc_search(month, day, NaiveTime::MIN, limit, first);
        let latest = utc_search(month, day, LATEST, limit, first);
        entry.date = None;
        if let (Some(date), Some(other)) = (earliest, latest)
            && date == other
        {
            entry.key = (month, day, first);
            entry.date = Some(date);
            entry.lo = date.and_time(LATEST).and_utc();
            entry.hi = (date.year() + 1..=first)
                .find_map(|year| NaiveDate::from_ymd_opt(year, month, day))
                .map(|next| next.and_time(NaiveTime::MIN).and_utc());
        }
        cell.set(Some(entry));
        match entry.date {
            Some(date) => Some(date.and_time(time).and_utc()),
            None => utc_search(month, day, time, limit, first).map(|d| d.and_time(time).and_utc()),
        }
    })
}

/// A timestamp read from a classic syslog header (`Mmm dd hh:mm:ss` and its variants); the
/// year is usually absent. Turn it into a UTC time with [`BsdStamp::resolve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BsdStamp {
    /// Month, 1-12.
    pub month: u32,
    /// Day of the month, 1-31 (not checked against the month).
    pub day: u32,
    /// The year, when the line carried one (`Mar  7 2008 19:06:53`).
    pub year: Option<i32>,
    /// Wall-clock time of day, with fractional seconds when present.
    pub time: NaiveTime,
}

impl BsdStamp {
    /// The UTC time: the stamp is wall-clock time in `tz`; without a year, [`infer_year`]
    /// picks one against `now`.
    pub fn resolve(&self, tz: Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self.year {
            Some(year) => local_to_utc(
                NaiveDate::from_ymd_opt(year, self.month, self.day)?.and_time(self.time),
                tz,
            ),
            None => infer_year(self.month, self.day, self.time, tz, now),
        }
    }
}

/// Reads a classic syslog timestamp at the start of `b` and returns it with the number of
/// bytes used.
///
/// Accepted: `Mmm dd hh:mm:ss` with the month in any case, the day space-padded, zero-padded or
/// unpadded (`Mar  7`, `Mar 07`, `Mar 7`), an optional year before the time
/// (`Mar  7 2008 19:06:53`, Cisco / macOS style), optional fractional seconds (`.123456`,
/// journald's `short-precise`), and an optional colon right after it (`19:06:53:`), which some
/// senders add and which is consumed. The stamp must end at the end of input or before a
/// space, otherwise `None`.
pub fn parse_bsd_prefix(b: &[u8]) -> Option<(BsdStamp, usize)> {
    let month = month_from_abbrev(b.get(..3)?)?;
    let mut pos = 3;
    // One or two spaces, then a 1-2 digit day.
    if b.get(pos) != Some(&b' ') {
        return None;
    }
    pos += 1;
    if b.get(pos) == Some(&b' ') {
        pos += 1;
    }
    let (day, used) = digits(b.get(pos..)?, 1, 2)?;
    pos += used;
    if b.get(pos) != Some(&b' ') {
        return None;
    }
    pos += 1;
    // Optional year before the time: four digits and a space.
    let mut year = None;
    if let Some(rest) = b.get(pos..)
        && rest.len() > 5
        && rest[4] == b' '
        && let Some((y, 4)) = digits(rest, 4, 4)
    {
        year = Some(y as i32);
        pos += 5;
    }
    let (time, used) = parse_hms(b.get(pos..)?)?;
    pos += used;
    if b.get(pos) == Some(&b':') {
        pos += 1;
    }
    match b.get(pos) {
        None | Some(b' ') => {}
        Some(_) => return None,
    }
    if !(1..=31).contains(&day) {
        return None;
    }
    Some((
        BsdStamp {
            month,
            day,
            year,
            time,
        },
        pos,
    ))
}

/// A timestamp read by [`parse_iso8601_prefix`]: wall-clock date and time plus the offset the
/// text gave, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IsoStamp {
    /// Date and time as written.
    pub naive: NaiveDateTime,
    /// The offset written after the time (`Z` is `+00:00`); `None` when there was none.
    pub offset: Option<FixedOffset>,
}

impl IsoStamp {
    /// The UTC time: the written offset when there is one, else wall-clock time in `tz`.
    pub fn resolve(&self, tz: Tz) -> Option<DateTime<Utc>> {
        match self.offset {
            Some(offset) => {
                let utc = self
                    .naive
                    .checked_sub_signed(TimeDelta::seconds(i64::from(offset.local_minus_utc())))?;
                Some(utc.and_utc())
            }
            None => local_to_utc(self.naive, tz),
        }
    }
}

/// Reads an RFC 3339 / ISO 8601 timestamp at the start of `b` and returns it with the number of
/// bytes used: `YYYY-MM-DDThh:mm:ss`, optional fractional seconds of any length (digits past
/// nanoseconds are read and dropped), then an optional zone: `Z`, `z`, `±hh:mm`, `±hhmm` or
/// `±hh`. A lower-case `t` is accepted as the separator; a space is not (that form is too
/// common in application logs that are not syslog).
pub fn parse_iso8601_prefix(b: &[u8]) -> Option<(IsoStamp, usize)> {
    let (year, _) = digits(b.get(0..4)?, 4, 4)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let (month, _) = digits(b.get(5..7)?, 2, 2)?;
    let (day, _) = digits(b.get(8..10)?, 2, 2)?;
    if !matches!(b.get(10), Some(b'T' | b't')) {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(year as i32, month, day)?;
    let (time, used) = parse_hms(b.get(11..)?)?;
    let mut pos = 11 + used;
    let offset = match b.get(pos) {
        Some(b'Z' | b'z') => {
            pos += 1;
            Some(FixedOffset::east_opt(0)?)
        }
        Some(&sign @ (b'+' | b'-')) => {
            let rest = b.get(pos + 1..)?;
            let (hours, _) = digits(rest.get(0..2)?, 2, 2)?;
            let (minutes, used) = match rest.get(2) {
                Some(b':') => (digits(rest.get(3..5)?, 2, 2)?.0, 5),
                Some(c) if c.is_ascii_digit() => (digits(rest.get(2..4)?, 2, 2)?.0, 4),
                _ => (0, 2),
            };
            if hours > 23 || minutes > 59 {
                return None;
            }
            let seconds = (hours * 3600 + minutes * 60) as i32;
            pos += 1 + used;
            Some(FixedOffset::east_opt(if sign == b'-' {
                -seconds
            } else {
                seconds
            })?)
        }
        _ => None,
    };
    Some((
        IsoStamp {
            naive: date.and_time(time),
            offset,
        },
        pos,
    ))
}

/// Reads journald's `short-full` timestamp at the start of `b`: `Thu 2015-04-16 18:02:50 UTC`
/// (weekday, date, time with optional fraction, zone). The zone is `UTC` / `GMT` / `Z` or a
/// numeric offset (`+0200`); any other abbreviation (`CEST`, `EST`, which are ambiguous) gives
/// no offset, so the caller's zone applies. Returns the stamp and the bytes used.
pub fn parse_journal_full_prefix(b: &[u8]) -> Option<(IsoStamp, usize)> {
    const WEEKDAYS: [&[u8]; 7] = [b"mon", b"tue", b"wed", b"thu", b"fri", b"sat", b"sun"];
    let day = b.get(..3)?;
    if !WEEKDAYS.iter().any(|w| day.eq_ignore_ascii_case(w)) || b.get(3) != Some(&b' ') {
        return None;
    }
    let (year, _) = digits(b.get(4..8)?, 4, 4)?;
    if b.get(8) != Some(&b'-') || b.get(11) != Some(&b'-') || b.get(14) != Some(&b' ') {
        return None;
    }
    let (month, _) = digits(b.get(9..11)?, 2, 2)?;
    let (mday, _) = digits(b.get(12..14)?, 2, 2)?;
    let date = NaiveDate::from_ymd_opt(year as i32, month, mday)?;
    let (time, used) = parse_hms(b.get(15..)?)?;
    let mut pos = 15 + used;
    if b.get(pos) != Some(&b' ') {
        return None;
    }
    pos += 1;
    let zone_len = b
        .get(pos..)?
        .iter()
        .position(|&c| c == b' ')
        .unwrap_or(b.len() - pos);
    let zone = b.get(pos..pos + zone_len)?;
    if zone.is_empty() || zone.len() > 6 {
        return None;
    }
    let offset =
        if zone.eq_ignore_ascii_case(b"UTC") || zone.eq_ignore_ascii_case(b"GMT") || zone == b"Z" {
            Some(FixedOffset::east_opt(0)?)
        } else if let [sign @ (b'+' | b'-'), rest @ ..] = zone {
            let (hhmm, n) = digits(rest, 4, 4)?;
            if n != 4 || rest.len() != 4 || hhmm / 100 > 23 || hhmm % 100 > 59 {
                return None;
            }
            let seconds = ((hhmm / 100) * 3600 + (hhmm % 100) * 60) as i32;
            Some(FixedOffset::east_opt(if *sign == b'-' {
                -seconds
            } else {
                seconds
            })?)
        } else if zone.iter().all(u8::is_ascii_alphabetic) {
            None
        } else {
            return None;
        };
    Some((
        IsoStamp {
            naive: date.and_time(time),
            offset,
        },
        pos + zone_len,
    ))
}

/// `hh:mm:ss` with optional `.fraction` (any number of digits; nanosecond precision kept).
/// Also accepts a one-digit hour (`8:24:09`), which some BSD-style senders write.
fn parse_hms(b: &[u8]) -> Option<(NaiveTime, usize)> {
    let (hour, used) = digits(b, 1, 2)?;
    let mut pos = used;
    if b.get(pos) != Some(&b':') {
        return None;
    }
    let (minute, _) = digits(b.get(pos + 1..pos + 3)?, 2, 2)?;
    pos += 3;
    if b.get(pos) != Some(&b':') {
        return None;
    }
    let (second, _) = digits(b.get(pos + 1..pos + 3)?, 2, 2)?;
    pos += 3;
    let mut nanos = 0u32;
    if matches!(b.get(pos), Some(b'.' | b',')) && b.get(pos + 1).is_some_and(u8::is_ascii_digit) {
        pos += 1;
        let mut scale = 100_000_000u32;
        while let Some(&d) = b.get(pos) {
            if !d.is_ascii_digit() {
                break;
            }
            nanos += u32::from(d - b'0') * scale;
            scale /= 10;
            pos += 1;
        }
    }
    // A leap second (":60") is folded into the last nanosecond of the minute's 59th second, the
    // way chrono represents it.
    let time = if second == 60 {
        NaiveTime::from_hms_nano_opt(hour, minute, 59, 1_000_000_000 + nanos.min(999_999_999))?
    } else {
        NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?
    };
    Some((time, pos))
}

/// Reads between `min` and `max` ASCII digits at the start of `b`; returns the value and the
/// number of digits read.
#[inline]
pub(crate) fn digits(b: &[u8], min: usize, max: usize) -> Option<(u32, usize)> {
    let mut value = 0u32;
    let mut n = 0;
    while n < max {
        match b.get(n) {
            Some(&d) if d.is_ascii_digit() => {
                value = value * 10 + u32::from(d - b'0');
                n += 1;
            }
            _ => break,
        }
    }
    (n >= min).then_some((value, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kiritimati moved from UTC-10 to UTC+14 by skipping 1994-12-31 entirely: a time on that
    /// day is moved forward by the gap, like any time in a daylight-saving gap (found by the
    /// year-inference property test).
    #[test]
    fn a_day_skipped_by_a_zone_moves_forward_by_the_gap() {
        let now = Utc.timestamp_opt(788_817_120, 0).unwrap(); // 1994-12-30T20:32:00Z
        let midnight = NaiveTime::from_hms_opt(0, 0, 0).unwrap();
        let found = infer_year(12, 31, midnight, chrono_tz::Pacific::Kiritimati, now).unwrap();
        assert_eq!(found.to_rfc3339(), "1994-12-31T10:00:00+00:00");
        let local = found.with_timezone(&chrono_tz::Pacific::Kiritimati);
        assert_eq!((local.year(), local.month(), local.day()), (1995, 1, 1));
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    #[test]
    fn bsd_variants() {
        // input, bytes used, month, day, year
        type Case<'a> = (&'a [u8], usize, u32, u32, Option<i32>);
        let cases: &[Case] = &[
            (b"Mar  7 19:06:53 x", 15, 3, 7, None),
            (b"Mar 7 19:06:53 x", 14, 3, 7, None),
            (b"Mar 07 19:06:53", 15, 3, 7, None),
            (b"Mar 7 2008 19:06:53: example", 20, 3, 7, Some(2008)),
            (b"Mar 7 19:06:53: example", 15, 3, 7, None),
            (b"AUG 10 22:18:24 host", 15, 8, 10, None),
            (b"Dec 10 06:55:46.123456 h", 22, 12, 10, None),
        ];
        for (input, used, month, day, year) in cases {
            let (stamp, n) = parse_bsd_prefix(input)
                .unwrap_or_else(|| panic!("{}", String::from_utf8_lossy(input)));
            assert_eq!(
                (n, stamp.month, stamp.day, stamp.year),
                (*used, *month, *day, *year)
            );
        }
        let (stamp, _) = parse_bsd_prefix(b"Dec 10 06:55:46.123456 h").unwrap();
        assert_eq!(
            stamp.time,
            NaiveTime::from_hms_micro_opt(6, 55, 46, 123456).unwrap()
        );
        for bad in [
            &b"Mar  7 19:06"[..],
            b"Mar 32 19:06:53",
            b"Foo  7 19:06:53",
            b"Mar  719:06:53",
            b"Mar  7 19:06:53x",
            b"Ma",
        ] {
            assert!(
                parse_bsd_prefix(bad).is_none(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn iso_variants() {
        let cases: &[(&[u8], usize, &str)] = &[
            (
                b"2003-10-11T22:14:15.003Z x",
                24,
                "2003-10-11T22:14:15.003+00:00",
            ),
            (
                b"2003-08-24T05:14:15.000003-07:00",
                32,
                "2003-08-24T12:14:15.000003+00:00",
            ),
            (
                b"2016-11-20T00:04:00.110+0100 [conn1]",
                28,
                "2016-11-19T23:04:00.110+00:00",
            ),
            (
                b"2015-04-16T18:02:50.321974+00:00 host",
                32,
                "2015-04-16T18:02:50.321974+00:00",
            ),
            (b"2010-08-30T23:00:05Z", 20, "2010-08-30T23:00:05+00:00"),
            (
                b"2025-03-04T01:06:36.645577 ip",
                26,
                "2025-03-04T01:06:36.645577+00:00",
            ),
            (
                b"2024-01-01T00:00:00.123456789123+01",
                35,
                "2023-12-31T23:00:00.123456789+00:00",
            ),
        ];
        for (input, used, expect) in cases {
            let (stamp, n) = parse_iso8601_prefix(input).unwrap();
            assert_eq!(n, *used, "{}", String::from_utf8_lossy(input));
            assert_eq!(stamp.resolve(chrono_tz::UTC).unwrap().to_rfc3339(), *expect);
        }
        for bad in [
            &b"2003-10-11 22:14:15"[..],
            b"2003-13-11T22:14:15Z",
            b"2003-10-11T25:14:15Z",
            b"2003-1",
        ] {
            assert!(
                parse_iso8601_prefix(bad).is_none(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn journal_short_full() {
        let (stamp, used) =
            parse_journal_full_prefix(b"Thu 2015-04-16 18:02:50 UTC host sshd[1]: x").unwrap();
        assert_eq!(used, 27);
        assert_eq!(
            stamp.resolve(chrono_tz::Europe::Paris),
            Some(utc(2015, 4, 16, 18, 2, 50))
        );
        let (stamp, _) = parse_journal_full_prefix(b"Thu 2015-04-16 18:02:50.5 CEST host").unwrap();
        assert_eq!(stamp.offset, None);
        assert_eq!(
            stamp.resolve(chrono_tz::Europe::Paris),
            Some(utc(2015, 4, 16, 16, 2, 50) + TimeDelta::milliseconds(500))
        );
        let (stamp, _) = parse_journal_full_prefix(b"thu 2015-04-16 18:02:50 -0130 host").unwrap();
        assert_eq!(
            stamp.resolve(chrono_tz::UTC),
            Some(utc(2015, 4, 16, 19, 32, 50))
        );
        for bad in [
            &b"Thx 2015-04-16 18:02:50 UTC"[..],
            b"Thu 2015-04-16T18:02:50 UTC",
            b"Thu 2015-04-16 18:02:50 +99",
            b"Thu 2015-04-16 18:02:50",
        ] {
            assert!(
                parse_journal_full_prefix(bad).is_none(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn year_inference_against_fail2ban_clock() {
        // fail2ban's test clock: 2005-08-14 12:00 CEST.
        let now = utc(2005, 8, 14, 10, 0, 0);
        let paris = chrono_tz::Europe::Paris;
        let stamp = |m, d, h, mi, s| BsdStamp {
            month: m,
            day: d,
            year: None,
            time: NaiveTime::from_hms_opt(h, mi, s).unwrap(),
        };
        assert_eq!(
            stamp(11, 4, 18, 30, 40).resolve(paris, now),
            Some(utc(2004, 11, 4, 17, 30, 40))
        );
        assert_eq!(
            stamp(8, 14, 12, 51, 4).resolve(paris, now),
            Some(utc(2005, 8, 14, 10, 51, 4))
        );
        assert_eq!(
            stamp(8, 16, 0, 0, 0).resolve(paris, now),
            Some(utc(2004, 8, 15, 22, 0, 0))
        );
        assert_eq!(
            stamp(2, 29, 0, 0, 0).resolve(chrono_tz::UTC, now),
            Some(utc(2004, 2, 29, 0, 0, 0))
        );
        assert_eq!(stamp(4, 31, 0, 0, 0).resolve(chrono_tz::UTC, now), None);
    }

    #[test]
    fn new_year_in_a_zone_ahead_of_utc() {
        // 23:30 UTC on Dec 31 is already Jan 1 in Tokyo.
        let now = utc(2023, 12, 31, 23, 30, 0);
        let t = NaiveTime::from_hms_opt(8, 20, 0).unwrap();
        assert_eq!(
            infer_year(1, 1, t, chrono_tz::Asia::Tokyo, now),
            Some(utc(2023, 12, 31, 23, 20, 0))
        );
    }

    #[test]
    fn dst_repeated_hour_takes_the_first() {
        let t = NaiveDate::from_ymd_opt(2024, 10, 27)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert_eq!(
            local_to_utc(t, chrono_tz::Europe::Paris),
            Some(utc(2024, 10, 27, 0, 30, 0))
        );
    }

    #[test]
    fn month_names() {
        for (i, name) in MONTH_ABBREVIATIONS.iter().enumerate() {
            assert_eq!(month_from_abbrev(name.as_bytes()), Some(i as u32 + 1));
            assert_eq!(
                month_from_abbrev(name.to_uppercase().as_bytes()),
                Some(i as u32 + 1)
            );
        }
        assert_eq!(month_from_abbrev(b"J\xe1n"), None);
        assert_eq!(month_from_abbrev(b"Ja"), None);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(3000))]

            /// The hand-written BSD reader agrees with chrono's `strftime` parser on every
            /// padding style it accepts.
            #[test]
            fn bsd_matches_chrono(
                month in 1u32..=12, day in 1u32..=28, h in 0u32..24, mi in 0u32..60, s in 0u32..60,
                pad in 0usize..3, year in proptest::option::of(1970i32..2100), upper in any::<bool>(),
            ) {
                let name = MONTH_ABBREVIATIONS[month as usize - 1];
                let name = if upper { name.to_uppercase() } else { name.to_string() };
                let day_text = match pad { 0 => format!("{day:>2}"), 1 => format!("{day:02}"), _ => day.to_string() };
                let year_text = year.map(|y| format!("{y} ")).unwrap_or_default();
                let text = format!("{name} {day_text} {year_text}{h:02}:{mi:02}:{s:02} rest");
                let (stamp, used) = parse_bsd_prefix(text.as_bytes()).unwrap();
                prop_assert_eq!(&text[used..], " rest");
                let reference = NaiveDateTime::parse_from_str(
                    &format!("{} {} {}", year.unwrap_or(2000), &text[..3], &text[4..used]).replace(&format!(" {year_text}"), " "),
                    "%Y %b %e %H:%M:%S",
                ).unwrap();
                prop_assert_eq!((stamp.month, stamp.day, stamp.year, stamp.time), (reference.month(), reference.day(), year, reference.time()));
            }

            /// The hand-written RFC 3339 reader agrees with chrono's.
            #[test]
            fn iso_matches_chrono(
                seconds in 0i64..4_102_444_800, nanos in 0u32..1_000_000_000,
                offset_minutes in -14i32 * 60..=14 * 60, zulu in any::<bool>(),
            ) {
                let offset = FixedOffset::east_opt(offset_minutes * 60).unwrap();
                let t = Utc.timestamp_opt(seconds, nanos).unwrap().with_timezone(&offset);
                let text = t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, zulu);
                let (stamp, used) = parse_iso8601_prefix(text.as_bytes()).unwrap();
                prop_assert_eq!(used, text.len());
                let reference = DateTime::parse_from_rfc3339(&text).unwrap().with_timezone(&Utc);
                prop_assert_eq!(stamp.resolve(chrono_tz::UTC), Some(reference));
            }

            /// The UTC fast path of `infer_year` (a per-thread cache of the last date's year)
            /// gives what the year search gives, also when consecutive calls share a date or a
            /// reference time, and around the limit (times of day near `now`, leap seconds).
            #[test]
            fn utc_year_cache_matches_the_search(
                now_s in 0i64..4_000_000_000, now_ns in 0u32..1_000_000_000,
                calls in proptest::collection::vec(
                    (0u32..4, 1u32..=12, 1u32..=31, 0u32..86_400, 0u32..2_000_000_000, -3i64..3, -2i64..3),
                    1..12,
                ),
            ) {
                let mut now = Utc.timestamp_opt(now_s, now_ns).unwrap();
                let mut last = (1u32, 1u32);
                for (how, month, day, secs, nanos, shift_days, shift_s) in calls {
                    // Repeat the last date, take `now`'s date, or a random one.
                    let (month, day) = match how {
                        0 | 1 => last,
                        2 => (now.month(), now.day()),
                        _ => (month, day),
                    };
                    last = (month, day);
                    now = now
                        .checked_add_signed(TimeDelta::days(shift_days * (how as i64 % 2)))
                        .and_then(|n| n.checked_add_signed(TimeDelta::seconds(shift_s)))
                        .unwrap_or(now);
                    let time = NaiveTime::from_num_seconds_from_midnight_opt(secs, nanos % 1_000_000_000 + if secs % 60 == 59 { nanos / 1_000_000_000 * 1_000_000_000 } else { 0 }).unwrap();
                    prop_assert_eq!(
                        infer_year(month, day, time, chrono_tz::UTC, now),
                        infer_year_search(month, day, time, chrono_tz::UTC, now),
                        "{}-{} {} now {}", month, day, time, now
                    );
                }
            }

            /// The year picked is the latest that keeps the time within a day of `now`: the
            /// same wall-clock time a year later would be past that limit.
            #[test]
            fn inferred_year_is_the_latest_not_in_the_future(
                now_s in 0i64..4_000_000_000, month in 1u32..=12, day in 1u32..=31,
                h in 0u32..24, mi in 0u32..60, zone in 0usize..4,
            ) {
                let tz = [chrono_tz::UTC, chrono_tz::Europe::Paris, chrono_tz::America::Sao_Paulo, chrono_tz::Pacific::Kiritimati][zone];
                let now = Utc.timestamp_opt(now_s, 0).unwrap();
                let time = NaiveTime::from_hms_opt(h, mi, 0).unwrap();
                let Some(found) = infer_year(month, day, time, tz, now) else {
                    // Only impossible dates have no year.
                    prop_assert!(NaiveDate::from_ymd_opt(2024, month, day).is_none());
                    return Ok(());
                };
                prop_assert!(found <= now + FUTURE_TOLERANCE);
                let local = found.with_timezone(&tz);
                // A wall-clock time in a gap is moved forward by the gap (`local_to_utc`); a gap
                // can swallow a whole day (Kiritimati skipped 1994-12-31), so the date moves too.
                let in_gap = |year: i32| {
                    NaiveDate::from_ymd_opt(year, month, day).is_some_and(|d| {
                        matches!(tz.from_local_datetime(&d.and_time(time)), LocalResult::None)
                    })
                };
                if !in_gap(local.year()) && !in_gap(local.year() - 1) {
                    prop_assert_eq!((local.month(), local.day()), (month, day));
                }
                for later in local.year() + 1..=local.year() + 8 {
                    if let Some(date) = NaiveDate::from_ymd_opt(later, month, day) {
                        let candidate = local_to_utc(date.and_time(time), tz).unwrap();
                        prop_assert!(candidate > now + FUTURE_TOLERANCE);
                        break;
                    }
                }
            }
        }
    }
}
