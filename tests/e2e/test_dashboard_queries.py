"""Every panel query of every dashboard runs on a live Prometheus scraping the real stack."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from ghost_dashboards.queries import DEFAULT_VALUES, panel_queries, substitute
from tests.support import (
    ROOT,
    cli,
    free_port,
    require_tool,
    run_exporter,
    run_process,
    stop_process,
)

pytestmark = pytest.mark.e2e


def _query(base: str, expr: str) -> dict[str, object]:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            data = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        data = json.loads(exc.read())
    assert isinstance(data, dict)
    return data


def _has_data(base: str, expr: str) -> bool:
    data = _query(base, expr)
    result = data.get("data")
    return isinstance(result, dict) and bool(result.get("result"))


@pytest.fixture(scope="module")
def prometheus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    prometheus = require_tool("prometheus")
    tmp = tmp_path_factory.mktemp("live")
    with ExitStack() as stack:
        demo_file = tmp / "demo.json"
        _, demo = stack.enter_context(
            run_process(
                [
                    cli("ghost-demo"),
                    "--base-port=0",
                    f"--port-file={demo_file}",
                    "--telemetry-interval=200ms",
                ],
                tmp,
                "demo",
                demo_file,
            )
        )
        ports = json.loads(demo)
        stress_file = tmp / "stress.port"
        _, stress_port = stack.enter_context(
            run_process(
                [
                    cli("ghost-stress"),
                    "daemon",
                    "--rate=20/s",
                    "--failure-rate=0.1",
                    "--duration=10ms-100ms",
                    "--listen=127.0.0.1:0",
                    f"--port-file={stress_file}",
                ],
                tmp,
                "stress",
                stress_file,
            )
        )
        config = tmp / "ghost.yml"
        config.write_text(
            (ROOT / "examples" / "ghost.yml")
            .read_text()
            .replace("interval: 5s", "interval: 1s")
            .replace("timeout: 3s", "timeout: 800ms")
            .replace(":8787/", f":{ports['dual-monitor']}/")
            .replace(":8788/", f":{ports['telemetry-api']}/")
            .replace(":8789/", f":{ports['status-api']}/")
            .replace(":8790", f":{stress_port}")
        )
        exporter = stack.enter_context(run_exporter(config, tmp))
        rules = sorted((ROOT / "prometheus" / "rules").glob("*.yml"))
        rules += sorted((ROOT / "alerts").glob("ghost*.yml"))
        exporter_address = exporter.url.removeprefix("http://")
        (tmp / "prometheus.yml").write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            f"rule_files: {json.dumps([str(r) for r in rules])}\n"
            "scrape_configs:\n"
            "  - job_name: ghost\n"
            f"    static_configs: [{{targets: ['{exporter_address}']}}]\n"
        )
        port = free_port()
        log = (tmp / "prometheus.log").open("wb")
        stack.callback(log.close)
        proc = subprocess.Popen(
            [
                prometheus,
                f"--config.file={tmp / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        stack.callback(stop_process, proc)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        needed = [
            "ghost:patch_success_ratio:rate5m",
            "ghost:probe_duration_seconds:p95_5m",
            "ghost:service_availability:ratio_1h",
            "rate(ghost_patches_total[10s])",
        ]
        while time.monotonic() < deadline:
            try:
                if all(_has_data(base, expr) for expr in needed):
                    break
            except OSError:
                pass
            assert proc.poll() is None, (tmp / "prometheus.log").read_text()[-2000:]
            time.sleep(1)
        else:
            raise AssertionError("Prometheus did not get the stack's series within 120 s")
        time.sleep(10)  # a few more scrapes, so that every rate window has two samples
        yield base


def test_every_panel_query_runs_and_has_data(prometheus_url: str) -> None:
    queries = panel_queries(ROOT / "grafana" / "dashboards")
    assert len(queries) > 30
    values = dict(DEFAULT_VALUES)
    values.update(
        {
            "job": "ghost",
            "service": "dual-monitor|telemetry-ws|status-api|telemetry-api",
            "daemon": "stress",
            "__interval": "2s",
            "__rate_interval": "10s",
            "__range": "5m",
        }
    )
    errors: list[str] = []
    empty: list[str] = []
    for query in queries:
        expr = substitute(query.expr, values)
        data = _query(prometheus_url, expr)
        where = f"{query.dashboard_uid} / {query.panel_title} / {query.ref_id}: {expr}"
        if data.get("status") != "success":
            errors.append(f"{where}: {data.get('error')}")
            continue
        result = data.get("data")
        assert isinstance(result, dict)
        if not result.get("result") and not query.may_be_empty:
            empty.append(where)
    assert errors == []
    assert empty == []
