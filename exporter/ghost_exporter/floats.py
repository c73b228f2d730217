"""Float formatting exactly as prometheus_client's exposition writes it."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from prometheus_client.utils import floatToGoString

_go_string = cast(Callable[[float], str], floatToGoString)
_NEG_INF = float("-inf")


def format_float(value: float) -> str:
    """``1.0``, ``0.005``, ``+Inf``, ``NaN``, ``1.5e+06``: as prometheus_client writes them.

    Below a million prometheus_client writes ``repr``; larger, infinite and NaN values go to its
    own formatter (Go switches to exponents sooner than Python does).
    """
    if _NEG_INF < value < 1e6:
        return repr(value)
    return _go_string(value)
