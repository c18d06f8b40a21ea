"""Python overhead of siem, measured against the native Rust loop in the same run.

For each workload (real log lines and SigmaHQ rules from the public corpora):

- ``process_batch`` events/s on raw lines, and the same Rust loop timed without Python objects
  (``siem._siem._native_batch_rate``: parse each line, match, correlate);
- ``process_batch`` events/s on ECS dicts (the parsed events as nested dicts), against the
  Rust loop over the same events ready-made (``siem._siem._native_event_rate``: matching
  only, the strictest comparison) and against the Rust loop that reads the same events from
  ECS JSON text first (``siem._siem._native_json_rate``: what a Rust program receiving ECS
  events does);
- per-call time of ``process(dict)`` and ``process_line(str)`` against the native time per
  event: the difference is what one call from Python costs;
- ``process_batch`` on raw lines from two threads at once: the GIL is released while matching,
  so two threads get more done than one on a machine with two free cores.

Run (after ``pip install ./python``), from the repository root:

    python python/bench/bench.py            # all workloads
    python python/bench/bench.py --quick    # fewer events, one repetition

The corpora are found as the tests find them ($SIEM_CORPORA or ../shared/corpora).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import threading
import time
from pathlib import Path
from typing import Callable, List, Sequence

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import siem  # noqa: E402
from siem import _siem  # noqa: E402
from corpora import EXAMPLE_RULES, corpus  # noqa: E402

REFERENCE = dt.datetime(2024, 12, 31, tzinfo=dt.timezone.utc)


def best_rate(run: Callable[[], float], repeat: int) -> float:
    """The best of ``repeat`` runs (events/s): the run least disturbed by other work."""
    return max(run() for _ in range(repeat))


def timed_rate(n: int, run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return n / (time.perf_counter() - start)


def sshd_workload(size: int):
    lines = (corpus("loghub") / "OpenSSH" / "OpenSSH_2k.log").read_text(encoding="utf-8").splitlines()
    rules = [EXAMPLE_RULES, corpus("sigma") / "rules" / "linux"]
    return "sshd: loghub OpenSSH lines, SigmaHQ rules/linux + example correlations", rules, (lines * (size // len(lines) + 1))[:size]


def windows_workload(size: int):
    root = corpus("windows-evtx-json")
    lines: List[str] = []
    for path in sorted(root.rglob("*.jsonl")):
        lines.extend(l for l in path.read_text(encoding="utf-8").splitlines() if l.strip())
        if len(lines) >= size:
            break
    rules = [corpus("sigma") / "rules" / "windows"]
    return "windows: EVTX events as JSON lines, SigmaHQ rules/windows", rules, lines[:size]


def measure(title: str, rules: Sequence[Path], lines: List[str], repeat: int) -> None:
    started = time.perf_counter()
    engine = siem.Engine(rules=rules, lenient=True, reference_time=REFERENCE)
    build = time.perf_counter() - started
    print(f"\n## {title}")
    print(
        f"{len(engine.rules)} rules + {len(engine.correlation_rules)} correlations compiled in "
        f"{build:.2f} s ({len(engine.rule_errors)} skipped); {len(lines)} events"
    )
    raw = [l.encode("utf-8") for l in lines]
    dicts = [engine.parse(l) for l in lines]
    n = len(lines)

    def fresh() -> siem.Engine:
        # A fresh engine per run: correlation state must not carry over between runs.
        return siem.Engine(rules=rules, lenient=True, reference_time=REFERENCE)

    texts = [json.dumps(d) for d in dicts]
    # Each repetition runs every path once, in turn, so that all see the same machine load;
    # the best of each is kept. A first untimed pass warms caches and the allocator.
    fresh().process_batch(lines)
    paths = {
        "native_lines": lambda e: _siem._native_batch_rate(e, raw),
        "py_lines": lambda e: timed_rate(n, lambda: e.process_batch(lines)),
        "native_events": lambda e: _siem._native_event_rate(e, dicts),
        "native_json": lambda e: _siem._native_json_rate(e, texts),
        "py_dicts": lambda e: timed_rate(n, lambda: e.process_batch(dicts)),
    }
    best = dict.fromkeys(paths, 0.0)
    for _ in range(repeat):
        for name, run in paths.items():
            best[name] = max(best[name], run(fresh()))
    native_lines, py_lines = best["native_lines"], best["py_lines"]
    native_events, native_json, py_dicts = best["native_events"], best["native_json"], best["py_dicts"]

    calls = dicts[: min(n, 5000)]
    e = fresh()
    per_call_dict = max(
        timed_rate(len(calls), lambda: [e.process(d) for d in calls]) for _ in range(repeat)
    )
    e = fresh()
    per_call_line = max(
        timed_rate(len(calls), lambda: [e.process_line(l) for l in lines[: len(calls)]])
        for _ in range(repeat)
    )

    def two_threads() -> float:
        e = fresh()
        half = n // 2
        parts = [lines[:half], lines[half:]]
        threads = [threading.Thread(target=e.process_batch, args=(p,)) for p in parts]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return n / (time.perf_counter() - start)

    threaded = best_rate(two_threads, repeat)

    print()
    print("| path | Python | native Rust | Python / native |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| process_batch(lines) | {py_lines:,.0f} ev/s | {native_lines:,.0f} ev/s | {py_lines / native_lines:.0%} |")
    print(f"| process_batch(dicts) vs ready-made events | {py_dicts:,.0f} ev/s | {native_events:,.0f} ev/s | {py_dicts / native_events:.0%} |")
    print(f"| process_batch(dicts) vs events from JSON | {py_dicts:,.0f} ev/s | {native_json:,.0f} ev/s | {py_dicts / native_json:.0%} |")
    print(
        f"| process(dict), per call | {1e6 / per_call_dict:.2f} µs | {1e6 / native_events:.2f} µs | "
        f"+{1e6 / per_call_dict - 1e6 / native_events:.2f} µs per call |"
    )
    print(
        f"| process_line(str), per call | {1e6 / per_call_line:.2f} µs | {1e6 / native_lines:.2f} µs | "
        f"+{1e6 / per_call_line - 1e6 / native_lines:.2f} µs per call |"
    )
    print(f"| process_batch(lines), 2 threads | {threaded:,.0f} ev/s | | {threaded / py_lines:.2f}x one thread |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer events, one repetition")
    parser.add_argument("--events", type=int, default=None, help="events per workload (default 20000)")
    parser.add_argument("--repeat", type=int, default=None, help="repetitions, best taken (default 3)")
    args = parser.parse_args()
    size = args.events or (4000 if args.quick else 20000)
    repeat = args.repeat or (1 if args.quick else 3)
    print(
        f"siem {siem.__version__}, Python {platform.python_version()} ({platform.machine()}), "
        f"{dt.date.today().isoformat()}; best of {repeat}"
    )
    for workload in (sshd_workload, windows_workload):
        measure(*workload(size), repeat=repeat)


if __name__ == "__main__":
    main()
