"""The HTTP prober: status, redirects, body limits and regexes, JSON health field, phases."""

from __future__ import annotations

import json
import re
import time
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

import aiohttp
from yarl import URL

from ghost_exporter.config.schema import HTTPProbe
from ghost_exporter.probes.base import (
    FailureReason,
    Health,
    ProbeResult,
    dotted_get,
    judge_health,
    map_health,
)
from ghost_exporter.probes.context import PhaseClock
from ghost_exporter.probes.errors import classify
from ghost_exporter.probes.tls import (
    CURRENT_HOLDER,
    cert_expiry,
    client_context,
    handshake_seconds,
)

if TYPE_CHECKING:
    from ghost_exporter.config import Target
    from ghost_exporter.probes.context import ProbeContext

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_READ_CHUNK = 64 * 1024


def _phases(clock: PhaseClock, tls_seconds: float | None, end: float) -> dict[str, float]:
    phases: dict[str, float] = {}
    resolve = 0.0
    if clock.dns_start is not None and clock.dns_end is not None:
        resolve = clock.dns_end - clock.dns_start
    phases["resolve"] = resolve
    if clock.connect_start is not None and clock.connect_end is not None:
        tls = tls_seconds or 0.0
        phases["connect"] = max(0.0, clock.connect_end - clock.connect_start - resolve - tls)
        if tls_seconds is not None:
            phases["tls"] = tls_seconds
        sent = clock.connect_end
    else:
        sent = clock.request_start
    if clock.headers_received is not None:
        phases["processing"] = max(0.0, clock.headers_received - sent)
        phases["transfer"] = max(0.0, end - clock.headers_received)
    elif clock.connect_end is not None:  # cut short while waiting for the answer
        phases["processing"] = max(0.0, end - sent)
    return phases


def _merge(total: dict[str, float], hop: dict[str, float]) -> None:
    for name, seconds in hop.items():
        total[name] = total.get(name, 0.0) + seconds


async def read_body(resp: aiohttp.ClientResponse, limit: int, result: ProbeResult) -> bytes | None:
    length = resp.content_length
    if length is not None and length > limit:
        result.fail(FailureReason.BODY, f"body of {length} bytes is over the {limit} byte limit")
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await resp.content.read(min(_READ_CHUNK, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            result.fail(FailureReason.BODY, f"body is over the {limit} byte limit")
            return None
    return b"".join(chunks)


def _check_body(spec: HTTPProbe, body: bytes, result: ProbeResult) -> None:
    text: str | None = None
    if spec.body_regex is not None or spec.body_not_regex is not None:
        text = body.decode("utf-8", errors="replace")
        if spec.body_regex is not None and not re.search(spec.body_regex, text):
            result.fail(FailureReason.BODY, "body does not match body_regex")
        if spec.body_not_regex is not None and re.search(spec.body_not_regex, text):
            result.fail(FailureReason.BODY, "body matches body_not_regex")
    if spec.health_field is None:
        if result.reason is None:
            result.health = Health.HEALTHY
        return
    try:
        data = json.loads(body)
    except ValueError:
        result.health = Health.UNKNOWN
        result.fail(FailureReason.BODY, "body is not valid JSON")
        return
    found, value = dotted_get(data, spec.health_field)
    if not found:
        result.health = Health.UNKNOWN
        result.fail(FailureReason.HEALTH, f"health field {spec.health_field!r} is missing")
        return
    judge_health(result, map_health(value, spec.health_map))


def _redirect_target(
    spec: HTTPProbe, url: str, location: str, origin: str | None, result: ProbeResult
) -> str | None:
    """The URL to follow, or None when the redirect is refused (and the result failed)."""
    target = urljoin(url, location)
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https"):
        result.fail(FailureReason.STATUS, f"redirect to a {parts.scheme!r} URL")
        return None
    if parts.hostname != origin and not spec.allow_external_redirects:
        result.fail(
            FailureReason.STATUS, f"redirect to another host ({parts.hostname}) is not allowed"
        )
        return None
    return target


def _record_cert(ssl_object: object, result: ProbeResult) -> None:
    if ssl_object is None:
        return
    expiry = cert_expiry(ssl_object)
    if expiry is not None:
        earlier = result.cert_expiry
        result.cert_expiry = expiry if earlier is None else min(expiry, earlier)


class HTTPProber:
    """Probe an HTTP(S) endpoint; redirects are followed by hand to keep them on the host."""

    async def __call__(self, target: Target, ctx: ProbeContext, result: ProbeResult) -> None:
        spec = target.spec
        assert isinstance(spec, HTTPProbe)
        try:
            await self._probe(spec, ctx, result)
        except Exception as exc:  # a prober never raises: every error is a reason
            reason, message = classify(exc)
            result.fail(reason, message)

    async def _probe(self, spec: HTTPProbe, ctx: ProbeContext, result: ProbeResult) -> None:
        session = ctx.session(spec.keepalive)
        url = spec.url
        origin = urlsplit(url).hostname
        headers = {k: v.get_secret_value() for k, v in spec.headers.items()}
        auth = None
        if spec.basic_auth is not None:
            auth = aiohttp.BasicAuth(
                spec.basic_auth.username, spec.basic_auth.password.get_secret_value()
            )
        method, data = spec.method, spec.body
        for _hop in range(spec.max_redirects + 1):
            ssl_ctx = client_context(spec.tls_config) if url.startswith("https") else True
            clock = PhaseClock(request_start=time.perf_counter())
            CURRENT_HOLDER.set(clock)
            try:
                async with session.request(
                    method,
                    URL(url, encoded=True),
                    headers=headers,
                    data=data,
                    auth=auth,
                    ssl=ssl_ctx,
                    allow_redirects=False,
                    trace_request_ctx=clock,
                    server_hostname=spec.tls_config.server_name,
                ) as resp:
                    result.status_code = resp.status
                    _record_cert(clock.ssl_object, result)
                    location = resp.headers.get("Location")
                    if spec.follow_redirects and resp.status in _REDIRECTS and location:
                        following = _redirect_target(spec, url, location, origin, result)
                        if following is None:
                            return
                        url = following
                        if resp.status == 303 or (resp.status in (301, 302) and method == "POST"):
                            method, data = "GET", None
                        continue
                    body = await read_body(resp, spec.max_body_bytes, result)
                    valid = spec.valid_status_codes
                    if (resp.status not in valid) if valid else not 200 <= resp.status < 300:
                        result.fail(FailureReason.STATUS, f"status {resp.status}")
                    if body is not None:
                        _check_body(spec, body, result)
                    result.succeed()
                    return
            finally:  # also on timeout: the phases measured so far are kept
                CURRENT_HOLDER.set(None)
                hop = _phases(clock, handshake_seconds(clock.ssl_object), time.perf_counter())
                _merge(result.phases, hop)
        result.fail(FailureReason.STATUS, f"more than {spec.max_redirects} redirects")
