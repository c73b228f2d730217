"""Every demo fault reaches the right webhook receiver as the right alert, through the real stack.

One stack for the module: ghost-demo, a ghost-stress daemon, ghost-exporter, two Prometheus
servers with the rules of the `fast` profile (alerts/generate.py --profile fast), one per way of
reading the exporter (tests/e2e/stack.py MODES: its /metrics, or /probe for every configured
name as prometheus/prometheus-probe.yml does; each server's alerts carry its mode as the label
``scrape_mode``), and Alertmanager with the routes and inhibitions of alerts/alertmanager.yml
(only its timings and webhook addresses changed), whose webhooks post to the demo status-api.
Each case injects one fault, waits for the firing notification of the expected alert at the
expected receiver from both servers, heals, and waits for both resolved notifications; the
timings are printed at the end of the run (tests/e2e/conftest.py). Both modes share each fault,
so the second mode costs a Prometheus process, not a second run of the cases.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import ROOT, require_tool

from .stack import (
    MODES,
    Exporter,
    StressDaemon,
    alertmanager_config,
    exporter_config,
    fast_rules,
    instant_query,
    request_json,
    routed_receivers,
    start_alertmanager,
    start_demo,
    start_prometheus,
)
from .timings import AlertTiming, AlertTimings

pytestmark = pytest.mark.e2e

CRITICAL = "ghost-critical"
WARNING = "ghost-warning"
#: Alertmanager timings for the test; routes, matchers and inhibitions stay those of the file.
AM_TIMINGS = {"group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"}
#: A healthy daemon: enough finished patches per 10 s window for the success-ratio alert. It
#: reports its events, and the pipeline's canaries, to the demo status-api (``--report-to`` is
#: added by ``AlertStack.run_stress``); a modest rate keeps that report queue short, so that a
#: canary's delivery time is status-api's doing. --control: the demo's `failing` fault of stress
#: (a patch-failure burst) goes through the daemon's /-/failure-rate.
STRESS_HEALTHY = ("--rate=5/s", "--duration=10ms-100ms", "--failure-rate=0", "--control")
#: The burst of the `failing` fault: half the patches, for longer than any case waits.
BURST = {"mode": "failing", "failure_rate": 0.5, "for": "5m"}
#: Probe timings: every target each second, except dual-monitor, whose slow answers (1.2 s,
#: ghost-demo --slow-delay) must finish within its timeout to count as slow rather than failed.
EXPORTER_DEFAULTS = {"interval": "1s", "timeout": "800ms"}
#: The reporter compares every second; the pipeline sends a canary every 11 s, the shortest
#: interval its 5 s deadline allows (an interval must exceed twice the deadline).
EXPORTER_OVERRIDES = {
    "dual-monitor": {"interval": "2s", "timeout": "2s"},
    "status-board": {"interval": "1s"},
    "patch-events": {"interval": "11s"},
}
SLOW_DELAY = "1.2s"
#: In /probe mode Prometheus's scrape is the probe, and its timeout caps the probe's: every 2 s
#: with a 2 s timeout, so that dual-monitor's slow answers still finish (see EXPORTER_OVERRIDES).
PROBE_INTERVAL = "2s"
#: Alerts that hold back other alerts of their service (alerts/alertmanager.yml).
INHIBITORS = ("GhostServiceDown", "GhostDaemonDown", "GhostPipelineCanaryLost")
#: Longest wait for each step of a case; the steps take about 10 s.
TIMEOUT = 60.0


@dataclass
class AlertStack:
    demo: dict[str, int]
    stress: StressDaemon
    exporter: Exporter
    prometheus: dict[str, str]  # mode -> base URL
    alertmanager: str
    alertmanager_config: Path
    services: tuple[str, ...]

    @property
    def alerts_url(self) -> str:
        return f"http://127.0.0.1:{self.demo['status-api']}/api/alerts"

    def fault(self, service: str, mode: str, **extra: object) -> None:
        url = f"http://127.0.0.1:{self.demo['control']}/-/fault/{service}"
        answer = request_json("POST", url, {"mode": mode, **extra})
        assert answer.get("mode") == mode, answer

    def heal(self, service: str) -> None:
        url = f"http://127.0.0.1:{self.demo['control']}/-/fault/{service}"
        answer = request_json("DELETE", url)
        assert answer.get("mode") == "healthy", answer

    def run_stress(self, args: tuple[str, ...]) -> None:
        self.stress.stop()
        self.stress.run(*args, *self.report_to())

    def report_to(self) -> tuple[str, ...]:
        return (f"--report-to=http://127.0.0.1:{self.demo['status-api']}/api/patches",)

    def start_exporter(self) -> None:
        if not self.exporter.running:
            self.exporter.run()

    def notifications(self) -> list[dict[str, Any]]:
        answer = request_json("GET", self.alerts_url)
        items = answer["notifications"]
        assert isinstance(items, list)
        return items

    def clear_notifications(self) -> None:
        request_json("DELETE", self.alerts_url)

    def prometheus_alerts(self, mode: str) -> list[dict[str, Any]]:
        answer = request_json("GET", f"{self.prometheus[mode]}/api/v1/alerts")
        alerts = answer["data"]["alerts"]
        assert isinstance(alerts, list)
        return alerts

    def alertmanager_alerts(self, alertname: str, service: str) -> list[dict[str, Any]]:
        filters = [("filter", f'alertname="{alertname}"'), ("filter", f'service="{service}"')]
        url = f"{self.alertmanager}/api/v2/alerts?" + urllib.parse.urlencode(filters)
        alerts = request_json("GET", url)
        assert isinstance(alerts, list)
        return alerts

    def count(self, mode: str, expr: str) -> int:
        result = instant_query(self.prometheus[mode], f"count({expr})").get("data")
        assert isinstance(result, dict)
        samples = result["result"]
        return int(samples[0]["value"][1]) if samples else 0


@pytest.fixture(scope="module")
def alert_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AlertStack]:
    for tool in ("prometheus", "prometheus-alertmanager", "amtool"):
        require_tool(tool)
    tmp = tmp_path_factory.mktemp("alerts")
    with ExitStack() as stack:
        stress = StressDaemon(stack, tmp)
        demo = start_demo(
            stack,
            tmp,
            "--telemetry-interval=200ms",
            f"--slow-delay={SLOW_DELAY}",
            f"--stress-url=http://127.0.0.1:{stress.port}",
        )
        stress.run(
            *STRESS_HEALTHY, f"--report-to=http://127.0.0.1:{demo['status-api']}/api/patches"
        )
        config = exporter_config(
            tmp / "ghost.yml", demo, stress.port, EXPORTER_DEFAULTS, EXPORTER_OVERRIDES
        )
        exporter = Exporter(stack, tmp, config)
        exporter.run()
        alertmanager, alertmanager_file = start_alertmanager(
            stack,
            tmp,
            alertmanager_config(
                ROOT / "alerts" / "alertmanager.yml", demo["status-api"], AM_TIMINGS
            ),
        )
        rules = fast_rules(tmp / "rules")
        prometheus = {
            mode: start_prometheus(
                stack,
                tmp,
                rules,
                exporter.address,
                alertmanager.removeprefix("http://"),
                mode=mode,
                probe_interval=PROBE_INTERVAL,
            )[0]
            for mode in MODES
        }
        services = ("dual-monitor", "telemetry-api", "telemetry-ws", "status-api")
        yield AlertStack(
            demo, stress, exporter, prometheus, alertmanager, alertmanager_file, services
        )


@dataclass(frozen=True)
class Case:
    name: str
    alertname: str
    service: str
    receiver: str
    inject: Callable[[AlertStack], None]
    heal: Callable[[AlertStack], None]
    #: PromQL that must each have a result before the fault: what the case's alert needs.
    ready: tuple[str, ...] = ()


#: Before a monitor-sync case: the reporter is read and agrees about every service.
REPORTER_READY = ("ghost_reporter_up == 1", "absent(ghost_monitor_in_sync == 0)")
#: Before a pipeline case: the last canary reached every observer within the deadline.
PIPELINE_READY = ("ghost_pipeline_up == 1",)


def _frozen(stack: AlertStack) -> None:
    """status-api's board freezes, then dual-monitor goes down underneath it."""
    stack.fault("status-api", "frozen")
    stack.fault("dual-monitor", "down")


def _thawed(stack: AlertStack) -> None:
    stack.heal("dual-monitor")
    stack.heal("status-api")


CASES = [
    Case(
        "down",
        "GhostServiceDown",
        "dual-monitor",
        CRITICAL,
        lambda s: s.fault("dual-monitor", "down"),
        lambda s: s.heal("dual-monitor"),
    ),
    Case(
        "degraded",
        "GhostServiceDegraded",
        "dual-monitor",
        WARNING,
        lambda s: s.fault("dual-monitor", "degraded"),
        lambda s: s.heal("dual-monitor"),
    ),
    # 503 with "unhealthy": the probe fails too, but GhostServiceDown leaves a service that
    # reports itself unhealthy to GhostServiceUnhealthy, which pages alone.
    Case(
        "unhealthy",
        "GhostServiceUnhealthy",
        "telemetry-api",
        CRITICAL,
        lambda s: s.fault("telemetry-api", "unhealthy"),
        lambda s: s.heal("telemetry-api"),
    ),
    Case(
        "slow",
        "GhostProbeLatencyHigh",
        "dual-monitor",
        WARNING,
        lambda s: s.fault("dual-monitor", "slow"),
        lambda s: s.heal("dual-monitor"),
    ),
    # Old timestamps on the telemetry-api's feed, which the exporter probes as telemetry-ws.
    Case(
        "stale telemetry",
        "GhostWebSocketStale",
        "telemetry-ws",
        WARNING,
        lambda s: s.fault("telemetry-api", "stale"),
        lambda s: s.heal("telemetry-api"),
    ),
    # status-api goes on claiming dual-monitor healthy while the exporter sees it down. The
    # service's own GhostServiceDown pages alongside.
    Case(
        "frozen",
        "GhostMonitorOutOfSync",
        "dual-monitor",
        CRITICAL,
        _frozen,
        _thawed,
        REPORTER_READY,
    ),
    # status-api publishes events 8 s late (its default lag): past the 5 s deadline but within
    # twice it, every canary is late, none lost, and the fast burn of the pipeline's delivery
    # objective pages.
    Case(
        "lagging",
        "GhostPipelineErrorBudgetBurn",
        "patch-events",
        CRITICAL,
        lambda s: s.fault("status-api", "lagging"),
        lambda s: s.heal("status-api"),
        PIPELINE_READY,
    ),
    # status-api accepts events and never publishes them: every canary is lost.
    Case(
        "dropping",
        "GhostPipelineCanaryLost",
        "patch-events",
        CRITICAL,
        lambda s: s.fault("status-api", "dropping"),
        lambda s: s.heal("status-api"),
        PIPELINE_READY,
    ),
    # The demo's patch-failure burst: the daemon fails half its patches until healed.
    Case(
        "failing patches",
        "GhostPatchSuccessRateLow",
        "stress",
        CRITICAL,
        lambda s: s.fault("stress", "failing", **{k: v for k, v in BURST.items() if k != "mode"}),
        lambda s: s.heal("stress"),
    ),
    Case(
        "daemon stopped",
        "GhostDaemonDown",
        "stress",
        CRITICAL,
        lambda s: s.stress.stop(),
        lambda s: s.run_stress(STRESS_HEALTHY),
    ),
    Case(
        "exporter stopped",
        "GhostExporterDown",
        "ghost-exporter",
        CRITICAL,
        lambda s: s.exporter.stop(),
        lambda s: s.start_exporter(),
    ),
]


def _wait(
    what: str,
    check: Callable[[], Any],
    context: Callable[[], object] = lambda: None,
    timeout: float = TIMEOUT,
) -> Any:
    """Poll ``check()`` until it returns something truthy, which is returned.

    On timeout the message names ``what`` and shows ``context()``, taken then.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout:.0f}s ({context()!r})")


def _matches(alert: dict[str, Any], case: Case, mode: str | None = None) -> bool:
    """The case's alert: its name and service, in the tier of the case's receiver (a burn
    alert's warning tier is another alert, routed to the other receiver); from the Prometheus
    of ``mode`` when given."""
    labels: dict[str, str] = alert.get("labels", {})
    return (
        labels.get("alertname") == case.alertname
        and labels.get("service") == case.service
        and labels.get("severity") == case.receiver.removeprefix("ghost-")
        and (mode is None or labels.get("scrape_mode", mode) == mode)
    )


def _clean(stack: AlertStack, case: Case) -> list[str]:
    """What keeps the stack from being ready for ``case``; empty when it is ready."""
    problems = []
    every = len(stack.services)
    for mode in MODES:
        if stack.count(mode, "ghost_service_up == 1") != every:
            problems.append(f"{mode}: a service is not up")
        if stack.count(mode, 'ghost_service_health{state="healthy"} == 1') != every:
            problems.append(f"{mode}: a service is not healthy")
        if stack.count(mode, "ghost_daemon_up == 1") != 1:
            problems.append(f"{mode}: the daemon is not up")
        if stack.count(mode, 'up{job="ghost"} == 1') != 1:
            problems.append(f"{mode}: the exporter is not scraped")
        for alert in stack.prometheus_alerts(mode):
            if _matches(alert, case) or alert["labels"]["alertname"] in INHIBITORS:
                problems.append(
                    f"{mode}: {alert['labels']['alertname']} {alert['state']} in Prometheus"
                )
    if stack.alertmanager_alerts(case.alertname, case.service):
        problems.append("the alert is still active in Alertmanager")
    for mode in MODES:
        for expr in case.ready:
            if not stack.count(mode, expr):
                problems.append(f"{mode}: no result for {expr}")
    return problems


def _delivered(
    stack: AlertStack,
    case: Case,
    status: str,
    since: float,
    mode: str,
    fingerprint: str | None = None,
) -> dict[str, Any] | None:
    """The first notification to the case's receiver since ``since`` with the alert of the
    Prometheus of ``mode`` in ``status``.

    Only notifications posted for ``case.receiver`` count: another route may get the alert too
    (ghost-remediate, with `continue`), which the caller checks apart. With ``fingerprint``, only
    that alert counts (a group may hold several, such as one lost-canary alert per observer).
    """
    for item in stack.notifications():
        if item["received_at"] < since or item["path_receiver"] != case.receiver:
            continue
        for alert in item["payload"]["alerts"]:
            if fingerprint is not None and alert["fingerprint"] != fingerprint:
                continue
            if _matches(alert, case, mode) and alert["status"] == status:
                return {"received_at": item["received_at"], "item": item, "alert": alert}
    return None


def _delivered_all(
    stack: AlertStack,
    case: Case,
    status: str,
    since: float,
    fingerprints: dict[str, str] | None = None,
) -> dict[str, dict[str, Any]] | None:
    """``_delivered`` for every mode, once each mode's notification is there (with
    ``fingerprints``, of that mode's alert only)."""
    found = {
        mode: _delivered(stack, case, status, since, mode, (fingerprints or {}).get(mode))
        for mode in MODES
    }
    done = {mode: delivery for mode, delivery in found.items() if delivery is not None}
    return done if len(done) == len(MODES) else None


def _seen(stack: AlertStack, case: Case) -> list[tuple[str, str, str]]:
    """Every notification of the case's alert so far: (receiver, mode, status)."""
    return [
        (item["path_receiver"], alert["labels"].get("scrape_mode", "?"), alert["status"])
        for item in stack.notifications()
        for alert in item["payload"]["alerts"]
        if _matches(alert, case)
    ]


def _timestamp(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_fault_notifies_the_receiver_and_resolves(
    case: Case, alert_stack: AlertStack, alert_timings: AlertTimings
) -> None:
    stack = alert_stack
    _wait(
        f"a clean stack before {case.name!r}",
        lambda: not _clean(stack, case),
        lambda: _clean(stack, case),
    )
    stack.clear_notifications()

    try:
        case.inject(stack)
        faulted = time.time()
        firing_by_mode = _wait(
            f"{case.alertname} for {case.service} firing at the webhook in every mode",
            lambda: _delivered_all(stack, case, "firing", faulted),
            lambda: _seen(stack, case),
        )
    finally:
        case.heal(stack)
    healed = time.time()
    fingerprints = {mode: firing_by_mode[mode]["alert"]["fingerprint"] for mode in MODES}
    resolved_by_mode = _wait(
        f"{case.alertname} for {case.service} resolved at the webhook in every mode",
        lambda: _delivered_all(stack, case, "resolved", healed, fingerprints),
        lambda: _seen(stack, case),
    )

    severity = case.receiver.removeprefix("ghost-")
    for mode in MODES:
        firing, resolved = firing_by_mode[mode], resolved_by_mode[mode]
        for delivery in (firing, resolved):
            item, alert = delivery["item"], delivery["alert"]
            assert item["path_receiver"] == case.receiver
            assert item["payload"]["receiver"] == case.receiver
            assert item["payload"]["groupLabels"] == {
                "alertname": case.alertname,
                "service": case.service,
            }
            assert alert["labels"]["severity"] == severity
            assert alert["labels"]["scrape_mode"] == mode
            assert alert["annotations"]["runbook_url"].endswith("#" + case.alertname.lower())
        assert firing["alert"]["status"] == "firing"
        assert resolved["alert"]["status"] == "resolved"
        assert resolved["alert"]["fingerprint"] == firing["alert"]["fingerprint"]
        # Every receiver the routing tree picks got the alert (ghost-remediate too, for the
        # faults it may remedy), and no other: a critical alert never reaches ghost-warning.
        routed = routed_receivers(stack.alertmanager_config, firing["alert"]["labels"])
        assert case.receiver in routed
        assert ({CRITICAL, WARNING} - {case.receiver}).isdisjoint(routed)
        reached = {
            item["path_receiver"]
            for item in stack.notifications()
            if any(_matches(alert, case, mode) for alert in item["payload"]["alerts"])
        }
        assert reached == routed, mode

        alert_timings.add(
            AlertTiming(
                case=f"{case.name} ({mode})",
                alertname=case.alertname,
                service=case.service,
                receivers=[case.receiver, *sorted(routed - {case.receiver})],
                fired=_timestamp(firing["alert"]["startsAt"]) - faulted,
                notified=firing["received_at"] - faulted,
                resolved=resolved["received_at"] - healed,
            )
        )


def _without_timings(route: dict[str, Any]) -> dict[str, Any]:
    kept = {key: value for key, value in route.items() if key not in AM_TIMINGS}
    if "routes" in route:
        kept["routes"] = [_without_timings(child) for child in route["routes"]]
    return kept


def _routes(route: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield route
    for child in route.get("routes", []):
        yield from _routes(child)


def test_alertmanager_config_changes_only_timings_and_webhook_addresses() -> None:
    source = ROOT / "alerts" / "alertmanager.yml"
    original = yaml.safe_load(source.read_text(encoding="utf-8"))
    config = alertmanager_config(source, 4321, AM_TIMINGS)

    assert config["inhibit_rules"] == original["inhibit_rules"]
    assert _without_timings(config["route"]) == _without_timings(original["route"])
    assert {key: config["route"][key] for key in AM_TIMINGS} == AM_TIMINGS
    for route, before in zip(_routes(config["route"]), _routes(original["route"]), strict=True):
        assert {key: route[key] for key in AM_TIMINGS if key in before} == {
            key: value for key, value in AM_TIMINGS.items() if key in before
        }
    assert [r["name"] for r in config["receivers"]] == [r["name"] for r in original["receivers"]]
    for receiver in config["receivers"]:
        for webhook in receiver["webhook_configs"]:
            assert webhook["url"] == f"http://127.0.0.1:4321/api/alerts/{receiver['name']}"
            for key, path in webhook.get("http_config", {}).get("authorization", {}).items():
                if key.endswith("_file"):
                    assert Path(path).is_absolute()
                    assert Path(path).exists()
    names = {r["name"] for r in config["receivers"]}
    assert {CRITICAL, WARNING} <= names
