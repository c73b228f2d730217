"""Secrets (``!env``, ``!file``, header values, passwords, web basic auth) never show: not in the
logs (logfmt and JSON, debug level), not on ``/``, ``/metrics`` or ``/probe``, not in the errors
of ``validate``, ``check`` or a refused reload."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from tests.integration.security.conftest import HASH, PASSWORD, basic, fetch
from tests.support import ThreadedServer, cli, run_exporter, wait_until

ENV_SECRET = "env-SECRET-4d2c91"
FILE_SECRET = "file-SECRET-8b7e13"
INLINE_PASSWORD = "inline-SECRET-c0ffee"
INLINE_HEADER = "hdr-SECRET-a11ce5"
WRONG_WEB_PASSWORD = "wrong-SECRET-feed99"
SECRETS = (ENV_SECRET, FILE_SECRET, INLINE_PASSWORD, INLINE_HEADER, WRONG_WEB_PASSWORD, PASSWORD)
NAMES = ("token", "basic", "failing", "reflecting", "feed", "stress")


def _targets_app() -> web.Application:
    """Targets that check the secrets they are sent, fail, or reflect every header back."""

    async def token(request: web.Request) -> web.Response:
        ok = request.headers.get("X-Token") == ENV_SECRET
        return web.json_response({"status": "healthy" if ok else "red"}, status=200 if ok else 401)

    async def failing(request: web.Request) -> web.Response:
        return web.json_response({"error": dict(request.headers)}, status=500)

    async def reflecting(request: web.Request) -> web.Response:
        return web.Response(text=json.dumps(dict(request.headers)) + "\n" * 3)

    async def feed(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(json.dumps({"ts": time.time() - 3600, "echo": dict(request.headers)}))
        await ws.close()
        return ws

    async def status(request: web.Request) -> web.Response:
        return web.json_response({"headers": dict(request.headers)})  # not the protocol

    app = web.Application()
    app.router.add_get("/token", token)
    app.router.add_get("/basic", reflecting)
    app.router.add_get("/failing", failing)
    app.router.add_get("/reflecting", reflecting)
    app.router.add_get("/feed", feed)
    app.router.add_get("/api/status", status)
    return app


@pytest.fixture(scope="module")
def targets() -> Iterator[str]:
    with ThreadedServer(_targets_app()) as server:
        yield server.url


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GHOST_TEST_TOKEN", ENV_SECRET)


def _config(base: str, tmp: Path) -> Path:
    (tmp / "password.txt").write_text(FILE_SECRET + "\n")
    path = tmp / "ghost.yml"
    path.write_text(
        f"""defaults: {{interval: 500ms, timeout: 400ms}}
services:
  - name: token
    http: {{url: '{base}/token', headers: {{X-Token: !env GHOST_TEST_TOKEN}}, health_field: status}}
  - name: basic
    http:
      url: {base}/basic
      basic_auth: {{username: probe, password: !file password.txt}}
      body_not_regex: probe
  - name: failing
    http: {{url: '{base}/failing', headers: {{X-Api-Key: {INLINE_HEADER}}}}}
  - name: reflecting
    http:
      url: {base}/reflecting
      headers: {{Authorization: !env GHOST_TEST_TOKEN}}
      basic_auth: {{username: u, password: {INLINE_PASSWORD}}}
      health_field: status
  - name: feed
    websocket:
      url: {base.replace("http", "ws")}/feed
      headers: {{X-Token: !env GHOST_TEST_TOKEN}}
      timestamp_field: ts
      max_lag: 5s
daemons:
  - name: stress
    url: {base}
    headers: {{X-Daemon-Token: !file password.txt}}
    basic_auth: {{username: probe, password: {INLINE_PASSWORD}}}
"""
    )
    return path


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


@pytest.mark.parametrize("log_format", ["logfmt", "json"])
@pytest.mark.usefixtures("secret_env")
def test_no_secret_in_logs_pages_metrics_or_reload_errors(
    targets: str, tmp_path: Path, log_format: str
) -> None:
    config = _config(targets, tmp_path)
    web_yml = tmp_path / "web.yml"
    web_yml.write_text(f"basic_auth_users:\n  alice: {HASH}\n")
    seen: list[str] = []
    argv = [f"--log.format={log_format}", "--log.level=debug", f"--web.config.file={web_yml}"]
    with run_exporter(config, tmp_path, argv) as exporter:
        auth = {"Authorization": basic("alice", PASSWORD)}

        def scrape() -> str:
            return fetch(exporter.url + "/metrics", headers=auth).body

        wait_until(lambda: all(f'"{n}"' in scrape() for n in NAMES))
        wait_until(lambda: scrape().count("ghost_probes_total{") == len(NAMES) - 1)  # + a daemon
        seen.append(scrape())
        seen.append(fetch(exporter.url + "/", headers=auth).body)
        for name in NAMES:
            seen.append(fetch(exporter.url + f"/probe?target={name}", headers=auth).body)
        for wrong in (WRONG_WEB_PASSWORD, PASSWORD + "x"):
            answer = fetch(exporter.url + "/metrics", headers={"Authorization": basic("a", wrong)})
            assert answer.status == 401
            seen.append(answer.body + str(answer.headers))
        # A reload of a file that puts the secrets where they are not secret is refused, and
        # its errors do not show them.
        good = config.read_text()
        config.write_text(
            good.replace("defaults: {interval: 500ms", "defaults: {interval: !env GHOST_TEST_TOKEN")
            + "  - name: bad\n    url: !file password.txt\n"
        )
        answer = fetch(exporter.url + "/-/reload", headers=auth, method="POST")
        assert answer.status == 500
        assert "<secret>" in answer.body
        seen.append(answer.body)
        config.write_text(good)
        assert fetch(exporter.url + "/-/reload", headers=auth, method="POST").status == 200
        seen.append(scrape())
    log = exporter.log.read_text()
    assert "target is failing" in log
    assert "config reload refused" in log
    seen.append(log)
    assert _leaks("\n".join(seen)) == []


@pytest.mark.usefixtures("secret_env")
def test_no_secret_in_validate_or_check_output(targets: str, tmp_path: Path) -> None:
    config = _config(targets, tmp_path)
    env = {**os.environ, "GHOST_TEST_TOKEN": ENV_SECRET}
    check = subprocess.run(
        [cli("ghost-exporter"), "check", f"--config.file={config}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env=env,
    )
    assert check.returncode == 1, check.stdout + check.stderr
    assert "failing" in check.stdout
    assert _leaks(check.stdout + check.stderr) == []
    bad = tmp_path / "bad.yml"
    bad.write_text(
        config.read_text()
        .replace("timeout: 400ms", "timeout: !env GHOST_TEST_TOKEN")
        .replace("/token'", "/token', method: !file password.txt")
        + "  - name: stress2\n    url: !env GHOST_TEST_TOKEN\n"
        "  - name: stress3\n    url: http://x/\n    interval: !file password.txt\n"
    )
    validate = subprocess.run(
        [cli("ghost-exporter"), "validate", f"--config.file={bad}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env=env,
    )
    assert validate.returncode == 2
    assert validate.stderr.count("<secret>") >= 2, validate.stderr
    assert _leaks(validate.stdout + validate.stderr) == []
