"""siem.django in a real Django project (tests/django_project): signals, middleware, log
handler, the worker, and the built-in handlers against real servers on loopback."""

from __future__ import annotations

import datetime
import json
import socket
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.test import AsyncClient, Client

import siem
import siem.django
from django_project import handlers as collected
from siem.django import conf, events, handlers, runtime

BRUTE_FORCE = "6a0f7d43-3c51-4d1e-9b6e-0c1c7a3b9f02"
LOGOUT = "6a0f7d43-3c51-4d1e-9b6e-0c1c7a3b9f03"
VIEW_EXCEPTION = "6a0f7d43-3c51-4d1e-9b6e-0c1c7a3b9f04"
SIGMAHQ_DJANGO = "fd435618-981e-4a7c-81f8-f78ce480d616"
BURST_403 = "216f6162-7118-4456-9e15-e0363b9ef346"


def for_rule(rule_id, **group):
    def predicate(alert):
        return alert.rule.id == rule_id and all(alert.group.get(k) == v for k, v in group.items())

    return predicate


def fail_logins(client: Client, count: int, **extra) -> None:
    for i in range(count):
        response = client.post("/login/", {"username": f"alice{i % 2}", "password": "wrong"}, **extra)
        assert response.status_code == 200  # the form again, with its error


@pytest.mark.django_db
def test_six_failed_logins_from_one_address_reach_the_handler_as_brute_force():
    client = Client()
    fail_logins(client, 5, REMOTE_ADDR="203.0.113.50")  # one short: must stay quiet
    fail_logins(client, 6, REMOTE_ADDR="203.0.113.9")
    (alert,) = collected.wait_for(for_rule(BRUTE_FORCE, **{"source.ip": "203.0.113.9"}))
    assert alert.kind == "correlation"
    assert alert.group == {"source.ip": "203.0.113.9"}
    assert alert.value == 6
    assert alert.rule.title == "Django Brute Force From One Address"
    assert alert.rules == ["6a0f7d43-3c51-4d1e-9b6e-0c1c7a3b9f01"]
    sample = alert.events[-1]
    assert sample["event"]["category"] == ["authentication"]
    assert sample["event"]["outcome"] == "failure"
    assert sample["user"]["name"] in ("alice0", "alice1")
    assert sample["logsource"] == {"product": "django", "category": "application"}
    assert alert.to_dict() == json.loads(alert.to_json())
    # The five from the other address did not fire (their window is still open: no alert
    # can have been held back for them, the sixth alert above came later).
    assert not [a for a in collected.received if for_rule(BRUTE_FORCE, **{"source.ip": "203.0.113.50"})(a)]


@pytest.mark.django_db
def test_the_trusted_proxy_header_gives_the_client_address():
    client = Client()
    # Behind one proxy at 10.0.0.2: the last X-Forwarded-For entry is the client; entries
    # before it are whatever the client sent and are not trusted.
    fail_logins(
        client,
        6,
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.77",
    )
    (alert,) = collected.wait_for(for_rule(BRUTE_FORCE, **{"source.ip": "198.51.100.77"}))
    assert alert.group == {"source.ip": "198.51.100.77"}


def test_client_ip_rules(settings):
    class Request:
        def __init__(self, meta):
            self.META = meta

    settings.SIEM = {**settings.SIEM, "TRUSTED_PROXY_HEADER": "X-Forwarded-For", "TRUSTED_PROXY_COUNT": 2}
    r = Request({"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.1, 10.0.0.1"})
    assert events.client_ip(r) == "203.0.113.1"
    r = Request({"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "not-an-ip, 10.0.0.1"})
    assert events.client_ip(r) == "10.0.0.2"
    settings.SIEM = {**settings.SIEM, "TRUSTED_PROXY_HEADER": "HTTP_X_REAL_IP", "TRUSTED_PROXY_COUNT": 1}
    assert events.client_ip(Request({"REMOTE_ADDR": "10.0.0.2", "HTTP_X_REAL_IP": "[2001:db8::7]:443"})) == "2001:db8::7"
    settings.SIEM = {**settings.SIEM, "TRUSTED_PROXY_HEADER": None}
    r = Request({"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "203.0.113.1"})
    assert events.client_ip(r) == "10.0.0.2"


def test_a_disallowed_host_triggers_sigmahq_django_rule():
    client = Client()
    response = client.get("/", HTTP_HOST="evil.example", REMOTE_ADDR="192.0.2.66")
    assert response.status_code == 400
    alerts = collected.wait_for(
        lambda a: a.rule.id == SIGMAHQ_DJANGO
        and (a.event or {}).get("log", {}).get("logger") == "django.security.DisallowedHost"
    )
    assert alerts, "SigmaHQ's Django rule did not fire"
    alert = alerts[0]
    assert alert.rule.title == "Django Framework Exceptions"
    assert alert.rule.author == "Thomas Patzke"
    event = alert.event
    assert event["error"]["type"] == "django.core.exceptions.DisallowedHost"
    assert "evil.example" in event["message"]
    assert event["source"]["ip"] == "192.0.2.66"
    assert event["url"]["domain"] == "evil.example"
    assert event["http"]["response"]["status_code"] == 400
    assert event["logsource"] == {"product": "django", "category": "application"}


@pytest.mark.django_db
def test_permission_denied_bursts_are_correlated_from_the_middleware():
    client = Client()
    for _ in range(6):
        assert client.get("/private/", REMOTE_ADDR="192.0.2.77").status_code == 403
    (burst,) = collected.wait_for(for_rule(BURST_403, **{"source.ip": "192.0.2.77"}))
    assert burst.value == 6
    web = burst.events[-1]
    assert web["http"]["request"]["method"] == "GET"
    assert web["http"]["response"]["status_code"] == 403
    assert web["url"]["path"] == "/private/"
    assert web["event"]["category"] == ["web"]
    assert web["logsource"] == {"product": "django", "category": "webserver"}
    # The same requests, logged by django.request with the PermissionDenied exception, are
    # what SigmaHQ's Django rule looks for.
    assert collected.wait_for(
        lambda a: a.rule.id == SIGMAHQ_DJANGO
        and (a.event or {}).get("error", {}).get("type") == "django.core.exceptions.PermissionDenied"
    )


def test_async_requests_go_through_the_middleware_too():
    client = AsyncClient()

    async def get():
        # The ASGI test client connects from 127.0.0.1: as a proxy would, it names the client.
        return await client.get("/private/", headers={"X-Forwarded-For": "192.0.2.78"})

    for _ in range(6):
        assert async_to_sync(get)().status_code == 403
    assert collected.wait_for(for_rule(BURST_403, **{"source.ip": "192.0.2.78"}))


@pytest.mark.django_db
def test_login_and_logout_events_carry_the_user():
    User.objects.create_user("carol", password="s3cret-pass")
    client = Client()
    response = client.post(
        "/login/", {"username": "carol", "password": "s3cret-pass"}, REMOTE_ADDR="192.0.2.5"
    )
    assert response.status_code == 302
    assert client.post("/logout/", REMOTE_ADDR="192.0.2.5").status_code == 302
    (alert,) = collected.wait_for(
        lambda a: a.rule.id == LOGOUT and (a.event or {}).get("user", {}).get("name") == "carol"
    )
    assert alert.event["source"]["ip"] == "192.0.2.5"
    assert alert.event["event"]["type"] == ["end"]


def test_exceptions_in_views_become_ecs_error_events():
    client = Client(raise_request_exception=False)
    assert client.get("/boom/", REMOTE_ADDR="192.0.2.9").status_code == 500
    (alert,) = collected.wait_for(
        lambda a: a.rule.id == VIEW_EXCEPTION and (a.event or {}).get("source", {}).get("ip") == "192.0.2.9"
    )
    error = alert.event["error"]
    assert error["type"] == "ZeroDivisionError"
    assert error["message"] == "division by zero in a view"
    assert "Traceback" in error["stack_trace"] and "views.py" in error["stack_trace"]
    assert alert.event["log"]["level"] == "error"


def test_app_logs_through_the_handler_and_siem_own_logs_are_ignored():
    detector = siem.django.detector()
    before = detector.stats()["events_queued"]
    logging.getLogger("siem.django.test").warning("must not become an event")
    logging.getLogger("django_project").warning("an application warning")
    assert detector.drain()
    assert detector.stats()["events_queued"] == before + 1


def test_stats_count_what_the_integration_did():
    stats = siem.django.stats()
    assert stats is not None
    for key in ("events_queued", "events_dropped", "events_processed", "alerts_delivered", "ticks"):
        assert key in stats
    assert stats["engine"]["events"] >= stats["events_processed"] > 0
    assert stats["events_dropped"] == 0


# --- the detector alone -----------------------------------------------------------------------

FAILED = """
title: Failed login
name: failed
logsource: {category: application, product: django}
detection:
    selection: {event.category: authentication, event.outcome: failure}
    condition: selection
level: low
"""


def auth_failure(ip: str) -> dict:
    return {
        # Timed like the integration's own events (events without a time are correlated by
        # arrival, which needs no waiting for late ones).
        "@timestamp": datetime.datetime.now(datetime.timezone.utc),
        "event": {"category": "authentication", "outcome": "failure"},
        "source": {"ip": ip},
        "logsource": {"category": "application", "product": "django"},
    }


def test_a_full_queue_drops_and_counts_instead_of_blocking():
    release = threading.Event()
    delivered = []

    def slow(alert):
        release.wait(10)
        delivered.append(alert)

    detector = runtime.Detector(
        siem.Engine(rules=[FAILED]), [slow], queue_size=8, alert_queue_size=2, tick_interval=0.05
    )
    submitted = [detector.submit(auth_failure("203.0.113.1")) for _ in range(2000)]
    assert not all(submitted)  # the worker cannot keep up with a loop of submits
    # Every event was either queued or dropped, none waited.
    stats = detector.stats()
    assert stats["events_queued"] + stats["events_dropped"] == 2000
    assert stats["events_dropped"] == submitted.count(False) > 0
    time.sleep(0.2)
    release.set()
    assert detector.drain(10)
    stats = detector.stats()
    assert stats["events_processed"] == stats["events_queued"]
    # The delivery side was stuck in the handler: alerts beyond its queue were dropped too.
    assert stats["alerts_dropped"] > 0
    assert stats["alerts_delivered"] == len(delivered) == stats["alerts_queued"]
    detector.stop()


def test_bad_events_and_broken_handlers_are_counted_and_the_worker_carries_on():
    got = []

    def broken(alert):
        raise RuntimeError("handler bug")

    detector = runtime.Detector(siem.Engine(rules=[FAILED]), [broken, got.append], tick_interval=0.05)
    detector.submit(auth_failure("203.0.113.2"))
    detector.submit({"source": {"ip": object()}})  # not an ECS value
    detector.submit(auth_failure("203.0.113.3"))
    assert detector.drain()
    stats = detector.stats()
    assert stats["events_invalid"] == 1
    assert stats["events_processed"] == 2
    assert stats["handler_errors"] == 2
    assert [a.event["source"]["ip"] for a in got] == ["203.0.113.2", "203.0.113.3"]
    detector.stop()


def test_the_worker_ticks_when_idle_so_correlations_are_not_held_back():
    rules = FAILED + """
---
title: Three failures
correlation: {type: event_count, rules: [failed], group-by: [source.ip], timespan: 1m, condition: {gte: 3}}
level: high
"""
    got = []
    engine = siem.Engine(rules=[rules], correlator={"lateness": 0.3})
    detector = runtime.Detector(engine, [got.append], tick_interval=0.05)
    for _ in range(3):
        detector.submit(auth_failure("203.0.113.4"))
    assert detector.drain()
    assert got == []  # held back for the lateness...
    deadline = time.monotonic() + 5
    while not got and time.monotonic() < deadline:
        time.sleep(0.02)
    (alert,) = got  # ...and released by the idle worker's tick, with no further event
    assert alert.group == {"source.ip": "203.0.113.4"}
    detector.stop()


def test_stop_flushes_what_waits_for_the_lateness():
    rules = FAILED + """
---
title: Two failures
correlation: {type: event_count, rules: [failed], group-by: [source.ip], timespan: 1m, condition: {gte: 2}}
level: high
"""
    got = []
    detector = runtime.Detector(
        siem.Engine(rules=[rules], correlator={"lateness": 3600}), [got.append], tick_interval=0.05
    )
    detector.submit(auth_failure("203.0.113.5"))
    detector.submit(auth_failure("203.0.113.5"))
    assert detector.drain() and got == []
    detector.stop(flush=True)
    assert [a.kind for a in got] == ["correlation"]
    assert detector.submit(auth_failure("203.0.113.5")) is False


def test_unknown_settings_keys_are_refused(settings):
    settings.SIEM = {**settings.SIEM, "RULE": []}
    with pytest.raises(ImproperlyConfigured, match="RULE"):
        conf.check_keys()


def test_handlers_that_cannot_be_imported_are_refused():
    with pytest.raises(ImproperlyConfigured, match="cannot import"):
        runtime.import_handler("django_project.handlers.nope")


# --- built-in handlers against real servers ---------------------------------------------------


@pytest.fixture
def alert() -> siem.Alert:
    engine = siem.Engine(rules=[FAILED.replace("level: low", "level: high")])
    (a,) = engine.process({**auth_failure("203.0.113.8"), "user": {"name": "mallory"}})
    return a


def test_log_alert(alert, caplog):
    with caplog.at_level(logging.INFO, logger="siem.alerts"):
        handlers.log_alert(alert)
    (record,) = [r for r in caplog.records if r.name == "siem.alerts"]
    assert record.levelno == logging.ERROR  # level high
    assert record.getMessage() == "[high] Failed login (user mallory from 203.0.113.8)"
    assert record.alert == alert.to_dict()


def test_email_alert_through_a_real_smtp_server(alert, settings):
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(envelope)
            return "250 OK"

    inbox = Inbox()
    with socket.socket() as probe:  # a free port on loopback
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = port
        settings.SIEM = {**settings.SIEM, "EMAIL": {"TO": ["soc@example.org"], "SUBJECT_PREFIX": "[siem-test] "}}
        handlers.email_alert(alert)
        # Without TO: settings.ADMINS.
        settings.SIEM = {**settings.SIEM, "EMAIL": {}}
        handlers.email_alert(alert)
        # Below the minimum level: not sent.
        settings.SIEM = {**settings.SIEM, "EMAIL": {"TO": ["soc@example.org"], "MIN_LEVEL": "critical"}}
        handlers.email_alert(alert)
    finally:
        controller.stop()
    envelope, to_admins = inbox.messages
    assert to_admins.rcpt_tos == ["security@example.org"]
    assert envelope.rcpt_tos == ["soc@example.org"]
    assert envelope.mail_from == "siem@example.org"
    text = envelope.content.decode("utf-8")
    assert "Subject: [siem-test] [high] Failed login (user mallory from 203.0.113.8)" in text
    assert '"kind": "detection"' in text and '"ip": "203.0.113.8"' in text


def test_email_alert_without_recipients_is_a_configuration_error(alert, settings):
    settings.ADMINS = []
    settings.SIEM = {**settings.SIEM, "EMAIL": {}}
    with pytest.raises(ImproperlyConfigured):
        handlers.email_alert(alert)


class _Webhook(BaseHTTPRequestHandler):
    bodies: list = []
    status = 200

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        type(self).bodies.append((self.headers["Content-Type"], self.rfile.read(length)))
        self.send_response(type(self).status)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def test_slack_alert_posts_to_a_real_webhook(alert, settings):
    server = HTTPServer(("127.0.0.1", 0), _Webhook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/XXXX"
        settings.SIEM = {**settings.SIEM, "SLACK": {"WEBHOOK_URL": url}}
        handlers.slack_alert(alert)
        (content_type, body), = _Webhook.bodies
        assert content_type == "application/json"
        message = json.loads(body)
        assert message["text"] == "[high] Failed login (user mallory from 203.0.113.8)"
        assert message["blocks"][0]["text"]["text"] == f"*{message['text']}*"
        _Webhook.status = 500
        with pytest.raises(Exception, match="500"):
            handlers.slack_alert(alert)
    finally:
        server.shutdown()
        server.server_close()
        _Webhook.status = 200
        _Webhook.bodies.clear()
    settings.SIEM = {**settings.SIEM, "SLACK": {}}
    with pytest.raises(ImproperlyConfigured):
        handlers.slack_alert(alert)


def test_pipelines_setting_reaches_the_engine(settings):
    # A project whose rules use its own field names maps them with a pipeline of its own.
    rule = """
title: Root login failure
id: 5f3c2a10-8d4e-4b7a-9c21-0e6f4d8b7a31
logsource: {category: application, product: django}
detection:
    selection: {account: root, outcome: failure}
    condition: selection
level: high
"""
    pipeline = """
name: project_names
transformations:
  - type: field_name_mapping
    mapping: {account: user.name, outcome: event.outcome}
"""
    event = {**auth_failure("203.0.113.12"), "user": {"name": "root"}}
    settings.SIEM = {**settings.SIEM, "RULES": [rule], "PIPELINES": ["windows", pipeline]}
    (alert,) = runtime.build_engine().process(event)
    assert alert.rule.id == "5f3c2a10-8d4e-4b7a-9c21-0e6f4d8b7a31"
    settings.SIEM = {**settings.SIEM, "PIPELINES": None}  # the engine's defaults
    assert runtime.build_engine().process(event) == []
    settings.SIEM = {**settings.SIEM, "PIPELINES": ["nonesuch"]}
    with pytest.raises(siem.ParseError, match="nonesuch"):
        runtime.build_engine()
