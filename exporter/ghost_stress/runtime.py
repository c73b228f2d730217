"""Putting a run together: workload, executor, reporter, status API, signals, summary, exit code."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from aiohttp import web
from rich.console import Console

from ghost_common.serving import start, write_port_file

from .abort import AbortWatch
from .accounting import Accounting
from .api import create_app
from .command import CommandPatches
from .control import FailureControl, add_routes
from .executor import Executor, FinishedPatch
from .joblog import JobLog
from .patches import SimulatedPatches, Workload
from .progress import show_progress
from .reporter import ReportCounts, Reporter, ReporterOptions
from .settings import Settings
from .summary import Summary, measured
from .thresholds import evaluate
from .units import ListenAddress

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_BELOW_MIN_SUCCESS = 1
EXIT_USAGE = 2
EXIT_THRESHOLD = 99
#: How long stopping the status API waits for open requests; WebSockets are closed by the app.
SHUTDOWN_TIMEOUT = 1.0


class UsageError(Exception):
    """A problem with the settings found while starting (exit 2)."""


def execute(settings: Settings) -> int:
    """Run ``settings`` to the end and return the exit code."""
    try:
        return asyncio.run(_main(settings))
    except UsageError as exc:
        print(f"ghost-stress: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def build_workload(settings: Settings) -> Workload:
    if settings.command is None:
        return SimulatedPatches(
            settings.duration,
            failure_rate=settings.failure_rate,
            timeout=settings.timeout,
            seed=settings.seed,
        )
    if settings.log_dir is not None:
        try:
            settings.log_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create --log-dir {settings.log_dir}: {exc}") from None
    return CommandPatches(
        settings.command,
        shell=settings.shell,
        timeout=settings.timeout,
        kill_grace=settings.kill_grace,
        log_dir=settings.log_dir,
        log_max_bytes=settings.log_max_bytes,
    )


async def _main(settings: Settings) -> int:
    use_pidfd_child_watcher()
    accounting = Accounting(settings.name, event_buffer=settings.event_buffer)
    workload = build_workload(settings)
    if settings.command is None:
        print(f"seed {settings.seed}", file=sys.stderr, flush=True)
    executor = Executor(accounting, workload, retries=settings.retries)
    sinks: list[Callable[[FinishedPatch], None]] = []
    joblog = _joblog(settings)
    if joblog is not None:
        sinks.append(joblog)
    watch: AbortWatch | None = None
    if settings.mode == "run" and settings.abort_on_threshold:
        watch = AbortWatch(
            settings.thresholds,
            accounting=accounting,
            executor=executor,
            planned=settings.patches,
            min_patches=settings.threshold_min_patches,
            stop=lambda: executor.stop(settings.grace),
        )
        sinks.append(watch)
    if sinks:

        def on_finish(patch: FinishedPatch) -> None:
            for sink in sinks:
                sink(patch)

        executor.on_finish = on_finish
    reporter = _reporter(settings)
    runner: web.AppRunner | None = None
    interrupted: list[int] = []
    stopped = asyncio.Event()

    def on_signal(signum: int) -> None:
        if interrupted:
            log.warning("second signal: stopping the patches in flight now")
            executor.abort()
        interrupted.append(signum)
        stopped.set()
        executor.stop(settings.grace)

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        if reporter is not None:
            accounting.subscribe(reporter.submit)
            await reporter.start()
        if settings.listen is not None:
            app = create_app(accounting, executor=executor, reporter=reporter)
            if settings.control and isinstance(workload, SimulatedPatches):
                add_routes(app, FailureControl(workload))
            runner = await _start_api(app, settings.listen, settings.port_file)
        await _run_load(settings, accounting, executor)
        if reporter is not None:
            await reporter.close(settings.report_flush)
        summary = collect_summary(
            settings,
            accounting,
            executor,
            None if reporter is None else reporter.counts(),
            aborted_by=None if watch is None else watch.tripped,
        )
        _print_summary(summary, settings.json)
        if settings.mode == "run" and settings.linger > 0 and runner is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopped.wait(), settings.linger)
        return _exit_code(settings, summary, interrupted)
    finally:
        if joblog is not None:
            joblog.close()
        if runner is not None:
            await runner.cleanup()
        if reporter is not None:
            await reporter.close()


def collect_summary(
    settings: Settings,
    accounting: Accounting,
    executor: Executor,
    reports: ReportCounts | None,
    *,
    aborted_by: str | None = None,
) -> Summary:
    run = settings.mode == "run"
    summary = Summary(
        accounting.counts(),
        executor.wall_seconds,
        accounting.stats.summary(),
        reports=reports,
        skipped=None if run else executor.skipped,
        mode=settings.mode,
        planned=settings.patches if run else None,
        seed=settings.seed if settings.command is None else None,
        errors=executor.errors.classes(),
        retried=executor.retried,
        recovered=executor.recovered,
        attempts=executor.attempts,
        aborted_by=aborted_by,
    )
    if not settings.thresholds:
        return summary
    results = evaluate(settings.thresholds, measured(summary))
    return dataclasses.replace(summary, thresholds=results)


def _joblog(settings: Settings) -> JobLog | None:
    if settings.joblog is None:
        return None
    try:
        return JobLog(settings.joblog, settings.command)
    except OSError as exc:
        raise UsageError(f"cannot open --joblog {settings.joblog}: {exc.strerror or exc}") from None


def _reporter(settings: Settings) -> Reporter | None:
    if settings.report_to is None:
        return None
    return Reporter(
        ReporterOptions(
            url=settings.report_to,
            queue_size=settings.report_queue,
            timeout=settings.report_timeout,
            retries=settings.report_retries,
        )
    )


async def _start_api(
    app: web.Application, listen: ListenAddress, port_file: Path | None
) -> web.AppRunner:
    try:
        runner, port = await start(app, listen.host, listen.port, shutdown_timeout=SHUTDOWN_TIMEOUT)
    except OSError as exc:
        raise UsageError(f"cannot listen on {listen.url()}: {exc.strerror or exc}") from None
    print(f"listening on {listen.url(port)}", file=sys.stderr, flush=True)
    if port_file is not None:
        write_port_file(port_file, port)
    return runner


async def _run_load(settings: Settings, accounting: Accounting, executor: Executor) -> None:
    if settings.mode == "run":
        load = executor.run_batch(settings.patches, settings.concurrency, settings.resume)
        total: int | None = settings.patches
    else:
        load = executor.run_rate(settings.rate, settings.concurrency)
        total = None
    console = Console(stderr=True)
    if sys.stderr.isatty():
        async with show_progress(accounting, total, console):
            await load
    else:
        await load


def _print_summary(summary: Summary, as_json: bool) -> None:
    if as_json:
        print(json.dumps(summary.to_json()), flush=True)
    else:
        summary.print_table(Console())


def _exit_code(settings: Settings, summary: Summary, interrupted: list[int]) -> int:
    if settings.mode == "daemon":
        return EXIT_OK
    if interrupted and summary.counts.finished < settings.patches:
        return 128 + interrupted[0]
    if summary.breached or summary.aborted_by is not None:
        return EXIT_THRESHOLD
    if summary.success_rate < settings.min_success_rate:
        return EXIT_BELOW_MIN_SUCCESS
    return EXIT_OK


def use_pidfd_child_watcher() -> None:
    """Watch subprocesses with pidfds where Python 3.11 would start a thread per child.

    Python 3.12 does this by itself; the threaded watcher costs a third of the spawn rate.
    """
    if sys.version_info >= (3, 12) or not hasattr(os, "pidfd_open"):
        return
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError:
        return
    watcher = asyncio.PidfdChildWatcher()
    watcher.attach_loop(asyncio.get_running_loop())
    asyncio.set_child_watcher(watcher)
