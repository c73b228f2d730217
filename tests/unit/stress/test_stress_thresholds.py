"""The ``--threshold`` grammar, its evaluation and when a breach is for good."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ghost_stress.cli import build_parser
from ghost_stress.thresholds import (
    DURATION_METRICS,
    METRICS,
    OPERATORS,
    RATE_METRICS,
    Threshold,
    evaluate,
    lost_cause,
    parse_threshold,
)

ops = st.sampled_from(sorted(OPERATORS))
spaces = st.sampled_from(["", " ", "  "])
finite = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def thresholds(draw: st.DrawFn) -> Threshold:
    metric = draw(st.sampled_from(METRICS))
    value = draw(st.floats(0, 1) if metric in RATE_METRICS else finite)
    return Threshold(metric, draw(ops), value)


@given(thresholds())
def test_canonical_form_round_trips(threshold: Threshold) -> None:
    parsed = parse_threshold(threshold.canonical())
    assert parsed == threshold
    assert parsed.canonical() == threshold.canonical()


@given(
    metric=st.sampled_from(DURATION_METRICS),
    op=ops,
    millis=st.integers(0, 10**7),
    left=spaces,
    right=spaces,
)
def test_durations_with_units(metric: str, op: str, millis: int, left: str, right: str) -> None:
    parsed = parse_threshold(f"{left}{metric}{left}{op}{right}{millis}ms{right}")
    assert (parsed.metric, parsed.op) == (metric, op)
    assert parsed.value == pytest.approx(millis / 1000)
    assert parse_threshold(parsed.canonical()) == parsed


@given(metric=st.sampled_from(RATE_METRICS), op=ops, percent=st.integers(0, 100))
def test_rates_as_percentages_and_fractions(metric: str, op: str, percent: int) -> None:
    as_percent = parse_threshold(f"{metric}{op}{percent}%")
    as_fraction = parse_threshold(f"{metric} {op} {percent / 100!r}")
    assert as_percent.value == pytest.approx(as_fraction.value)
    assert as_fraction.value == percent / 100


@given(op=ops, rate=st.integers(0, 10**6), unit=st.sampled_from(["", "/s", "/m", "/h"]))
def test_throughput_per_second(op: str, rate: int, unit: str) -> None:
    per = {"": 1, "/s": 1, "/m": 60, "/h": 3600}[unit]
    assert parse_threshold(f"throughput{op}{rate}{unit}").value == pytest.approx(rate / per)


def test_the_examples() -> None:
    assert parse_threshold("p95<2s") == Threshold("p95", "<", 2.0)
    assert parse_threshold("mean<=300ms") == Threshold("mean", "<=", 0.3)
    assert parse_threshold("failure_rate<1%") == Threshold("failure_rate", "<", 0.01)
    assert parse_threshold("success_rate>=0.99") == Threshold("success_rate", ">=", 0.99)
    assert parse_threshold("throughput>50") == Threshold("throughput", ">", 50.0)
    assert parse_threshold("throughput>50/s") == Threshold("throughput", ">", 50.0)
    assert parse_threshold("p95 < 2s").text == "p95 < 2s"


SHAPE = "expected METRIC OP VALUE such as 'p95<2s' or 'failure_rate<1%'"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("p95 2s", f"invalid threshold 'p95 2s': {SHAPE}"),
        ("", f"invalid threshold '': {SHAPE}"),
        ("<2s", f"invalid threshold '<2s': {SHAPE}"),
        ("p95<", f"invalid threshold 'p95<': {SHAPE}"),
        (
            "p42<1s",
            "invalid threshold 'p42<1s': unknown metric 'p42' (expected one of success_rate, "
            "failure_rate, timeout_rate, mean, p50, p90, p95, p99, max, throughput)",
        ),
        (
            "p95==1s",
            "invalid threshold 'p95==1s': unknown operator '==' (expected <, <=, > or >=)",
        ),
        (
            "p95=<1s",
            "invalid threshold 'p95=<1s': unknown operator '=<' (expected <, <=, > or >=)",
        ),
        (
            "p95<2x",
            "invalid threshold 'p95<2x': p95 takes a duration such as 300ms or 2s, got '2x'",
        ),
        (
            "mean<-1s",
            "invalid threshold 'mean<-1s': mean takes a duration such as 300ms or 2s, got '-1s'",
        ),
        (
            "failure_rate<120%",
            "invalid threshold 'failure_rate<120%': failure_rate takes a fraction from 0 to 1 "
            "or a percentage from 0% to 100%, got '120%'",
        ),
        (
            "success_rate>=1.5",
            "invalid threshold 'success_rate>=1.5': success_rate takes a fraction from 0 to 1 "
            "or a percentage from 0% to 100%, got '1.5'",
        ),
        (
            "timeout_rate<2s",
            "invalid threshold 'timeout_rate<2s': timeout_rate takes a fraction from 0 to 1 "
            "or a percentage from 0% to 100%, got '2s'",
        ),
        (
            "throughput>50/d",
            "invalid threshold 'throughput>50/d': throughput takes patches per second such as "
            "50, 50/s or 3000/m, got '50/d'",
        ),
        (
            "throughput>nan",
            "invalid threshold 'throughput>nan': throughput takes patches per second such as "
            "50, 50/s or 3000/m, got 'nan'",
        ),
    ],
)
def test_bad_expressions_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        parse_threshold(text)


def test_a_bad_expression_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(["run", "--threshold", "p95<2x"])
    assert caught.value.code == 2
    assert (
        "argument --threshold: invalid threshold 'p95<2x': p95 takes a duration such as 300ms "
        "or 2s, got '2x'" in capsys.readouterr().err
    )


def test_thresholds_are_run_only() -> None:
    args = build_parser().parse_args(["run", "--threshold", "p95<2s", "--threshold", "max<1m"])
    assert args.thresholds == [Threshold("p95", "<", 2.0), Threshold("max", "<", 60.0)]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["daemon", "--threshold", "p95<2s"])


def test_evaluate_reports_measured_and_verdict() -> None:
    results = evaluate(
        (parse_threshold("p95<2s"), parse_threshold("failure_rate<1%")),
        {"p95": 2.0, "failure_rate": 0.005},
    )
    assert results == [
        {"expression": "p95<2s", "metric": "p95", "op": "<", "threshold": 2.0,
         "measured": 2.0, "passed": False},
        {"expression": "failure_rate<1%", "metric": "failure_rate", "op": "<",
         "threshold": 0.01, "measured": 0.005, "passed": True},
    ]  # fmt: skip


def _counts(completed: int, failed: int, timeout: int) -> dict[str, int]:
    return {"success_rate": completed, "failure_rate": failed, "timeout_rate": timeout}


def test_a_rate_below_is_lost_once_the_planned_total_cannot_dilute_it() -> None:
    limit = parse_threshold("failure_rate<10%")
    # 100 planned: 9 failures can still end at 9% ...
    assert not lost_cause(limit, {}, _counts(11, 9, 0), 20, 100)
    # ... 10 cannot: at best 10/100, not below 10%.
    assert lost_cause(limit, {}, _counts(10, 10, 0), 20, 100)
    assert not lost_cause(parse_threshold("failure_rate<=10%"), {}, _counts(10, 10, 0), 20, 100)


def test_a_rate_above_is_lost_once_the_patches_left_cannot_lift_it() -> None:
    limit = parse_threshold("success_rate>=0.9")
    assert not lost_cause(limit, {}, _counts(10, 10, 0), 20, 100)  # 90/100 still possible
    assert lost_cause(limit, {}, _counts(9, 11, 0), 20, 100)  # 89/100 at best


def test_durations_and_throughput_are_lost_when_breached_now() -> None:
    measured = {"p95": 3.0, "mean": 1.0, "throughput": 40.0}
    assert lost_cause(parse_threshold("p95<2s"), measured, _counts(20, 0, 0), 20, 100)
    assert not lost_cause(parse_threshold("mean<2s"), measured, _counts(20, 0, 0), 20, 100)
    assert lost_cause(parse_threshold("throughput>50"), measured, _counts(20, 0, 0), 20, 100)
