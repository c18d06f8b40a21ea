//! Thread CPU time for criterion benches on a shared machine: other processes' load slows the
//! wall clock but not this thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`).

use std::hint::black_box;
use std::time::Duration;

/// CPU time consumed by the calling thread so far.
///
/// ```
/// let start = siem_benches::clock::thread_cpu_time();
/// let spent = siem_benches::clock::thread_cpu_time().saturating_sub(start);
/// assert!(spent < std::time::Duration::from_secs(1));
/// ```
pub fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer; the clock id is a
    // constant every Linux kernel supports.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Times `f` once per criterion iteration in thread CPU time (its result kept from the
/// optimizer with `black_box`).
pub fn cpu_iter<T>(b: &mut criterion::Bencher<'_>, mut f: impl FnMut() -> T) {
    b.iter_custom(|iterations| {
        let start = thread_cpu_time();
        for _ in 0..iterations {
            black_box(f());
        }
        thread_cpu_time().saturating_sub(start)
    })
}
