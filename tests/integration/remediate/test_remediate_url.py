"""An HTTP action's URL, seen from both ends: what a recording server on loopback received, and
the URL the audit log names for it. A placeholder value can neither move the request to another
path (``..``) nor be sent otherwise than it is logged."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from aiohttp import web

from tests.support import ThreadedServer
from tests.unit.remediate.payloads import alert, notification

from .conftest import Launcher, remediate_yaml


class Recorder:
    """Answers 200 to anything and records each request's target as it came on the wire."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self._lock = threading.Lock()
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self._record)

    async def _record(self, request: web.Request) -> web.Response:
        with self._lock:
            self.seen.append(request.raw_path)
        return web.Response(text="ok\n")


@pytest.fixture
def recorder() -> Iterator[tuple[Recorder, str]]:
    found = Recorder()
    with ThreadedServer(found.app) as server:
        yield found, server.url


def rules(target: str) -> str:
    return f"""\
  - name: reboot
    match: {{alertname: HostDown}}
    placeholders: {{host: {{pattern: '.+'}}}}
    verify: false
    action: {{http: {{url: '{target}/api/hosts/{{host}}/reboot'}}}}
  - name: two-values
    match: {{alertname: PairDown}}
    placeholders: {{a: {{pattern: '.+'}}, b: {{pattern: '.+'}}}}
    verify: false
    action: {{http: {{url: '{target}/api/pairs/{{a}}{{b}}/reboot'}}}}
  - name: by-query
    match: {{alertname: QueryDown}}
    placeholders: {{host: {{pattern: '.+'}}}}
    verify: false
    action: {{http: {{url: '{target}/api/reboot?host={{host}}'}}}}
"""


def test_a_dot_segment_value_is_refused_and_the_audit_names_the_url_requested(
    launch: Launcher, recorder: tuple[Recorder, str]
) -> None:
    server, target = recorder
    remediate = launch.remediate(remediate_yaml(target, rules(target)))
    sent = {
        # label values -> the request target the server must see (None: refused, nothing sent)
        "web1": "/api/hosts/web1/reboot",
        "..": None,
        ".": None,
        "%2e%2e": "/api/hosts/%252e%252e/reboot",  # one literal segment, never a dot segment
        "a;b": "/api/hosts/a%3Bb/reboot",  # not decoded into a path parameter
        "a/b": "/api/hosts/a%2Fb/reboot",
    }
    alerts = [
        alert("HostDown", f"svc{i}", fingerprint=f"h{i}", host=value)
        for i, value in enumerate(sent)
    ]
    alerts += [
        alert("PairDown", "pair", fingerprint="p1", a=".", b="."),
        alert("QueryDown", "query", fingerprint="q1", host=".."),
    ]
    status, body = remediate.post(notification(*alerts))
    assert status == 200, body
    expected = [path for path in sent.values() if path is not None] + ["/api/reboot?host=.."]
    finished = remediate.wait_for_audit("succeeded", count=len(expected))

    assert sorted(server.seen) == sorted(expected)
    # The audit log names exactly the URL each request went to.
    assert sorted(line["ran"] for line in finished) == sorted(
        f"POST {target}{path}" for path in expected
    )
    assert sorted(line["ran"] for line in remediate.audit("started")) == sorted(
        f"POST {target}{path}" for path in expected
    )
    refused = {line["service"]: line["detail"] for line in remediate.audit("refused")}
    assert refused == {
        "svc1": "host='..': would make '..' a segment of the URL path, which moves the request "
        "to another path",
        "svc2": "host='.': would make '.' a segment of the URL path, which moves the request "
        "to another path",
        "pair": "a='.': would make '..' a segment of the URL path, which moves the request "
        "to another path",
    }
    assert "/api/reboot" not in server.seen
    assert "/api/pairs/reboot" not in server.seen
