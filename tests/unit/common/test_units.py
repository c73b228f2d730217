"""The one grammar of durations and sizes that config files, flags and control bodies share."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from ghost_common.fields import Duration, PositiveDuration, Size
from ghost_common.units import (
    DURATION_UNITS,
    MAX_DURATION,
    duration_value,
    format_duration,
    parse_duration,
    parse_duration_range,
    parse_size,
    size_value,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0),
        ("15s", 15.0),
        ("200ms", 0.2),
        ("300ms", 0.3),
        ("1m30s", 90.0),
        ("1m30s500ms", 90.5),
        ("1h30m", 5400.0),
        ("2m", 120.0),
        ("1h", 3600.0),
        ("1.5s", 1.5),
        ("0.25s", 0.25),
        (".5s", 0.5),
        ("0s", 0.0),
        (" 10s ", 10.0),
        ("14d", 14 * 86400.0),
        ("1w", 7 * 86400.0),
        ("1y", 365 * 86400.0),
        ("1w2d3h4m5s6ms", 7 * 86400 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5 + 0.006),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "s",
        "ms",
        "1x",
        "1s1",
        "-1s",
        "1 s",
        "15 s",
        "1.5.2s",
        "nan",
        "inf",
        "1e3s",
        "∞s",
        "1h-",
        # parts from the largest unit down, each unit once
        "30s1m",
        "1s1s",
        "500ms1s",
        # units Prometheus does not have
        "1ns",
        "1us",
        "1µs",
        "1M",
        "1S",
    ],
)
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ValueError, match=r"^invalid duration .*: use a number and a unit, e\.g\."):
        parse_duration(text)


@pytest.mark.parametrize(("text", "hint"), [("30", "30s"), ("2", "2s"), ("1.5", "1.5s")])
def test_a_bare_number_is_refused_with_the_unit_to_write(text: str, hint: str) -> None:
    with pytest.raises(ValueError, match="needs a unit") as info:
        parse_duration(text)
    assert str(info.value) == f"invalid duration {text!r}: a number needs a unit: write {hint}"


@pytest.mark.parametrize("text", ["2y", "366d", "1y1ms", "9999999y", "1" * 400 + "s"])
def test_parse_duration_refuses_more_than_a_year(text: str) -> None:
    with pytest.raises(ValueError, match="longer than a year"):
        parse_duration(text)


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(sorted(DURATION_UNITS)))
def test_parse_duration_scales_whole_numbers(number: int, unit: str) -> None:
    expected = number * DURATION_UNITS[unit]
    if expected > MAX_DURATION:
        with pytest.raises(ValueError, match="longer than a year"):
            parse_duration(f"{number}{unit}")
    else:
        assert parse_duration(f"{number}{unit}") == pytest.approx(expected)


@given(st.integers(min_value=0, max_value=round(MAX_DURATION * 1000)))
def test_duration_round_trip(millis: int) -> None:
    text = format_duration(millis / 1000)
    assert parse_duration(text) == pytest.approx(millis / 1000, abs=1e-6)
    assert format_duration(parse_duration(text)) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.0004, "0s"),
        (0.25, "250ms"),
        (1.5, "1s500ms"),
        (15, "15s"),
        (90, "1m30s"),
        (5400, "1h30m"),
        (86400, "1d"),
        (14 * 86400, "2w"),
        (365 * 86400, "1y"),
    ],
)
def test_format_duration_as_prometheus(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize("seconds", [-1.0, float("nan"), float("inf")])
def test_format_duration_refuses(seconds: float) -> None:
    with pytest.raises(ValueError, match="cannot format"):
        format_duration(seconds)


@given(st.text(max_size=12))
def test_parse_duration_never_raises_other_errors(text: str) -> None:
    try:
        value = parse_duration(text)
    except ValueError:
        return
    assert 0 <= value <= MAX_DURATION


def test_parse_duration_range() -> None:
    assert parse_duration_range("200ms-900ms") == pytest.approx((0.2, 0.9))
    assert parse_duration_range("300ms") == pytest.approx((0.3, 0.3))
    assert parse_duration_range("0") == (0.0, 0.0)
    assert parse_duration_range("1s-1s") == (1.0, 1.0)
    assert parse_duration_range("0-1m30s") == (0.0, 90.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("900ms-200ms", "low end is above the high end"),
        ("200ms-", "invalid duration range"),
        ("a-b", "invalid duration range"),
        ("1s-2s-3s", "invalid duration range"),
        ("1-2", "invalid duration range"),
        ("5", "a number needs a unit: write 5s"),
    ],
)
def test_parse_duration_range_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration_range(text)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("0", 0),
        ("5B", 5),
        ("1024", 1024),
        ("65536", 65536),
        ("1KiB", 1024),
        ("64KiB", 65536),
        ("64kib", 65536),
        ("1.5KiB", 1536),
        ("1MiB", 1024**2),
        ("10MB", 10_000_000),
        ("512kb", 512_000),
        ("1 MiB", 1024**2),
        ("1TiB", 1024**4),
    ],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    "text", ["", "-1", "KiB", "1XB", "1e30", "1.5.5MiB", "1 M", "1KIBB", "٣KiB"]
)
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid size"):
        parse_size(text)


@pytest.mark.parametrize("text", ["99999TiB", "1025GiB", "2TB"])
def test_parse_size_refuses_more_than_a_tebibyte(text: str) -> None:
    with pytest.raises(ValueError, match="larger than 1TiB"):
        parse_size(text)


@given(
    st.integers(min_value=0, max_value=1_000_000),
    st.sampled_from(["B", "KB", "MB", "KiB", "MiB", "GiB"]),
)
def test_parse_size_scales(number: int, unit: str) -> None:
    factor = {"B": 1, "KB": 1000, "MB": 1000**2, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}[unit]
    if number * factor > 1024**4:
        with pytest.raises(ValueError, match="larger than 1TiB"):
            parse_size(f"{number}{unit}")
    else:
        assert parse_size(f"{number}{unit}") == number * factor


@pytest.mark.parametrize(("value", "seconds"), [("1m30s", 90.0), ("0", 0.0), (0, 0.0), (0.0, 0.0)])
def test_a_file_value_is_a_duration_string_or_zero(value: object, seconds: float) -> None:
    assert duration_value(value) == seconds


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (5, "duration 5 has no unit: write e.g. 5s"),
        (1.5, "duration 1.5 has no unit: write e.g. 1.5s"),
        (-1, "duration -1 has no unit: write e.g. -1s"),
        (True, "expected a duration such as 15s"),
        (False, "expected a duration such as 15s"),
        (None, "expected a duration such as 15s"),
        (["1s"], "expected a duration such as 15s"),
        ("5", "invalid duration '5': a number needs a unit: write 5s"),
    ],
)
def test_a_file_value_that_is_not_a_duration(value: object, message: str) -> None:
    with pytest.raises(ValueError, match="duration") as info:
        duration_value(value)
    assert str(info.value) == message


@pytest.mark.parametrize(("value", "size"), [("1MiB", 1024**2), (512, 512), (0, 0)])
def test_a_file_value_is_a_size_string_or_bytes(value: object, size: int) -> None:
    assert size_value(value) == size


@pytest.mark.parametrize("value", [True, 1.5, None, [1]])
def test_a_file_value_that_is_not_a_size(value: object) -> None:
    with pytest.raises(ValueError, match="expected a size such as 1MiB"):
        size_value(value)


def test_the_field_types_read_the_grammar() -> None:
    assert TypeAdapter(Duration).validate_python("1m30s") == 90.0
    assert TypeAdapter(Duration).validate_python(0) == 0.0
    assert TypeAdapter(PositiveDuration).validate_python("250ms") == 0.25
    assert TypeAdapter(Size).validate_python("64KiB") == 65536
    for adapter, value, message in (
        (TypeAdapter(PositiveDuration), "0", "greater than 0"),
        (TypeAdapter(Duration), "30", "write 30s"),
        (TypeAdapter(Size), 1024**4 + 1, "less than or equal to 1099511627776"),
        (TypeAdapter(Size), -1, "greater than or equal to 0"),
    ):
        with pytest.raises(ValidationError, match=message):
            adapter.validate_python(value)
