"""The web configuration file (``--web.config.file``): TLS, basic auth, response headers and rate
limiting for an aiohttp server, in the format of Prometheus's exporter-toolkit.

Every HTTP server of the project can use it::

    web_config = load_web_config(path)          # ConfigError with file:line: key: message
    app = web.Application()
    apply_web_config(app, web_config)           # auth_middleware + response headers
    web.TCPSite(runner, host, port, ssl_context=web_config.ssl_context())

Besides the toolkit's keys, ``ghost_unauthenticated_paths`` lists exact paths (``/-/healthy``)
served without basic auth. Values may use the ``!env`` and ``!file`` tags of the main config.
"""

from __future__ import annotations

from ghost_common.webconfig.auth import (
    BasicAuth,
    TooManyChecks,
    apply_web_config,
    auth_middleware,
    basic_challenge,
)
from ghost_common.webconfig.load import load_web_config, parse_web_config
from ghost_common.webconfig.model import WebConfig

__all__ = [
    "BasicAuth",
    "TooManyChecks",
    "WebConfig",
    "apply_web_config",
    "auth_middleware",
    "basic_challenge",
    "load_web_config",
    "parse_web_config",
]
