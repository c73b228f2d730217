"""``--report-to``: a status API that is down, slow and back never costs the local accounting."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from ghost_stress.events import PatchEvent
from ghost_stress.reporter import Reporter, ReporterOptions

from .conftest import StatusApi, Stress

StartStress = Callable[..., Stress]


def _event(seq: int) -> PatchEvent:
    return {"seq": seq, "ts": time.time(), "type": "started", "patch_id": f"p-{seq}", "daemon": "t"}


async def test_reporter_counts_every_event_once(status_api: StatusApi) -> None:
    await status_api.down()
    reporter = Reporter(
        ReporterOptions(status_api.url, queue_size=5, timeout=0.2, retries=1, backoff=0.01)
    )
    await reporter.start()
    for seq in range(1, 21):
        reporter.submit(_event(seq))
    assert reporter.dropped >= 14
    await asyncio.sleep(0.3)
    assert reporter.failed >= 1
    await status_api.up()
    for seq in range(21, 26):
        reporter.submit(_event(seq))
    await reporter.close(flush_timeout=5.0)
    counts = reporter.counts()
    assert counts["sent"] >= 5
    assert counts["sent"] + counts["failed"] + counts["dropped"] == reporter.submitted == 25
    assert {event["seq"] for event in status_api.received} >= set(range(21, 26))


async def test_reporter_gives_up_at_once_on_a_refused_event(status_api: StatusApi) -> None:
    reporter = Reporter(ReporterOptions(status_api.url.replace("/api/patches", "/nowhere")))
    await reporter.start()
    reporter.submit(_event(1))
    began = time.monotonic()
    await reporter.close(flush_timeout=5.0)
    assert time.monotonic() - began < 2
    assert reporter.counts() == {"sent": 0, "failed": 1, "dropped": 0}


def _status(daemon: Stress) -> dict[str, Any]:
    with urllib.request.urlopen(daemon.url("/api/status"), timeout=5) as response:
        status: dict[str, Any] = json.load(response)
    return status


async def test_daemon_reports_through_an_outage(stress: StartStress, status_api: StatusApi) -> None:
    await status_api.down()
    daemon = stress(
        "daemon", "--rate", "40/s", "--duration", "0", "--concurrency", "8", "--json",
        "--report-to", status_api.url, "--report-queue", "10", "--report-timeout", "200ms",
        "--report-retries", "1", "--report-flush", "2s",
    )  # fmt: skip
    await asyncio.to_thread(daemon.port)
    await asyncio.sleep(1.0)  # down: connections refused
    down = await asyncio.to_thread(_status, daemon)
    assert down["reports"]["dropped"] > 0
    assert down["reports"]["sent"] == 0
    status_api.mode, status_api.delay = "slow", 0.5
    await status_api.up()
    await asyncio.sleep(1.0)  # slow: every POST times out
    status_api.mode = "up"
    await asyncio.sleep(1.5)  # back
    back = await asyncio.to_thread(_status, daemon)
    assert back["reports"]["sent"] > 0
    assert back["patches"]["started"] > 60

    daemon.process.send_signal(signal.SIGTERM)
    code, summary, err = await asyncio.to_thread(daemon.summary, 15)
    assert code == 0, err
    reports = summary["reports"]
    assert summary["total"] == summary["completed"] >= back["patches"]["started"]
    assert reports["sent"] + reports["failed"] + reports["dropped"] == 2 * summary["total"]
    assert reports["failed"] > 0
    assert reports["dropped"] > 0
    received = {event["seq"] for event in status_api.received}
    assert len(received) >= reports["sent"]
    assert {event["daemon"] for event in status_api.received} == {"stress"}
