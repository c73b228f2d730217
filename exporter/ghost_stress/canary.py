"""``POST /api/canary``: a canary event through the daemon's event path, bounded.

A canary is what an exporter pipeline emits to time the real-time feed: the event goes into the
event log (``GET /api/patches``), onto ``/ws`` and to ``--report-to`` exactly as a patch event
does, but it is not a patch: no patch counter moves and ``--command`` never runs.

The endpoint is open to anyone who reaches the status API, so it is bounded: the body is at most
:data:`MAX_BODY_BYTES`, the id at most :data:`MAX_ID_LENGTH` characters of ``[A-Za-z0-9_-]``, and
a token bucket admits :data:`RATE` canaries per second (bursts of :data:`BURST`); more get 429.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable

from aiohttp import web

MAX_ID_LENGTH = 64
MAX_BODY_BYTES = 1024
RATE = 10.0
BURST = 10.0

_ID_RE = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_ID_LENGTH}}}")


class CanaryError(ValueError):
    """A canary request that is refused (the message is the JSON error)."""


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved; ``take`` never waits."""

    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs a positive rate and a burst of at least 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = burst
        self._last = clock()

    def take(self) -> bool:
        """Spend one token if there is one."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


def parse_canary(body: bytes) -> str:
    """The canary id of a request body ``{"id": "..."}``; raises CanaryError otherwise."""
    if len(body) > MAX_BODY_BYTES:
        raise CanaryError(f"the body must be at most {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise CanaryError('the body must be JSON like {"id": "c-1"}') from None
    if not isinstance(data, dict):
        raise CanaryError('the body must be a JSON object like {"id": "c-1"}')
    unknown = sorted(set(data) - {"id"})
    if unknown:
        raise CanaryError(f"unknown keys {unknown}: only id is accepted")
    canary_id = data.get("id")
    if not isinstance(canary_id, str) or _ID_RE.fullmatch(canary_id) is None:
        raise CanaryError(
            f"id must be 1 to {MAX_ID_LENGTH} characters of A-Z, a-z, 0-9, '_' and '-'"
        )
    return canary_id


async def read_body(request: web.Request) -> bytes:
    """At most ``MAX_BODY_BYTES + 1`` bytes of the body: enough to tell that it is too long."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise CanaryError(f"the body must be at most {MAX_BODY_BYTES} bytes")
    body = b""
    while len(body) <= MAX_BODY_BYTES:
        chunk = await request.content.read(MAX_BODY_BYTES + 1 - len(body))
        if not chunk:
            break
        body += chunk
    return body
