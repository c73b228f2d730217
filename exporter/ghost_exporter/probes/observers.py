"""Pipeline observers, their config and how they watch: persistent WebSocket connections that
watch for canary ids, and HTTP endpoints polled until their body contains one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from pydantic import Field

from ghost_common.schema import BasicAuth, TLSConfig
from ghost_exporter.config.schema import (
    PlainHeaders,
    PlainHTTPURL,
    PlainText,
    PlainWSURL,
    PositiveDuration,
    Size,
    StrictModel,
)
from ghost_exporter.probes.errors import classify
from ghost_exporter.probes.httpclient import ConnectionPool, HTTPError
from ghost_exporter.probes.outbound import build_headers, send, status_ok
from ghost_exporter.probes.tls import client_context

log = logging.getLogger(__name__)

#: Every canary id looks like this: a fixed prefix and 128 random bits in hex.
CANARY_PATTERN = re.compile(r"canary-[0-9a-f]{32}")
#: Seconds between WebSocket pings on a persistent observer connection; a peer that does not
#: answer within half of it is taken as gone (and reconnected at the next round).
HEARTBEAT = 30.0

Seen = Callable[[float], None]


class WebSocketObserver(StrictModel):
    """A feed watched over one persistent connection for any message containing the canary."""

    url: PlainWSURL
    headers: PlainHeaders = Field(default_factory=dict)
    send: PlainText | None = None
    max_message_bytes: Size = 1024 * 1024
    tls_config: TLSConfig = Field(default_factory=TLSConfig)


class HTTPObserver(StrictModel):
    """An endpoint polled until its body contains the canary."""

    url: PlainHTTPURL
    headers: PlainHeaders = Field(default_factory=dict)
    basic_auth: BasicAuth | None = None
    poll: PositiveDuration = 0.25
    max_body_bytes: Size = 1024 * 1024
    tls_config: TLSConfig = Field(default_factory=TLSConfig)


def new_canary() -> str:
    """A fresh, unguessable canary id (39 characters of ``[a-z0-9-]``)."""
    return "canary-" + secrets.token_hex(16)


class Watcher:
    """One persistent WebSocket connection; every message is searched for the canary ids that
    rounds are waiting for, and each id is reported once, to the rounds waiting for it."""

    def __init__(self, spec: WebSocketObserver, session: aiohttp.ClientSession) -> None:
        self.spec = spec
        self._session = session
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.waiting: dict[str, list[Seen]] = {}
        self.error = ""
        self.connects = 0

    @property
    def connected(self) -> bool:
        return (
            self._ws is not None
            and not self._ws.closed
            and self._reader is not None
            and not self._reader.done()
        )

    async def ensure(self, timeout: float) -> str | None:
        """Be connected (reconnecting if the connection dropped) within ``timeout``; None when
        connected, else why not."""
        async with self._lock:
            if self.connected:
                return None
            await self._drop()
            spec = self.spec
            ssl_ctx = client_context(spec.tls_config) if spec.url.startswith("wss") else None
            try:
                async with asyncio.timeout(timeout):
                    ws = await self._session.ws_connect(
                        spec.url,
                        headers={k: v.get_secret_value() for k, v in spec.headers.items()},
                        ssl=ssl_ctx if ssl_ctx is not None else True,
                        max_msg_size=spec.max_message_bytes,
                        autoping=True,
                        heartbeat=HEARTBEAT,
                        timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=1.0),
                        server_hostname=spec.tls_config.server_name,
                    )
                    if spec.send is not None:
                        await ws.send_str(spec.send)
            except Exception as exc:
                reason, message = classify(exc)
                self.error = f"{reason.value}: {message}"
                return self.error
            self._ws = ws
            self.connects += 1
            self.error = ""
            self._reader = asyncio.get_running_loop().create_task(self._read(ws))
            return None

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        try:
            while True:
                msg = await ws.receive()
                if msg.type == aiohttp.WSMsgType.TEXT:
                    text: str = msg.data
                elif msg.type == aiohttp.WSMsgType.BINARY:
                    text = bytes(msg.data).decode("utf-8", errors="replace")
                else:  # closed, closing or an error (a message too large, say)
                    detail = msg.extra if msg.type == aiohttp.WSMsgType.CLOSE else msg.type.name
                    self.error = f"connection closed ({detail})"
                    return
                if self.waiting:
                    self._scan(text, time.perf_counter())
        except Exception as exc:  # the reader ends; the next round reconnects
            self.error = f"connection lost: {type(exc).__name__}"
        finally:
            with contextlib.suppress(Exception):
                await ws.close()

    def _scan(self, text: str, now: float) -> None:
        for match in CANARY_PATTERN.finditer(text):
            for seen in self.waiting.pop(match.group(), ()):
                seen(now)

    def watch(self, canary: str, seen: Seen) -> None:
        self.waiting.setdefault(canary, []).append(seen)

    def unwatch(self, canary: str) -> None:
        self.waiting.pop(canary, None)

    async def _drop(self) -> None:
        reader, self._reader = self._reader, None
        ws, self._ws = self._ws, None
        if reader is not None:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()

    async def aclose(self) -> None:
        async with self._lock:
            await self._drop()


def _key(spec: WebSocketObserver) -> tuple[Any, ...]:
    headers = tuple(sorted((k, v.get_secret_value()) for k, v in spec.headers.items()))
    return (spec.url, headers, spec.send, spec.max_message_bytes, spec.tls_config)


class WatcherPool:
    """The persistent observer connections, one per distinct (URL, headers, options), shared by
    every pipeline that watches the same feed; a connection unused for ``idle`` seconds (its
    pipelines removed by a reload) is closed."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session
        self._watchers: dict[tuple[Any, ...], Watcher] = {}
        self._timers: dict[tuple[Any, ...], asyncio.TimerHandle] = {}
        self._closing: set[asyncio.Task[None]] = set()

    def get(self, spec: WebSocketObserver, idle: float) -> Watcher:
        key = _key(spec)
        watcher = self._watchers.get(key)
        if watcher is None:
            watcher = self._watchers[key] = Watcher(spec, self._session)
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        self._timers[key] = asyncio.get_running_loop().call_later(idle, self._expire, key, idle)
        return watcher

    def _expire(self, key: tuple[Any, ...], idle: float) -> None:
        watcher = self._watchers.get(key)
        if watcher is None:
            return
        if watcher.waiting:  # a round is still waiting on it: look again later
            self._timers[key] = asyncio.get_running_loop().call_later(idle, self._expire, key, idle)
            return
        del self._watchers[key]
        self._timers.pop(key, None)
        task = asyncio.get_running_loop().create_task(watcher.aclose())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    @property
    def open_connections(self) -> int:
        return sum(1 for w in self._watchers.values() if w.connected)

    async def aclose(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        watchers = list(self._watchers.values())
        self._watchers.clear()
        await asyncio.gather(*(w.aclose() for w in watchers), *self._closing)


async def poll(
    spec: HTTPObserver,
    canary: str,
    seen: Seen,
    pool: ConnectionPool,
    timeout: float,
    notes: dict[str, str],
    name: str,
) -> None:
    """GET ``spec.url`` every ``spec.poll`` until the body contains ``canary`` (until
    cancelled); a failing poll is noted and the polling goes on."""
    needle = canary.encode()
    headers = build_headers(spec.headers, spec.basic_auth)
    while True:
        started = time.perf_counter()
        try:
            resp = await asyncio.wait_for(
                send(
                    "GET", spec.url, headers, None, spec.tls_config, spec.max_body_bytes, pool=pool
                ),
                timeout,
            )
        except HTTPError as exc:
            notes[name] = f"{exc.reason.value}: {exc}"
        except Exception as exc:
            reason, message = classify(exc)
            notes[name] = f"{reason.value}: {message}"
        else:
            if needle in resp.body:
                seen(time.perf_counter())
                notes.pop(name, None)
                return
            if not status_ok(resp.status, []):
                notes[name] = f"status: status {resp.status}"
        await asyncio.sleep(max(0.0, spec.poll - (time.perf_counter() - started)))
