"""The http kind: status, redirects, body limits and regexes, JSON health field, phases."""

from __future__ import annotations

import base64
import json
import time
from typing import TYPE_CHECKING, Annotated
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

from pydantic import Field, field_validator

from ghost_common.schema import BasicAuth, HTTPMethod, Regex, TLSConfig
from ghost_exporter.config.schema import (
    Assertions,
    Headers,
    HealthState,
    Size,
    StrictModel,
    check_url,
)
from ghost_exporter.kinds.kind import Kind
from ghost_exporter.metrics import SERVICE_METRICS
from ghost_exporter.probes.assertions import check_assertions
from ghost_exporter.probes.base import dotted_get, judge_health, map_health
from ghost_exporter.probes.clients import USER_AGENT
from ghost_exporter.probes.httpclient import Marks, request
from ghost_exporter.probes.tls import cert_expiry, client_context
from ghost_exporter.results import FailureReason, Health, ProbeResult
from ghost_exporter.samples import service_samples

if TYPE_CHECKING:
    from ghost_exporter.config.model import Target
    from ghost_exporter.probes.clients import ProbeContext

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
#: Characters kept as they are when a redirect's path and query are percent-encoded.
_SAFE = "/%:@!$&'()*+,;=?-._~"


class HTTPProbe(StrictModel):
    """The http kind's config: the ``http`` key of a ``services`` entry."""

    url: str
    method: HTTPMethod = "GET"
    headers: Headers = Field(default_factory=dict)
    body: str | None = None
    basic_auth: BasicAuth | None = None
    valid_status_codes: list[Annotated[int, Field(ge=100, le=599)]] = Field(default_factory=list)
    follow_redirects: bool = True
    max_redirects: Annotated[int, Field(ge=0, le=100)] = 10
    allow_external_redirects: bool = False
    tls_config: TLSConfig = Field(default_factory=TLSConfig)
    health_field: str | None = Field(default=None, min_length=1)
    health_map: dict[str, HealthState] = Field(default_factory=dict)
    body_regex: Regex | None = None
    body_not_regex: Regex | None = None
    max_body_bytes: Size = 1024 * 1024
    keepalive: bool = False
    assertions: Assertions = Field(default_factory=list)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_url(value, ("http", "https"))


async def _check_body(spec: HTTPProbe, body: bytes, result: ProbeResult) -> None:
    if spec.body_regex is not None or spec.body_not_regex is not None:
        text = body.decode("utf-8", errors="replace")  # RE2, off the loop: see ghost_common.regex
        if spec.body_regex is not None and not await spec.body_regex.search_in_thread(text):
            result.fail(FailureReason.BODY, "body does not match body_regex")
        if spec.body_not_regex is not None and await spec.body_not_regex.search_in_thread(text):
            result.fail(FailureReason.BODY, "body matches body_not_regex")
    if spec.health_field is None:
        if result.reason is None:
            result.health = Health.HEALTHY
        return
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than json parses
        result.health = Health.UNKNOWN
        result.fail(FailureReason.BODY, "body is not valid JSON")
        return
    found, value = dotted_get(data, spec.health_field)
    if not found:
        result.health = Health.UNKNOWN
        result.fail(FailureReason.HEALTH, f"health field {spec.health_field!r} is missing")
        return
    judge_health(result, map_health(value, spec.health_map))


def origin_of(url: str) -> tuple[str, str | None, int]:
    """Scheme, host and port (the default one when absent): what a redirect must keep."""
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def _redirect_target(
    spec: HTTPProbe,
    url: str,
    location: str,
    origin: tuple[str, str | None, int],
    result: ProbeResult,
) -> str | None:
    """The URL to follow, or None when the redirect is refused (and the result failed).

    A redirect stays on the configured origin (scheme, host and port) unless the target allows
    external redirects, as browsers and curl decide where credentials may go.
    """
    target = urljoin(url, location)
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https"):
        result.fail(FailureReason.STATUS, f"redirect to a {parts.scheme!r} URL")
        return None
    if origin_of(target) != origin and not spec.allow_external_redirects:
        if parts.hostname != origin[1]:
            message = f"redirect to another host ({parts.hostname}) is not allowed"
        else:
            message = (
                f"redirect to another scheme or port ({parts.scheme}, {parts.port}) is not allowed"
            )
        result.fail(FailureReason.STATUS, message)
        return None
    return urlunsplit(
        parts._replace(path=quote(parts.path, safe=_SAFE), query=quote(parts.query, safe=_SAFE))
    )


def _record_cert(ssl_object: object, result: ProbeResult) -> None:
    if ssl_object is None:
        return
    expiry = cert_expiry(ssl_object)
    if expiry is not None:
        earlier = result.cert_expiry
        result.cert_expiry = expiry if earlier is None else min(expiry, earlier)


def _merge(total: dict[str, float], hop: dict[str, float]) -> None:
    for name, seconds in hop.items():
        total[name] = total.get(name, 0.0) + seconds


def request_headers(spec: HTTPProbe) -> list[tuple[str, str]]:
    """The headers every request of the target sends (built once per probe)."""
    headers = [("User-Agent", USER_AGENT), ("Accept", "*/*")]
    if spec.basic_auth is not None:
        raw = f"{spec.basic_auth.username}:{spec.basic_auth.password.get_secret_value()}"
        headers.append(("Authorization", "Basic " + base64.b64encode(raw.encode()).decode()))
    given = {k.lower() for k in spec.headers}
    headers = [(k, v) for k, v in headers if k.lower() not in given]
    headers += [(k, v.get_secret_value()) for k, v in spec.headers.items()]
    return headers


class HTTPProber:
    """Probe an HTTP(S) endpoint; redirects are followed by hand to keep them on the host."""

    async def __call__(self, target: Target, ctx: ProbeContext, result: ProbeResult) -> None:
        spec = target.spec
        assert isinstance(spec, HTTPProbe)
        url = spec.url
        origin = origin_of(url)
        headers = request_headers(spec)
        method = spec.method
        body = spec.body.encode() if spec.body is not None else None
        pool = ctx.pool if spec.keepalive else None
        for _hop in range(spec.max_redirects + 1):
            parts = urlsplit(url)
            ssl_ctx = client_context(spec.tls_config) if parts.scheme == "https" else None
            marks = Marks(start=time.perf_counter())
            try:
                resp = await request(
                    method,
                    parts,
                    headers,
                    body,
                    ssl_ctx=ssl_ctx,
                    server_hostname=spec.tls_config.server_name,
                    max_body=spec.max_body_bytes,
                    marks=marks,
                    pool=pool,
                )
            finally:  # also on timeout: the phases measured so far are kept
                _merge(result.phases, marks.phases(time.perf_counter()))
            result.status_code = resp.status
            _record_cert(resp.ssl_object, result)
            location = resp.headers.get("location")
            if spec.follow_redirects and resp.status in _REDIRECTS and location:
                following = _redirect_target(spec, url, location, origin, result)
                if following is None:
                    return
                url = following
                if origin_of(url) != origin:  # credentials never leave the configured origin
                    headers = [("User-Agent", USER_AGENT), ("Accept", "*/*")]
                if resp.status == 303 or (resp.status in (301, 302) and method == "POST"):
                    method, body = "GET", None
                continue
            valid = spec.valid_status_codes
            if (resp.status not in valid) if valid else not 200 <= resp.status < 300:
                result.fail(FailureReason.STATUS, f"status {resp.status}")
            await _check_body(spec, resp.body, result)
            await check_assertions(spec.assertions, ctx, resp.body, result)
            result.succeed()
            return
        result.fail(FailureReason.STATUS, f"more than {spec.max_redirects} redirects")


KIND = Kind(
    name="http",
    schema=HTTPProbe,
    prober=HTTPProber(),
    samples=service_samples,
    families=SERVICE_METRICS,
)
