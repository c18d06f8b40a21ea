"""The detector: one engine, two bounded queues and two worker threads.

``submit(event)`` is what the request path calls: it puts the event into a bounded queue and
returns at once (an event that does not fit is dropped and counted). The *detection* thread
takes events in batches, runs them through the engine, calls ``engine.tick()`` whenever it has
been idle or busy for ``TICK_INTERVAL`` (so correlation alerts held for late events come out
of a quiet stream too), and puts alerts into a second bounded queue. The *delivery* thread
calls the alert handlers, one alert at a time; a handler that raises is logged and counted, a
slow one delays only delivery.

The threads start with the first event (a ``manage.py`` command that logs nothing starts
none) and again in a forked child (a pre-forking server copies the engine, not the threads).
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from typing import Any, Callable, Dict, Iterable, List, Optional

import siem

logger = logging.getLogger("siem.django")

Handler = Callable[[siem.Alert], Any]

_STOP = object()

#: How many queued events the detection thread takes for one ``process_batch`` call.
BATCH = 256


class Detector:
    """An engine fed from a bounded queue by a worker thread, with alert delivery on another.

    Args:
        engine: The engine (shared; it may be used elsewhere too).
        handlers: Callables, each called with every :class:`siem.Alert`.
        queue_size: Events waiting for detection before new ones are dropped.
        alert_queue_size: Alerts waiting for delivery before new ones are dropped.
        tick_interval: Seconds between ``engine.tick()`` calls.
    """

    def __init__(
        self,
        engine: siem.Engine,
        handlers: Iterable[Handler],
        *,
        queue_size: int = 10000,
        alert_queue_size: int = 1000,
        tick_interval: float = 1.0,
    ) -> None:
        self.engine = engine
        self.handlers: List[Handler] = list(handlers)
        self.queue_size = max(int(queue_size), 1)
        self.alert_queue_size = max(int(alert_queue_size), 1)
        self.tick_interval = max(float(tick_interval), 0.01)
        self._lock = threading.Lock()
        self._counters: Dict[str, int] = {
            "events_queued": 0,
            "events_dropped": 0,
            "events_processed": 0,
            "events_invalid": 0,
            "alerts_queued": 0,
            "alerts_dropped": 0,
            "alerts_delivered": 0,
            "handler_errors": 0,
            "detection_errors": 0,
            "ticks": 0,
        }
        self._pid: Optional[int] = None
        self._stopping = False
        self._events: "queue.Queue[Any]" = queue.Queue(self.queue_size)
        self._alerts: "queue.Queue[Any]" = queue.Queue(self.alert_queue_size)
        self._threads: List[threading.Thread] = []

    # -- the request path ------------------------------------------------------------------

    def submit(self, event: Dict[str, Any]) -> bool:
        """Queues an event for detection without waiting. Returns whether it was queued
        (``False``: the queue was full, or the detector is stopped; the event is counted as
        dropped)."""
        if self._pid != os.getpid():
            self._start()
        if self._stopping:
            self._count("events_dropped")
            return False
        try:
            self._events.put_nowait(event)
        except queue.Full:
            self._count("events_dropped")
            return False
        self._count("events_queued")
        return True

    # -- the threads -----------------------------------------------------------------------

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            # A forked child inherits the queues' locks in whatever state the parent's threads
            # left them: start over with new ones.
            self._events = queue.Queue(self.queue_size)
            self._alerts = queue.Queue(self.alert_queue_size)
            self._threads = [
                threading.Thread(target=self._detect_loop, name="siem-detect", daemon=True),
                threading.Thread(target=self._deliver_loop, name="siem-deliver", daemon=True),
            ]
            for t in self._threads:
                t.start()
            self._pid = os.getpid()

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self._counters[key] += n

    def _detect_loop(self) -> None:
        events = self._events
        last_tick = time.monotonic()
        while True:
            try:
                first = events.get(timeout=self.tick_interval)
            except queue.Empty:
                first = None
            batch: List[Any] = []
            stop = False
            if first is _STOP:
                stop = True
            elif first is not None:
                batch.append(first)
                while len(batch) < BATCH:
                    try:
                        item = events.get_nowait()
                    except queue.Empty:
                        break
                    if item is _STOP:
                        stop = True
                        break
                    batch.append(item)
            alerts: List[siem.Alert] = []
            if batch:
                alerts.extend(self._process(batch))
            now = time.monotonic()
            if first is None or now - last_tick >= self.tick_interval:
                try:
                    alerts.extend(self.engine.tick())
                    self._count("ticks")
                except Exception:  # noqa: BLE001 - the worker must survive
                    self._count("detection_errors")
                    logger.exception("siem: engine.tick() failed")
                last_tick = now
            for alert in alerts:
                self._enqueue_alert(alert)
            for _ in range(len(batch) + (1 if first is _STOP or stop else 0)):
                events.task_done()
            if stop:
                return

    def _process(self, batch: List[Dict[str, Any]]) -> List[siem.Alert]:
        try:
            alerts = self.engine.process_batch(batch)
            self._count("events_processed", len(batch))
            return alerts
        except siem.EventError:
            # One bad event spoils the batch call: redo it one by one to keep the others.
            pass
        except Exception:  # noqa: BLE001
            self._count("detection_errors")
            logger.exception("siem: processing a batch of %d events failed", len(batch))
            return []
        alerts: List[siem.Alert] = []
        for event in batch:
            try:
                alerts.extend(self.engine.process(event))
                self._count("events_processed")
            except siem.EventError as e:
                self._count("events_invalid")
                logger.warning("siem: event skipped: %s", e)
            except Exception:  # noqa: BLE001
                self._count("detection_errors")
                logger.exception("siem: processing an event failed")
        return alerts

    def _enqueue_alert(self, alert: siem.Alert) -> None:
        try:
            self._alerts.put_nowait(alert)
            self._count("alerts_queued")
        except queue.Full:
            self._count("alerts_dropped")
            logger.warning(
                "siem: alert dropped, delivery queue full (%d): %s", self.alert_queue_size, alert.rule.title
            )

    def _deliver_loop(self) -> None:
        alerts = self._alerts
        while True:
            alert = alerts.get()
            try:
                if alert is _STOP:
                    return
                self.deliver(alert)
            finally:
                alerts.task_done()

    def deliver(self, alert: siem.Alert) -> None:
        """Calls every handler with ``alert`` (in the calling thread); a handler that raises is
        logged and counted, and the others are still called."""
        for handler in self.handlers:
            try:
                handler(alert)
            except Exception:  # noqa: BLE001 - one broken handler must not stop the others
                self._count("handler_errors")
                logger.exception(
                    "siem: alert handler %s failed for %s",
                    getattr(handler, "__qualname__", repr(handler)),
                    alert.rule.title,
                )
        self._count("alerts_delivered")

    # -- control ---------------------------------------------------------------------------

    def drain(self, timeout: float = 10.0) -> bool:
        """Waits until every queued event has been processed and every queued alert
        delivered. Returns ``False`` if that took longer than ``timeout`` seconds. For tests
        and shutdown; the request path never calls it."""
        deadline = time.monotonic() + timeout
        for q in (self._events, self._alerts):
            while q.unfinished_tasks:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.005)
        # (The detection thread queues an event's alerts before it marks the event done, so
        # once the events are done, their alerts are all in the second queue.)
        return True

    def stop(self, flush: bool = True, timeout: float = 5.0) -> None:
        """Stops the threads after the queued events; with ``flush``, applies every held-back
        detection first (``engine.flush()``) and delivers what it raises."""
        if self._pid != os.getpid() or self._stopping:
            return
        self._stopping = True
        deadline = time.monotonic() + timeout
        try:
            self._events.put(_STOP, timeout=timeout)
        except queue.Full:
            pass
        detect, deliver = self._threads
        detect.join(max(deadline - time.monotonic(), 0))
        if flush and not detect.is_alive():
            for alert in self.engine.flush():
                self._enqueue_alert(alert)
        try:
            self._alerts.put(_STOP, timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Full:
            pass
        deliver.join(max(deadline - time.monotonic(), 0))

    def stats(self) -> Dict[str, Any]:
        """The integration's counters, the queues' current lengths and the engine's stats."""
        with self._lock:
            out: Dict[str, Any] = dict(self._counters)
        out["events_waiting"] = self._events.qsize()
        out["alerts_waiting"] = self._alerts.qsize()
        out["engine"] = self.engine.stats()
        return out


_detector: Optional[Detector] = None
_detector_lock = threading.Lock()


def get_detector() -> Optional[Detector]:
    """The detector built from the settings, or ``None`` before the app is ready."""
    return _detector


def import_handler(path: str) -> Handler:
    from django.core.exceptions import ImproperlyConfigured
    from django.utils.module_loading import import_string

    try:
        handler = import_string(path)
    except ImportError as e:
        raise ImproperlyConfigured(f"SIEM['ALERT_HANDLERS']: cannot import {path!r}: {e}") from e
    if not callable(handler):
        raise ImproperlyConfigured(f"SIEM['ALERT_HANDLERS']: {path!r} is not callable")
    return handler


def build_engine() -> siem.Engine:
    """The engine ``settings.SIEM`` describes."""
    from . import conf

    kwargs = dict(conf.get("ENGINE") or {})
    lenient = bool(conf.get("LENIENT"))
    rules = [os.fspath(r) if hasattr(r, "__fspath__") else r for r in conf.get("RULES") or []]
    pipelines = conf.get("PIPELINES")
    if pipelines is not None:
        kwargs["pipelines"] = pipelines
    engine = siem.Engine(rules=rules, lenient=lenient, **kwargs)
    for error in engine.rule_errors:
        logger.warning("siem: rule skipped: %s", error)
    return engine


def start() -> Detector:
    """Builds the detector from the settings (once per process; called by the app's
    ``ready()``)."""
    global _detector
    from . import conf

    with _detector_lock:
        if _detector is not None:
            return _detector
        conf.check_keys()
        engine = build_engine()
        handlers = [
            h if callable(h) else import_handler(h) for h in conf.get("ALERT_HANDLERS") or []
        ]
        _detector = Detector(
            engine,
            handlers,
            queue_size=conf.get("QUEUE_SIZE"),
            alert_queue_size=conf.get("ALERT_QUEUE_SIZE"),
            tick_interval=conf.get("TICK_INTERVAL"),
        )
        atexit.register(_detector.stop)
        return _detector


def submit(event: Dict[str, Any]) -> bool:
    """Queues an event with the running detector; ``False`` (and nothing else) before the app
    is ready."""
    d = _detector
    if d is None:
        return False
    return d.submit(event)
