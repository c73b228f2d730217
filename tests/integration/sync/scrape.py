"""Reading one sample out of exposition text."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def sample_value(text: str, metric: str, **labels: str) -> float | None:
    """The value of the first sample named ``metric`` that carries ``labels``, or None."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == metric and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return None
