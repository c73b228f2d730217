"""Hostile peers on loopback, each a real server: they trickle, flood, lie, reset and stall.

Everything runs in one event loop on a daemon thread (``LoopThread``), so the same servers serve
in-process probes (``run_probe``) and an exporter subprocess. Large bodies and frames are streamed
from one shared chunk: the servers themselves stay small whatever they claim to send.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import functools
import hashlib
import ipaddress
import json
import socket
import ssl
import struct
import threading
import time
import zlib
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import trustme
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

T = TypeVar("T")

CHUNK = b"x" * 65536
HUNDRED_MB = 100 * 1024 * 1024
FIFTY_MB = 50 * 1024 * 1024
TRICKLE_SECONDS = 0.2
_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class LoopThread:
    """An event loop on a daemon thread; ``run`` executes a coroutine there and waits for it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name="hostile-servers", daemon=True)
        self._cleanups: list[Callable[[], Awaitable[None]]] = []

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()
        self.loop.close()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def on_close(self, cleanup: Callable[[], Awaitable[None]]) -> None:
        self._cleanups.append(cleanup)

    def __enter__(self) -> LoopThread:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        async def close_all() -> None:
            for cleanup in reversed(self._cleanups):
                with contextlib.suppress(Exception):
                    await cleanup()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            self.run(close_all(), timeout=15)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(15)


# --- HTTP handlers (aiohttp) ---------------------------------------------------------------


async def _stream(request: web.Request, headers: dict[str, str], total: int | None) -> None:
    """Write ``total`` bytes (None: forever) until the client goes away."""
    resp = web.StreamResponse(headers=headers)
    if total is not None and "Content-Length" in headers:
        resp.content_length = total
    await resp.prepare(request)
    sent = 0
    with contextlib.suppress(ConnectionError, RuntimeError):
        while total is None or sent < total:
            await resp.write(CHUNK)
            sent += len(CHUNK)


async def endless(request: web.Request) -> web.StreamResponse:
    await _stream(request, {"Content-Type": "application/json"}, None)
    return web.StreamResponse()


async def huge_declared(request: web.Request) -> web.StreamResponse:
    await _stream(request, {"Content-Length": str(HUNDRED_MB)}, HUNDRED_MB)
    return web.StreamResponse()


async def huge_chunked(request: web.Request) -> web.StreamResponse:
    await _stream(request, {"Content-Type": "application/json"}, HUNDRED_MB)
    return web.StreamResponse()


@functools.cache
def _bomb() -> bytes:
    """About 100 KB of gzip that inflates to 100 MB of zeros (built a megabyte at a time)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip framing
    zeros = bytes(1024 * 1024)
    parts = [packer.compress(zeros) for _ in range(HUNDRED_MB // len(zeros))]
    return b"".join([*parts, packer.flush()])


async def gzip_bomb(request: web.Request) -> web.Response:
    return web.Response(
        body=_bomb(), headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}
    )


async def invalid_json(request: web.Request) -> web.Response:
    return web.Response(text='{"status": "healthy"', content_type="application/json")


async def invalid_utf8(request: web.Request) -> web.Response:
    return web.Response(body=b'{"status": "\xff\xfehealthy"}', content_type="application/json")


async def nested_json(request: web.Request) -> web.Response:
    return web.Response(text="[" * 200_000, content_type="application/json")


async def healthy(request: web.Request) -> web.Response:
    return web.json_response({"status": "healthy"})


async def redirect_loop(request: web.Request) -> web.Response:
    raise web.HTTPFound("/loop")


async def redirect_away(request: web.Request) -> web.Response:
    """``/away/HOST/PORT`` redirects to ``http://HOST:PORT/landed``."""
    host, port = request.match_info["host"], request.match_info["port"]
    raise web.HTTPFound(f"http://{host}:{port}/landed")


async def ws_stale(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    await ws.send_str(json.dumps({"ts": time.time() - 3600}))
    await ws.close()
    return ws


async def ws_not_finite(request: web.Request) -> web.WebSocketResponse:
    """A timestamp of NaN, Infinity or -Infinity (as Python's json writes them)."""
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    value = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}[request.match_info["kind"]]
    await ws.send_str('{"ts": ' + value + "}")
    await ws.close()
    return ws


async def ws_nested(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    await ws.send_str("[" * 200_000)
    await ws.close()
    return ws


def hostile_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/healthy", healthy)
    app.router.add_get("/landed", healthy)
    app.router.add_get("/endless", endless)
    app.router.add_get("/huge-declared", huge_declared)
    app.router.add_get("/huge-chunked", huge_chunked)
    app.router.add_get("/gzip-bomb", gzip_bomb)
    app.router.add_get("/invalid-json", invalid_json)
    app.router.add_get("/invalid-utf8", invalid_utf8)
    app.router.add_get("/nested-json", nested_json)
    app.router.add_get("/loop", redirect_loop)
    app.router.add_get("/away/{host}/{port}", redirect_away)
    app.router.add_get("/ws/stale", ws_stale)
    app.router.add_get("/ws/not-finite/{kind}", ws_not_finite)
    app.router.add_get("/ws/nested", ws_nested)
    # The same misbehaviours where a daemon's status API should be.
    app.router.add_get("/daemon/endless/api/status", endless)
    app.router.add_get("/daemon/nested/api/status", nested_json)
    app.router.add_get("/daemon/invalid-utf8/api/status", invalid_utf8)
    return app


# --- raw TCP peers ----------------------------------------------------------------------------


async def _read_head(reader: asyncio.StreamReader) -> bytes:
    """Read a request head (up to the blank line); empty when the client went away."""
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return b""


def _ws_accept(head: bytes) -> bytes:
    key = b""
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"sec-websocket-key":
            key = value.strip()
    digest = hashlib.sha1(key + _WS_GUID.encode()).digest()
    return (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + base64.b64encode(digest) + b"\r\n\r\n"
    )


async def _hold(reader: asyncio.StreamReader) -> None:
    """Keep the connection open, discarding input, until the client closes it."""
    with contextlib.suppress(ConnectionError):
        while await reader.read(65536):
            pass


async def slowloris(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer the status line, then trickle one header byte every 200 ms, forever."""
    if not await _read_head(reader):
        return
    writer.write(b"HTTP/1.1 200 OK\r\nX-Trickle: ")
    while True:
        await asyncio.sleep(TRICKLE_SECONDS)
        writer.write(b"a")
        await writer.drain()


async def slow_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Announce a small JSON body and trickle it one byte every 200 ms."""
    if not await _read_head(reader):
        return
    body = b'{"status": "healthy", "padding": "' + b"p" * 500 + b'"}'
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
    writer.write(b"Content-Length: %d\r\n\r\n" % len(body))
    for i in range(len(body)):
        writer.write(body[i : i + 1])
        await writer.drain()
        await asyncio.sleep(TRICKLE_SECONDS)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST instead of a FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def reset_mid_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Send the head and part of the announced body, then reset the connection."""
    if not await _read_head(reader):
        return
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
    writer.write(b"Content-Length: 100000\r\n\r\n" + b'{"status": "' + b"h" * 1000)
    await writer.drain()
    await asyncio.sleep(0.05)
    _reset(writer)


async def reset_mid_head(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Send half a status line, then reset the connection."""
    if not await _read_head(reader):
        return
    writer.write(b"HTTP/1.1 20")
    await writer.drain()
    await asyncio.sleep(0.05)
    _reset(writer)


async def header_flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer with 10,000 header lines."""
    if not await _read_head(reader):
        return
    writer.write(b"HTTP/1.1 200 OK\r\n")
    with contextlib.suppress(ConnectionError):
        for i in range(10_000):
            writer.write(b"X-Flood-%d: %s\r\n" % (i, b"f" * 100))
            await writer.drain()
        writer.write(b"Content-Length: 0\r\n\r\n")
        await writer.drain()
        await _hold(reader)


async def giant_header(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer with one header line that never ends (streamed, 1 MiB at most per probe)."""
    if not await _read_head(reader):
        return
    writer.write(b"HTTP/1.1 200 OK\r\nX-Giant: ")
    with contextlib.suppress(ConnectionError):
        for _ in range(16):
            writer.write(CHUNK)
            await writer.drain()
        await _hold(reader)


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accept and never say a word (also: a WebSocket upgrade that is never answered)."""
    await _hold(reader)


async def ws_garbage_handshake(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer a WebSocket upgrade with bytes that are not HTTP."""
    if not await _read_head(reader):
        return
    writer.write(b"\x16\x03\x01\x00\xff garbage \x00\x01\x02\r\n\r\n" * 4)
    await writer.drain()
    await _hold(reader)


async def ws_garbage_frames(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Complete the upgrade, then send bytes that are not WebSocket frames."""
    head = await _read_head(reader)
    if not head:
        return
    writer.write(_ws_accept(head))
    writer.write(bytes([0x7F, 0x7E]) + b"\xde\xad\xbe\xef" * 64)
    await writer.drain()
    await _hold(reader)


async def ws_invalid_utf8(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Complete the upgrade, then send a text frame that is not UTF-8."""
    head = await _read_head(reader)
    if not head:
        return
    payload = b'{"ts": "\xff\xfe"}'
    writer.write(_ws_accept(head) + bytes([0x81, len(payload)]) + payload)
    await writer.drain()
    await _hold(reader)


async def ws_giant_frame(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Complete the upgrade, then stream one 50 MB binary frame."""
    head = await _read_head(reader)
    if not head:
        return
    writer.write(_ws_accept(head) + bytes([0x82, 127]) + struct.pack("!Q", FIFTY_MB))
    sent = 0
    with contextlib.suppress(ConnectionError):
        while sent < FIFTY_MB:
            writer.write(CHUNK)
            await writer.drain()
            sent += len(CHUNK)
        await _hold(reader)


# --- TLS ------------------------------------------------------------------------------------


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cert and key files)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hostile self-signed")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "self-signed.pem", directory / "self-signed.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@dataclass
class Hostile:
    """Where each hostile peer listens."""

    http: str
    ws: str
    slowloris: str
    slow_body: str
    reset_mid_body: str
    reset_mid_head: str
    header_flood: str
    giant_header: str
    silent_tcp: str
    ws_no_upgrade: str
    ws_garbage_handshake: str
    ws_garbage_frames: str
    ws_invalid_utf8: str
    ws_giant_frame: str
    tls_silent: str
    https_expired: str
    https_self_signed: str
    ca_file: Path


async def _tcp(loop_thread: LoopThread, handler: Handler) -> int:
    async def guarded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.transport.abort()

    server = await asyncio.start_server(guarded, "127.0.0.1", 0)

    async def close() -> None:
        server.close()

    loop_thread.on_close(close)
    port: int = server.sockets[0].getsockname()[1]
    return port


async def _serve_app(
    loop_thread: LoopThread, app: web.Application, ssl_ctx: ssl.SSLContext | None = None
) -> int:
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_ctx)
    await site.start()
    loop_thread.on_close(runner.cleanup)
    port: int = runner.addresses[0][1]
    return port


async def _start(loop_thread: LoopThread, directory: Path) -> Hostile:
    _bomb()  # built now: built at the first request, it would stall every peer of this loop
    ca = trustme.CA()
    ca_file = directory / "hostile-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    now = datetime.datetime.now(datetime.UTC)
    expired = ca.issue_cert(
        "127.0.0.1",
        not_before=now - datetime.timedelta(days=30),
        not_after=now - datetime.timedelta(days=1),
    )
    expired_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    expired.configure_cert(expired_ctx)
    cert_file, key_file = self_signed(directory)
    self_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    self_ctx.load_cert_chain(cert_file, key_file)

    base = f"127.0.0.1:{await _serve_app(loop_thread, hostile_app())}"

    async def tcp(handler: Handler) -> str:
        return f"127.0.0.1:{await _tcp(loop_thread, handler)}"

    async def https(ctx: ssl.SSLContext) -> str:
        return f"https://127.0.0.1:{await _serve_app(loop_thread, _tls_app(), ctx)}/"

    return Hostile(
        http=f"http://{base}",
        ws=f"ws://{base}",
        slowloris=f"http://{await tcp(slowloris)}/",
        slow_body=f"http://{await tcp(slow_body)}/",
        reset_mid_body=f"http://{await tcp(reset_mid_body)}/",
        reset_mid_head=f"http://{await tcp(reset_mid_head)}/",
        header_flood=f"http://{await tcp(header_flood)}/",
        giant_header=f"http://{await tcp(giant_header)}/",
        silent_tcp=await tcp(silent),
        ws_no_upgrade=f"ws://{await tcp(silent)}/",
        ws_garbage_handshake=f"ws://{await tcp(ws_garbage_handshake)}/",
        ws_garbage_frames=f"ws://{await tcp(ws_garbage_frames)}/",
        ws_invalid_utf8=f"ws://{await tcp(ws_invalid_utf8)}/",
        ws_giant_frame=f"ws://{await tcp(ws_giant_frame)}/",
        tls_silent=f"https://{await tcp(silent)}/",
        https_expired=await https(expired_ctx),
        https_self_signed=await https(self_ctx),
        ca_file=ca_file,
    )


def _tls_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/", healthy)
    return app


@contextmanager
def hostile_servers(directory: Path) -> Iterator[Hostile]:
    """Start every hostile peer; all of them stop when the block ends, even on failure."""
    with LoopThread() as loop_thread:
        yield loop_thread.run(_start(loop_thread, directory))
