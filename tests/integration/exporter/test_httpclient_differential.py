"""The probe HTTP client's verdicts against llhttp's own, on the same byte streams.

Each stream (valid or malformed framing) is cut at points hypothesis chooses and handed to the
client's protocol piece by piece, as a socket would, then the peer closes. The reference is
``httptools`` (llhttp) driven directly with the whole stream at once, plus the few rules the
client adds on purpose (written out in ``reference``). Both must agree: accepted with the same
status and body, or rejected.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator

import httptools
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ghost_exporter.probes.httpclient import HTTPError, Marks, _Protocol

MAX_BODY = 1024
REJECTED = ("rejected",)
Verdict = tuple[object, ...]

OK = b"HTTP/1.1 200 OK\r\n"
CHUNKED = OK + b"Transfer-Encoding: chunked\r\n\r\n"

#: (name, stream): the peer sends the stream, then closes the connection.
STREAMS: list[tuple[str, bytes]] = [
    # valid framing
    ("content-length", OK + b"Content-Length: 5\r\nX-A: 1\r\nX-A: 2\r\n\r\nhello"),
    ("content-length-ows", OK + b"Content-Length:  5 \r\n\r\nhello"),
    ("content-length-zero", OK + b"Content-Length: 0\r\n\r\n"),
    ("content-length-tab", OK + b"Content-Length:\t5\t\r\n\r\nhello"),
    ("content-length-leading-zeros", OK + b"Content-Length: 0005\r\n\r\nhello"),
    ("chunked", CHUNKED + b"4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n"),
    ("chunked-upper-hex", CHUNKED + b"A\r\n0123456789\r\n0\r\n\r\n"),
    ("chunked-extension", CHUNKED + b'5;name=value;q="x y"\r\nhello\r\n0\r\n\r\n'),
    ("chunked-trailers", CHUNKED + b"2\r\nok\r\n0\r\nX-Trailer: 1\r\n\r\n"),
    ("chunked-case", OK + b"transfer-encoding: Chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"),
    ("until-close-1.0", b"HTTP/1.0 200 OK\r\n\r\nuntil close"),
    ("until-close-1.1", OK + b"Content-Type: text/plain\r\n\r\nuntil close"),
    ("until-close-empty", OK + b"\r\n"),
    ("interim-100", b"HTTP/1.1 100 Continue\r\n\r\n" + OK + b"Content-Length: 2\r\n\r\nok"),
    ("interim-103", b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + CHUNKED + b"0\r\n\r\n"),
    ("no-content", b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"),
    ("not-modified", b"HTTP/1.1 304 Not Modified\r\n\r\n"),
    ("no-reason-phrase", b"HTTP/1.1 503\r\nContent-Length: 4\r\n\r\ndown"),
    ("keep-alive-extra-bytes", OK + b"Content-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n"),
    ("close-extra-bytes", OK + b"Connection: close\r\nContent-Length: 2\r\n\r\nokGARBAGE"),
    # malformed Content-Length
    ("content-length-underscore", OK + b"Content-Length: 1_0\r\n\r\n0123456789"),
    ("content-length-plus", OK + b"Content-Length: +5\r\n\r\nhello"),
    ("content-length-minus", OK + b"Content-Length: -5\r\n\r\nhello"),
    ("content-length-hex", OK + b"Content-Length: 0x5\r\n\r\nhello"),
    ("content-length-word", OK + b"Content-Length: x\r\n\r\n"),
    ("content-length-list", OK + b"Content-Length: 5, 5\r\n\r\nhello"),
    ("content-length-duplicate", OK + b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello"),
    ("content-length-conflict", OK + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"),
    ("content-length-overflow", OK + b"Content-Length: 99999999999999999999999\r\n\r\n"),
    ("content-length-over-limit", OK + b"Content-Length: 2000\r\n\r\n" + b"x" * 2000),
    ("te-and-content-length", OK + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"),
    ("content-length-and-te", OK + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
    # malformed chunked encoding
    ("chunk-size-0x", CHUNKED + b"0x5\r\nhello\r\n0\r\n\r\n"),
    ("chunk-size-underscore", CHUNKED + b"0_5\r\nhello\r\n0\r\n\r\n"),
    ("chunk-size-plus", CHUNKED + b"+5\r\nhello\r\n0\r\n\r\n"),
    ("chunk-size-word", CHUNKED + b"zz\r\n"),
    ("chunk-size-space", CHUNKED + b"5 \r\nhello\r\n0\r\n\r\n"),
    ("chunk-size-overflow", CHUNKED + b"fffffffffffffffffff\r\n"),
    ("chunk-extension-empty", CHUNKED + b"5;\r\nhello\r\n0\r\n\r\n"),
    ("chunk-extension-space", CHUNKED + b"5;a b\r\nhello\r\n0\r\n\r\n"),
    ("chunk-extension-ctl", CHUNKED + b"5;a=\x01\r\nhello\r\n0\r\n\r\n"),
    ("chunk-data-too-long", CHUNKED + b"2\r\nokX\r\n0\r\n\r\n"),
    ("chunk-bare-lf", CHUNKED + b"2\nok\n0\n\n"),
    ("chunk-over-limit", CHUNKED + b"800\r\n" + b"x" * 2048 + b"\r\n0\r\n\r\n"),
    ("te-twice", OK + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("te-empty", OK + b"Transfer-Encoding: \r\n\r\nabc"),
    ("content-length-empty", OK + b"Content-Length: \r\n\r\n"),
    ("te-gzip", OK + b"Transfer-Encoding: gzip\r\n\r\nabc"),
    ("te-chunked-gzip", OK + b"Transfer-Encoding: chunked, gzip\r\n\r\nabc"),
    # malformed status line and headers
    ("obs-fold", OK + b"X-A: a\r\n b\r\nContent-Length: 2\r\n\r\nok"),
    ("obs-fold-tab", OK + b"X-A: a\r\n\tb\r\nContent-Length: 2\r\n\r\nok"),
    ("space-before-colon", OK + b"Content-Length : 2\r\n\r\nok"),
    ("space-in-name", OK + b"X A: 1\r\nContent-Length: 2\r\n\r\nok"),
    ("no-colon", OK + b"Content-Length 2\r\n\r\nok"),
    ("bare-lf-head", b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok"),
    ("nul-in-value", OK + b"X-A: a\x00b\r\nContent-Length: 2\r\n\r\nok"),
    ("status-four-digits", b"HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok"),
    ("status-below-100", b"HTTP/1.1 099 Odd\r\nContent-Length: 2\r\n\r\nok"),
    ("status-word", b"HTTP/1.1 OK 200\r\n\r\n"),
    ("http-2", b"HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    ("http-0.9-version", b"HTTP/0.9 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    ("not-http", b"SSH-2.0-OpenSSH_9.6\r\n\r\n"),
    # truncated
    ("nothing", b""),
    ("truncated-status", b"HTTP/1.1 20"),
    ("truncated-headers", OK + b"Content-Le"),
    ("truncated-after-headers", OK + b"Content-Length: 2\r\n"),
    ("truncated-length-body", OK + b"Content-Length: 10\r\n\r\nshort"),
    ("truncated-chunk-data", CHUNKED + b"5\r\nhel"),
    ("truncated-chunk-crlf", CHUNKED + b"5\r\nhello"),
    ("truncated-no-last-chunk", CHUNKED + b"5\r\nhello\r\n"),
    ("truncated-trailers", CHUNKED + b"0\r\nX-T: 1\r\n"),
    ("truncated-after-interim", b"HTTP/1.1 100 Continue\r\n\r\n"),
]


class _Reference:
    """llhttp's callbacks, recorded: the first final (non-interim) response, as it was parsed."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.headers: dict[str, str] = {}
        self.status: int | None = None
        self.version = ""
        self.body = b""
        self.complete = False

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.status is None:  # repeated fields combine into one list (RFC 9110, 5.3)
            key, text = name.decode("latin-1").lower(), value.decode("latin-1").strip()
            self.headers[key] = f"{self.headers[key]}, {text}" if key in self.headers else text

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if self.status is None and not (100 <= status < 200 and status != 101):
            self.status = status
            self.version = self.parser.get_http_version()
        elif self.status is None:
            self.headers = {}

    def on_body(self, body: bytes) -> None:
        if not self.complete:
            self.body += body

    def on_message_complete(self) -> None:
        if self.status is not None:
            self.complete = True


def reference(stream: bytes) -> Verdict:
    """llhttp's verdict on the whole stream followed by the peer closing, and the client's rules."""
    ref = _Reference()
    try:
        ref.parser.feed_data(stream)
    except httptools.HttpParserUpgrade:
        pass
    except httptools.HttpParserError:
        if not ref.complete:  # what follows a complete response is not read
            return REJECTED
    if ref.status is None:
        return REJECTED
    # llhttp accepts any status from 0 to 999 and HTTP/x.y; the client takes 100-599, HTTP/1.x.
    if not 100 <= ref.status <= 599 or not ref.version.startswith("1."):
        return REJECTED
    # A transfer coding other than chunked would need decoding: the client refuses it.
    if ref.headers.get("transfer-encoding", "chunked").lower() != "chunked":
        return REJECTED
    # A body delimited by neither length nor chunks ends when the peer closes (RFC 9112, 6.3).
    delimited = "content-length" in ref.headers or "transfer-encoding" in ref.headers
    if not ref.complete and delimited:
        return REJECTED
    # The client's limit on the body (max_body_bytes).
    if len(ref.body) > MAX_BODY or int(ref.headers.get("content-length", "0")) > MAX_BODY:
        return REJECTED
    return ("accepted", ref.status, ref.body)


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    event_loop = asyncio.new_event_loop()
    yield event_loop
    event_loop.close()


def client(loop: asyncio.AbstractEventLoop, pieces: list[bytes]) -> Verdict:
    """The client's protocol fed ``pieces`` as a socket would, then the connection lost."""
    proto = _Protocol(loop)
    proto.reset(MAX_BODY, False, Marks())
    for piece in pieces:
        proto.data_received(piece)
    proto.connection_lost(None)
    assert proto.done.done()
    error = proto.done.exception()
    if error is not None:
        assert isinstance(error, HTTPError)
        return REJECTED
    response = proto.done.result()
    return ("accepted", response.status, response.body)


def split(stream: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(cut, len(stream)) for cut in cuts})
    bounds = [0, *points, len(stream)]
    return [stream[a:b] for a, b in itertools.pairwise(bounds) if b > a]


def test_the_reference_rejects_what_it_should() -> None:
    """The reference itself, on the malformed framings that matter most."""
    for name in (
        "content-length-underscore",
        "content-length-plus",
        "chunk-size-0x",
        "chunk-size-underscore",
        "obs-fold",
        "content-length-conflict",
        "te-and-content-length",
        "chunk-extension-empty",
        "truncated-length-body",
    ):
        assert reference(dict(STREAMS)[name]) == REJECTED, name
    assert reference(dict(STREAMS)["chunked"]) == ("accepted", 200, b"abcdefg")


@pytest.mark.parametrize(("name", "stream"), STREAMS, ids=[name for name, _ in STREAMS])
def test_whole_and_byte_by_byte(loop: asyncio.AbstractEventLoop, name: str, stream: bytes) -> None:
    expected = reference(stream)
    assert client(loop, [stream]) == expected, name
    assert client(loop, [stream[i : i + 1] for i in range(len(stream))]) == expected, name


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=st.sampled_from(STREAMS), cuts=st.lists(st.integers(min_value=1), max_size=6))
def test_same_verdict_at_any_split(
    loop: asyncio.AbstractEventLoop, case: tuple[str, bytes], cuts: list[int]
) -> None:
    name, stream = case
    cuts = [cut % (len(stream) + 1) for cut in cuts]
    assert client(loop, split(stream, cuts)) == reference(stream), name


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    case=st.sampled_from(STREAMS),
    edits=st.lists(
        st.tuples(
            st.integers(min_value=0),
            st.sampled_from(["insert", "delete", "replace"]),
            st.sampled_from(list(b"0123456789abcdefxX_+- ;:=\t\r\n\x00\x7f\xff")),
        ),
        min_size=1,
        max_size=3,
    ),
    cuts=st.lists(st.integers(min_value=1), max_size=4),
)
def test_same_verdict_on_mutated_streams(
    loop: asyncio.AbstractEventLoop,
    case: tuple[str, bytes],
    edits: list[tuple[int, str, int]],
    cuts: list[int],
) -> None:
    """Streams a byte or three away from the table's, so the comparison reaches past it."""
    data = bytearray(case[1])
    for position, kind, byte in edits:
        at = position % (len(data) + 1)
        if kind == "insert":
            data[at:at] = bytes([byte])
        elif at < len(data):
            if kind == "delete":
                del data[at]
            else:
                data[at] = byte
    stream = bytes(data)
    cuts = [cut % (len(stream) + 1) for cut in cuts]
    assert client(loop, split(stream, cuts)) == reference(stream), stream
