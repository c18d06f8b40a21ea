"""``SiemMiddleware``: every request as an ECS web event."""

from __future__ import annotations

import time
from typing import Any, Callable

from . import events, runtime

try:  # Django is an optional dependency of the siem package.
    from asgiref.sync import iscoroutinefunction, markcoroutinefunction
except ImportError:  # pragma: no cover
    from inspect import iscoroutinefunction  # type: ignore[assignment]

    def markcoroutinefunction(func: Any) -> Any:  # type: ignore[misc]
        return func


class SiemMiddleware:
    """Records each request, once answered, as an ECS web event: ``http.request.method``,
    ``url.path`` / ``url.query``, ``http.response.status_code``, ``source.ip`` (honouring
    ``TRUSTED_PROXY_HEADER``), ``user.name`` when a user is logged in, ``user_agent.original``,
    ``event.duration``; logsource ``WEB_LOGSOURCE`` (``category=webserver, product=django``).
    401/403/404 bursts from one address can then be correlated.

    Put it first in ``MIDDLEWARE`` so that it also sees the answers other middleware give
    (a ``DisallowedHost`` rejection, a CSRF failure). Works for WSGI and ASGI.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)

    def __call__(self, request: Any) -> Any:
        if self._async:
            return self.__acall__(request)
        start = time.perf_counter_ns()
        response = self.get_response(request)
        self._record(request, response, start)
        return response

    async def __acall__(self, request: Any) -> Any:
        start = time.perf_counter_ns()
        response = await self.get_response(request)
        self._record(request, response, start)
        return response

    @staticmethod
    def _record(request: Any, response: Any, start: int) -> None:
        status = getattr(response, "status_code", 0) or 0
        runtime.submit(events.web_event(request, status, time.perf_counter_ns() - start))
