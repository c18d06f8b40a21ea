"""``SiemLogHandler``: log records as ECS events."""

from __future__ import annotations

import logging
import threading
from typing import Any, Dict, Optional, Union

from . import events, runtime

#: Records the handler could not hand over because the app was not ready yet.
_not_ready = 0
_not_ready_lock = threading.Lock()


class SiemLogHandler(logging.Handler):
    """A logging handler that turns each record into an ECS event for the engine: the
    message, ``log.level``, ``log.logger`` (e.g. ``django.security.DisallowedHost``, which is
    what SigmaHQ's Django rule looks for), ``log.origin.*``, ``process.*``, the exception as
    ``error.type`` / ``error.message`` / ``error.stack_trace``, and the request's fields when
    Django attached the request.

    In ``settings.LOGGING``::

        "handlers": {"siem": {"class": "siem.django.SiemLogHandler"}},
        "loggers": {
            "django.security": {"handlers": ["siem"], "level": "INFO"},
            "django.request": {"handlers": ["siem"], "level": "WARNING"},
        },

    Args:
        level: The least severe level handled.
        logsource: The events' logsource (default: ``SIEM["LOGSOURCE"]``,
            ``category=application, product=django``), as a dict or ``"key=value,..."``.

    Records of the ``siem`` loggers (the integration's own, and ``siem.alerts``) are ignored,
    so that an alert logged by a handler cannot become an event again. Emitting never blocks:
    the event joins the detector's bounded queue or is dropped and counted.
    """

    def __init__(
        self, level: Union[int, str] = logging.NOTSET, logsource: Union[None, str, Dict[str, Any]] = None
    ) -> None:
        super().__init__(level)
        if isinstance(logsource, str):
            parsed: Dict[str, Any] = {}
            for part in logsource.split(","):
                if "=" in part:
                    key, value = part.split("=", 1)
                    parsed[key.strip()] = value.strip()
            logsource = parsed
        self.logsource: Optional[Dict[str, Any]] = logsource

    def emit(self, record: logging.LogRecord) -> None:
        global _not_ready
        if record.name == "siem" or record.name.startswith("siem."):
            return
        try:
            detector = runtime.get_detector()
            if detector is None:
                with _not_ready_lock:
                    _not_ready += 1
                return
            logsource = self.logsource
            if logsource is None:
                from . import conf

                logsource = conf.get("LOGSOURCE")
            detector.submit(events.log_event(record, logsource))
        except Exception:  # noqa: BLE001 - logging must never raise into the application
            self.handleError(record)
