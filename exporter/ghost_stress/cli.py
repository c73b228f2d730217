"""``ghost-stress``: flags, validation and exit codes.

Exit codes: 0 done, 1 success rate below ``--min-success-rate`` (run), 2 bad flags or the listen
address cannot be bound, 99 a ``--threshold`` breached (run), 128+N when a run is interrupted by
signal N.
"""

from __future__ import annotations

import argparse
import random
import shlex
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from ghost_common.logs import add_log_level_flag, setup_text_logging
from ghost_common.units import parse_duration, parse_duration_range, parse_size

from .joblog import read_failed
from .settings import Settings
from .thresholds import parse_threshold
from .units import ListenAddress, parse_fraction, parse_listen, parse_rate

T = TypeVar("T")

DEFAULT_DURATION = "200ms-900ms"
#: A one-shot run serves its status API on a free port, so that it never collides with a daemon
#: (``make run`` keeps one on 8790); the daemon keeps the fixed port the exporter's config names.
RUN_LISTEN = ListenAddress("127.0.0.1", 0)
DAEMON_LISTEN = ListenAddress("127.0.0.1", 8790)


def _typed(parse: Callable[[str], T], name: str) -> Callable[[str], T]:
    """Wrap a parser so argparse shows its own message on a bad value."""

    def convert(text: str) -> T:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = name
    return convert


def _count(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not (text.isascii() and text.isdigit()) or int(text) < minimum:
            raise ValueError(f"invalid count {text!r}: expected a whole number >= {minimum}")
        return int(text)

    return _typed(parse, "count")


def _positive_duration(text: str) -> float:
    value = parse_duration(text)
    if value <= 0:
        raise ValueError(f"invalid duration {text!r}: must be greater than zero")
    return value


def _url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"invalid URL {text!r}: expected http://HOST[:PORT]/PATH")
    return text


def _add_common(
    parser: argparse.ArgumentParser, concurrency: int, listen: ListenAddress, listen_help: str
) -> None:
    load = parser.add_argument_group("patches")
    load.add_argument(
        "--concurrency",
        type=_count(1),
        default=concurrency,
        metavar="C",
        help=f"most patches in flight at once (default {concurrency})",
    )
    load.add_argument(
        "--duration",
        type=_typed(parse_duration_range, "duration"),
        default=None,
        metavar="D|LOW-HIGH",
        help=f"simulated patch time, fixed or drawn uniformly (default {DEFAULT_DURATION})",
    )
    load.add_argument(
        "--failure-rate",
        type=_typed(parse_fraction, "fraction"),
        default=None,
        metavar="F",
        help="probability that a simulated patch fails (default 0)",
    )
    load.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed for repeatable simulated runs (default: a random one, printed on stderr and "
        "kept in the summary)",
    )
    load.add_argument(
        "--command",
        default=None,
        metavar="CMD",
        help="run CMD per patch instead of simulating (split with shlex, no shell); exit 0 is "
        "completed; GHOST_PATCH_ID and GHOST_PATCH_SEQ are in its environment",
    )
    load.add_argument("--shell", action="store_true", help="run --command with /bin/sh -c")
    load.add_argument(
        "--timeout",
        type=_typed(_positive_duration, "duration"),
        default=30.0,
        metavar="DURATION",
        help="longest a patch may take; past it the patch is killed and counts as timeout "
        "(default 30s)",
    )
    load.add_argument(
        "--kill-grace",
        type=_typed(parse_duration, "duration"),
        default=2.0,
        metavar="DURATION",
        help="time between SIGTERM and SIGKILL for a command's process group (default 2s)",
    )
    load.add_argument(
        "--log-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="keep each command's output in DIR/PATCH_ID.log (default: discarded)",
    )
    load.add_argument(
        "--log-max-bytes",
        type=_typed(parse_size, "size"),
        default=64 * 1024,
        metavar="SIZE",
        help="output kept per patch under --log-dir; the rest is discarded (default 64KiB)",
    )
    load.add_argument(
        "--grace",
        type=_typed(parse_duration, "duration"),
        default=10.0,
        metavar="DURATION",
        help="on SIGTERM/SIGINT, how long patches in flight may finish before being killed "
        "(default 10s)",
    )
    api = parser.add_argument_group("status API")
    api.add_argument(
        "--listen",
        type=_typed(parse_listen, "address"),
        default=listen,
        metavar="ADDR",
        help="serve the patch status protocol on HOST:PORT, :PORT or [IPv6]:PORT; port 0 picks "
        f"a free port; none disables it; the bound address is printed on stderr ({listen_help})",
    )
    api.add_argument(
        "--port-file", type=Path, default=None, metavar="PATH", help="write the bound port here"
    )
    api.add_argument(
        "--name", default="stress", help="daemon name in the protocol (default stress)"
    )
    api.add_argument(
        "--event-buffer",
        type=_count(1),
        default=10_000,
        metavar="N",
        help="events kept for GET /api/patches (default 10000)",
    )
    report = parser.add_argument_group("reporting")
    report.add_argument(
        "--report-to",
        type=_typed(_url, "url"),
        default=None,
        metavar="URL",
        help="POST every event as JSON to URL (e.g. http://127.0.0.1:8789/api/patches)",
    )
    report.add_argument(
        "--report-queue",
        type=_count(1),
        default=1000,
        metavar="N",
        help="events waiting to be reported; more are dropped and counted (default 1000)",
    )
    report.add_argument(
        "--report-timeout",
        type=_typed(_positive_duration, "duration"),
        default=5.0,
        metavar="DURATION",
        help="timeout of one report POST (default 5s)",
    )
    report.add_argument(
        "--report-retries",
        type=_count(0),
        default=5,
        metavar="N",
        help="retries of a failed report, with exponential backoff from 100ms to 5s (default 5)",
    )
    report.add_argument(
        "--report-flush",
        type=_typed(parse_duration, "duration"),
        default=1.0,
        metavar="DURATION",
        help="at exit, how long queued reports may still be sent (default 1s)",
    )
    out = parser.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    add_log_level_flag(out)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ghost-stress",
        description="Execute ghost patches under load and serve the patch status protocol.",
    )
    commands = parser.add_subparsers(dest="mode", required=True, metavar="{run,daemon}")
    run = commands.add_parser("run", help="run N patches, print a summary, exit")
    run.add_argument(
        "--patches", type=_count(0), default=None, metavar="N", help="patches to run (default 10)"
    )
    run.add_argument(
        "--min-success-rate",
        type=_typed(parse_fraction, "fraction"),
        default=0.0,
        metavar="F",
        help="exit 1 when the success rate is below F (default 0)",
    )
    judge = run.add_argument_group("thresholds (run only)")
    judge.add_argument(
        "--threshold",
        dest="thresholds",
        action="append",
        type=_typed(parse_threshold, "threshold"),
        default=[],
        metavar="EXPR",
        help="pass/fail criterion METRIC OP VALUE, repeatable, e.g. 'p95<2s', 'mean<=300ms', "
        "'failure_rate<1%%', 'success_rate>=0.99', 'throughput>50/s'; METRIC is success_rate, "
        "failure_rate, timeout_rate, mean, p50, p90, p95, p99, max or throughput; OP is <, <=, > "
        "or >=; any breach exits 99",
    )
    judge.add_argument(
        "--abort-on-threshold",
        action="store_true",
        help="stop the run early (patches in flight get --grace) once a threshold is breached "
        "for good: a rate that cannot recover over the planned patches, any other metric as "
        "soon as it is breached",
    )
    judge.add_argument(
        "--threshold-min-patches",
        type=_count(1),
        default=20,
        metavar="N",
        help="--abort-on-threshold judges only after N patches have finished (default 20)",
    )
    jobs = run.add_argument_group("job log and retries (run only)")
    jobs.add_argument(
        "--retries",
        type=_count(0),
        default=0,
        metavar="N",
        help="run a failed or timed-out patch again, up to N more times; one that completes on "
        "a retry counts as completed (default 0)",
    )
    jobs.add_argument(
        "--joblog",
        type=Path,
        default=None,
        metavar="FILE",
        help="append a JSON line per finished patch to FILE: seq, id, start, runtime, outcome, "
        "exit_status, signal, attempts, command",
    )
    jobs.add_argument(
        "--resume-failed",
        type=Path,
        default=None,
        metavar="FILE",
        help="run again only the patches the job log FILE records as failed or timed out (by "
        "their last line), with their id and seq; excludes --patches; may be the --joblog",
    )
    run.add_argument(
        "--linger",
        type=_typed(parse_duration, "duration"),
        default=0.0,
        metavar="DURATION",
        help="keep the status API up this long after the run (default 0)",
    )
    _add_common(
        run,
        concurrency=4,
        listen=RUN_LISTEN,
        listen_help="default 127.0.0.1:0, a free port, so a run never collides with a daemon",
    )
    daemon = commands.add_parser(
        "daemon",
        help="continuous load until SIGTERM/SIGINT",
        description="Start patches at a steady rate until SIGTERM/SIGINT. --threshold, "
        "--abort-on-threshold, --retries, --joblog and --resume-failed are run-only.",
    )
    daemon.add_argument(
        "--rate",
        type=_typed(parse_rate, "rate"),
        default=5.0,
        metavar="R",
        help="patches started per second: R/s, R/m or a plain number per second (default 5/s)",
    )
    daemon.add_argument(
        "--control",
        action="store_true",
        help="accept GET/POST/DELETE /-/failure-rate on the status API: a burst of failing "
        "simulated patches for a while (at most 1h), for demos and tests; off by default",
    )
    _add_common(daemon, concurrency=16, listen=DAEMON_LISTEN, listen_help="default 127.0.0.1:8790")
    return parser


def settings_from(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Settings:
    """Cross-check the flags; ``parser.error`` (exit 2) on a conflict."""
    if args.command is not None:
        if args.duration is not None or args.failure_rate is not None:
            parser.error("--duration and --failure-rate apply to simulated patches, not --command")
        _check_command(args.command, args.shell, parser)
    elif args.shell:
        parser.error("--shell needs --command")
    if args.log_dir is not None and args.command is None:
        parser.error("--log-dir needs --command (simulated patches print nothing)")
    if args.port_file is not None and args.listen is None:
        parser.error("--port-file needs --listen")
    control = getattr(args, "control", False)
    thresholds = tuple(getattr(args, "thresholds", ()))
    abort_on_threshold = getattr(args, "abort_on_threshold", False)
    if abort_on_threshold and not thresholds:
        parser.error("--abort-on-threshold needs at least one --threshold")
    if control and (args.listen is None or args.command is not None):
        parser.error("--control needs --listen and simulated patches (no --command)")
    resume = _resume(args, parser)
    patches = getattr(args, "patches", None)
    if resume is not None:
        patches = len(resume)
    elif patches is None:
        patches = 10 if args.mode == "run" else 0
    return Settings(
        mode=args.mode,
        patches=patches,
        rate=getattr(args, "rate", 0.0),
        concurrency=args.concurrency,
        duration=args.duration or parse_duration_range(DEFAULT_DURATION),
        failure_rate=args.failure_rate or 0.0,
        seed=_seed(args.seed) if args.command is None else None,
        command=args.command,
        shell=args.shell,
        timeout=args.timeout,
        kill_grace=args.kill_grace,
        log_dir=args.log_dir,
        log_max_bytes=args.log_max_bytes,
        grace=args.grace,
        listen=args.listen,
        port_file=args.port_file,
        name=args.name,
        event_buffer=args.event_buffer,
        report_to=args.report_to,
        report_queue=args.report_queue,
        report_timeout=args.report_timeout,
        report_retries=args.report_retries,
        report_flush=args.report_flush,
        json=args.json,
        min_success_rate=getattr(args, "min_success_rate", 0.0),
        linger=getattr(args, "linger", 0.0),
        control=control,
        thresholds=thresholds,
        abort_on_threshold=abort_on_threshold,
        threshold_min_patches=getattr(args, "threshold_min_patches", 20),
        retries=getattr(args, "retries", 0),
        joblog=getattr(args, "joblog", None),
        resume=resume,
    )


def _resume(
    args: argparse.Namespace, parser: argparse.ArgumentParser
) -> tuple[tuple[int, str], ...] | None:
    path: Path | None = getattr(args, "resume_failed", None)
    if path is None:
        return None
    if args.patches is not None:
        parser.error(
            "--patches and --resume-failed exclude each other: the job log names the patches"
        )
    try:
        unfinished = read_failed(path)
    except ValueError as exc:
        parser.error(f"--resume-failed: {exc}")
    if unfinished.patches and unfinished.command != args.command:
        if unfinished.command is None:
            parser.error(
                f"--resume-failed: {path} records simulated patches; run them without --command"
            )
        parser.error(
            f"--resume-failed: the failed patches of {path} ran --command "
            f"{unfinished.command!r}; give the same --command"
        )
    return unfinished.patches


def _seed(given: int | None) -> int:
    return random.SystemRandom().randrange(2**32) if given is None else given


def _check_command(command: str, shell: bool, parser: argparse.ArgumentParser) -> None:
    if shell:
        if not command.strip():
            parser.error("--command is empty")
        return
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        parser.error(f"--command {command!r} cannot be split: {exc}")
    if not argv:
        parser.error("--command is empty")
    if shutil.which(argv[0]) is None:
        parser.error(f"--command: {argv[0]!r} is not an executable file or on PATH")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = settings_from(args, parser)
    setup_text_logging(args.log_level)
    from .runtime import execute  # aiohttp and rich load only once the flags are good

    return execute(settings)


if __name__ == "__main__":
    sys.exit(main())
