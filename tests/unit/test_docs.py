"""The docs are kept true by the code: every option and every metric is documented."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from ghost_exporter.config import schema
from ghost_exporter.metrics import ALL_METRICS, PIPELINE_METRICS, REPORTER_METRICS

ROOT = Path(__file__).resolve().parents[2]


def _options(model: type[BaseModel]) -> set[str]:
    names = set(model.model_fields)
    for field in model.model_fields.values():
        annotation = field.annotation
        for candidate in getattr(annotation, "__args__", (annotation,)):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                names |= _options(candidate)
            for inner in getattr(candidate, "__args__", ()):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    names |= _options(inner)
    return names


def test_every_config_option_is_documented() -> None:
    doc = (ROOT / "docs" / "configuration.md").read_text()
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", doc, re.M))
    options = _options(schema.ConfigFile)
    assert options >= {"health_field", "timestamp_field", "ca_file", "expect", "keepalive"}
    assert options - documented == set()


def test_every_metric_is_documented() -> None:
    doc = (ROOT / "docs" / "metrics.md").read_text()
    documented = set(re.findall(r"^\| `(ghost_[a-z_]+)` \|", doc, re.M))
    assert {m.name for m in ALL_METRICS} - documented == set()
    for metric in ALL_METRICS:
        row = next(line for line in doc.splitlines() if line.startswith(f"| `{metric.name}` |"))
        assert f"| {metric.type} |" in row
        for label in metric.labels:
            assert f"`{label}`" in row


def test_sync_page_covers_its_metrics_and_is_linked() -> None:
    doc = (ROOT / "docs" / "sync.md").read_text()
    for metric in REPORTER_METRICS + PIPELINE_METRICS:
        assert f"`{metric.name}" in doc, metric.name
    for key in ("services_field", "name_field", "state_field", "deadline", "{{canary}}"):
        assert key in doc
    assert "(docs/sync.md)" in (ROOT / "README.md").read_text()
    for page in ("configuration.md", "metrics.md"):
        assert "(sync.md" in (ROOT / "docs" / page).read_text()
