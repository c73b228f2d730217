"""Parsers of the command line's own values: rates, fractions, listen addresses; bucket bounds.

Durations and sizes follow the grammar every program shares, in :mod:`ghost_common.units`. Every
parser raises :class:`ValueError` with a message that names what was expected; the CLI turns it
into an exit-2 usage error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from ghost_common.addresses import split_host_port

_RATE_UNITS: dict[str, float] = {"s": 1.0, "m": 60.0, "h": 3600.0}


def parse_rate(text: str) -> float:
    """Parse ``5/s``, ``30/m``, ``100/h`` or a plain number (per second) into patches per second."""
    number_text, sep, unit = text.strip().partition("/")
    try:
        number = float(number_text)
    except ValueError:
        number = math.nan
    per = _RATE_UNITS.get(unit.strip(), math.nan) if sep else 1.0
    rate = number / per
    if not math.isfinite(rate) or rate <= 0:
        raise ValueError(
            f"invalid rate {text!r}: expected a positive number per second or minute "
            "(e.g. 5/s, 30/m, 2.5)"
        )
    return rate


def parse_fraction(text: str) -> float:
    """Parse a probability or ratio between 0 and 1 inclusive."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"invalid fraction {text!r}: expected a number from 0 to 1")
    return value


@dataclass(frozen=True, slots=True)
class ListenAddress:
    """Where to serve the status API. ``host`` None means every interface."""

    host: str | None
    port: int

    def url(self, bound_port: int | None = None) -> str:
        host = self.host or "0.0.0.0"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port if bound_port is None else bound_port}"


_DISABLED = frozenset({"none", "off", "false", "no", ""})


def parse_listen(text: str) -> ListenAddress | None:
    """``:PORT``, ``HOST:PORT`` or ``[IPv6]:PORT`` (:func:`ghost_common.addresses.split_host_port`);
    ``none`` disables listening (None)."""
    if text.strip().lower() in _DISABLED:
        return None
    try:
        host, port = split_host_port(text)
    except ValueError as exc:
        raise ValueError(f"{exc}, or none") from None
    return ListenAddress(host, port)


def format_bucket(bound: float) -> str:
    """Format a histogram bucket bound as Prometheus does (``0.005``, ``1``, ``2.5``, ``+Inf``).

    This is Go's ``strconv.FormatFloat(bound, 'g', -1, 64)``: the shortest digits that round-trip,
    in exponent form below 1e-4 and from 1e6 up (``1e+06``).
    """
    if math.isinf(bound):
        return "+Inf" if bound > 0 else "-Inf"
    if math.isnan(bound):
        return "NaN"
    if bound == 0:
        return "0"
    decimal = Decimal(repr(bound)).normalize()
    sign, digits, power = decimal.as_tuple()
    exponent = len(digits) - 1 + int(power)
    if -4 <= exponent < 6:
        return format(decimal, "f")
    mantissa = "".join(map(str, digits))
    if len(mantissa) > 1:
        mantissa = f"{mantissa[0]}.{mantissa[1:]}"
    return f"{'-' if sign else ''}{mantissa}e{'+' if exponent >= 0 else '-'}{abs(exponent):02d}"
