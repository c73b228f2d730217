"""The recording rules the dashboards may use, and their labels (the design's fixed names)."""

from __future__ import annotations

from pathlib import Path

import yaml

from ghost_rules import DEFAULT_PROFILE, load_config

from .conftest import ROOT

RULES_DIR = ROOT / "prometheus" / "rules"
#: The error-ratio windows of alerts/config.yml.
WINDOWS = tuple(load_config().profile(DEFAULT_PROFILE).windows)

#: Recording rule -> the labels it keeps.
FIXED_RULES: dict[str, tuple[str, ...]] = {
    "ghost:patch_success_ratio:rate5m": ("daemon",),
    "ghost:probe_duration_seconds:p95_5m": ("service",),
    "ghost:service_availability:ratio_1h": ("service",),
    "ghost:patches:rate5m": ("daemon", "outcome"),
    **{f"ghost:service_error_ratio:rate{window}": ("service",) for window in WINDOWS},
    **{f"ghost:patch_error_ratio:rate{window}": ("daemon",) for window in WINDOWS},
    "ghost:pipeline_delivered_ratio:rate5m": ("pipeline",),
    **{f"ghost:pipeline_error_ratio:rate{window}": ("pipeline",) for window in WINDOWS},
}


def rule_files() -> list[Path]:
    """prometheus/rules/*.yml (and *.yaml); none found is a failure, never an empty check."""
    files = sorted(RULES_DIR.glob("*.yml")) + sorted(RULES_DIR.glob("*.yaml"))
    assert files, f"no rule files in {RULES_DIR} (`make rules` writes them)"
    return files


def recorded_names() -> set[str]:
    """``record:`` names of prometheus/rules/*.yml."""
    names: set[str] = set()
    for path in rule_files():
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for group in document.get("groups", []):
            names.update(rule["record"] for rule in group["rules"] if "record" in rule)
    return names
