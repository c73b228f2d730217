"""Float formatting exactly as prometheus_client's exposition writes it."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from prometheus_client.utils import floatToGoString

#: ``1.0``, ``0.005``, ``+Inf``, ``NaN``, ``1.5e+06``: prometheus_client's own formatter.
format_float = cast(Callable[[float], str], floatToGoString)
