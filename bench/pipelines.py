"""The cost of pipelines: 100 of them at a 15 s interval in a real ghost-exporter process,
against a loopback fake ghost (``python -m bench.pipelines --port-file F`` serves it).

Each pipeline emits to ``POST /api/canary/{i}``, which publishes the canary on ``/ws/{i}`` (one
feed per pipeline, so that every pipeline keeps its own WebSocket connection open: the worst
case; pipelines sharing a feed share one connection) and in ``/api/events/{i}``, which is
polled every 250 ms while a round waits. The figures: exporter CPU per round (one round = one
emit, one WebSocket sighting, the polls until the REST sighting), its share of one core, and
the WebSocket connections the exporter holds open, counted by the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
import urllib.request
from collections import deque
from pathlib import Path
from typing import Any

from aiohttp import web

from bench import targets
from bench.exporter import _exporter_argv, process
from bench.procstat import cpu_seconds, rss_bytes, sum_samples

PIPELINES = 100
INTERVAL = 15.0
DEADLINE = "5s"

_FEEDS = web.AppKey("feeds", dict)
_EVENTS = web.AppKey("events", dict)


async def _canary(request: web.Request) -> web.Response:
    key = request.match_info["i"]
    body = await request.json()
    text = json.dumps({"type": "canary", "id": body["id"], "ts": time.time()})
    request.app[_EVENTS].setdefault(key, deque(maxlen=20)).append(text)
    for ws in list(request.app[_FEEDS].get(key, ())):
        await ws.send_str(text)
    return web.json_response({"accepted": True}, status=202)


async def _events(request: web.Request) -> web.Response:
    events = request.app[_EVENTS].get(request.match_info["i"], ())
    return web.Response(text="[" + ",".join(events) + "]", content_type="application/json")


async def _ws(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    feeds = request.app[_FEEDS].setdefault(request.match_info["i"], set())
    feeds.add(ws)
    try:
        async for _ in ws:
            pass
    finally:
        feeds.discard(ws)
    return ws


async def _stats(request: web.Request) -> web.Response:
    open_ws = sum(len(f) for f in request.app[_FEEDS].values())
    return web.json_response({"open_websockets": open_ws})


def create_app() -> web.Application:
    app = web.Application()
    app[_FEEDS] = {}
    app[_EVENTS] = {}
    app.router.add_post("/api/canary/{i}", _canary)
    app.router.add_get("/api/events/{i}", _events)
    app.router.add_get("/ws/{i}", _ws)
    app.router.add_get("/stats", _stats)
    return app


def pipelines_config(base: str, n: int, interval: float) -> str:
    ws = base.replace("http://", "ws://")
    lines = ["pipelines:"]
    for i in range(n):
        lines += [
            f"  - name: p{i:03d}",
            f"    interval: {int(interval * 1000)}ms",
            f"    deadline: {DEADLINE}",
            "    emit:",
            f"      http: {{url: '{base}/api/canary/{i}', body: '{{\"id\": \"{{{{canary}}}}\"}}'}}",
            "    observe:",
            f"      - {{name: feed, websocket: {{url: '{ws}/ws/{i}'}}}}",
            f"      - {{name: rest, http: {{url: '{base}/api/events/{i}', poll: 250ms}}}}",
        ]
    return "\n".join(lines) + "\n"


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return str(resp.read().decode())


def _rounds(text: str) -> float:
    """Rounds finished: canaries counted for the ``feed`` observer, whatever their outcome."""
    return sum(
        float(m.group(1))
        for m in re.finditer(
            r'^ghost_pipeline_canaries_total\{[^}]*observer="feed"[^}]*\} (\S+)$', text, re.M
        )
    )


def run(
    tmp: Path, seconds: float = 45.0, n: int = PIPELINES, interval: float = INTERVAL
) -> dict[str, Any]:
    """Measure ``n`` pipelines for ``seconds`` after one interval of warm-up."""
    server_port_file = tmp / "pipelines-fake.port"
    serve = [sys.executable, "-m", "bench.pipelines", f"--port-file={server_port_file}"]
    with process(serve, server_port_file) as (_, server_port):
        base = f"http://127.0.0.1:{server_port}"
        config = tmp / "bench-pipelines.yml"
        config.write_text(pipelines_config(base, n, interval))
        port_file = tmp / "exporter-pipelines.port"
        with process(_exporter_argv(config, port_file), port_file) as (proc, port):
            url = f"http://127.0.0.1:{port}/metrics"
            time.sleep(interval + 2)  # warm-up: every pipeline connected and one round done
            first = _get(url)
            cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
            time.sleep(seconds)
            last = _get(url)
            cpu = cpu_seconds(proc.pid) - cpu0
            wall = time.monotonic() - t0
            rounds = _rounds(last) - _rounds(first)
            delivered = sum_samples(
                "\n".join(line for line in last.splitlines() if 'outcome="delivered"' in line),
                "ghost_pipeline_canaries_total",
            ) - sum_samples(
                "\n".join(line for line in first.splitlines() if 'outcome="delivered"' in line),
                "ghost_pipeline_canaries_total",
            )
            stats = json.loads(_get(base + "/stats"))
            return {
                "pipelines": n,
                "interval_seconds": interval,
                "window_seconds": round(wall, 1),
                "rounds": int(rounds),
                "cpu_ms_per_round": 1000 * cpu / rounds if rounds else float("nan"),
                "cpu_share_of_one_core": cpu / wall,
                "delivered_ratio": delivered / (2 * rounds) if rounds else float("nan"),
                "open_websockets": stats["open_websockets"],
                "rss_mb": rss_bytes(proc.pid) / 1e6,
            }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port-file", help="serve the fake ghost, writing its port here")
    parser.add_argument("--seconds", type=float, default=45.0, help="measure window")
    args = parser.parse_args()
    if args.port_file:
        asyncio.run(targets.serve(args.port_file, create_app(), backlog=1024))
        return
    import tempfile

    with tempfile.TemporaryDirectory() as name:
        print(json.dumps(run(Path(name), seconds=args.seconds), indent=2))


if __name__ == "__main__":
    main()
