"""Fixtures for abusing the stress daemon: the real ``ghost-stress`` process and its vital signs."""

from __future__ import annotations

import json
import os
import urllib.request
from dataclasses import dataclass
from typing import Any

from tests.integration.stress.conftest import Stress, stress
from tests.support import rss_bytes

__all__ = ["Stress", "Vitals", "stress"]


@dataclass
class Vitals:
    """Reads a running daemon: its status (checking the accounting invariant), RSS and fds."""

    daemon: Stress

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.daemon.url(path), timeout=10) as resp:
            return json.load(resp)

    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = self.get("/api/status")
        p = status["patches"]
        assert p["started"] == p["completed"] + p["failed"] + p["timeout"] + p["in_flight"], p
        return status

    def started(self) -> int:
        return int(self.status()["patches"]["started"])

    def rss(self) -> int:
        return rss_bytes(self.daemon.process.pid)

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.daemon.process.pid}/fd"))
