"""A live progress line on the terminal, refreshed from the accounting ten times a second."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

from .accounting import Accounting

REFRESH_SECONDS = 0.1


@contextlib.asynccontextmanager
async def show_progress(
    accounting: Accounting, total: int | None, console: Console
) -> AsyncIterator[None]:
    """Show done / total, rate and failures while the body runs (a counter line without total)."""
    columns = [SpinnerColumn(), TextColumn("[bold]{task.description}")]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn()]
    else:
        columns.append(TextColumn("{task.completed:.0f} done"))
    columns.append(TextColumn("{task.fields[detail]}"))
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("patches", total=total, detail="")
        began = time.perf_counter()

        def refresh() -> None:
            counts = accounting.counts()
            elapsed = max(time.perf_counter() - began, 1e-9)
            detail = (
                f"{counts.finished / elapsed:,.1f}/s  "
                f"[red]failed {counts.failed}[/]  [yellow]timeout {counts.timeout}[/]  "
                f"in flight {counts.in_flight}"
            )
            progress.update(task, completed=counts.finished, detail=detail)

        async def tick() -> None:
            while True:
                refresh()
                await asyncio.sleep(REFRESH_SECONDS)

        ticker = asyncio.create_task(tick())
        try:
            yield
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            refresh()
