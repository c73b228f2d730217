"""Grafana provisioning files: Grafana's documented formats, and what the dashboards expect."""

from __future__ import annotations

from typing import Any

import yaml

from ghost_dashboards.constants import DATASOURCE_NAME, DATASOURCE_UID

from .conftest import PROVISIONING, ROOT


def load(relative: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((PROVISIONING / relative).read_text("utf-8"))
    return document


def test_datasource_has_the_fixed_uid_and_its_url_from_the_environment() -> None:
    document = load("datasources/ghost.yml")
    assert document["apiVersion"] == 1
    [datasource] = document["datasources"]
    assert datasource["uid"] == DATASOURCE_UID
    assert datasource["name"] == DATASOURCE_NAME
    assert datasource["type"] == "prometheus"
    assert datasource["access"] == "proxy"
    # Grafana expands ${VAR} in provisioning files but has no ${VAR:-default} syntax.
    assert datasource["url"] == "${GHOST_PROMETHEUS_URL}"
    assert datasource["jsonData"]["timeInterval"] == "15s"


def test_datasource_time_interval_is_the_scrape_interval() -> None:
    scrape = yaml.safe_load((ROOT / "docker" / "prometheus.yml").read_text("utf-8"))
    [datasource] = load("datasources/ghost.yml")["datasources"]
    assert datasource["jsonData"]["timeInterval"] == scrape["global"]["scrape_interval"]


def test_dashboard_provider_loads_the_files_into_the_ghost_folder() -> None:
    document = load("dashboards/ghost.yml")
    assert document["apiVersion"] == 1
    [provider] = document["providers"]
    assert provider["type"] == "file"
    assert provider["folder"] == "Ghost"
    assert provider["options"]["path"].startswith("/")
    assert provider["allowUiUpdates"] is False


def test_provisioning_holds_only_the_two_files() -> None:
    files = sorted(str(path.relative_to(PROVISIONING)) for path in PROVISIONING.rglob("*.yml"))
    assert files == ["dashboards/ghost.yml", "datasources/ghost.yml"]
