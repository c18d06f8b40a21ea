"""Built-in alert handlers, for ``SIEM["ALERT_HANDLERS"]``.

- ``"siem.django.handlers.log_alert"``: a record on the ``siem.alerts`` logger.
- ``"siem.django.handlers.email_alert"``: an email through Django's mail settings
  (``EMAIL_BACKEND``, ``EMAIL_HOST``, ...), configured by ``SIEM["EMAIL"]``.
- ``"siem.django.handlers.slack_alert"``: a message to a Slack incoming webhook, configured by
  ``SIEM["SLACK"]``.

Each is called with one :class:`siem.Alert`, in the delivery thread. Your own handlers are any
callables of the same shape.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any, Dict, List, Optional

import siem

from . import conf

LEVELS = ["informational", "low", "medium", "high", "critical"]

_LOG_LEVELS = {
    "informational": logging.INFO,
    "low": logging.INFO,
    "medium": logging.WARNING,
    "high": logging.ERROR,
    "critical": logging.CRITICAL,
}

alerts_logger = logging.getLogger("siem.alerts")


def at_least(alert: siem.Alert, min_level: Optional[str]) -> bool:
    """Whether the alert's rule level is ``min_level`` or more severe (``None``: always)."""
    if not min_level:
        return True
    try:
        return LEVELS.index(alert.rule.level) >= LEVELS.index(str(min_level).lower())
    except ValueError:
        return True


def summary(alert: siem.Alert) -> str:
    """One line: level, title, what fired and for whom."""
    rule = alert.rule
    text = f"[{rule.level}] {rule.title}"
    if alert.kind == "correlation":
        group = ", ".join(f"{k}={v}" for k, v in alert.group.items())
        text += f" (correlation, value {alert.value}{', ' + group if group else ''})"
    else:
        event = alert.event or {}
        who: List[str] = []
        user = (event.get("user") or {}).get("name")
        ip = (event.get("source") or {}).get("ip")
        if user:
            who.append(f"user {user}")
        if ip:
            who.append(f"from {ip}")
        if who:
            text += " (" + " ".join(who) + ")"
    return text


def details(alert: siem.Alert) -> str:
    """Several lines: the summary, the rule, the time, and the alert's JSON."""
    rule = alert.rule
    lines = [
        summary(alert),
        "",
        f"Rule: {rule.title} ({rule.id or rule.name or '-'}), level {rule.level}",
    ]
    if rule.description:
        lines.append(f"Description: {rule.description}")
    if rule.author:
        lines.append(f"Author: {rule.author}")
    if rule.tags:
        lines.append(f"Tags: {', '.join(rule.tags)}")
    lines.append(f"Time: {alert.timestamp.isoformat()}")
    lines += ["", json.dumps(alert.to_dict(), indent=2, ensure_ascii=False)]
    return "\n".join(lines)


def log_alert(alert: siem.Alert) -> None:
    """Logs the alert on ``siem.alerts``: level by the rule's (``high`` is ERROR,
    ``critical`` CRITICAL, ``medium`` WARNING, else INFO), the summary as message and the
    alert's dict as the record's ``alert`` attribute."""
    alerts_logger.log(
        _LOG_LEVELS.get(alert.rule.level, logging.WARNING),
        "%s",
        summary(alert),
        extra={"alert": alert.to_dict()},
    )


def email_alert(alert: siem.Alert) -> None:
    """Emails the alert with Django's mail settings. ``SIEM["EMAIL"]``: ``TO`` (default: the
    addresses in ``settings.ADMINS``), ``FROM`` (``settings.SERVER_EMAIL``),
    ``SUBJECT_PREFIX`` (``"[siem] "``), ``MIN_LEVEL``. Raises when nobody is to receive it or
    the mail server refuses (the delivery thread logs and counts it)."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.mail import EmailMessage

    config: Dict[str, Any] = conf.get("EMAIL") or {}
    if not at_least(alert, config.get("MIN_LEVEL")):
        return
    to = list(config.get("TO") or [])
    if not to:
        # ADMINS: (name, address) pairs, or (Django 6) plain addresses.
        to = [a if isinstance(a, str) else a[1] for a in getattr(settings, "ADMINS", [])]
    if not to:
        raise ImproperlyConfigured("siem email_alert: set SIEM['EMAIL']['TO'] or settings.ADMINS")
    subject = f"{config.get('SUBJECT_PREFIX', '[siem] ')}{summary(alert)}"
    # Mail headers are one line.
    subject = " ".join(subject.splitlines())
    message = EmailMessage(
        subject=subject,
        body=details(alert),
        from_email=config.get("FROM") or settings.SERVER_EMAIL,
        to=to,
    )
    message.send(fail_silently=False)


def slack_message(alert: siem.Alert) -> Dict[str, Any]:
    """The JSON body of the Slack message."""
    rule = alert.rule
    fields = [f"*Level:* {rule.level}", f"*Kind:* {alert.kind}", f"*Time:* {alert.timestamp.isoformat()}"]
    if alert.group:
        fields.append("*Group:* " + ", ".join(f"`{k}={v}`" for k, v in alert.group.items()))
    if alert.value is not None:
        fields.append(f"*Value:* {alert.value}")
    return {
        "text": summary(alert),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{summary(alert)}*"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(fields)}},
        ],
    }


def slack_alert(alert: siem.Alert) -> None:
    """Posts the alert to a Slack incoming webhook. ``SIEM["SLACK"]``: ``WEBHOOK_URL``
    (required), ``TIMEOUT`` seconds (``5``), ``MIN_LEVEL``. Raises when the webhook does not
    answer 2xx."""
    from django.core.exceptions import ImproperlyConfigured

    config: Dict[str, Any] = conf.get("SLACK") or {}
    if not at_least(alert, config.get("MIN_LEVEL")):
        return
    url = config.get("WEBHOOK_URL")
    if not url:
        raise ImproperlyConfigured("siem slack_alert: set SIEM['SLACK']['WEBHOOK_URL']")
    if not str(url).startswith(("https://", "http://")):
        raise ImproperlyConfigured("siem slack_alert: WEBHOOK_URL must be an http(s) URL")
    body = json.dumps(slack_message(alert)).encode("utf-8")
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=float(config.get("TIMEOUT", 5))) as response:
        if not 200 <= response.status < 300:  # urllib raises for most; be explicit
            raise RuntimeError(f"Slack webhook answered {response.status}")
