"""``--abort-on-threshold``: stop a run once a threshold is breached for good.

Judged as each patch finishes, once ``min_patches`` have finished (see
:func:`~ghost_stress.thresholds.lost_cause` for when a breach is for good). Rates are judged on
every patch; duration and throughput thresholds, which need the percentiles, at most every
:data:`DURATION_CHECK_INTERVAL` seconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from .accounting import Accounting
from .executor import Executor, FinishedPatch
from .summary import duration_metrics
from .thresholds import RATE_METRICS, Threshold, lost_cause

log = logging.getLogger(__name__)

DURATION_CHECK_INTERVAL = 0.05


class AbortWatch:
    def __init__(
        self,
        thresholds: tuple[Threshold, ...],
        *,
        accounting: Accounting,
        executor: Executor,
        planned: int,
        min_patches: int,
        stop: Callable[[], None],
    ) -> None:
        self.rates = tuple(t for t in thresholds if t.metric in RATE_METRICS)
        self.others = tuple(t for t in thresholds if t.metric not in RATE_METRICS)
        self.accounting = accounting
        self.executor = executor
        self.planned = planned
        self.min_patches = min_patches
        self.stop = stop
        #: the expression of the threshold that stopped the run
        self.tripped: str | None = None
        self._checked_at = -DURATION_CHECK_INTERVAL

    def __call__(self, _patch: FinishedPatch) -> None:
        acc = self.accounting
        finished = acc.completed + acc.failed + acc.timeout
        if self.tripped is not None or finished < self.min_patches:
            return
        counts = {
            "success_rate": acc.completed,
            "failure_rate": acc.failed,
            "timeout_rate": acc.timeout,
        }
        for threshold in self.rates:
            if lost_cause(threshold, {}, counts, finished, self.planned):
                self._trip(threshold, counts[threshold.metric] / finished)
                return
        now = time.monotonic()
        if not self.others or now - self._checked_at < DURATION_CHECK_INTERVAL:
            return
        self._checked_at = now
        wall = self.executor.wall_seconds
        measured = duration_metrics(acc.stats.summary(), finished / wall if wall > 0 else 0.0)
        for threshold in self.others:
            if lost_cause(threshold, measured, counts, finished, self.planned):
                self._trip(threshold, measured[threshold.metric])
                return

    def _trip(self, threshold: Threshold, value: float) -> None:
        self.tripped = threshold.text or threshold.canonical()
        log.warning(
            "threshold %s breached for good (%g after %d patches): stopping the run",
            self.tripped,
            value,
            self.accounting.completed + self.accounting.failed + self.accounting.timeout,
        )
        self.stop()
