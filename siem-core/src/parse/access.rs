//! Apache and nginx access and error logs.
//!
//! Access lines in the Common Log Format family: `common`, `combined`, Apache `vhost_combined`
//! (`host:port` in front), nginx `combined` (the same shape) and the variants that append
//! fields (nginx `main`'s `"$http_x_forwarded_for"`, ingress-nginx's request length and
//! upstream data). Error lines: Apache 2.2 (`[time] [level] [client ip] message`), Apache 2.4
//! (`[time] [module:level] [pid N:tid M] (os error) [client ip:port] AHnnnnn: message`) and
//! nginx (`YYYY/MM/DD HH:MM:SS [level] pid#tid: *cid message, client: ..., server: ...,
//! request: "...", host: "..."`).
//!
//! Fields follow Elastic's `apache` and `nginx` modules: `source.ip` (an address; a host name
//! goes to `source.address`), `user.name` (not for `-`), `http.request.method`,
//! `url.original`, `url.path`, `url.query`, `http.version`, `http.response.status_code`,
//! `http.response.body.bytes`, `http.request.referrer`, `user_agent.original`,
//! `destination.domain` / `url.domain` for the virtual host, `log.level` and `message` for error
//! lines, `event.outcome` from the status. A request line that is not `METHOD URI [HTTP/x]`
//! (TLS probes, binary garbage, `-`) still parses: the raw text is kept in `url.original`.
//!
//! Parsing is a single hand-written pass over the bytes with no regular expressions; a
//! combined-format line costs roughly one microsecond, most of it building the event.
//!
//! ```
//! use siem_core::parse::access::{self, Server};
//! let line = r#"203.0.113.7 - alice [10/Oct/2000:13:55:36 -0700] "GET /a.gif?x=1 HTTP/1.0" 200 2326 "-" "curl/8""#;
//! let event = access::parse(line, Server::Apache, chrono_tz::UTC, chrono::Utc::now()).unwrap();
//! assert_eq!(event.get_str("url.path"), Some("/a.gif"));
//! assert_eq!(event.get("http.response.status_code").and_then(|v| v.as_i64()), Some(200));
//! assert_eq!(event.logsource.category.as_deref(), Some("webserver"));
//! ```

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use compact_str::CompactString;

use super::time;
use super::{Format, find_byte, find_byte2};
use crate::event::{Event, StaticName, Value, static_name};
use crate::parse::k;

/// Which web server wrote a line; decides the logsource service and `event.module`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// Apache httpd.
    Apache,
    /// nginx.
    Nginx,
    /// Not known (format detection): the common/combined shape is reported as Apache's, the
    /// format that defined it.
    Unknown,
}

/// Why a line is not an access or error log line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// The line does not have the shape of any supported access or error format; says which
    /// part was missing.
    #[error("not an access or error log line: {0}")]
    Shape(&'static str),
}

fn shape(what: &'static str) -> AccessError {
    AccessError::Shape(what)
}

/// The fields an event is made with room for: a combined line with a user name and a referrer
/// sets 18. (56 bytes each: 18 keep the entries within glibc's per-thread cache of small
/// blocks, up to 1,032 bytes, where 24 cost a trip into `malloc`'s general path and back.)
pub(crate) const EVENT_CAPACITY: usize = 18;

/// Parses an access or error log line into an event (with `event.original`).
///
/// `tz` applies to error-log times, which carry no offset; `now` gives a year to the rare
/// yearless error-log time.
pub fn parse(line: &str, server: Server, tz: Tz, now: DateTime<Utc>) -> Result<Event, AccessError> {
    let mut event = super::new_event(line, EVENT_CAPACITY);
    decode(line, server, tz, now, &mut event)?;
    Ok(event)
}

/// Like [`parse`], into an event the caller prepared (which already holds `event.original`);
/// returns the [`Format`] read. On error the event may hold some fields: discard it.
pub fn decode(
    line: &str,
    server: Server,
    tz: Tz,
    now: DateTime<Utc>,
    event: &mut Event,
) -> Result<Format, AccessError> {
    let b = line.as_bytes();
    match b.first() {
        Some(b'[') => {
            decode_apache_error(line, tz, now, event)?;
            set_module(event, Server::Apache, false);
            Ok(Format::ApacheError)
        }
        Some(c) if c.is_ascii_digit() && b.len() > 20 && b[4] == b'/' && b[7] == b'/' => {
            decode_nginx_error(line, tz, event)?;
            set_module(event, Server::Nginx, false);
            Ok(Format::NginxError)
        }
        _ => {
            decode_access(line, server, event)?;
            let server = if server == Server::Unknown {
                Server::Apache
            } else {
                server
            };
            set_module(event, server, true);
            Ok(if server == Server::Nginx {
                Format::NginxAccess
            } else {
                Format::ApacheAccess
            })
        }
    }
}

/// Cheap test used by format detection: does the line look like an access line (a token,
/// then ` [dd/Mon/yyyy:` within the first few tokens)?
///
/// The first ` [` in the first 512 bytes must follow at most four spaces, so only the first
/// five spaces can open it: they are visited one by one, and the rest of the line (an sshd
/// line's `sshd[pid]` and message) is never read. Same answer as finding the first ` [` and
/// counting the spaces before it ([`looks_like_access_searching`], compared in a proptest).
pub(crate) fn looks_like_access(line: &str) -> bool {
    let b = line.as_bytes();
    let limit = b.len().min(512);
    let mut from = 0;
    for _ in 0..5 {
        let Some(i) = find_byte(b' ', &b[from..limit]) else {
            return false;
        };
        let space = from + i;
        if space + 1 < limit && b[space + 1] == b'[' {
            return b.get(space + 2).is_some_and(u8::is_ascii_digit);
        }
        from = space + 1;
    }
    false
}

/// [`looks_like_access`] by the first ` [` anywhere in the first 512 bytes.
#[cfg(test)]
fn looks_like_access_searching(line: &str) -> bool {
    let b = line.as_bytes();
    let limit = b.len().min(512);
    match time_open(&b[..limit]) {
        Some(i) => {
            b.get(i + 2).is_some_and(u8::is_ascii_digit)
                && b[..i].iter().filter(|&&c| c == b' ').count() <= 4
        }
        None => false,
    }
}

/// The position of the first ` [` (the space before the `[time]` field).
fn time_open(b: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = find_byte(b'[', &b[from..]) {
        let at = from + i;
        if at > 0 && b[at - 1] == b' ' {
            return Some(at - 1);
        }
        from = at + 1;
    }
    None
}

/// Cheap test used by format detection: an Apache (`[Www Mon ...`) or nginx
/// (`YYYY/MM/DD HH:MM:SS [`) error line.
pub(crate) fn looks_like_error(line: &str) -> bool {
    let b = line.as_bytes();
    if b.first() == Some(&b'[') {
        return line.get(1..4).is_some_and(time::is_weekday) && b.get(4) == Some(&b' ');
    }
    b.len() > 21 && b[4] == b'/' && b[7] == b'/' && b[10] == b' ' && b[19] == b' ' && b[20] == b'['
}

fn set_module(event: &mut Event, server: Server, access: bool) {
    // Whole `Value`s built at compile time: setting one copies 32 bytes, where a `&str`
    // would be copied into a new `CompactString` byte by byte.
    const NGINX: Value = Value::static_str("nginx");
    const APACHE: Value = Value::static_str("apache");
    const NGINX_NAME: CompactString = CompactString::const_new("nginx");
    const APACHE_NAME: CompactString = CompactString::const_new("apache");
    let (module, dataset, service) = match (server, access) {
        (Server::Nginx, true) => (
            NGINX,
            const { Value::static_str("nginx.access") },
            NGINX_NAME,
        ),
        (Server::Nginx, false) => (
            NGINX,
            const { Value::static_str("nginx.error") },
            NGINX_NAME,
        ),
        (_, true) => (
            APACHE,
            const { Value::static_str("apache.access") },
            APACHE_NAME,
        ),
        (_, false) => (
            APACHE,
            const { Value::static_str("apache.error") },
            APACHE_NAME,
        ),
    };
    static WEB: [Value; 1] = [Value::static_str("web")];
    static ACCESS: [Value; 1] = [Value::static_str("access")];
    static ERROR: [Value; 1] = [Value::static_str("error")];
    event.insert_static(static_name!("event.kind"), Value::static_str("event"));
    event.insert_static(static_name!("event.category"), Value::static_list(&WEB));
    event.insert_static(
        static_name!("event.type"),
        Value::static_list(if access { &ACCESS } else { &ERROR }),
    );
    event.insert_static(static_name!("event.module"), module);
    event.insert_static(static_name!("event.dataset"), dataset);
    // Keep a product a surrounding syslog header gave; the payload is web server data.
    event.logsource.category = Some(const { CompactString::const_new("webserver") });
    event.logsource.service = Some(service);
}

/// A small cursor over the line's bytes. All positions it hands out are at ASCII bytes, so
/// slicing the `&str` with them never splits a character.
struct Cursor<'a> {
    s: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.at..]
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.s.as_bytes().get(self.at) == Some(&byte) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn eat_str(&mut self, lit: &str) -> bool {
        if self.rest().starts_with(lit) {
            self.at += lit.len();
            true
        } else {
            false
        }
    }

    /// Up to (not including) the next `byte`, which is consumed.
    fn until(&mut self, byte: u8) -> Option<&'a str> {
        let rest = self.rest();
        let i = find_byte(byte, rest.as_bytes())?;
        self.at += i + 1;
        Some(&rest[..i])
    }

    /// A run of non-space bytes (possibly empty); does not consume the space. (A byte loop:
    /// the tokens read here, status and size, are a few bytes, shorter than `memchr`'s setup.)
    fn token(&mut self) -> &'a str {
        let rest = self.rest();
        let i = rest.bytes().position(|c| c == b' ').unwrap_or(rest.len());
        self.at += i;
        &rest[..i]
    }

    /// A double-quoted field (the opening quote already consumed): ends at the first quote that
    /// is not backslash-escaped and is followed by a space or the end of the line. Escapes
    /// are kept as written (Apache writes `\"` and `\xhh`, nginx `\x22`).
    fn quoted(&mut self) -> Option<&'a str> {
        let rest = self.rest();
        let b = rest.as_bytes();
        let mut from = 0;
        loop {
            let i = from + find_byte(b'"', &b[from..])?;
            let backslashes = b[..i].iter().rev().take_while(|&&c| c == b'\\').count();
            let followed_ok = matches!(b.get(i + 1), None | Some(b' '));
            if backslashes.is_multiple_of(2) && followed_ok {
                self.at += i + 1;
                return Some(&rest[..i]);
            }
            from = i + 1;
        }
    }
}

fn decode_access(line: &str, server: Server, event: &mut Event) -> Result<(), AccessError> {
    // The fields before the time: `client ident user`, `vhost[:port] client ident user`, or
    // nginx's `client - ` with the user missing.
    let open = time_open(line.as_bytes()).ok_or(shape("no [time] field"))?;
    // `head.split(' ')` into at most four parts, with a byte loop: the generic `char` searcher
    // cost more than the rest of the line's tokenizing.
    let mut parts = [""; 4];
    let mut n = 0;
    let mut start = 0;
    for (i, &c) in line.as_bytes()[..open].iter().enumerate() {
        if c == b' ' {
            if n == 4 {
                return Err(shape("too many fields before [time]"));
            }
            parts[n] = &line[start..i];
            n += 1;
            start = i + 1;
        }
    }
    if n == 4 {
        return Err(shape("too many fields before [time]"));
    }
    parts[n] = &line[start..open];
    n += 1;
    let (vhost, client, user) = match n {
        4 => (Some(parts[0]), parts[1], parts[3]),
        3 => (None, parts[0], parts[2]),
        2 if parts[1] == "-" => (None, parts[0], "-"),
        _ => return Err(shape("expected `client ident user` before [time]")),
    };
    if client.is_empty() {
        return Err(shape("empty client address"));
    }
    let mut c = Cursor {
        s: line,
        at: open + 2,
    };
    let time = c.until(b']').ok_or(shape("unterminated [time]"))?;
    let ts = time::parse_clf(time).ok_or(shape("unreadable [time]"))?;
    if !c.eat_str(" \"") {
        return Err(shape("no quoted request after [time]"));
    }
    let request = c.quoted().ok_or(shape("unterminated request"))?;
    if !c.eat(b' ') {
        return Err(shape("no status after request"));
    }
    let status = c.token();
    let status: i64 = if status == "-" {
        -1
    } else {
        match parse_int(status) {
            Some(s) if (100..1000).contains(&s) => s,
            _ => return Err(shape("status is not a 3-digit number")),
        }
    };
    let mut bytes = None;
    if c.eat(b' ') {
        let token = c.token();
        if token != "-" {
            bytes = Some(parse_int(token).ok_or(shape("size is not a number"))?);
        }
    }
    let mut referrer = None;
    let mut agent = None;
    let mut forwarded = None;
    if c.eat_str(" \"") {
        referrer = Some(c.quoted().ok_or(shape("unterminated referrer"))?);
        if c.eat_str(" \"") {
            agent = Some(c.quoted().ok_or(shape("unterminated user agent"))?);
            if c.eat_str(" \"") {
                forwarded = c.quoted();
            }
        }
    }

    event.timestamp = Some(ts);
    if let Some(vhost) = vhost.filter(|v| !v.is_empty() && *v != "-") {
        let (host, port) = split_host_port(vhost);
        match super::parse_ip(host) {
            Ok(ip) => event.insert_static(static_name!("destination.ip"), ip),
            Err(_) => event.insert_static(static_name!("destination.domain"), host),
        }
        event.insert_static(static_name!("url.domain"), host);
        if let Some(port) = port {
            event.insert_static(static_name!("destination.port"), i64::from(port));
        }
    }
    put_address(
        event,
        static_name!("source.ip"),
        static_name!("source.address"),
        client,
    );
    if !user.is_empty() && user != "-" {
        event.insert_static(static_name!("user.name"), user);
    }
    put_request(event, request);
    if status >= 0 {
        event.insert_static(static_name!("http.response.status_code"), status);
        event.insert_static(
            static_name!("event.outcome"),
            if status >= 400 {
                const { Value::static_str("failure") }
            } else {
                const { Value::static_str("success") }
            },
        );
    }
    if let Some(bytes) = bytes {
        event.insert_static(static_name!("http.response.body.bytes"), bytes);
    }
    if let Some(r) = referrer.filter(|r| !r.is_empty() && *r != "-") {
        event.insert_static(static_name!("http.request.referrer"), r);
    }
    if let Some(a) = agent.filter(|a| !a.is_empty() && *a != "-") {
        event.insert_static(static_name!("user_agent.original"), a);
    }
    if let Some(f) = forwarded.filter(|f| !f.is_empty() && *f != "-") {
        let list: Vec<Value> = f
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Value::from)
            .collect();
        let name = if server == Server::Nginx {
            "nginx.access.remote_ip_list"
        } else {
            "apache.access.remote_ip_list"
        };
        event.insert(k(name), Value::List(list.into()));
    }
    Ok(())
}

/// `text.parse::<i64>().ok()`, with a run of 1 to 18 ASCII digits (every status and size
/// field) folded by hand: std's generic reader costs several times as much. A property test
/// compares the two.
#[inline]
fn parse_int(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if (1..=18).contains(&b.len()) {
        // A loop that stops at the first non-digit (`all` then `fold` were vectorized, with
        // a setup longer than the three digits of a status).
        let mut value = 0;
        for &c in b {
            let digit = c.wrapping_sub(b'0');
            if digit > 9 {
                return text.parse().ok();
            }
            value = value * 10 + i64::from(digit);
        }
        return Some(value);
    }
    text.parse().ok()
}

/// `host:port`, `[v6]:port`, or a bare host.
fn split_host_port(s: &str) -> (&str, Option<u16>) {
    if let Some(inner) = s.strip_prefix('[')
        && let Some((host, rest)) = inner.split_once(']')
    {
        return (host, rest.strip_prefix(':').and_then(|p| p.parse().ok()));
    }
    match s.rsplit_once(':') {
        // More than one colon without brackets is a bare IPv6 address.
        Some((host, port)) if !host.contains(':') => match port.parse() {
            Ok(p) => (host, Some(p)),
            Err(_) => (s, None),
        },
        _ => (s, None),
    }
}

/// An address field: an IP goes to `ip_field` as [`Value::Ip`], anything else to
/// `address_field` as text.
fn put_address(event: &mut Event, ip_field: &StaticName, address_field: &StaticName, text: &str) {
    match super::parse_ip(text) {
        Ok(ip) => event.insert_static(ip_field, ip),
        Err(_) => event.insert_static(address_field, text),
    }
}

/// The request line: `METHOD URI HTTP/x.y`, `METHOD URI` (HTTP/0.9), or anything else, kept raw
/// in `url.original`.
pub(crate) fn put_request(event: &mut Event, request: &str) {
    if request.is_empty() || request == "-" {
        return;
    }
    let b = request.as_bytes();
    let method_end = match find_byte(b' ', b) {
        Some(i) if is_method(&request[..i]) => i,
        _ => {
            event.insert_static(static_name!("url.original"), request);
            return;
        }
    };
    let method = &request[..method_end];
    let rest = &request[method_end + 1..];
    let (uri, version) = split_version(rest);
    event.insert_static(static_name!("http.request.method"), method_value(method));
    if !uri.is_empty() {
        event.insert_static(static_name!("url.original"), uri);
        put_url_parts(event, uri);
    }
    if let Some(v) = version {
        event.insert_static(static_name!("http.version"), version_value(v));
    }
}

/// `Value::from(method)`, with the common methods as static text (no copy).
#[inline]
fn method_value(method: &str) -> Value {
    match method {
        "GET" => const { Value::static_str("GET") },
        "POST" => const { Value::static_str("POST") },
        "HEAD" => const { Value::static_str("HEAD") },
        "PUT" => const { Value::static_str("PUT") },
        "DELETE" => const { Value::static_str("DELETE") },
        "OPTIONS" => const { Value::static_str("OPTIONS") },
        "PATCH" => const { Value::static_str("PATCH") },
        "CONNECT" => const { Value::static_str("CONNECT") },
        _ => Value::from(method),
    }
}

/// `Value::from(version)`, with the common HTTP versions as static text (no copy).
#[inline]
fn version_value(version: &str) -> Value {
    match version {
        "1.1" => const { Value::static_str("1.1") },
        "1.0" => const { Value::static_str("1.0") },
        "2.0" => const { Value::static_str("2.0") },
        _ => Value::from(version),
    }
}

fn is_version(v: &str) -> bool {
    !v.is_empty() && v.bytes().all(|c| c.is_ascii_digit() || c == b'.')
}

/// A request line after the method: the URI and the version (the last word when it reads
/// `HTTP/<digits and dots>`). A line ending in ` HTTP/x.y` (nearly all) is split there
/// without a search: no space can follow that one. Otherwise [`split_version_searching`].
#[inline]
fn split_version(rest: &str) -> (&str, Option<&str>) {
    if let Some(sp) = rest.len().checked_sub(9)
        && rest.as_bytes()[sp] == b' '
        && rest.as_bytes()[sp + 1..sp + 6] == *b"HTTP/"
        && is_version(&rest[sp + 6..])
    {
        return (&rest[..sp], Some(&rest[sp + 6..]));
    }
    split_version_searching(rest)
}

/// [`split_version`] by the last space.
fn split_version_searching(rest: &str) -> (&str, Option<&str>) {
    match memchr::memrchr(b' ', rest.as_bytes()) {
        Some(sp) if rest[sp + 1..].strip_prefix("HTTP/").is_some_and(is_version) => {
            (&rest[..sp], Some(&rest[sp + 6..]))
        }
        // `GET HTTP/1.1`: no URI at all.
        None if rest.strip_prefix("HTTP/").is_some_and(is_version) => ("", Some(&rest[5..])),
        _ => (rest, None),
    }
}

/// An HTTP method token: upper-case letters (and `-`/`_`, as WebDAV and probes use).
fn is_method(m: &str) -> bool {
    !m.is_empty()
        && m.len() <= 24
        && m.bytes()
            .all(|c| c.is_ascii_uppercase() || c == b'-' || c == b'_')
}

/// `url.path` / `url.query` (and for absolute URIs `url.scheme` / `url.domain` / `url.port`).
fn put_url_parts(event: &mut Event, uri: &str) {
    let mut rest = uri;
    if !uri.starts_with('/')
        && let Some(i) = memchr::memmem::find(uri.as_bytes(), b"://")
        && i > 0
        && uri[..i].bytes().all(|c| c.is_ascii_alphabetic())
    {
        let scheme = &uri[..i];
        let after = &uri[i + 3..];
        let end = after
            .bytes()
            .position(|c| matches!(c, b'/' | b'?' | b'#'))
            .unwrap_or(after.len());
        let authority = &after[..end];
        let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let (host, port) = split_host_port(hostport);
        event.insert_static(static_name!("url.scheme"), scheme.to_ascii_lowercase());
        if !host.is_empty() {
            event.insert_static(static_name!("url.domain"), host);
        }
        if let Some(port) = port {
            event.insert_static(static_name!("url.port"), i64::from(port));
        }
        rest = &after[end..];
    }
    // The path ends at the first `?` or `#`; a query runs from a `?` to the first `#` after
    // it. (One pass for both bytes instead of cutting at `#` and then looking for `?`.)
    let (path, query) = match find_byte2(b'?', b'#', rest.as_bytes()) {
        Some(i) if rest.as_bytes()[i] == b'?' => {
            let after = &rest[i + 1..];
            let query = match find_byte(b'#', after.as_bytes()) {
                Some(j) => &after[..j],
                None => after,
            };
            (&rest[..i], Some(query))
        }
        Some(i) => (&rest[..i], None),
        None => (rest, None),
    };
    if !path.is_empty() {
        event.insert_static(static_name!("url.path"), path);
    }
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        event.insert_static(static_name!("url.query"), q);
    }
}

fn decode_apache_error(
    line: &str,
    tz: Tz,
    now: DateTime<Utc>,
    event: &mut Event,
) -> Result<(), AccessError> {
    let mut c = Cursor { s: line, at: 1 };
    let time = c.until(b']').ok_or(shape("unterminated [time]"))?;
    let ts = time::parse_month_first(time, tz, now).ok_or(shape("unreadable [time]"))?;
    if !c.eat_str(" [") {
        return Err(shape("no [level] after [time]"));
    }
    let level_field = c.until(b']').ok_or(shape("unterminated [level]"))?;
    let (module, level) = match level_field.rsplit_once(':') {
        Some((m, l)) => (Some(m), l),
        None => (None, level_field),
    };
    if level.is_empty() || !level.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(shape("unreadable [level]"));
    }
    event.timestamp = Some(ts);
    event.insert_static(static_name!("log.level"), level);
    if let Some(m) = module.filter(|m| !m.is_empty()) {
        event.insert_static(static_name!("apache.error.module"), m);
    }
    // Apache 2.4: [pid N:tid M]
    if c.rest().starts_with(" [pid ") {
        c.at += 6;
        let inner = c.until(b']').ok_or(shape("unterminated [pid]"))?;
        let (pid, tid) = match inner.split_once(":tid ") {
            Some((p, t)) => (p, Some(t)),
            None => (inner, None),
        };
        if let Ok(pid) = pid.trim().parse::<i64>() {
            event.insert_static(static_name!("process.pid"), pid);
        }
        if let Some(Ok(tid)) = tid.map(|t| t.trim().parse::<i64>()) {
            event.insert_static(static_name!("process.thread.id"), tid);
        }
    }
    // Apache 2.4: an OS error, `(70014)End of file found: `
    if c.rest().starts_with(" (")
        && let Some(close) = c.rest().find(')')
        && let Ok(code) = c.rest()[2..close].parse::<i64>()
    {
        let after = &c.rest()[close + 1..];
        let end = after.find(": ").unwrap_or(after.len());
        event.insert_static(static_name!("apache.error.os_error.code"), code);
        event.insert_static(static_name!("apache.error.os_error.message"), &after[..end]);
        c.at += close + 1 + end;
        if c.rest().starts_with(':') {
            c.at += 1;
        }
    }
    // [client ip(:port)] or [remote ip:port]
    for tag in [" [client ", " [remote "] {
        if c.rest().starts_with(tag) {
            let save = c.at;
            c.at += tag.len();
            match c.until(b']') {
                Some(addr) => put_client(event, addr),
                None => c.at = save,
            }
        }
    }
    let mut message = c.rest().strip_prefix(' ').unwrap_or(c.rest());
    // 2.4 error id: `AH01618: `
    if let Some((code, rest)) = message.split_once(": ")
        && code.len() == 7
        && code.starts_with("AH")
        && code[2..].bytes().all(|b| b.is_ascii_digit())
    {
        event.insert_static(static_name!("error.code"), code);
        message = rest;
    }
    // Apache appends `, referer: <url>` to errors about a request.
    if let Some(i) = message.rfind(", referer: ") {
        event.insert_static(static_name!("http.request.referrer"), &message[i + 11..]);
        message = &message[..i];
    }
    event.insert_static(static_name!("message"), message);
    apache_auth_failure(event, message);
    Ok(())
}

/// `ip`, `ip:port`, `[v6]:port`, or `v6:port` inside `[client ...]`.
fn put_client(event: &mut Event, addr: &str) {
    if let Ok(ip) = addr.parse::<IpAddr>() {
        event.insert_static(static_name!("source.ip"), ip);
        return;
    }
    if let Some((host, port)) = addr.rsplit_once(':')
        && let Ok(port) = port.parse::<u16>()
    {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        put_address(
            event,
            static_name!("source.ip"),
            static_name!("source.address"),
            host,
        );
        event.insert_static(static_name!("source.port"), i64::from(port));
        return;
    }
    event.insert_static(static_name!("source.address"), addr);
}

/// mod_auth_basic failures name the user: `user X not found: /path` (AH01618) and
/// `user X: authentication failure for "/path": Password Mismatch` (AH01617).
fn apache_auth_failure(event: &mut Event, message: &str) {
    let Some(rest) = message.strip_prefix("user ") else {
        return;
    };
    let (user, path) = if let Some((user, after)) = rest.split_once(" not found: ") {
        (user, after.trim_matches('"'))
    } else if let Some((user, after)) = rest.split_once(": authentication failure for \"") {
        (user, after.split_once('"').map_or(after, |(p, _)| p))
    } else {
        return;
    };
    if user.is_empty() {
        return;
    }
    event.insert_static(static_name!("user.name"), user);
    if !path.is_empty() && !event.contains("url.original") {
        event.insert_static(static_name!("url.original"), path);
    }
    event.insert_static(static_name!("event.outcome"), "failure");
}

fn decode_nginx_error(line: &str, tz: Tz, event: &mut Event) -> Result<(), AccessError> {
    let time = line.get(..19).ok_or(shape("short nginx error line"))?;
    let ts = time::parse_slashed(time, tz).ok_or(shape("unreadable nginx error time"))?;
    let mut c = Cursor { s: line, at: 19 };
    if !c.eat_str(" [") {
        return Err(shape("no [level] after the time"));
    }
    let level = c.until(b']').ok_or(shape("unterminated [level]"))?;
    if level.is_empty() || !level.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(shape("unreadable [level]"));
    }
    if !c.eat(b' ') {
        return Err(shape("no pid#tid after [level]"));
    }
    let ids = c.until(b':').ok_or(shape("no pid#tid"))?;
    let (pid, tid) = ids.split_once('#').ok_or(shape("no pid#tid"))?;
    let pid: i64 = pid.parse().map_err(|_| shape("pid is not a number"))?;
    let tid: i64 = tid.parse().map_err(|_| shape("tid is not a number"))?;
    event.timestamp = Some(ts);
    event.insert_static(static_name!("log.level"), level);
    event.insert_static(static_name!("process.pid"), pid);
    event.insert_static(static_name!("process.thread.id"), tid);
    let _ = c.eat(b' ');
    if c.eat(b'*') {
        let cid = c.token();
        if let Ok(cid) = cid.parse::<i64>() {
            event.insert_static(static_name!("nginx.error.connection_id"), cid);
        }
        let _ = c.eat(b' ');
    }
    let mut message = c.rest();
    // The context nginx appends: `, client: X, server: Y, request: "...", upstream: "...",
    // host: "...", referrer: "..."`. It starts at the first `, client: `.
    if let Some(i) = message.find(", client: ") {
        let context = &message[i + 2..];
        message = &message[..i];
        for (key, value) in nginx_context(context) {
            match key {
                "client" => put_address(
                    event,
                    static_name!("source.ip"),
                    static_name!("source.address"),
                    value,
                ),
                "server" if !value.is_empty() => {
                    event.insert_static(static_name!("destination.domain"), value)
                }
                "request" => put_request(event, value),
                "host" if !value.is_empty() => {
                    let (host, _) = split_host_port(value);
                    event.insert_if_absent(k("url.domain"), host);
                }
                "referrer" if !value.is_empty() => {
                    event.insert_static(static_name!("http.request.referrer"), value)
                }
                "upstream" if !value.is_empty() => {
                    event.insert_static(static_name!("nginx.error.upstream"), value)
                }
                _ => {}
            }
        }
    }
    event.insert_static(static_name!("message"), message);
    nginx_auth_failure(event, message);
    Ok(())
}

/// Splits nginx's `key: value, key: "quoted, value", ...` context.
fn nginx_context(mut s: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    while let Some((key, rest)) = s.split_once(": ") {
        if key.is_empty()
            || key.len() > 32
            || !key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        {
            break;
        }
        let (value, rest) = if let Some(q) = rest.strip_prefix('"') {
            // Quoted: ends at `"` followed by `, ` or the end.
            let mut end = None;
            let mut from = 0;
            while let Some(i) = q[from..].find('"') {
                let at = from + i;
                let after = &q[at + 1..];
                if after.is_empty() || after.starts_with(", ") {
                    end = Some(at);
                    break;
                }
                from = at + 1;
            }
            match end {
                Some(e) => (&q[..e], q[e + 1..].strip_prefix(", ").unwrap_or("")),
                None => (q, ""),
            }
        } else {
            match rest.split_once(", ") {
                Some((v, r)) => (v, r),
                None => (rest, ""),
            }
        };
        out.push((key, value));
        if rest.is_empty() {
            break;
        }
        s = rest;
    }
    out
}

/// ngx_http_auth_basic failures: `user "X" was not found in "..."` and `user "X": password
/// mismatch`.
fn nginx_auth_failure(event: &mut Event, message: &str) {
    let Some(rest) = message.strip_prefix("user \"") else {
        return;
    };
    let Some((user, after)) = rest.split_once('"') else {
        return;
    };
    if user.is_empty()
        || !(after.starts_with(" was not found in ") || after.starts_with(": password mismatch"))
    {
        return;
    }
    event.insert_static(static_name!("user.name"), user);
    event.insert_static(static_name!("event.outcome"), "failure");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_nginx(line: &str) -> Event {
        parse(line, Server::Nginx, chrono_tz::UTC, Utc::now()).unwrap()
    }

    #[test]
    fn path_query_and_fragment() {
        for (uri, path, query) in [
            ("/a?b#c", Some("/a"), Some("b")),
            ("/a#b?c", Some("/a"), None),
            ("/a?b?c#d#e", Some("/a"), Some("b?c")),
            ("/a?#b", Some("/a"), None),
            ("#x", None, None),
            ("?q", None, Some("q")),
            ("/plain", Some("/plain"), None),
        ] {
            let mut e = Event::new();
            put_url_parts(&mut e, uri);
            assert_eq!(
                (e.get_str("url.path"), e.get_str("url.query")),
                (path, query),
                "{uri}"
            );
        }
    }

    #[test]
    fn combined_and_vhost() {
        let e = parse_nginx(
            r#"www.crowdsec11.net:80 192.168.1.1 - - [08/Jun/2020:08:04:43 +0000] "GET /test/a.JPG?x=1&y HTTP/1.1" 301 0 "-" "Mozilla/5.0 (X11)""#,
        );
        assert_eq!(e.get_str("destination.domain"), Some("www.crowdsec11.net"));
        assert_eq!(e.get("destination.port"), Some(&Value::Int(80)));
        assert_eq!(
            e.get("source.ip"),
            Some(&Value::Ip("192.168.1.1".parse().unwrap()))
        );
        assert_eq!(e.get_str("url.path"), Some("/test/a.JPG"));
        assert_eq!(e.get_str("url.query"), Some("x=1&y"));
        assert_eq!(e.get_str("http.version"), Some("1.1"));
        assert_eq!(e.get("http.response.body.bytes"), Some(&Value::Int(0)));
        assert_eq!(e.get_str("user_agent.original"), Some("Mozilla/5.0 (X11)"));
        assert!(e.get("http.request.referrer").is_none());
        assert_eq!(e.get_str("event.dataset"), Some("nginx.access"));
        assert_eq!(e.logsource.service.as_deref(), Some("nginx"));
    }

    #[test]
    fn missing_user_field_and_common_format() {
        let e = parse_nginx(
            r#"192.168.1.1 - [08/Jun/2020:08:04:43 +0000] "GET /api/test HTTP/1.1" 200 100 "-" "curl/7.68.0""#,
        );
        assert_eq!(e.get_str("url.original"), Some("/api/test"));
        let e = parse_nginx(
            r#"116.203.1.1 - bob [05/Mar/2021:09:01:38 +0100] "GET /x HTTP/1.0" 200 -"#,
        );
        assert_eq!(e.get_str("user.name"), Some("bob"));
        assert!(e.get("http.response.body.bytes").is_none());
        assert_eq!(
            e.timestamp.unwrap().to_rfc3339(),
            "2021-03-05T08:01:38+00:00"
        );
    }

    #[test]
    fn malformed_requests_parse() {
        for request in [
            r"\x16\x03\x01\x01 \x02",
            "-",
            "HELP",
            r#"a \"quoted\" b"#,
            "GET",
        ] {
            let line =
                format!(r#"1.2.3.4 - - [17/Oct/2023:05:57:49 +1100] "{request}" 400 226 "-" "-""#);
            let e = parse_nginx(&line);
            assert_eq!(
                e.get("http.response.status_code"),
                Some(&Value::Int(400)),
                "{line}"
            );
            if request != "-" {
                assert_eq!(e.get_str("url.original"), Some(request));
            }
        }
    }

    #[test]
    fn forwarded_for_and_ingress_fields() {
        let e = parse_nginx(
            r#"10.0.0.1 - - [08/Jun/2020:08:04:43 +0000] "POST /login HTTP/2.0" 401 5 "https://x/" "ua" "203.0.113.9, 10.0.0.2" 321 0.004 [default-svc-80] [] 10.1.1.1:80 5 0.004 401 abc"#,
        );
        assert_eq!(
            e.get("nginx.access.remote_ip_list"),
            Some(&Value::from(vec!["203.0.113.9", "10.0.0.2"]))
        );
        assert_eq!(e.get_str("event.outcome"), Some("failure"));
        assert_eq!(e.get_str("http.request.referrer"), Some("https://x/"));
    }

    #[test]
    fn apache_24_error() {
        let e = parse(
            "[Wed Apr 16 16:09:40.056610 2025] [ssl:info] [pid 120974:tid 120974] (70014)End of file found: [client 192.168.1.1:17036] AH02006: SSL handshake stopped: connection was closed",
            Server::Apache, chrono_tz::UTC, Utc::now()).unwrap();
        assert_eq!(e.get_str("log.level"), Some("info"));
        assert_eq!(e.get_str("apache.error.module"), Some("ssl"));
        assert_eq!(e.get("process.pid"), Some(&Value::Int(120974)));
        assert_eq!(e.get("source.port"), Some(&Value::Int(17036)));
        assert_eq!(e.get_str("error.code"), Some("AH02006"));
        assert_eq!(
            e.get_str("apache.error.os_error.message"),
            Some("End of file found")
        );
        assert_eq!(
            e.get_str("message"),
            Some("SSL handshake stopped: connection was closed")
        );
        assert_eq!(e.timestamp.unwrap().timestamp_subsec_micros(), 56610);
    }

    #[test]
    fn apache_22_error_and_auth_failure() {
        let e = parse("[Sun Dec 04 05:15:09 2005] [error] [client 222.166.160.184] Directory index forbidden by rule: /var/www/html/", Server::Apache, chrono_tz::UTC, Utc::now()).unwrap();
        assert_eq!(
            e.get("source.ip"),
            Some(&Value::Ip("222.166.160.184".parse().unwrap()))
        );
        assert_eq!(
            e.get_str("message"),
            Some("Directory index forbidden by rule: /var/www/html/")
        );
        let e = parse("[Thu Oct 13 12:24:49.880562 2022] [auth_basic:error] [pid 10:tid 140120579262208] [client 31.33.58.75:50229] AH01618: user sss not found: /", Server::Apache, chrono_tz::UTC, Utc::now()).unwrap();
        assert_eq!(e.get_str("user.name"), Some("sss"));
        assert_eq!(e.get_str("url.original"), Some("/"));
        assert_eq!(e.get_str("event.outcome"), Some("failure"));
    }

    #[test]
    fn nginx_error() {
        let e = parse_nginx(
            r#"2022/07/28 16:37:00 [error] 2118161#2118161: *16670560058 limiting requests, excess: 5.459 by zone "nodos_med_tier1", client: 192.168.1.1, server: example.com, request: "POST https://example.com/12&3.html", host: "example.com", referrer: "https://example.com/12&3.html?referrer=/""#,
        );
        assert_eq!(
            e.get_str("message"),
            Some(r#"limiting requests, excess: 5.459 by zone "nodos_med_tier1""#)
        );
        assert_eq!(e.get_str("http.request.method"), Some("POST"));
        assert_eq!(e.get_str("url.path"), Some("/12&3.html"));
        assert_eq!(e.get_str("url.domain"), Some("example.com"));
        assert_eq!(e.get_str("destination.domain"), Some("example.com"));
        assert_eq!(
            e.get_str("http.request.referrer"),
            Some("https://example.com/12&3.html?referrer=/")
        );
        assert_eq!(
            e.get("nginx.error.connection_id"),
            Some(&Value::Int(16670560058))
        );
        let e = parse_nginx(
            r#"2024/01/01 00:00:00 [error] 1#1: *2 user "admin": password mismatch, client: ::1, server: , request: "GET / HTTP/1.1", host: "h""#,
        );
        assert_eq!(e.get_str("user.name"), Some("admin"));
        assert!(e.get("destination.domain").is_none());
    }

    #[test]
    fn rejects_other_shapes() {
        for line in [
            "",
            "hello world",
            "[",
            "1.2.3.4 - - [",
            "a b c d e [01/Jan/2020:00:00:00 +0000] \"GET / HTTP/1.1\" 200 1",
            "1.2.3.4 - - [01/Jan/2020:00:00:00 +0000] \"GET / HTTP/1.1\" 2000 1",
            "2021/12/01 13:53:33 [error] x",
        ] {
            assert!(
                parse(line, Server::Unknown, chrono_tz::UTC, Utc::now()).is_err(),
                "{line:?}"
            );
        }
    }

    mod props {
        use super::super::*;
        use chrono::TimeZone;
        use proptest::prelude::*;

        fn token() -> impl Strategy<Value = String> {
            "[A-Za-z0-9._~%/-]{1,30}"
        }

        proptest! {
            /// A combined-format line built from random parts reads back as those parts (the
            /// line is the reference: a format string filled in).
            #[test]
            fn combined_line_round_trips(
                ip in any::<std::net::Ipv4Addr>(),
                user in prop_oneof![Just("-".to_string()), "[a-z]{1,12}"],
                secs in 0i64..4_000_000_000,
                offset_minutes in -720i32..=840,
                method in "(GET|POST|PUT|DELETE|HEAD|OPTIONS|PROPFIND)",
                path in token(),
                query in proptest::option::of("[a-z0-9=&]{1,20}"),
                status in 100u16..600,
                bytes in proptest::option::of(0u32..10_000_000),
                referrer in prop_oneof![Just("-".to_string()), "https?://[a-z]{1,10}\\.com/[a-z]{0,10}"],
                agent in "[A-Za-z0-9 ./();,:+-]{1,80}",
                vhost in proptest::option::of(("[a-z]{1,10}\\.example", 1u16..65535)),
            ) {
                let offset = chrono::FixedOffset::east_opt(offset_minutes * 60).unwrap();
                let time = offset.timestamp_opt(secs, 0).unwrap();
                let uri = match &query { Some(q) => format!("/{path}?{q}"), None => format!("/{path}") };
                let size = bytes.map_or("-".to_string(), |b| b.to_string());
                let prefix = vhost.as_ref().map_or(String::new(), |(h, p)| format!("{h}:{p} "));
                let line = format!(
                    "{prefix}{ip} - {user} [{}] \"{method} {uri} HTTP/1.1\" {status} {size} \"{referrer}\" \"{agent}\"",
                    time.format("%d/%b/%Y:%H:%M:%S %z")
                );
                let e = parse(&line, Server::Nginx, chrono_tz::UTC, Utc::now()).unwrap();
                prop_assert_eq!(e.timestamp, Some(time.with_timezone(&Utc)));
                prop_assert_eq!(e.get("source.ip"), Some(&Value::Ip(ip.into())));
                prop_assert_eq!(e.get_str("user.name"), (user != "-").then_some(user.as_str()));
                prop_assert_eq!(e.get_str("http.request.method"), Some(method.as_str()));
                prop_assert_eq!(e.get_str("url.original"), Some(uri.as_str()));
                let want_path = format!("/{path}");
                prop_assert_eq!(e.get_str("url.path"), Some(want_path.as_str()));
                prop_assert_eq!(e.get_str("url.query"), query.as_deref());
                prop_assert_eq!(e.get("http.response.status_code"), Some(&Value::Int(i64::from(status))));
                prop_assert_eq!(e.get("http.response.body.bytes").and_then(Value::as_i64), bytes.map(i64::from));
                prop_assert_eq!(e.get_str("http.request.referrer"), (referrer != "-").then_some(referrer.as_str()));
                prop_assert_eq!(e.get_str("user_agent.original"), (agent != "-").then_some(agent.as_str()));
                if let Some((host, port)) = &vhost {
                    prop_assert_eq!(e.get_str("destination.domain"), Some(host.as_str()));
                    prop_assert_eq!(e.get("destination.port"), Some(&Value::Int(i64::from(*port))));
                }
            }

            /// Visiting the first five spaces answers as finding the first ` [` does.
            #[test]
            fn looks_like_access_matches_search(
                line in "([a-z0-9:/-]{0,6}( |  |\\[| \\[|\\[1| \\[1|0)){0,10}",
                long in proptest::option::of(500usize..520),
            ) {
                // Around the 512-byte limit too: padding that holds no space nor `[`.
                let line = match long {
                    Some(n) => format!("{}{line}", "x".repeat(n.saturating_sub(line.len()))),
                    None => line,
                };
                prop_assert_eq!(looks_like_access(&line), looks_like_access_searching(&line));
            }

            /// The version split without a search is the one by the last space.
            #[test]
            fn split_version_matches_search(
                rest in "([a-z/?=]{0,12}( |  )?){0,3}(HTTP/[0-9.]{0,4}|HTTP/[0-9.a ]{3}|HTTP/|[0-9. ]{0,4}|)",
            ) {
                prop_assert_eq!(split_version(&rest), split_version_searching(&rest));
            }

            /// The hand-folded integers are std's.
            #[test]
            fn parse_int_matches_std(text in "[0-9]{0,20}|[-+]?[0-9]{1,19}|[0-9]{0,3}[/:][0-9]{0,3}|[ -~]{0,6}") {
                prop_assert_eq!(parse_int(&text), text.parse::<i64>().ok());
            }

            /// The static method and version values are the values the copied text makes
            /// (same `==`, same `Debug`), and every other text is copied as before.
            #[test]
            fn static_values_equal_copies(
                text in "GET|POST|HEAD|PUT|DELETE|OPTIONS|PATCH|CONNECT|PROPFIND|GE|GETS|get|1\\.1|1\\.0|2\\.0|2|1\\.10|[A-Z0-9.]{0,8}",
            ) {
                let copy = Value::from(text.as_str());
                let method = method_value(&text);
                let version = version_value(&text);
                prop_assert_eq!(&method, &copy);
                prop_assert_eq!(&version, &copy);
                prop_assert_eq!(format!("{method:?}"), format!("{copy:?}"));
                prop_assert_eq!(format!("{version:?}"), format!("{copy:?}"));
            }

            #[test]
            fn total_on_any_text(text in ".{0,300}") {
                let _ = parse(&text, Server::Unknown, chrono_tz::UTC, Utc::now());
                let _ = parse(&format!("[{text}"), Server::Unknown, chrono_tz::UTC, Utc::now());
                let _ = parse(&format!("2021/12/01 13:53:33 [error] {text}"), Server::Unknown, chrono_tz::UTC, Utc::now());
            }
        }
    }
}
