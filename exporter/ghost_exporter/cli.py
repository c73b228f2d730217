"""Command line: serve (default), ``check`` and ``validate``; Prometheus-style flags."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from ghost_common import serving
from ghost_common.logs import add_logging_flags, setup_logging
from ghost_common.serving import add_listen_flags
from ghost_common.webconfig import WebConfig, load_web_config
from ghost_exporter import __version__
from ghost_exporter.config import Config, ConfigError, load_config
from ghost_exporter.exporter import Exporter
from ghost_exporter.shard import Shard
from ghost_exporter.web import create_app

log = logging.getLogger("ghost_exporter")

EXIT_OK, EXIT_UNHEALTHY, EXIT_CONFIG = 0, 1, 2


def default_config_path() -> Path:
    """The embedded default config (the demo stack), shipped inside the package."""
    return Path(str(resources.files("ghost_exporter") / "default.yml"))


def _shard(text: str) -> Shard:
    try:
        return Shard.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config.file",
        dest="config_file",
        default=None,
        help="configuration file (default: the embedded demo configuration)",
    )
    add_logging_flags(common)
    parser = argparse.ArgumentParser(
        prog="ghost-exporter",
        description="Prometheus exporter that probes ghost services and stress daemons.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"ghost-exporter {__version__}")
    add_listen_flags(
        parser,
        ":9798",
        "address to listen on for /metrics and the other endpoints (default: :9798)",
    )
    parser.add_argument(
        "--web.config.file",
        dest="web_config_file",
        default=None,
        help="web configuration file (exporter-toolkit format): TLS, basic auth, headers "
        "(default: plain HTTP, no auth)",
    )
    parser.add_argument(
        "--probe.max-concurrency",
        dest="max_concurrency",
        type=int,
        default=1024,
        help="most probes running at once (default: 1024)",
    )
    parser.add_argument(
        "--probe.shard",
        dest="shard",
        type=_shard,
        default=None,
        metavar="INDEX/COUNT",
        help="schedule only shard INDEX of COUNT of the targets, split by the hash Prometheus's "
        "hashmod uses over the target name; auto/COUNT takes INDEX from the ordinal ending the "
        "host name (a StatefulSet pod's, ghost-exporter-2), or $GHOST_EXPORTER_POD_NAME when "
        "set (default: all targets)",
    )
    sub = parser.add_subparsers(dest="command", metavar="{check,validate}")
    check = sub.add_parser(
        "check",
        parents=[common],
        help="probe every target, read every reporter and run one round of every pipeline, "
        "print a table; exit 0 all healthy and in sync, 1 not, 2 bad config",
        argument_default=argparse.SUPPRESS,
    )
    check.add_argument(
        "--sync-log",
        dest="sync_log",
        metavar="FILE",
        help="append one line to FILE: '<UTC time> SYNC SUCCESS services=N reporters=N "
        "pipelines=N', or SYNC FAILURE followed by what failed",
    )
    validate = sub.add_parser(
        "validate",
        parents=[common],
        help="validate the configuration (and --web.config.file if given); exit 0, or 2 with "
        "the errors (file, line, key)",
        argument_default=argparse.SUPPRESS,
    )
    validate.add_argument(
        "--web.config.file",
        dest="web_config_file",
        help="also validate this web configuration file",
    )
    return parser


def _load(path: Path) -> Config | None:
    try:
        return load_config(path)
    except ConfigError as exc:
        print(f"invalid configuration:\n{exc}", file=sys.stderr)
        return None


def _load_web(path: str | None) -> tuple[bool, WebConfig | None]:
    """(ok, web config); no file means plain HTTP without auth."""
    if path is None:
        return True, None
    try:
        return True, load_web_config(path)
    except ConfigError as exc:
        print(f"invalid web configuration:\n{exc}", file=sys.stderr)
        return False, None


def _install_uvloop() -> None:
    if os.environ.get("GHOST_EXPORTER_NO_UVLOOP"):
        return
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


async def serve(
    config_path: Path,
    config: Config,
    listen: tuple[str | None, int],
    port_file: str | None,
    max_concurrency: int,
    web_config: WebConfig | None = None,
    shard: Shard | None = None,
) -> None:
    exporter = Exporter(config_path, max_concurrency=max_concurrency, shard=shard)
    app = create_app(exporter, config, web_config)
    ssl_context = web_config.ssl_context() if web_config is not None else None

    def listening(port: int) -> None:
        log.info(
            "listening",
            extra={
                "address": f"{listen[0] or ''}:{port}",
                "config": str(config_path),
                "targets": len(config.targets),
                "version": __version__,
                "tls": ssl_context is not None,
                "basic_auth": web_config is not None and web_config.basic_auth,
            },
        )

    await serving.serve(
        app,
        listen,
        port_file,
        exporter.reload,
        ssl_context=ssl_context,
        on_listening=listening,
        on_stop=lambda: log.info("shutting down"),
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    setup_logging(args.log_level, args.log_format)
    path = Path(args.config_file) if args.config_file else default_config_path()
    config = _load(path)
    web_ok, web_config = _load_web(args.web_config_file)
    if args.command == "validate":
        if config is None or not web_ok:
            return EXIT_CONFIG
        print(f"{path}: valid, {len(config.targets)} targets")
        if web_config is not None:
            print(f"{args.web_config_file}: valid web configuration")
        return EXIT_OK
    if config is None or not web_ok:
        return EXIT_CONFIG
    if args.command == "check":
        from ghost_exporter.check import run_check

        return run_check(config, sync_log=getattr(args, "sync_log", None))
    from prometheus_client import disable_created_metrics

    disable_created_metrics()  # type: ignore[no-untyped-call]
    _install_uvloop()
    try:
        asyncio.run(
            serve(
                path,
                config,
                args.listen,
                args.port_file,
                args.max_concurrency,
                web_config,
                args.shard,
            )
        )
    except OSError as exc:
        log.error("cannot serve", extra={"error": str(exc)})
        return 1
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
