//! [`Reorder`]: the buffer of detections waiting for late arrivals, released oldest first.
//!
//! # Layout and cost
//!
//! Detections are ordered by (event time, arrival sequence). Most arrive in that order (a
//! source's clock only moves forward, and syslog's whole seconds tie), so the buffer keeps two
//! parts: `run`, a deque of the detections that arrived in order (each not older than the
//! newest before it), and `late`, a binary heap of the others. A detection in order is appended
//! and released from the front: constant time, no comparisons beyond one. Only late ones pay the
//! heap's logarithmic push and pop. The oldest waiting detection is the older of the two fronts,
//! so the release order is exactly a single heap's (the sequence numbers make the order total).
//! Cost: 32 bytes per waiting detection in either part, plus the shared event.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use super::engine::Pending;

/// Waiting detections, released in (time, sequence) order (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct Reorder {
    /// Detections that arrived in order: sorted, oldest first.
    run: VecDeque<Pending>,
    /// Detections older than the newest of `run` when they arrived.
    late: BinaryHeap<Reverse<Pending>>,
}

impl Reorder {
    /// Detections waiting.
    pub fn len(&self) -> usize {
        self.run.len() + self.late.len()
    }

    pub fn is_empty(&self) -> bool {
        self.run.is_empty() && self.late.is_empty()
    }

    /// Adds a detection whose sequence number is above every one added before.
    pub fn push(&mut self, p: Pending) {
        if self.run.back().is_none_or(|last| *last <= p) {
            self.run.push_back(p);
        } else {
            self.late.push(Reverse(p));
        }
    }

    /// The oldest waiting detection.
    pub fn peek(&self) -> Option<&Pending> {
        match (self.run.front(), self.late.peek()) {
            (Some(a), Some(Reverse(b))) => Some(if a <= b { a } else { b }),
            (a, b) => a.or(b.map(|Reverse(b)| b)),
        }
    }

    /// Removes and returns the oldest waiting detection.
    pub fn pop(&mut self) -> Option<Pending> {
        let from_run = match (self.run.front(), self.late.peek()) {
            (Some(a), Some(Reverse(b))) => a <= b,
            (a, _) => a.is_some(),
        };
        if from_run {
            self.run.pop_front()
        } else {
            self.late.pop().map(|Reverse(p)| p)
        }
    }

    /// The waiting detections, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Pending> {
        self.run.iter().chain(self.late.iter().map(|Reverse(p)| p))
    }

    /// Bytes held (capacities).
    pub fn heap_bytes(&self) -> usize {
        (self.run.capacity() + self.late.capacity()) * std::mem::size_of::<Pending>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::BaseRule;
    use crate::event::Event;
    use proptest::prelude::*;
    use std::sync::Arc;

    fn pending(time: i64, seq: u64, event: &Arc<Event>) -> Pending {
        Pending {
            time,
            seq,
            rule: BaseRule(0),
            event: Arc::clone(event),
            owned: false,
        }
    }

    proptest! {
        /// Any interleaving of pushes (times mostly rising, some late, many ties) and pops
        /// releases exactly what one binary heap would, in the same order.
        #[test]
        fn releases_like_one_heap(
            ops in proptest::collection::vec((0u8..4, -3i64..6), 0..400),
        ) {
            let event = Arc::new(Event::new());
            let mut buffer = Reorder::default();
            let mut model: BinaryHeap<Reverse<(i64, u64)>> = BinaryHeap::new();
            let (mut clock, mut seq) = (0i64, 0u64);
            for (op, step) in ops {
                if op == 0 {
                    let got = buffer.pop().map(|p| (p.time, p.seq));
                    prop_assert_eq!(got, model.pop().map(|Reverse(k)| k));
                } else {
                    // Mostly forward (ties included), sometimes back: a late arrival.
                    clock += step;
                    seq += 1;
                    buffer.push(pending(clock, seq, &event));
                    model.push(Reverse((clock, seq)));
                }
                prop_assert_eq!(buffer.len(), model.len());
                prop_assert_eq!(buffer.is_empty(), model.is_empty());
                prop_assert_eq!(
                    buffer.peek().map(|p| (p.time, p.seq)),
                    model.peek().map(|Reverse(k)| *k)
                );
                prop_assert_eq!(buffer.iter().count(), model.len());
            }
            while let Some(Reverse(k)) = model.pop() {
                prop_assert_eq!(buffer.pop().map(|p| (p.time, p.seq)), Some(k));
            }
            prop_assert!(buffer.pop().is_none());
        }
    }
}
