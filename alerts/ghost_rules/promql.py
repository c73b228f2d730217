"""PromQL text as the rule files write it: numbers, durations in seconds, blocks, ratios."""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from ghost_common.units import parse_duration

_DAY: Final = Decimal(86400)


def number(value: Decimal) -> str:
    """A number as PromQL and people read it: 0.995, 14.4, 6."""
    return format(value.normalize(), "f")


def percent(value: Decimal) -> str:
    return number(value * 100) + "%"


def seconds(duration: str) -> str:
    """A duration as a PromQL number of seconds; whole days read as ``N * 86400``."""
    value = Decimal(str(parse_duration(duration)))
    if value >= _DAY and value % _DAY == 0:
        return f"{number(value / _DAY)} * 86400"
    return number(value)


def block(*lines: str) -> str:
    """An expression written one clause a line (a literal block in the rule file)."""
    return "\n".join(lines)


def rate(selector: str, window: str) -> str:
    return f"rate({selector}[{window}])"


def ratio(part: str, total: str, by: str) -> str:
    """``part / total`` summed by ``by``; ``or 0 * total`` keeps a 0 where ``part`` has no series.

    An exporter may create a failure series only at the first failure: without the fallback a
    target that never failed would have no ratio at all instead of 0.
    """
    return block(
        f"sum by ({by}) (",
        f"  {part}",
        f"  or 0 * {total}",
        ")",
        "/",
        f"sum by ({by}) ({total})",
    )
