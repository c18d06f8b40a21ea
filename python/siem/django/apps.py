from __future__ import annotations

from django.apps import AppConfig


class SiemConfig(AppConfig):
    """Builds the engine from ``settings.SIEM`` when Django starts (a rule that does not load
    stops the start with :class:`siem.RuleError`, unless ``"LENIENT": True``) and connects the
    authentication signals. The worker threads start with the first event."""

    name = "siem.django"
    label = "siem"
    verbose_name = "siem detection"

    def ready(self) -> None:
        from . import runtime, signals

        runtime.start()
        signals.connect()
