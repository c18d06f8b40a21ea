"""siem: a detection engine for security events, embedded in your process.

Sigma rules (SigmaHQ specification v2.1, correlations and filters included) run over events
in the Elastic Common Schema (ECS), compiled and matched by the same Rust engine as the
``siem`` command line tool.

>>> import siem
>>> engine = siem.Engine(rules=[RULE_YAML])          # doctest: +SKIP
>>> for alert in engine.process({"event": {"category": "authentication", "outcome": "failure"},
...                              "source": {"ip": "203.0.113.7"}}):     # doctest: +SKIP
...     print(alert.rule.title, alert.to_dict())

See ``Engine``, ``Alert``, ``parse`` and, for Django, ``siem.django``.
"""

from __future__ import annotations

from ._errors import EventError, ParseError, RuleError, SiemError
from ._siem import Alert, Engine, Rule, __version__, parse

__all__ = [
    "Alert",
    "Engine",
    "EventError",
    "ParseError",
    "Rule",
    "RuleError",
    "SiemError",
    "__version__",
    "parse",
]
