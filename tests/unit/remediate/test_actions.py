"""Actions and verification against real processes and loopback servers."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from ghost_remediate.actions import run_command, run_http
from ghost_remediate.config import CommandSpec, HTTPSpec, VerifySpec
from ghost_remediate.templates import parse
from ghost_remediate.verify import parse_probe, verify
from tests.conftest import ServeFn

HEALTHY = """\
# HELP ghost_service_up 1 if the last probe of the service succeeded, else 0.
# TYPE ghost_service_up gauge
ghost_service_up{service="dual-monitor",tier="core"} 1
# TYPE ghost_service_health gauge
ghost_service_health{service="dual-monitor",state="healthy"} 1
ghost_service_health{service="dual-monitor",state="degraded"} 0
ghost_service_health{service="dual-monitor",state="unhealthy"} 0
ghost_service_health{service="dual-monitor",state="unknown"} 0
"""
UNHEALTHY = HEALTHY.replace('state="healthy"} 1', 'state="healthy"} 0').replace(
    'state="unhealthy"} 0', 'state="unhealthy"} 1'
)
DOWN = HEALTHY.replace('tier="core"} 1', 'tier="core"} 0')


def command(*argv: str, timeout: float = 5.0, kill_grace: float = 0.5) -> CommandSpec:
    return CommandSpec(tuple(parse(a) for a in argv), timeout, kill_grace, {})


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def test_a_command_runs_without_a_shell_with_its_values() -> None:
    outcome = await run_command(command("/bin/echo", "restart", "{service}"), {"service": "$(id)"})
    assert outcome.ok
    assert outcome.detail == "exit status 0; output: restart $(id)"


async def test_a_command_gets_a_minimal_environment_and_root_as_cwd(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GHOST_SECRET_OF_THE_PARENT", "x")
    spec = CommandSpec(
        (parse("/bin/sh"), parse("-c"), parse("pwd; env | sort")), 5, 0.5, {"A": "b"}
    )
    outcome = await run_command(spec, {})
    assert outcome.ok
    lines = outcome.detail.removeprefix("exit status 0; output: ").splitlines()
    assert lines[0] == "/"
    assert "A=b" in lines
    assert "GHOST_SECRET_OF_THE_PARENT=x" not in lines
    assert {line.split("=")[0] for line in lines[1:]} <= {"A", "LANG", "PATH", "PWD", "SHLVL", "_"}


async def test_a_failing_or_missing_command_fails() -> None:
    outcome = await run_command(command("/bin/sh", "-c", "echo nope >&2; exit 3"), {})
    assert (outcome.ok, outcome.detail) == (False, "exit status 3; output: nope")
    outcome = await run_command(command("/nonexistent/ghost-restart"), {})
    assert (outcome.ok, outcome.detail) == (
        False,
        "cannot start /nonexistent/ghost-restart: No such file or directory",
    )


async def test_only_the_end_of_a_long_output_is_kept() -> None:
    outcome = await run_command(command("/bin/sh", "-c", "seq 1 100000"), {})
    assert outcome.ok
    assert outcome.detail.endswith("99999\n100000")
    assert len(outcome.detail) < 1100


async def test_a_command_past_its_timeout_is_killed_with_its_process_group(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = f"sleep 60 & echo $$ $! > {pids}; trap '' TERM; wait"
    start = time.monotonic()
    outcome = await run_command(command("/bin/sh", "-c", script, timeout=0.5, kill_grace=0.3), {})
    elapsed = time.monotonic() - start
    shell, child = (int(p) for p in pids.read_text().split())
    assert not outcome.ok
    assert outcome.detail == f"timed out after 0.5s: process group {shell} killed"
    assert elapsed < 3
    async with asyncio.timeout(5):
        while alive(child) or alive(shell):  # noqa: ASYNC110 - polling /proc, not an event
            await asyncio.sleep(0.02)
    with pytest.raises(ProcessLookupError):
        os.killpg(shell, 0)


async def wait_for_text(path: Path) -> None:
    """Until a command wrote ``path``."""
    async with asyncio.timeout(5):
        while not path.exists() or not path.read_text().strip():  # noqa: ASYNC110, ASYNC240
            await asyncio.sleep(0.02)


async def test_a_cancelled_command_is_killed(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    task = asyncio.create_task(
        run_command(command("/bin/sh", "-c", f"echo $$ > {pids}; sleep 60"), {})
    )
    await wait_for_text(pids)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    shell = int(pids.read_text())
    async with asyncio.timeout(5):
        while alive(shell):  # noqa: ASYNC110 - polling /proc, not an event
            await asyncio.sleep(0.02)


class Server:
    def __init__(self) -> None:
        self.status = 200
        self.delay = 0.0
        self.probe = HEALTHY
        self.requests: list[tuple[str, str, str]] = []
        self.app = web.Application()
        self.app.router.add_route("*", "/-/restart/{service}", self.restart)
        self.app.router.add_get("/redirect", self.redirect)
        self.app.router.add_get("/probe", self.probe_target)

    async def restart(self, request: web.Request) -> web.Response:
        self.requests.append((request.method, request.raw_path, request.headers.get("X-Key", "")))
        await asyncio.sleep(self.delay)
        return web.Response(status=self.status, text=f"restarted {request.match_info['service']}")

    async def redirect(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/-/restart/elsewhere")

    async def probe_target(self, request: web.Request) -> web.Response:
        if request.query.get("target") != "dual-monitor":
            raise web.HTTPNotFound(text="unknown target")
        return web.Response(text=self.probe)


@pytest.fixture
async def server(serve: ServeFn) -> tuple[Server, str]:
    found = Server()
    return found, await serve(found.app)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def http(url: str, method: str = "POST", timeout: float = 2.0) -> HTTPSpec:
    return HTTPSpec(method, parse(url), {"X-Key": "k"}, None, timeout, None)


async def test_an_http_action_sends_the_configured_request(
    server: tuple[Server, str], session: aiohttp.ClientSession
) -> None:
    srv, url = server
    outcome = await run_http(
        session, http(url + "/-/restart/{service}"), {"service": "dual-monitor"}
    )
    assert (outcome.ok, outcome.detail) == (True, "HTTP 200: restarted dual-monitor")
    # A value that some pattern let through is still percent-encoded into one path segment.
    await run_http(session, http(url + "/-/restart/{service}", "PUT"), {"service": "a b/c"})
    assert srv.requests == [
        ("POST", "/-/restart/dual-monitor", "k"),
        ("PUT", "/-/restart/a%20b%2Fc", "k"),
    ]


async def test_an_http_action_fails_on_status_timeout_refusal_and_redirect(
    server: tuple[Server, str], session: aiohttp.ClientSession
) -> None:
    srv, url = server
    srv.status = 503
    outcome = await run_http(session, http(url + "/-/restart/x"), {})
    assert (outcome.ok, outcome.detail) == (False, "HTTP 503: restarted x")
    srv.status, srv.delay = 200, 1.0
    outcome = await run_http(session, http(url + "/-/restart/x", timeout=0.2), {})
    assert (outcome.ok, outcome.detail) == (False, "timed out after 0.2s")
    outcome = await run_http(session, http(url + "/redirect", "GET"), {})
    assert (outcome.ok, outcome.detail) == (False, "HTTP 302: 302: Found")
    outcome = await run_http(session, http("http://127.0.0.1:1/-/restart/x"), {})
    assert not outcome.ok
    assert outcome.detail.startswith("request failed: ClientConnectorError")


def test_parse_probe() -> None:
    assert parse_probe(HEALTHY).healthy
    assert str(parse_probe(UNHEALTHY)) == "ghost_service_up=1 health=unhealthy"
    assert not parse_probe(DOWN).healthy
    assert str(parse_probe("")) == "ghost_service_up=none health=none"


def spec(url: str, interval: float = 0.05) -> VerifySpec:
    return VerifySpec(url + "/probe", 1.0, interval, 0.5, {}, None)


async def test_verify_waits_until_up_and_healthy(
    server: tuple[Server, str], session: aiohttp.ClientSession
) -> None:
    srv, url = server
    srv.probe = UNHEALTHY

    async def heal() -> None:
        await asyncio.sleep(0.3)
        srv.probe = HEALTHY

    healer = asyncio.create_task(heal())
    outcome = await verify(session, spec(url), "dual-monitor", 2.0)
    await healer
    assert outcome.ok
    assert outcome.detail.startswith("up and healthy after 0.")


async def test_verify_fails_at_its_deadline_or_for_an_unknown_target(
    server: tuple[Server, str], session: aiohttp.ClientSession
) -> None:
    srv, url = server
    srv.probe = DOWN
    start = time.monotonic()
    outcome = await verify(session, spec(url), "dual-monitor", 0.4)
    assert 0.3 < time.monotonic() - start < 1.5
    assert (outcome.ok, outcome.detail) == (
        False,
        "not up and healthy within 0.4s (last: ghost_service_up=0 health=healthy)",
    )
    outcome = await verify(session, spec(url), "status-api", 5.0)
    assert (outcome.ok, outcome.detail) == (
        False,
        "verification failed: the exporter has no target 'status-api' (HTTP 404)",
    )
    outcome = await verify(session, spec("http://127.0.0.1:1"), "dual-monitor", 0.2)
    assert not outcome.ok
    assert "(last: probe failed: Cannot connect to host 127.0.0.1:1" in outcome.detail


@pytest.mark.parametrize("traps", [False, True], ids=["stops-on-term", "ignores-term"])
async def test_a_cancelled_command_gets_sigterm_then_sigkill_after_the_grace(
    tmp_path: Path, traps: bool
) -> None:
    pids = tmp_path / "pids"
    term = tmp_path / "term"
    on_term = f"echo term > {term}" + ("" if traps else "; exit 1")
    script = f"trap '{on_term}' TERM; echo $$ > {pids}; while :; do sleep 0.05; done"
    task = asyncio.create_task(
        run_command(command("/bin/sh", "-c", script, kill_grace=0.5), {}, lambda: 0.5)
    )
    await wait_for_text(pids)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    shell = int(pids.read_text())
    assert term.read_text() == "term\n"  # SIGTERM came first
    # A shell that ignores SIGTERM ends only by the SIGKILL after the grace.
    async with asyncio.timeout(5):
        while alive(shell):  # noqa: ASYNC110 - polling /proc, not an event
            await asyncio.sleep(0.02)
