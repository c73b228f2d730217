"""Session-wide collection of the end-to-end alert timings, printed in the terminal summary."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .timings import TIMINGS, AlertTimings


@pytest.fixture(scope="session")
def alert_timings(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AlertTimings]:
    """Where the alert cases record their timings; written as JSON under the pytest tmp dir."""
    timings = AlertTimings()
    pytestconfig.stash[TIMINGS] = timings
    yield timings
    if timings.rows:
        timings.write_json(tmp_path_factory.getbasetemp() / "alert-timings.json")


def _remediation_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The fault-to-healthy time test_remediation.py records with ``record_property``."""
    reports = terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", [])
    lines = [
        str(value)
        for report in reports
        for name, value in getattr(report, "user_properties", [])
        if name == "remediation_timing"
    ]
    if lines:
        terminalreporter.write_sep("-", "end-to-end remediation: fault to healthy again")
        for line in lines:
            terminalreporter.write_line(line)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    _remediation_summary(terminalreporter)
    timings = terminalreporter.config.stash.get(TIMINGS, None)
    if timings is None or not timings.rows:
        return
    terminalreporter.write_sep("-", "end-to-end alerts: fault to webhook notification")
    for line in timings.table():
        terminalreporter.write_line(line)
    if timings.json_path is not None:
        terminalreporter.write_line(f"written to {timings.json_path}")
