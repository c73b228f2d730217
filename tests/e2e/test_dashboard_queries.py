"""Every panel query of every dashboard runs on a live Prometheus scraping the real stack.

One stack (ghost-demo, a stress daemon, the exporter) read by two Prometheus servers at once,
one per way of reading the exporter (tests/e2e/stack.py MODES): its /metrics, and /probe for
every configured name as prometheus/prometheus-probe.yml does. The dashboards' variables are
resolved as Grafana resolves them (their ``label_values`` queries, on that Prometheus), so a
variable that finds nothing in one mode empties the panels and fails the test.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import ExitStack

import pytest

from ghost_dashboards.queries import DEFAULT_VALUES, panel_queries, substitute, variable_queries
from tests.support import ROOT, require_tool

from .stack import (
    MODES,
    Exporter,
    StressDaemon,
    exporter_config,
    has_data,
    instant_query,
    request_json,
    start_demo,
    start_prometheus,
)

pytestmark = pytest.mark.e2e

DASHBOARDS = ROOT / "grafana" / "dashboards"
#: Every service and daemon of examples/ghost.yml: what the variables must find in each mode.
SERVICES = {"dual-monitor", "telemetry-api", "telemetry-ws", "status-api"}
DAEMONS = {"stress"}


@pytest.fixture(scope="module")
def prometheus_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One Prometheus per mode, all on the same stack, once each has the series it needs."""
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
        started = {
            mode: start_prometheus(stack, tmp, rules, exporter.address, mode=mode) for mode in MODES
        }
        needed = [
            "ghost:patch_success_ratio:rate5m",
            "ghost:probe_duration_seconds:p95_5m",
            "ghost:service_availability:ratio_1h",
            "rate(ghost_patches_total[10s])",
            "rate(ghost_probes_total[10s]) > 0",
            "process_resident_memory_bytes",
            "ghost_monitor_in_sync",
            'ghost_pipeline_canaries_total{outcome="delivered"} > 0',
            "ghost:pipeline_delivered_ratio:rate5m",
        ]
        waiting = set(MODES)
        deadline = time.monotonic() + 120
        while waiting and time.monotonic() < deadline:
            for mode in sorted(waiting):
                base, proc = started[mode]
                assert proc.poll() is None, (tmp / f"prometheus-{mode}.log").read_text()[-2000:]
                try:
                    if all(has_data(base, expr) for expr in needed):
                        waiting.discard(mode)
                except OSError:
                    pass
            time.sleep(1)
        assert not waiting, f"Prometheus ({', '.join(sorted(waiting))}) lacks series after 120 s"
        time.sleep(10)  # a few more scrapes, so that every rate window has two samples
        yield {mode: base for mode, (base, _) in started.items()}


def _label_values(base: str, selector: str, label: str) -> set[str]:
    """What Grafana's ``label_values(selector, label)`` lists on this Prometheus."""
    query = urllib.parse.urlencode({"match[]": selector})
    answer = request_json("GET", f"{base}/api/v1/label/{label}/values?{query}")
    assert answer.get("status") == "success", answer
    return set(answer["data"])


def _variable_values(base: str) -> dict[str, dict[str, set[str]]]:
    """Each dashboard's variables, resolved in order on ``base`` with "All" selected."""
    resolved: dict[str, dict[str, set[str]]] = {}
    for variable in variable_queries(DASHBOARDS):
        values = resolved.setdefault(variable.dashboard_uid, {})
        selector = substitute(variable.selector, _regex(values))
        values[variable.name] = _label_values(base, selector, variable.label)
    return resolved


def _regex(values: Mapping[str, set[str]]) -> dict[str, str]:
    return {name: "|".join(sorted(found)) for name, found in values.items()}


@pytest.mark.parametrize("mode", MODES)
def test_dashboard_variables_find_every_job_service_and_daemon(
    prometheus_urls: dict[str, str], mode: str
) -> None:
    base = prometheus_urls[mode]
    jobs = _label_values(base, "up", "job")
    for uid, values in _variable_values(base).items():
        assert values["job"] == jobs, uid
        if "service" in values:
            assert values["service"] == SERVICES, uid
        if "daemon" in values:
            assert values["daemon"] == DAEMONS, uid


@pytest.mark.parametrize("mode", MODES)
def test_every_panel_query_runs_and_has_data(prometheus_urls: dict[str, str], mode: str) -> None:
    base = prometheus_urls[mode]
    queries = panel_queries(DASHBOARDS)
    assert len(queries) > 30
    variables = _variable_values(base)
    errors: list[str] = []
    empty: list[str] = []
    for query in queries:
        values = dict(DEFAULT_VALUES)
        values.update(_regex(variables[query.dashboard_uid]))
        values.update({"__interval": "2s", "__rate_interval": "10s", "__range": "5m"})
        expr = substitute(query.expr, values)
        data = instant_query(base, expr)
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
