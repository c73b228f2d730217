"""The Alertmanager webhook receiver of status-api: record, list, filter, clear."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from .conftest import DemoProcess


def notification(alertname: str, status: str = "firing", receiver: str = "ghost") -> dict[str, Any]:
    """A notification as Alertmanager's webhook (version 4) sends it."""
    labels = {"alertname": alertname, "service": "dual-monitor", "severity": "critical"}
    return {
        "version": "4",
        "groupKey": '{}:{service="dual-monitor"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": receiver,
        "groupLabels": {"service": "dual-monitor"},
        "commonLabels": labels,
        "commonAnnotations": {"summary": "dual-monitor is down"},
        "externalURL": "http://127.0.0.1:9093",
        "alerts": [
            {
                "status": status,
                "labels": labels,
                "annotations": {"summary": "dual-monitor is down"},
                "startsAt": "2026-01-01T00:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://127.0.0.1:9090/graph",
                "fingerprint": "c0ffee",
            }
        ],
    }


@pytest.fixture
async def alerts_url(demo: DemoProcess, http: aiohttp.ClientSession) -> AsyncIterator[str]:
    url = demo.url("status-api", "/api/alerts")
    async with http.delete(url) as response:
        assert response.status == 200
    yield url
    async with http.delete(url) as response:
        assert response.status == 200


async def test_records_lists_and_clears(alerts_url: str, http: aiohttp.ClientSession) -> None:
    before = time.time()
    first, second = notification("GhostServiceDown"), notification("GhostSlow", "resolved")
    async with http.post(alerts_url, json=first) as response:
        assert response.status == 200
    async with http.post(f"{alerts_url}/critical", json=second) as response:
        assert response.status == 200

    async with http.get(alerts_url) as response:
        listed = (await response.json())["notifications"]
    assert [item["payload"] for item in listed] == [first, second]
    assert [item["path_receiver"] for item in listed] == [None, "critical"]
    assert all(before <= item["received_at"] <= time.time() for item in listed)

    async with http.get(alerts_url, params={"receiver": "critical"}) as response:
        only = (await response.json())["notifications"]
    assert [item["payload"]["alerts"][0]["labels"]["alertname"] for item in only] == ["GhostSlow"]

    async with http.delete(alerts_url) as response:
        assert await response.json() == {"cleared": 2}
    async with http.get(alerts_url) as response:
        assert await response.json() == {"notifications": []}


NOT_NOTIFICATIONS = [
    [],
    "text",
    {"status": "firing"},
    {"alerts": "x"},
    {"alerts": [1]},
    {"alerts": [], "status": 1},
]


@pytest.mark.parametrize("body", NOT_NOTIFICATIONS)
async def test_rejects_what_is_not_a_notification(
    alerts_url: str, http: aiohttp.ClientSession, body: object
) -> None:
    async with http.post(alerts_url, json=body) as response:
        assert response.status == 400
        assert "error" in await response.json()
    async with http.get(alerts_url) as response:
        assert await response.json() == {"notifications": []}


async def test_keeps_the_last_thousand(alerts_url: str, http: aiohttp.ClientSession) -> None:
    for index in range(1005):
        async with http.post(alerts_url, json=notification(f"A{index}")) as response:
            assert response.status == 200
    async with http.get(alerts_url) as response:
        listed = (await response.json())["notifications"]
    assert len(listed) == 1000
    assert listed[0]["payload"]["alerts"][0]["labels"]["alertname"] == "A5"
