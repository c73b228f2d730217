"""The daemon kind: reads a stress daemon's ``/api/status`` (the patch status protocol) and
mirrors its counts and duration histogram."""

from __future__ import annotations

import base64
import json
import math
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from ghost_common.schema import BasicAuth, TLSConfig
from ghost_exporter.config.schema import Headers, RecheckedEntry, Size, check_url
from ghost_exporter.kinds.kind import Kind
from ghost_exporter.metrics import DAEMON_METRICS
from ghost_exporter.probes.clients import USER_AGENT
from ghost_exporter.probes.httpclient import Marks, request
from ghost_exporter.probes.tls import client_context
from ghost_exporter.results import DaemonStatus, FailureReason, Health, ProbeError, ProbeResult
from ghost_exporter.samples import Sample, TargetState, histogram

if TYPE_CHECKING:
    from ghost_exporter.config.model import Target
    from ghost_exporter.probes.clients import ProbeContext


class Daemon(RecheckedEntry):
    """An entry of ``daemons``: a daemon speaking the patch status protocol."""

    url: str
    headers: Headers = Field(default_factory=dict)
    basic_auth: BasicAuth | None = None
    tls_config: TLSConfig = Field(default_factory=TLSConfig)
    max_body_bytes: Size = 1024 * 1024

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_url(value, ("http", "https"))


DAEMON_UP, PATCHES, IN_FLIGHT, PATCH_DURATION, START_TIME = DAEMON_METRICS


class ProtocolError(ProbeError, ValueError):
    """The answer is not the patch status protocol."""


def _count(data: Any, key: str) -> int:
    value = data.get(key) if isinstance(data, dict) else None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError(f"patches.{key} must be an integer")
    if value < 0:
        raise ProtocolError(f"patches.{key} is negative")
    return value


def _bound(text: str) -> float:
    if text == "+Inf":
        return math.inf
    try:
        bound = float(text)
    except ValueError:
        raise ProtocolError(f"bucket bound {text!r} is not a number") from None
    if not math.isfinite(bound):
        raise ProtocolError(f"bucket bound {text!r} is not finite")
    return bound


def parse_status(data: Any) -> DaemonStatus:
    """Validate an ``/api/status`` answer; anything off raises ProtocolError."""
    if not isinstance(data, dict):
        raise ProtocolError("answer is not a JSON object")
    instance_id = data.get("instance_id")
    if not isinstance(instance_id, str) or not instance_id:
        raise ProtocolError("instance_id must be a non-empty string")
    started_at = data.get("started_at")
    if isinstance(started_at, bool) or not isinstance(started_at, int | float):
        raise ProtocolError("started_at must be a number")
    if not math.isfinite(started_at) or started_at < 0:
        raise ProtocolError("started_at must be a finite Unix time")
    patches = data.get("patches")
    if not isinstance(patches, dict):
        raise ProtocolError("patches must be an object")
    started = _count(patches, "started")
    completed, failed = _count(patches, "completed"), _count(patches, "failed")
    timeout, in_flight = _count(patches, "timeout"), _count(patches, "in_flight")
    if started != completed + failed + timeout + in_flight:
        raise ProtocolError("patches do not add up: started != completed+failed+timeout+in_flight")
    hist = data.get("duration_seconds")
    if not isinstance(hist, dict) or not isinstance(hist.get("buckets"), dict):
        raise ProtocolError("duration_seconds.buckets must be an object")
    buckets = sorted((_bound(str(k)), v) for k, v in hist["buckets"].items())
    if not buckets or buckets[-1][0] != math.inf:
        raise ProtocolError("duration_seconds.buckets has no +Inf bucket")
    previous = 0
    for _, value in buckets:
        if isinstance(value, bool) or not isinstance(value, int) or value < previous:
            raise ProtocolError("duration_seconds.buckets are not cumulative counts")
        previous = value
    total, count = hist.get("sum"), hist.get("count")
    if isinstance(total, bool) or not isinstance(total, int | float) or not math.isfinite(total):
        raise ProtocolError("duration_seconds.sum must be a finite number")
    if isinstance(count, bool) or not isinstance(count, int) or count != buckets[-1][1]:
        raise ProtocolError("duration_seconds.count must equal the +Inf bucket")
    if total < 0:
        raise ProtocolError("duration_seconds.sum is negative")
    return DaemonStatus(
        instance_id=instance_id,
        started_at=float(started_at),
        completed=completed,
        failed=failed,
        timeout=timeout,
        in_flight=in_flight,
        buckets=tuple(buckets),
        duration_sum=float(total),
        duration_count=count,
    )


class DaemonProber:
    async def __call__(self, target: Target, ctx: ProbeContext, result: ProbeResult) -> None:
        spec = target.spec
        assert isinstance(spec, Daemon)
        parts = urlsplit(spec.url.rstrip("/") + "/api/status")
        ssl_ctx = client_context(spec.tls_config) if parts.scheme == "https" else None
        marks = Marks(start=time.perf_counter())
        try:
            resp = await request(
                "GET",
                parts,
                daemon_headers(spec),
                None,
                ssl_ctx=ssl_ctx,
                server_hostname=spec.tls_config.server_name,
                max_body=spec.max_body_bytes,
                marks=marks,
                pool=ctx.pool,
            )
        finally:
            result.phases.update(marks.phases(time.perf_counter()))
        result.status_code = resp.status
        if resp.status != 200:
            result.fail(FailureReason.STATUS, f"status {resp.status}")
            return
        try:
            data = json.loads(resp.body)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than json parses
            raise ProtocolError("answer is not valid JSON") from None
        result.daemon = parse_status(data)
        result.health = Health.HEALTHY
        result.succeed()


def daemon_headers(spec: Daemon) -> list[tuple[str, str]]:
    headers = [("User-Agent", USER_AGENT), ("Accept", "application/json")]
    if spec.basic_auth is not None:
        raw = f"{spec.basic_auth.username}:{spec.basic_auth.password.get_secret_value()}"
        headers.append(("Authorization", "Basic " + base64.b64encode(raw.encode()).decode()))
    return headers + [(k, v.get_secret_value()) for k, v in spec.headers.items()]


def daemon_samples(state: TargetState) -> Iterator[Sample]:
    result = state.last
    if result is None:
        return
    status = result.daemon if result.success else None
    yield DAEMON_UP, DAEMON_UP.name, (), 1.0 if status is not None else 0.0
    if status is None:
        return
    for outcome, count in (
        ("completed", status.completed),
        ("failed", status.failed),
        ("timeout", status.timeout),
    ):
        yield PATCHES, PATCHES.name, (("outcome", outcome),), float(count)
    yield IN_FLIGHT, IN_FLIGHT.name, (), float(status.in_flight)
    bounds = tuple(b for b, _ in status.buckets)
    yield from histogram(
        PATCH_DURATION, bounds, [c for _, c in status.buckets], status.duration_sum
    )
    yield START_TIME, START_TIME.name, (), status.started_at


KIND = Kind(
    name="daemon",
    schema=Daemon,
    prober=DaemonProber(),
    samples=daemon_samples,
    families=DAEMON_METRICS,
    section="daemons",
)
