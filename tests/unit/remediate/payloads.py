"""Alertmanager webhook payloads (version 4) for the ghost-remediate tests."""

from __future__ import annotations

from typing import Any

STARTS_AT = "2024-05-01T10:00:00.000Z"


def alert(
    alertname: str = "GhostServiceUnhealthy",
    service: str | None = "dual-monitor",
    status: str = "firing",
    fingerprint: str = "f00d",
    starts_at: str = STARTS_AT,
    **labels: str,
) -> dict[str, Any]:
    all_labels = {"alertname": alertname, "severity": "critical", **labels}
    if service is not None:
        all_labels["service"] = service
    return {
        "status": status,
        "labels": all_labels,
        "annotations": {"summary": "A ghost service reports itself unhealthy."},
        "startsAt": starts_at,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://127.0.0.1:9090/graph",
        "fingerprint": fingerprint,
    }


def notification(*alerts: dict[str, Any], receiver: str = "ghost-remediate") -> dict[str, Any]:
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "version": "4",
        "groupKey": '{}/{alertname=~"GhostServiceDown|GhostServiceUnhealthy"}:{}',
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": receiver,
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://127.0.0.1:9093",
        "alerts": list(alerts),
    }
