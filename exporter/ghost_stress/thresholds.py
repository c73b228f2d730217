"""Pass/fail criteria of a run (``--threshold 'p95<2s'``): grammar, evaluation, early abort.

``METRIC OP VALUE``, spaces allowed around the operator. Durations are written as everywhere else
(``300ms``, ``2s``, ``1m30s``: :mod:`ghost_common.units`), rates a fraction (``0.99``) or a
percentage (``1%``), throughput patches per second (``50``, ``50/s``, ``3000/m``).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, TypedDict

from ghost_common.units import parse_duration

RATE_METRICS = ("success_rate", "failure_rate", "timeout_rate")
DURATION_METRICS = ("mean", "p50", "p90", "p95", "p99", "max")
METRICS = (*RATE_METRICS, *DURATION_METRICS, "throughput")
Op = Literal["<", "<=", ">", ">="]
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_SHAPE = re.compile(r"\s*(?P<metric>[^<>=!\s]*)\s*(?P<op>[<>=!]+)\s*(?P<value>.*?)\s*")
_NUMBER = re.compile(r"\d+(?:\.\d+)?|\.\d+")
_PER = {"s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True, slots=True)
class Threshold:
    metric: str
    op: Op
    #: seconds for durations, a fraction for rates, patches per second for throughput
    value: float
    #: the expression as given
    text: str = ""

    def passes(self, measured: float) -> bool:
        return OPERATORS[self.op](measured, self.value)

    def canonical(self) -> str:
        """The expression in canonical form; ``parse_threshold`` reads it back to ``self``."""
        number = _plain(self.value)
        unit = (
            "s" if self.metric in DURATION_METRICS else "/s" if self.metric == "throughput" else ""
        )
        return f"{self.metric}{self.op}{number}{unit}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Threshold):
            return NotImplemented
        return (self.metric, self.op, self.value) == (other.metric, other.op, other.value)

    def __hash__(self) -> int:
        return hash((self.metric, self.op, self.value))


def _plain(value: float) -> str:
    """Shortest round-tripping digits, never in exponent form (``1e-05`` -> ``0.00001``)."""
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def parse_threshold(text: str) -> Threshold:
    """Parse ``METRIC OP VALUE``; ValueError naming the expression and what is wrong."""
    shape = _SHAPE.fullmatch(text)
    if shape is None or not shape["metric"] or not shape["value"]:
        raise ValueError(
            f"invalid threshold {text!r}: expected METRIC OP VALUE such as 'p95<2s' or "
            "'failure_rate<1%'"
        )
    metric, op, value_text = shape["metric"], shape["op"], shape["value"]
    if metric not in METRICS:
        raise ValueError(
            f"invalid threshold {text!r}: unknown metric {metric!r} (expected one of "
            f"{', '.join(METRICS)})"
        )
    if op not in OPERATORS:
        raise ValueError(
            f"invalid threshold {text!r}: unknown operator {op!r} (expected <, <=, > or >=)"
        )
    if metric in DURATION_METRICS:
        value = _duration(metric, value_text, text)
    elif metric in RATE_METRICS:
        value = _rate(metric, value_text, text)
    else:
        value = _throughput(value_text, text)
    return Threshold(metric, op, value, text)  # type: ignore[arg-type]


def _duration(metric: str, value_text: str, text: str) -> float:
    try:
        return parse_duration(value_text)
    except ValueError:
        raise ValueError(
            f"invalid threshold {text!r}: {metric} takes a duration such as 300ms or 2s, "
            f"got {value_text!r}"
        ) from None


def _rate(metric: str, value_text: str, text: str) -> float:
    percent = value_text.endswith("%")
    number = value_text[:-1].rstrip() if percent else value_text
    value = float(number) / 100 if _NUMBER.fullmatch(number) and percent else math.nan
    if not percent and _NUMBER.fullmatch(number):
        value = float(number)
    if not 0.0 <= value <= 1.0:
        raise ValueError(
            f"invalid threshold {text!r}: {metric} takes a fraction from 0 to 1 or a "
            f"percentage from 0% to 100%, got {value_text!r}"
        )
    return value


def _throughput(value_text: str, text: str) -> float:
    number, sep, unit = value_text.partition("/")
    number = number.rstrip()
    per = _PER.get(unit.strip(), math.nan) if sep else 1.0
    value = float(number) / per if _NUMBER.fullmatch(number) else math.nan
    if not math.isfinite(value):
        raise ValueError(
            f"invalid threshold {text!r}: throughput takes patches per second such as 50, "
            f"50/s or 3000/m, got {value_text!r}"
        )
    return value


class ThresholdResult(TypedDict):
    expression: str
    metric: str
    op: str
    #: seconds, fraction or patches per second, as ``measured``
    threshold: float
    measured: float
    passed: bool


def evaluate(
    thresholds: tuple[Threshold, ...], measured: Mapping[str, float]
) -> list[ThresholdResult]:
    return [
        {
            "expression": threshold.text or threshold.canonical(),
            "metric": threshold.metric,
            "op": threshold.op,
            "threshold": threshold.value,
            "measured": measured[threshold.metric],
            "passed": threshold.passes(measured[threshold.metric]),
        }
        for threshold in thresholds
    ]


def lost_cause(
    threshold: Threshold,
    measured: Mapping[str, float],
    counts: Mapping[str, int],
    finished: int,
    planned: int,
) -> bool:
    """True when ``threshold`` is breached now and can no longer pass by the end of the run.

    A rate over ``planned`` patches ends between ``n / planned`` and ``(n + left) / planned``
    (``n`` the patches of that outcome so far, ``left`` those not finished yet): it is lost when
    even the better end fails. ``max`` only grows: ``max < X`` / ``max <= X`` are lost once
    breached. Every other duration and throughput can still move either way: they count as lost
    when breached now.
    """
    if threshold.metric in RATE_METRICS:
        count = counts[threshold.metric]
        left = max(planned - finished, 0)
        total = max(planned, finished)
        if total == 0:
            return False
        best = count / total if threshold.op in ("<", "<=") else (count + left) / total
        return not threshold.passes(best)
    return not threshold.passes(measured[threshold.metric])
