"""What the manifests are built from: the rule files, the dashboards, the Alertmanager routing
and the exporter configuration of the cluster, read from the repository as they are."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, Final

import yaml

#: The repository root (deploy/ghost_deploy/ is two levels below it).
ROOT: Final = Path(__file__).resolve().parents[2]
KUBERNETES_DIR: Final = ROOT / "deploy" / "kubernetes"
#: The exporter configuration of the base: written by hand, read by the generator.
BASE_CONFIG: Final = KUBERNETES_DIR / "base" / "ghost.yml"
RULE_FILES_DIR: Final = ROOT / "prometheus" / "rules"
ALERTS_FILE: Final = ROOT / "alerts" / "ghost-alerts.yml"
ALERTMANAGER_FILE: Final = ROOT / "alerts" / "alertmanager.yml"
DASHBOARDS_DIR: Final = ROOT / "grafana" / "dashboards"


def rule_files() -> list[Path]:
    """The files whose groups the PrometheusRule holds, in the order Prometheus loads them
    (``rules/*.yml``, then the alerts, as in prometheus/prometheus.yml)."""
    return [*sorted(RULE_FILES_DIR.glob("*.yml")), ALERTS_FILE]


def rule_groups() -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = []
    for path in rule_files():
        groups.extend(yaml.safe_load(path.read_text(encoding="utf-8"))["groups"])
    return groups


def dashboards() -> dict[str, dict[str, Any]]:
    """File name -> dashboard JSON of grafana/dashboards."""
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(DASHBOARDS_DIR.glob("*.json"))
    }


def alertmanager() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(ALERTMANAGER_FILE.read_text(encoding="utf-8"))
    return data


def base_config_text() -> str:
    return BASE_CONFIG.read_text(encoding="utf-8")


def probe_target_names(config_text: str) -> list[str]:
    """The names ``/probe`` answers for, in the order of the file: services, daemons and
    reporters. Pipelines stay on the exporter's schedule (a round outlasts a scrape)."""
    from ghost_exporter.config import parse_config

    config = parse_config(config_text, str(BASE_CONFIG), BASE_CONFIG.parent)
    return [target.name for target in config.targets if target.kind != "pipeline"]


def version() -> str:
    """The project's version, the tag of the image."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    text: str = data["project"]["version"]
    return text
