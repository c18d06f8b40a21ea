"""ECS events from Django's requests, authentication signals and log records.

Every builder returns a plain dict (nested ECS) that :meth:`siem.Engine.process` takes. They
run on the request path, so they only copy what is at hand: no database query, no call that
can raise on hostile input (``request.get_host()`` raises ``DisallowedHost``; the raw ``Host``
header is used instead).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import traceback
from typing import Any, Dict, Optional

from . import conf

UTC = dt.timezone.utc


def _valid_ip(text: Optional[str]) -> Optional[str]:
    if not text:
        return None
    text = text.strip()
    # "[2001:db8::1]:443" and "203.0.113.7:51122" as some proxies write them.
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _meta_key(header: str) -> str:
    """``X-Forwarded-For`` -> ``HTTP_X_FORWARDED_FOR``; META names are kept as they are."""
    if header.startswith("HTTP_") or header == "REMOTE_ADDR":
        return header
    return "HTTP_" + header.upper().replace("-", "_")


def client_ip(request: Any) -> Optional[str]:
    """The client's address: ``REMOTE_ADDR``, or, when ``TRUSTED_PROXY_HEADER`` is set and the
    request carries it, the address ``TRUSTED_PROXY_COUNT`` places from the end of that header
    (each trusted proxy appends the address it received the request from, so the entries
    before those are whatever the client chose to send). An entry that is not an address
    falls back to ``REMOTE_ADDR``."""
    meta = getattr(request, "META", {}) or {}
    remote = _valid_ip(meta.get("REMOTE_ADDR"))
    header = conf.get("TRUSTED_PROXY_HEADER")
    if header:
        value = meta.get(_meta_key(header))
        if value:
            entries = [e.strip() for e in str(value).split(",") if e.strip()]
            count = max(int(conf.get("TRUSTED_PROXY_COUNT") or 1), 1)
            if entries:
                chosen = entries[-count] if len(entries) >= count else entries[0]
                ip = _valid_ip(chosen)
                if ip is not None:
                    return ip
    return remote


def _user_name(request: Any) -> Optional[str]:
    """The authenticated user's name, if ``request.user`` is already loaded: a lazy user not
    yet looked at would cost a session and database lookup on the request path."""
    user = getattr(request, "__dict__", {}).get("_cached_user")
    if user is None:
        lazy = getattr(request, "__dict__", {}).get("user")
        if lazy is None:
            return None
        wrapped = getattr(lazy, "_wrapped", lazy)
        from django.utils.functional import empty

        if wrapped is empty:
            return None
        user = wrapped
    if not getattr(user, "is_authenticated", False):
        return None
    get_username = getattr(user, "get_username", None)
    return str(get_username()) if callable(get_username) else None


def request_fields(request: Any) -> Dict[str, Any]:
    """The ECS fields of a request: ``source.ip``, ``http.request.method``, ``url.*``,
    ``user_agent.original``, and ``user.name`` when a user is logged in."""
    meta = getattr(request, "META", {}) or {}
    fields: Dict[str, Any] = {}
    ip = client_ip(request)
    if ip is not None:
        fields["source"] = {"ip": ip}
    method = getattr(request, "method", None)
    if method:
        fields["http"] = {"request": {"method": str(method)}}
    url: Dict[str, Any] = {}
    path = getattr(request, "path", None)
    if path is not None:
        url["path"] = path
    query = meta.get("QUERY_STRING")
    if query:
        url["query"] = query
    if path is not None:
        url["original"] = path + ("?" + query if query else "")
    host = meta.get("HTTP_HOST")
    if host:
        url["domain"] = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if url:
        fields["url"] = url
    agent = meta.get("HTTP_USER_AGENT")
    if agent:
        fields["user_agent"] = {"original": agent}
    name = _user_name(request)
    if name is not None:
        fields["user"] = {"name": name}
    return fields


def _merge(into: Dict[str, Any], more: Dict[str, Any]) -> Dict[str, Any]:
    for key, value in more.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value
    return into


def auth_event(
    request: Any,
    *,
    action: str,
    outcome: str,
    username: Optional[str],
    type_: str,
) -> Dict[str, Any]:
    """An ECS authentication event (``event.category: authentication``) for a signal."""
    event: Dict[str, Any] = {
        "@timestamp": dt.datetime.now(UTC),
        "event": {
            "kind": "event",
            "category": ["authentication"],
            "type": [type_],
            "action": action,
            "outcome": outcome,
            "module": "django",
        },
        "logsource": dict(conf.get("LOGSOURCE")),
    }
    if request is not None:
        _merge(event, request_fields(request))
    if username:
        event.setdefault("user", {})["name"] = str(username)
    event["message"] = (
        f"{action} {outcome} for user {username or '?'}"
        + (f" from {event['source']['ip']}" if "source" in event else "")
    )
    return event


def web_event(request: Any, status: int, duration_ns: int) -> Dict[str, Any]:
    """An ECS web event for one request and the status it was answered with."""
    event: Dict[str, Any] = {
        "@timestamp": dt.datetime.now(UTC),
        "event": {
            "kind": "event",
            "category": ["web"],
            "type": ["access"],
            "outcome": "success" if status < 400 else "failure",
            "duration": int(duration_ns),
            "module": "django",
        },
        "http": {"response": {"status_code": int(status)}},
        "logsource": dict(conf.get("WEB_LOGSOURCE")),
    }
    return _merge(event, request_fields(request))


def _qualified_name(cls: type) -> str:
    module = getattr(cls, "__module__", "") or ""
    name = getattr(cls, "__qualname__", cls.__name__)
    return name if module in ("builtins", "") else f"{module}.{name}"


def log_event(record: logging.LogRecord, logsource: Dict[str, Any]) -> Dict[str, Any]:
    """An ECS event for a log record: ``message``, ``log.level``, ``log.logger``,
    ``log.origin.*``, ``process.*``, the exception as ``error.type`` / ``error.message`` /
    ``error.stack_trace``, and the request's fields when Django attached the request
    (``django.request``, ``django.security.*``)."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a broken format string must not lose the record
        message = str(record.msg)
    event: Dict[str, Any] = {
        "@timestamp": dt.datetime.fromtimestamp(record.created, UTC),
        "message": message,
        "log": {
            "level": record.levelname.lower(),
            "logger": record.name,
            "origin": {
                "file": {"name": record.filename, "line": record.lineno},
                "function": record.funcName,
            },
        },
        "event": {"kind": "event", "module": "django", "dataset": "django.log"},
        "process": {"pid": record.process, "thread": {"id": record.thread}},
        "logsource": dict(logsource),
    }
    if record.threadName:
        event["process"]["thread"]["name"] = record.threadName
    if record.exc_info and record.exc_info[0] is not None:
        exc_type, exc, tb = record.exc_info
        event["error"] = {
            "type": _qualified_name(exc_type),
            "message": str(exc),
            "stack_trace": "".join(traceback.format_exception(exc_type, exc, tb)),
        }
    request = getattr(record, "request", None)
    if request is not None and hasattr(request, "META"):
        _merge(event, request_fields(request))
    status = getattr(record, "status_code", None)
    if isinstance(status, int):
        _merge(event, {"http": {"response": {"status_code": status}}})
    return event
