"""The exceptions siem raises. All derive from :class:`SiemError`."""

from __future__ import annotations

from typing import List, Optional, Sequence


class SiemError(Exception):
    """Base class of every error siem raises."""


class RuleError(SiemError):
    """A Sigma rule (detection, filter or correlation) that could not be loaded or compiled.

    ``str(error)`` reads like compiler output: ``path: rule <id>: reason``.

    Attributes:
        path: The rule file, ``"<rules[i]>"`` for the i-th YAML string given to ``Engine``, or
            ``None``.
        rule_id: The rule's ``id`` (else its ``name``, else its ``title``), when the document
            got that far.
        reason: Why it failed, without the path and id in front.
        document: The 1-based position of the YAML document in its file (collections hold
            several), when known.
        errors: One ``RuleError`` per failure. When several rules failed, the raised error
            lists them all here and its ``path``, ``rule_id`` and ``reason`` are the first
            one's; for a single failure it holds the error itself.
    """

    def __init__(
        self,
        message: str,
        *,
        path: Optional[str] = None,
        rule_id: Optional[str] = None,
        reason: Optional[str] = None,
        document: Optional[int] = None,
        errors: Optional[Sequence["RuleError"]] = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.rule_id = rule_id
        self.reason = reason if reason is not None else message
        self.document = document
        self.errors: List[RuleError] = list(errors) if errors is not None else [self]


class EventError(SiemError, TypeError, ValueError):
    """An event siem cannot take: not a dict of ECS fields, a key that is not a string, a
    value of an unsupported type, an unreadable ``@timestamp``, or a raw line that is neither
    ``str`` nor ``bytes``.

    It is also a ``TypeError`` and a ``ValueError``, so code that guards against either keeps
    working.

    Attributes:
        field: The dotted name of the offending field, when one is at fault.
    """

    def __init__(self, message: str, *, field: Optional[str] = None) -> None:
        super().__init__(message)
        self.field = field


class ParseError(SiemError, ValueError):
    """An option siem cannot use: an unknown format, time zone or logsource key, a grok
    expression that does not compile, a bad duration or limit, a processing pipeline that is
    not bundled, cannot be read or is not a valid pySigma pipeline.

    Attributes:
        option: The option at fault (``"format"``, ``"timezone"``, ``"correlator"``,
            ``"pipelines"``, ...).
    """

    def __init__(self, message: str, *, option: Optional[str] = None) -> None:
        super().__init__(message)
        self.option = option


__all__ = ["SiemError", "RuleError", "EventError", "ParseError"]
