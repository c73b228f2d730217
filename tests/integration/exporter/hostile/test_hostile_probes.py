"""Each hostile peer, probed in process: the probe fails with the right reason, within the
target's timeout plus a margin, and never raises."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from ghost_exporter.config import parse_config
from ghost_exporter.probes import Health, ProbeContext
from ghost_exporter.probes.timeout import run_probe
from tests.integration.exporter.hostile.conftest import CASES, TIMEOUT, Case, is_daemon
from tests.integration.exporter.hostile.servers import Hostile

#: Time a failing probe may take beyond its timeout (scheduling on a loaded machine).
MARGIN = 1.0


@pytest.fixture
async def ctx() -> AsyncIterator[ProbeContext]:
    context = ProbeContext()
    yield context
    await context.close()


def _params() -> list[object]:
    return [
        pytest.param(c, id=c.name, marks=pytest.mark.xfail(strict=True, reason=c.bug))
        if c.bug
        else pytest.param(c, id=c.name)
        for c in CASES
    ]


@pytest.mark.parametrize("case", _params())
async def test_hostile_peer_fails_with_its_reason_in_time(
    case: Case, hostile: Hostile, ctx: ProbeContext
) -> None:
    section = "daemons" if is_daemon(case) else "services"
    text = (
        f"{section}:\n  - name: {case.name}\n    interval: 10s\n    timeout: {TIMEOUT:g}s\n"
        + case.spec(hostile).rstrip("\n")
        + "\n"
    )
    target = parse_config(text).targets[0]
    start = time.perf_counter()
    result = await run_probe(target, ctx)
    elapsed = time.perf_counter() - start
    assert not result.success
    assert elapsed <= TIMEOUT + MARGIN
    assert result.message
    if not is_daemon(case) and case.reason.value != "health":
        assert result.health in (Health.UNKNOWN, Health.UNHEALTHY)
    assert result.reason == case.reason, result.message
