"""Type stubs of the native module ``siem._siem`` (re-exported by ``siem``)."""

from __future__ import annotations

import datetime
import os
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

__version__: str

Json = Any
"""A JSON value: dict, list, str, int, float, bool or None."""

Line = Union[str, bytes, bytearray]
"""A raw log line, without or with its line terminator."""

Event = Mapping[str, Any]
"""An ECS event: nested (``{"source": {"ip": ...}}``) or dotted (``{"source.ip": ...}``) keys.

Values may be str, int, float, bool, None, lists, dicts (inside lists), ``datetime`` / ``date``
(stored as RFC 3339 / ISO text), ``ipaddress`` addresses, ``uuid.UUID`` and ``decimal.Decimal``.
``@timestamp`` is a ``datetime`` (naive ones are read as UTC), an RFC 3339 string or epoch
milliseconds. A top-level ``logsource`` dict (``product`` / ``category`` / ``service``) says
which Sigma rules may see the event.
"""

Seconds = Union[int, float, datetime.timedelta]

class Rule:
    """A rule's metadata, as alerts carry it. Immutable."""

    @property
    def id(self) -> str:
        """``id`` (a UUID in SigmaHQ rules; ``""`` when the rule has none)."""
    @property
    def name(self) -> Optional[str]:
        """``name``: the handle correlation rules may use instead of the id."""
    @property
    def title(self) -> str: ...
    @property
    def level(self) -> str:
        """``informational``, ``low``, ``medium``, ``high`` or ``critical`` (``medium`` if unset)."""
    @property
    def tags(self) -> List[str]: ...
    @property
    def status(self) -> Optional[str]: ...
    @property
    def description(self) -> Optional[str]: ...
    @property
    def author(self) -> Optional[str]: ...
    @property
    def references(self) -> List[str]: ...
    @property
    def falsepositives(self) -> List[str]: ...
    @property
    def logsource(self) -> Dict[str, str]:
        """The rule's ``logsource``: ``product``, ``category``, ``service`` when set."""
    @property
    def path(self) -> Optional[str]:
        """The file the rule came from, when it came from a file."""
    def to_dict(self) -> Dict[str, Json]:
        """The rule as the alert JSON's ``rule`` object."""

class Alert:
    """A detection (one event matched one rule) or a correlation (a correlation rule's
    condition held over a window of detections). Immutable.

    ``to_dict()`` returns exactly the JSON object ``siem scan --output jsonl`` prints::

        {"@timestamp": "...", "kind": "detection" | "correlation",
         "rule": {"id": "...", "title": "...", "level": "...", "tags": [...], ...},
         "event": {...ECS...},                       # detection
         "group": {"source.ip": "203.0.113.7"},      # correlation; {} without group-by
         "value": 8, "window": {"start": "...", "end": "..."}, "rules": ["..."],
         "events": [...]}
    """

    @property
    def kind(self) -> str:
        """``"detection"`` or ``"correlation"``."""
    @property
    def rule(self) -> Rule: ...
    @property
    def timestamp(self) -> datetime.datetime:
        """Aware, UTC: the event's time for a detection, the window's end for a correlation."""
    @property
    def event(self) -> Optional[Dict[str, Json]]:
        """The matching event as a nested ECS dict (detections), else ``None``."""
    @property
    def group(self) -> Dict[str, Json]:
        """Each ``group-by`` field of a correlation, as written in the rule, to its value;
        ``{}`` for detections and correlations without ``group-by``."""
    @property
    def value(self) -> Optional[Union[int, float]]:
        """A correlation's measured value (count, distinct count, sum, ...)."""
    @property
    def window(self) -> Optional[Tuple[datetime.datetime, datetime.datetime]]:
        """``(start, end)`` of a correlation's window."""
    @property
    def rules(self) -> List[str]:
        """Ids (or names) of the rules that contributed to a correlation."""
    @property
    def events(self) -> List[Dict[str, Json]]:
        """A bounded sample of a correlation's events, oldest first."""
    @property
    def arrival_time(self) -> bool:
        """Whether an event had no timestamp and its arrival time was used."""
    def to_json(self) -> str:
        """One line of JSON, exactly as ``siem scan --output jsonl`` prints it."""
    def to_dict(self) -> Dict[str, Json]:
        """Exactly ``json.loads(alert.to_json())``."""
    def __eq__(self, other: object) -> bool: ...

class Engine:
    """A compiled detection engine: Sigma rules, a log parser, correlation state and the
    alert policy.

    Build it once (compiling rules takes milliseconds per rule) and share it: one engine is
    safe to use from many threads at once, and releases the GIL while it parses and matches.
    Correlation state (open windows) lives in the engine; ``snapshot`` / ``restore`` carry it
    over a restart.

    Args:
        rules: Sigma rules: file or folder paths (``str`` without a newline, or
            ``os.PathLike``; folders are searched recursively for ``*.yml`` / ``*.yaml``) and
            YAML texts (``str`` spanning several lines). Detection, filter and correlation
            rules may be mixed, several documents per text.
        pipelines: pySigma processing pipelines applied to the rules (and to correlation
            rules' ``group-by`` fields) before they compile, each a bundled name
            (``"windows"``: Sigma's Windows field names onto the parsed ``winlog.*`` fields;
            ``"ecs"``: webserver, proxy, firewall, DNS and Linux names onto ECS), a pipeline file
            path (``str`` or ``os.PathLike``) or a pipeline's YAML text (``str`` spanning
            several lines). ``None`` (the default) applies the engine's defaults,
            ``["windows", "ecs"]``, each of which only touches rules of its logsources; ``[]``
            compiles the rules as written. A bad entry raises :class:`siem.ParseError` with
            ``option == "pipelines"``.
        lenient: When ``False`` (the default) a rule that does not load raises
            :class:`siem.RuleError`; when ``True`` it is skipped and listed in
            :attr:`rule_errors`.
        format: How ``process_line`` reads lines: ``auto`` (per line), ``syslog``, ``json``,
            ``apache``, ``nginx``, ``cef``, ``leef``, ``kv`` or ``grok:<expression>``.
        timezone: IANA zone of timestamps that carry no offset.
        logsource: Logsource parts to give parsed lines (``{"product": "django"}`` or
            ``"product=django"``): they fill what the parser cannot tell.
        logsource_override: Whether ``logsource`` replaces what the parser tells.
        max_line_bytes: Longer lines are cut there and tagged (default 1 MiB).
        reference_time: "Now" for giving yearless syslog timestamps a year (default: clock).
        placeholders: Values of Sigma ``%placeholder%`` names used with the ``expand``
            modifier.
        routing: Whether events see only the rules whose logsource they fit (default).
        correlator: Limits of the correlation state, by the names of Rust's
            ``CorrelatorConfig``: ``lateness`` (seconds, default 2), ``max_groups``,
            ``max_pending``, ``sample_events``, ``max_sample_bytes`` (default 64 MiB, over
            all groups), ``max_values_per_group``, ``max_clock_skew``.
        policy: The alert lifecycle, by the names of Rust's ``PolicyConfig``:
            ``suppress_repeats`` and ``cooldown`` (seconds), ``max_alerts_per_hour``,
            ``detection_group_fields``, ``clock`` (``"alert_time"`` or ``"arrival"``),
            ``max_keys``. Off by default.
        shards: Independently locked shards of the correlation state (default 8).

    Raises:
        siem.RuleError: A rule did not load (unless ``lenient``).
        siem.ParseError: An option siem cannot use.
    """

    def __init__(
        self,
        rules: Union[None, str, os.PathLike[str], Iterable[Union[str, os.PathLike[str]]]] = None,
        pipelines: Union[None, str, os.PathLike[str], Sequence[Union[str, os.PathLike[str]]]] = None,
        *,
        lenient: bool = False,
        format: str = "auto",
        timezone: str = "UTC",
        logsource: Union[None, str, Mapping[str, Optional[str]]] = None,
        logsource_override: bool = False,
        max_line_bytes: Optional[int] = None,
        reference_time: Optional[datetime.datetime] = None,
        placeholders: Optional[Mapping[str, Union[str, Sequence[str]]]] = None,
        routing: bool = True,
        correlator: Optional[Mapping[str, Any]] = None,
        policy: Optional[Mapping[str, Any]] = None,
        shards: int = 8,
    ) -> None: ...
    def process(self, event: Event) -> List[Alert]:
        """Matches one event, feeds the correlator and returns the alerts the alert policy
        lets through (detections first, then correlations this event completed).

        Raises:
            siem.EventError: ``event`` is not a dict of ECS fields, or holds a value siem
                cannot take.
        """
    def process_line(self, line: Line, format: Optional[str] = None) -> List[Alert]:
        """Parses one raw log line (with the engine's format, or ``format``) and processes
        it. Never fails on the line's content: unreadable lines become events tagged
        ``_siem_parse_failure``."""
    def process_batch(
        self, items: Iterable[Union[Event, Line]], format: Optional[str] = None
    ) -> List[Alert]:
        """Processes events (dicts) and raw lines in order; the alerts of all of them. The
        cheapest way through the engine: the GIL is released for each chunk of items."""
    def parse(self, line: Line, format: Optional[str] = None) -> Dict[str, Json]:
        """Parses one raw line with the engine's parse options, without matching it: the
        ECS event as a nested dict (``@timestamp``, fields, ``logsource``)."""
    def tick(self, now: Optional[datetime.datetime] = None) -> List[Alert]:
        """Applies the detections held back for late events (``correlator.lateness``) whose
        time is at least the lateness before ``now`` (default: the clock), and returns the
        alerts they raise. Call it now and then on a live stream."""
    def flush(self) -> List[Alert]:
        """Applies every held-back detection (end of input); the alerts they raise."""
    def stats(self) -> Dict[str, Json]:
        """Counters: ``events``, ``parse_failures``, ``detections``, ``alerts``, and the
        ``correlator``'s and ``policy``'s own."""
    def snapshot(self) -> bytes:
        """The correlation state (open windows, held-back detections) as JSON bytes."""
    def restore(self, snapshot: Union[bytes, str]) -> Dict[str, Json]:
        """Replaces the correlation state with one ``snapshot()`` returned (same correlation
        rules and shard count). Returns ``groups_restored``, ``groups_dropped``,
        ``rules_dropped`` and ``pending_dropped``.

        Raises:
            siem.SiemError: Not a snapshot this engine can take; the state is left as it was.
        """
    @property
    def rules(self) -> List[Rule]:
        """The compiled detection and filter-bearing rules, in load order."""
    @property
    def correlation_rules(self) -> List[Rule]:
        """The loaded correlation rules."""
    @property
    def rule_errors(self) -> List[Any]:
        """The rules skipped with ``lenient=True``, as :class:`siem.RuleError` instances."""

def parse(
    line: Line,
    format: str = "auto",
    *,
    timezone: str = "UTC",
    logsource: Union[None, str, Mapping[str, Optional[str]]] = None,
    logsource_override: bool = False,
    max_line_bytes: Optional[int] = None,
    reference_time: Optional[datetime.datetime] = None,
) -> Dict[str, Json]:
    """Parses one raw log line into an ECS event (a nested dict with ``@timestamp``, the
    fields, ``event.original`` and ``logsource``). Never fails on the line's content.

    Raises:
        siem.ParseError: An unknown format or time zone, a grok expression that does not
            compile.
    """

def _native_batch_rate(engine: Engine, lines: Sequence[bytes]) -> float:
    """Benchmark helper: events/s of the Rust loop ``process_batch`` runs over raw lines."""

def _native_event_rate(engine: Engine, events: List[Event]) -> float:
    """Benchmark helper: events/s of the Rust loop over ready-made events."""
