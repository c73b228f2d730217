"""``ghost-demo`` flags: a bad duration is a usage error (exit 2) that names the flag."""

from __future__ import annotations

import subprocess

import pytest

from tests.support import cli


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--slow-delay", "10"],
            "argument --slow-delay: invalid duration '10': a number needs a unit: write 10s",
        ),
        (["--lag-delay", "8 s"], "argument --lag-delay: invalid duration '8 s'"),
        (["--stale-age", "30s1m"], "argument --stale-age: invalid duration '30s1m'"),
        (["--telemetry-interval", "0"], "argument --telemetry-interval: invalid duration '0'"),
    ],
)
def test_bad_durations_exit_2_naming_the_flag(args: list[str], message: str) -> None:
    result = subprocess.run(
        [cli("ghost-demo"), "--base-port", "0", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
