"""``POST /api/canary`` on a real ``ghost-stress`` process: the event path, and its bounds."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ghost_stress.canary import MAX_BODY_BYTES, MAX_ID_LENGTH

from .conftest import StatusApi, Stress

StartStress = Callable[..., Stress]


async def _post(http: aiohttp.ClientSession, url: str, body: bytes) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    async with http.post(url, data=body, headers=headers) as response:
        answer: dict[str, Any] = await response.json()
        return response.status, answer


async def _get(http: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with http.get(url) as response:
        assert response.status == 200
        body: dict[str, Any] = await response.json()
        return body


async def _one_patch_daemon(stress: StartStress, tmp_path: Path, *extra: str) -> Stress:
    """A daemon whose one patch an hour, its first at once, appends to a file."""
    marker = tmp_path / "ran"
    daemon = stress(
        "daemon", "--rate", "1/h", "--shell", "--command", f"echo patch >> {marker}", *extra
    )
    await asyncio.to_thread(daemon.port)
    return daemon


async def _finished_patches(http: aiohttp.ClientSession, daemon: Stress) -> dict[str, Any]:
    async with asyncio.timeout(15):
        while True:
            status = await _get(http, daemon.url("/api/status"))
            if status["patches"]["completed"] == 1:
                return status
            await asyncio.sleep(0.05)


async def test_a_canary_travels_the_event_path_and_is_no_patch(
    stress: StartStress,
    status_api: StatusApi,
    http: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    daemon = await _one_patch_daemon(stress, tmp_path, "--report-to", status_api.url)
    before = await _finished_patches(http, daemon)
    async with http.ws_connect(daemon.url("/ws").replace("http", "ws", 1)) as ws:
        status, answer = await _post(http, daemon.url("/api/canary"), b'{"id": "c-1_A"}')
        assert status == 202, answer
        assert answer["id"] == "c-1_A"
        pushed = await ws.receive_json(timeout=5)
    assert pushed == {
        "seq": answer["seq"],
        "ts": answer["ts"],
        "type": "canary",
        "canary_id": "c-1_A",
        "daemon": "stress",
    }
    log = await _get(http, daemon.url(f"/api/patches?after={answer['seq'] - 1}"))
    assert log["events"] == [pushed]

    async with asyncio.timeout(10):
        while not any(e["type"] == "canary" for e in status_api.received):  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    assert [e for e in status_api.received if e["type"] == "canary"] == [pushed]

    after = await _get(http, daemon.url("/api/status"))
    assert after["patches"] == before["patches"]
    assert after["duration_seconds"] == before["duration_seconds"]
    assert (before["canaries"], after["canaries"]) == (0, 1)
    assert (tmp_path / "ran").read_text() == "patch\n"  # the command ran for the patch only


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"id": ""}', "id must be 1 to 64 characters"),
        (json.dumps({"id": "c" * (MAX_ID_LENGTH + 1)}).encode(), "id must be 1 to 64"),
        (b'{"id": "a b"}', "id must be 1 to 64"),
        (b'{"id": "x/../y"}', "id must be 1 to 64"),
        (b'{"id": "caf\\u00e9"}', "id must be 1 to 64"),
        (b'{"id": 7}', "id must be 1 to 64"),
        (b"{}", "id must be 1 to 64"),
        (b'{"id": "c", "extra": 1}', "unknown keys ['extra']"),
        (b'["c"]', "must be a JSON object"),
        (b"not json", "must be JSON"),
        (b"\xff\xfe", "must be JSON"),
        (json.dumps({"id": "c" + " " * MAX_BODY_BYTES}).encode(), "at most 1024 bytes"),
    ],
)
async def test_bad_canaries_are_refused_with_a_json_error(
    stress: StartStress, http: aiohttp.ClientSession, body: bytes, message: str
) -> None:
    daemon = stress("daemon", "--rate", "1/h", "--duration", "0")
    status, answer = await _post(http, await asyncio.to_thread(daemon.url, "/api/canary"), body)
    assert status == 400
    assert message in answer["error"]
    assert (await _get(http, daemon.url("/api/status")))["canaries"] == 0


async def test_a_chunked_body_past_the_limit_is_refused(
    stress: StartStress, http: aiohttp.ClientSession
) -> None:
    daemon = stress("daemon", "--rate", "1/h", "--duration", "0")
    url = await asyncio.to_thread(daemon.url, "/api/canary")

    async def chunks() -> Any:
        for _ in range(4):
            yield b" " * 512
        yield b'{"id": "c"}'

    async with http.post(url, data=chunks()) as response:
        assert response.status == 400
        assert "at most 1024 bytes" in (await response.json())["error"]


async def test_more_than_ten_canaries_a_second_get_429(
    stress: StartStress, http: aiohttp.ClientSession
) -> None:
    daemon = stress("daemon", "--rate", "1/h", "--duration", "0")
    url = await asyncio.to_thread(daemon.url, "/api/canary")
    answers = await asyncio.gather(
        *(_post(http, url, f'{{"id": "c{n}"}}'.encode()) for n in range(40))
    )
    statuses = [status for status, _ in answers]
    accepted = statuses.count(202)
    assert accepted >= 10  # a full bucket admits a burst of ten
    assert statuses.count(429) >= 1
    assert set(statuses) == {202, 429}
    refused = next(answer for status, answer in answers if status == 429)
    assert refused == {"error": "at most 10 canaries per second"}
    status = await _get(http, daemon.url("/api/status"))
    assert status["canaries"] == accepted
    log = await _get(http, daemon.url("/api/patches?limit=1000"))
    assert len([e for e in log["events"] if e["type"] == "canary"]) == accepted
    await asyncio.sleep(1.1)  # the bucket refills
    assert (await _post(http, url, b'{"id": "again"}'))[0] == 202
