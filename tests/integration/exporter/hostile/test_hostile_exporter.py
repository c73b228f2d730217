"""The exporter process against every hostile peer at once: each target is down with its reason,
/metrics keeps answering meanwhile, and the process stays within a memory ceiling."""

from __future__ import annotations

import re
import time
import urllib.request
from pathlib import Path

from tests.integration.exporter.hostile.conftest import CASES, config_text, is_daemon
from tests.integration.exporter.hostile.servers import Hostile
from tests.support import rss_bytes, run_exporter

#: Generous ceiling for the exporter's resident memory (bytes); it idles around 60 MB.
RSS_CEILING = 300 * 1024 * 1024
#: How long the exporter keeps probing the hostile peers (a few rounds each).
SECONDS = 7.0


def _value(text: str, name: str, labels: str) -> float | None:
    series = f"{name}{{{labels}}}" if labels else name
    match = re.search(rf"^{re.escape(series)} (\S+)$", text, re.M)
    return float(match.group(1)) if match else None


def test_exporter_survives_every_hostile_peer(hostile: Hostile, tmp_path: Path) -> None:
    config = tmp_path / "ghost.yml"
    config.write_text(config_text(hostile, interval="2s"))
    peak = 0
    scrapes = 0
    with run_exporter(config, tmp_path) as exporter:
        deadline = time.monotonic() + SECONDS
        while time.monotonic() < deadline:
            peak = max(peak, rss_bytes(exporter.proc.pid))
            with urllib.request.urlopen(exporter.url + "/metrics", timeout=5) as resp:
                assert resp.status == 200
                text = resp.read().decode()
            scrapes += 1
            time.sleep(0.2)
        peak = max(peak, rss_bytes(exporter.proc.pid))
        assert exporter.get("/-/healthy")[0] == 200
        assert exporter.proc.poll() is None
    assert peak < RSS_CEILING, f"peak RSS {peak / 2**20:.0f} MiB"
    tasks = _value(text, "ghost_exporter_asyncio_tasks", "")
    assert tasks is not None
    assert tasks >= 1
    assert scrapes >= 10
    for case in CASES:
        if is_daemon(case):
            assert _value(text, "ghost_daemon_up", f'daemon="{case.name}"') == 0, case.name
            continue
        own = f'service="{case.name}"'
        assert _value(text, "ghost_service_up", own) == 0, case.name
        probes = _value(text, "ghost_probes_total", own)
        assert probes is not None, case.name
        assert probes >= 2, case.name
        # Every probe ended within the timeout plus a margin (the 2.5 s bucket holds them all).
        within = _value(text, "ghost_probe_duration_seconds_bucket", f'{own},le="2.5"')
        assert within == probes, case.name
        if case.bug is None:
            reason = f'{own},reason="{case.reason.value}"'
            assert _value(text, "ghost_probe_failures_total", reason) == probes, case.name
    log = exporter.log.read_text()
    assert "Traceback" not in log
