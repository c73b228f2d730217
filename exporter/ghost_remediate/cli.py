"""Command line: serve (default) and ``validate``; Prometheus-style flags.

Exit codes: 0 ok, 1 cannot serve (e.g. the address is taken), 2 bad configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from ghost_common import __version__, serving
from ghost_common.logs import add_logging_flags, setup_logging
from ghost_common.serving import add_listen_flags
from ghost_common.webconfig import WebConfig, apply_web_config, load_web_config

from .auth import Authenticator
from .config import Config, ConfigError, load_config
from .engine import Remediator
from .metrics import Metrics
from .web import create_app

log = logging.getLogger("ghost_remediate")

EXIT_OK, EXIT_SERVE, EXIT_CONFIG = 0, 1, 2
DEFAULT_LISTEN = "127.0.0.1:9799"


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config.file", dest="config_file", default=None, help="remediation config (required)"
    )
    common.add_argument(
        "--web.config.file",
        dest="web_config_file",
        default=None,
        help="TLS, basic auth and headers in the exporter-toolkit format (as ghost-exporter)",
    )
    add_logging_flags(common)
    parser = argparse.ArgumentParser(
        prog="ghost-remediate",
        description="Alertmanager webhook receiver that runs the remediations its config allows.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"ghost-remediate {__version__}")
    add_listen_flags(parser, DEFAULT_LISTEN, f"address to listen on (default: {DEFAULT_LISTEN})")
    parser.add_argument(
        "--dry-run",
        dest="dry_run",
        action="store_true",
        help="decide and audit every alert as for real (result dry_run), but run no action, "
        "request and silence",
    )
    sub = parser.add_subparsers(dest="command", metavar="{validate}")
    sub.add_parser(
        "validate",
        parents=[common],
        help="check the config (and web config); exit 0, or 2 with file:line: key: message",
        argument_default=argparse.SUPPRESS,
    )
    return parser


class Server:
    """The running program: config reloads swap what the remediator and authenticator use."""

    def __init__(
        self,
        config_path: Path,
        config: Config,
        web_config: WebConfig | None,
        dry_run: bool = False,
    ) -> None:
        self.config_path = config_path
        self.metrics = Metrics()
        self.remediator = Remediator(config, self.metrics, dry_run=dry_run)
        self.authenticator = Authenticator(config)
        self.web_config = web_config
        self.metrics.reload_successful.set(1)

    async def reload(self) -> str | None:
        """Load the config file again; keep the running config when it is bad."""
        try:
            config = load_config(self.config_path)
        except ConfigError as exc:
            self.metrics.reload_successful.set(0)
            log.error("config reload refused", extra={"error": str(exc)})
            return str(exc)
        self.remediator.use(config)
        self.authenticator.use(config)
        self.metrics.reload_successful.set(1)
        log.info("config reloaded", extra={"rules": len(config.rules)})
        return None

    async def serve(self, listen: tuple[str | None, int], port_file: str | None) -> None:
        app = create_app(self.remediator, self.authenticator, self.reload)
        if self.web_config is not None:  # basic auth and headers of web.yml, as the exporter's
            apply_web_config(app, self.web_config, realm="ghost-remediate")
        ssl_context = self.web_config.ssl_context() if self.web_config else None

        def listening(port: int) -> None:
            log.info(
                "listening",
                extra={
                    "address": f"{listen[0] or ''}:{port}",
                    "tls": ssl_context is not None,
                    "config": str(self.config_path),
                    "rules": len(self.remediator.config.rules),
                    "dry_run": self.remediator.dry_run,
                    "version": __version__,
                },
            )

        def stopping() -> None:
            log.info("shutting down", extra={"running": len(self.remediator.tasks)})

        await serving.serve(
            app,
            listen,
            port_file,
            self.reload,
            ssl_context=ssl_context,
            on_listening=listening,
            on_stop=stopping,
        )


def _load(args: argparse.Namespace) -> tuple[Config, WebConfig | None] | None:
    if not args.config_file:
        print("ghost-remediate: --config.file is required", file=sys.stderr)
        return None
    try:
        config = load_config(args.config_file)
        web_config = load_web_config(args.web_config_file) if args.web_config_file else None
    except ConfigError as exc:
        print(f"invalid configuration:\n{exc}", file=sys.stderr)
        return None
    return config, web_config


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    setup_logging(args.log_level, args.log_format)
    loaded = _load(args)
    if loaded is None:
        return EXIT_CONFIG
    config, web_config = loaded
    if args.command == "validate":
        tls = ", TLS" if web_config is not None and web_config.tls is not None else ""
        print(f"{args.config_file}: valid, {len(config.rules)} rules{tls}")
        return EXIT_OK
    from prometheus_client import disable_created_metrics

    disable_created_metrics()  # type: ignore[no-untyped-call]
    server = Server(Path(args.config_file), config, web_config, args.dry_run)
    try:
        asyncio.run(server.serve(args.listen, args.port_file))
    except OSError as exc:
        log.error("cannot serve", extra={"error": str(exc)})
        return EXIT_SERVE
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
