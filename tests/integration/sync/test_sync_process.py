"""ghost-exporter as a real subprocess with a reporter and a pipeline: /metrics through
promtool, /probe of both, the / page, the log, and ``check --sync-log``."""

from __future__ import annotations

import re
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.sync.fakeghost import FakeGhost
from tests.support import ThreadedServer, cli, require_tool, run_exporter, wait_until


@pytest.fixture
def fake() -> Iterator[tuple[FakeGhost, str]]:
    ghost = FakeGhost(
        health={"alpha": "healthy", "beta": "down"},
        claims={"alpha": "healthy", "beta": "healthy", "gamma": "healthy"},
    )
    with ThreadedServer(ghost.app()) as server:
        yield ghost, server.url


def _config(base: str) -> str:
    ws = base.replace("http://", "ws://")
    return f"""\
defaults: {{interval: 500ms, timeout: 400ms}}
services:
  - name: alpha
    http: {{url: '{base}/health/alpha', health_field: status}}
  - name: beta
    http: {{url: '{base}/health/beta', health_field: status}}
reporters:
  - name: status-api
    labels: {{team: ghost}}
    http: {{url: '{base}/api/services/status'}}
pipelines:
  - name: patch-events
    interval: 2s
    deadline: 500ms
    emit:
      http: {{url: '{base}/api/canary', body: '{{"id": "{{{{canary}}}}"}}'}}
    observe:
      - name: feed
        websocket: {{url: '{ws}/ws'}}
      - name: rest
        http: {{url: '{base}/api/patches', poll: 100ms}}
"""


def _value(text: str, pattern: str) -> str | None:
    match = re.search(rf"^{pattern} (\S+)$", text, re.M)
    return match.group(1) if match else None


def test_reporter_and_pipeline_series_scrape_probe_and_page(
    fake: tuple[FakeGhost, str], tmp_path: Path
) -> None:
    _, base = fake
    config = tmp_path / "ghost.yml"
    config.write_text(_config(base))
    in_sync = 'ghost_monitor_in_sync{{reporter="status-api",team="ghost",service="{}"}}'
    delivered = (
        'ghost_pipeline_canaries_total{{pipeline="patch-events",observer="{}",outcome="delivered"}}'
    )
    with run_exporter(config, tmp_path) as exporter:
        wait_until(
            lambda: (
                _value(exporter.get("/metrics")[1], re.escape(in_sync.format("beta"))) == "0.0"
                and _value(exporter.get("/metrics")[1], re.escape(delivered.format("feed")))
                not in (None, "0.0")
            ),
            timeout=30,
        )
        text = exporter.get("/metrics")[1]
        assert _value(text, re.escape(in_sync.format("alpha"))) == "1.0"
        assert 'ghost_reporter_up{reporter="status-api",team="ghost"} 1.0' in text
        assert (
            'ghost_reporter_unmatched_services{reporter="status-api",team="ghost",'
            'side="reporter"} 1.0' in text
        )
        assert 'ghost_pipeline_up{pipeline="patch-events"}' in text
        assert 'ghost_pipeline_delivery_seconds_bucket{pipeline="patch-events",observer="rest"' in (
            text
        )
        assert 'ghost_exporter_targets{kind="pipeline"} 1.0' in text
        promtool = require_tool("promtool")
        checked = subprocess.run(
            [promtool, "check", "metrics"], input=text.encode(), capture_output=True, check=False
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert checked.stdout.decode() + checked.stderr.decode() == ""

        status, probed = exporter.get("/probe?target=status-api")
        assert status == 200
        assert 'ghost_reporter_up{reporter="status-api",team="ghost"} 1.0' in probed
        assert in_sync.format("beta") + " 0.0" in probed
        assert "ghost_service_up" not in probed
        status, probed = exporter.get("/probe?target=patch-events")
        assert status == 200, probed
        assert 'ghost_pipeline_canaries_total{pipeline="patch-events",observer="feed"' in probed
        request = urllib.request.Request(
            exporter.url + "/probe?target=patch-events",
            headers={"X-Prometheus-Scrape-Timeout-Seconds": "1"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 400
        assert "more than the scrape timeout allows" in refused.value.read().decode()

        page = exporter.get("/")[1]
        assert "out of sync: beta" in page
        assert "not probed: gamma" in page
        assert "feed delivered" in page
    log = exporter.log.read_text()
    assert log.count("reporter lists services the exporter does not probe") == 1
    assert "services=gamma" in log
    assert log.count("monitor out of sync") == 1


def _check(config: Path, sync_log: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [cli("ghost-exporter"), "check", f"--config.file={config}", f"--sync-log={sync_log}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ SYNC (SUCCESS|FAILURE) services=2 reporters=1 "
    r"pipelines=1(.*)$"
)


def test_check_reports_sync_and_appends_the_sync_log(
    fake: tuple[FakeGhost, str], tmp_path: Path
) -> None:
    ghost, base = fake
    config = tmp_path / "ghost.yml"
    config.write_text(_config(base))
    sync_log = tmp_path / "logs" / "monitor-sync.log"
    sync_log.parent.mkdir()

    run = _check(config, sync_log)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "beta claims healthy, probe saw unhealthy" in run.stdout
    assert "not probed: gamma" in run.stdout
    assert re.search(r"feed: delivered \d+ ms", run.stdout)

    ghost.claims["beta"] = "down"  # in sync now, but beta is still down: exit 1
    assert _check(config, sync_log).returncode == 1
    ghost.health["beta"] = "healthy"
    ghost.claims["beta"] = "healthy"
    ok = _check(config, sync_log)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    ghost.drop = True
    lost = _check(config, sync_log)
    assert lost.returncode == 1
    assert "feed: lost" in lost.stdout
    ghost.drop = False
    ghost.emit_status = 500
    assert _check(config, sync_log).returncode == 1

    lines = sync_log.read_text().splitlines()
    parsed = [_LINE.match(line) for line in lines]
    assert all(parsed), lines
    assert [(m.group(1), m.group(2)) for m in parsed if m] == [
        ("FAILURE", " out_of_sync=status-api/beta"),
        ("SUCCESS", ""),
        ("SUCCESS", ""),
        ("FAILURE", " lost=patch-events/feed,patch-events/rest"),
        ("FAILURE", " emit_failed=patch-events"),
    ]
