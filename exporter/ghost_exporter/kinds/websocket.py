"""The websocket kind: handshake, optional message, first message, field checks, message lag."""

from __future__ import annotations

import json
import math
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

import aiohttp
from pydantic import Field, field_validator

from ghost_common.schema import TLSConfig
from ghost_exporter.config.schema import (
    Assertions,
    Headers,
    PositiveDuration,
    Size,
    StrictModel,
    check_url,
)
from ghost_exporter.kinds.kind import Kind
from ghost_exporter.metrics import SERVICE_METRICS
from ghost_exporter.probes.assertions import check_assertions
from ghost_exporter.probes.base import dotted_get
from ghost_exporter.probes.clients import WS_CLOSE_GRACE
from ghost_exporter.probes.tls import cert_expiry, client_context
from ghost_exporter.results import FailureReason, Health, ProbeResult
from ghost_exporter.samples import service_samples

if TYPE_CHECKING:
    from ghost_exporter.config.model import Target
    from ghost_exporter.probes.clients import ProbeContext

#: Timestamps above this are taken as milliseconds since the epoch (year 5138 in seconds).
_MILLIS_THRESHOLD = 1e11


class WebSocketProbe(StrictModel):
    """The websocket kind's config: the ``websocket`` key of a ``services`` entry."""

    url: str
    headers: Headers = Field(default_factory=dict)
    send: str | None = None
    expect_fields: dict[str, Any] = Field(default_factory=dict)
    timestamp_field: str | None = Field(default=None, min_length=1)
    max_lag: PositiveDuration | None = None
    max_message_bytes: Size = 1024 * 1024
    tls_config: TLSConfig = Field(default_factory=TLSConfig)
    assertions: Assertions = Field(default_factory=list)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_url(value, ("ws", "wss"))


def parse_timestamp(value: Any) -> float | None:
    """Seconds since the epoch from seconds, milliseconds, or an RFC 3339 string.

    Anything else, including NaN, infinities and numbers too large for a float, is None.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:
            return None
        if not math.isfinite(seconds):
            return None
        return seconds / 1000.0 if abs(seconds) > _MILLIS_THRESHOLD else seconds
    if isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            pass
        else:
            return parse_timestamp(number)
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
            if parsed.tzinfo is None:
                return None
            return parsed.timestamp()
        except (ValueError, OverflowError):
            return None
    return None


def check_message(spec: WebSocketProbe, payload: str | bytes, result: ProbeResult) -> None:
    """Apply field assertions and the timestamp lag to the first message."""
    if not spec.expect_fields and spec.timestamp_field is None:
        return
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than json can parse
        result.fail(FailureReason.BODY, "first message is not valid JSON")
        return
    for path, expected in spec.expect_fields.items():
        found, value = dotted_get(data, path)
        if not found:
            result.fail(FailureReason.BODY, f"field {path!r} is missing from the first message")
        elif value != expected:
            result.fail(FailureReason.BODY, f"field {path!r} is {value!r}, expected {expected!r}")
    if spec.timestamp_field is not None:
        found, value = dotted_get(data, spec.timestamp_field)
        stamp = parse_timestamp(value) if found else None
        if stamp is None:
            result.fail(
                FailureReason.BODY,
                f"timestamp field {spec.timestamp_field!r} is missing or not a timestamp",
            )
            return
        result.message_lag = time.time() - stamp
        if spec.max_lag is not None and result.message_lag > spec.max_lag:
            result.fail(
                FailureReason.HEALTH,
                f"message lag {result.message_lag:.3f}s is over max_lag {spec.max_lag:g}s",
            )


class WebSocketProber:
    """Connect, optionally send, wait for the first message; then close in the background."""

    async def __call__(self, target: Target, ctx: ProbeContext, result: ProbeResult) -> None:
        spec = target.spec
        assert isinstance(spec, WebSocketProbe)
        headers = {k: v.get_secret_value() for k, v in spec.headers.items()}
        ssl_ctx = client_context(spec.tls_config) if spec.url.startswith("wss") else None
        start = time.perf_counter()
        ws = await ctx.websocket.ws_connect(
            spec.url,
            headers=headers,
            ssl=ssl_ctx if ssl_ctx is not None else True,
            max_msg_size=spec.max_message_bytes,
            autoping=True,
            heartbeat=None,
            timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=WS_CLOSE_GRACE),
            server_hostname=spec.tls_config.server_name,
        )
        connected = time.perf_counter()
        result.phases["connect"] = connected - start
        result.status_code = 101
        try:
            if ssl_ctx is not None:
                result.cert_expiry = cert_expiry(ws.get_extra_info("ssl_object"))
            if spec.send is not None:
                await ws.send_str(spec.send)
            msg = await ws.receive()
            result.phases["first_message"] = time.perf_counter() - connected
            if msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                check_message(spec, msg.data, result)
                if result.reason is None:
                    result.health = Health.HEALTHY
                data = msg.data.encode() if isinstance(msg.data, str) else msg.data
                await check_assertions(spec.assertions, ctx, data, result)
                result.succeed()
            elif msg.type == aiohttp.WSMsgType.ERROR:
                exc = msg.data if isinstance(msg.data, BaseException) else ws.exception()
                too_big = aiohttp.WSCloseCode.MESSAGE_TOO_BIG
                if isinstance(exc, aiohttp.WebSocketError) and exc.code == too_big:
                    result.fail(FailureReason.BODY, f"message over {spec.max_message_bytes} bytes")
                else:
                    detail = str(exc) if exc is not None else "unknown"
                    result.fail(FailureReason.PROTOCOL, f"WebSocket error: {detail}")
            else:
                result.fail(
                    FailureReason.PROTOCOL, f"connection closed before a message ({msg.type.name})"
                )
        finally:
            ctx.close_websocket(ws)  # bounded and in the background: the verdict stands


KIND = Kind(
    name="websocket",
    schema=WebSocketProbe,
    prober=WebSocketProber(),
    samples=service_samples,
    families=SERVICE_METRICS,
)
