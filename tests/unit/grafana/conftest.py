"""Fixtures of the Grafana tests: the dashboards package on sys.path, the committed files."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
GRAFANA = ROOT / "grafana"
DASHBOARDS_DIR = GRAFANA / "dashboards"
PROVISIONING = GRAFANA / "provisioning"

if str(GRAFANA) not in sys.path:
    sys.path.insert(0, str(GRAFANA))

Dashboard = dict[str, Any]


def load_dashboards() -> dict[str, Dashboard]:
    """File name -> parsed JSON of every committed dashboard."""
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(DASHBOARDS_DIR.glob("*.json"))
    }


def panels(dashboard: Dashboard) -> list[dict[str, Any]]:
    """Every panel, rows included, and the panels of collapsed rows."""
    found = []
    for panel in dashboard.get("panels", []):
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def query_panels(dashboard: Dashboard) -> list[dict[str, Any]]:
    return [panel for panel in panels(dashboard) if panel["type"] != "row"]


@pytest.fixture(scope="session")
def dashboards() -> dict[str, Dashboard]:
    found = load_dashboards()
    assert found, f"no dashboards in {DASHBOARDS_DIR}; run `make dashboards`"
    return found
