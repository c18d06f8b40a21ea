"""Django integration: detection in-process, as the request happens.

Add ``"siem.django"`` to ``INSTALLED_APPS`` and configure it in ``settings.SIEM``::

    SIEM = {
        "RULES": [BASE_DIR / "rules", "/opt/sigma/rules/application/django"],
        "ALERT_HANDLERS": ["siem.django.handlers.log_alert", "myapp.alerts.page_oncall"],
        "TRUSTED_PROXY_HEADER": "X-Forwarded-For",   # behind one reverse proxy
    }

What feeds the engine:

- authentication signals (``user_logged_in``, ``user_logged_out``, ``user_login_failed``), as
  ECS authentication events with logsource ``category=application, product=django``;
- :class:`SiemMiddleware` (``"siem.django.SiemMiddleware"`` in ``MIDDLEWARE``): each request as
  an ECS web event, logsource ``category=webserver, product=django``;
- :class:`SiemLogHandler` in ``settings.LOGGING``: log records, ``django.security.*`` and
  exceptions included, logsource ``category=application, product=django``.

Nothing on the request path waits for detection or delivery: events go into a bounded queue,
a worker thread matches them and hands alerts to a second bounded queue whose thread calls the
handlers. Whatever does not fit is dropped and counted (:func:`stats`).

The settings, with their defaults, are documented in :mod:`siem.django.conf`.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from .log import SiemLogHandler
from .middleware import SiemMiddleware


def detector():
    """The running :class:`siem.django.runtime.Detector` (engine, queues, worker threads), or
    ``None`` before the app is ready."""
    from . import runtime

    return runtime.get_detector()


def stats() -> Optional[Dict[str, Any]]:
    """Counters of the integration (events queued, dropped, processed, alerts delivered,
    handler errors, ...) and of the engine; ``None`` before the app is ready."""
    d = detector()
    return d.stats() if d is not None else None


__all__ = ["SiemLogHandler", "SiemMiddleware", "detector", "stats"]
