"""A small HTTP/1.1 client for probing: one request per connection (or a keep-alive pool),
phases timed as blackbox_exporter names them, and every limit enforced while reading.

A general-purpose client does much more per request than a probe needs; this one parses only
what a probe reads (status, headers, a bounded body), so a probe costs a fraction of the CPU.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import SplitResult

from ghost_exporter.probes.base import FailureReason

#: The most bytes of status line and headers accepted.
MAX_HEAD_BYTES = 64 * 1024
#: The most bytes of chunk-size lines and trailers accepted beyond the body itself.
MAX_CHUNK_OVERHEAD = 64 * 1024
_NO_BODY_STATUS = frozenset({204, 304})


class HTTPError(Exception):
    """A failed request, with the failure reason it stands for."""

    def __init__(self, reason: FailureReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(slots=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    ssl_object: Any = None


@dataclass(slots=True)
class Marks:
    """perf_counter marks of one request; phases are derived from whatever was reached."""

    start: float = 0.0
    resolved: float | None = None
    connected: float | None = None
    tls_done: float | None = None
    sent: float | None = None
    first_byte: float | None = None
    done: float | None = None
    reused: bool = False

    def phases(self, now: float) -> dict[str, float]:
        out: dict[str, float] = {}
        resolved = self.resolved if self.resolved is not None else self.start
        if self.reused:
            out["resolve"] = 0.0
        elif self.resolved is not None:
            out["resolve"] = self.resolved - self.start
        if self.connected is not None and not self.reused:
            out["connect"] = self.connected - resolved
        if self.tls_done is not None and self.connected is not None and not self.reused:
            out["tls"] = self.tls_done - self.connected
        if self.sent is not None:
            first = self.first_byte if self.first_byte is not None else now
            out["processing"] = max(0.0, first - self.sent)
            if self.first_byte is not None:
                end = self.done if self.done is not None else now
                out["transfer"] = max(0.0, end - self.first_byte)
        return out


class _Protocol(asyncio.Protocol):
    """Reads one response at a time; ``reset`` readies it for the next one on the same socket."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.lost = False
        self.reset(0, False, Marks())

    def reset(self, max_body: int, head_only: bool, marks: Marks) -> None:
        self.max_body = max_body
        self.head_only = head_only
        self.marks = marks
        self.done: asyncio.Future[Response] = self.loop.create_future()
        self.done.add_done_callback(_retrieve)  # a request given up on leaves no warning
        self.buffer = bytearray()
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = bytearray()
        self.mode = ""  # "", "length", "chunked", "close"
        self.remaining = 0
        self.chunk_state = "size"
        self.overhead = 0
        self.keep_alive = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses

    def data_received(self, data: bytes) -> None:
        if self.done.done():
            return
        if self.marks.first_byte is None:
            self.marks.first_byte = time.perf_counter()
        try:
            if not self.mode:
                self.buffer += data
                self._parse_head()
            else:
                self._body(bytes(data))
        except HTTPError as exc:
            self._fail(exc)

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.done.done():
            return
        if not self.mode:
            if self.marks.first_byte is None:
                message = "connection closed before any answer"
            else:
                message = "connection closed in the middle of the response headers"
            self.done.set_exception(HTTPError(FailureReason.PROTOCOL, message))
        elif self.mode == "close":
            self._complete()
        else:
            detail = f": {exc}" if exc else ""
            self.done.set_exception(
                HTTPError(FailureReason.BODY, f"connection closed before the body ended{detail}")
            )

    # parsing
    def _fail(self, exc: HTTPError) -> None:
        if not self.done.done():
            self.done.set_exception(exc)
        if self.transport is not None:
            self.transport.abort()

    def _parse_head(self) -> None:
        while not self.mode:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD_BYTES:
                    raise HTTPError(FailureReason.PROTOCOL, "response headers over 64 KiB")
                return
            head = bytes(self.buffer[:end])
            rest = bytes(self.buffer[end + 4 :])
            self.buffer = bytearray()
            status, headers = _parse_head(head)
            if 100 <= status < 200 and status != 101:
                self.buffer += rest  # an interim answer: the real one follows
                continue
            self.status, self.headers = status, headers
            self._start_body(rest)

    def _start_body(self, rest: bytes) -> None:
        headers = self.headers
        connection = headers.get("connection", "").lower()
        self.keep_alive = connection != "close"
        if self.head_only or self.status in _NO_BODY_STATUS or self.status == 101:
            self.mode = "length"
            self._complete()
            return
        encoding = headers.get("transfer-encoding", "").lower()
        if encoding:
            if encoding.split(",")[-1].strip() != "chunked":
                raise HTTPError(FailureReason.PROTOCOL, f"unsupported transfer-encoding {encoding}")
            self.mode = "chunked"
        elif "content-length" in headers:
            try:
                length = int(headers["content-length"])
            except ValueError:
                raise HTTPError(FailureReason.PROTOCOL, "invalid content-length") from None
            if length < 0:
                raise HTTPError(FailureReason.PROTOCOL, "invalid content-length")
            if length > self.max_body:
                raise HTTPError(
                    FailureReason.BODY,
                    f"body of {length} bytes is over the {self.max_body} byte limit",
                )
            self.mode, self.remaining = "length", length
            if length == 0:
                self._complete()
                return
        else:
            self.mode = "close"
            self.keep_alive = False
        if rest:
            self._body(rest)

    def _body(self, data: bytes) -> None:
        if self.mode == "length":
            take = data[: self.remaining]
            self.body += take
            self.remaining -= len(take)
            if self.remaining == 0:
                self._complete()
        elif self.mode == "close":
            self.body += data
            self._check_size()
        else:
            self._chunked(data)

    def _check_size(self) -> None:
        if len(self.body) > self.max_body:
            raise HTTPError(FailureReason.BODY, f"body is over the {self.max_body} byte limit")

    def _chunked(self, data: bytes) -> None:
        self.buffer += data
        while True:
            if self.chunk_state == "data":
                take = bytes(self.buffer[: self.remaining])
                del self.buffer[: len(take)]
                self.body += take
                self.remaining -= len(take)
                self._check_size()
                if self.remaining:
                    return
                self.chunk_state = "crlf"
            end = self.buffer.find(b"\r\n")
            if end < 0:
                if len(self.buffer) > 1024:
                    raise HTTPError(FailureReason.PROTOCOL, "invalid chunked encoding")
                return
            line = bytes(self.buffer[:end])
            del self.buffer[: end + 2]
            self.overhead += end + 2
            if self.overhead > MAX_CHUNK_OVERHEAD:
                raise HTTPError(FailureReason.PROTOCOL, "chunked encoding overhead too large")
            if self.chunk_state == "crlf":
                if line:
                    raise HTTPError(FailureReason.PROTOCOL, "invalid chunked encoding")
                self.chunk_state = "size"
            elif self.chunk_state == "size":
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise HTTPError(FailureReason.PROTOCOL, "invalid chunk size") from None
                if size < 0:
                    raise HTTPError(FailureReason.PROTOCOL, "invalid chunk size")
                if size == 0:
                    self.chunk_state = "trailer"
                else:
                    self.chunk_state, self.remaining = "data", size
            elif not line:  # the empty line after the trailers
                self._complete()
                return

    def _complete(self) -> None:
        if self.done.done():
            return
        self.marks.done = time.perf_counter()
        body = bytes(self.body)
        coding = self.headers.get("content-encoding", "").lower()
        if coding in ("gzip", "deflate", "x-gzip") and body:
            try:
                body = _decompress(body, self.max_body)
            except HTTPError as exc:
                self._fail(exc)
                return
        self.done.set_result(Response(self.status, self.headers, body))


def _retrieve(future: asyncio.Future[Response]) -> None:
    if not future.cancelled():
        future.exception()


def _decompress(body: bytes, limit: int) -> bytes:
    decoder = zlib.decompressobj(wbits=47)  # gzip or zlib, detected from the header
    try:
        out = decoder.decompress(body, limit + 1)
    except zlib.error as exc:
        raise HTTPError(FailureReason.BODY, f"body cannot be decompressed: {exc}") from None
    if len(out) > limit or decoder.unconsumed_tail:
        raise HTTPError(FailureReason.BODY, f"decompressed body is over the {limit} byte limit")
    return out


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise HTTPError(FailureReason.PROTOCOL, "not an HTTP/1.x response")
    try:
        status = int(parts[1])
    except ValueError:
        raise HTTPError(FailureReason.PROTOCOL, "invalid status code") from None
    if not 100 <= status <= 599:
        raise HTTPError(FailureReason.PROTOCOL, f"invalid status code {status}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip():
            raise HTTPError(FailureReason.PROTOCOL, "invalid response header line")
        key = name.decode("latin-1").lower()
        text = value.strip().decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return status, headers


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@dataclass
class ConnectionPool:
    """Idle keep-alive connections by (scheme, host, port, TLS context, server name)."""

    idle: dict[tuple[Any, ...], list[_Protocol]] = field(default_factory=dict)
    max_idle_per_key: int = 4

    def take(self, key: tuple[Any, ...]) -> _Protocol | None:
        stack = self.idle.get(key)
        while stack:
            proto = stack.pop()
            if not proto.lost and proto.transport is not None and not proto.transport.is_closing():
                return proto
        return None

    def give(self, key: tuple[Any, ...], proto: _Protocol) -> None:
        stack = self.idle.setdefault(key, [])
        if len(stack) >= self.max_idle_per_key or proto.transport is None:
            if proto.transport is not None:
                proto.transport.close()
            return
        stack.append(proto)

    def close_tls(self) -> None:
        """Close the idle connections made with a TLS context (they keep its old trust)."""
        for key in [key for key in self.idle if key[3] is not None]:
            for proto in self.idle.pop(key):
                if proto.transport is not None:
                    proto.transport.close()

    def close(self) -> None:
        for stack in self.idle.values():
            for proto in stack:
                if proto.transport is not None:
                    proto.transport.close()
        self.idle.clear()


def build_request(
    method: str,
    url: SplitResult,
    headers: Sequence[tuple[str, str]],
    body: bytes | None,
    keep_alive: bool,
) -> bytes:
    host = url.hostname or ""
    host_header = f"[{host}]" if ":" in host else host
    if url.port is not None:
        host_header += f":{url.port}"
    target = (url.path or "/") + (f"?{url.query}" if url.query else "")
    given = {name.lower() for name, _ in headers}
    lines = [f"{method} {target} HTTP/1.1"]
    if "host" not in given:
        lines.append(f"Host: {host_header}")
    lines += [f"{name}: {value}" for name, value in headers]
    if "connection" not in given:
        lines.append("Connection: keep-alive" if keep_alive else "Connection: close")
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + body if body is not None else head


async def _connect(
    loop: asyncio.AbstractEventLoop,
    url: SplitResult,
    ssl_ctx: ssl.SSLContext | None,
    server_hostname: str | None,
    marks: Marks,
) -> _Protocol:
    host = url.hostname or ""
    port = url.port or (443 if url.scheme == "https" else 80)
    addresses: list[str]
    if _is_ip(host):
        addresses = [host]
        marks.resolved = time.perf_counter()
    else:
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise HTTPError(
                FailureReason.CONNECT, f"cannot resolve {host}: {exc.strerror}"
            ) from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        marks.resolved = time.perf_counter()
    proto = _Protocol(loop)
    error: OSError | None = None
    for address in addresses:
        try:
            await loop.create_connection(lambda: proto, address, port)
            break
        except OSError as exc:
            error = exc
    else:
        assert error is not None
        raise HTTPError(FailureReason.CONNECT, error.strerror or str(error)) from None
    marks.connected = time.perf_counter()
    if ssl_ctx is not None:
        assert proto.transport is not None
        try:
            tls_transport = await loop.start_tls(
                proto.transport, proto, ssl_ctx, server_hostname=server_hostname or host
            )
        except ssl.SSLCertVerificationError as exc:
            proto.transport.abort()
            raise HTTPError(FailureReason.TLS, f"certificate: {exc.verify_message}") from None
        except (ssl.SSLError, ConnectionError, OSError) as exc:
            proto.transport.abort()
            raise HTTPError(FailureReason.TLS, f"TLS handshake: {exc}") from None
        if tls_transport is None:
            raise HTTPError(FailureReason.TLS, "TLS handshake did not complete")
        proto.transport = tls_transport
        marks.tls_done = time.perf_counter()
    return proto


async def request(
    method: str,
    url: SplitResult,
    headers: Sequence[tuple[str, str]],
    body: bytes | None,
    *,
    ssl_ctx: ssl.SSLContext | None,
    server_hostname: str | None,
    max_body: int,
    marks: Marks,
    pool: ConnectionPool | None = None,
) -> Response:
    """Send one request and read its response; raises HTTPError with the failure reason.

    Cancellation (the caller's timeout) aborts the connection. With ``pool``, connections are
    reused when the server allows it, and a request that finds a reused connection closed is
    retried once on a fresh one.
    """
    loop = asyncio.get_running_loop()
    # The context itself, not its id: a context rebuilt after a reload may reuse a freed id.
    key = (url.scheme, url.hostname, url.port, ssl_ctx, server_hostname)
    keep_alive = pool is not None
    payload = build_request(method, url, headers, body, keep_alive)
    for attempt in range(2):
        proto = pool.take(key) if pool is not None and attempt == 0 else None
        marks.reused = proto is not None
        marks.sent = marks.first_byte = marks.done = None
        if proto is None:
            proto = await _connect(loop, url, ssl_ctx, server_hostname, marks)
        transport = proto.transport
        assert transport is not None
        proto.reset(max_body, method == "HEAD", marks)
        try:
            transport.write(payload)
            marks.sent = time.perf_counter()
            response = await proto.done
        except HTTPError as exc:
            transport.abort()
            if marks.reused and marks.first_byte is None and exc.reason == FailureReason.PROTOCOL:
                continue  # the idle connection was closed by the server: once more, fresh
            raise
        except BaseException:
            transport.abort()
            raise
        response.ssl_object = transport.get_extra_info("ssl_object")
        if pool is not None and proto.keep_alive and not proto.lost:
            pool.give(key, proto)
        else:
            transport.close()
        return response
    raise HTTPError(FailureReason.PROTOCOL, "connection closed before any answer")
