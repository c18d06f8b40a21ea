//! [`Index`]: the compact hash index from a group key's hash to its slot, built so that a batch
//! of lookups can prefetch its buckets (see [`Correlator::process_batch`](super::Correlator::process_batch)).
//!
//! # Layout and cost
//!
//! Open addressing with linear probing over one array of `u64` entries: the upper 32 bits of
//! the key's hash (its *tag*) and the slot. A key's home bucket is its tag modulo the capacity,
//! so where a lookup starts is a function of the hash alone: a batch can prefetch the bucket of
//! every key before it looks any up. A probe compares tags only; a slot whose tag matches is a
//! candidate that the caller confirms against the slot's key (with 2^21 buckets for a million
//! groups, 11 tag bits beyond the home position leave about one false candidate per 2,000
//! probes). The load factor stays at most 3/4, so a miss ends at an empty entry after a few
//! steps; removal shifts the entries after the hole back (no tombstones), using the tag to find
//! each entry's home, so it never reads a slot. Cost: 8 bytes per bucket, 10.7–21.3 bytes per
//! group (one million groups: 16.8).

use crate::prefetch::prefetch;

/// An empty bucket (a real entry would need slot `u32::MAX`, which [`Index::insert`] refuses).
const EMPTY: u64 = u64::MAX;

/// The hash → slot index of one table (see the module docs).
#[derive(Debug, Default, Clone)]
pub(crate) struct Index {
    /// `tag << 32 | slot`, or [`EMPTY`]; the length is zero or a power of two.
    entries: Vec<u64>,
    len: usize,
}

/// The part of a hash an entry keeps (and that picks its home bucket).
#[inline]
fn tag(hash: u64) -> u32 {
    (hash >> 32) as u32
}

impl Index {
    /// Entries held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    fn mask(&self) -> usize {
        self.entries.len().wrapping_sub(1)
    }

    /// The bucket a key with `hash` starts its probe at (`None` while the index is empty).
    #[inline]
    fn home(&self, hash: u64) -> Option<usize> {
        (!self.entries.is_empty()).then(|| tag(hash) as usize & self.mask())
    }

    /// The slot of the key with `hash` for which `eq` holds.
    #[inline]
    pub fn find(&self, hash: u64, mut eq: impl FnMut(u32) -> bool) -> Option<u32> {
        let mut i = self.home(hash)?;
        let mask = self.mask();
        let t = tag(hash);
        loop {
            let e = *self.entries.get(i)?;
            if e == EMPTY {
                return None;
            }
            if tag(e) == t && eq(e as u32) {
                return Some(e as u32);
            }
            i = (i + 1) & mask;
        }
    }

    /// The first slot whose tag matches `hash` (most likely the key's own slot, unconfirmed):
    /// what a batch prefetches.
    #[inline]
    pub fn candidate(&self, hash: u64) -> Option<u32> {
        self.find(hash, |_| true)
    }

    /// Asks the processor to bring the home bucket of `hash` into the cache.
    #[inline]
    pub fn prefetch(&self, hash: u64) {
        if let Some(e) = self.home(hash).and_then(|i| self.entries.get(i)) {
            prefetch(e);
        }
    }

    /// Adds `slot` for a key with `hash` that is not in the index.
    pub fn insert(&mut self, hash: u64, slot: u32) {
        // `u32::MAX` would read as an empty bucket; a table of that many slots (hundreds of
        // gigabytes) cannot be built, so this only keeps the encoding unambiguous.
        if slot == u32::MAX {
            return;
        }
        if (self.len + 1) * 4 > self.entries.len() * 3 {
            self.grow();
        }
        self.place((u64::from(tag(hash)) << 32) | u64::from(slot));
        self.len += 1;
    }

    /// Writes `entry` into the first empty bucket from its home (there is one: load <= 3/4).
    fn place(&mut self, entry: u64) {
        let mask = self.mask();
        let mut i = tag(entry) as usize & mask;
        while self.entries[i] != EMPTY {
            i = (i + 1) & mask;
        }
        self.entries[i] = entry;
    }

    fn grow(&mut self) {
        let capacity = (self.entries.len() * 2).max(16);
        let old = std::mem::replace(&mut self.entries, vec![EMPTY; capacity]);
        for e in old {
            if e != EMPTY {
                self.place(e);
            }
        }
    }

    /// Removes the entry of `slot`, whose key has `hash`; false if it is not there.
    pub fn remove(&mut self, hash: u64, slot: u32) -> bool {
        let want = (u64::from(tag(hash)) << 32) | u64::from(slot);
        let Some(mut i) = self.home(hash) else {
            return false;
        };
        let mask = self.mask();
        loop {
            match self.entries[i] {
                EMPTY => return false,
                e if e == want => break,
                _ => i = (i + 1) & mask,
            }
        }
        // Backward shift: move each later entry of the run into the hole when its home is not
        // after the hole (cyclically), so every entry stays reachable from its home.
        let mut hole = i;
        let mut j = (i + 1) & mask;
        loop {
            let e = self.entries[j];
            if e == EMPTY {
                break;
            }
            let home = tag(e) as usize & mask;
            if j.wrapping_sub(home) & mask >= j.wrapping_sub(hole) & mask {
                self.entries[hole] = e;
                hole = j;
            }
            j = (j + 1) & mask;
        }
        self.entries[hole] = EMPTY;
        self.len -= 1;
        true
    }

    /// Bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<u64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Random inserts and removals against a `HashMap`, with hashes chosen to collide (few
    /// distinct tags) so that probe runs wrap and backward shifts happen.
    #[test]
    fn matches_a_hash_map() {
        let mut index = Index::default();
        let mut model: HashMap<u32, u64> = HashMap::new();
        let mut live: Vec<u32> = Vec::new();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for step in 0..6_000u32 {
            let r = next();
            if r % 3 != 0 || model.is_empty() {
                let hash = (r % 64) << 32 | (r >> 40);
                let slot = step;
                index.insert(hash, slot);
                model.insert(slot, hash);
                live.push(slot);
            } else {
                let victim = live.swap_remove((r >> 8) as usize % live.len());
                let hash = model.remove(&victim).unwrap();
                assert!(index.remove(hash, victim));
            }
            assert_eq!(index.len(), model.len());
            if step % 211 == 0 {
                for (&slot, &hash) in &model {
                    assert_eq!(index.find(hash, |s| s == slot), Some(slot));
                }
                assert_eq!(index.find(next(), |_| false), None);
            }
        }
        assert!(!index.remove(1 << 40, 7));
    }
}
