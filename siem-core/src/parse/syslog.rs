//! Syslog: RFC 5424 and RFC 3164 with the deviations found in real logs.
//!
//! [`parse`] reads one line and returns an [`Event`] with these fields (ECS names), then hands
//! the message to the [program decoders](super::programs), which add what `sshd`, `sudo`,
//! `su`, PAM, the shadow utilities and `cron` say in ECS terms.
//!
//! | field | from |
//! | --- | --- |
//! | `@timestamp` ([`Event::timestamp`]) | the header timestamp, in UTC |
//! | `log.syslog.priority` | `<PRI>`, or a BSD syslogd `-v` marker; absent when the line has neither (see below) |
//! | `log.syslog.facility.code` / `.name` | `PRI / 8`, named `kern`, `user`, `mail`, `daemon`, `auth`, `syslog`, `lpr`, `news`, `uucp`, `cron`, `authpriv`, `ftp`, `ntp`, `security`, `console`, `solaris-cron`, `local0`-`local7` |
//! | `log.syslog.severity.code` / `.name` | `PRI % 8`, named `emerg`, `alert`, `crit`, `err`, `warning`, `notice`, `info`, `debug` |
//! | `log.syslog.version` | RFC 5424 `VERSION` |
//! | `host.hostname` | `HOSTNAME` |
//! | `process.name` | RFC 3164 tag (program name) / RFC 5424 `APP-NAME` |
//! | `process.pid` | `tag[pid]` / RFC 5424 `PROCID` when it is a number |
//! | `log.syslog.appname`, `log.syslog.procid`, `log.syslog.msgid` | RFC 5424 `APP-NAME`, `PROCID` (when not a number), `MSGID` |
//! | `log.syslog.structured_data.<SD-ID>.<PARAM-NAME>` | RFC 5424 structured data, one field per parameter; a parameter repeated in an element becomes a list |
//! | `message` | the free text after the header |
//! | `service.version` | the version sysklogd writes after its name (`syslogd 1.4.1: restart.`) |
//! | `event.original` | the whole line |
//!
//! ECS has no standard place for RFC 5424 structured data beyond the `flattened` field
//! `log.syslog.structured_data`; siem stores each parameter under it as
//! `log.syslog.structured_data.<SD-ID>.<PARAM-NAME>`, so `[exampleSDID@32473 iut="3"]` gives
//! `log.syslog.structured_data.exampleSDID@32473.iut = "3"` (parameter values are always
//! strings, with the `\"`, `\\` and `\]` escapes undone).
//!
//! The logsource is `product: linux, service: syslog`; a program decoder narrows the service
//! (`sshd`, `sudo`, `cron`, `auth`, ...).
//!
//! # What counts as syslog
//!
//! A line is syslog-shaped when it starts with a valid `<PRI>` (0-191), or with a timestamp in
//! one of the forms below, or has the `host program[pid]: message` shape that journald
//! exports and fail2ban's journal backend produces. Anything else gives `None`, so that
//! format detection can try other parsers. Once a line is syslog-shaped, the parser is
//! lenient: missing parts are left out, never guessed, and the rest of the line becomes the
//! message.
//!
//! Deviations accepted (all seen in the corpora siem is tested against):
//!
//! - no `<PRI>` (files written by syslog daemons have none): the `log.syslog.priority`,
//!   `.facility` and `.severity` fields are then left out rather than invented. (RFC 3164
//!   §4.3.3 has relays assume 13, user.notice, and rsyslog reports that; for a SIEM an invented
//!   facility is worse than none, since an sshd line is really `auth`.) A space between
//!   `<PRI>` and the timestamp is accepted;
//! - timestamps `Mmm dd hh:mm:ss` with any month case, `Mmm  d` / `Mmm d` / `Mmm dd`, a year
//!   before the time (`Mar  7 2008 19:06:53`), fractional seconds of any precision, a colon
//!   after the time; RFC 3339 timestamps (with `Z`, `±hh:mm`, `±hhmm` or no offset) inside
//!   RFC 3164 framing (rsyslog's `RSYSLOG_FileFormat`, journald `short-iso`); journald's
//!   `short-full` (`Thu 2015-04-16 18:02:50 UTC`);
//! - no hostname: like rsyslog, the first word after the timestamp is the tag rather than a
//!   host name when it ends with `:` or holds a character host names do not have (`sshd[42]:`,
//!   `[sshd]`, `#001`); BSD syslogd `-v` / `-vv` markers after the timestamp (`<4.3>`,
//!   `<auth.info>`), which set the facility and severity;
//! - tags with brackets or parentheses (`sshd(pam_unix)[12750]:`, `[sshd]:`), tags followed by a
//!   space instead of a colon (`tag message`), 40-character tags;
//! - `last message repeated N times` lines (no program);
//! - RFC 5424 with NILVALUEs everywhere, malformed structured data (a space after `=`), a UTF-8
//!   BOM before the message (removed).
//!
//! Timestamps without a zone are read in [`ParseOptions::timezone`] and yearless ones get a
//! year from [`time::infer_year`] against the reference time `now`; see [`time`] for the rules.
//!
//! # Cost
//!
//! One pass over the line without regular expressions. Allocations are the event's: its field
//! map (sized up front so it does not rehash), the raw line, the message and values longer
//! than 24 bytes. Most of the time goes into filling the field map; see
//! `benches/benches/parse_syslog.rs` for lines per second.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use siem_core::event::Value;
//! use siem_core::parse::{syslog, Format, ParseOptions};
//!
//! let now = Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap();
//! let line = "<38>Feb 12 14:10:21 sd-126005 sshd[16378]: Invalid user pascal from 35.188.49.176 port 53502";
//! let parsed = syslog::parse(line, &ParseOptions::default(), now).unwrap();
//! assert_eq!(parsed.format, Format::Rfc3164);
//! let event = parsed.event;
//! assert_eq!(event.timestamp, Some(Utc.with_ymd_and_hms(2024, 2, 12, 14, 10, 21).unwrap()));
//! assert_eq!(event.get_str("log.syslog.facility.name"), Some("auth"));
//! assert_eq!(event.get_str("host.hostname"), Some("sd-126005"));
//! assert_eq!(event.get_str("process.name"), Some("sshd"));
//! assert_eq!(event.get("process.pid"), Some(&Value::Int(16378)));
//! assert_eq!(event.message(), Some("Invalid user pascal from 35.188.49.176 port 53502"));
//! // The sshd decoder ran too:
//! assert_eq!(event.get_str("user.name"), Some("pascal"));
//! assert_eq!(event.get("source.ip").unwrap().to_text(), "35.188.49.176");
//! assert_eq!(event.logsource.service.as_deref(), Some("sshd"));
//! ```

use chrono::{DateTime, Utc};
use compact_str::CompactString;

use super::{Format, ParseOptions, Parsed, programs, time};
use crate::event::{Event, LogSource, Value, static_name};

/// Facility names by code (ECS / Elastic's syslog processor naming).
pub const FACILITY_NAMES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];

/// Severity names by code.
pub const SEVERITY_NAMES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

/// Parses one syslog line (RFC 5424, else RFC 3164 and its variants), then applies the program
/// decoders to the message. `None` when the line is not syslog-shaped at all (so `auto` can try
/// other formats); a line that is syslog-shaped but partly malformed still returns Some.
///
/// `now` is the reference time for yearless timestamps; `options.timezone` is the zone of
/// timestamps that carry none. See the [module docs](self) for the fields set.
pub fn parse(line: &str, options: &ParseOptions, now: DateTime<Utc>) -> Option<Parsed> {
    let b = line.as_bytes();
    let pri = parse_pri(b);
    if let Some((pri, after)) = pri
        && let Some(after_version) = rfc5424_version(b, after)
    {
        return Some(parse_5424(line, pri, after, after_version, options));
    }
    let header = parse_3164_header(line, pri, options, now)?;
    Some(header.into_parsed(line))
}

/// `<PRI>` at the start: 1-3 digits, value 0-191. Returns the value and the bytes used.
fn parse_pri(b: &[u8]) -> Option<(u8, usize)> {
    if b.first() != Some(&b'<') {
        return None;
    }
    let mut value = 0u16;
    let mut i = 1;
    while i < 5 {
        match b.get(i) {
            Some(&d) if d.is_ascii_digit() => value = value * 10 + u16::from(d - b'0'),
            Some(b'>') if i > 1 => break,
            _ => return None,
        }
        i += 1;
    }
    if b.get(i) != Some(&b'>') || value > 191 {
        return None;
    }
    Some((value as u8, i + 1))
}

/// When `<PRI>` is followed by an RFC 5424 `VERSION SP` and then a timestamp or `-`, the byte
/// index after the space.
fn rfc5424_version(b: &[u8], pos: usize) -> Option<usize> {
    let mut i = pos;
    while i < pos + 3 && b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    if i == pos || b.get(pos) == Some(&b'0') || b.get(i) != Some(&b' ') {
        return None;
    }
    match b.get(i + 1) {
        Some(b'-') => Some(i + 1),
        Some(d) if d.is_ascii_digit() => Some(i + 1),
        _ => None,
    }
}

fn put_priority(event: &mut Event, pri: u8) {
    let facility = usize::from(pri >> 3);
    let severity = usize::from(pri & 7);
    event.insert_static(
        static_name!("log.syslog.priority"),
        Value::Int(i64::from(pri)),
    );
    event.insert_static(
        static_name!("log.syslog.facility.code"),
        Value::Int(facility as i64),
    );
    if let Some(&name) = FACILITY_NAMES.get(facility) {
        event.insert_static(
            static_name!("log.syslog.facility.name"),
            Value::Str(CompactString::const_new(name)),
        );
    }
    event.insert_static(
        static_name!("log.syslog.severity.code"),
        Value::Int(severity as i64),
    );
    event.insert_static(
        static_name!("log.syslog.severity.name"),
        Value::Str(CompactString::const_new(SEVERITY_NAMES[severity])),
    );
}

/// The event a syslog line starts as: room for the header fields plus what a decoder adds
/// (about twenty fields for an sshd login), so the field map never rehashes while it fills.
fn new_event(line: &str) -> Event {
    let mut event = Event::with_capacity(16);
    event.insert_static(static_name!("event.original"), line);
    event
}

fn syslog_logsource() -> LogSource {
    LogSource {
        product: Some(const { CompactString::const_new("linux") }),
        category: None,
        service: Some(const { CompactString::const_new("syslog") }),
    }
}

/// The slice `line[start..end]`, or `""` when the bounds are not valid (never panics).
#[inline]
fn sub(line: &str, start: usize, end: usize) -> &str {
    line.get(start..end).unwrap_or("")
}

/// The next space-delimited token from `pos`: (token, index after the token).
#[inline]
fn token(line: &str, pos: usize) -> (&str, usize) {
    let b = line.as_bytes();
    let end = match b.get(pos..) {
        Some(rest) => pos + crate::parse::find_byte(b' ', rest).unwrap_or(rest.len()),
        None => return ("", pos),
    };
    (sub(line, pos, end), end)
}

fn parse_5424(
    line: &str,
    pri: u8,
    after_pri: usize,
    mut pos: usize,
    options: &ParseOptions,
) -> Parsed {
    let b = line.as_bytes();
    let mut event = new_event(line);
    event.logsource = syslog_logsource();
    put_priority(&mut event, pri);
    let version = sub(line, after_pri, pos.saturating_sub(1));
    if let Ok(v) = version.parse::<i64>() {
        event.insert_static(static_name!("log.syslog.version"), Value::Int(v));
    }

    // TIMESTAMP: "-" or RFC 3339. When it is neither the line is malformed from here on and the
    // rest becomes the message.
    let mut malformed = false;
    if b.get(pos) == Some(&b'-') && matches!(b.get(pos + 1), None | Some(b' ')) {
        pos += 1;
    } else {
        match time::parse_iso8601_prefix(b.get(pos..).unwrap_or_default()) {
            Some((stamp, used)) if matches!(b.get(pos + used), None | Some(b' ')) => {
                event.timestamp = stamp.resolve(options.timezone);
                pos += used;
            }
            _ => malformed = true,
        }
    }

    let mut app_name = "";
    if !malformed {
        // HOSTNAME, APP-NAME, PROCID, MSGID: space-separated tokens, "-" for none.
        let mut fields = [""; 4];
        for field in &mut fields {
            if b.get(pos) != Some(&b' ') {
                break;
            }
            let (tok, end) = token(line, pos + 1);
            *field = tok;
            pos = end;
        }
        let [host, app, proc, msgid] = fields.map(|f| if f == "-" { "" } else { f });
        app_name = app;
        if !host.is_empty() {
            event.insert_static(static_name!("host.hostname"), host);
        }
        if !app.is_empty() {
            event.insert_static(static_name!("log.syslog.appname"), app);
            event.insert_static(static_name!("process.name"), app);
        }
        if !proc.is_empty() {
            match parse_pid(proc) {
                Some(pid) => event.insert_static(static_name!("process.pid"), Value::Int(pid)),
                None => event.insert_static(static_name!("log.syslog.procid"), proc),
            }
        }
        if !msgid.is_empty() {
            event.insert_static(static_name!("log.syslog.msgid"), msgid);
        }
        // STRUCTURED-DATA
        if b.get(pos) == Some(&b' ') {
            pos += 1;
            match b.get(pos) {
                Some(b'-') if matches!(b.get(pos + 1), None | Some(b' ')) => pos += 1,
                Some(b'[') => pos = parse_structured_data(line, pos, &mut event),
                // No structured data at all (some senders leave it out): the message starts here.
                _ => pos = pos.saturating_sub(1),
            }
        }
    }

    // MSG (after one space), without a leading UTF-8 BOM.
    if b.get(pos) == Some(&b' ') {
        pos += 1;
    }
    let mut message = sub(line, pos, line.len());
    message = message.strip_prefix('\u{feff}').unwrap_or(message);
    event.insert_static(static_name!("message"), message);

    if !app_name.is_empty() {
        programs::decode_parts(app_name, message, &mut event);
    }
    Parsed {
        event,
        format: Format::Rfc5424,
    }
}

/// Parses `[SD-ID PARAM="VALUE" ...]...` from `pos` (at a `[`) into `event` and returns the
/// index after the last element. Lenient: spaces around `=` are allowed; an unterminated
/// element ends the structured data at the end of the line.
fn parse_structured_data(line: &str, mut pos: usize, event: &mut Event) -> usize {
    let b = line.as_bytes();
    while b.get(pos) == Some(&b'[') {
        pos += 1;
        let id_start = pos;
        while let Some(&c) = b.get(pos) {
            if c == b' ' || c == b']' {
                break;
            }
            pos += 1;
        }
        let id = sub(line, id_start, pos);
        loop {
            while b.get(pos) == Some(&b' ') {
                pos += 1;
            }
            match b.get(pos) {
                None => return pos,
                Some(b']') => {
                    pos += 1;
                    break;
                }
                _ => {}
            }
            let name_start = pos;
            while let Some(&c) = b.get(pos) {
                if matches!(c, b'=' | b' ' | b']' | b'"') {
                    break;
                }
                pos += 1;
            }
            let name = sub(line, name_start, pos);
            while b.get(pos) == Some(&b' ') {
                pos += 1;
            }
            if b.get(pos) != Some(&b'=') {
                // Not a parameter: skip to the end of this element.
                match crate::parse::find_byte(b']', b.get(pos..).unwrap_or_default()) {
                    Some(i) => {
                        pos += i + 1;
                        break;
                    }
                    None => return b.len(),
                }
            }
            pos += 1;
            while b.get(pos) == Some(&b' ') {
                pos += 1;
            }
            let value = if b.get(pos) == Some(&b'"') {
                pos += 1;
                let (value, end) = quoted_value(line, pos);
                pos = end;
                value
            } else {
                // Unquoted value (not RFC, but seen): up to a space or `]`.
                let start = pos;
                while let Some(&c) = b.get(pos) {
                    if c == b' ' || c == b']' {
                        break;
                    }
                    pos += 1;
                }
                CompactString::from(sub(line, start, pos))
            };
            if !id.is_empty() && !name.is_empty() {
                put_sd_param(event, id, name, value);
            }
        }
    }
    pos
}

/// Reads a PARAM-VALUE after its opening quote: returns the unescaped value and the index after
/// the closing quote (or the end of the line when it is missing).
fn quoted_value(line: &str, start: usize) -> (CompactString, usize) {
    let b = line.as_bytes();
    let rest = b.get(start..).unwrap_or_default();
    // Fast path: no escapes before the closing quote.
    match crate::parse::find_byte2(b'"', b'\\', rest) {
        Some(i) if rest[i] == b'"' => {
            return (
                CompactString::from(sub(line, start, start + i)),
                start + i + 1,
            );
        }
        None => {
            return (
                CompactString::from(sub(line, start, line.len())),
                line.len(),
            );
        }
        _ => {}
    }
    let mut out = CompactString::default();
    let mut pos = start;
    let mut chunk = start;
    while let Some(&c) = b.get(pos) {
        match c {
            b'"' => {
                out.push_str(sub(line, chunk, pos));
                return (out, pos + 1);
            }
            // RFC 5424 §6.3.3: `\"`, `\\` and `\]` are escapes; a backslash before anything else
            // is kept as it is.
            b'\\' if matches!(b.get(pos + 1), Some(b'"' | b'\\' | b']')) => {
                out.push_str(sub(line, chunk, pos));
                chunk = pos + 1;
                pos += 2;
            }
            _ => pos += 1,
        }
    }
    out.push_str(sub(line, chunk, line.len()));
    (out, line.len())
}

fn put_sd_param(event: &mut Event, id: &str, name: &str, value: CompactString) {
    const PREFIX: &str = "log.syslog.structured_data.";
    let mut key = CompactString::with_capacity(PREFIX.len() + id.len() + 1 + name.len());
    key.push_str(PREFIX);
    key.push_str(id);
    key.push('.');
    key.push_str(name);
    match event.remove(&key) {
        // A parameter repeated within an element (RFC 5424 allows it): keep every value.
        Some(Value::List(mut items)) => {
            items.to_mut().push(Value::Str(value));
            event.insert(key, Value::List(items));
        }
        Some(previous) => event.insert(key, Value::List(vec![previous, Value::Str(value)].into())),
        None => event.insert(key, Value::Str(value)),
    }
}

/// A pid: 1-18 ASCII digits (so it fits an `i64`).
fn parse_pid(s: &str) -> Option<i64> {
    if s.is_empty() || s.len() > 18 {
        return None;
    }
    let mut pid = 0i64;
    for c in s.bytes() {
        if !c.is_ascii_digit() {
            return None;
        }
        pid = pid * 10 + i64::from(c - b'0');
    }
    Some(pid)
}

/// The parts of an RFC 3164 header, borrowed from the line.
#[derive(Debug, Default)]
struct Header3164<'a> {
    priority: Option<u8>,
    /// Facility and severity from a BSD syslogd `-v` / `-vv` marker.
    bsd_marker: Option<(u8, u8)>,
    timestamp: Option<DateTime<Utc>>,
    hostname: &'a str,
    program: &'a str,
    pid: &'a str,
    version: &'a str,
    message: &'a str,
}

impl Header3164<'_> {
    fn into_parsed(self, line: &str) -> Parsed {
        let mut event = new_event(line);
        event.logsource = syslog_logsource();
        event.timestamp = self.timestamp;
        let pri = match (self.priority, self.bsd_marker) {
            (Some(pri), _) => Some(pri),
            (None, Some((facility, severity))) => Some(facility * 8 + severity),
            (None, None) => None,
        };
        if let Some(pri) = pri {
            put_priority(&mut event, pri);
        }
        if !self.hostname.is_empty() {
            event.insert_static(static_name!("host.hostname"), self.hostname);
        }
        if !self.program.is_empty() {
            event.insert_static(static_name!("process.name"), self.program);
        }
        if !self.pid.is_empty() {
            match parse_pid(self.pid) {
                Some(pid) => event.insert_static(static_name!("process.pid"), Value::Int(pid)),
                None => event.insert_static(static_name!("log.syslog.procid"), self.pid),
            }
        }
        if !self.version.is_empty() {
            event.insert_static(static_name!("service.version"), self.version);
        }
        event.insert_static(static_name!("message"), self.message);
        if !self.program.is_empty() {
            programs::decode_parts(self.program, self.message, &mut event);
        }
        Parsed {
            event,
            format: Format::Rfc3164,
        }
    }
}

fn parse_3164_header<'a>(
    line: &'a str,
    pri: Option<(u8, usize)>,
    options: &ParseOptions,
    now: DateTime<Utc>,
) -> Option<Header3164<'a>> {
    let b = line.as_bytes();
    let mut header = Header3164 {
        priority: pri.map(|p| p.0),
        ..Header3164::default()
    };
    let mut pos = pri.map_or(0, |p| p.1);
    while b.get(pos) == Some(&b' ') {
        pos += 1;
    }

    // TIMESTAMP
    let rest = b.get(pos..).unwrap_or_default();
    let mut have_time = false;
    if rest.first().is_some_and(u8::is_ascii_digit) {
        if let Some((stamp, used)) = time::parse_iso8601_prefix(rest) {
            let mut end = pos + used;
            if b.get(end) == Some(&b':') {
                end += 1;
            }
            if matches!(b.get(end), None | Some(b' ')) {
                header.timestamp = stamp.resolve(options.timezone);
                have_time = true;
                pos = end;
            }
        }
    } else if let Some((stamp, used)) = time::parse_bsd_prefix(rest) {
        header.timestamp = stamp.resolve(options.timezone, now);
        have_time = true;
        pos += used;
    } else if let Some((stamp, used)) = time::parse_journal_full_prefix(rest) {
        // journalctl -o short-full: `Thu 2015-04-16 18:02:50 UTC host prog[pid]: msg`
        header.timestamp = stamp.resolve(options.timezone);
        have_time = true;
        pos += used;
    }
    if !have_time && pri.is_none() {
        // Neither PRI nor timestamp: only the exported-journal shape `host prog[pid]: msg` counts.
        return journal_line(line);
    }
    while b.get(pos) == Some(&b' ') {
        pos += 1;
    }

    if is_repeat_notice(b.get(pos..).unwrap_or_default()) {
        header.message = sub(line, pos, line.len());
        return Some(header);
    }

    // BSD syslogd -v / -vv: `<4.3>` or `<auth.info>` before the hostname.
    if b.get(pos) == Some(&b'<')
        && let Some(close) = crate::parse::find_byte(
            b'>',
            b.get(pos..(pos + 24).min(b.len())).unwrap_or_default(),
        )
        && matches!(b.get(pos + close + 1), None | Some(b' '))
        && let Some(marker) = bsd_marker(sub(line, pos + 1, pos + close))
    {
        header.bsd_marker = Some(marker);
        pos += close + 1;
        while b.get(pos) == Some(&b' ') {
            pos += 1;
        }
    }

    // HOSTNAME, unless the first word is already the tag (`prog:` or `prog[pid]`).
    let (word, word_end) = token(line, pos);
    if word.is_empty() {
        header.message = sub(line, pos, line.len());
        return Some(header);
    }
    if is_hostname(word) {
        header.hostname = word;
        pos = word_end;
        // Exactly one space separates hostname and tag; a second one means an empty tag.
        if b.get(pos) == Some(&b' ') {
            pos += 1;
        }
        if is_repeat_notice(b.get(pos..).unwrap_or_default()) {
            header.message = sub(line, pos, line.len());
            return Some(header);
        }
    }
    parse_tag(line, pos, &mut header);
    Some(header)
}

/// Whether the first word after the timestamp is a hostname rather than the tag: letters,
/// digits, `.`, `-`, `_`, and `:` inside (IPv6), not ending with a colon (`prog:` is a tag).
/// Like rsyslog, a word with other characters (`#001`, `sshd[42]:`, `[sshd]`) is taken as the tag.
fn is_hostname(word: &str) -> bool {
    !word.ends_with(':')
        && word
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b':'))
}

/// Reads `program[pid]:` / `program:` / `program ` at `pos` and sets the program, pid and
/// message of `header`.
fn parse_tag<'a>(line: &'a str, mut pos: usize, header: &mut Header3164<'a>) {
    let b = line.as_bytes();
    if b.get(pos) == Some(&b' ') {
        // Empty tag: everything after the separator is the message.
        while b.get(pos) == Some(&b' ') {
            pos += 1;
        }
        header.message = sub(line, pos, line.len());
        return;
    }
    let start = pos;
    while let Some(&c) = b.get(pos) {
        if matches!(c, b':' | b'[' | b' ') {
            break;
        }
        pos += 1;
    }
    header.program = sub(line, start, pos);
    match b.get(pos) {
        Some(b'[') => {
            let window = b.get(pos + 1..(pos + 66).min(b.len())).unwrap_or_default();
            if let Some(close) = crate::parse::find_byte(b']', window) {
                let inside = sub(line, pos + 1, pos + 1 + close);
                if header.program.is_empty() && !inside.bytes().all(|c| c.is_ascii_digit()) {
                    // `[sshd]:` – the bracketed word is the program.
                    header.program = inside;
                } else {
                    header.pid = inside;
                }
                pos += close + 2;
                if b.get(pos) == Some(&b':') {
                    pos += 1;
                }
            }
        }
        Some(b':') => pos += 1,
        Some(b' ') => {
            // sysklogd: `syslogd 1.4.1: restart.` – a version number between name and colon.
            let (word, end) = token(line, pos + 1);
            if let Some(version) = word.strip_suffix(':')
                && version.bytes().next().is_some_and(|c| c.is_ascii_digit())
                && version.contains('.')
                && version.bytes().all(|c| c.is_ascii_digit() || c == b'.')
            {
                header.version = version;
                pos = end;
            }
        }
        _ => {}
    }
    if b.get(pos) == Some(&b' ') {
        pos += 1;
    }
    header.message = sub(line, pos, line.len());
}

/// `last message repeated N times` (and BSD's `--- last message repeated N times ---`).
fn is_repeat_notice(rest: &[u8]) -> bool {
    rest.starts_with(b"last message repeated ") || rest.starts_with(b"--- last message repeated ")
}

/// A BSD syslogd `-v` (`4.3`) or `-vv` (`auth.info`) marker: (facility, severity).
fn bsd_marker(inside: &str) -> Option<(u8, u8)> {
    let (facility, severity) = inside.split_once('.')?;
    let facility = match facility.parse::<u8>() {
        Ok(code) if code < 24 => code,
        Ok(_) => return None,
        Err(_) => facility_code(facility)?,
    };
    let severity = match severity.parse::<u8>() {
        Ok(code) if code < 8 => code,
        Ok(_) => return None,
        Err(_) => severity_code(severity)?,
    };
    Some((facility, severity))
}

/// The code of a facility name as syslog.conf writes it (`auth`, `authpriv`, `local3`, ...).
pub fn facility_code(name: &str) -> Option<u8> {
    if name.eq_ignore_ascii_case("kernel") {
        return Some(0);
    }
    FACILITY_NAMES
        .iter()
        .position(|n| n.eq_ignore_ascii_case(name))
        .map(|pos| pos as u8)
}

/// The code of a severity name as syslog.conf writes it (`err`, `error`, `warn`, `panic`, ...).
pub fn severity_code(name: &str) -> Option<u8> {
    if let Some(pos) = SEVERITY_NAMES
        .iter()
        .position(|n| n.eq_ignore_ascii_case(name))
    {
        return Some(pos as u8);
    }
    Some(match name.to_ascii_lowercase().as_str() {
        "panic" => 0,
        "error" => 3,
        "warn" => 4,
        _ => return None,
    })
}

/// `host program[pid]: message` without timestamp or PRI (journal exports, fail2ban's journal
/// backend). Strict, so that free text is not mistaken for syslog: a hostname made of letters,
/// digits, `.`, `-` and `_`, one space, a program name without spaces, a numeric pid in brackets,
/// a colon and a space.
fn journal_line(line: &str) -> Option<Header3164<'_>> {
    let b = line.as_bytes();
    let (host, host_end) = token(line, 0);
    if host.is_empty()
        || !host
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))
    {
        return None;
    }
    let mut header = Header3164 {
        hostname: host,
        ..Header3164::default()
    };
    let start = host_end + 1;
    let open = start + crate::parse::find_byte(b'[', b.get(start..(start + 128).min(b.len()))?)?;
    let program = sub(line, start, open);
    if program.is_empty() || program.contains(' ') || program.contains(':') {
        return None;
    }
    let close =
        open + 1 + crate::parse::find_byte(b']', b.get(open + 1..(open + 24).min(b.len()))?)?;
    let pid = sub(line, open + 1, close);
    parse_pid(pid)?;
    if b.get(close + 1) != Some(&b':') || !matches!(b.get(close + 2), None | Some(b' ')) {
        return None;
    }
    header.program = program;
    header.pid = pid;
    header.message = sub(line, (close + 3).min(line.len()), line.len());
    Some(header)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 6, 1, 0, 0, 0).unwrap()
    }

    fn parse_line(line: &str) -> Parsed {
        parse(line, &ParseOptions::default(), now())
            .unwrap_or_else(|| panic!("not syslog: {line:?}"))
    }

    fn get(e: &Event, name: &str) -> Option<String> {
        e.get(name).map(|v| v.to_text().into_owned())
    }

    #[test]
    fn rfc5424_example_with_structured_data() {
        let p = parse_line(
            r#"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"] BOMAn application event log entry..."#,
        );
        assert_eq!(p.format, Format::Rfc5424);
        let e = &p.event;
        assert_eq!(
            e.timestamp,
            Some(
                Utc.with_ymd_and_hms(2003, 10, 11, 22, 14, 15).unwrap()
                    + chrono::TimeDelta::milliseconds(3)
            )
        );
        assert_eq!(get(e, "log.syslog.priority").as_deref(), Some("165"));
        assert_eq!(
            get(e, "log.syslog.facility.name").as_deref(),
            Some("local4")
        );
        assert_eq!(
            get(e, "log.syslog.severity.name").as_deref(),
            Some("notice")
        );
        assert_eq!(get(e, "log.syslog.version").as_deref(), Some("1"));
        assert_eq!(
            get(e, "host.hostname").as_deref(),
            Some("mymachine.example.com")
        );
        assert_eq!(get(e, "log.syslog.appname").as_deref(), Some("evntslog"));
        assert_eq!(get(e, "log.syslog.msgid").as_deref(), Some("ID47"));
        assert!(e.get("process.pid").is_none());
        assert_eq!(
            get(e, "log.syslog.structured_data.exampleSDID@32473.eventID").as_deref(),
            Some("1011")
        );
        assert_eq!(
            get(e, "log.syslog.structured_data.examplePriority@32473.class").as_deref(),
            Some("high")
        );
        assert_eq!(e.message(), Some("BOMAn application event log entry..."));
    }

    #[test]
    fn rfc5424_escapes_nil_and_bom() {
        let p = parse_line(
            r#"<34>1 2026-07-23T09:30:45+02:00 host app 123 msg [meta@32473 value="escaped\]bracket" quote="\"" path="C:\dir"] payload"#,
        );
        let e = &p.event;
        assert_eq!(
            get(e, "log.syslog.structured_data.meta@32473.value").as_deref(),
            Some("escaped]bracket")
        );
        assert_eq!(
            get(e, "log.syslog.structured_data.meta@32473.quote").as_deref(),
            Some("\"")
        );
        assert_eq!(
            get(e, "log.syslog.structured_data.meta@32473.path").as_deref(),
            Some("C:\\dir")
        );
        assert_eq!(get(e, "process.pid").as_deref(), Some("123"));
        assert_eq!(
            e.timestamp,
            Some(Utc.with_ymd_and_hms(2026, 7, 23, 7, 30, 45).unwrap())
        );
        assert_eq!(e.message(), Some("payload"));

        let p = parse_line("<13>1 - - - - - - minimal");
        assert_eq!(p.format, Format::Rfc5424);
        assert_eq!(p.event.timestamp, None);
        assert!(p.event.get("host.hostname").is_none());
        assert_eq!(p.event.message(), Some("minimal"));

        let p = parse_line("<13>1 - - - - - - \u{feff}text");
        assert_eq!(p.event.message(), Some("text"));
        let p = parse_line(r#"<13>1 - h a - - [x@1 k="1" k="2"]"#);
        assert_eq!(
            get(&p.event, "log.syslog.structured_data.x@1.k").as_deref(),
            Some(r#"["1","2"]"#)
        );
    }

    #[test]
    fn rfc3164_variants() {
        // line, hostname, program, pid, message
        type Case<'a> = (
            &'a str,
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a str>,
            &'a str,
        );
        let cases: &[Case] = &[
            // line, hostname, program, pid, message
            (
                "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
                Some("mymachine"),
                Some("su"),
                None,
                "'su root' failed for lonvick on /dev/pts/8",
            ),
            (
                "<38>Mar 27 19:06:53 source_server sshd(pam_unix)[12750]: session opened for user foo by (uid=0)",
                Some("source_server"),
                Some("sshd(pam_unix)"),
                Some("12750"),
                "session opened for user foo by (uid=0)",
            ),
            (
                "<6>AUG 10 22:18:24 host tag This msg",
                Some("host"),
                Some("tag"),
                None,
                "This msg",
            ),
            (
                "<27>xapi: [error|xen3] Connection",
                None,
                Some("xapi"),
                None,
                "[error|xen3] Connection",
            ),
            (
                "Nov 23 21:50:19 sshd[8148]: Disconnecting",
                None,
                Some("sshd"),
                Some("8148"),
                "Disconnecting",
            ),
            (
                "Mar  3 00:17:22 [sshd]: User root from 211.188.220.49",
                None,
                Some("sshd"),
                None,
                "User root from 211.188.220.49",
            ),
            (
                "Jun 19 04:09:11 combo syslogd 1.4.1: restart.",
                Some("combo"),
                Some("syslogd"),
                None,
                "restart.",
            ),
            (
                "<6>AUG 10 22:18:24 2009  netips-warden2-p [audit] user=x",
                Some("2009"),
                None,
                None,
                "netips-warden2-p [audit] user=x",
            ),
            ("<14>Aug 30 23:00:05 X4711", Some("X4711"), None, None, ""),
            ("<14>Aug 30 23:00:05 ", None, None, None, ""),
            (
                "Feb 12 10:00:00 host last message repeated 3 times",
                Some("host"),
                None,
                None,
                "last message repeated 3 times",
            ),
            (
                "Mar 11 22:52:12   lighttpd[53690]: (mod_fastcgi.c.2676) x",
                None,
                Some("lighttpd"),
                Some("53690"),
                "(mod_fastcgi.c.2676) x",
            ),
            (
                "2015-04-16T18:02:50.321974+00:00 host sshd[2716]: x",
                Some("host"),
                Some("sshd"),
                Some("2716"),
                "x",
            ),
            (
                "srv sshd[13709]: error: PAM: Authentication failure",
                Some("srv"),
                Some("sshd"),
                Some("13709"),
                "error: PAM: Authentication failure",
            ),
            (
                "Apr  2 17:51:27 <4.3> pancake sshd[55624]: error",
                Some("pancake"),
                Some("sshd"),
                Some("55624"),
                "error",
            ),
            (
                "Thu 2015-04-16 18:02:50 UTC host sshd[2716]: x",
                Some("host"),
                Some("sshd"),
                Some("2716"),
                "x",
            ),
        ];
        for (line, host, program, pid, message) in cases {
            let p = parse_line(line);
            assert_eq!(p.format, Format::Rfc3164, "{line}");
            let e = &p.event;
            assert_eq!(get(e, "host.hostname").as_deref(), *host, "{line}");
            assert_eq!(get(e, "process.name").as_deref(), *program, "{line}");
            assert_eq!(get(e, "process.pid").as_deref(), *pid, "{line}");
            assert_eq!(e.message(), Some(*message), "{line}");
            assert_eq!(e.original(), Some(*line));
        }
    }

    #[test]
    fn priorities_and_bsd_markers() {
        let e = parse_line("Feb 18 16:01:59 serverX -- MARK --").event;
        assert_eq!(get(&e, "log.syslog.priority"), None);
        assert_eq!(get(&e, "log.syslog.facility.name"), None);
        let e = parse_line(
            "Mar 19 23:48:18 <auth.info> pancake sshd[55517]: Invalid user r00t from 183.60.159.20",
        )
        .event;
        assert_eq!(get(&e, "log.syslog.priority").as_deref(), Some("38"));
        let e = parse_line("Apr  2 17:51:27 <4.3> pancake sshd[55624]: x").event;
        assert_eq!(get(&e, "log.syslog.severity.name").as_deref(), Some("err"));
        assert!(parse_pri(b"<192>").is_none());
        assert!(parse_pri(b"<>").is_none());
        assert!(parse_pri(b"<1234>").is_none());
        assert_eq!(parse_pri(b"<0>x"), Some((0, 3)));
    }

    #[test]
    fn not_syslog() {
        for line in [
            "This is a message!",
            "",
            "2013-01-04 17:03:46 login authenticator failed for x",
            "[Sat Jun 01 02:17:42 2013] [error] [client 192.168.33.1] File does not exist",
            "192.0.2.1 - - [05/Mar/2007:14:39:21 +0100] \"GET / HTTP/1.0\" 301 459",
            "{\"a\":1}",
            "Error parsing: something",
            "host prog: no pid is too loose",
        ] {
            assert!(
                parse(line, &ParseOptions::default(), now()).is_none(),
                "{line}"
            );
        }
    }

    #[test]
    fn timestamps_in_the_configured_zone() {
        let options = ParseOptions {
            timezone: chrono_tz::Europe::Paris,
            ..ParseOptions::default()
        };
        let now = Utc.with_ymd_and_hms(2005, 8, 14, 10, 0, 0).unwrap();
        let e = parse("Nov  4 18:30:40 h p: m", &options, now)
            .unwrap()
            .event;
        assert_eq!(
            e.timestamp,
            Some(Utc.with_ymd_and_hms(2004, 11, 4, 17, 30, 40).unwrap())
        );
        let e = parse("<38>Mar 7 2008 19:06:53: example tag: m", &options, now)
            .unwrap()
            .event;
        assert_eq!(
            e.timestamp,
            Some(Utc.with_ymd_and_hms(2008, 3, 7, 18, 6, 53).unwrap())
        );
        assert_eq!(get(&e, "host.hostname").as_deref(), Some("example"));
    }

    mod properties {
        use super::*;
        use chrono::{FixedOffset, SecondsFormat};
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            /// Arbitrary text never panics; syslog-looking text neither.
            #[test]
            fn total_on_arbitrary_strings(s in any::<String>()) {
                let _ = parse(&s, &ParseOptions::default(), now());
            }

            #[test]
            fn total_on_syslog_like_strings(
                s in "(<[0-9]{1,3}>)?( ?[0-9]{1,2} )?([A-Za-z]{3} {1,2}[0-9]{1,2}( [0-9]{4})? [0-9]{1,2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,9})?:?|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,12})?(Z|[+-][0-9]{2}:?[0-9]{2})?|-)? [ -~\u{e9}\u{feff}]{0,80}",
                zone in 0usize..3,
            ) {
                let tz = [chrono_tz::UTC, chrono_tz::Europe::Paris, chrono_tz::Pacific::Auckland][zone];
                let options = ParseOptions { timezone: tz, ..ParseOptions::default() };
                if let Some(p) = parse(&s, &options, now()) {
                    prop_assert_eq!(p.event.original(), Some(s.as_str()));
                    let message = p.event.message().unwrap_or_default();
                    prop_assert!(s.contains(message));
                }
            }

            /// An RFC 5424 line built from random header fields reads back to the same fields.
            #[test]
            fn rfc5424_round_trip(
                pri in 0u8..192,
                seconds in 0i64..4_102_444_800,
                nanos in prop_oneof![Just(0u32), 0u32..1_000_000_000],
                offset_minutes in -14i32 * 60..=14 * 60,
                host in "[!-~]{1,40}",
                app in "[!-~]{1,48}",
                pid in prop_oneof![(1u32..4_000_000).prop_map(|p| p.to_string()), "[!-/:-~][!-~]{0,20}"],
                msgid in "[!-~]{1,32}",
                sd in proptest::collection::vec(
                    ("[a-zA-Z][a-zA-Z0-9@._-]{0,20}", proptest::collection::vec(("[a-zA-Z][a-zA-Z0-9_-]{0,10}", "[ -~]{0,20}"), 1..4)),
                    0..3,
                ),
                msg in "[ -~\u{e9}\u{4e2d}]{0,60}",
            ) {
                let offset = FixedOffset::east_opt(offset_minutes * 60).unwrap();
                let ts = Utc.timestamp_opt(seconds, nanos).unwrap().with_timezone(&offset);
                let nil = |s: &str| s == "-";
                let mut structured = String::new();
                // SD-IDs must be unique within a message (RFC 5424 §6.3.2).
                let mut ids = std::collections::BTreeSet::new();
                for (id, params) in &sd {
                    if !ids.insert(id.clone()) {
                        continue;
                    }
                    structured.push('[');
                    structured.push_str(id);
                    for (name, value) in params {
                        let escaped = value.replace('\\', "\\\\").replace('"', "\\\"").replace(']', "\\]");
                        structured.push_str(&format!(" {name}=\"{escaped}\""));
                    }
                    structured.push(']');
                }
                let sd_text = if structured.is_empty() { "-".to_string() } else { structured.clone() };
                let line = format!(
                    "<{pri}>1 {} {host} {app} {pid} {msgid} {sd_text} {msg}",
                    ts.to_rfc3339_opts(SecondsFormat::AutoSi, offset_minutes == 0),
                );
                let parsed = parse(&line, &ParseOptions::default(), now()).unwrap();
                prop_assert_eq!(parsed.format, Format::Rfc5424);
                let e = &parsed.event;
                prop_assert_eq!(e.timestamp, Some(ts.with_timezone(&Utc)));
                prop_assert_eq!(e.get("log.syslog.priority"), Some(&Value::Int(i64::from(pri))));
                prop_assert_eq!(e.get("log.syslog.facility.code"), Some(&Value::Int(i64::from(pri / 8))));
                prop_assert_eq!(e.get("log.syslog.severity.code"), Some(&Value::Int(i64::from(pri % 8))));
                prop_assert_eq!(e.get_str("host.hostname"), (!nil(&host)).then_some(host.as_str()));
                prop_assert_eq!(e.get_str("log.syslog.appname"), (!nil(&app)).then_some(app.as_str()));
                prop_assert_eq!(e.get_str("log.syslog.msgid"), (!nil(&msgid)).then_some(msgid.as_str()));
                match pid.parse::<i64>() {
                    Ok(n) if pid.bytes().all(|c| c.is_ascii_digit()) => prop_assert_eq!(e.get("process.pid"), Some(&Value::Int(n))),
                    _ if nil(&pid) => prop_assert!(e.get("log.syslog.procid").is_none()),
                    _ => prop_assert_eq!(e.get_str("log.syslog.procid"), Some(pid.as_str())),
                }
                let mut seen = std::collections::BTreeSet::new();
                for (id, params) in &sd {
                    if !seen.insert(id.clone()) {
                        continue;
                    }
                    let mut expected: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
                    for (name, value) in params {
                        expected.entry(name.as_str()).or_default().push(value.as_str());
                    }
                    for (name, values) in expected {
                        let key = format!("log.syslog.structured_data.{id}.{name}");
                        let got = e.get(&key);
                        if values.len() == 1 {
                            prop_assert_eq!(got, Some(&Value::from(values[0])), "{}", key);
                        } else {
                            prop_assert_eq!(got, Some(&Value::from(values.clone())), "{}", key);
                        }
                    }
                }
                prop_assert_eq!(e.message(), Some(msg.as_str()));
            }
        }
    }
}
