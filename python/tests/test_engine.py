"""The Engine, Alert and parse API, on real logs and rules."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import uuid
from collections import defaultdict
from pathlib import Path

import pytest

import siem
from corpora import EXAMPLE_RULES, corpus

SSH_RULES = EXAMPLE_RULES / "ssh_bruteforce.yml"
UTC = dt.timezone.utc

FAILED_LOGIN = """
title: Failed login
id: 2b0e6a4c-7b7e-4c70-9d5e-1c1f4f6d0a01
name: failed_login
logsource: {category: application, product: django}
detection:
    selection:
        event.category: authentication
        event.outcome: failure
    condition: selection
level: low
tags: [attack.credential-access, attack.t1110]
"""

BRUTE_FORCE = """
title: Brute force from one address
id: 2b0e6a4c-7b7e-4c70-9d5e-1c1f4f6d0a02
correlation:
    type: event_count
    rules: [failed_login]
    group-by: [source.ip]
    timespan: 5m
    condition: {gte: 6}
level: high
"""


def openssh_lines() -> list[str]:
    path = corpus("loghub") / "OpenSSH" / "OpenSSH_2k.log"
    return path.read_text(encoding="utf-8").splitlines()


def failure(ip: str, user: str, second: int) -> dict:
    return {
        "@timestamp": dt.datetime(2024, 5, 1, 10, 0, second, tzinfo=UTC),
        "event": {"category": ["authentication"], "outcome": "failure", "action": "login"},
        "user": {"name": user},
        "source": {"ip": ip},
        "logsource": {"category": "application", "product": "django"},
    }


# --- parse ------------------------------------------------------------------------------------


def test_parse_returns_the_ecs_event_as_a_nested_dict():
    line = (
        "Oct 11 22:14:15 web1 sshd[4242]: Failed password for root from 203.0.113.7 "
        "port 51122 ssh2"
    )
    event = siem.parse(line, reference_time=dt.datetime(2024, 12, 1, tzinfo=UTC))
    assert event["@timestamp"] == "2024-10-11T22:14:15Z"
    assert event["source"] == {"ip": "203.0.113.7", "port": 51122}
    assert event["user"] == {"name": "root"}
    assert event["event"]["outcome"] == "failure"
    assert event["event"]["original"] == line
    assert event["logsource"] == {"product": "linux", "service": "sshd"}
    # bytes in, the same event out; a line terminator is not part of the line.
    again = siem.parse(
        line.encode() + b"\n", reference_time=dt.datetime(2024, 12, 1, tzinfo=UTC)
    )
    assert again == event


def test_parse_never_fails_on_content_and_tags_what_it_cannot_read():
    event = siem.parse(b"\xff\xfe not a log line anyone knows")
    assert "_siem_parse_failure" in event["tags"]
    assert "_siem_invalid_utf8" in event["tags"]
    assert event["event"]["original"].endswith("not a log line anyone knows")


def test_parse_formats_and_logsource_options():
    access = '203.0.113.7 - - [10/Oct/2000:13:55:36 -0700] "GET /admin HTTP/1.1" 403 12 "-" "curl"'
    event = siem.parse(access, format="apache", logsource={"product": "acme"})
    assert event["url"]["path"] == "/admin"
    assert event["http"]["response"]["status_code"] == 403
    assert event["logsource"]["product"] == "acme"
    event = siem.parse(
        "2024-05-01 10:00:00 ERROR boom",
        format="grok:%{TIMESTAMP_ISO8601:ts} %{LOGLEVEL:log.level} %{GREEDYDATA:message}",
    )
    assert event["log"]["level"] == "ERROR"
    assert event["message"] == "boom"
    event = siem.parse("user=alice action=login", format="kv", logsource="product=app,service=auth")
    assert event["logsource"] == {"product": "app", "service": "auth"}


# --- rules ------------------------------------------------------------------------------------


def test_rules_from_files_folders_and_yaml_strings():
    engine = siem.Engine(rules=[SSH_RULES, str(EXAMPLE_RULES / "http_403_burst.yml"), FAILED_LOGIN])
    titles = sorted(r.title for r in engine.rules)
    assert titles == ["Failed login", "HTTP 403 Forbidden Response", "SSH Failed Login"]
    assert sorted(r.title for r in engine.correlation_rules) == [
        "Burst of HTTP 403 Responses From One Client",
        "SSH Brute Force From One Address",
    ]
    folder = siem.Engine(rules=[EXAMPLE_RULES])
    # Folders are searched recursively, files in sorted path order.
    files = siem.Engine(rules=sorted(EXAMPLE_RULES.rglob("*.yml")))
    assert [r.id for r in folder.rules] == [r.id for r in files.rules]
    assert len(folder.correlation_rules) == len(files.correlation_rules) >= 2
    rule = next(r for r in folder.rules if r.id == "04d59082-29c9-4301-985b-e8698ef25e5a")
    assert rule.path is not None and rule.path.endswith("ssh_bruteforce.yml")
    assert rule.logsource == {"product": "linux", "service": "sshd"}
    assert rule.level == "informational"
    assert rule.name == "ssh_failed_login"


def test_sigmahq_django_rules_load_from_the_corpus():
    folder = corpus("sigma") / "rules" / "application" / "django"
    engine = siem.Engine(rules=[folder])
    (rule,) = engine.rules
    assert rule.id == "fd435618-981e-4a7c-81f8-f78ce480d616"
    assert rule.author == "Thomas Patzke"
    assert "attack.t1190" in rule.tags


def test_sigma_specification_correlation_examples_all_load():
    # Every correlation example of the specification that names rules it also defines.
    folder = corpus("sigma-specification") / "tests" / "schema" / "correlation"
    files = sorted(folder.glob("*.yml"))
    assert files, folder
    for path in files:
        engine = siem.Engine(rules=[path], lenient=True)
        # A file that only holds a correlation cannot resolve its rules: that is a RuleError
        # naming the file, not a crash.
        for error in engine.rule_errors:
            assert isinstance(error, siem.RuleError)
            assert error.path == str(path)


def test_a_bad_rule_raises_rule_error_with_path_id_and_reason():
    bad = FAILED_LOGIN.replace("event.outcome: failure", "event.outcome|bogus: failure")
    with pytest.raises(siem.RuleError) as info:
        siem.Engine(rules=[bad])
    error = info.value
    assert error.path == "<rules[0]>"
    assert error.rule_id == "2b0e6a4c-7b7e-4c70-9d5e-1c1f4f6d0a01"
    assert error.reason == "field `event.outcome`: unknown modifier `bogus`"
    assert str(error) == "<rules[0]>: rule 2b0e6a4c-7b7e-4c70-9d5e-1c1f4f6d0a01: " + error.reason
    assert error.errors == [error]
    assert isinstance(error, siem.SiemError)


def test_several_bad_rules_are_listed_and_lenient_loading_skips_them(tmp_path: Path):
    broken = tmp_path / "broken.yml"
    broken.write_text("title: [unclosed\n", encoding="utf-8")
    bad_condition = FAILED_LOGIN.replace("condition: selection", "condition: selection and")
    missing = tmp_path / "missing.yml"
    with pytest.raises(siem.RuleError) as info:
        siem.Engine(rules=[FAILED_LOGIN, broken, bad_condition, missing])
    error = info.value
    assert len(error.errors) == 3
    paths = [e.path for e in error.errors]
    assert str(missing) in paths and str(broken) in paths and "<rules[2]>" in paths
    assert error.path == error.errors[0].path and error.reason == error.errors[0].reason
    assert str(error).startswith("3 rules failed to load:")
    by_path = {e.path: e for e in error.errors}
    assert "condition" in by_path["<rules[2]>"].reason
    assert "No such file" in by_path[str(missing)].reason
    assert by_path[str(broken)].reason.startswith("invalid YAML")

    engine = siem.Engine(rules=[FAILED_LOGIN, broken, bad_condition, missing], lenient=True)
    assert [r.title for r in engine.rules] == ["Failed login"]
    assert len(engine.rule_errors) == 3
    assert all(isinstance(e, siem.RuleError) for e in engine.rule_errors)


def test_sigma1_aggregations_and_unresolvable_correlations_are_rule_errors():
    old = FAILED_LOGIN.replace("condition: selection", "condition: selection | count() by source.ip > 5")
    with pytest.raises(siem.RuleError, match="Sigma 1 aggregation"):
        siem.Engine(rules=[old])
    with pytest.raises(siem.RuleError) as info:
        siem.Engine(rules=[BRUTE_FORCE])  # refers to a rule that is not loaded
    assert info.value.rule_id == "2b0e6a4c-7b7e-4c70-9d5e-1c1f4f6d0a02"
    assert info.value.reason.startswith("correlation:")


# --- processing pipelines -------------------------------------------------------------------

EVENTLOG_CLEAR = "rules/windows/process_creation/proc_creation_win_susp_eventlog_clear.yml"
EVENTLOG_CLEAR_ID = "cc36992a-4671-4f21-a91d-6c2b72a2edf5"


def sysmon_wevtutil_clear() -> str:
    """DeepBlueCLI's Sliver log: Sysmon event 1 of `wevtutil.exe cl security`."""
    path = corpus("windows-evtx-json") / "deepbluecli" / "evtx" / "sliver-sysmon.jsonl"
    (line,) = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if '"EventID":1,' in line and "wevtutil.exe" in line and " cl security" in line
    ]
    return line


def test_default_pipelines_map_sigma_windows_names_onto_parsed_windows_events():
    # SigmaHQ's rule names Sysmon's fields (`Image`, `OriginalFileName`, `CommandLine`); the
    # parser emits `winlog.event_data.*`: only the bundled `windows` pipeline joins them.
    rule = corpus("sigma") / EVENTLOG_CLEAR
    line = sysmon_wevtutil_clear()
    assert siem.parse(line)["winlog"]["event_data"]["Image"].endswith("\\wevtutil.exe")
    default = siem.Engine(rules=[rule])
    (alert,) = default.process_line(line)
    assert alert.rule.id == EVENTLOG_CLEAR_ID
    assert alert.event["winlog"]["event_data"]["CommandLine"].endswith(" cl security")
    assert siem.Engine(rules=[rule], pipelines=None).process_line(line) != []
    assert siem.Engine(rules=[rule], pipelines=["windows", "ecs"]).process_line(line) != []
    assert [a.rule.id for a in siem.Engine(rules=[rule], pipelines=["windows"]).process_line(line)] == [
        EVENTLOG_CLEAR_ID
    ]
    # As written, or with the pipeline for other logsources: the names do not exist.
    assert siem.Engine(rules=[rule], pipelines=[]).process_line(line) == []
    assert siem.Engine(rules=[rule], pipelines=["ecs"]).process_line(line) == []


def test_correlation_group_by_goes_through_the_default_pipelines():
    # Hayabusa's "PW Guessing" correlation and its detection rule, as written (Sigma names
    # `IpAddress`, `TargetUserName`, ... in the detection and in `group-by`), over DeepBlueCLI's
    # SMB password guessing: 3558 wrong-password failures of one group, five per alert.
    rule = (
        corpus("hayabusa-rules")
        / "hayabusa/builtin/Security/LogonLogoff/Logon"
        / "Sec_4625_Med_LogonFail_WrongPW_PW-Guessing_Correlation.yml"
    )
    log = corpus("windows-evtx-json") / "deepbluecli" / "evtx" / "smb-password-guessing-security.jsonl"
    lines = log.read_text(encoding="utf-8").splitlines()
    engine = siem.Engine(rules=[rule])
    alerts = engine.process_batch(lines) + engine.flush()
    assert len(alerts) == 3558 // 5
    for alert in alerts:
        assert alert.kind == "correlation" and alert.rule.title == "PW Guessing"
        assert alert.group["IpAddress"] == "192.168.198.149"
        assert alert.group["TargetUserName"] == "Administrator"
        assert alert.value == 5
    as_written = siem.Engine(rules=[rule], pipelines=[])
    assert as_written.process_batch(lines) + as_written.flush() == []


RENAME_PIPELINE = """
name: app_names
priority: 100
transformations:
  - type: field_name_mapping
    mapping:
      src_addr: source.ip
      account: user.name
"""

APP_NAMES_RULE = """
title: Root login failure from the test net
id: 7d7bb1f5-52d0-4f0e-9a55-3f1f2a3c9b10
logsource: {category: application, product: django}
detection:
    selection:
        src_addr|cidr: 203.0.113.0/24
        account: root
    condition: selection
level: medium
"""


def test_a_custom_pipeline_renames_fields(tmp_path: Path):
    event = failure("203.0.113.7", "root", 1)
    other = failure("198.51.100.7", "root", 2)
    file = tmp_path / "app_names.yml"
    file.write_text(RENAME_PIPELINE, encoding="utf-8")
    for pipelines in ([RENAME_PIPELINE], [str(file)], [file], file, ["windows", "ecs", RENAME_PIPELINE]):
        engine = siem.Engine(rules=[APP_NAMES_RULE], pipelines=pipelines)
        (alert,) = engine.process(event)
        assert alert.rule.id == "7d7bb1f5-52d0-4f0e-9a55-3f1f2a3c9b10", pipelines
        assert engine.process(other) == [], pipelines
    # Without it the rule names fields no event has: it loads, and never matches.
    for pipelines in (None, [], ["windows", "ecs"]):
        assert siem.Engine(rules=[APP_NAMES_RULE], pipelines=pipelines).process(event) == []


def test_bad_pipelines_raise_parse_error(tmp_path: Path):
    bogus = tmp_path / "bogus.yml"
    bogus.write_text("name: bogus\ntransformations:\n  - type: bogus\n", encoding="utf-8")
    cases = [
        (["nonesuch"], 'pipelines[0]: pipeline "nonesuch": not a bundled pipeline (windows, ecs) and no such file'),
        (["windows", str(tmp_path / "missing.yml")], "pipelines[1]: pipeline"),
        ([str(bogus)], f"pipelines[0]: {bogus}: transformation 1: unknown transformation type `bogus`"),
        ([bogus], f"pipelines[0]: {bogus}: transformation 1: unknown transformation type `bogus`"),
        (["name: x\ntransformations:\n  - type: bogus\n"], "pipelines[0]: YAML text: transformation 1: unknown"),
        (["name: x\nfrobnicate: 1\n"], "pipelines[0]: YAML text: unknown key `frobnicate`"),
    ]
    for pipelines, message in cases:
        with pytest.raises(siem.ParseError) as info:
            siem.Engine(rules=[FAILED_LOGIN], pipelines=pipelines)
        assert str(info.value).startswith(message), (pipelines, str(info.value))
        assert info.value.option == "pipelines"
    with pytest.raises(TypeError, match=r"pipelines\[0\]: expected a bundled pipeline name"):
        siem.Engine(rules=[FAILED_LOGIN], pipelines=[42])


def test_bad_options_raise_parse_error():
    cases = [
        (dict(format="xml"), "format"),
        (dict(timezone="Mars/Olympus"), "timezone"),
        (dict(format="grok:%{NOPE:x"), "format"),
        (dict(logsource={"vendor": "x"}), "logsource"),
        (dict(correlator={"latenes": 1}), "correlator"),
        (dict(correlator={"lateness": -1}), "correlator.lateness"),
        (dict(policy={"clock": "wall"}), "policy"),
        (dict(max_line_bytes=0), "max_line_bytes"),
    ]
    for kwargs, option in cases:
        with pytest.raises(siem.ParseError) as info:
            siem.Engine(rules=[FAILED_LOGIN], **kwargs)
        assert info.value.option == option, kwargs
        assert isinstance(info.value, ValueError)
    with pytest.raises(siem.ParseError):
        siem.parse("x", format="nope")
    engine = siem.Engine(rules=[FAILED_LOGIN])
    with pytest.raises(siem.ParseError):
        engine.process_line("x", format="nope")


# --- events -----------------------------------------------------------------------------------


def test_nested_and_dotted_events_match_alike_and_alert_json_is_the_contract():
    engine = siem.Engine(rules=[FAILED_LOGIN])
    nested = failure("203.0.113.7", "alice", 1)
    dotted = {
        "@timestamp": "2024-05-01T10:00:01Z",
        "event.category": ["authentication"],
        "event.outcome": "failure",
        "event.action": "login",
        "user.name": "alice",
        "source.ip": "203.0.113.7",
        "logsource": {"category": "application", "product": "django"},
    }
    (a,) = engine.process(nested)
    (b,) = engine.process(dotted)
    assert a.to_dict() == b.to_dict()
    assert a == b
    assert a.kind == "detection"
    assert a.rule.id == "2b0e6a4c-7b7e-4c70-9d5e-1c1f4f6d0a01"
    assert a.rule.title == "Failed login"
    assert a.rule.level == "low"
    assert a.rule.tags == ["attack.credential-access", "attack.t1110"]
    assert a.group == {}
    assert a.timestamp == dt.datetime(2024, 5, 1, 10, 0, 1, tzinfo=UTC)
    assert a.to_dict() == json.loads(a.to_json())
    assert a.event == a.to_dict()["event"]
    assert a.to_dict()["rule"] == a.rule.to_dict()
    assert a.to_dict() == {
        "@timestamp": "2024-05-01T10:00:01Z",
        "kind": "detection",
        "rule": {
            "id": "2b0e6a4c-7b7e-4c70-9d5e-1c1f4f6d0a01",
            "name": "failed_login",
            "title": "Failed login",
            "level": "low",
            "tags": ["attack.credential-access", "attack.t1110"],
            "path": "<rules[0]>",
        },
        "event": {
            "@timestamp": "2024-05-01T10:00:01Z",
            "event": {"category": ["authentication"], "outcome": "failure", "action": "login"},
            "user": {"name": "alice"},
            "source": {"ip": "203.0.113.7"},
            "logsource": {"product": "django", "category": "application"},
        },
    }


def test_a_dotted_key_wins_over_the_same_nested_path():
    engine = siem.Engine(rules=[FAILED_LOGIN])
    event = {
        "event.outcome": "failure",
        "event": {"outcome": "success", "category": "authentication"},
        "logsource": {"category": "application", "product": "django"},
    }
    (alert,) = engine.process(event)
    assert alert.event["event"]["outcome"] == "failure"
    # The same with the nested form first: precedence does not depend on order.
    event = {
        "event": {"outcome": "success", "category": "authentication"},
        "event.outcome": "failure",
        "logsource": {"category": "application", "product": "django"},
    }
    assert len(engine.process(event)) == 1


def test_python_values_convert_to_ecs_values():
    rule = """
title: Typed values
logsource: {product: test}
detection:
    sel:
        source.ip|cidr: 10.0.0.0/8
        source.port: 22
        http.response.bytes|gte: 100
        tls.established: true
        labels.trace: 3d9c6f3e-5f9e-4d52-8b5e-7d7f2b1c1a00
        event.created|startswith: '2024-05-01T12:00:00'
    condition: sel
"""
    engine = siem.Engine(rules=[rule])
    event = {
        "logsource": {"product": "test"},
        "source": {"ip": ipaddress.ip_address("10.1.2.3"), "port": 22},
        "http": {"response": {"bytes": 1024.5}},
        "tls": {"established": True},
        "labels": {"trace": uuid.UUID("3d9c6f3e-5f9e-4d52-8b5e-7d7f2b1c1a00")},
        "event": {"created": dt.datetime(2024, 5, 1, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))},
        "tags": ("a", "b"),
        "threat": {"enrichments": [{"indicator": {"ip": "198.51.100.1"}}, {"matched": {"field": "x"}}]},
        "big": 2**70,
        "nothing": None,
        "day": dt.date(2024, 5, 1),
    }
    (alert,) = engine.process(event)
    out = alert.event
    assert out["source"] == {"ip": "10.1.2.3", "port": 22}
    assert out["event"]["created"] == "2024-05-01T12:00:00Z"
    assert out["tags"] == ["a", "b"]
    assert out["threat"]["enrichments"] == [
        {"indicator": {"ip": "198.51.100.1"}},
        {"matched": {"field": "x"}},
    ]
    # Beyond i64 an int is a float, as JSON integers beyond i64 are; siem writes it as the
    # integer literal of that float, and to_dict() reads it as json.loads does.
    assert out["big"] == 1180591620717411300000 == json.loads(alert.to_json())["event"]["big"]
    assert isinstance(out["big"], int)
    assert out["nothing"] is None
    assert out["day"] == "2024-05-01"
    assert "@timestamp" not in out and alert.arrival_time
    assert alert.to_dict()["timestamp_source"] == "arrival"
    assert alert.to_dict() == json.loads(alert.to_json())


def test_timestamps_in_every_accepted_form_agree():
    engine = siem.Engine(rules=[FAILED_LOGIN])
    base = failure("203.0.113.7", "bob", 0)
    forms = [
        dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        dt.datetime(2024, 5, 1, 10, 0),  # naive: UTC
        "2024-05-01T10:00:00Z",
        "2024-05-01 10:00:00",
        "2024-05-01T12:00:00+02:00",
        1714557600000,  # epoch milliseconds
    ]
    for form in forms:
        (alert,) = engine.process({**base, "@timestamp": form})
        assert alert.timestamp == dt.datetime(2024, 5, 1, 10, 0, tzinfo=UTC), form
        assert alert.event["@timestamp"] == "2024-05-01T10:00:00Z"


def test_bad_events_raise_event_error():
    engine = siem.Engine(rules=[FAILED_LOGIN])
    cycle: dict = {"a": 1}
    cycle["self"] = cycle
    cases = [
        (["not", "a", "dict"], None, "must be a dict"),
        ("a raw line", None, "process_line"),
        ({1: "x"}, None, "keys must be strings"),
        ({"user": {"name": object()}}, "user.name", "unsupported value of type object"),
        ({"payload": b"\x00"}, "payload", "bytes"),
        ({"@timestamp": "yesterday"}, "@timestamp", "unreadable time"),
        ({"@timestamp": True}, "@timestamp", "bool"),
        ({"@timestamp": dt.date(2024, 5, 1)}, "@timestamp", "date"),
        ({"@timestamp": 1e30}, "@timestamp", "out of range"),
        (cycle, None, "nested deeper than 64"),
        ({"user": {"name": "\ud800"}}, "user.name", "not valid text"),
    ]
    for event, field, message in cases:
        with pytest.raises(siem.EventError, match=message) as info:
            engine.process(event)
        if field is not None:
            assert info.value.field == field, event
        assert isinstance(info.value, (TypeError, ValueError))
    with pytest.raises(siem.EventError, match="str or bytes"):
        engine.process_line({"a": 1})
    with pytest.raises(siem.EventError):
        engine.process_batch([failure("203.0.113.7", "x", 1), 42])
    # A bad event changes nothing: the engine carries on.
    assert len(engine.process(failure("203.0.113.7", "x", 1))) == 1
    assert engine.stats()["events"] == 1


def test_mappings_other_than_dict_are_events():
    from types import MappingProxyType

    engine = siem.Engine(rules=[FAILED_LOGIN])
    event = MappingProxyType(failure("203.0.113.7", "x", 1))
    assert len(engine.process(event)) == 1


# --- lines and batches ------------------------------------------------------------------------


def test_process_of_parse_is_process_line_on_loghub_openssh():
    lines = openssh_lines()
    reference = dt.datetime(2024, 12, 31, tzinfo=UTC)
    detections = SSH_RULES.read_text(encoding="utf-8").split("---")[0]
    by_line = siem.Engine(rules=[detections], reference_time=reference)
    by_dict = siem.Engine(rules=[detections], reference_time=reference)
    matched = 0
    for line in lines:
        a = [x.to_dict() for x in by_line.process_line(line)]
        b = [x.to_dict() for x in by_dict.process(by_line.parse(line))]
        for x in a + b:
            x.pop("@timestamp") if x.get("timestamp_source") else None
        assert a == b, line
        matched += len(a)
    assert matched == by_line.stats()["detections"] == by_dict.stats()["detections"]
    assert matched > 500  # loghub's OpenSSH sample holds 520 failed passwords and more


def test_process_batch_equals_one_call_per_item():
    lines = openssh_lines()[:1500]
    reference = dt.datetime(2024, 12, 31, tzinfo=UTC)
    one = siem.Engine(rules=[SSH_RULES], reference_time=reference)
    batch = siem.Engine(rules=[SSH_RULES], reference_time=reference)
    singles = []
    for line in lines:
        singles.extend(one.process_line(line))
    singles.extend(one.flush())
    # Mixed items, more than one chunk (4096), lines as str and bytes, events as dicts.
    items = []
    for i, line in enumerate(lines * 3):
        items.append(line if i % 3 else line.encode())
    parsed = [batch.parse(line) for line in lines]
    batched = batch.process_batch(iter(items[: len(lines)]))
    batched.extend(batch.flush())
    assert [a.to_dict() for a in batched] == [a.to_dict() for a in singles]
    assert batch.stats()["events"] == len(lines)
    # Events in a batch, through a generator, more than a chunk's worth.
    again = siem.Engine(rules=[SSH_RULES], reference_time=reference)
    many = again.process_batch(e for e in parsed * 3)
    assert again.stats()["events"] == 3 * len(lines)
    assert sum(a.kind == "detection" for a in many) == 3 * sum(
        a.kind == "detection" for a in singles
    )


def test_ssh_brute_force_fires_for_exactly_the_sources_a_reference_finds():
    """fail2ban's sshd jail (5 failures within 10 minutes) on loghub's OpenSSH log, checked
    against a plain sliding-window count over the parsed events."""
    lines = openssh_lines()
    reference = dt.datetime(2024, 12, 31, tzinfo=UTC)
    engine = siem.Engine(rules=[SSH_RULES], reference_time=reference)
    alerts = engine.process_batch(lines) + engine.flush()
    fired = {a.group["source.ip"] for a in alerts if a.kind == "correlation"}

    times = defaultdict(list)
    for line in lines:
        event = siem.parse(line, reference_time=reference)
        e = event.get("event", {})
        if "authentication" in e.get("category", []) and e.get("outcome") == "failure":
            ip = event.get("source", {}).get("ip")
            if ip is not None:
                times[ip].append(dt.datetime.fromisoformat(event["@timestamp"].replace("Z", "+00:00")))
    expected = set()
    for ip, ts in times.items():
        ts.sort()
        for i in range(len(ts)):
            j = i + 4
            if j < len(ts) and ts[j] - ts[i] <= dt.timedelta(minutes=10):
                expected.add(ip)
                break
    assert fired == expected
    assert "183.62.140.253" in fired
    sample = next(a for a in alerts if a.kind == "correlation")
    d = sample.to_dict()
    assert d == json.loads(sample.to_json())
    assert d["rule"]["id"] == "887f757e-f4b1-4392-9ee2-4ffb42217147"
    assert d["rules"] == ["04d59082-29c9-4301-985b-e8698ef25e5a"] == sample.rules
    assert sample.value == d["value"] == 5
    assert sample.window[0] <= sample.window[1] == sample.timestamp
    assert len(sample.events) == 5 and sample.events == d["events"]
    assert sample.group == d["group"]


# --- correlation state ------------------------------------------------------------------------


def test_correlations_wait_for_the_lateness_and_tick_releases_them():
    engine = siem.Engine(rules=[FAILED_LOGIN, BRUTE_FORCE])  # lateness 2 s
    start = dt.datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)
    alerts = []
    for i in range(6):
        alerts += engine.process(failure("198.51.100.9", f"user{i}", i))
    # A rule a correlation refers to raises no alerts of its own (Sigma's `generate: false`).
    assert alerts == [] and engine.stats()["detections"] == 6
    assert engine.tick(start + dt.timedelta(seconds=5)) == []  # the 6th is at 5 s: held back
    (corr,) = engine.tick(start + dt.timedelta(seconds=8))
    assert corr.kind == "correlation"
    assert corr.group == {"source.ip": "198.51.100.9"}
    assert corr.value == 6
    assert engine.flush() == []


def test_sampled_events_stay_within_max_sample_bytes():
    rules = [FAILED_LOGIN, BRUTE_FORCE]
    bounded = siem.Engine(rules=rules, correlator={"lateness": 0, "max_sample_bytes": 0})
    alerts = []
    for i in range(6):
        alerts += bounded.process(failure("198.51.100.11", "root", i))
    (corr,) = [a for a in alerts if a.kind == "correlation"]
    assert corr.events == []  # no sample fits in a budget of 0 bytes
    stats = bounded.stats()["correlator"]
    assert stats["samples_evicted"] >= 5 and stats["sample_bytes"] == 0
    with pytest.raises(siem.SiemError, match="max_sample_bytes"):
        siem.Engine(rules=rules, correlator={"max_sample_bytes": -1})


def test_snapshot_and_restore_carry_open_windows_across_engines():
    rules = [FAILED_LOGIN, BRUTE_FORCE]
    before = siem.Engine(rules=rules, correlator={"lateness": 0})
    for i in range(5):
        before.process(failure("198.51.100.10", "root", i))
    state = before.snapshot()
    assert isinstance(state, bytes) and json.loads(state)
    after = siem.Engine(rules=rules, correlator={"lateness": 0})
    report = after.restore(state)
    assert report["groups_restored"] == 1 and report["groups_dropped"] == 0
    alerts = after.process(failure("198.51.100.10", "root", 6))
    assert [a.kind for a in alerts] == ["correlation"]
    fresh = siem.Engine(rules=rules, correlator={"lateness": 0})
    assert fresh.process(failure("198.51.100.10", "root", 6)) == []
    with pytest.raises(siem.SiemError, match="snapshot"):
        after.restore(b"{}")
    with pytest.raises(siem.SiemError):
        after.restore("not json")
    with pytest.raises(TypeError):
        after.restore(42)


def test_alert_policy_suppresses_repeats():
    engine = siem.Engine(
        rules=[FAILED_LOGIN],
        policy={"suppress_repeats": dt.timedelta(minutes=15), "detection_group_fields": ["source.ip"]},
    )
    out = []
    for i in range(4):
        out += engine.process(failure("203.0.113.7", "x", i))
    out += engine.process(failure("203.0.113.8", "x", 5))
    assert len(out) == 2
    stats = engine.stats()
    assert stats["policy"]["suppressed_repeat"] == 3
    assert stats["events"] == 5 and stats["detections"] == 5 and stats["alerts"] == 2


def test_reprs():
    engine = siem.Engine(rules=[FAILED_LOGIN, BRUTE_FORCE])
    assert repr(engine) == "<siem.Engine rules=1 correlation_rules=1 rule_errors=0>"
    engine = siem.Engine(rules=[FAILED_LOGIN])
    (alert,) = engine.process(failure("203.0.113.7", "x", 1))
    assert "Failed login" in repr(alert) and "detection" in repr(alert)
    assert repr(alert.rule).startswith("<siem.Rule id=")
