"""Parsers of ghost-stress's own flag values: rates, fractions, listen addresses, buckets."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ghost_stress.units import (
    ListenAddress,
    format_bucket,
    parse_fraction,
    parse_listen,
    parse_rate,
)


@pytest.mark.parametrize(
    ("text", "per_second"),
    [("5/s", 5.0), ("30/m", 0.5), ("7200/h", 2.0), ("2.5", 2.5), ("100", 100.0)],
)
def test_parse_rate(text: str, per_second: float) -> None:
    assert parse_rate(text) == pytest.approx(per_second)


@pytest.mark.parametrize("text", ["0", "-1/s", "5/d", "x/s", "", "inf", "nan/s", "5/"])
def test_parse_rate_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid rate"):
        parse_rate(text)


def test_parse_fraction() -> None:
    assert parse_fraction("0") == 0.0
    assert parse_fraction("0.25") == 0.25
    assert parse_fraction("1") == 1.0
    for bad in ("-0.1", "1.01", "nan", "x"):
        with pytest.raises(ValueError, match="invalid fraction"):
            parse_fraction(bad)


@pytest.mark.parametrize(
    ("text", "address"),
    [
        (":8790", ListenAddress(None, 8790)),
        ("127.0.0.1:0", ListenAddress("127.0.0.1", 0)),
        ("localhost:8790", ListenAddress("localhost", 8790)),
        ("[::1]:9000", ListenAddress("::1", 9000)),
        ("none", None),
        ("off", None),
    ],
)
def test_parse_listen(text: str, address: ListenAddress | None) -> None:
    assert parse_listen(text) == address


@pytest.mark.parametrize("text", ["8790", "::1:80", "host:port", "host:70000", "[::1]", "[]:80"])
def test_parse_listen_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid listen address"):
        parse_listen(text)


def test_listen_url() -> None:
    assert ListenAddress("127.0.0.1", 0).url(8790) == "http://127.0.0.1:8790"
    assert ListenAddress("::1", 80).url() == "http://[::1]:80"
    assert ListenAddress(None, 80).url() == "http://0.0.0.0:80"


@pytest.mark.parametrize(
    ("bound", "text"),
    [
        (0.005, "0.005"),
        (0.1, "0.1"),
        (1.0, "1"),
        (2.5, "2.5"),
        (10.0, "10"),
        (60.0, "60"),
        (math.inf, "+Inf"),
        (1e-05, "1e-05"),
        (1e6, "1e+06"),
        (123456.5, "123456.5"),
    ],
)
def test_format_bucket_as_prometheus(bound: float, text: str) -> None:
    assert format_bucket(bound) == text


@given(st.floats(min_value=1e-9, max_value=1e12, allow_nan=False, allow_infinity=False))
def test_format_bucket_round_trips(bound: float) -> None:
    assert float(format_bucket(bound)) == bound
