"""The probe HTTP client against raw loopback servers that answer exactly the bytes given."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlsplit

import pytest

from ghost_exporter.probes.httpclient import ConnectionPool, HTTPError, Marks, Response, request
from ghost_exporter.results import FailureReason

CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
ServeRaw = Callable[[Handler], Awaitable[str]]


@pytest.fixture
async def serve_raw() -> AsyncIterator[ServeRaw]:
    servers: list[asyncio.Server] = []

    async def _serve(handler: Handler) -> str:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/path?q=1"

    yield _serve
    for server in servers:
        server.close()
        await server.wait_closed()


def answer(*chunks: bytes, close: bool = True) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        for chunk in chunks:
            writer.write(chunk)
            await writer.drain()
        if close:
            writer.close()

    return handle


async def get(
    url: str, method: str = "GET", max_body: int = 1024, pool: ConnectionPool | None = None
) -> tuple[Response, Marks]:
    marks = Marks(start=asyncio.get_running_loop().time())
    response = await request(
        method,
        urlsplit(url),
        [("User-Agent", "t")],
        None,
        ssl_ctx=None,
        server_hostname=None,
        max_body=max_body,
        marks=marks,
        pool=pool,
    )
    return response, marks


async def test_content_length_and_request_line(serve_raw: ServeRaw) -> None:
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nX-A: 2\r\n\r\nhello")
        writer.close()

    url = await serve_raw(handle)
    response, _ = await get(url)
    assert (response.status, response.body) == (200, b"hello")
    assert response.headers["x-a"] == "1, 2"
    port = urlsplit(url).port
    assert (
        seen[0]
        == (
            f"GET /path?q=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: t\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
    )


async def test_chunked_in_pieces_with_interim_answer(serve_raw: ServeRaw) -> None:
    url = await serve_raw(
        answer(
            b"HTTP/1.1 100 Continue\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab",
            b"cd\r\n3;ext=1\r\nefg\r\n0\r\nTrailer: x\r\n\r\n",
            close=False,
        )
    )
    response, marks = await get(url)
    assert response.body == b"abcdefg"
    assert marks.first_byte is not None
    assert marks.done is not None


async def test_body_until_close_and_gzip(serve_raw: ServeRaw) -> None:
    url = await serve_raw(answer(b"HTTP/1.0 200 OK\r\n\r\nuntil ", b"close"))
    assert (await get(url))[0].body == b"until close"
    packed = gzip.compress(b'{"status": "ok"}')
    url = await serve_raw(
        answer(
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: "
            + str(len(packed)).encode()
            + b"\r\n\r\n"
            + packed
        )
    )
    assert (await get(url))[0].body == b'{"status": "ok"}'


async def test_gzip_bomb_is_refused(serve_raw: ServeRaw) -> None:
    packed = gzip.compress(b"0" * 1_000_000)
    url = await serve_raw(answer(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n" + packed))
    with pytest.raises(HTTPError) as info:
        await get(url, max_body=10_000)
    assert info.value.reason == FailureReason.BODY
    assert "decompressed body is over the 10000 byte limit" in str(info.value)


@pytest.mark.parametrize(
    ("chunks", "reason", "message"),
    [
        (
            (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",),
            FailureReason.BODY,
            "connection closed before the body ended",
        ),
        (
            (b"HTTP/1.1 200 OK\r\nContent-Length: 99999\r\n\r\n",),
            FailureReason.BODY,
            "body of 99999 bytes is over the 1024 byte limit",
        ),
        (
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                + b"400\r\n"
                + b"x" * 1024
                + b"\r\n400\r\n"
                + b"x" * 1024,
            ),
            FailureReason.BODY,
            "body is over the 1024 byte limit",
        ),
        (
            (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",),
            FailureReason.PROTOCOL,
            "invalid chunk size",
        ),
        ((b"SSH-2.0-OpenSSH\r\n\r\n",), FailureReason.PROTOCOL, "not an HTTP/1.x response"),
        (
            (b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70_000,),
            FailureReason.PROTOCOL,
            "response headers over 64 KiB",
        ),
        (
            (b"HTTP/1.1 200 OK\r\nContent-Le",),
            FailureReason.PROTOCOL,
            "connection closed in the middle of the response headers",
        ),
        ((), FailureReason.PROTOCOL, "connection closed before any answer"),
        (
            (b"HTTP/1.1 200 OK\r\n" + b"X-H: 0123456789\r\n" * 5000 + b"\r\nok",),
            FailureReason.PROTOCOL,
            "response headers over 64 KiB",
        ),
        (
            (CHUNKED + b"1;a=" + b"b" * 200_000,),
            FailureReason.PROTOCOL,
            "chunked encoding overhead too large",
        ),
        (
            (CHUNKED + b"0\r\n" + b"X-Trailer: 1\r\n" * 20_000,),
            FailureReason.PROTOCOL,
            "chunked encoding overhead too large",
        ),
        (
            (b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",),
            FailureReason.PROTOCOL,
            "invalid content-length",
        ),
        (
            (b"HTTP/1.1 200 OK\r\nContent-Length: 1_0\r\n\r\n0123456789",),
            FailureReason.PROTOCOL,
            "invalid content-length",
        ),
        (
            (b"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello",),
            FailureReason.PROTOCOL,
            "invalid content-length",
        ),
        ((CHUNKED + b"0x5\r\nhello\r\n0\r\n\r\n",), FailureReason.PROTOCOL, "invalid chunk size"),
        ((CHUNKED + b"0_5\r\nhello\r\n0\r\n\r\n",), FailureReason.PROTOCOL, "invalid chunk size"),
        (
            (CHUNKED + b"5;\r\nhello\r\n0\r\n\r\n",),
            FailureReason.PROTOCOL,
            "invalid chunked encoding",
        ),
        (
            (b"HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 2\r\n\r\nok",),
            FailureReason.PROTOCOL,
            "invalid response header line",
        ),
        (
            (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!",),
            FailureReason.PROTOCOL,
            "invalid content-length",
        ),
        (
            (CHUNKED[:-2] + b"Content-Length: 5\r\n\r\nhello",),
            FailureReason.PROTOCOL,
            "invalid content-length",
        ),
        (
            (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc",),
            FailureReason.PROTOCOL,
            "unsupported transfer-encoding gzip",
        ),
        (
            (b"HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok",),
            FailureReason.PROTOCOL,
            "not an HTTP/1.x response",
        ),
        (
            (b"HTTP/1.1 099 Odd\r\nContent-Length: 2\r\n\r\nok",),
            FailureReason.PROTOCOL,
            "invalid status code 99",
        ),
    ],
)
async def test_broken_answers(
    serve_raw: ServeRaw, chunks: tuple[bytes, ...], reason: FailureReason, message: str
) -> None:
    url = await serve_raw(answer(*chunks))
    with pytest.raises(HTTPError) as info:
        await get(url)
    assert info.value.reason == reason
    assert str(info.value).startswith(message)


async def test_head_and_no_content_have_no_body(serve_raw: ServeRaw) -> None:
    url = await serve_raw(answer(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n", close=False))
    assert (await get(url, method="HEAD"))[0].body == b""
    url = await serve_raw(answer(b"HTTP/1.1 204 No Content\r\n\r\n", close=False))
    assert (await get(url))[0].status == 204


async def test_refused_connection(serve_raw: ServeRaw) -> None:
    url = await serve_raw(answer())
    server_port = urlsplit(url).port
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    assert free != server_port
    with pytest.raises(HTTPError) as info:
        await get(f"http://127.0.0.1:{free}/")
    assert info.value.reason == FailureReason.CONNECT


async def test_keep_alive_reuses_and_survives_a_closed_idle_connection(
    serve_raw: ServeRaw,
) -> None:
    connections = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        for _ in range(2):  # two answers per connection, then the server closes it
            try:
                await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
        writer.close()

    url = await serve_raw(handle)
    pool = ConnectionPool()
    try:
        first, first_marks = await get(url, pool=pool)
        second, second_marks = await get(url, pool=pool)
        await asyncio.sleep(0.05)  # the server closes the connection after two answers
        third, third_marks = await get(url, pool=pool)
    finally:
        pool.close()
    assert [r.body for r in (first, second, third)] == [b"ok"] * 3
    assert not first_marks.reused
    assert second_marks.reused
    assert "connect" not in second_marks.phases(1e9)
    assert connections == 2
    assert third_marks.connected is not None
