"""Fan-out of JSON messages to WebSocket clients, each behind a small bounded send queue.

``publish`` never waits: a message is encoded once and put on every client's queue; a client
whose queue is full cannot keep up and is disconnected (close code 1013, then the connection is
dropped if even the close frame cannot be sent within a second). A slow client therefore costs
the publisher one failed ``put_nowait`` and never slows it down.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping
from typing import Any

from aiohttp import WSCloseCode, web

log = logging.getLogger(__name__)

#: Messages a client may have waiting before it counts as too slow.
DEFAULT_CLIENT_QUEUE = 1024
CLOSE_TIMEOUT = 1.0


class _Client:
    __slots__ = ("queue", "sender", "transport", "ws")

    def __init__(
        self,
        ws: web.WebSocketResponse,
        transport: asyncio.Transport | None,
        queue_size: int,
    ) -> None:
        self.ws = ws
        self.transport = transport
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_size)
        self.sender: asyncio.Task[None] | None = None


class Hub:
    """Tracks open WebSockets; ``serve`` is the body of a ``/ws`` handler."""

    def __init__(self, queue_size: int = DEFAULT_CLIENT_QUEUE) -> None:
        self.queue_size = queue_size
        self.evicted = 0
        self._clients: dict[web.WebSocketResponse, _Client] = {}
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def client_count(self) -> int:
        return len(self._clients)

    def publish(self, message: Mapping[str, Any]) -> None:
        if not self._clients:
            return
        text = json.dumps(message)
        for client in list(self._clients.values()):
            try:
                client.queue.put_nowait(text)
            except asyncio.QueueFull:
                self._evict(client)

    async def serve(
        self, request: web.Request, greeting: Mapping[str, Any] | None = None
    ) -> web.WebSocketResponse:
        """Accept a WebSocket, push published messages to it, ignore what it sends."""
        ws = web.WebSocketResponse(timeout=CLOSE_TIMEOUT, writer_limit=64 * 1024)
        await ws.prepare(request)
        client = _Client(ws, request.transport, self.queue_size)
        if greeting is not None:
            client.queue.put_nowait(json.dumps(greeting))
        client.sender = asyncio.create_task(self._pump(client))
        self._clients[ws] = client
        try:
            async for _message in ws:
                pass
        finally:
            self._clients.pop(ws, None)
            client.sender.cancel()
        return ws

    @staticmethod
    async def _pump(client: _Client) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            while True:
                await client.ws.send_str(await client.queue.get())

    def _evict(self, client: _Client) -> None:
        if self._clients.pop(client.ws, None) is None:
            return
        self.evicted += 1
        log.warning("disconnecting a WebSocket client that cannot keep up")
        if client.sender is not None:
            client.sender.cancel()
        task = asyncio.create_task(_close(client, WSCloseCode.TRY_AGAIN_LATER, b"too slow"))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close_all(self) -> None:
        """Close every client with a going-away frame (for application shutdown)."""
        clients = list(self._clients.values())
        self._clients.clear()
        for client in clients:
            if client.sender is not None:
                client.sender.cancel()
        await asyncio.gather(
            *(_close(c, WSCloseCode.GOING_AWAY, b"server shutdown") for c in clients),
            *self._closing,
            return_exceptions=True,
        )


async def _close(client: _Client, code: int, message: bytes) -> None:
    """Close with a frame; drop the connection if that does not finish within the timeout.

    A client that does not read leaves unsent data in the transport, which a plain close would
    wait for forever: hence the abort.
    """
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT):
            await client.ws.close(code=code, message=message)
    except (TimeoutError, ConnectionError, RuntimeError):
        if client.transport is not None:
            client.transport.abort()
