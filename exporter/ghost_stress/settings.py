"""The validated settings of one ``ghost-stress`` invocation (kept free of heavy imports)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .thresholds import Threshold
from .units import ListenAddress


@dataclass(frozen=True, slots=True)
class Settings:
    mode: Literal["run", "daemon"]
    patches: int
    rate: float
    concurrency: int
    duration: tuple[float, float]
    failure_rate: float
    seed: int | None
    command: str | None
    shell: bool
    timeout: float
    kill_grace: float
    log_dir: Path | None
    log_max_bytes: int
    grace: float
    listen: ListenAddress | None
    port_file: Path | None
    name: str
    event_buffer: int
    report_to: str | None
    report_queue: int
    report_timeout: float
    report_retries: int
    report_flush: float
    json: bool
    min_success_rate: float
    linger: float
    #: daemon --control: /-/failure-rate changes the failure rate for a while (control.py)
    control: bool = False
    #: run --threshold, --abort-on-threshold, --threshold-min-patches
    thresholds: tuple[Threshold, ...] = ()
    abort_on_threshold: bool = False
    threshold_min_patches: int = 20
    #: run --retries, --joblog, --resume-failed (the (seq, id) of the patches to run again)
    retries: int = 0
    joblog: Path | None = None
    resume: tuple[tuple[int, str], ...] | None = None
