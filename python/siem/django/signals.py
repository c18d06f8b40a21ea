"""Django's authentication signals as ECS authentication events."""

from __future__ import annotations

from typing import Any, Dict, Optional

from . import events, runtime


def _username_from_credentials(credentials: Optional[Dict[str, Any]]) -> Optional[str]:
    if not credentials:
        return None
    from django.contrib.auth import get_user_model

    field = getattr(get_user_model(), "USERNAME_FIELD", "username")
    for key in (field, "username", "email"):
        value = credentials.get(key)
        # Django masks sensitive credentials ("password", "api", "token", ...) as stars.
        if value and isinstance(value, str) and set(value) != {"*"}:
            return value
    return None


def _username(user: Any) -> Optional[str]:
    if user is None:
        return None
    get_username = getattr(user, "get_username", None)
    return str(get_username()) if callable(get_username) else None


def on_logged_in(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    runtime.submit(
        events.auth_event(
            request, action="login", outcome="success", username=_username(user), type_="start"
        )
    )


def on_logged_out(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    runtime.submit(
        events.auth_event(
            request, action="logout", outcome="success", username=_username(user), type_="end"
        )
    )


def on_login_failed(
    sender: Any, credentials: Optional[Dict[str, Any]] = None, request: Any = None, **kwargs: Any
) -> None:
    runtime.submit(
        events.auth_event(
            request,
            action="login",
            outcome="failure",
            username=_username_from_credentials(credentials),
            type_="start",
        )
    )


def connect() -> None:
    """Connects the receivers (once: ``dispatch_uid`` makes a second call a no-op)."""
    from django.contrib.auth import signals

    signals.user_logged_in.connect(on_logged_in, dispatch_uid="siem.django.logged_in")
    signals.user_logged_out.connect(on_logged_out, dispatch_uid="siem.django.logged_out")
    signals.user_login_failed.connect(on_login_failed, dispatch_uid="siem.django.login_failed")
