//! The alert lifecycle: which alerts reach the sinks.
//!
//! Rules fire as often as their input says; people and ticket systems need fewer alerts than
//! that. An [`AlertPolicy`] sits between the engine and the sinks and drops alerts by three
//! independent limits, each optional and each counted ([`PolicyStats`]):
//!
//! 1. **Repeats** ([`PolicyConfig::suppress_repeats`]): after an alert of a rule for a group is
//!    let through, further alerts of the same rule and group are suppressed for this period.
//!    For correlation alerts the group is the alert's `group`; for detection alerts it is the
//!    values of [`PolicyConfig::detection_group_fields`] in the event (e.g. `source.ip`), or the
//!    rule alone when no fields are configured.
//! 2. **Cooldown** ([`PolicyConfig::cooldown`], the `ALERT_COOLDOWN_MINUTES` of many SIEM
//!    setups): after an alert of a rule is let through, every alert of that rule, whatever its
//!    group, is suppressed for this period.
//! 3. **Rate** ([`PolicyConfig::max_alerts_per_hour`], `MAX_ALERTS_PER_HOUR`): at most this many
//!    alerts are let through in any sliding hour, across all rules.
//!
//! The checks run in that order, and only alerts let through start a period: a suppressed
//! alert never extends one, so a steady stream of repeats yields one alert per period (a
//! throttle), not silence.
//!
//! **Time.** Periods are measured on the alert's `@timestamp` (event time; an alert built on
//! arrival time carries that) or, with [`PolicyClock::Arrival`], on the arrival time the caller
//! passes. The policy's clock never runs backwards: an alert timed before the newest time seen
//! is judged at the newest time, so an out-of-order alert cannot reopen a closed period.
//!
//! **Memory.** The policy remembers one time per (rule, group) for repeats, one per rule for
//! cooldowns and at most `max_alerts_per_hour` times for the rate. Repeat keys whose period has
//! passed are forgotten as time advances, and at most [`PolicyConfig::max_keys`] are kept; beyond
//! it the least recently alerted key is forgotten first (counted in
//! [`PolicyStats::keys_forgotten`]), which can only let an alert through, never hold one back.
//!
//! ```
//! use std::time::Duration;
//! use chrono::{TimeZone, Utc};
//! use siem_core::alert::policy::{AlertPolicy, PolicyConfig, Verdict};
//! use siem_core::{Alert, Event};
//! use siem_core::sigma::RuleMeta;
//! use std::sync::Arc;
//!
//! let mut policy = AlertPolicy::new(PolicyConfig {
//!     suppress_repeats: Some(Duration::from_secs(15 * 60)),
//!     detection_group_fields: vec!["source.ip".into()],
//!     ..PolicyConfig::default()
//! });
//! let rule = Arc::new(RuleMeta { id: "r1".into(), title: "Failed login".into(), ..RuleMeta::default() });
//! let at = |minute| {
//!     let mut e = Event::new();
//!     e.timestamp = Some(Utc.with_ymd_and_hms(2024, 5, 1, 10, minute, 0).unwrap());
//!     e.insert("source.ip", "203.0.113.7");
//!     Alert::detection(rule.clone(), e, Utc::now())
//! };
//! assert_eq!(policy.admit(&at(0), None), Verdict::Emit);
//! assert_eq!(policy.admit(&at(5), None), Verdict::SuppressedRepeat);
//! assert_eq!(policy.admit(&at(16), None), Verdict::Emit);
//! assert_eq!(policy.stats().suppressed_repeat, 1);
//! ```

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};
use compact_str::CompactString;

use super::{Alert, AlertKind};
use crate::event::Value;

/// Which time the policy's periods run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PolicyClock {
    /// The alert's `@timestamp` (event time, or arrival time for events without one).
    #[default]
    AlertTime,
    /// The arrival time the caller passes to [`AlertPolicy::admit`].
    Arrival,
}

/// The limits of an [`AlertPolicy`]; all off by default.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyConfig {
    /// Suppress an alert of a rule and group for this long after one was let through.
    pub suppress_repeats: Option<Duration>,
    /// Suppress every alert of a rule for this long after one was let through.
    pub cooldown: Option<Duration>,
    /// Let at most this many alerts through in any sliding hour.
    pub max_alerts_per_hour: Option<u32>,
    /// For detection alerts, the event fields whose values form the group for
    /// `suppress_repeats` (empty: the rule alone).
    pub detection_group_fields: Vec<CompactString>,
    /// Which time drives the periods.
    pub clock: PolicyClock,
    /// The most (rule, group) keys remembered for `suppress_repeats`. Default 1,000,000.
    pub max_keys: usize,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            suppress_repeats: None,
            cooldown: None,
            max_alerts_per_hour: None,
            detection_group_fields: Vec::new(),
            clock: PolicyClock::AlertTime,
            max_keys: 1_000_000,
        }
    }
}

/// What the policy decided about one alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Let it through.
    Emit,
    /// The same rule and group alerted within `suppress_repeats`.
    SuppressedRepeat,
    /// The same rule alerted within `cooldown`.
    SuppressedCooldown,
    /// `max_alerts_per_hour` alerts were let through in the past hour.
    SuppressedRate,
}

/// Counters of an [`AlertPolicy`].
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PolicyStats {
    /// Alerts judged.
    pub seen: u64,
    /// Alerts let through.
    pub emitted: u64,
    /// Alerts suppressed as repeats.
    pub suppressed_repeat: u64,
    /// Alerts suppressed by a rule's cooldown.
    pub suppressed_cooldown: u64,
    /// Alerts suppressed by the hourly cap.
    pub suppressed_rate: u64,
    /// Repeat keys forgotten early because `max_keys` was reached.
    pub keys_forgotten: u64,
}

const HOUR: i64 = 3_600_000_000_000;

/// The alert lifecycle policy; see the [module docs](self). Applies to detection and
/// correlation alerts alike. `&mut self`: one per alert stream (wrap it in a `Mutex` to share).
#[derive(Debug)]
pub struct AlertPolicy {
    config: PolicyConfig,
    now: i64,
    repeats: HashMap<CompactString, i64>,
    repeat_queue: VecDeque<(i64, CompactString)>,
    cooldowns: HashMap<CompactString, i64>,
    emitted_times: VecDeque<i64>,
    stats: PolicyStats,
}

impl AlertPolicy {
    /// A policy with no history.
    pub fn new(config: PolicyConfig) -> AlertPolicy {
        AlertPolicy {
            config,
            now: i64::MIN,
            repeats: HashMap::new(),
            repeat_queue: VecDeque::new(),
            cooldowns: HashMap::new(),
            emitted_times: VecDeque::new(),
            stats: PolicyStats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &PolicyConfig {
        &self.config
    }

    /// The counters.
    pub fn stats(&self) -> &PolicyStats {
        &self.stats
    }

    /// Judges one alert and records it if it is let through. `arrival` is used with
    /// [`PolicyClock::Arrival`] (the alert's time otherwise, and when `arrival` is `None`).
    pub fn admit(&mut self, alert: &Alert, arrival: Option<DateTime<Utc>>) -> Verdict {
        self.stats.seen += 1;
        let time = match (self.config.clock, arrival) {
            (PolicyClock::Arrival, Some(a)) => a,
            _ => alert.timestamp,
        };
        let t = time
            .timestamp_nanos_opt()
            .unwrap_or(if time.timestamp() < 0 {
                i64::MIN + 1
            } else {
                i64::MAX
            });
        self.now = self.now.max(t);
        let now = self.now;
        let rule = rule_ident(alert);

        let repeat_key = self
            .config
            .suppress_repeats
            .map(|period| (period, self.repeat_key(alert, &rule)));
        if let Some((period, key)) = &repeat_key {
            let period = nanos(*period);
            self.forget_repeats(now, period);
            if self
                .repeats
                .get(key)
                .is_some_and(|&last| now.saturating_sub(last) < period)
            {
                self.stats.suppressed_repeat += 1;
                return Verdict::SuppressedRepeat;
            }
        }
        if let Some(period) = self.config.cooldown
            && self
                .cooldowns
                .get(&rule)
                .is_some_and(|&last| now.saturating_sub(last) < nanos(period))
        {
            self.stats.suppressed_cooldown += 1;
            return Verdict::SuppressedCooldown;
        }
        if let Some(cap) = self.config.max_alerts_per_hour {
            while self
                .emitted_times
                .front()
                .is_some_and(|&e| now.saturating_sub(e) >= HOUR)
            {
                self.emitted_times.pop_front();
            }
            if self.emitted_times.len() >= cap as usize {
                self.stats.suppressed_rate += 1;
                return Verdict::SuppressedRate;
            }
            self.emitted_times.push_back(now);
        }

        self.stats.emitted += 1;
        if let Some((_, key)) = repeat_key {
            self.repeats.insert(key.clone(), now);
            self.repeat_queue.push_back((now, key));
            while self.repeats.len() > self.config.max_keys.max(1) {
                if let Some((t, k)) = self.repeat_queue.pop_front()
                    && self.repeats.get(&k) == Some(&t)
                {
                    self.repeats.remove(&k);
                    self.stats.keys_forgotten += 1;
                }
            }
            if self.repeat_queue.len() > 2 * self.repeats.len() + 64 {
                let repeats = &self.repeats;
                self.repeat_queue.retain(|(t, k)| repeats.get(k) == Some(t));
            }
        }
        if self.config.cooldown.is_some() {
            self.cooldowns.insert(rule, now);
        }
        Verdict::Emit
    }

    /// The alerts of `alerts` that are let through, in order.
    pub fn filter(&mut self, alerts: Vec<Alert>, arrival: Option<DateTime<Utc>>) -> Vec<Alert> {
        alerts
            .into_iter()
            .filter(|a| self.admit(a, arrival) == Verdict::Emit)
            .collect()
    }

    /// Drops repeat keys whose period has passed (the queue is in time order).
    fn forget_repeats(&mut self, now: i64, period: i64) {
        while let Some((t, _)) = self.repeat_queue.front() {
            if now.saturating_sub(*t) < period {
                break;
            }
            if let Some((t, k)) = self.repeat_queue.pop_front()
                && self.repeats.get(&k) == Some(&t)
            {
                self.repeats.remove(&k);
            }
        }
    }

    fn repeat_key(&self, alert: &Alert, rule: &str) -> CompactString {
        let mut key = CompactString::from(rule);
        key.push('\u{1f}');
        let mut push = |v: Option<&Value>| crate::correlate::push_group_key_part(&mut key, v);
        match alert.kind {
            AlertKind::Correlation => alert.group.iter().for_each(|(_, v)| push(Some(v))),
            AlertKind::Detection => {
                for field in &self.config.detection_group_fields {
                    push(alert.event.as_ref().and_then(|e| e.get(field)));
                }
            }
        }
        key
    }
}

/// How the policy names a rule: id, else name, else title.
fn rule_ident(alert: &Alert) -> CompactString {
    let meta = &alert.rule;
    if !meta.id.is_empty() {
        meta.id.clone()
    } else if let Some(name) = &meta.name {
        name.clone()
    } else {
        CompactString::from(meta.title.as_str())
    }
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}
