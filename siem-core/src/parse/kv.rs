//! key=value and logfmt lines (iptables, FortiGate-style devices).
//!
//! One tokenizer ([`pairs`]) reads `key=value`, `key="quoted value"` (with `\"`, `\\`, `\n`,
//! `\r`, `\t` escapes) and bare words (`SYN`, `DF`). What the pairs mean depends on which keys
//! are present:
//!
//! - **netfilter** (`IN= OUT= SRC= DST= PROTO= SPT= DPT=`, the kernel's iptables/nftables
//!   `LOG` target): `source.ip`, `destination.ip`, `source.port`, `destination.port`,
//!   `network.transport`, interfaces, TCP flags, the log prefix as `rule.name`; names follow
//!   Elastic's `iptables` module (`iptables.ttl`, `iptables.tcp.flags`, ...). Logsource category
//!   `firewall`.
//! - **FortiGate** (`date= time= devname= srcip= dstip= action=`): `observer.*`,
//!   `source.*`/`destination.*`, `event.action`, `rule.id`, ...; the rest under
//!   `fortinet.firewall.<key>`. Logsource category `firewall`.
//! - **logfmt** otherwise: `level`→`log.level`, `msg`→`message`, `time`/`ts`→`@timestamp`,
//!   `err`/`error`→`error.message`; every other key is kept as a field of that name.
//!
//! ```
//! use siem_core::parse::kv;
//! let line = "IN=eth0 OUT= SRC=203.0.113.7 DST=10.0.0.1 LEN=60 PROTO=TCP SPT=51122 DPT=22 SYN";
//! let event = kv::parse(line, chrono_tz::UTC, chrono::Utc::now()).unwrap();
//! assert_eq!(event.get("destination.port").and_then(|v| v.as_i64()), Some(22));
//! assert_eq!(event.logsource.category.as_deref(), Some("firewall"));
//! ```

use std::borrow::Cow;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use compact_str::CompactString;

use super::time;
use crate::event::{Event, Value};
use crate::parse::k;

/// Why a line is not key=value data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KvError {
    /// No `key=value` pair at all.
    #[error("no key=value pairs found")]
    NoPairs,
    /// Fewer pairs than format detection requires to call a line key=value.
    #[error("only {0} key=value pair(s): too few to call the line key=value")]
    TooFew(usize),
}

/// One token of a key=value line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair<'a> {
    /// The key, or the bare word.
    pub key: &'a str,
    /// The value (unescaped when it was quoted); `None` for a bare word.
    pub value: Option<Cow<'a, str>>,
    /// Byte offset of the token in the input.
    pub start: usize,
}

/// At most this many tokens are read from one line, so a pathological line of `a=b` repeated
/// cannot make an event of unbounded size.
pub const MAX_PAIRS: usize = 1024;

/// Splits a line into `key=value` pairs and bare words, in order.
///
/// Tokens are separated by ASCII whitespace. A value that starts with `"` (or `'`) runs to the
/// matching unescaped quote and is unescaped; other values run to the next whitespace. A
/// token without `=` (or starting with `=`) is a bare word. Quotes and `=` in the middle of a
/// bare value are kept as written.
///
/// ```
/// use siem_core::parse::kv::pairs;
/// let p = pairs(r#"level=info msg="a \"b\" c" flag"#);
/// assert_eq!(p[1].value.as_deref(), Some(r#"a "b" c"#));
/// assert_eq!(p[2].key, "flag");
/// assert!(p[2].value.is_none());
/// ```
pub fn pairs(text: &str) -> Vec<Pair<'_>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() && out.len() < MAX_PAIRS {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let start = i;
        // The key: up to `=` or whitespace.
        while i < b.len() && b[i] != b'=' && !b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < b.len() && b[i] == b'=' && i > start {
            let key = &text[start..i];
            i += 1;
            match b.get(i) {
                Some(&q @ (b'"' | b'\'')) => {
                    let (value, end) = quoted(text, i + 1, q);
                    out.push(Pair {
                        key,
                        value: Some(value),
                        start,
                    });
                    i = end;
                }
                _ => {
                    let vstart = i;
                    while i < b.len() && !b[i].is_ascii_whitespace() {
                        i += 1;
                    }
                    out.push(Pair {
                        key,
                        value: Some(Cow::Borrowed(&text[vstart..i])),
                        start,
                    });
                }
            }
        } else {
            // A bare word (or a token starting with `=`): up to whitespace.
            while i < b.len() && !b[i].is_ascii_whitespace() {
                i += 1;
            }
            out.push(Pair {
                key: &text[start..i],
                value: None,
                start,
            });
        }
    }
    out
}

/// A quoted value starting at `from` (after the opening quote `q`): returns the unescaped value
/// and the position after the closing quote (or the end of the text when it is missing).
fn quoted(text: &str, from: usize, q: u8) -> (Cow<'_, str>, usize) {
    let b = text.as_bytes();
    let mut i = from;
    let mut owned: Option<String> = None;
    let mut run_start = from;
    while i < b.len() {
        match b[i] {
            c if c == q => {
                let value = match owned {
                    Some(mut s) => {
                        s.push_str(&text[run_start..i]);
                        Cow::Owned(s)
                    }
                    None => Cow::Borrowed(&text[from..i]),
                };
                return (value, i + 1);
            }
            b'\\' if i + 1 < b.len() => {
                let replacement = match b[i + 1] {
                    b'"' => Some('"'),
                    b'\'' => Some('\''),
                    b'\\' => Some('\\'),
                    b'n' => Some('\n'),
                    b'r' => Some('\r'),
                    b't' => Some('\t'),
                    _ => None,
                };
                if let Some(r) = replacement {
                    let s = owned.get_or_insert_with(String::new);
                    s.push_str(&text[run_start..i]);
                    s.push(r);
                    i += 2;
                    run_start = i;
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    // Unterminated: the rest of the line is the value.
    let value = match owned {
        Some(mut s) => {
            s.push_str(&text[run_start..]);
            Cow::Owned(s)
        }
        None => Cow::Borrowed(&text[from..]),
    };
    (value, b.len())
}

/// Writes `key=value` the way [`pairs`] reads it back: the value is quoted (and `"`, `\`,
/// newline, return and tab escaped) when it is empty or holds whitespace, `=` or a quote.
///
/// ```
/// use siem_core::parse::kv::{format_pair, pairs};
/// let line = format_pair("msg", "a \"b\" = c");
/// assert_eq!(pairs(&line)[0].value.as_deref(), Some("a \"b\" = c"));
/// ```
pub fn format_pair(key: &str, value: &str) -> String {
    let needs_quotes = value.is_empty()
        || value
            .bytes()
            .any(|c| c.is_ascii_whitespace() || matches!(c, b'=' | b'"' | b'\'' | b'\\'));
    if !needs_quotes {
        return format!("{key}={value}");
    }
    let mut out = String::with_capacity(key.len() + value.len() + 3);
    out.push_str(key);
    out.push_str("=\"");
    for ch in value.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Which kind of key=value data a line holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Linux netfilter `LOG` output (iptables, nftables, ufw).
    Netfilter,
    /// Fortinet FortiGate (FortiOS) logs.
    FortiGate,
    /// Anything else: logfmt.
    Logfmt,
}

/// Tells the flavor from the keys present.
pub fn flavor(pairs: &[Pair<'_>]) -> Flavor {
    let has = |key: &str| pairs.iter().any(|p| p.value.is_some() && p.key == key);
    if has("SRC") && has("DST") && (has("PROTO") || has("IN") || has("OUT")) {
        Flavor::Netfilter
    } else if has("devname")
        || (has("logid") && has("type"))
        || (has("srcip") && has("dstip") && has("action"))
    {
        Flavor::FortiGate
    } else {
        Flavor::Logfmt
    }
}

/// Parses a key=value line into an event (with `event.original`). Needs at least one pair.
pub fn parse(line: &str, tz: Tz, now: DateTime<Utc>) -> Result<Event, KvError> {
    let mut event = super::new_event(line, 32);
    decode(line, tz, now, 1, &mut event)?;
    Ok(event)
}

/// Decodes `text` into `event`, requiring at least `min_pairs` `key=value` pairs (format
/// detection asks for two). Returns the flavor found.
pub fn decode(
    text: &str,
    tz: Tz,
    now: DateTime<Utc>,
    min_pairs: usize,
    event: &mut Event,
) -> Result<Flavor, KvError> {
    let tokens = pairs(text);
    let count = tokens.iter().filter(|p| p.value.is_some()).count();
    if count == 0 {
        return Err(KvError::NoPairs);
    }
    if count < min_pairs {
        return Err(KvError::TooFew(count));
    }
    let flavor = flavor(&tokens);
    match flavor {
        Flavor::Netfilter => netfilter(text, &tokens, event),
        Flavor::FortiGate => fortigate(&tokens, tz, now, event),
        Flavor::Logfmt => logfmt(&tokens, tz, now, event),
    }
    Ok(flavor)
}

/// Decodes a netfilter `LOG` message (as found after a syslog header from program `kernel`)
/// into `event`; returns `false`, leaving the event alone, when the text is not one.
pub fn decode_netfilter(text: &str, event: &mut Event) -> bool {
    if !(text.contains("SRC=") && text.contains("DST=")) {
        return false;
    }
    let tokens = pairs(text);
    if flavor(&tokens) != Flavor::Netfilter {
        return false;
    }
    netfilter(text, &tokens, event);
    true
}

fn put_ip_or_text(event: &mut Event, name: &'static str, value: &str) {
    match value.parse::<IpAddr>() {
        Ok(ip) => event.insert(k(name), ip),
        Err(_) => event.insert(k(name), value),
    }
}

fn put_int_or_text(event: &mut Event, name: impl Into<CompactString>, value: &str) {
    match value.parse::<i64>() {
        Ok(n) => event.insert(name, n),
        Err(_) => event.insert(name, value),
    }
}

/// `aa:bb:cc:dd:ee:ff` → ECS `AA-BB-CC-DD-EE-FF`.
fn ecs_mac(hex: &[&str]) -> String {
    hex.iter()
        .map(|h| h.to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join("-")
}

fn netfilter(text: &str, tokens: &[Pair<'_>], event: &mut Event) {
    // The log prefix: the text before the first key, after the kernel's `[ 123.456]` uptime.
    let first = tokens
        .iter()
        .find(|p| p.value.is_some())
        .map_or(0, |p| p.start);
    let mut prefix = text[..first].trim();
    if prefix.starts_with('[')
        && let Some(close) = prefix.find(']')
        && prefix[1..close]
            .trim()
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.')
    {
        prefix = prefix[close + 1..].trim();
    }
    let prefix = prefix.trim_end_matches(':').trim();
    if !prefix.is_empty() {
        event.insert(k("rule.name"), prefix);
        let lower = prefix.to_ascii_lowercase();
        let action = ["drop", "block", "reject", "deny", "accept", "allow"]
            .into_iter()
            .find(|a| lower.contains(a));
        if let Some(action) = action {
            event.insert(k("event.action"), action);
        }
    }
    let mut tcp_flags = Vec::new();
    let mut fragment_flags = Vec::new();
    let mut seen_len = false;
    let mut proto = String::new();
    for p in tokens {
        let Some(value) = &p.value else {
            match p.key {
                "SYN" | "ACK" | "FIN" | "RST" | "PSH" | "URG" | "CWR" | "ECE" => {
                    tcp_flags.push(Value::from(p.key))
                }
                "DF" | "MF" | "CE" => fragment_flags.push(Value::from(p.key)),
                _ => {}
            }
            continue;
        };
        let v = value.as_ref();
        match p.key {
            "IN" => {
                if !v.is_empty() {
                    event.insert(k("iptables.input_device"), v);
                    event.insert(k("observer.ingress.interface.name"), v);
                }
            }
            "OUT" => {
                if !v.is_empty() {
                    event.insert(k("iptables.output_device"), v);
                    event.insert(k("observer.egress.interface.name"), v);
                }
            }
            "SRC" => put_ip_or_text(event, "source.ip", v),
            "DST" => put_ip_or_text(event, "destination.ip", v),
            "SPT" => put_int_or_text(event, k("source.port"), v),
            "DPT" => put_int_or_text(event, k("destination.port"), v),
            "PROTO" => {
                proto = v.to_ascii_lowercase();
                match v.parse::<i64>() {
                    Ok(n) => event.insert(k("network.iana_number"), n),
                    Err(_) => event.insert(k("network.transport"), proto.as_str()),
                }
            }
            "LEN" if !seen_len => {
                seen_len = true;
                put_int_or_text(event, k("iptables.length"), v);
            }
            // The second LEN is the UDP (or other layer-4) length.
            "LEN" => put_int_or_text(
                event,
                if proto == "udp" {
                    k("iptables.udp.length")
                } else {
                    k("iptables.l4.length")
                },
                v,
            ),
            "TTL" => put_int_or_text(event, k("iptables.ttl"), v),
            "ID" => put_int_or_text(event, k("iptables.id"), v),
            "TOS" => event.insert(k("iptables.tos"), v),
            "PREC" => event.insert(k("iptables.precedence_bits"), v),
            "WINDOW" => put_int_or_text(event, k("iptables.tcp.window"), v),
            "RES" => event.insert(k("iptables.tcp.reserved_bits"), v),
            "URGP" => put_int_or_text(event, k("iptables.tcp.urgp"), v),
            "SEQ" => put_int_or_text(event, k("iptables.tcp.seq"), v),
            "ACK" => put_int_or_text(event, k("iptables.tcp.ack"), v),
            "TYPE" => put_int_or_text(event, k("iptables.icmp.type"), v),
            "CODE" => put_int_or_text(event, k("iptables.icmp.code"), v),
            "MARK" => event.insert(k("iptables.mark"), v),
            "MAC" => {
                event.insert(k("iptables.mac"), v);
                let octets: Vec<&str> = v.split(':').collect();
                if octets.len() >= 12 && octets.iter().all(|o| o.len() == 2) {
                    event.insert(k("destination.mac"), ecs_mac(&octets[0..6]));
                    event.insert(k("source.mac"), ecs_mac(&octets[6..12]));
                }
            }
            key => {
                if key.len() <= 32 && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                    let mut name = CompactString::from("iptables.");
                    name.push_str(&key.to_ascii_lowercase());
                    event.insert(name, v);
                }
            }
        }
    }
    if !tcp_flags.is_empty() {
        event.insert(k("iptables.tcp.flags"), Value::List(tcp_flags.into()));
    }
    if !fragment_flags.is_empty() {
        event.insert(
            k("iptables.fragment_flags"),
            Value::List(fragment_flags.into()),
        );
    }
    event.insert(k("event.kind"), "event");
    static NETWORK: [Value; 1] = [Value::static_str("network")];
    static CONNECTION: [Value; 1] = [Value::static_str("connection")];
    event.insert(k("event.category"), Value::static_list(&NETWORK));
    event.insert(k("event.type"), Value::static_list(&CONNECTION));
    event.insert(k("event.module"), "iptables");
    event.insert(k("event.dataset"), "iptables.log");
    // Keep what a surrounding syslog header told (product, service); the payload is firewall data.
    event.logsource.category = Some("firewall".into());
}

fn fortigate(tokens: &[Pair<'_>], tz: Tz, now: DateTime<Utc>, event: &mut Event) {
    let get = |key: &str| {
        tokens
            .iter()
            .find(|p| p.key == key)
            .and_then(|p| p.value.as_deref())
    };
    // eventtime (FortiOS 6.2+, epoch s/ms/us/ns) is exact; date+time are local to `tz=`.
    let ts = get("eventtime").and_then(time::parse_epoch).or_else(|| {
        let (date, time) = (get("date")?, get("time")?);
        let stamp = match get("tz") {
            Some(zone) => format!("{date}T{time}{}", zone.trim_matches('"')),
            None => format!("{date}T{time}"),
        };
        time::parse_iso(&stamp, tz).or_else(|| time::parse_any(&format!("{date} {time}"), tz, now))
    });
    if let Some(ts) = ts {
        event.timestamp = Some(ts);
    }
    for p in tokens {
        let Some(value) = &p.value else { continue };
        let v = value.as_ref();
        let target = match p.key {
            "date" | "time" | "eventtime" | "tz" => continue,
            "devname" => "observer.name",
            "devid" => "observer.serial_number",
            "logid" => "event.code",
            "level" => "log.level",
            "srcip" => {
                put_ip_or_text(event, "source.ip", v);
                continue;
            }
            "dstip" => {
                put_ip_or_text(event, "destination.ip", v);
                continue;
            }
            "transip" => {
                put_ip_or_text(event, "source.nat.ip", v);
                continue;
            }
            "srcport" | "dstport" | "transport" | "sentbyte" | "rcvdbyte" | "sentpkt"
            | "rcvdpkt" | "proto" => {
                let name = match p.key {
                    "srcport" => "source.port",
                    "dstport" => "destination.port",
                    "transport" => "source.nat.port",
                    "sentbyte" => "source.bytes",
                    "rcvdbyte" => "destination.bytes",
                    "sentpkt" => "source.packets",
                    "rcvdpkt" => "destination.packets",
                    _ => "network.iana_number",
                };
                put_int_or_text(event, k(name), v);
                continue;
            }
            "srcintf" => "observer.ingress.interface.name",
            "dstintf" => "observer.egress.interface.name",
            "srcmac" => "source.mac",
            "dstmac" => "destination.mac",
            "action" => "event.action",
            "service" => {
                event.insert(k("network.protocol"), v.to_ascii_lowercase());
                continue;
            }
            "user" => "user.name",
            "msg" => "message",
            "policyid" => "rule.id",
            "policyname" => "rule.name",
            "hostname" => "url.domain",
            "url" => "url.original",
            "srcname" => "source.domain",
            _ => {
                if p.key.len() <= 64 {
                    let mut name = CompactString::from("fortinet.firewall.");
                    name.push_str(p.key);
                    event.insert(name, v);
                }
                continue;
            }
        };
        event.insert(k(target), v);
    }
    event.insert(k("observer.vendor"), "Fortinet");
    event.insert(k("observer.product"), "FortiGate");
    event.insert(k("observer.type"), "firewall");
    event.insert(k("event.kind"), "event");
    event.insert(k("event.module"), "fortinet");
    event.insert(k("event.dataset"), "fortinet.firewall");
    // Keep what a surrounding syslog header told (product, service); the payload is firewall data.
    event.logsource.category = Some("firewall".into());
}

/// Keys a logfmt line cannot overwrite: the parser's own bookkeeping.
const RESERVED: [&str; 4] = ["event.original", "tags", "@timestamp", "logsource"];

fn logfmt(tokens: &[Pair<'_>], tz: Tz, now: DateTime<Utc>, event: &mut Event) {
    for p in tokens {
        let Some(value) = &p.value else { continue };
        let v = value.as_ref();
        match p.key {
            "level" | "lvl" | "severity" | "loglevel" => event.insert(k("log.level"), v),
            "msg" | "message" => event.insert(k("message"), v),
            "err" | "error" => event.insert(k("error.message"), v),
            "logger" => event.insert(k("log.logger"), v),
            "time" | "ts" | "timestamp" | "t" | "@timestamp" if event.timestamp.is_none() => {
                match time::parse_any(v, tz, now) {
                    Some(ts) => event.timestamp = Some(ts),
                    None => event.insert(CompactString::from(p.key), v),
                }
            }
            key if RESERVED.contains(&key) => {}
            key => {
                // Bound the key so one line cannot create arbitrarily long field names.
                if key.len() <= 256 {
                    event.insert(CompactString::from(key), v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc::now()
    }

    #[test]
    fn tokenizer_edge_cases() {
        let p = pairs(r#"a=1 b= c="x y" d='q' =e f"g h=unterminated"#);
        let keys: Vec<_> = p.iter().map(|p| (p.key, p.value.as_deref())).collect();
        assert_eq!(
            keys,
            vec![
                ("a", Some("1")),
                ("b", Some("")),
                ("c", Some("x y")),
                ("d", Some("q")),
                ("=e", None),
                ("f\"g", None),
                ("h", Some("unterminated"))
            ]
        );
        assert_eq!(pairs("k=\"open")[0].value.as_deref(), Some("open"));
        assert_eq!(pairs(r#"k="a\\"#)[0].value.as_deref(), Some("a\\"));
        assert!(pairs("   ").is_empty());
    }

    #[test]
    fn netfilter_line() {
        let line = "[  203.842973] IPTABLES-DROP: IN=lo OUT= MAC=00:00:00:00:00:00:00:00:00:00:00:00:08:00 SRC=127.0.0.1 DST=127.0.0.53 LEN=76 TOS=0x00 PREC=0x00 TTL=64 ID=25029 DF PROTO=UDP SPT=49007 DPT=53 LEN=56 ";
        let e = parse(line, chrono_tz::UTC, now()).unwrap();
        assert_eq!(e.get_str("rule.name"), Some("IPTABLES-DROP"));
        assert_eq!(e.get_str("event.action"), Some("drop"));
        assert_eq!(e.get_str("network.transport"), Some("udp"));
        assert_eq!(e.get("iptables.length"), Some(&Value::Int(76)));
        assert_eq!(e.get("iptables.udp.length"), Some(&Value::Int(56)));
        assert_eq!(e.get("destination.port"), Some(&Value::Int(53)));
        assert_eq!(e.get_str("observer.ingress.interface.name"), Some("lo"));
        assert!(e.get("observer.egress.interface.name").is_none());
        assert_eq!(
            e.get("iptables.fragment_flags"),
            Some(&Value::from(vec!["DF"]))
        );
        assert_eq!(e.get_str("source.mac"), Some("00-00-00-00-00-00"));
        assert_eq!(e.logsource.category.as_deref(), Some("firewall"));
    }

    #[test]
    fn fortigate_line() {
        let line = r#"date=2019-05-15 time=18:03:36 logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" eventtime=1557968615 srcip=10.1.100.155 srcport=40772 srcintf="port12" dstip=35.197.51.42 dstport=443 dstintf="port11" proto=6 action="close" policyid=1 service="HTTPS" sentbyte=1850 rcvdbyte=39898 devname="FGT60D" user="bob""#;
        let e = parse(line, chrono_tz::UTC, now()).unwrap();
        assert_eq!(e.get_str("event.code"), Some("0000000013"));
        assert_eq!(e.get("source.port"), Some(&Value::Int(40772)));
        assert_eq!(e.get_str("network.protocol"), Some("https"));
        assert_eq!(e.get_str("observer.name"), Some("FGT60D"));
        assert_eq!(e.get_str("fortinet.firewall.vd"), Some("root"));
        assert_eq!(e.timestamp.map(|t| t.timestamp()), Some(1557968615));
        let e = parse("date=2019-05-15 time=18:03:36 tz=\"+0200\" devname=x srcip=1.2.3.4 dstip=5.6.7.8 action=deny", chrono_tz::UTC, now()).unwrap();
        assert_eq!(
            e.timestamp.unwrap().to_rfc3339(),
            "2019-05-15T16:03:36+00:00"
        );
    }

    #[test]
    fn logfmt_line() {
        let e = parse(r#"time=2024-05-01T10:00:00Z level=warn msg="disk \"sda\" full" component=store pct=97"#, chrono_tz::UTC, now()).unwrap();
        assert_eq!(e.get_str("log.level"), Some("warn"));
        assert_eq!(e.get_str("message"), Some("disk \"sda\" full"));
        assert_eq!(e.get_str("component"), Some("store"));
        assert_eq!(e.get_str("pct"), Some("97"));
        assert!(e.timestamp.is_some());
        let mut ev = Event::new();
        assert_eq!(
            decode("just one=pair", chrono_tz::UTC, now(), 2, &mut ev),
            Err(KvError::TooFew(1))
        );
        assert_eq!(
            parse("no pairs here", chrono_tz::UTC, now()).unwrap_err(),
            KvError::NoPairs
        );
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            /// Any values, formatted with `format_pair` and joined by spaces, read back exactly.
            #[test]
            fn format_then_read_round_trips(values in proptest::collection::vec(any::<String>(), 1..6)) {
                let line: Vec<String> = values.iter().enumerate().map(|(i, v)| format_pair(&format!("k{i}"), v)).collect();
                let line = line.join(" ");
                let read = pairs(&line);
                prop_assert_eq!(read.len(), values.len());
                for (i, (pair, value)) in read.iter().zip(&values).enumerate() {
                    let key = format!("k{i}");
                    prop_assert_eq!(pair.key, key.as_str());
                    prop_assert_eq!(pair.value.as_deref(), Some(value.as_str()));
                }
            }

            /// The tokenizer never panics and never reads more than MAX_PAIRS tokens.
            #[test]
            fn tokenizer_is_total(text in ".{0,400}") {
                prop_assert!(pairs(&text).len() <= MAX_PAIRS);
                let _ = parse(&text, chrono_tz::UTC, Utc::now());
            }
        }
    }
}
