"""The tcp kind: connect, optional TLS, optional send and expect."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from ghost_common.schema import BinaryRegex, TLSConfig
from ghost_exporter.config.schema import StrictModel
from ghost_exporter.kinds.kind import Kind
from ghost_exporter.metrics import SERVICE_METRICS
from ghost_exporter.probes.tls import cert_expiry, client_context, handshake_seconds
from ghost_exporter.results import FailureReason, Health, ProbeResult
from ghost_exporter.samples import service_samples

if TYPE_CHECKING:
    from ghost_common.regex import Regex
    from ghost_exporter.config.model import Target
    from ghost_exporter.probes.clients import ProbeContext

#: The most bytes read while waiting for ``expect`` to match.
MAX_EXPECT_BYTES = 64 * 1024


class TCPProbe(StrictModel):
    """The tcp kind's config: the ``tcp`` key of a ``services`` entry."""

    address: str
    send: str | None = None
    expect: BinaryRegex | None = None
    tls: bool = False
    tls_config: TLSConfig = Field(default_factory=TLSConfig)

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        split_address(value)
        return value


def split_address(value: str) -> tuple[str, int]:
    """Split ``host:port`` or ``[v6]:port`` into host and port."""
    host, sep, port_text = value.rpartition(":")
    if not sep or not host:
        raise ValueError(f"address {value!r} must be host:port")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"address {value!r} has no valid port (1-65535)")
    return host, int(port_text)


class TCPProber:
    async def __call__(self, target: Target, ctx: ProbeContext, result: ProbeResult) -> None:
        spec = target.spec
        assert isinstance(spec, TCPProbe)
        host, port = split_address(spec.address)
        ssl_ctx = client_context(spec.tls_config) if spec.tls else None
        start = time.perf_counter()
        reader, writer = await asyncio.open_connection(
            host,
            port,
            ssl=ssl_ctx,
            server_hostname=(spec.tls_config.server_name or host) if ssl_ctx else None,
            limit=MAX_EXPECT_BYTES,
        )
        try:
            elapsed = time.perf_counter() - start
            ssl_object = writer.get_extra_info("ssl_object")
            tls = handshake_seconds(ssl_object)
            result.phases["connect"] = max(0.0, elapsed - (tls or 0.0))
            if tls is not None:
                result.phases["tls"] = tls
                result.cert_expiry = cert_expiry(ssl_object)
            if spec.send is not None:
                writer.write(spec.send.encode())
                await writer.drain()
            if spec.expect is not None:
                await _expect(reader, spec.expect, result)
            if result.reason is None:
                result.health = Health.HEALTHY
            result.succeed()
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def _expect(reader: asyncio.StreamReader, pattern: Regex, result: ProbeResult) -> None:
    start = time.perf_counter()
    buffer = b""
    while len(buffer) <= MAX_EXPECT_BYTES:
        chunk = await reader.read(4096)
        if not chunk:
            result.fail(FailureReason.BODY, "connection closed before the expected answer")
            return
        buffer += chunk
        if await pattern.search_in_thread(buffer):
            result.phases["processing"] = time.perf_counter() - start
            return
    result.fail(FailureReason.BODY, f"no match for expect in the first {MAX_EXPECT_BYTES} bytes")


KIND = Kind(
    name="tcp",
    schema=TCPProbe,
    prober=TCPProber(),
    samples=service_samples,
    families=SERVICE_METRICS,
)
