"""The Sloth-compatible SLO rules under the real promtool: syntax, values, zero traffic, alerts.

The rules of the ghost SLOs (from alerts/config.yml, reading the committed recording rules) and of
the example spec alerts/tests/sloth/status-api.yml are written to a temp dir with the committed
prometheus/rules/ghost-recording.yml beside them; each test writes a promtool unit test file.
Expected values are computed here with the same float arithmetic Prometheus does (promtool 2.42
compares sample values exactly).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from ghost_rules.config import load_config
from ghost_rules.sloth import SLO, slos_from_spec, sloth_groups
from ghost_rules.sloth_config import ghost_slos

from .conftest import ALERTS_DIR, PROMETHEUS_DIR, expect_success, run_tool

RECORDING = PROMETHEUS_DIR / "rules" / "ghost-recording.yml"
EXAMPLE_SPEC = ALERTS_DIR / "tests" / "sloth" / "status-api.yml"
PERIOD_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d")
CONSTANT_SERIES = ("slo:objective:ratio", "slo:error_budget:ratio", "slo:time_period:days")
RATIO_SERIES = (
    "slo:current_burn_rate:ratio",
    "slo:period_burn_rate:ratio",
    "slo:period_error_budget_remaining:ratio",
)
ALERTS = ("StatusApiPatchEventsSLO", "StatusApiProbesSLO")


def _slos() -> list[SLO]:
    config = load_config(ALERTS_DIR / "config.yml")
    spec = yaml.safe_load(EXAMPLE_SPEC.read_text(encoding="utf-8"))
    return ghost_slos(config.profile("default")) + slos_from_spec(spec, "sloth_specs[0]")


def _write_rules(tmp_path: Path) -> Path:
    path = tmp_path / "sloth.yml"
    text = yaml.safe_dump({"groups": sloth_groups(_slos())}, sort_keys=False, width=4096)
    path.write_text(text, encoding="utf-8")
    return path


def _group_names(*files: Path) -> list[str]:
    return [
        group["name"]
        for path in files
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
    ]


def _run_unit_test(tmp_path: Path, test: dict[str, Any]) -> None:
    rules = _write_rules(tmp_path)
    document = {
        "rule_files": [str(RECORDING), str(rules)],
        # Rules every 5m over 1m samples: each 5m ratio still has five samples, and the long
        # tests stay short.
        "evaluation_interval": "5m",
        # the project's ratios first, then each SLO's ratios, metadata and alerts
        "group_eval_order": _group_names(RECORDING, rules),
        "tests": [test],
    }
    path = tmp_path / "sloth.test.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False, width=4096), encoding="utf-8")
    result = expect_success("promtool", "test", "rules", str(path))
    assert "SUCCESS" in result.stdout, result.report()


# Input series: one of each SLO's counters, per minute.
def _traffic(total_per_minute: int, errors_per_minute: int, minutes: int) -> list[dict[str, str]]:
    good = total_per_minute - errors_per_minute

    def counter(labels: str, per_minute: int) -> dict[str, str]:
        return {"series": labels, "values": f"0+{per_minute}x{minutes}"}

    return [
        counter('status_api_patch_requests_total{code="200"}', good),
        counter('status_api_patch_requests_total{code="500"}', errors_per_minute),
        counter('ghost_probes_total{service="status-api"}', total_per_minute),
        counter(
            'ghost_probe_failures_total{service="status-api",reason="timeout"}', errors_per_minute
        ),
        counter('ghost_patches_total{daemon="stress",outcome="completed"}', good),
        counter('ghost_patches_total{daemon="stress",outcome="failed"}', errors_per_minute),
        counter('ghost_pipeline_canaries_total{pipeline="patch-events",outcome="delivered"}', good),
        counter(
            'ghost_pipeline_canaries_total{pipeline="patch-events",outcome="late"}',
            errors_per_minute,
        ),
    ]


#: Each SLO: (sloth_service, sloth_slo, objective percent, labels of its SLI series, spec labels).
SLOS: tuple[tuple[str, str, float, dict[str, str], dict[str, str]], ...] = (
    ("ghost", "service-availability", 99.5, {"service": "status-api"}, {}),
    ("ghost", "patch-success", 99.0, {"daemon": "stress"}, {}),
    ("ghost", "pipeline-delivery", 99.0, {"pipeline": "patch-events"}, {}),
    ("status-api", "patch-events", 99.0, {}, {"team": "ghost", "tier": "core"}),
    ("status-api", "probes", 99.5, {"service": "status-api"}, {"team": "ghost"}),
)


def _labels(name: str, labels: dict[str, str]) -> str:
    return name + "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def _sample(name: str, labels: dict[str, str], value: float) -> dict[str, Any]:
    return {"labels": _labels(name, labels), "value": value}


#: Rates over windows longer than the input extrapolate, and 0.01 comes out as 0.01 or as
#: 0.009999999999999998 depending on the counters: the tests compare values rounded to 1e-9.
_NEAREST = 1e-9


def _rounded(value: float) -> float:
    """What PromQL's round(value, 1e-9) returns (Prometheus's formula, same float operations)."""
    inverse = 1.0 / _NEAREST
    return math.floor(value * inverse + 0.5) / inverse


def _expect(
    at: str, name: str, service: str, slo: str, labels: dict[str, str], value: float
) -> dict[str, Any]:
    """A promql_expr_test: the SLO's ``name`` series has ``labels`` and ``value`` at ``at``."""
    return {
        "expr": f"round({_filter(name, service, slo)}, {_NEAREST})",
        "eval_time": at,
        "exp_samples": [_sample("", labels, _rounded(value))],
    }


def _id(service: str, slo: str) -> dict[str, str]:
    return {"sloth_id": f"{service}-{slo}", "sloth_service": service, "sloth_slo": slo}


def _filter(name: str, service: str, slo: str) -> str:
    return _labels(name, _id(service, slo))


def test_generated_rules_pass_promtool_check(tmp_path: Path) -> None:
    rules = _write_rules(tmp_path)
    result = expect_success("promtool", "check", "rules", str(rules))
    # 5 SLOs x (8 ratios + 7 metadata) + page and ticket of patch-events + page of probes
    assert "SUCCESS: 78 rules found" in result.stdout, result.report()


def test_every_series_at_one_percent_errors(tmp_path: Path) -> None:
    """1% errors: every error ratio 0.01, burn rates 0.01 / (1 - objective), the period's
    remaining budget 1 - that, constants and sloth_slo_info with their labels; no alert."""
    tests: list[dict[str, Any]] = []
    at = "2h"
    for service, slo, objective, sli_labels, spec_labels in SLOS:
        ids = _id(service, slo)
        ratio = 0.01
        budget = 1 - objective / 100  # what vector(1-0.99) evaluates to
        for window in PERIOD_WINDOWS:
            name = f"slo:sli_error:ratio_rate{window}"
            labels = {**ids, **sli_labels, **spec_labels, "sloth_window": window}
            tests.append(_expect(at, name, service, slo, labels, ratio))
        meta = {**ids, **spec_labels}
        values = {
            "slo:objective:ratio": objective / 100,
            "slo:error_budget:ratio": budget,
            "slo:time_period:days": 30,
        }
        tests += [_expect(at, name, service, slo, meta, value) for name, value in values.items()]
        burn = ratio / budget
        # Like Sloth's, the burn rates keep the window label of the ratio they divide.
        for name, value, window in (
            ("slo:current_burn_rate:ratio", burn, "5m"),
            ("slo:period_burn_rate:ratio", burn, "30d"),
            ("slo:period_error_budget_remaining:ratio", 1 - burn, "30d"),
        ):
            labels = {**meta, **sli_labels, "sloth_window": window}
            tests.append(_expect(at, name, service, slo, labels, value))
        info = {
            **meta,
            "sloth_mode": "cli-gen-prom",
            "sloth_objective": f"{objective:g}",
            "sloth_spec": "prometheus/v1",
            "sloth_version": "ghost-exporter",
        }
        tests.append(
            {
                "expr": _filter("sloth_slo_info", service, slo),
                "eval_time": at,
                "exp_samples": [_sample("sloth_slo_info", info, 1)],
            }
        )
    _run_unit_test(
        tmp_path,
        {
            "interval": "1m",
            "input_series": _traffic(100, 1, 120),
            "promql_expr_test": tests,
            "alert_rule_test": [
                {"alertname": name, "eval_time": at, "exp_alerts": []} for name in ALERTS
            ],
        },
    )


def _no_nan(at: str, present: int) -> list[dict[str, Any]]:
    """``present`` slo:* series, every one finite: the count of finite ones equals the count of
    all of them (NaN compares false with everything)."""
    every = '{__name__=~"slo:.+"}'
    return [
        {"expr": f"count({every})", "eval_time": at, "exp_samples": [{"value": present}]},
        {
            "expr": f"count({every} > -Inf < +Inf)",
            "eval_time": at,
            "exp_samples": [{"value": present}],
        },
    ]


@pytest.mark.parametrize("idle", ["flat counters", "no series"])
def test_zero_traffic_has_no_ratio_no_nan_and_no_alert(tmp_path: Path, idle: str) -> None:
    """Counters that never move (or do not exist): no error ratio, no burn rate and no remaining
    budget (absent, not NaN), the constants and sloth_slo_info still there, no alert."""
    series = _traffic(0, 0, 240) if idle == "flat counters" else []
    tests: list[dict[str, Any]] = []
    for at in ("10m", "4h"):
        tests += _no_nan(at, len(SLOS) * len(CONSTANT_SERIES))
        for window in PERIOD_WINDOWS:
            name = f"slo:sli_error:ratio_rate{window}"
            tests.append({"expr": name, "eval_time": at, "exp_samples": []})
        tests += [{"expr": name, "eval_time": at, "exp_samples": []} for name in RATIO_SERIES]
        tests.append(
            {
                "expr": "count(sloth_slo_info)",
                "eval_time": at,
                "exp_samples": [{"value": len(SLOS)}],
            }
        )
    alerts = [
        {"alertname": name, "eval_time": at, "exp_alerts": []}
        for name in ALERTS
        for at in ("10m", "1h", "4h")
    ]
    test: dict[str, Any] = {"interval": "1m", "promql_expr_test": tests, "alert_rule_test": alerts}
    if series:
        test["input_series"] = series
    _run_unit_test(tmp_path, test)


def test_traffic_without_an_error_series_is_a_zero_ratio(tmp_path: Path) -> None:
    """Events but no error counter yet (it appears at the first error): every ratio is 0."""
    series = [item for item in _traffic(100, 0, 120) if "0+0x" not in item["values"]]
    assert len(series) == 4
    tests = []
    for service, slo, _, sli_labels, spec_labels in SLOS:
        ids = _id(service, slo)
        for window in PERIOD_WINDOWS:
            name = f"slo:sli_error:ratio_rate{window}"
            labels = {**ids, **sli_labels, **spec_labels, "sloth_window": window}
            tests.append(_expect("2h", name, service, slo, labels, 0))
        labels = {**ids, **sli_labels, **spec_labels, "sloth_window": "30d"}
        tests.append(
            _expect("2h", "slo:period_error_budget_remaining:ratio", service, slo, labels, 1)
        )
    _run_unit_test(
        tmp_path,
        {"interval": "1m", "input_series": series, "promql_expr_test": tests},
    )


def _burst_then_idle(burst_minutes: int, idle_minutes: int) -> list[dict[str, str]]:
    """Half of all events fail for ``burst_minutes``; then nothing happens."""
    series = []
    for item in _traffic(100, 50, burst_minutes):
        per_minute = int(item["values"].split("+")[1].split("x")[0])
        end = per_minute * burst_minutes
        series.append(
            {"series": item["series"], "values": f"{item['values']} {end}x{idle_minutes}"}
        )
    return series


def test_a_burst_then_idle_keeps_the_period_and_silences_the_alerts(tmp_path: Path) -> None:
    """A bursty pipeline: 1h at 50% errors, then 8h without a single event.

    During the burst the page alerts fire. Idle for longer than the longest short window (6h),
    the short windows have no ratio and no alert fires; the 1d and 3d ratios and the period's
    (the mean of the 5m ratios with traffic) keep the burst's 0.5 instead of turning NaN.
    """
    patch_events = _id("status-api", "patch-events")

    # An alert has the labels of the ratio that fired it (the quick pair's short window).
    def patch_events_alert(severity: str, tier: str, window: str) -> dict[str, Any]:
        labels = {
            **patch_events,
            "category": "availability",
            "severity": severity,
            "sloth_severity": tier,
            "sloth_window": window,
            "team": "ghost",
            "tier": "core",
        }
        annotations = {
            "runbook_url": (
                "https://github.com/ghost-exporter/ghost-exporter/blob/main/docs/sloth.md"
            ),
            "summary": "status-api patch-events SLO error budget burn rate is over expected.",
            "title": f"({tier}) status-api patch-events SLO error budget burn rate is too fast.",
        }
        return {"exp_labels": labels, "exp_annotations": annotations}

    probes_page = {
        **_id("status-api", "probes"),
        "service": "status-api",
        "severity": "critical",
        "sloth_severity": "page",
        "sloth_window": "5m",
        "team": "ghost",
    }
    probes_annotations = {
        "summary": "status-api probes SLO error budget burn rate is over expected.",
        "title": "(page) status-api probes SLO error budget burn rate is too fast.",
    }
    at = "9h"
    budget = 1 - 99 / 100
    # present: the constants, and for each SLO the 1d, 3d and 30d ratios and the period's burn
    # rate and remaining budget
    present = len(SLOS) * (len(CONSTANT_SERIES) + 3 + 2)
    tests: list[dict[str, Any]] = _no_nan(at, present)
    for window in ("5m", "30m", "1h", "2h", "6h"):
        name = f"slo:sli_error:ratio_rate{window}"
        tests.append({"expr": name, "eval_time": at, "exp_samples": []})
    for window in ("1d", "3d", "30d"):
        name = f"slo:sli_error:ratio_rate{window}"
        labels = {**patch_events, "team": "ghost", "tier": "core", "sloth_window": window}
        tests.append(_expect(at, name, "status-api", "patch-events", labels, 0.5))
    period = {**patch_events, "team": "ghost", "tier": "core", "sloth_window": "30d"}
    tests += [
        {"expr": "slo:current_burn_rate:ratio", "eval_time": at, "exp_samples": []},
        _expect(
            at, "slo:period_burn_rate:ratio", "status-api", "patch-events", period, 0.5 / budget
        ),
    ]
    alerts = [
        {
            "alertname": "StatusApiPatchEventsSLO",
            "eval_time": "30m",
            "exp_alerts": [
                patch_events_alert("critical", "page", "5m"),
                patch_events_alert("warning", "ticket", "2h"),
            ],
        },
        {
            "alertname": "StatusApiProbesSLO",
            "eval_time": "30m",
            "exp_alerts": [{"exp_labels": probes_page, "exp_annotations": probes_annotations}],
        },
        *(
            {"alertname": name, "eval_time": at, "exp_alerts": []}
            for name in ALERTS
            for at in ("7h10m", "9h")
        ),
    ]
    _run_unit_test(
        tmp_path,
        {
            "interval": "1m",
            "input_series": _burst_then_idle(60, 480),
            "promql_expr_test": tests,
            "alert_rule_test": alerts,
        },
    )


def test_a_wrong_expected_value_fails_the_unit_test(tmp_path: Path) -> None:
    """The unit tests above can fail: a burn rate off by one ulp is reported."""
    rules = _write_rules(tmp_path)
    document = {
        "rule_files": [str(RECORDING), str(rules)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": _traffic(100, 1, 60),
                "promql_expr_test": [
                    {
                        "expr": _filter("slo:current_burn_rate:ratio", "status-api", "probes"),
                        "eval_time": "1h",
                        "exp_samples": [
                            _sample(
                                "slo:current_burn_rate:ratio",
                                {
                                    **_id("status-api", "probes"),
                                    "service": "status-api",
                                    "team": "ghost",
                                    "sloth_window": "5m",
                                },
                                2.0,  # 0.01 / (1 - 0.995) is 1.9999999999999982 in floats
                            )
                        ],
                    }
                ],
            }
        ],
    }
    path = tmp_path / "wrong.test.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False, width=4096), encoding="utf-8")
    result = run_tool("promtool", "test", "rules", str(path))
    assert result.returncode == 1, result.report()
    assert 'expr: "slo:current_burn_rate:ratio{' in result.stdout + result.stderr, result.report()
