"""The reporter kind: read another monitor's claims about the services (one request); the
store compares them with the exporter's own view (``ghost_exporter.agreement``)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pydantic import Field

from ghost_common.schema import BasicAuth, TLSConfig
from ghost_exporter.agreement import ReporterState, reporter_samples
from ghost_exporter.config.schema import (
    HealthState,
    PlainHeaders,
    PlainHTTPURL,
    Size,
    StatusCodes,
    StrictModel,
    TargetEntry,
)
from ghost_exporter.kinds.kind import Kind
from ghost_exporter.metrics import REPORTER_METRICS
from ghost_exporter.probes.base import dotted_get, map_health
from ghost_exporter.probes.outbound import build_headers, send, status_ok
from ghost_exporter.results import FailureReason, Health, ProbeError, ProbeResult

if TYPE_CHECKING:
    from ghost_exporter.config.model import Target
    from ghost_exporter.probes.clients import ProbeContext

#: The most services one answer may list; more is refused as not a status answer.
MAX_CLAIMS = 10_000
_MAX_NAME = 256


class ReporterHTTP(StrictModel):
    """Where a reporter's claims are read, and how its answer is laid out."""

    url: PlainHTTPURL
    headers: PlainHeaders = Field(default_factory=dict)
    basic_auth: BasicAuth | None = None
    valid_status_codes: StatusCodes = Field(default_factory=list)
    tls_config: TLSConfig = Field(default_factory=TLSConfig)
    max_body_bytes: Size = 1024 * 1024
    services_field: str = Field(default="services", min_length=1)
    name_field: str = Field(default="name", min_length=1)
    state_field: str = Field(default="status", min_length=1)
    health_map: dict[str, HealthState] = Field(default_factory=dict)


class Reporter(TargetEntry):
    """Another monitor whose claims about the services are compared with the exporter's view."""

    http: ReporterHTTP


class ClaimsError(ProbeError, ValueError):
    """The answer is not a list of services with states."""


def _state(entry: Any, spec: ReporterHTTP) -> Health:
    """An entry's state: its ``state_field``, or the entry itself when it is a bare value."""
    if isinstance(entry, dict):
        found, value = dotted_get(entry, spec.state_field)
        return map_health(value, spec.health_map) if found else Health.UNKNOWN
    return map_health(entry, spec.health_map)


def parse_claims(data: Any, spec: ReporterHTTP) -> dict[str, Health]:
    """Service name -> claimed state, from a decoded answer; raises ClaimsError."""
    found, services = dotted_get(data, spec.services_field)
    if not found:
        raise ClaimsError(f"field {spec.services_field!r} is missing")
    claims: dict[str, Health] = {}
    if isinstance(services, dict):
        entries = list(services.items())
    elif isinstance(services, list):
        entries = []
        for item in services:
            name = item.get(spec.name_field) if isinstance(item, dict) else None
            if not isinstance(name, str):
                raise ClaimsError(f"an entry of {spec.services_field!r} has no {spec.name_field!r}")
            entries.append((name, item))
    else:
        raise ClaimsError(f"field {spec.services_field!r} is neither an object nor a list")
    if len(entries) > MAX_CLAIMS:
        raise ClaimsError(f"more than {MAX_CLAIMS} services listed")
    for name, entry in entries:
        if not name or len(name) > _MAX_NAME:
            raise ClaimsError("a service name is empty or too long")
        claims[name] = _state(entry, spec)
    return claims


class ReporterProber:
    """Read a reporter once; the claims go to ``result.claims``, compared later by the store."""

    async def __call__(self, target: Target, ctx: ProbeContext, result: ProbeResult) -> None:
        assert isinstance(target.spec, Reporter)
        spec = target.spec.http
        headers = build_headers(spec.headers, spec.basic_auth, accept="application/json")
        resp = await send(
            "GET", spec.url, headers, None, spec.tls_config, spec.max_body_bytes, pool=ctx.pool
        )
        result.status_code = resp.status
        if not status_ok(resp.status, spec.valid_status_codes):
            result.fail(FailureReason.STATUS, f"status {resp.status}")
            return
        try:
            data = json.loads(resp.body)
        except (ValueError, RecursionError):
            result.fail(FailureReason.BODY, "answer is not valid JSON")
            return
        result.claims = parse_claims(data, spec)
        result.health = Health.HEALTHY
        result.succeed()


KIND = Kind(
    name="reporter",
    schema=Reporter,
    prober=ReporterProber(),
    samples=reporter_samples,
    families=REPORTER_METRICS,
    state=ReporterState,
    section="reporters",
)
