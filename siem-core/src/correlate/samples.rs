//! Sampled events of open windows, and the one byte budget they all share.
//!
//! Each group keeps its newest [`CorrelatorConfig::sample_events`](super::CorrelatorConfig)
//! events so that an alert can show what led to it. A count alone does not bound their memory:
//! an event's size is the input's (a Windows event is a few kilobytes, a hostile line can be a
//! megabyte), so at the cap of one million groups five samples each would hold gigabytes.
//! [`SampleBudget`] therefore caps the bytes of every sample held by one correlator
//! ([`CorrelatorConfig::max_sample_bytes`](super::CorrelatorConfig)). Past the cap the oldest
//! samples across all groups go first, so the groups that are active now (the ones whose
//! alerts are about to fire) keep theirs; each is counted in
//! [`CorrelatorStats::samples_evicted`](super::CorrelatorStats).
//!
//! The budget knows the global order through a queue of where each sample went, in the order
//! samples were taken. A sample also leaves its group in other ways (pushed out by a newer one,
//! or its window fired, expired or was evicted), which leaves its queue entry stale; a sequence
//! number in both tells a stale entry from a live one, and the queue is compacted when the
//! stale entries outnumber the live ones, so it stays within about twice the samples held.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::event::Event;

/// One sampled event of a window.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    /// The detection's time (nanoseconds on its clock).
    pub time: i64,
    pub event: Arc<Event>,
    /// [`Event::heap_bytes`] when it was taken (saturated), charged to the budget.
    pub bytes: u32,
    /// Its number in the budget's order (wrapping): tells its queue entry from a stale one.
    pub seq: u32,
}

/// Where a sample went: table `table` (correlation × 2 + clock), group slot `slot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Taken {
    pub table: u32,
    pub slot: u32,
    pub seq: u32,
}

/// The bytes of every sample one correlator holds, and the order they were taken in.
#[derive(Debug, Default)]
pub(crate) struct SampleBudget {
    /// The most bytes of samples held at once.
    pub max: usize,
    /// Bytes of the samples held now.
    pub bytes: usize,
    /// Samples held now.
    pub live: usize,
    order: VecDeque<Taken>,
    next: u32,
}

impl SampleBudget {
    pub fn new(max: usize) -> SampleBudget {
        SampleBudget {
            max,
            ..SampleBudget::default()
        }
    }

    /// A sample of `event`, `bytes` large, at `time`, for (`table`, `slot`): numbered and
    /// charged. The caller has made room ([`SampleBudget::fits`]) and stores it.
    pub fn take(
        &mut self,
        table: u32,
        slot: u32,
        time: i64,
        event: Arc<Event>,
        bytes: u32,
    ) -> Sample {
        let seq = self.next;
        self.next = self.next.wrapping_add(1);
        self.order.push_back(Taken { table, slot, seq });
        self.bytes += bytes as usize;
        self.live += 1;
        Sample {
            time,
            event,
            bytes,
            seq,
        }
    }

    /// Whether a sample of `bytes` fits beside those held.
    #[inline]
    pub fn fits(&self, bytes: u32) -> bool {
        self.bytes + bytes as usize <= self.max
    }

    /// A sample left its group (by any path): its bytes are free again.
    #[inline]
    pub fn release(&mut self, sample: &Sample) {
        self.bytes -= sample.bytes as usize;
        self.live -= 1;
    }

    /// A sample of (`table`, `slot`) pushed out by a newer one of its group: released, and its
    /// entry dropped at once when it is the oldest (in a steady stream, where the group pushing
    /// out its oldest sample holds the oldest sample of all, nothing goes stale).
    #[inline]
    pub fn release_pushed_out(&mut self, table: u32, slot: u32, sample: &Sample) {
        self.release(sample);
        let taken = Taken {
            table,
            slot,
            seq: sample.seq,
        };
        if self.order.front() == Some(&taken) {
            self.order.pop_front();
        }
    }

    /// The oldest entry of the order, taken out (live or stale: the caller checks its group).
    pub fn pop_oldest(&mut self) -> Option<Taken> {
        self.order.pop_front()
    }

    /// The `i`th oldest entry of the order, left in place.
    #[inline]
    pub fn peek(&self, i: usize) -> Option<&Taken> {
        self.order.get(i)
    }

    /// Whether stale entries have piled up enough that [`SampleBudget::retain`] should run.
    #[inline]
    pub fn needs_compaction(&self) -> bool {
        self.order.len() > 2 * self.live + 1024
    }

    /// Keeps only the entries `live` says are still held (compaction).
    pub fn retain(&mut self, mut live: impl FnMut(&Taken) -> bool) {
        self.order.retain(|t| live(t));
    }

    /// Bytes of the order queue (not the samples, which the tables count).
    pub fn heap_bytes(&self) -> usize {
        self.order.capacity() * std::mem::size_of::<Taken>()
    }
}

/// The size of `event` as a sample charges it: [`Event::heap_bytes`], saturated to `u32`.
pub(crate) fn sample_bytes(event: &Event) -> u32 {
    u32::try_from(event.heap_bytes()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_and_releases() {
        let mut b = SampleBudget::new(100);
        assert!(b.fits(100));
        assert!(!b.fits(101));
        let s = b.take(0, 3, 1, Arc::new(Event::new()), 60);
        assert_eq!((b.bytes, b.live), (60, 1));
        assert!(!b.fits(41));
        assert_eq!(
            b.pop_oldest(),
            Some(Taken {
                table: 0,
                slot: 3,
                seq: s.seq
            })
        );
        b.release(&s);
        assert_eq!((b.bytes, b.live), (0, 0));
    }
}
