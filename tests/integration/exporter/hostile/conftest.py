"""The hostile peers, shared by the module's tests, and the table of hostile cases."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from ghost_exporter.probes import FailureReason
from tests.integration.exporter.hostile.servers import Hostile, hostile_servers

#: The timeout of every hostile target: each case must fail within it (plus a margin).
TIMEOUT = 1.0


@dataclass(frozen=True)
class Case:
    """A hostile target: its name, its YAML (under ``- name: NAME``) and the reason it fails with.

    ``bug`` names a known prober defect: the case then fails with another reason today.
    """

    name: str
    spec: Callable[[Hostile], str]
    reason: FailureReason
    bug: str | None = None


def _http(path: str, extra: str = "") -> Callable[[Hostile], str]:
    return lambda h: f"    http: {{url: '{h.http}{path}'{extra}}}\n"


def _url(attr: str, extra: str = "", kind: str = "http") -> Callable[[Hostile], str]:
    return lambda h: f"    {kind}: {{url: '{getattr(h, attr)}'{extra}}}\n"


def _ws(path: str, extra: str = "") -> Callable[[Hostile], str]:
    return lambda h: f"    websocket: {{url: '{h.ws}{path}'{extra}}}\n"


R = FailureReason
HEALTH = ", health_field: status"
LAG = ", timestamp_field: ts, max_lag: 5s"
CASES: tuple[Case, ...] = (
    Case("slowloris", _url("slowloris"), R.TIMEOUT),
    Case("slow-body", _url("slow_body", HEALTH), R.TIMEOUT),
    Case("endless-body", _http("/endless"), R.BODY),
    Case("body-100mb", _http("/huge-declared"), R.BODY),
    Case("body-100mb-chunked", _http("/huge-chunked"), R.BODY),
    Case("gzip-bomb", _http("/gzip-bomb"), R.BODY),
    Case("invalid-json", _http("/invalid-json", HEALTH), R.BODY),
    Case("invalid-utf8", _http("/invalid-utf8", HEALTH), R.BODY),
    Case("nested-json", _http("/nested-json", HEALTH), R.BODY),
    Case("redirect-loop", _http("/loop"), R.STATUS),
    Case("redirect-other-host", _http("/away/127.0.0.2/80"), R.STATUS),
    Case(
        "expired-cert",
        lambda h: (
            f"    http: {{url: '{h.https_expired}', tls_config: {{ca_file: '{h.ca_file}'}}}}\n"
        ),
        R.TLS,
    ),
    Case("self-signed-cert", _url("https_self_signed"), R.TLS),
    Case("tls-never-answers", _url("tls_silent"), R.TIMEOUT),
    Case("header-flood", _url("header_flood"), R.PROTOCOL),
    Case("endless-header", _url("giant_header"), R.PROTOCOL),
    Case("reset-mid-body", _url("reset_mid_body", HEALTH), R.BODY),
    Case("reset-mid-head", _url("reset_mid_head"), R.PROTOCOL),
    Case(
        "tcp-never-speaks",
        lambda h: f"    tcp: {{address: '{h.silent_tcp}', expect: '^OK'}}\n",
        R.TIMEOUT,
    ),
    Case("ws-never-upgrades", _url("ws_no_upgrade", kind="websocket"), R.TIMEOUT),
    Case("ws-garbage-handshake", _url("ws_garbage_handshake", kind="websocket"), R.PROTOCOL),
    Case("ws-garbage-frames", _url("ws_garbage_frames", kind="websocket"), R.PROTOCOL),
    Case("ws-invalid-utf8", _url("ws_invalid_utf8", kind="websocket"), R.PROTOCOL),
    Case("ws-50mb-frame", _url("ws_giant_frame", kind="websocket"), R.BODY),
    Case("ws-stale-timestamp", _ws("/ws/stale", LAG), R.HEALTH),
    Case("ws-nan-timestamp", _ws("/ws/not-finite/nan", LAG), R.BODY),
    Case("ws-infinite-timestamp", _ws("/ws/not-finite/inf", LAG), R.BODY),
    Case("ws-nested-json", _ws("/ws/nested", LAG), R.BODY),
    Case("daemon-slowloris", lambda h: f"    url: '{h.slowloris}'\n", R.TIMEOUT),
    Case("daemon-endless", lambda h: f"    url: '{h.http}/daemon/endless'\n", R.BODY),
    Case("daemon-nested-json", lambda h: f"    url: '{h.http}/daemon/nested'\n", R.PROTOCOL),
    Case("daemon-invalid-utf8", lambda h: f"    url: '{h.http}/daemon/invalid-utf8'\n", R.PROTOCOL),
)


def is_daemon(case: Case) -> bool:
    return case.name.startswith("daemon-")


def config_text(hostile: Hostile, interval: str = "10s") -> str:
    """Every case as one configuration."""
    services = [c for c in CASES if not is_daemon(c)]
    daemons = [c for c in CASES if is_daemon(c)]
    lines = [f"defaults: {{interval: {interval}, timeout: {TIMEOUT:g}s}}", "services:"]
    lines += [f"  - name: {c.name}\n{c.spec(hostile)}".rstrip("\n") for c in services]
    lines.append("daemons:")
    lines += [f"  - name: {c.name}\n{c.spec(hostile)}".rstrip("\n") for c in daemons]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    with hostile_servers(tmp_path_factory.mktemp("hostile")) as servers:
        yield servers
