"""Sloth-compatible SLO rules: the spec model's errors, Sloth's names, labels and expressions,
and the SLOs of the rules config. promtool runs them in tests/integration/rules."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from ghost_common.loader import load_text
from ghost_rules import ConfigError, Profile, build, load_config
from ghost_rules.config import parse_document
from ghost_rules.sloth import (
    SLO,
    EventsSli,
    RawSli,
    SloAlert,
    go_float,
    prom_duration,
    render_window,
    slos_from_spec,
    sloth_groups,
)
from ghost_rules.sloth_config import config_slos, ghost_slos
from ghost_rules.sloth_spec import SlothSpecError

from .conftest import ALERTS_DIR, RECORDING_FILE, SLOTH_FILE, load_yaml, rules_of

EXAMPLE_SPEC = ALERTS_DIR / "tests" / "sloth" / "status-api.yml"
SLI_RECORDS = [
    f"slo:sli_error:ratio_rate{window}"
    for window in ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d")
]
META_RECORDS = [
    "slo:objective:ratio",
    "slo:error_budget:ratio",
    "slo:time_period:days",
    "slo:current_burn_rate:ratio",
    "slo:period_burn_rate:ratio",
    "slo:period_error_budget_remaining:ratio",
    "sloth_slo_info",
]


def _spec() -> dict[str, Any]:
    data = load_yaml(EXAMPLE_SPEC)
    assert isinstance(data, dict)
    return data


def _config() -> dict[str, Any]:
    data = load_yaml(ALERTS_DIR / "config.yml")
    assert isinstance(data, dict)
    return data


def _profile(config: dict[str, Any], name: str = "default") -> Profile:
    """The checked profile of a rules config given as data."""
    return parse_document(load_text(yaml.safe_dump(config), "config.yml")).profile(name)


def _one(groups: list[dict[str, Any]], name: str) -> dict[str, Any]:
    [group] = [g for g in groups if g["name"] == name]
    return group


# --------------------------------------------------------------------------------------------
# The spec


def test_the_example_spec_gives_its_slos() -> None:
    events, raw = slos_from_spec(_spec(), "sloth_specs[0]")
    assert events.id == "status-api-patch-events"
    assert (events.service, events.name, events.objective) == ("status-api", "patch-events", 99)
    assert events.labels == {"team": "ghost", "tier": "core"}
    assert events.sli == EventsSli(
        'sum(rate(status_api_patch_requests_total{code=~"5.."}[{{.window}}]))',
        "sum(rate(status_api_patch_requests_total[{{.window}}]))",
    )
    assert events.period_days == 30
    assert events.page_alert is not None
    assert events.ticket_alert is not None
    assert events.page_alert.name == events.ticket_alert.name == "StatusApiPatchEventsSLO"
    # alerting's labels and annotations, under the page's or ticket's own
    assert events.page_alert.labels == {"category": "availability", "severity": "critical"}
    assert events.ticket_alert.labels == {"category": "availability", "severity": "warning"}
    assert set(events.page_alert.annotations) == {"runbook_url"}
    assert raw.labels == {"team": "ghost"}
    assert raw.sli == RawSli('ghost:service_error_ratio:rate{{.window}}{service="status-api"}')
    assert raw.page_alert is not None
    assert raw.ticket_alert is None  # ticket_alert: {disable: true}


def test_an_slo_without_alerting_has_no_alert_group() -> None:
    spec = _spec()
    for slo in spec["slos"]:
        del slo["alerting"]
    slos = slos_from_spec(spec)
    assert all(slo.page_alert is None and slo.ticket_alert is None for slo in slos)
    names = [group["name"] for group in sloth_groups(slos)]
    assert not [name for name in names if name.startswith("sloth-alerts-")]


def test_sloths_own_spelling_of_the_raw_query_is_accepted() -> None:
    spec = _spec()
    raw = spec["slos"][1]["sli"]["raw"]
    raw["errorRatioQuery"] = raw.pop("error_ratio_query")
    assert slos_from_spec(spec)[1].sli == RawSli(
        'ghost:service_error_ratio:rate{{.window}}{service="status-api"}'
    )


def _broken(change: str) -> dict[str, Any]:
    """The example spec with one mistake."""
    spec = _spec()
    slo = spec["slos"][0]
    if change == "version":
        spec["version"] = "prometheus/v2"
    elif change == "no slos":
        spec["slos"] = []
    elif change == "typo":
        slo["objectve"] = slo.pop("objective")
    elif change == "objective 100":
        slo["objective"] = 100
    elif change == "objective as text":
        slo["objective"] = "99.9"
    elif change == "both slis":
        slo["sli"]["raw"] = {"error_ratio_query": "x"}
    elif change == "no sli":
        slo["sli"] = {}
    elif change == "plugin":
        slo["sli"] = {"plugin": {"id": "sloth-common/coredns/availability"}}
    elif change == "template":
        slo["sli"]["events"]["total_query"] = "sum(rate(x[{{.Window}}]))"
    elif change == "empty query":
        slo["sli"]["events"]["error_query"] = "  "
    elif change == "reserved label":
        spec["labels"]["sloth_id"] = "mine"
    elif change == "bad label":
        slo["labels"]["tier-name"] = "core"
    elif change == "number label":
        slo["labels"]["tier"] = 2
    elif change == "no alert name":
        del slo["alerting"]["name"]
    elif change == "duplicate":
        spec["slos"][1]["name"] = slo["name"]
    return spec


@pytest.mark.parametrize(
    ("change", "problems"),
    [
        ("version", [("x.version", "Input should be 'prometheus/v1'")]),
        ("no slos", [("x.slos", "List should have at least 1 item after validation, not 0")]),
        ("typo", [("x.slos[0].objective", "required"), ("x.slos[0].objectve", "unknown key")]),
        (
            "objective 100",
            [("x.slos[0].objective", "100.0: a percentage above 0 and below 100 (99.9 is 99.9%)")],
        ),
        ("objective as text", [("x.slos[0].objective", "Input should be a valid number")]),
        ("both slis", [("x.slos[0].sli", "exactly one of events and raw")]),
        ("no sli", [("x.slos[0].sli", "exactly one of events and raw")]),
        (
            "plugin",
            [("x.slos[0].sli", "SLI plugins are not supported: write the plugin's query as raw")],
        ),
        (
            "template",
            [
                (
                    "x.slos[0].sli.events.total_query",
                    "{{.Window}}: the only template variable is {{.window}}",
                )
            ],
        ),
        ("empty query", [("x.slos[0].sli.events.error_query", "empty query")]),
        (
            "reserved label",
            [("x.labels", "label 'sloth_id': names starting with sloth_ are set by the rules")],
        ),
        (
            "bad label",
            [("x.slos[0].labels", "label name 'tier-name' is not a Prometheus label name")],
        ),
        ("number label", [("x.slos[0].labels.tier", "Input should be a valid string")]),
        (
            "no alert name",
            [
                (
                    "x.slos[0].alerting",
                    "name is required while page_alert or ticket_alert is enabled",
                )
            ],
        ),
        ("duplicate", [("x", "two SLOs named 'patch-events'")]),
    ],
)
def test_a_bad_spec_names_the_key(change: str, problems: list[tuple[str, str]]) -> None:
    with pytest.raises(SlothSpecError) as excinfo:
        slos_from_spec(_broken(change), "x")
    assert excinfo.value.problems == problems
    assert str(excinfo.value) == "\n".join(f"{path}: {message}" for path, message in problems)


def test_a_spec_that_is_not_a_mapping() -> None:
    with pytest.raises(SlothSpecError, match=r"^sloth_specs\[2\]: expected a Sloth"):
        slos_from_spec(["version: prometheus/v1"], "sloth_specs[2]")


def test_an_slo_outside_sloths_catalog_is_refused() -> None:
    sli = EventsSli("a[{{.window}}]", "b[{{.window}}]")
    with pytest.raises(ValueError, match=r"^SLO s-n: objective 100 is not in \(0, 100\)$"):
        SLO("s", "n", 100, sli)
    with pytest.raises(ValueError, match=r"a 7-day period is not in Sloth's catalog \(28d, 30d\)"):
        SLO("s", "n", 99, sli, period_days=7)


# --------------------------------------------------------------------------------------------
# The rules: Sloth's names, labels and expressions


def test_each_slo_has_sloths_groups_and_series() -> None:
    groups = sloth_groups(slos_from_spec(_spec()))
    assert [group["name"] for group in groups] == [
        "sloth-sli-status-api-patch-events",
        "sloth-meta-status-api-patch-events",
        "sloth-alerts-status-api-patch-events",
        "sloth-sli-status-api-probes",
        "sloth-meta-status-api-probes",
        "sloth-alerts-status-api-probes",
    ]
    sli = _one(groups, "sloth-sli-status-api-patch-events")["rules"]
    meta = _one(groups, "sloth-meta-status-api-patch-events")["rules"]
    assert [rule["record"] for rule in sli] == SLI_RECORDS
    assert [rule["record"] for rule in meta] == META_RECORDS
    ids = {
        "sloth_id": "status-api-patch-events",
        "sloth_service": "status-api",
        "sloth_slo": "patch-events",
    }
    for rule in sli[:-1]:
        window = rule["record"].removeprefix("slo:sli_error:ratio_rate")
        assert rule["labels"] == {**ids, "sloth_window": window, "team": "ghost", "tier": "core"}
    # the period's ratio keeps the labels of the 5m series it is computed from
    assert sli[-1]["labels"] == {**ids, "sloth_window": "30d"}
    for rule in meta[:-1]:
        assert rule["labels"] == {**ids, "team": "ghost", "tier": "core"}
    assert meta[-1]["labels"] == {
        **ids,
        "sloth_mode": "cli-gen-prom",
        "sloth_objective": "99",
        "sloth_spec": "prometheus/v1",
        "sloth_version": "ghost-exporter",
        "team": "ghost",
        "tier": "core",
    }


def _availability(objective: float, period_days: int = 30) -> SLO:
    return SLO(
        service="myservice",
        name="requests-availability",
        objective=objective,
        sli=EventsSli(
            'sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))',
            "sum(rate(http_requests_total[{{ .window }}]))",
        ),
        period_days=period_days,
        page_alert=_alert(),
        ticket_alert=_alert(),
    )


def _alert() -> SloAlert:
    return SloAlert("MyServiceHighErrorRate", {"severity": "critical"})


FILTER = (
    '{sloth_id="myservice-requests-availability", sloth_service="myservice", '
    'sloth_slo="requests-availability"}'
)


def test_the_metadata_is_sloths_text() -> None:
    """Objective 99.9: Sloth writes objective/100 and 1-objective/100 as Go prints the floats."""
    groups = sloth_groups([_availability(99.9)])
    meta = {rule["record"]: rule["expr"] for rule in groups[1]["rules"]}
    assert meta["slo:objective:ratio"] == "vector(0.9990000000000001)"
    assert meta["slo:error_budget:ratio"] == "vector(1-0.9990000000000001)"
    assert meta["slo:time_period:days"] == "vector(30)"
    assert meta["slo:current_burn_rate:ratio"] == (
        f"slo:sli_error:ratio_rate5m{FILTER}\n"
        "/ on(sloth_id, sloth_slo, sloth_service) group_left\n"
        f"slo:error_budget:ratio{FILTER}"
    )
    assert meta["slo:period_burn_rate:ratio"] == (
        f"slo:sli_error:ratio_rate30d{FILTER}\n"
        "/ on(sloth_id, sloth_slo, sloth_service) group_left\n"
        f"slo:error_budget:ratio{FILTER}"
    )
    assert meta["slo:period_error_budget_remaining:ratio"] == (
        f"1 - slo:period_burn_rate:ratio{FILTER}"
    )
    assert meta["sloth_slo_info"] == "vector(1)"
    assert groups[1]["rules"][-1]["labels"]["sloth_objective"] == "99.9"


def test_the_period_ratio_is_the_mean_of_the_5m_ratios() -> None:
    [rule] = [r for r in sloth_groups([_availability(99.9)])[0]["rules"] if "30d" in r["record"]]
    assert rule["expr"] == (
        f"sum_over_time(slo:sli_error:ratio_rate5m{FILTER}[30d])\n"
        "/ ignoring (sloth_window)\n"
        f"count_over_time(slo:sli_error:ratio_rate5m{FILTER}[30d])"
    )


def test_the_alerts_are_sloths_multiwindow_multiburn_alerts() -> None:
    page, ticket = sloth_groups([_availability(99.9)])[2]["rules"]
    budget = "0.0009999999999999432"  # (100 - 99.9) / 100

    def pair(short: str, long: str, factor: str) -> str:
        return (
            "(\n"
            f"    (slo:sli_error:ratio_rate{short}{FILTER} > ({factor} * {budget}))\n"
            "    and ignoring (sloth_window)\n"
            f"    (slo:sli_error:ratio_rate{long}{FILTER} > ({factor} * {budget}))\n"
            ")"
        )

    assert page["alert"] == ticket["alert"] == "MyServiceHighErrorRate"
    assert page["expr"] == (
        pair("5m", "1h", "14.4") + "\nor ignoring (sloth_window)\n" + pair("30m", "6h", "6")
    )
    assert ticket["expr"] == (
        pair("2h", "1d", "3") + "\nor ignoring (sloth_window)\n" + pair("6h", "3d", "1")
    )
    assert page["labels"] == {"severity": "critical", "sloth_severity": "page"}
    assert ticket["labels"] == {"severity": "critical", "sloth_severity": "ticket"}
    assert page["annotations"] == {
        "summary": "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate "
        "is over expected.",
        "title": "(page) {{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn "
        "rate is too fast.",
    }


def test_a_28_day_period_is_sloths_4w() -> None:
    sli, meta, alerts = sloth_groups([_availability(99, period_days=28)])
    assert sli["rules"][-1]["record"] == "slo:sli_error:ratio_rate4w"
    assert "[4w]" in sli["rules"][-1]["expr"]
    assert {rule["record"]: rule["expr"] for rule in meta["rules"]}[
        "slo:time_period:days"
    ] == "vector(28)"
    # 2% of 28 days in 1h, 5% in 6h, 10% in 1d, 10% in 3d, in Sloth's float operations
    # (percent * 672h / 100 / window), printed as Go prints them
    page, ticket = alerts["rules"]
    assert "(13.44 * " in page["expr"]
    assert "(5.6000000000000005 * " in page["expr"]
    assert "(2.8000000000000003 * " in ticket["expr"]
    assert "(0.9333333333333333 * " in ticket["expr"]


def test_the_error_ratio_is_guarded_against_zero_traffic() -> None:
    """events: nothing in the window gives no sample (total > 0), errors without a series give 0;
    raw: NaN is dropped. promtool shows the values in tests/integration/rules."""
    events, raw = (sloth_groups(slos_from_spec(_spec()))[i]["rules"][0] for i in (0, 3))
    total = "sum(rate(status_api_patch_requests_total[5m]))"
    assert events["expr"] == (
        "(\n"
        '  (sum(rate(status_api_patch_requests_total{code=~"5.."}[5m])))\n'
        "  or\n"
        f"  0 * ({total})\n"
        ")\n"
        "/\n"
        f"(({total}) > 0)"
    )
    assert raw["expr"] == '(ghost:service_error_ratio:rate5m{service="status-api"}) >= 0'


def test_groups_take_the_evaluation_interval_and_dump_without_anchors() -> None:
    groups = sloth_groups(slos_from_spec(_spec()), interval="1s")
    assert {group["interval"] for group in groups} == {"1s"}
    text = yaml.safe_dump({"groups": groups}, sort_keys=False)
    assert "&id" not in text
    assert yaml.safe_load(text) == {"groups": groups}


def test_two_slos_with_one_id_are_refused() -> None:
    with pytest.raises(ValueError, match="two SLOs with sloth_id 'myservice-requests-avail"):
        sloth_groups([_availability(99), _availability(99.9)])


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(300, "5m"), (1800, "30m"), (3600, "1h"), (86400, "1d"), (3 * 86400, "3d"),
     (7 * 86400, "1w"), (28 * 86400, "4w"), (30 * 86400, "30d"), (90 * 60, "1h30m"), (0, "0s")],
)  # fmt: skip
def test_durations_print_as_prometheus_prints_them(seconds: int, text: str) -> None:
    assert prom_duration(seconds) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(14.4, "14.4"), (6.0, "6"), (99.9 / 100, "0.9990000000000001"), (1e-05, "1e-05")],
)
def test_floats_print_as_go_prints_them(value: float, text: str) -> None:
    assert go_float(value) == text


def test_only_the_window_variable_is_rendered() -> None:
    assert render_window("rate(x[{{.window}}]) / rate(y[{{ .window }}])\n", "1h") == (
        "rate(x[1h]) / rate(y[1h])"
    )


# --------------------------------------------------------------------------------------------
# The SLOs of the rules config


def test_the_rules_configs_objectives_read_the_recording_rules() -> None:
    slos = ghost_slos(_profile(_config()))
    assert [(slo.id, slo.objective) for slo in slos] == [
        ("ghost-service-availability", 99.5),
        ("ghost-patch-success", 99.0),
        ("ghost-pipeline-delivery", 99.0),
    ]
    records = {rule["record"] for rule in rules_of(RECORDING_FILE) if "record" in rule}
    for slo in slos:
        assert isinstance(slo.sli, RawSli)
        assert slo.page_alert is None
        assert slo.ticket_alert is None
        for rule in sloth_groups([slo])[0]["rules"][:-1]:
            window = rule["labels"]["sloth_window"]
            used = render_window(slo.sli.error_ratio_query, window)
            assert used in records, f"{slo.id}: {used} is not a recording rule"


def test_daemons_with_an_objective_of_their_own_get_their_own_slo() -> None:
    config = _config()
    config["profiles"]["default"]["slo"]["patch_success_by_daemon"] = {"chaos": 0.5, "b": 0.9}
    slos = {slo.name: slo for slo in ghost_slos(_profile(config))}
    assert list(slos) == [
        "service-availability",
        "patch-success",
        "patch-success-b",
        "patch-success-chaos",
        "pipeline-delivery",
    ]
    assert slos["patch-success"].sli == RawSli(
        'ghost:patch_error_ratio:rate{{.window}}{daemon!~"b|chaos"}'
    )
    assert slos["patch-success-chaos"].sli == RawSli(
        'ghost:patch_error_ratio:rate{{.window}}{daemon="chaos"}'
    )
    assert slos["patch-success-chaos"].objective == 50


def test_without_every_window_the_counters_are_queried() -> None:
    config = _config()
    default = config["profiles"]["default"]
    del default["windows"]["2h"]
    for window in default["slo"]["burn_rates"]["warning"]["windows"]:
        if window["short"] == "2h":
            window["short"] = "6h"
    config["profiles"]["default"]["slo"]["patch_success_by_daemon"] = {"chaos": 0.5}
    slos = {slo.name: slo for slo in ghost_slos(_profile(config))}
    assert slos["service-availability"].sli == EventsSli(
        "sum by (service) (rate(ghost_probe_failures_total[{{.window}}]))",
        "sum by (service) (rate(ghost_probes_total[{{.window}}]))",
    )
    assert slos["patch-success-chaos"].sli == EventsSli(
        'sum by (daemon) (rate(ghost_patches_total{outcome=~"failed|timeout",daemon="chaos"}'
        "[{{.window}}]))",
        'sum by (daemon) (rate(ghost_patches_total{outcome=~"completed|failed|timeout",'
        'daemon="chaos"}[{{.window}}]))',
    )


def test_a_profile_is_merged_onto_the_default() -> None:
    config = _config()
    config["profiles"]["fast"]["slo"]["pipeline_delivery"] = 0.9
    slos = {slo.name: slo.objective for slo in ghost_slos(_profile(config, "fast"))}
    assert slos == {
        "service-availability": 99.5,
        "patch-success": 99.0,
        "pipeline-delivery": 90.0,
    }


@pytest.mark.parametrize("value", [1, 0, "0.99", True, None])
def test_an_objective_that_is_not_a_fraction_names_its_key(value: object) -> None:
    config = _config()
    config["profiles"]["default"]["slo"]["pipeline_delivery"] = value
    with pytest.raises(ConfigError) as excinfo:
        _profile(config)
    paths = [detail.path for detail in excinfo.value.details]
    assert paths == ["profiles.default.slo.pipeline_delivery"]


def test_the_config_adds_the_specs_under_sloth_specs() -> None:
    config = _config()
    ids = [slo.id for slo in config_slos(_profile(config), [_spec()])]
    assert ids == [
        "ghost-service-availability",
        "ghost-patch-success",
        "ghost-pipeline-delivery",
        "status-api-patch-events",
        "status-api-probes",
    ]
    broken = copy.deepcopy(_spec())
    broken["slos"][0]["objective"] = 0
    with pytest.raises(SlothSpecError) as excinfo:
        config_slos(_profile(config), [_spec(), broken])
    assert [path for path, _ in excinfo.value.problems] == ["sloth_specs[1].slos[0].objective"]


# --------------------------------------------------------------------------------------------
# sloth_specs in alerts/config.yml, through the rules generator


def _write_config_with_specs(tmp_path: Path, specs: list[dict[str, Any]]) -> Path:
    text = (ALERTS_DIR / "config.yml").read_text(encoding="utf-8")
    path = tmp_path / "config.yml"
    path.write_text(text + "\n" + yaml.safe_dump({"sloth_specs": specs}), encoding="utf-8")
    return path


def test_committed_sloth_file_holds_the_groups_of_the_config_slos() -> None:
    groups = load_yaml(SLOTH_FILE)["groups"]
    assert [g["name"] for g in groups] == [
        f"sloth-{kind}-ghost-{name}"
        for name in ("service-availability", "patch-success", "pipeline-delivery")
        for kind in ("sli", "meta")
    ]


def test_specs_under_sloth_specs_reach_the_generated_rules(tmp_path: Path) -> None:
    config = load_config(_write_config_with_specs(tmp_path, [_spec()]))
    names = [g["name"] for g in build(config, "default")["ghost-sloth.yml"]]
    assert "sloth-alerts-status-api-patch-events" in names
    assert names[:6] == [g["name"] for g in load_yaml(SLOTH_FILE)["groups"]]


def test_a_bad_spec_is_a_config_error_with_file_line_and_key(tmp_path: Path) -> None:
    broken = copy.deepcopy(_spec())
    broken["slos"][1]["objective"] = 150
    path = _write_config_with_specs(tmp_path, [_spec(), broken])
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    [detail] = excinfo.value.details
    assert detail.path == "sloth_specs[1].slos[1].objective"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert detail.line is not None
    assert lines[detail.line - 1].strip() == "objective: 150"
    assert str(path) in detail.file
