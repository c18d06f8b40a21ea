//! Cache prefetch hints, shared by the modules that start memory fetches ahead of their use
//! (the correlator's batches, an event about to be matched or dropped).
//!
//! A prefetch asks the processor to bring a cache line in without waiting for it. It never
//! faults and changes no result, whatever the address, so these are safe functions; where
//! there is no portable way to say it they do nothing.

/// Starts fetching the cache line holding `value`.
#[inline(always)]
pub(crate) fn prefetch<T>(value: &T) {
    prefetch_ptr((value as *const T).cast::<u8>());
}

/// [`prefetch`] for the cache line `offset` bytes past `value` (which may lie past its end:
/// the address is only a hint and is never dereferenced).
#[inline(always)]
pub(crate) fn prefetch_at<T>(value: &T, offset: usize) {
    prefetch_ptr((value as *const T).cast::<u8>().wrapping_add(offset));
}

/// Starts fetching the cache lines of `len` bytes from `p`: a line per 64 bytes, so a long
/// buffer is many hints (callers bound `len`).
#[inline(always)]
pub(crate) fn prefetch_bytes(p: *const u8, len: usize) {
    let mut offset = 0;
    while offset < len {
        prefetch_ptr(p.wrapping_add(offset));
        offset += 64;
    }
}

#[inline(always)]
pub(crate) fn prefetch_ptr(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: PREFETCHT0 is a hint: it does not access memory architecturally and cannot
        // fault, whatever the address (SSE, which provides it, is part of every x86_64).
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
