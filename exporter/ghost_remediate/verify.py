"""Verification after an action: ask the exporter's ``/probe?target=SERVICE`` until the service
is up and healthy (``ghost_service_up 1`` and ``ghost_service_health{state="healthy"} 1``) or the
deadline passes."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from .actions import Outcome
from .config import VerifySpec

#: Largest /probe answer read, in bytes.
MAX_PROBE_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ProbeState:
    up: float | None
    health: str | None  # the state whose ghost_service_health sample is 1

    @property
    def healthy(self) -> bool:
        return self.up == 1 and self.health == "healthy"

    def __str__(self) -> str:
        up = "none" if self.up is None else f"{self.up:g}"
        return f"ghost_service_up={up} health={self.health or 'none'}"


def parse_probe(text: str) -> ProbeState:
    """The up and health samples of one /probe answer (the exporter's text format)."""
    up: float | None = None
    health: str | None = None
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "ghost_service_up":
                up = sample.value
            elif sample.name == "ghost_service_health" and sample.value == 1:
                health = sample.labels.get("state")
    return ProbeState(up, health)


class _Fatal(Exception):
    """An answer that asking again will not change."""


async def _probe_once(
    session: aiohttp.ClientSession, spec: VerifySpec, target: str, timeout: float
) -> ProbeState:
    async with (
        asyncio.timeout(timeout),
        session.get(
            spec.probe_url,
            params={"target": target},
            headers=dict(spec.headers),
            ssl=spec.ssl if spec.ssl is not None else True,
            server_hostname=spec.server_name,
            allow_redirects=False,
        ) as response,
    ):
        if response.status in (400, 404):
            raise _Fatal(f"the exporter has no target {target!r} (HTTP {response.status})")
        if response.status != 200:
            raise ValueError(f"HTTP {response.status}")
        raw = await response.content.read(MAX_PROBE_BYTES)
    return parse_probe(raw.decode("utf-8", "replace"))


async def verify(
    session: aiohttp.ClientSession, spec: VerifySpec, target: str, timeout: float
) -> Outcome:
    """Poll until ``target`` is up and healthy (ok), or ``timeout`` seconds passed (not ok)."""
    start = time.monotonic()
    deadline = start + timeout
    last = "no answer"
    while True:
        remaining = deadline - time.monotonic()
        try:
            state = await _probe_once(
                session, spec, target, max(0.05, min(spec.request_timeout, remaining))
            )
        except _Fatal as exc:
            return Outcome(False, f"verification failed: {exc}")
        except TimeoutError:
            last = "probe timed out"
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            last = f"probe failed: {exc}"
        else:
            if state.healthy:
                return Outcome(True, f"up and healthy after {time.monotonic() - start:.1f}s")
            last = str(state)
        if time.monotonic() + spec.interval >= deadline:
            return Outcome(False, f"not up and healthy within {timeout:g}s (last: {last})")
        await asyncio.sleep(spec.interval)
