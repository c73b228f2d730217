"""Parsers for the human-friendly values of the command line: durations, rates, sizes, addresses.

Every parser raises :class:`ValueError` with a message that names what was expected; the CLI turns
it into an exit-2 usage error.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal

_DURATION_UNITS: dict[str, float] = {
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_DURATION_RE = re.compile(r"(?P<number>\d+(?:\.\d+)?|\.\d+)(?P<unit>ms|s|m|h)?")
_SIZE_UNITS: dict[str, int] = {
    "": 1,
    "B": 1,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "KiB": 1024,
    "MiB": 1024**2,
    "GiB": 1024**3,
}
_SIZE_RE = re.compile(r"(?P<number>\d+)\s*(?P<unit>[KMG]i?B|B)?")
_RATE_UNITS: dict[str, float] = {"s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Parse ``300ms``, ``1.5s``, ``2m``, ``1h`` or a bare number of seconds into seconds.

    ``0`` is allowed; negative and non-finite values are not.
    """
    value = text.strip()
    match = _DURATION_RE.fullmatch(value)
    if match is None:
        raise ValueError(
            f"invalid duration {text!r}: expected a number with an optional unit ms, s, m or h "
            "(e.g. 300ms, 1.5s, 2m)"
        )
    number = float(match["number"])
    return number * _DURATION_UNITS[match["unit"] or "s"]


def parse_duration_range(text: str) -> tuple[float, float]:
    """Parse ``200ms-900ms`` (uniform range) or a single duration (fixed) into ``(low, high)``."""
    low_text, sep, high_text = text.strip().partition("-")
    if not sep:
        fixed = parse_duration(low_text)
        return fixed, fixed
    try:
        low, high = parse_duration(low_text), parse_duration(high_text)
    except ValueError:
        raise ValueError(
            f"invalid duration range {text!r}: expected LOW-HIGH such as 200ms-900ms, "
            "or a single duration"
        ) from None
    if low > high:
        raise ValueError(f"invalid duration range {text!r}: the low end is above the high end")
    return low, high


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


def parse_size(text: str) -> int:
    """Parse ``65536``, ``64KiB``, ``1MiB`` or ``10MB`` into bytes."""
    match = _SIZE_RE.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f"invalid size {text!r}: expected a whole number of bytes with an optional unit "
            "B, KB, MB, GB, KiB, MiB or GiB (e.g. 64KiB)"
        )
    return int(match["number"]) * _SIZE_UNITS[match["unit"] or ""]


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
    """Parse ``:PORT``, ``HOST:PORT`` or ``[IPv6]:PORT``; ``none`` disables listening (None)."""
    value = text.strip()
    if value.lower() in _DISABLED:
        return None
    if value.startswith("["):
        host, sep, port_text = value[1:].partition("]:")
        if not sep or not host:
            raise ValueError(f"invalid listen address {text!r}: expected [IPv6]:PORT")
    else:
        host, sep, port_text = value.rpartition(":")
        if not sep or ":" in host:
            raise ValueError(
                f"invalid listen address {text!r}: expected :PORT, HOST:PORT, [IPv6]:PORT or none"
            )
    if not port_text.isdigit() or int(port_text) > 65535:
        raise ValueError(f"invalid listen address {text!r}: the port must be 0-65535")
    return ListenAddress(host or None, int(port_text))


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
