"""The exporter's HTTP app: /metrics, /probe, /-/healthy, /-/ready, /-/reload and /."""

from __future__ import annotations

import asyncio
import html
import time
import zlib
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web
from prometheus_client import generate_latest

from ghost_common.webconfig import WebConfig, apply_web_config
from ghost_exporter import __version__
from ghost_exporter.agreement import ReporterState
from ghost_exporter.config import Config, Target
from ghost_exporter.exporter import Exporter
from ghost_exporter.exposition import (
    CONTENT_TYPE,
    GZIP_LEVEL,
    TargetText,
    choose_encoding,
    render,
)
from ghost_exporter.kinds import new_state
from ghost_exporter.kinds.pipeline import PipelineState, round_outcomes
from ghost_exporter.samples import TargetState

EXPORTER = web.AppKey("exporter", Exporter)
#: The counters and histograms of /probe answers, per configured target name: cumulative across
#: /probe requests, like those of /metrics, so that rate() and the rules built on it (error
#: ratios, latency percentiles) work the same when Prometheus scrapes /probe.
PROBE_STATES = web.AppKey("probe_states", dict[str, TargetState])
#: The threads that compress large /metrics chunks (zlib releases the GIL while it works).
COMPRESSOR = web.AppKey("compressor", ThreadPoolExecutor)
#: Text chunks at least this long are compressed on a COMPRESSOR thread, so the event loop
#: keeps starting probes meanwhile; a shorter one costs less than the hand-off.
THREAD_COMPRESS_BYTES = 64 * 1024
#: Seconds kept free of Prometheus's scrape timeout for rendering and transfer.
SCRAPE_TIMEOUT_MARGIN = 0.5


class _Body:
    """Writes /metrics as it is, or gzip-compressed by one compressor for the whole response,
    fed a chunk at a time (so the response is still streamed)."""

    def __init__(
        self, response: web.StreamResponse, gzip: bool, executor: ThreadPoolExecutor
    ) -> None:
        self._response = response
        self._executor = executor
        self._zlib = (
            zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS) if gzip else None
        )

    async def write(self, data: bytes) -> None:
        if self._zlib is None:
            await self._response.write(data)
            return
        if len(data) >= THREAD_COMPRESS_BYTES:
            loop = asyncio.get_running_loop()
            data = await loop.run_in_executor(self._executor, self._zlib.compress, data)
        else:
            data = self._zlib.compress(data)
        if data:
            await self._response.write(data)

    async def finish(self) -> None:
        if self._zlib is not None:
            await self._response.write(self._zlib.flush())
        await self._response.write_eof()


async def metrics(request: web.Request) -> web.StreamResponse:
    """Every target's latest results, a family at a time: between families the event loop runs
    other work, so a scrape of thousands of targets never holds up the probes. Compressed with
    gzip when the client asks for it (Prometheus always does)."""
    exporter = request.app[EXPORTER]
    encoding = choose_encoding(request.headers.get("Accept-Encoding"))
    if encoding is None:
        raise web.HTTPNotAcceptable(
            text="neither gzip nor identity is acceptable to this client\n",
            headers={"Vary": "Accept-Encoding"},
        )
    headers = {"Content-Type": CONTENT_TYPE, "Vary": "Accept-Encoding"}
    if encoding == "gzip":
        headers["Content-Encoding"] = "gzip"
    response = web.StreamResponse(headers=headers)
    await response.prepare(request)
    body = _Body(response, encoding == "gzip", request.app[COMPRESSOR])
    for family in exporter.store.families():
        await body.write(family.encode())
        await asyncio.sleep(0)
    await body.write(generate_latest(exporter.metrics.registry))
    await body.finish()
    return response


def _timeout(request: web.Request, configured: float) -> float:
    header = request.headers.get("X-Prometheus-Scrape-Timeout-Seconds")
    try:
        scrape = float(header) if header else None
    except ValueError:
        scrape = None
    if scrape is not None and scrape > 0:
        return max(0.1, min(configured, scrape - SCRAPE_TIMEOUT_MARGIN))
    return configured


async def probe(request: web.Request) -> web.Response:
    """Probe one configured target now. Only configured names are accepted: the request can
    choose which target, never what is fetched or how."""
    exporter = request.app[EXPORTER]
    names = request.query.getall("target", [])
    if len(names) != 1 or not names[0]:
        raise web.HTTPBadRequest(
            text="exactly one 'target' parameter (a configured name) is needed\n"
        )
    target = exporter.target(names[0])
    if target is None:
        raise web.HTTPNotFound(text="unknown target: only configured target names can be probed\n")
    timeout = _timeout(request, target.round_timeout)
    if target.kind == "pipeline" and timeout < target.round_timeout:
        raise web.HTTPBadRequest(
            text=f"pipeline {target.name} takes up to {target.round_timeout:g}s a round, more "
            f"than the scrape timeout allows ({timeout:g}s after the margin): raise "
            "scrape_timeout or leave pipelines to /metrics\n"
        )
    result = await exporter.probe_now(target, timeout)
    state = _probe_state(request.app, exporter, target)
    state.observe(result)
    if isinstance(state, ReporterState):
        state.compare(exporter.store.book, final=True)
    text = render([TargetText(state).render(state)])
    return web.Response(body=text.encode(), headers={"Content-Type": CONTENT_TYPE})


def _probe_state(app: web.Application, exporter: Exporter, target: Target) -> TargetState:
    """The /probe state of ``target``: kept while the name stays configured with the same kind
    (a reload keeps the counters, as in /metrics); names no longer configured are dropped."""
    states = app[PROBE_STATES]
    state = states.get(target.name)
    if state is None or state.target.kind != target.kind:
        if len(states) >= 2 * max(1, len(exporter.config.targets if exporter.config else ())):
            for name in [n for n in states if exporter.target(n) is None]:
                del states[name]
        state = states[target.name] = new_state(target)
    state.target = target
    return state


async def healthy(request: web.Request) -> web.Response:
    return web.Response(text="Healthy.\n")


async def ready(request: web.Request) -> web.Response:
    if not request.app[EXPORTER].ready:
        raise web.HTTPServiceUnavailable(text="Not ready.\n")
    return web.Response(text="Ready.\n")


async def reload(request: web.Request) -> web.Response:
    error = await request.app[EXPORTER].reload()
    if error is not None:
        raise web.HTTPInternalServerError(text=f"config reload refused:\n{error}\n")
    return web.Response(text="Config reloaded.\n")


def _cells(state: TargetState) -> list[str]:
    result = state.last
    if result is None:
        cells = ["pending", "", "", "", ""]
    else:
        age = time.time() - (result.started + result.duration)
        cells = [
            "up" if result.success else "down",
            result.health.value,
            result.reason.value if result.reason else "",
            f"{result.duration * 1000:.1f} ms",
            f"{age:.0f} s ago",
        ]
    return cells


def _sync_detail(state: TargetState) -> str:
    """What a reporter disagrees on and who is unmatched, or each observer's last outcome."""
    result = state.last
    if result is None:
        return ""
    if isinstance(state, ReporterState) and result.success:
        parts = []
        if state.out_of_sync:
            parts.append("out of sync: " + ", ".join(state.out_of_sync))
        if state.only_reporter:
            parts.append("not probed: " + ", ".join(state.only_reporter))
        if state.only_exporter:
            parts.append("not listed: " + ", ".join(state.only_exporter))
        return "; ".join(parts) or "in sync"
    if isinstance(state, PipelineState) and result.canary is not None:
        canary = result.canary
        outcomes = round_outcomes(canary, state.deadline)
        out = []
        for name, kind in outcomes.items():
            seconds = canary.seen.get(name)
            out.append(f"{name} {kind}" + (f" {seconds:.3f}s" if seconds is not None else ""))
        return ", ".join(out)
    return ""


def _row(state: TargetState) -> str:
    cells = _cells(state)
    target = state.target
    return (
        "<tr>"
        + "".join(f"<td>{html.escape(c)}</td>" for c in [target.name, target.kind, *cells])
        + f"<td>{html.escape(_sync_detail(state))}</td></tr>"
    )


async def index(request: web.Request) -> web.Response:
    exporter = request.app[EXPORTER]
    rows = "\n".join(_row(s) for s in exporter.store.states())
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>ghost-exporter</title>
<style>body{{font-family:sans-serif}}td,th{{padding:2px 10px;text-align:left}}</style></head>
<body><h1>ghost-exporter {html.escape(__version__)}</h1>
<p><a href="/metrics">/metrics</a> · <a href="/-/healthy">/-/healthy</a> ·
<a href="/-/ready">/-/ready</a> · POST /-/reload · /probe?target=NAME</p>
<table><tr><th>target</th><th>kind</th><th>up</th><th>health</th><th>failure</th>
<th>duration</th><th>last probe</th><th>sync</th></tr>
{rows}
</table></body></html>
"""
    return web.Response(text=page, content_type="text/html")


def create_app(
    exporter: Exporter, config: Config | None = None, web_config: WebConfig | None = None
) -> web.Application:
    """The app; the exporter starts and stops with it (``cleanup_ctx``). ``web_config`` adds basic
    auth, rate limiting and response headers (TLS is the listener's)."""
    app = web.Application()
    app[EXPORTER] = exporter
    app[PROBE_STATES] = {}
    app[COMPRESSOR] = ThreadPoolExecutor(max_workers=2, thread_name_prefix="gzip")
    if web_config is not None:
        apply_web_config(app, web_config)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        await exporter.start(config)
        yield
        await exporter.stop()
        app[COMPRESSOR].shutdown(wait=False, cancel_futures=True)

    app.cleanup_ctx.append(lifecycle)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/probe", probe)
    app.router.add_get("/-/healthy", healthy)
    app.router.add_get("/-/ready", ready)
    app.router.add_post("/-/reload", reload)
    app.router.add_put("/-/reload", reload)
    app.router.add_get("/", index)
    return app
