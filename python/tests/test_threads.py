"""One engine shared by many threads: every event counted once, every group correlated."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter

import siem
from corpora import EXAMPLE_RULES, corpus

THREADS = 8
UTC = dt.timezone.utc
T0 = dt.datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)

RULES = """
title: Failed login
name: failed_login
logsource: {category: application, product: django}
detection:
    selection: {event.category: authentication, event.outcome: failure}
    condition: selection
---
title: Brute force from one address
id: 0d1c5b8e-2f61-4c7a-9a57-4b8f1f7c9e10
correlation:
    type: event_count
    rules: [failed_login]
    group-by: [source.ip]
    timespan: 5m
    condition: {gte: 6}
level: high
"""


def run_threads(target, count: int = THREADS) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def wrapped(i: int) -> None:
        try:
            barrier.wait()
            target(i)
        except BaseException as e:  # noqa: BLE001 - re-raised in the main thread
            errors.append(e)

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
        assert not t.is_alive(), "a thread hung"
    if errors:
        raise errors[0]


def test_concurrent_process_line_batch_and_dict_calls_count_every_event():
    lines = (corpus("loghub") / "OpenSSH" / "OpenSSH_2k.log").read_text().splitlines()[:600]
    reference = dt.datetime(2024, 12, 31, tzinfo=UTC)
    detections = (EXAMPLE_RULES / "ssh_bruteforce.yml").read_text().split("---")[0]
    engine = siem.Engine(rules=[detections], reference_time=reference)
    expected = sum(len(engine.process_line(line)) for line in lines)
    assert expected > 100
    events = [engine.parse(line) for line in lines]
    engine = siem.Engine(rules=[detections], reference_time=reference)
    found = Counter()

    def work(i: int) -> None:
        n = 0
        mode = i % 3
        if mode == 0:
            for line in lines:
                n += len(engine.process_line(line))
        elif mode == 1:
            n += len(engine.process_batch(lines))
        else:
            for event in events:
                n += len(engine.process(event))
        engine.stats()
        found[i] = n

    run_threads(work)
    assert all(n == expected for n in found.values()), found
    stats = engine.stats()
    assert stats["events"] == THREADS * len(lines)
    assert stats["detections"] == THREADS * expected
    assert stats["alerts"] == THREADS * expected


def test_every_threads_brute_force_is_correlated_once_per_window():
    # Threads run at their own pace: one may be five events ahead of another. The lateness
    # lets the slower ones' events in (in event-time order); flush applies what waits.
    engine = siem.Engine(rules=[RULES], correlator={"lateness": 60})
    alerts: list[list[siem.Alert]] = [[] for _ in range(THREADS)]

    def work(i: int) -> None:
        ip = f"198.51.100.{i + 1}"
        for k in range(6):
            event = {
                "@timestamp": T0 + dt.timedelta(seconds=k),
                "event": {"category": "authentication", "outcome": "failure"},
                "source": {"ip": ip},
                "user": {"name": f"user{k}"},
                "logsource": {"category": "application", "product": "django"},
            }
            alerts[i].extend(engine.process(event))
            if k == 3:
                engine.snapshot()  # reading the state while others write it

    run_threads(work)
    flat = [a for per_thread in alerts for a in per_thread] + engine.flush()
    groups = sorted(a.group["source.ip"] for a in flat if a.kind == "correlation")
    assert groups == sorted(f"198.51.100.{i + 1}" for i in range(THREADS))
    assert engine.stats()["correlator"]["late_dropped"] == 0


def test_the_gil_is_released_while_the_engine_matches():
    # A thread that only counts: if one call held the GIL from start to end, this thread could
    # not run during it, and the longest gap between two of its steps would span the call.
    # With the GIL released around matching, it keeps stepping: gaps stay a small fraction.
    lines = (corpus("loghub") / "OpenSSH" / "OpenSSH_2k.log").read_text().splitlines()
    rules = [EXAMPLE_RULES, corpus("sigma") / "rules" / "linux"]
    engine = siem.Engine(rules=rules, lenient=True, reference_time=dt.datetime(2024, 12, 31, tzinfo=UTC))
    stamps: list[float] = []
    stop = threading.Event()

    def step() -> None:
        while not stop.is_set():
            stamps.append(time.perf_counter())

    stepper = threading.Thread(target=step)
    stepper.start()
    try:
        batch = lines
        for _ in range(8):  # a batch long enough to tell (debug and release builds differ)
            start = time.perf_counter()
            engine.process_batch(batch)
            end = time.perf_counter()
            if end - start >= 0.3:
                break
            batch = batch * 2
    finally:
        stop.set()
        stepper.join()
    assert end - start >= 0.3, f"{len(batch)} lines took only {end - start:.3f} s"
    inside = [start] + [t for t in stamps if start < t < end] + [end]
    longest = max(b - a for a, b in zip(inside, inside[1:]))
    assert longest < (end - start) / 3, (longest, end - start, len(inside))
