//! Syslog: RFC 5424 and RFC 3164 with the deviations found in real logs.
