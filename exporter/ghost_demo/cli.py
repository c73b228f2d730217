"""``ghost-demo``: run the demo ghost services until SIGTERM or SIGINT.

Exit codes: 0 after a signal, 2 for bad flags or a port that cannot be bound.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from ghost_common.logs import add_log_level_flag, setup_text_logging
from ghost_common.serving import stop_signals
from ghost_common.units import parse_duration

from .demo import Demo, DemoSettings

FAULTS_HELP = """\
fault modes (POST /-/fault on a service, or POST /-/fault/SERVICE on the control listener,
with {"mode": MODE} and, for slow and lagging, an optional "delay"):
  healthy    normal; DELETE /-/fault heals too
  degraded   /health says degraded (HTTP 200)
  unhealthy  /health says unhealthy (HTTP 503)
  down       the listener is closed (only the control listener heals it)
  slow       every answer waits the delay first (default --slow-delay)
  stale      telemetry messages carry old timestamps (--stale-age)
  error      HTTP 500 on every route but /-/fault
  frozen     status-api: /api/services/status keeps the states of the moment the fault began
  lagging    status-api: events reach /ws and /api/patches only after the delay (--lag-delay)
  dropping   status-api: events are accepted (202) and never published
"""


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive_duration(text: str) -> float:
    value = _duration(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}: must be greater than zero")
    return value


def _port(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: expected 0-65535")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ghost-demo",
        description="The demo ghost services (dual-monitor, telemetry-api, status-api) with "
        "fault injection, and a control listener.",
        epilog=FAULTS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    parser.add_argument(
        "--base-port",
        type=_port,
        default=8787,
        metavar="PORT",
        help="dual-monitor on PORT, telemetry-api PORT+1, status-api PORT+2, control PORT+10; "
        "0 picks free ports (default 8787)",
    )
    parser.add_argument(
        "--control-port",
        type=_port,
        default=None,
        metavar="PORT",
        help="port of the control listener (default base port + 10, or a free one with base 0)",
    )
    parser.add_argument(
        "--port-file",
        type=Path,
        default=None,
        metavar="PATH",
        help='write {"dual-monitor": p, "telemetry-api": p, "status-api": p, "control": p} '
        "once every port is bound",
    )
    parser.add_argument(
        "--telemetry-interval",
        type=_positive_duration,
        default=1.0,
        metavar="DURATION",
        help="time between telemetry WebSocket messages (default 1s)",
    )
    parser.add_argument(
        "--slow-delay",
        type=_duration,
        default=10.0,
        metavar="DURATION",
        help="delay of the slow fault mode unless the request gives one (default 10s)",
    )
    parser.add_argument(
        "--lag-delay",
        type=_duration,
        default=8.0,
        metavar="DURATION",
        help="how long status-api holds events back in the lagging fault mode unless the request "
        "gives a delay (default 8s)",
    )
    parser.add_argument(
        "--stale-age",
        type=_duration,
        default=60.0,
        metavar="DURATION",
        help="how old telemetry timestamps are in the stale fault mode (default 60s)",
    )
    parser.add_argument(
        "--stress-url",
        default=None,
        metavar="URL",
        help="a ghost-stress daemon started with --control (e.g. http://127.0.0.1:8790): "
        'POST /-/fault/stress {"mode": "failing"} makes it fail patches for a while',
    )
    add_log_level_flag(parser)
    return parser


def settings_from(args: argparse.Namespace, parser: argparse.ArgumentParser) -> DemoSettings:
    if args.base_port and args.base_port + 10 > 65535 and args.control_port is None:
        parser.error("--base-port leaves no room for the control port (base + 10); lower it")
    if args.stress_url is not None and not args.stress_url.startswith(("http://", "https://")):
        parser.error("--stress-url must be an http:// or https:// URL")
    return DemoSettings(
        host=args.host,
        base_port=args.base_port,
        control_port=args.control_port,
        telemetry_interval=args.telemetry_interval,
        slow_delay=args.slow_delay,
        lag_delay=args.lag_delay,
        stale_age=args.stale_age,
        stress_url=args.stress_url,
    )


async def serve(settings: DemoSettings, port_file: Path | None) -> int:
    demo = Demo(settings)
    with stop_signals() as stop:
        try:
            await demo.start()
        except OSError as exc:
            print(f"ghost-demo: error: cannot listen: {exc}", file=sys.stderr)
            return 2
        try:
            if port_file is not None:
                demo.write_port_file(port_file)
            ports = ", ".join(f"{name} {port}" for name, port in demo.ports().items())
            print(f"ghost-demo listening on {settings.host}: {ports}", file=sys.stderr, flush=True)
            await stop.wait()
            logging.getLogger(__name__).info("stopping")
        finally:
            await demo.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = settings_from(args, parser)
    setup_text_logging(args.log_level)
    return asyncio.run(serve(settings, args.port_file))


if __name__ == "__main__":
    sys.exit(main())
