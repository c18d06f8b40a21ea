"""``settings.SIEM``: the keys, their defaults and what they mean.

=========================  ====================================================================
key                        meaning (default)
=========================  ====================================================================
``RULES``                  Sigma rule files, folders and YAML strings (``[]``).
``PIPELINES``              pySigma processing pipelines, bundled names or files (``None``: the
                           engine's default).
``LENIENT``                Skip rules that do not load instead of failing at start (``False``);
                           skipped rules are logged as warnings on ``siem.django``.
``ENGINE``                 More keyword arguments for :class:`siem.Engine` (``{}``), e.g.
                           ``{"correlator": {"lateness": 2}, "policy": {"cooldown": 600}}``.
``ALERT_HANDLERS``         Dotted paths of callables, each called with one :class:`siem.Alert`
                           (``["siem.django.handlers.log_alert"]``).
``TRUSTED_PROXY_HEADER``   Header a trusted reverse proxy sets to the client address, e.g.
                           ``"X-Forwarded-For"`` or ``"X-Real-IP"`` (``None``: ``REMOTE_ADDR``).
``TRUSTED_PROXY_COUNT``    How many trusted proxies append to that header (``1``): the address
                           that many places from its end is the client's.
``QUEUE_SIZE``             Events waiting for detection before new ones are dropped (``10000``).
``ALERT_QUEUE_SIZE``       Alerts waiting for delivery before new ones are dropped (``1000``).
``TICK_INTERVAL``          Seconds between the worker's ``engine.tick()`` calls (``1.0``), which
                           release correlation alerts held for late events.
``LOGSOURCE``              Logsource of authentication and log events
                           (``{"category": "application", "product": "django"}``).
``WEB_LOGSOURCE``          Logsource of request events
                           (``{"category": "webserver", "product": "django"}``).
``EMAIL``                  For ``handlers.email_alert``: ``TO`` (``settings.ADMINS``),
                           ``FROM`` (``settings.SERVER_EMAIL``), ``SUBJECT_PREFIX``
                           (``"[siem] "``), ``MIN_LEVEL`` (``None``: all).
``SLACK``                  For ``handlers.slack_alert``: ``WEBHOOK_URL`` (required),
                           ``TIMEOUT`` seconds (``5``), ``MIN_LEVEL`` (``None``: all).
=========================  ====================================================================
"""

from __future__ import annotations

from typing import Any, Dict

DEFAULTS: Dict[str, Any] = {
    "RULES": [],
    "PIPELINES": None,
    "LENIENT": False,
    "ENGINE": {},
    "ALERT_HANDLERS": ["siem.django.handlers.log_alert"],
    "TRUSTED_PROXY_HEADER": None,
    "TRUSTED_PROXY_COUNT": 1,
    "QUEUE_SIZE": 10000,
    "ALERT_QUEUE_SIZE": 1000,
    "TICK_INTERVAL": 1.0,
    "LOGSOURCE": {"category": "application", "product": "django"},
    "WEB_LOGSOURCE": {"category": "webserver", "product": "django"},
    "EMAIL": {},
    "SLACK": {},
}


def get(key: str) -> Any:
    """``settings.SIEM[key]``, or its default. Read at the time of the call, so that
    ``override_settings`` applies."""
    from django.conf import settings

    config = getattr(settings, "SIEM", None) or {}
    if key in config:
        return config[key]
    if key not in DEFAULTS:
        raise KeyError(f"unknown siem setting {key!r}")
    return DEFAULTS[key]


def check_keys() -> None:
    """Raises ``ImproperlyConfigured`` for a key of ``settings.SIEM`` that is not one of the
    documented ones (a typo would otherwise silently fall back to a default)."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    config = getattr(settings, "SIEM", None) or {}
    if not isinstance(config, dict):
        raise ImproperlyConfigured("settings.SIEM must be a dict")
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        raise ImproperlyConfigured(
            f"unknown key(s) in settings.SIEM: {', '.join(unknown)} "
            f"(expected {', '.join(sorted(DEFAULTS))})"
        )
