//! Group keys, distinct-value keys, the stable partition hash, numbers and time.

use chrono::{DateTime, TimeZone, Utc};
use compact_str::CompactString;

use crate::event::{Event, Value};

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
    let n = text.len();
    // Group values are short (addresses, user and host names): their prefix is a slice of a
    // constant table rather than formatted.
    match LENGTH_PREFIXES.get(if n < 10 { 3 * n + 1 } else { 3 * n }..3 * n + 3) {
        Some(prefix) if n < 100 => key.push_str(prefix),
        _ => {
            let mut digits = [0u8; 20];
            key.push_str(decimal(&mut digits, n));
            key.push(':');
        }
    }
    key.push_str(text);
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
/// an IPv6 address with an embedded IPv4 one). Text that does not fit is an error.
struct StackText {
    buf: [u8; 48],
    len: usize,
}

impl Default for StackText {
    fn default() -> Self {
        StackText {
            buf: [0; 48],
            len: 0,
        }
    }
}

impl StackText {
    fn as_str(&self) -> &str {
        // Only whole `&str`s were copied in, so the bytes are UTF-8.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// `n` in decimal, written into `buf` (without `fmt`, which is slow on this hot path).
fn decimal(buf: &mut [u8; 20], mut n: usize) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        // n % 10 < 10, so the digit is ASCII.
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    std::str::from_utf8(&buf[i..]).unwrap_or("0")
}

/// The key of a tuple of values (see [`push_key_part`]).
pub(crate) fn encode_key<'a>(values: impl IntoIterator<Item = Option<&'a Value>>) -> CompactString {
    let mut key = CompactString::default();
    for v in values {
        push_key_part(&mut key, v);
    }
    key
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
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Which of `count` partitions owns a group key.
pub(crate) fn partition_of(key: &str, count: u32) -> u32 {
    // count > 0 is checked where partitions are configured; the result is < count <= u32::MAX.
    (stable_hash(key) % u64::from(count.max(1))) as u32
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
