"""The dict -> Event conversion against its reference, Event::from_json, on random events."""

from __future__ import annotations

import json
import random

import pytest

from siem import _siem

KEYS = ["a", "b", "c", "a.b", "b.c", "a.b.c", "source", "ip", "user.name", "é", "x y"]


def scalar(rng: random.Random):
    return rng.choice(
        [
            lambda: rng.randint(-(2**63), 2**63 - 1),
            lambda: rng.randint(-5, 5),
            # Floats with a short exact binary form: serde_json (without its float_roundtrip
            # feature) may read 17-digit decimals one ulp off, the dict walk never does.
            lambda: rng.randint(-(10**6), 10**6) / 8,
            lambda: rng.choice([True, False, None]),
            lambda: rng.choice(["", "x", "héllo", "203.0.113.7", "a" * 40, "tab\tquote\"nl\n"]),
        ]
    )()


def value(rng: random.Random, depth: int):
    roll = rng.random()
    if depth < 3 and roll < 0.3:
        return mapping(rng, depth + 1)
    if depth < 3 and roll < 0.45:
        return [
            mapping(rng, depth + 1) if rng.random() < 0.3 else scalar(rng)
            for _ in range(rng.randint(0, 3))
        ]
    return scalar(rng)


def mapping(rng: random.Random, depth: int) -> dict:
    # Empty mappings are left out: from_json keeps `{}` as an empty object field, while a dict
    # walk has nothing to insert for it (Event::insert flattens objects into their members).
    out = {}
    for _ in range(rng.randint(1, 4)):
        out[rng.choice(KEYS)] = value(rng, depth)
    return out


@pytest.mark.parametrize("seed", range(20))
def test_dict_conversion_equals_from_json(seed: int):
    rng = random.Random(seed)
    for _ in range(250):
        event = mapping(rng, 0)
        if rng.random() < 0.2:
            event["@timestamp"] = "2024-05-01T10:00:00.5Z"
        if rng.random() < 0.2:
            event["logsource"] = {"product": "linux", "service": "sshd"}
        text = json.dumps(event)
        # Compared as JSON values: Event::from_json reads objects inside lists through
        # serde_json's map, which sorts their keys; the dict walk keeps the dict's order.
        ours = json.loads(_siem._event_json(event))
        assert ours == json.loads(_siem._event_json_from_text(text)), text
        assert list(ours) == list(json.loads(_siem._event_json_from_text(text))), text


def test_precedence_cases_by_hand():
    cases = [
        {"a.b": 1, "a": {"b": 2}},
        {"a": {"b": 2}, "a.b": 1},
        {"a": {"b.c": 1}, "a.b": {"c": 2}},
        {"a.b": {"c": 2}, "a": {"b.c": 1}},
        {"a": {"b": {"c": 3}}, "a.b.c": 0, "a.b": {"c": 1}},
        {"x": [{"a.b": 1, "a": {"b": 2}}]},
    ]
    for event in cases:
        ours = json.loads(_siem._event_json(event))
        assert ours == json.loads(_siem._event_json_from_text(json.dumps(event))), event
