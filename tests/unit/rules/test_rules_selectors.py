"""The job selectors and the cluster label of alerts/config.yml reach every rule."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType

import yaml

from .conftest import ALERTS_DIR

SELECTOR = 'job=~"ghost.*", namespace="monitoring"'
REMEDIATE = 'job="ghost-remediate"'
#: A series name where PromQL selects one (not a recorded ghost:... name, not a label value).
RAW_SERIES = re.compile(r'(?<![\w:"])(ghost_[a-z_]+|up)(?=[{\[ )]|$)')


def _config(tmp_path: Path, **settings: object) -> Path:
    config = yaml.safe_load((ALERTS_DIR / "config.yml").read_text(encoding="utf-8"))
    config.update(settings)
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def _texts(generator: ModuleType, path: Path) -> list[tuple[str, str]]:
    """(rule name, expression or annotation query) of every rule of both profiles."""
    config = generator.load_config(path)
    found = []
    for profile in ("default", "fast"):
        for groups in generator.build(config, profile).values():
            for group in groups:
                for rule in group["rules"]:
                    name = rule.get("alert") or rule["record"]
                    found.append((name, rule["expr"]))
                    for query in re.findall(r"printf `([^`]*)`", str(rule.get("annotations"))):
                        found.append((name, query))
    return found


def test_every_raw_series_takes_its_selector(generator: ModuleType, tmp_path: Path) -> None:
    path = _config(
        tmp_path, selectors={"exporter": SELECTOR, "remediate": REMEDIATE}, cluster_label="cluster"
    )
    texts = _texts(generator, path)
    queries = [text for _, text in texts if "%q" in text]
    assert len(queries) == 6  # GhostMonitorOutOfSync's three lookups, in both profiles
    checked = 0
    for name, text in texts:
        for match in RAW_SERIES.finditer(text):
            metric = match.group(1)
            rest = text[match.end() :]
            wanted = REMEDIATE if metric == "ghost_remediations_total" else SELECTOR
            assert rest.startswith("{" + wanted), f"{name}: {metric} without {wanted}: {text}"
            checked += 1
    assert checked > 50


def test_every_grouping_keeps_the_cluster_label(generator: ModuleType, tmp_path: Path) -> None:
    texts = _texts(generator, _config(tmp_path, cluster_label="cluster"))
    groupings = 0
    for name, text in texts:
        for clause in re.findall(r"\b(?:by|on) \(([^)]*)\)", text):
            assert clause.split(", ")[0] == "cluster", f"{name}: ({clause}) in {text}"
            groupings += 1
        for query in re.findall(r"\{[^}]*%q[^}]*\}", text):
            assert "cluster=%q" in query, f"{name}: {query}"
    assert groupings > 50


def test_defaults_select_as_before(generator: ModuleType) -> None:
    texts = _texts(generator, ALERTS_DIR / "config.yml")
    assert not any("cluster" in text for _, text in texts)
    exprs = dict(texts)
    assert exprs["GhostDaemonDown"] == "ghost_daemon_up == 0"
    assert exprs["GhostExporterDown"] == 'up{job="ghost"} == 0'
