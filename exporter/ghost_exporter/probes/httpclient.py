"""A small HTTP/1.1 client for probing: one request per connection (or a keep-alive pool),
phases timed as blackbox_exporter names them, and every limit enforced while reading.

A general-purpose client does much more per request than a probe needs; this one reads only
what a probe needs (status, headers, a bounded body), so a probe costs a fraction of the CPU.
The framing (status line, headers, Content-Length, chunked encoding) is parsed by llhttp, the
strict parser of Node.js, through ``httptools``.
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
from typing import Any, NoReturn, cast
from urllib.parse import SplitResult

import httptools

from ghost_exporter.results import FailureReason, ProbeError

#: The most bytes of status line and headers accepted.
MAX_HEAD_BYTES = 64 * 1024
#: The most bytes of chunk-size lines, extensions and trailers accepted beyond the body itself.
MAX_CHUNK_OVERHEAD = 64 * 1024
_NO_BODY_STATUS = frozenset({204, 304})


class HTTPError(ProbeError):
    """A failed request, with the failure reason it stands for."""

    def __init__(self, reason: FailureReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Response:
    """A response: status, body, and headers as received; ``headers`` is built on first use
    (names lowercased, repeated fields joined with ", "), as most probes never read it."""

    __slots__ = ("_headers", "body", "raw_headers", "ssl_object", "status")

    def __init__(
        self,
        status: int,
        raw_headers: list[tuple[bytes, bytes]],
        body: bytes,
        ssl_object: Any = None,
    ) -> None:
        self.status = status
        self.raw_headers = raw_headers
        self.body = body
        self.ssl_object = ssl_object
        self._headers: dict[str, str] | None = None

    @property
    def headers(self) -> dict[str, str]:
        if self._headers is None:
            headers: dict[str, str] = {}
            for name, value in self.raw_headers:
                key = name.decode("latin-1").lower()
                text = value.strip().decode("latin-1")
                headers[key] = f"{headers[key]}, {text}" if key in headers else text
            self._headers = headers
        return self._headers


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


class _Abort(Exception):
    """Raised by a parser callback to stop parsing; the reason is on the protocol."""


class _Protocol(asyncio.Protocol):
    """Reads one response at a time with llhttp (``httptools``), enforcing every limit as the
    bytes arrive; ``reset`` readies it for the next response on the same socket."""

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
        self.parser = httptools.HttpResponseParser(self)
        self.error: HTTPError | None = None
        self.fed = 0  # bytes given to the parser for this response
        self.head_bytes = 0  # bytes of status lines and headers seen by the callbacks
        self.in_head = True  # until the final (non-interim) response's headers are complete
        self.until_close = False  # the body ends when the connection does
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.coding = b""  # Content-Encoding
        self.body: list[bytes] = []
        self.body_size = 0
        self.keep_alive = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses

    def data_received(self, data: bytes) -> None:
        if self.done.done():
            return
        if self.marks.first_byte is None:
            self.marks.first_byte = time.perf_counter()
        self.fed += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass  # a 101 answer completes at its headers; what follows is not HTTP
        except httptools.HttpParserError as exc:
            if not self.done.done():
                self._fail(self.error or _parser_error(exc))
            return
        if self.done.done():
            return
        if self.in_head and self.fed > MAX_HEAD_BYTES:
            self._fail(HTTPError(FailureReason.PROTOCOL, "response headers over 64 KiB"))
        elif self.fed - self.body_size > MAX_HEAD_BYTES + MAX_CHUNK_OVERHEAD:
            self._fail(HTTPError(FailureReason.PROTOCOL, "chunked encoding overhead too large"))

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.done.done():
            return
        if self.in_head:
            if self.marks.first_byte is None:
                message = "connection closed before any answer"
            else:
                message = "connection closed in the middle of the response headers"
            self.done.set_exception(HTTPError(FailureReason.PROTOCOL, message))
        elif self.until_close:
            self._complete()
        else:
            detail = f": {exc}" if exc else ""
            self.done.set_exception(
                HTTPError(FailureReason.BODY, f"connection closed before the body ended{detail}")
            )

    # parser callbacks (httptools.HTTPProtocol)
    def on_status(self, status: bytes) -> None:
        self.head_bytes += len(status) + 15

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.in_head:  # not a trailer after a chunked body (counted as overhead, not kept)
            self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        headers = self.headers
        if self.fed > MAX_HEAD_BYTES:  # else the head cannot be over the limit: skip the sum
            self.head_bytes += sum([len(name) + len(value) + 4 for name, value in headers])
            if self.head_bytes > MAX_HEAD_BYTES:
                self._abort(HTTPError(FailureReason.PROTOCOL, "response headers over 64 KiB"))
        parser = self.parser
        status = parser.get_status_code()
        if not 100 <= status <= 599:
            self._abort(HTTPError(FailureReason.PROTOCOL, f"invalid status code {status}"))
        if not parser.get_http_version().startswith("1."):
            self._abort(HTTPError(FailureReason.PROTOCOL, "not an HTTP/1.x response"))
        if 100 <= status < 200 and status != 101:
            self.headers = []  # an interim answer: the real one follows
            return
        self.in_head = False
        self.status = status
        self.keep_alive = parser.should_keep_alive()
        length = encoding = None
        for name, value in headers:  # only three names matter here: compare lengths first
            size = len(name)
            if size == 14 or size == 16 or size == 17:
                key = name.lower()
                if key == b"content-length":
                    length = value  # llhttp refuses a second one
                elif key == b"transfer-encoding":
                    encoding = value.strip() if encoding is None else encoding + b", " + value
                elif key == b"content-encoding":
                    self.coding = value.strip().lower()
        if self.head_only or status in _NO_BODY_STATUS or status == 101:
            self._complete()
        elif encoding is not None:
            if encoding.lower() != b"chunked":
                text = encoding.decode("latin-1")
                self._abort(
                    HTTPError(FailureReason.PROTOCOL, f"unsupported transfer-encoding {text}")
                )
        elif length is not None:
            size = int(length)  # llhttp has checked: digits only
            if size > self.max_body:
                self._abort(
                    HTTPError(
                        FailureReason.BODY,
                        f"body of {size} bytes is over the {self.max_body} byte limit",
                    )
                )
        else:
            self.until_close = True
            self.keep_alive = False

    def on_body(self, body: bytes) -> None:
        if self.done.done():
            return  # the rest of a HEAD answer's declared body, never sent
        self.body.append(body)
        self.body_size += len(body)
        if self.body_size > self.max_body:
            self._abort(
                HTTPError(FailureReason.BODY, f"body is over the {self.max_body} byte limit")
            )

    def on_message_complete(self) -> None:
        if not self.in_head:
            self._complete()

    # parsing
    def _abort(self, exc: HTTPError) -> NoReturn:
        self.error = exc
        raise _Abort

    def _fail(self, exc: HTTPError) -> None:
        if not self.done.done():
            self.done.set_exception(exc)
        if self.transport is not None:
            self.transport.abort()

    def _complete(self) -> None:
        if self.done.done():
            return
        self.marks.done = time.perf_counter()
        body = b"".join(self.body)
        if self.coding in (b"gzip", b"deflate", b"x-gzip") and body:
            try:
                body = _decompress(body, self.max_body)
            except HTTPError as exc:
                self._fail(exc)
                return
        self.done.set_result(Response(self.status, self.headers, body))


def _parser_error(exc: httptools.HttpParserError) -> HTTPError:
    """Our message for what llhttp refused; its own words follow in parentheses."""
    text = str(exc)
    lower = text.lower()
    if isinstance(exc, httptools.HttpParserInvalidStatusError):
        message = "invalid status code"
    elif "content-length" in lower:
        message = "invalid content-length"
    elif "chunk size" in lower:
        message = "invalid chunk size"
    elif "chunk" in lower:
        message = "invalid chunked encoding"
    elif "expected http/" in lower or "version" in lower:
        message = "not an HTTP/1.x response"
    elif "header" in lower:
        message = "invalid response header line"
    else:
        message = "invalid HTTP response"
    return HTTPError(FailureReason.PROTOCOL, f"{message} ({text})" if text else message)


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
