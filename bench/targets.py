"""Loopback targets for benchmarks: ``/ok/{i}`` healthy JSON, ``/slow/{i}``, ``/fail/{i}``."""

from __future__ import annotations

import argparse
import asyncio

from aiohttp import web

from ghost_common import serving

SLOW_SECONDS = 3.0


async def ok(request: web.Request) -> web.Response:
    return web.Response(text='{"status": "healthy"}', content_type="application/json")


async def slow(request: web.Request) -> web.Response:
    await asyncio.sleep(SLOW_SECONDS)
    return web.Response(text='{"status": "healthy"}', content_type="application/json")


async def fail(request: web.Request) -> web.Response:
    return web.Response(status=500, text='{"status": "error"}', content_type="application/json")


def create_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/ok/{i}", ok)
    app.router.add_get("/slow/{i}", slow)
    app.router.add_get("/fail/{i}", fail)
    return app


async def serve(port_file: str, app: web.Application | None = None, backlog: int = 4096) -> None:
    """Serve ``app`` (by default these targets) on a loopback port written to ``port_file``,
    until SIGTERM or SIGINT."""
    await serving.serve(
        app or create_app(), ("127.0.0.1", 0), port_file, shutdown_timeout=0.1, backlog=backlog
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port-file", required=True)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(serve(args.port_file))


if __name__ == "__main__":
    main()
