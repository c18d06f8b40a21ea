//! Parsers: raw log lines in, ECS [`Event`]s out.
//!
//! A [`Parser`] is built once from [`ParseOptions`] (which format, which time zone for
//! timestamps that carry none, the longest line accepted, logsource tags) and then turns each
//! line into a [`Parsed`]: always an event, never an error, because a SIEM must not lose input.
//! A line no format fits still becomes an event holding `event.original`, `message` and the
//! tag [`PARSE_FAILURE_TAG`], with the reason in
//! `error.message`; [`Parsed::format`] says which format was chosen.
//!
//! With [`FormatSpec::Auto`] the format is picked per line from its first bytes, cheapest test
//! first: `{` is JSON, `CEF:` / `LEEF:` are those formats, a `[Www Mon` or `YYYY/MM/DD HH:MM:SS [`
//! start is an Apache / nginx error log, a token followed by ` [dd/Mon/yyyy:` an access log,
//! then syslog (RFC 5424 `<PRI>1 `, RFC 3164), then `key=value`. A syslog message that is
//! itself CEF, LEEF or a netfilter `IN=... SRC=...` line is decoded further.
//!
//! Bad input is data too: invalid UTF-8 is replaced (U+FFFD) and the event tagged
//! [`INVALID_UTF8_TAG`]; a line longer than [`ParseOptions::max_line_bytes`] is cut there,
//! tagged [`TRUNCATED_TAG`] and explained in `error.message`, and the cut text is still parsed.
//!
//! ```
//! use siem_core::parse::{Parser, ParseOptions, Format};
//!
//! let parser = Parser::new(ParseOptions::default()).unwrap();
//! let parsed = parser.parse(b"not a log line anyone knows");
//! assert_eq!(parsed.format, Format::Unparsed);
//! assert_eq!(parsed.event.original(), Some("not a log line anyone knows"));
//!
//! let parsed = parser.parse(br#"203.0.113.7 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 404 12 "-" "curl""#);
//! assert_eq!(parsed.format, Format::ApacheAccess);
//! assert_eq!(parsed.event.get_str("url.path"), Some("/"));
//! ```

use std::borrow::Cow;

use chrono::{DateTime, Utc};

use crate::event::{Event, LogSource, MESSAGE, PARSE_FAILURE_TAG, Value};

pub mod access;
pub mod cef;
pub mod grok;
pub mod json;
pub mod kv;
pub mod leef;
pub mod programs;
pub mod syslog;
pub mod time;

/// The tag added to events whose line was longer than [`ParseOptions::max_line_bytes`] and was
/// cut.
pub const TRUNCATED_TAG: &str = "_siem_line_truncated";

/// The tag added to events whose line was not valid UTF-8 (invalid sequences are replaced by
/// U+FFFD).
pub const INVALID_UTF8_TAG: &str = "_siem_invalid_utf8";

/// A field name for [`Event::insert`] from a string literal: `const`, and for names longer than
/// a `CompactString` holds inline (`winlog.event_data.CommandLine`) a reference instead of a
/// heap copy, so parsers set well-known fields without allocating their names.
pub(crate) const fn k(name: &'static str) -> compact_str::CompactString {
    compact_str::CompactString::const_new(name)
}

/// `s.parse::<IpAddr>()`, with dotted-quad IPv4 (what most log lines hold) read by hand:
/// std's parser tries several shapes through a generic reader and costs a few hundred
/// instructions on the parsers' hot paths. Same result and same rules as std (four decimal
/// octets of one to three digits, no leading zero, at most 255); anything else goes to std.
/// A property test compares the two.
#[inline]
pub(crate) fn parse_ip(s: &str) -> Result<std::net::IpAddr, std::net::AddrParseError> {
    if let Some(octets) = ipv4_octets(s.as_bytes()) {
        return Ok(std::net::IpAddr::from(octets));
    }
    s.parse()
}

/// The four octets of dotted-quad text, read octet by octet with one to three digits each;
/// `None` for anything else (std then decides: a `None` here is never an answer).
#[inline]
fn ipv4_octets(b: &[u8]) -> Option<[u8; 4]> {
    if !(7..=15).contains(&b.len()) {
        return None;
    }
    let digit = |i: usize| b.get(i).map(|c| c.wrapping_sub(b'0')).filter(|d| *d <= 9);
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (k, octet) in octets.iter_mut().enumerate() {
        if k > 0 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let first = digit(i)?;
        let mut value = u32::from(first);
        i += 1;
        if let Some(d) = digit(i) {
            // A leading zero (`01`) is refused, as std does.
            if first == 0 {
                return None;
            }
            value = value * 10 + u32::from(d);
            i += 1;
            if let Some(d) = digit(i) {
                value = value * 10 + u32::from(d);
                i += 1;
                if value > 255 {
                    return None;
                }
            }
        }
        *octet = value as u8;
    }
    (i == b.len()).then_some(octets)
}

/// Bit `i` set for each byte `i` of `chunk` equal to `a` or `b`.
#[inline(always)]
fn eq_mask2(chunk: &[u8; 16], a: u8, b: u8) -> u32 {
    eq_mask(chunk, a) | eq_mask(chunk, b)
}

/// Bit `i` set for each byte `i` of `chunk` equal to `needle`.
#[inline(always)]
fn eq_mask(chunk: &[u8; 16], needle: u8) -> u32 {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        use std::arch::x86_64::{
            _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
        };
        // SAFETY: the SSE2 intrinsics need the `sse2` target feature, which this block is
        // only compiled with (the `cfg` above; it is part of the x86_64 baseline), so the
        // instructions exist on every CPU the program runs on. `_mm_loadu_si128` reads 16
        // bytes from the pointer with no alignment requirement, and `chunk` is a reference to
        // exactly 16 initialised bytes. The others only compute on registers.
        unsafe {
            let bytes = _mm_loadu_si128(chunk.as_ptr().cast());
            // The 16 high bits of the compare result: bits 16..32 of the `i32` are zero.
            _mm_movemask_epi8(_mm_cmpeq_epi8(bytes, _mm_set1_epi8(needle as i8))) as u32
        }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        chunk
            .iter()
            .enumerate()
            .fold(0, |mask, (i, &c)| mask | (u32::from(c == needle) << i))
    }
}

/// `memchr::memchr(needle, hay)`, for the short fields of log lines (an access line's request,
/// time and user agent, a syslog header's words, a decoder's message): 16 bytes per step inline (one compare and a `movemask` with SSE2), where
/// `memchr`'s call and setup cost more than the search. Past 64 bytes, `memchr`.
#[inline]
pub(crate) fn find_byte(needle: u8, hay: &[u8]) -> Option<usize> {
    let len = hay.len();
    if len < 16 {
        return hay.iter().position(|&c| c == needle);
    }
    let mut at = 0;
    while at + 16 <= len {
        if at == 64 {
            return memchr::memchr(needle, &hay[at..]).map(|i| at + i);
        }
        let chunk = hay[at..at + 16].first_chunk().expect("16 bytes");
        let mask = eq_mask(chunk, needle);
        if mask != 0 {
            return Some(at + mask.trailing_zeros() as usize);
        }
        at += 16;
    }
    if at == len {
        return None;
    }
    // The last 16 bytes, of which the first `at - last` were searched already.
    let last = len - 16;
    let chunk = hay[last..].first_chunk().expect("16 bytes");
    let mask = eq_mask(chunk, needle) >> (at - last);
    (mask != 0).then(|| at + mask.trailing_zeros() as usize)
}

/// `memchr::memchr2(a, b, hay)`, searched as [`find_byte`] does. (Written out rather than
/// shared with it through a generic over the byte test and the mask: that form cost an sshd
/// line 350 more instructions, callgrind `parse-loop syslog`, from different inlining.)
#[inline]
pub(crate) fn find_byte2(a: u8, b: u8, hay: &[u8]) -> Option<usize> {
    let len = hay.len();
    if len < 16 {
        return hay.iter().position(|&c| c == a || c == b);
    }
    let mut at = 0;
    while at + 16 <= len {
        if at == 64 {
            return memchr::memchr2(a, b, &hay[at..]).map(|i| at + i);
        }
        let chunk = hay[at..at + 16].first_chunk().expect("16 bytes");
        let mask = eq_mask2(chunk, a, b);
        if mask != 0 {
            return Some(at + mask.trailing_zeros() as usize);
        }
        at += 16;
    }
    if at == len {
        return None;
    }
    let last = len - 16;
    let chunk = hay[last..].first_chunk().expect("16 bytes");
    let mask = eq_mask2(chunk, a, b) >> (at - last);
    (mask != 0).then(|| at + mask.trailing_zeros() as usize)
}

/// A log format: what a caller asks for ([`FormatSpec`] in `ParseOptions`) and what a parser
/// reports having read ([`Parsed::format`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// Syslog, RFC 5424.
    Rfc5424,
    /// Syslog, RFC 3164 (BSD) and its real-world variants.
    Rfc3164,
    /// A JSON object (ECS passes through; Windows and Python/Django records are recognised).
    Json,
    /// Apache access log (common, combined, vhost).
    ApacheAccess,
    /// Apache error log.
    ApacheError,
    /// nginx access log.
    NginxAccess,
    /// nginx error log.
    NginxError,
    /// ArcSight Common Event Format.
    Cef,
    /// IBM QRadar Log Event Extended Format.
    Leef,
    /// `key=value` pairs and logfmt.
    Kv,
    /// A user-supplied grok expression.
    Grok,
    /// Nothing fit: the event holds the raw line and a parse-failure tag.
    Unparsed,
}

impl Format {
    /// The name used in output and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Rfc5424 => "rfc5424",
            Format::Rfc3164 => "rfc3164",
            Format::Json => "json",
            Format::ApacheAccess => "apache_access",
            Format::ApacheError => "apache_error",
            Format::NginxAccess => "nginx_access",
            Format::NginxError => "nginx_error",
            Format::Cef => "cef",
            Format::Leef => "leef",
            Format::Kv => "kv",
            Format::Grok => "grok",
            Format::Unparsed => "unparsed",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Which parser a caller asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum FormatSpec {
    /// Per line, the format that fits (JSON, RFC 5424, RFC 3164, CEF, LEEF, access log, key=value).
    #[default]
    Auto,
    /// Syslog (RFC 5424 or RFC 3164, whichever the line is), with program decoders.
    Syslog,
    /// JSON objects.
    Json,
    /// Apache access or error log.
    Apache,
    /// nginx access or error log.
    Nginx,
    /// CEF.
    Cef,
    /// LEEF.
    Leef,
    /// key=value / logfmt.
    Kv,
    /// A grok expression, e.g. `%{LOGLEVEL:log.level} %{GREEDYDATA:message}`.
    Grok(String),
}

impl std::str::FromStr for FormatSpec {
    type Err = String;

    /// Parses the `--format` argument: `auto|syslog|json|apache|nginx|cef|leef|kv|grok:<expr>`.
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "auto" => FormatSpec::Auto,
            "syslog" => FormatSpec::Syslog,
            "json" => FormatSpec::Json,
            "apache" => FormatSpec::Apache,
            "nginx" => FormatSpec::Nginx,
            "cef" => FormatSpec::Cef,
            "leef" => FormatSpec::Leef,
            "kv" | "logfmt" => FormatSpec::Kv,
            _ => match s.strip_prefix("grok:") {
                Some(expr) => FormatSpec::Grok(expr.to_string()),
                None => {
                    return Err(format!(
                        "unknown format {s:?}: expected auto, syslog, json, apache, nginx, cef, leef, kv or grok:<expression>"
                    ));
                }
            },
        })
    }
}

/// Options for building a [`Parser`].
#[derive(Debug, Clone)]
pub struct ParseOptions {
    /// Which format to read; [`FormatSpec::Auto`] detects per line.
    pub format: FormatSpec,
    /// The zone of timestamps that carry no offset (classic syslog, many application logs).
    pub timezone: chrono_tz::Tz,
    /// "Now", for giving yearless timestamps a year: the year is the reference's, or the
    /// previous one when the date would otherwise lie in the future. `None` means the clock.
    pub reference_time: Option<DateTime<Utc>>,
    /// Lines longer than this many bytes are cut here and tagged; the event keeps the cut line.
    pub max_line_bytes: usize,
    /// Logsource parts to assign. Fills what the parser could not tell; with
    /// [`ParseOptions::logsource_override`] it replaces what it could.
    pub logsource: LogSource,
    /// Whether [`ParseOptions::logsource`] replaces the parser's own logsource parts.
    pub logsource_override: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            format: FormatSpec::Auto,
            timezone: chrono_tz::UTC,
            reference_time: None,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            logsource: LogSource::default(),
            logsource_override: false,
        }
    }
}

/// The default longest line: 1 MiB.
pub const DEFAULT_MAX_LINE_BYTES: usize = 1 << 20;

/// A configuration error found when building a [`Parser`] (a bad grok expression, say).
#[derive(Debug, thiserror::Error)]
pub enum ParseConfigError {
    /// The grok expression does not compile.
    #[error("invalid grok expression: {0}")]
    Grok(String),
}

/// One parsed line: the event and the format it was read as.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The event; for unreadable input it holds the raw line and a parse-failure tag.
    pub event: Event,
    /// The format chosen; [`Format::Unparsed`] when none fit.
    pub format: Format,
}

/// A reusable, thread-safe parser. Building it compiles what the options need (a grok
/// expression); parsing a line allocates only the event's own fields.
///
/// `Parser` is `Send + Sync` and cheap to clone (the compiled grok program is shared).
#[derive(Debug, Clone)]
pub struct Parser {
    options: ParseOptions,
    grok: Option<grok::Grok>,
}

/// Which payload decoder a syslog message calls for (see `Parser::decode_payload`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Payload {
    /// `host CEF:0|...`: the syslog parser took `CEF` / `LEEF` for the program.
    Framed,
    /// A CEF, LEEF, netfilter or web server line inside the message.
    Inner,
}

impl Payload {
    /// The same tests, in the same order, as the decoding that follows; `None` when no payload
    /// decoder applies.
    fn of(payload: &str) -> Option<Payload> {
        (payload.starts_with("CEF:")
            || payload.starts_with("LEEF:")
            || payload.contains("SRC=")
            || access::looks_like_access(payload)
            || access::looks_like_error(payload))
        .then_some(Payload::Inner)
    }
}

/// A new event holding `event.original`, with room for `capacity` fields.
pub(crate) fn new_event(original: &str, capacity: usize) -> Event {
    let mut event = Event::with_capacity(capacity);
    event.insert_static(crate::event::static_name!("event.original"), original);
    event
}

/// Builds the event for a line no format fits.
fn failure_event(text: &str, reason: String) -> Event {
    let mut event = new_event(text, 4);
    event.insert(MESSAGE, text);
    event.insert("error.message", reason);
    event.add_tag(PARSE_FAILURE_TAG);
    event
}

impl Parser {
    /// Builds a parser; fails only on a grok expression that does not compile.
    pub fn new(options: ParseOptions) -> Result<Parser, ParseConfigError> {
        let grok = match &options.format {
            FormatSpec::Grok(expression) => Some(
                grok::Grok::compile(expression)
                    .map_err(|e| ParseConfigError::Grok(e.to_string()))?,
            ),
            _ => None,
        };
        Ok(Parser { options, grok })
    }

    /// The options this parser was built with.
    pub fn options(&self) -> &ParseOptions {
        &self.options
    }

    /// Parses one line. A trailing `\n`, `\r\n` or `\r` is removed. Never fails: see the
    /// [module docs](self).
    pub fn parse(&self, line: &[u8]) -> Parsed {
        self.parse_cut(line, 0)
    }

    /// Parses a line of which a reader already dropped `dropped` bytes (because the line was
    /// longer than its limit, see `siem_collect::lines`). A non-zero `dropped` tags the event
    /// as [`TRUNCATED_TAG`] just like a line this parser cuts itself.
    pub fn parse_cut(&self, line: &[u8], dropped: u64) -> Parsed {
        let mut line = line;
        if let Some(rest) = line.strip_suffix(b"\n") {
            line = rest;
        }
        if let Some(rest) = line.strip_suffix(b"\r") {
            line = rest;
        }
        let mut dropped = dropped;
        let max = self.options.max_line_bytes.max(1);
        if line.len() > max {
            dropped = dropped.saturating_add((line.len() - max) as u64);
            line = &line[..max];
        }
        let (text, lossy) = match std::str::from_utf8(line) {
            Ok(s) => (Cow::Borrowed(s), false),
            // A cut in the middle of a character is ours, not the input's fault.
            Err(e) if dropped > 0 && e.error_len().is_none() => (
                Cow::Borrowed(std::str::from_utf8(&line[..e.valid_up_to()]).unwrap_or_default()),
                false,
            ),
            Err(_) => (String::from_utf8_lossy(line), true),
        };
        let now = self.options.reference_time.unwrap_or_else(Utc::now);
        let (mut event, format) = match self.dispatch(&text, now) {
            Ok(parsed) => parsed,
            Err(reason) => (failure_event(&text, reason), Format::Unparsed),
        };
        if lossy {
            event.add_tag(INVALID_UTF8_TAG);
        }
        if dropped > 0 {
            event.add_tag(TRUNCATED_TAG);
            let note = format!(
                "line longer than max_line_bytes ({max}): cut after {} bytes, {dropped} bytes dropped",
                line.len()
            );
            let message = match event.get_str("error.message") {
                Some(previous) => format!("{note}; {previous}"),
                None => note,
            };
            event.insert("error.message", message);
        }
        self.apply_logsource(&mut event);
        Parsed { event, format }
    }

    fn dispatch(&self, text: &str, now: DateTime<Utc>) -> Result<(Event, Format), String> {
        let tz = self.options.timezone;
        match &self.options.format {
            FormatSpec::Auto => self.auto(text, now),
            FormatSpec::Syslog => self
                .syslog(text, now)
                .ok_or_else(|| "not a syslog line (RFC 5424 or RFC 3164)".to_string()),
            FormatSpec::Json => json::parse(text, tz, now)
                .map(|e| (e, Format::Json))
                .map_err(|e| e.to_string()),
            FormatSpec::Apache => self.access(text, access::Server::Apache, now),
            FormatSpec::Nginx => self.access(text, access::Server::Nginx, now),
            FormatSpec::Cef => cef::parse(text, tz, now)
                .map(|e| (e, Format::Cef))
                .map_err(|e| e.to_string()),
            FormatSpec::Leef => leef::parse(text, tz, now)
                .map(|e| (e, Format::Leef))
                .map_err(|e| e.to_string()),
            FormatSpec::Kv => kv::parse(text, tz, now)
                .map(|e| (e, Format::Kv))
                .map_err(|e| e.to_string()),
            FormatSpec::Grok(_) => match &self.grok {
                Some(g) => g
                    .parse(text, tz, now)
                    .map(|e| (e, Format::Grok))
                    .ok_or_else(|| {
                        format!(
                            "line does not match the grok expression {:?}",
                            g.expression()
                        )
                    }),
                None => Err("grok expression not compiled".to_string()),
            },
        }
    }

    fn access(
        &self,
        text: &str,
        server: access::Server,
        now: DateTime<Utc>,
    ) -> Result<(Event, Format), String> {
        let mut event = new_event(text, access::EVENT_CAPACITY);
        access::decode(text, server, self.options.timezone, now, &mut event)
            .map(|format| (event, format))
            .map_err(|e| e.to_string())
    }

    /// Syslog, then the payload decoders that apply to a syslog message.
    fn syslog(&self, text: &str, now: DateTime<Utc>) -> Option<(Event, Format)> {
        // The event is changed in place: handing it to `decode_payload` and back by value
        // copied the whole `Event` (a `memcpy` call each way) on every line.
        let Parsed {
            mut event,
            mut format,
        } = syslog::parse(text, &self.options, now)?;
        self.decode_payload(&mut event, &mut format, now);
        Some((event, format))
    }

    /// Decodes what a syslog message carries: the program decoders (sshd, sudo, ...), then
    /// CEF, LEEF, a netfilter `LOG` line, or a web server's access/error line. The syslog fields
    /// stay; the payload's fields are added and the payload's format is reported.
    fn decode_payload(&self, event: &mut Event, format: &mut Format, now: DateTime<Utc>) {
        // A program a decoder knows (sshd, sudo, cron, ...: the decoder set a service other
        // than `syslog`) writes its own messages, never CEF, LEEF, netfilter or web server
        // lines; running those tests would only risk reading a user-chosen command line as one.
        if event
            .logsource
            .service
            .as_deref()
            .is_some_and(|s| s != "syslog")
        {
            return;
        }
        let tz = self.options.timezone;
        // `host CEF:0|...` reads as the program `CEF` with the message `0|...`: put the
        // payload back together, it was never a program.
        let framing = match event.get_str("process.name") {
            Some("CEF" | "LEEF") if event.get("process.pid").is_none() => Some(()),
            _ => None,
        };
        // Decide on the borrowed message which decoder applies (most lines: none), and copy
        // the message out of the event only for that decoder, which writes to the event.
        let payload_kind = match framing {
            Some(_) => Some(Payload::Framed),
            None => event.message().and_then(|m| Payload::of(m.trim_start())),
        };
        let Some(kind) = payload_kind else {
            return;
        };
        let message = match kind {
            Payload::Framed => {
                let name = event.remove("process.name");
                let name = name.as_ref().and_then(Value::as_str).unwrap_or_default();
                event.message().map(|m| format!("{name}:{m}"))
            }
            _ => event.message().map(str::to_string),
        };
        if let Some(message) = message {
            let payload = message.trim_start();
            if payload.starts_with("CEF:") {
                if cef::decode(payload, tz, now, event).is_ok() {
                    *format = Format::Cef;
                }
            } else if payload.starts_with("LEEF:") {
                if leef::decode(payload, tz, now, event).is_ok() {
                    *format = Format::Leef;
                }
            } else if payload.contains("SRC=") {
                kv::decode_netfilter(payload, event);
            } else if access::looks_like_access(payload) || access::looks_like_error(payload) {
                // A web server logging through syslog (nginx `access_log syslog:...`).
                let program = event
                    .get_str("process.name")
                    .or_else(|| event.get_str("log.syslog.appname"));
                let server = match program {
                    Some(p) if p.starts_with("nginx") => access::Server::Nginx,
                    Some(p) if p.starts_with("apache") || p.starts_with("httpd") => {
                        access::Server::Apache
                    }
                    _ => access::Server::Unknown,
                };
                let mut decoded = event.clone();
                if let Ok(web) = access::decode(payload, server, tz, now, &mut decoded) {
                    *event = decoded;
                    *format = web;
                }
            }
        }
    }

    fn auto(&self, text: &str, now: DateTime<Utc>) -> Result<(Event, Format), String> {
        let tz = self.options.timezone;
        let start = text.trim_start();
        let mut json_error = None;
        match start.as_bytes().first() {
            None => return Err("empty line".to_string()),
            Some(b'{') => match json::parse(text, tz, now) {
                Ok(event) => return Ok((event, Format::Json)),
                Err(e) => json_error = Some(e.to_string()),
            },
            Some(b'C') if start.starts_with("CEF:") => {
                return cef::parse(text, tz, now)
                    .map(|e| (e, Format::Cef))
                    .map_err(|e| e.to_string());
            }
            Some(b'L') if start.starts_with("LEEF:") => {
                return leef::parse(text, tz, now)
                    .map(|e| (e, Format::Leef))
                    .map_err(|e| e.to_string());
            }
            _ => {}
        }
        if (access::looks_like_error(text) || access::looks_like_access(text))
            && let Ok(parsed) = self.access(text, access::Server::Unknown, now)
        {
            return Ok(parsed);
        }
        if let Some(parsed) = self.syslog(text, now) {
            return Ok(parsed);
        }
        // CEF / LEEF after a header no parser above took (an unusual syslog header, a
        // collector's prefix): the text before the marker is skipped, as Elastic's decode_cef does.
        let b = text.as_bytes();
        if memchr::memmem::find(b, b"CEF:").is_some()
            && let Ok(event) = cef::parse(text, tz, now)
        {
            return Ok((event, Format::Cef));
        }
        if memchr::memmem::find(b, b"LEEF:").is_some()
            && let Ok(event) = leef::parse(text, tz, now)
        {
            return Ok((event, Format::Leef));
        }
        let mut event = new_event(text, 32);
        if kv::decode(text, tz, now, 2, &mut event).is_ok() {
            return Ok((event, Format::Kv));
        }
        Err(match json_error {
            Some(e) => format!("starts like JSON but is not: {e}"),
            None => {
                "no format matched (tried JSON, CEF, LEEF, access/error log, syslog, key=value)"
                    .to_string()
            }
        })
    }

    fn apply_logsource(&self, event: &mut Event) {
        if self.options.logsource_override {
            event.logsource.override_with(&self.options.logsource);
        } else {
            event.logsource.fill_from(&self.options.logsource);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Value;

    fn auto() -> Parser {
        Parser::new(ParseOptions::default()).unwrap()
    }

    mod ip {
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(5000))]

            /// The hand-written IPv4 reader agrees with std on dotted text of any shape.
            #[test]
            fn parse_ip_matches_std(s in "[0-9.]{0,17}|[0-9a-f:.]{0,20}|[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,4}") {
                prop_assert_eq!(super::super::parse_ip(&s).ok(), s.parse::<std::net::IpAddr>().ok());
            }

            /// The inline byte search finds what `memchr` finds, in texts of every length
            /// around the 16-byte steps and the 64-byte hand-over.
            #[test]
            fn find_byte_matches_memchr(
                hay in proptest::collection::vec(prop_oneof![Just(b' '), Just(b'"'), Just(b'?'), any::<u8>()], 0..150),
                needle in prop_oneof![Just(b' '), Just(b'"'), any::<u8>()],
            ) {
                prop_assert_eq!(super::super::find_byte(needle, &hay), memchr::memchr(needle, &hay));
                prop_assert_eq!(super::super::find_byte2(needle, b'?', &hay), memchr::memchr2(needle, b'?', &hay));
            }

            #[test]
            fn parse_ip_reads_every_ipv4(a: u8, b: u8, c: u8, d: u8) {
                let ip = std::net::IpAddr::from([a, b, c, d]);
                prop_assert_eq!(super::super::parse_ip(&ip.to_string()).ok(), Some(ip));
            }
        }
    }

    #[test]
    fn auto_detects_formats() {
        let p = auto();
        let cases: [(&[u8], Format); 8] = [
            (br#"{"message":"hi"}"#, Format::Json),
            (b"CEF:0|V|P|1|sig|name|5|src=1.2.3.4", Format::Cef),
            (b"LEEF:1.0|V|P|1|E|src=1.2.3.4\tdst=5.6.7.8", Format::Leef),
            (br#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1 "-" "-""#, Format::ApacheAccess),
            (b"[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6", Format::ApacheError),
            (b"2021/12/01 13:53:33 [error] 31#31: *46 open() failed, client: 172.17.0.1, server: localhost", Format::NginxError),
            (b"level=info msg=\"started\" port=80", Format::Kv),
            (b"just words", Format::Unparsed),
        ];
        for (line, format) in cases {
            let parsed = p.parse(line);
            assert_eq!(parsed.format, format, "{}", String::from_utf8_lossy(line));
            assert_eq!(
                parsed.event.has_tag(PARSE_FAILURE_TAG),
                format == Format::Unparsed
            );
        }
        let failed = p.parse(b"{not json");
        assert!(
            failed
                .event
                .get_str("error.message")
                .unwrap()
                .starts_with("starts like JSON")
        );
    }

    #[test]
    fn invalid_utf8_and_cut_lines() {
        let p = Parser::new(ParseOptions {
            max_line_bytes: 10,
            ..ParseOptions::default()
        })
        .unwrap();
        let parsed = p.parse(b"abc\xffdef\r\n");
        assert!(parsed.event.has_tag(INVALID_UTF8_TAG));
        assert_eq!(parsed.event.original(), Some("abc\u{FFFD}def"));
        let parsed = p.parse("0123456789é-tail".as_bytes());
        assert!(parsed.event.has_tag(TRUNCATED_TAG));
        assert!(!parsed.event.has_tag(INVALID_UTF8_TAG));
        assert_eq!(parsed.event.original(), Some("0123456789"));
        // Cutting inside a character drops the partial character, not a U+FFFD.
        let parsed = p.parse("012345678é".as_bytes());
        assert_eq!(parsed.event.original(), Some("012345678"));
        assert!(
            parsed
                .event
                .get_str("error.message")
                .unwrap()
                .contains("1 bytes dropped")
        );
        let parsed = auto().parse_cut(b"a=1 b=2", 100);
        assert_eq!(parsed.format, Format::Kv);
        assert!(
            parsed
                .event
                .get_str("error.message")
                .unwrap()
                .contains("100 bytes dropped")
        );
    }

    #[test]
    fn explicit_formats_report_why_they_failed() {
        for (spec, needle) in [
            (FormatSpec::Json, "invalid JSON"),
            (FormatSpec::Cef, "not CEF"),
            (FormatSpec::Leef, "not LEEF"),
            (FormatSpec::Apache, "not an access or error log line"),
            (FormatSpec::Kv, "no key=value"),
            (FormatSpec::Syslog, "not a syslog line"),
            (
                FormatSpec::Grok("^%{INT:n}$".into()),
                "does not match the grok",
            ),
        ] {
            let p = Parser::new(ParseOptions {
                format: spec.clone(),
                ..ParseOptions::default()
            })
            .unwrap();
            let parsed = p.parse(b"hello");
            assert_eq!(parsed.format, Format::Unparsed);
            let reason = parsed.event.get_str("error.message").unwrap();
            assert!(reason.contains(needle), "{spec:?}: {reason}");
        }
        assert!(matches!(
            Parser::new(ParseOptions {
                format: FormatSpec::Grok("%{NOPE}".into()),
                ..ParseOptions::default()
            }),
            Err(ParseConfigError::Grok(_))
        ));
    }

    /// What the syslog parser hands over (header fields, `message`), decoded further.
    #[test]
    fn syslog_payloads_are_decoded() {
        let p = auto();
        let now = Utc::now();
        let syslog = |program: &str, message: &str| {
            let mut event = new_event("<13>Jan  1 00:00:00 host ...", 8);
            event.insert("host.hostname", "host");
            event.insert("process.name", program);
            event.insert(MESSAGE, message);
            event.logsource = LogSource::new(Some("linux"), None, Some("syslog"));
            Parsed {
                event,
                format: Format::Rfc3164,
            }
        };
        let decode_payload = |mut parsed: Parsed, now| {
            p.decode_payload(&mut parsed.event, &mut parsed.format, now);
            (parsed.event, parsed.format)
        };
        let (e, f) = decode_payload(
            syslog("fw", "CEF:0|V|P|1|sig|blocked|5|src=1.2.3.4 act=deny"),
            now,
        );
        assert_eq!(
            (f, e.get_str("event.action"), e.get_str("host.hostname")),
            (Format::Cef, Some("deny"), Some("host"))
        );
        let (e, f) = decode_payload(
            syslog("qradar", "LEEF:1.0|V|P|1|E|src=1.2.3.4\tusrName=bob"),
            now,
        );
        assert_eq!((f, e.get_str("user.name")), (Format::Leef, Some("bob")));
        let (e, f) = decode_payload(
            syslog(
                "kernel",
                "[ 1.5] DROP: IN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8 PROTO=TCP SPT=1 DPT=22",
            ),
            now,
        );
        assert_eq!(
            (f, e.get_str("rule.name"), e.logsource.category.as_deref()),
            (Format::Rfc3164, Some("DROP"), Some("firewall"))
        );
        assert_eq!(e.logsource.product.as_deref(), Some("linux"));
        let access_line =
            r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1 "-" "-""#;
        let (e, f) = decode_payload(syslog("nginx", access_line), now);
        assert_eq!(
            (
                f,
                e.logsource.service.as_deref(),
                e.logsource.product.as_deref()
            ),
            (Format::NginxAccess, Some("nginx"), Some("linux"))
        );
        let (e, f) = decode_payload(
            syslog("sshd", "Failed password for root from 1.2.3.4 port 22 ssh2"),
            now,
        );
        assert_eq!(
            (f, e.message()),
            (
                Format::Rfc3164,
                Some("Failed password for root from 1.2.3.4 port 22 ssh2")
            )
        );
    }

    #[test]
    fn logsource_fill_and_override() {
        let line: &[u8] =
            br#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1 "-" "-""#;
        let fill = Parser::new(ParseOptions {
            logsource: LogSource::new(Some("web"), Some("proxy"), None),
            ..ParseOptions::default()
        })
        .unwrap();
        assert_eq!(
            fill.parse(line).event.logsource,
            LogSource::new(Some("web"), Some("webserver"), Some("apache"))
        );
        let over = Parser::new(ParseOptions {
            logsource: LogSource::new(None, Some("proxy"), None),
            logsource_override: true,
            ..ParseOptions::default()
        })
        .unwrap();
        assert_eq!(
            over.parse(line).event.logsource.category.as_deref(),
            Some("proxy")
        );
        let grok = Parser::new(ParseOptions {
            format: FormatSpec::Grok("%{INT:n:int}".into()),
            ..ParseOptions::default()
        })
        .unwrap();
        assert_eq!(grok.parse(b"x 42").event.get("n"), Some(&Value::Int(42)));
    }
}
