//! Logstash-compatible grok expressions.
