"""Every panel query of every dashboard runs on a live Prometheus scraping the real stack."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from ghost_dashboards.queries import DEFAULT_VALUES, panel_queries, substitute
from tests.support import ROOT, require_tool

from .stack import (
    Exporter,
    StressDaemon,
    exporter_config,
    has_data,
    instant_query,
    start_demo,
    start_prometheus,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def prometheus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_tool("prometheus")
    tmp = tmp_path_factory.mktemp("live")
    with ExitStack() as stack:
        demo = start_demo(stack, tmp, "--telemetry-interval=200ms")
        stress = StressDaemon(stack, tmp)
        # Reporting to status-api carries the pipeline's canaries to its observers.
        report_to = f"--report-to=http://127.0.0.1:{demo['status-api']}/api/patches"
        stress.run("--rate=20/s", "--failure-rate=0.1", "--duration=10ms-100ms", report_to)
        config = exporter_config(
            tmp / "ghost.yml", demo, stress.port, {"interval": "1s", "timeout": "800ms"}
        )
        exporter = Exporter(stack, tmp, config)
        exporter.run()
        rules = sorted((ROOT / "prometheus" / "rules").glob("*.yml"))
        rules += sorted((ROOT / "alerts").glob("ghost*.yml"))
        base, proc = start_prometheus(stack, tmp, rules, exporter.address)
        deadline = time.monotonic() + 120
        needed = [
            "ghost:patch_success_ratio:rate5m",
            "ghost:probe_duration_seconds:p95_5m",
            "ghost:service_availability:ratio_1h",
            "rate(ghost_patches_total[10s])",
            "ghost_monitor_in_sync",
            'ghost_pipeline_canaries_total{outcome="delivered"} > 0',
            "ghost:pipeline_delivered_ratio:rate5m",
        ]
        while time.monotonic() < deadline:
            try:
                if all(has_data(base, expr) for expr in needed):
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
        data = instant_query(prometheus_url, expr)
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
