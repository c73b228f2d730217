"""Silences in Alertmanager while a remediation runs (API v2): created when it starts, matching
the alert's name and service, and expired as soon as it ends. A failure is logged and counted,
and never holds a remediation back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import aiohttp

from .config import AlertmanagerSpec
from .metrics import Metrics

log = logging.getLogger("ghost_remediate")

#: createdBy of every silence ghost-remediate creates.
CREATED_BY = "ghost-remediate"


def _timestamp(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def silence_body(
    matchers: Mapping[str, str], seconds: float, comment: str, now: datetime | None = None
) -> dict[str, object]:
    """The body of ``POST /api/v2/silences``: equality matchers, from now for ``seconds``."""
    start = now or datetime.now(UTC)
    return {
        "matchers": [
            {"name": name, "value": value, "isRegex": False, "isEqual": True}
            for name, value in matchers.items()
        ],
        "startsAt": _timestamp(start),
        "endsAt": _timestamp(start + timedelta(seconds=seconds)),
        "createdBy": CREATED_BY,
        "comment": comment,
    }


class Silencer:
    def __init__(self, spec: AlertmanagerSpec, metrics: Metrics) -> None:
        self.spec = spec
        self.metrics = metrics

    async def _request(
        self, session: aiohttp.ClientSession, method: str, path: str, body: object = None
    ) -> tuple[int, object]:
        async with (
            asyncio.timeout(self.spec.timeout),
            session.request(
                method,
                self.spec.url.rstrip("/") + path,
                json=body,
                headers=dict(self.spec.headers),
                ssl=self.spec.ssl if self.spec.ssl is not None else True,
                server_hostname=self.spec.server_name,
                allow_redirects=False,
            ) as response,
        ):
            data: object = None
            if response.content_type == "application/json":
                data = await response.json()
            else:
                await response.read()
            return response.status, data

    async def _try(
        self, session: aiohttp.ClientSession, method: str, path: str, body: object = None
    ) -> tuple[int, object] | str:
        """The status and JSON answer, or what went wrong."""
        try:
            return await self._request(session, method, path, body)
        except TimeoutError:
            return f"timed out after {self.spec.timeout:g}s"
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return f"{type(exc).__name__}: {exc}"

    async def create(
        self,
        session: aiohttp.ClientSession,
        matchers: Mapping[str, str],
        seconds: float,
        comment: str,
    ) -> str | None:
        """The new silence's id, or None (logged and counted) when Alertmanager refused it or
        could not be reached."""
        answer = await self._try(
            session, "POST", "/api/v2/silences", silence_body(matchers, seconds, comment)
        )
        if isinstance(answer, str):
            error = answer
        else:
            status, data = answer
            if status == 200 and isinstance(data, dict) and isinstance(data.get("silenceID"), str):
                silence_id: str = data["silenceID"]
                log.info("silence created", extra={"silence_id": silence_id, **matchers})
                return silence_id
            error = f"HTTP {status}: {str(data)[:200]}"
        self.metrics.silence_errors.labels("create").inc()
        log.warning("cannot create a silence", extra={"error": error, **matchers})
        return None

    async def expire(self, session: aiohttp.ClientSession, silence_id: str) -> bool:
        """Expire the silence now; False (logged and counted) when that failed. A silence that
        is gone already (404) counts as expired."""
        answer = await self._try(session, "DELETE", f"/api/v2/silence/{silence_id}")
        if isinstance(answer, str):
            error = answer
        elif answer[0] in (200, 404):
            log.info("silence expired", extra={"silence_id": silence_id})
            return True
        else:
            error = f"HTTP {answer[0]}: {str(answer[1])[:200]}"
        self.metrics.silence_errors.labels("expire").inc()
        log.warning("cannot expire a silence", extra={"silence_id": silence_id, "error": error})
        return False
