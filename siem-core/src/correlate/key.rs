//! Group keys, distinct-value keys, the stable partition hash, numbers and time.

use chrono::{DateTime, TimeZone, Utc};
use compact_str::CompactString;

use crate::event::{Event, FieldHint, Value, short_eq};

/// Where a correlation reads field values: an event, or the group of an inner correlation's
/// alert (for correlations of correlations).
pub(crate) trait Fields {
    fn field(&self, name: &str) -> Option<&Value>;
}

impl Fields for Event {
    fn field(&self, name: &str) -> Option<&Value> {
        self.get(name)
    }
}

/// The `group` of an inner correlation's alert: `group-by` name → value.
pub(crate) struct GroupFields<'a>(pub &'a [(CompactString, Value)]);

impl Fields for GroupFields<'_> {
    fn field(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

/// Appends one value to a key: `~` for a missing or null value, else `<byte length>:<text>`.
///
/// Values are compared by their text ([`Value::to_text`]) so that an address parsed as
/// [`Value::Ip`] by one decoder and kept as a string by another fall into the same group. The
/// length prefix keeps the encoding of a tuple unambiguous whatever the values contain.
pub(crate) fn push_key_part(key: &mut CompactString, value: Option<&Value>) {
    match value {
        None | Some(Value::Null) => key.push('~'),
        // Addresses (`source.ip` as parsers write it) and integers are formatted on the stack:
        // `to_text` would allocate a string for each, on every detection.
        Some(Value::Ip(ip)) => {
            let mut buf = StackText::default();
            let _ = std::fmt::Write::write_fmt(&mut buf, format_args!("{ip}"));
            push_text(key, buf.as_str());
        }
        Some(Value::Int(i)) => {
            let mut buf = StackText::default();
            let _ = std::fmt::Write::write_fmt(&mut buf, format_args!("{i}"));
            push_text(key, buf.as_str());
        }
        Some(v) => push_text(key, &v.to_text()),
    }
}

/// `<length>:<text>`.
fn push_text(key: &mut CompactString, text: &str) {
    let mut digits = [0u8; 20];
    key.push_str(length_prefix(&mut digits, text.len()));
    key.push_str(text);
}

/// `<n>:`, the length prefix of a text of `n` bytes.
#[inline]
fn length_prefix(digits: &mut [u8; 20], n: usize) -> &str {
    // Group values are short (addresses, user and host names): their prefix is a slice of a
    // constant table rather than formatted.
    if n < 100 {
        let from = if n < 10 { 3 * n + 1 } else { 3 * n };
        return LENGTH_PREFIXES.get(from..3 * n + 3).unwrap_or(":");
    }
    let start = decimal_start(digits, n);
    digits[19] = b':';
    // Only ASCII digits and a colon were written.
    std::str::from_utf8(&digits[start..]).unwrap_or(":")
}

/// `00:01:02:...99:`: the length prefixes of texts shorter than 100 bytes (without the leading
/// zero below 10).
const LENGTH_PREFIXES: &str = {
    const BYTES: [u8; 300] = {
        let mut b = [0u8; 300];
        let mut n = 0;
        while n < 100 {
            b[3 * n] = b'0' + (n / 10) as u8;
            b[3 * n + 1] = b'0' + (n % 10) as u8;
            b[3 * n + 2] = b':';
            n += 1;
        }
        b
    };
    match std::str::from_utf8(&BYTES) {
        Ok(s) => s,
        Err(_) => panic!("ASCII digits"),
    }
};

/// A small text buffer on the stack for formatting an address or an integer (at most 45 bytes:
/// an IPv6 address with an embedded IPv4 one; an `i64` has at most 20). Text that does not fit
/// is an error.
pub(crate) struct StackText {
    buf: [u8; 46],
    len: u8,
}

impl Default for StackText {
    fn default() -> Self {
        StackText {
            buf: [0; 46],
            len: 0,
        }
    }
}

impl StackText {
    fn as_str(&self) -> &str {
        // Only whole `&str`s were copied in, so the bytes are UTF-8.
        std::str::from_utf8(&self.buf[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let len = usize::from(self.len);
        let end = len + s.len();
        let slot = self.buf.get_mut(len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        // end <= 46.
        self.len = end as u8;
        Ok(())
    }
}

/// Writes `n` in decimal into `buf[..19]`, right-aligned, and returns where it starts (without
/// `fmt`, which is slow on this hot path; `usize` has at most 20 digits, so values above
/// 10^19 keep their low 19: no text is that long).
fn decimal_start(buf: &mut [u8; 20], mut n: usize) -> usize {
    let mut i = 19;
    loop {
        i -= 1;
        // n % 10 < 10, so the digit is ASCII.
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    i
}

/// The key of a tuple of values (see [`push_key_part`]).
pub(crate) fn encode_key<'a>(values: impl IntoIterator<Item = Option<&'a Value>>) -> CompactString {
    let mut key = CompactString::default();
    for v in values {
        push_key_part(&mut key, v);
    }
    key
}

/// The text one group value contributes to a key (what [`push_key_part`] writes after the
/// length prefix): borrowed from the event for strings, formatted on the stack for addresses
/// and integers.
pub(crate) enum Part<'a> {
    Borrowed(&'a str),
    Stack(StackText),
    Owned(String),
}

impl<'a> Part<'a> {
    /// The text of a present value; `None` for `null`.
    #[inline(always)]
    fn of(value: &'a Value) -> Option<Part<'a>> {
        match value {
            // Strings (most group values) borrowed in place; the rest out of line.
            Value::Str(s) => Some(Part::Borrowed(s.as_str())),
            v => Part::of_other(v),
        }
    }

    /// [`Part::of`] of a value other than a string.
    #[inline(never)]
    fn of_other(value: &'a Value) -> Option<Part<'a>> {
        Some(match value {
            Value::Null => return None,
            Value::Str(s) => Part::Borrowed(s.as_str()),
            // Dotted decimal by hand: `fmt` costs more than the rest of a lookup.
            Value::Ip(std::net::IpAddr::V4(ip)) => {
                let mut buf = StackText::default();
                let mut n = 0;
                for (k, octet) in ip.octets().into_iter().enumerate() {
                    if k > 0 {
                        buf.buf[n] = b'.';
                        n += 1;
                    }
                    if octet >= 100 {
                        buf.buf[n] = b'0' + octet / 100;
                        n += 1;
                    }
                    if octet >= 10 {
                        buf.buf[n] = b'0' + octet / 10 % 10;
                        n += 1;
                    }
                    buf.buf[n] = b'0' + octet % 10;
                    n += 1;
                }
                // At most 15 bytes.
                buf.len = n as u8;
                Part::Stack(buf)
            }
            Value::Ip(ip) => {
                let mut buf = StackText::default();
                let _ = std::fmt::Write::write_fmt(&mut buf, format_args!("{ip}"));
                Part::Stack(buf)
            }
            Value::Int(i) => {
                let mut buf = StackText::default();
                let _ = std::fmt::Write::write_fmt(&mut buf, format_args!("{i}"));
                Part::Stack(buf)
            }
            v => match v.to_text() {
                std::borrow::Cow::Borrowed(s) => Part::Borrowed(s),
                std::borrow::Cow::Owned(s) => Part::Owned(s),
            },
        })
    }

    #[inline]
    fn as_str(&self) -> &str {
        match self {
            Part::Borrowed(s) => s,
            Part::Stack(b) => b.as_str(),
            Part::Owned(s) => s,
        }
    }
}

/// A group key before it is encoded: the texts of its values, read from the event in place.
///
/// A lookup needs only the key's hash ([`GroupKey::hash`], over the texts) and a comparison
/// with the encoded keys of the candidate slots ([`GroupKey::matches`]); the encoded key
/// ([`GroupKey::encode`], the text [`encode_key`] would build) is made only when a group is
/// created. [`group_hash`] of an encoded key equals [`GroupKey::hash`] of its values, so keys
/// from snapshots and chains hash alike.
pub(crate) struct GroupKey<'a> {
    /// The first value (most rules group by one field), unless the key has none.
    first: Option<Part<'a>>,
    /// The others.
    more: Vec<Part<'a>>,
}

impl<'a> GroupKey<'a> {
    /// The key of `values` (one per `group-by` field, in order); `None` if one is missing or
    /// `null` (the detection belongs to no group).
    #[inline]
    pub fn read(fields: &[CompactString], source: &'a dyn Fields) -> Option<GroupKey<'a>> {
        if let [field] = fields {
            // One group-by field (nearly every rule): no iterator, no vector.
            return Some(GroupKey {
                first: Some(Part::of(source.field(field)?)?),
                more: Vec::new(),
            });
        }
        GroupKey::of(fields.iter().map(|f| source.field(f)))
    }

    /// [`GroupKey::read`] of an event, each field looked up through its hint (`hints`, one per
    /// field, see [`Event::get_hinted`]).
    #[inline(always)]
    pub fn read_hinted(
        fields: &[CompactString],
        event: &'a Event,
        hints: &mut [FieldHint],
    ) -> Option<GroupKey<'a>> {
        if let ([field], [hint]) = (fields, &mut *hints) {
            return Some(GroupKey {
                first: Some(Part::of(event.get_hinted(field, hint)?)?),
                more: Vec::new(),
            });
        }
        GroupKey::read_hinted_more(fields, event, hints)
    }

    /// [`GroupKey::read_hinted`] of more than one field (or none).
    #[inline(never)]
    fn read_hinted_more(
        fields: &[CompactString],
        event: &'a Event,
        hints: &mut [FieldHint],
    ) -> Option<GroupKey<'a>> {
        GroupKey::of(
            fields
                .iter()
                .zip(hints.iter_mut())
                .map(|(f, h)| event.get_hinted(f, h)),
        )
    }

    /// The key of `values` (in order); `None` if one is missing or `null`.
    pub fn of(values: impl IntoIterator<Item = Option<&'a Value>>) -> Option<GroupKey<'a>> {
        let mut values = values.into_iter();
        let first = match values.next() {
            Some(v) => Some(Part::of(v?)?),
            None => None,
        };
        let mut more = Vec::new();
        for v in values {
            more.push(Part::of(v?)?);
        }
        Some(GroupKey { first, more })
    }

    /// The texts of the values, in order.
    #[inline]
    pub fn parts(&self) -> impl Iterator<Item = &str> {
        self.first.iter().chain(&self.more).map(Part::as_str)
    }

    /// The hash of the group in this process (equal to [`group_hash`] of [`GroupKey::encode`]).
    #[inline(always)]
    pub fn hash(&self) -> u64 {
        match (&self.first, self.more.is_empty()) {
            (Some(part), true) => {
                use std::hash::BuildHasher;
                // What `hash_parts` computes for one part.
                GROUP_HASHER.hash_one(part.as_str())
            }
            _ => self.hash_more(),
        }
    }

    /// [`GroupKey::hash`] of a key of several values (or none).
    #[inline(never)]
    fn hash_more(&self) -> u64 {
        hash_parts(self.parts().map(Some))
    }

    /// Whether `encoded` is this key's encoding (as [`GroupKey::encode`] would write it).
    #[inline]
    pub fn matches(&self, encoded: &str) -> bool {
        if let (Some(part), true) = (&self.first, self.more.is_empty()) {
            let text = part.as_str().as_bytes();
            let mut digits = [0u8; 20];
            let prefix = length_prefix(&mut digits, text.len()).as_bytes();
            let encoded = encoded.as_bytes();
            return encoded.len() == prefix.len() + text.len()
                && encoded.iter().zip(prefix).all(|(a, b)| a == b)
                && short_eq(&encoded[prefix.len()..], text);
        }
        let mut rest = encoded.as_bytes();
        for text in self.parts() {
            let mut digits = [0u8; 20];
            let prefix = length_prefix(&mut digits, text.len()).as_bytes();
            let n = prefix.len() + text.len();
            let Some((head, after)) = rest.split_at_checked(n) else {
                return false;
            };
            // The prefix is a few bytes: compared in a loop rather than by a call.
            if !head.iter().zip(prefix).all(|(a, b)| a == b)
                || !short_eq(&head[prefix.len()..], text.as_bytes())
            {
                return false;
            }
            rest = after;
        }
        rest.is_empty()
    }

    /// The encoded key (what [`encode_key`] writes for the same values).
    pub fn encode(&self) -> CompactString {
        let mut key = CompactString::default();
        for text in self.parts() {
            push_text(&mut key, text);
        }
        key
    }

    /// [`stable_hash`] of the encoded key, without encoding it.
    pub fn stable_hash(&self) -> u64 {
        let mut h = Fnv::default();
        for text in self.parts() {
            let mut digits = [0u8; 20];
            h.write(length_prefix(&mut digits, text.len()).as_bytes());
            h.write(text.as_bytes());
        }
        h.finish()
    }
}

/// The hash of a group key in this process (randomly seeded once per process, so keys an
/// attacker chooses cannot be aimed at one bucket; snapshots store keys, not hashes): over the
/// texts of the key's values, so that it can be computed from an event without encoding the
/// key ([`GroupKey::hash`]) as well as from an encoded key.
pub(crate) fn group_hash(key: &str) -> u64 {
    match decode(key) {
        Some(parts) => hash_parts(parts.into_iter()),
        // Not an encoding (a tampered snapshot): never equal to a key built from values.
        None => {
            use std::hash::BuildHasher;
            GROUP_HASHER.hash_one((0xfe_u8, key))
        }
    }
}

#[inline]
fn hash_parts<'t>(parts: impl Iterator<Item = Option<&'t str>>) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut h = GROUP_HASHER.build_hasher();
    for part in parts {
        match part {
            Some(text) => text.hash(&mut h),
            None => h.write_u8(b'~'),
        }
    }
    h.finish()
}

/// The values of an encoded key (`None` for a missing one), or `None` if `key` is not an
/// encoding.
fn decode(key: &str) -> Option<Vec<Option<&str>>> {
    let mut parts = Vec::new();
    let mut rest = key;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('~') {
            parts.push(None);
            rest = after;
            continue;
        }
        let (len, after) = rest.split_once(':')?;
        if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let len: usize = len.parse().ok()?;
        // The prefix must be the canonical one (no leading zeros) for the key to round-trip.
        let mut digits = [0u8; 20];
        if length_prefix(&mut digits, len).len() != rest.len() - after.len() {
            return None;
        }
        parts.push(Some(after.get(..len)?));
        rest = after.get(len..)?;
    }
    Some(parts)
}

static GROUP_HASHER: std::sync::LazyLock<foldhash::fast::FixedState> =
    std::sync::LazyLock::new(|| {
        use std::hash::BuildHasher;
        foldhash::fast::FixedState::with_seed(
            foldhash::fast::RandomState::default().hash_one(0x5ee3_u64),
        )
    });

/// FNV-1a, the byte loop of [`stable_hash`], fed in pieces.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// MurmurHash3's `fmix64`.
    #[inline]
    fn finish(self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// The stable 64-bit hash that assigns a group to a partition: FNV-1a over the UTF-8 bytes of
/// the encoded group key, finished with MurmurHash3's `fmix64` so that the low bits are well
/// mixed. It depends only on the group's values (not on the rule or the field names), so a chain
/// of correlations grouped by the same values lives in one partition. Stable across processes,
/// versions and platforms: another language can route detections with the same function.
///
/// ```
/// // The key of a single-field group is `<length>:<text>`.
/// assert_eq!(siem_core::correlate::stable_hash("11:203.0.113.7") % 4, siem_core::correlate::stable_hash("11:203.0.113.7") % 4);
/// ```
pub fn stable_hash(key: &str) -> u64 {
    let mut h = Fnv::default();
    h.write(key.as_bytes());
    h.finish()
}

/// A number read from a field, for `value_sum`, `value_avg` and `value_percentile`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub(crate) enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    /// Integers and finite floats, and strings holding one (logs often carry numbers as text).
    /// Anything else (booleans, lists, non-numeric text, NaN, infinities) is not a number.
    pub(crate) fn from_value(value: &Value) -> Option<Num> {
        match value {
            Value::Int(i) => Some(Num::Int(*i)),
            Value::Float(f) if f.is_finite() => Some(Num::Float(*f)),
            Value::Str(s) => {
                let t = s.trim();
                if let Ok(i) = t.parse::<i64>() {
                    Some(Num::Int(i))
                } else {
                    t.parse::<f64>()
                        .ok()
                        .filter(|f| f.is_finite())
                        .map(Num::Float)
                }
            }
            _ => None,
        }
    }

    pub(crate) fn as_f64(self) -> f64 {
        match self {
            // Precision loss above 2^53 is inherent in comparing with f64 thresholds.
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }

    pub(crate) fn to_value(self) -> Value {
        match self {
            Num::Int(i) => Value::Int(i),
            Num::Float(f) => Value::Float(f),
        }
    }
}

/// The sum of numbers in order: exact (`i128`) while every number is an integer and the result
/// fits `i64`, else a float summed oldest to newest.
pub(crate) fn sum(values: impl Iterator<Item = Num> + Clone) -> Num {
    let mut exact: i128 = 0;
    let mut all_int = true;
    for v in values.clone() {
        match v {
            Num::Int(i) => exact += i128::from(i),
            Num::Float(_) => {
                all_int = false;
                break;
            }
        }
    }
    if all_int && let Ok(i) = i64::try_from(exact) {
        return Num::Int(i);
    }
    Num::Float(values.fold(0.0, |acc, v| acc + v.as_f64()))
}

/// The nearest-rank percentile: the smallest value such that at least `p` percent of the values
/// are less than or equal to it (rank `ceil(p/100 * n)`, at least 1). `None` for no values.
pub(crate) fn percentile(values: impl Iterator<Item = Num>, p: f64) -> Option<Num> {
    let mut sorted: Vec<Num> = values.collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(|a, b| a.as_f64().total_cmp(&b.as_f64()));
    let n = sorted.len();
    let rank = (p / 100.0 * n as f64).ceil();
    // rank is finite and within [0, n]; clamp to a valid index.
    let idx = if rank.is_finite() && rank >= 1.0 {
        (rank as usize).min(n) - 1
    } else {
        0
    };
    sorted.get(idx).copied()
}

/// Nanoseconds since the Unix epoch, saturating outside the ±292-year range of `i64`.
pub(crate) fn to_nanos(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(if t.timestamp() < 0 {
        i64::MIN + 1
    } else {
        i64::MAX
    })
}

/// [`to_nanos`] that remembers the start of the last day it converted: the times of a stream
/// mostly fall on the same day, whose start then need not be computed again from the calendar.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NanosCache {
    /// The day and its start in nanoseconds, for a day far from the ends of the `i64` range.
    day: Option<(chrono::NaiveDate, i64)>,
}

impl NanosCache {
    /// `to_nanos(t)`.
    #[inline]
    pub fn get(&mut self, t: DateTime<Utc>) -> i64 {
        use chrono::Timelike;
        let naive = t.naive_utc();
        let date = naive.date();
        let base = match self.day {
            Some((day, base)) if day == date => base,
            _ => {
                let base = to_nanos(date.and_time(chrono::NaiveTime::MIN).and_utc());
                // About 146 years either side of 1970: any time of the day is exact in i64.
                if base.unsigned_abs() > 1 << 62 {
                    return to_nanos(t);
                }
                self.day = Some((date, base));
                base
            }
        };
        let time = naive.time();
        // `nanosecond` exceeds 10^9 in a leap second, as in `to_nanos`.
        base + i64::from(time.num_seconds_from_midnight()) * 1_000_000_000
            + i64::from(time.nanosecond())
    }
}

/// The instant `nanos` after the Unix epoch.
pub(crate) fn from_nanos(nanos: i64) -> DateTime<Utc> {
    Utc.timestamp_nanos(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_prefixes_are_decimal() {
        for n in [0, 1, 9, 10, 11, 99, 100, 101, 1234] {
            let text = "é".repeat(n / 2) + &"x".repeat(n % 2);
            let mut key = CompactString::default();
            push_text(&mut key, &text);
            assert_eq!(key, format!("{}:{text}", text.len()));
        }
    }

    #[test]
    fn keys_are_unambiguous_and_type_blind() {
        let ip: Value = "203.0.113.7"
            .parse::<std::net::IpAddr>()
            .map(Value::Ip)
            .unwrap();
        let text = Value::from("203.0.113.7");
        assert_eq!(encode_key([Some(&ip)]), encode_key([Some(&text)]));
        let a = Value::from("a:b");
        let b = Value::from("c");
        let c = Value::from("a");
        let d = Value::from("b:c");
        assert_ne!(
            encode_key([Some(&a), Some(&b)]),
            encode_key([Some(&c), Some(&d)])
        );
        assert_ne!(encode_key([None]), encode_key([Some(&Value::from(""))]));
        assert_eq!(encode_key([None]), encode_key([Some(&Value::Null)]));
    }

    fn value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            any::<f64>().prop_map(Value::Float),
            // Texts that look like encodings, of every length class (0, 1-9, 10-99, 100+).
            "[a-c0-9:~é]{0,12}".prop_map(|s| Value::from(s.as_str())),
            (0usize..130).prop_map(|n| Value::from("x".repeat(n).as_str())),
            any::<[u8; 4]>().prop_map(|b| Value::Ip(std::net::IpAddr::from(b))),
            any::<[u16; 8]>().prop_map(|b| Value::Ip(std::net::IpAddr::from(b))),
            prop::collection::vec(any::<i64>().prop_map(Value::Int), 0..3)
                .prop_map(|items| Value::List(items.into())),
        ]
    }

    proptest::proptest! {
        /// A key read in place hashes, compares and encodes exactly like the encoded key
        /// (`encode_key`, `group_hash`, `stable_hash`), and compares unequal to other keys.
        #[test]
        fn group_keys_in_place_equal_encoded_keys(
            values in proptest::collection::vec(value(), 0..4),
            others in proptest::collection::vec(value(), 0..4),
        ) {
            let encoded = encode_key(values.iter().map(Some));
            let other = encode_key(others.iter().map(Some));
            match GroupKey::of(values.iter().map(Some)) {
                None => proptest::prop_assert!(values.iter().any(Value::is_null)),
                Some(key) => {
                    proptest::prop_assert!(!values.iter().any(Value::is_null));
                    proptest::prop_assert_eq!(key.encode(), encoded.clone());
                    proptest::prop_assert_eq!(key.hash(), group_hash(&encoded));
                    proptest::prop_assert_eq!(key.stable_hash(), stable_hash(&encoded));
                    proptest::prop_assert!(key.matches(&encoded));
                    proptest::prop_assert_eq!(key.matches(&other), other == encoded);
                    let mut longer = encoded.clone();
                    longer.push('~');
                    proptest::prop_assert!(!key.matches(&longer));
                }
            }
        }

        /// Nanoseconds through the day cache equal `to_nanos`, whatever the order of days.
        #[test]
        fn cached_nanos_equal_to_nanos(
            times in proptest::collection::vec((-5_000_000_000i64..5_000_000_000, 0u32..1_999_999_999), 1..20),
        ) {
            let mut cache = NanosCache::default();
            for (secs, nanos) in times {
                // Whole days apart from a few anchors, so that the cache is hit and missed.
                let secs = secs / 100_000 * 86_400 + secs % 86_400;
                let Some(t) = DateTime::<Utc>::from_timestamp(secs, nanos % 1_000_000_000) else {
                    continue;
                };
                proptest::prop_assert_eq!(cache.get(t), to_nanos(t));
            }
            let far = Utc.with_ymd_and_hms(2200, 1, 1, 0, 0, 1).unwrap();
            proptest::prop_assert_eq!(cache.get(far), to_nanos(far));
        }
    }

    #[test]
    fn short_texts_compare_like_slices() {
        let texts: Vec<String> = (0..20).map(|n| "ab".repeat(n)[..n].to_string()).collect();
        for a in &texts {
            for b in &texts {
                assert_eq!(short_eq(a.as_bytes(), b.as_bytes()), a == b);
                let mut c = b.clone().into_bytes();
                if let Some(x) = c.last_mut() {
                    *x ^= 1;
                }
                assert_eq!(short_eq(a.as_bytes(), &c), a.as_bytes() == c.as_slice());
            }
        }
    }

    #[test]
    fn malformed_keys_hash_apart() {
        // Not canonical encodings: never found by a key read from values.
        for bad in ["1:ab", "011:203.0.113.7", "3:ab", "x", ":", "2:a"] {
            assert!(decode(bad).is_none(), "{bad}");
            let _ = group_hash(bad);
        }
        assert_eq!(decode("~1:a"), Some(vec![None, Some("a")]));
    }

    #[test]
    fn percentile_is_nearest_rank() {
        let v = |xs: &[i64]| xs.iter().map(|&x| Num::Int(x)).collect::<Vec<_>>();
        let data = v(&[15, 20, 35, 40, 50]);
        assert_eq!(percentile(data.iter().copied(), 30.0), Some(Num::Int(20)));
        assert_eq!(percentile(data.iter().copied(), 40.0), Some(Num::Int(20)));
        assert_eq!(percentile(data.iter().copied(), 50.0), Some(Num::Int(35)));
        assert_eq!(percentile(data.iter().copied(), 100.0), Some(Num::Int(50)));
        assert_eq!(percentile(data.iter().copied(), 0.0), Some(Num::Int(15)));
        assert_eq!(percentile(std::iter::empty(), 50.0), None);
    }

    #[test]
    fn sums_stay_exact_for_integers() {
        let big = [Num::Int(i64::MAX), Num::Int(1), Num::Int(-2)];
        assert_eq!(sum(big.iter().copied()), Num::Int(i64::MAX - 1));
        assert_eq!(
            sum([Num::Int(1), Num::Float(0.5)].iter().copied()),
            Num::Float(1.5)
        );
    }

    #[test]
    fn numbers_are_read_from_text() {
        assert_eq!(Num::from_value(&Value::from(" 42 ")), Some(Num::Int(42)));
        assert_eq!(Num::from_value(&Value::from("4.5")), Some(Num::Float(4.5)));
        assert_eq!(Num::from_value(&Value::from("NaN")), None);
        assert_eq!(Num::from_value(&Value::from("abc")), None);
        assert_eq!(Num::from_value(&Value::Bool(true)), None);
    }

    #[test]
    fn time_round_trips_and_saturates() {
        let t = Utc.with_ymd_and_hms(2016, 9, 19, 16, 52, 49).unwrap();
        assert_eq!(from_nanos(to_nanos(t)), t);
        let far = Utc.with_ymd_and_hms(9999, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(to_nanos(far), i64::MAX);
    }
}
