"""The latest result of every target, with its counters and cached exposition text."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator

from ghost_exporter.agreement import ReporterState, ServiceBook, observed_state
from ghost_exporter.config import Target
from ghost_exporter.exposition import TargetText, render, render_families
from ghost_exporter.kinds import new_state
from ghost_exporter.results import ProbeResult
from ghost_exporter.samples import TargetState

log = logging.getLogger("ghost_exporter.targets")


class _Entry:
    __slots__ = ("blocks", "state", "text")

    def __init__(self, target: Target) -> None:
        self.state = new_state(target)
        self.text = TargetText(self.state)
        self.blocks: list[str] = []


class ResultStore:
    """Holds one entry per configured target; a scrape reads only cached text."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._reporters: list[_Entry] = []
        #: What the exporter observed of each service, for comparing reporters' claims.
        self.book = ServiceBook()

    def sync(self, targets: Iterable[Target]) -> None:
        """Follow a new configuration: add, update and remove targets.

        A target that keeps its name and kind keeps its counters; a removed target's series go.
        """
        entries: dict[str, _Entry] = {}
        for target in targets:
            entry = self._entries.get(target.name)
            if entry is None or entry.state.target.kind != target.kind:
                entry = _Entry(target)
            elif entry.state.target != target:
                entry.state.retarget(target)
                entry.text = TargetText(entry.state)
                entry.blocks = entry.text.render(entry.state) if entry.blocks else []
            else:  # unchanged: adopt the new object, the one the scheduler now probes with
                entry.state.target = target
            entries[target.name] = entry
        self._entries = entries
        self._reporters = [e for e in entries.values() if isinstance(e.state, ReporterState)]
        keep = 2 * max((e.state.target.interval for e in self._reporters), default=0.0)
        self.book.retain((t.name for t in targets if t.is_service), keep)

    def record(self, target: Target, result: ProbeResult) -> bool:
        """Store a result; False when the target is no longer configured (a late result)."""
        entry = self._entries.get(target.name)
        if entry is None or not _same(entry.state.target, target):
            return False
        previous = entry.state.last
        state = entry.state
        state.observe(result)
        now = time.monotonic()
        if target.is_service and self.book.observe(target.name, observed_state(result), now):
            for reporter in self._reporters:
                assert isinstance(reporter.state, ReporterState)
                if reporter.state.refresh(target.name, self.book):
                    reporter.blocks = reporter.text.render(reporter.state)
        elif isinstance(state, ReporterState):
            state.compare(self.book, now)
        entry.blocks = entry.text.render(state)
        _log_change(target, previous, result)
        return True

    def text(self) -> str:
        """The exposition text of every target's families."""
        return render(e.blocks for e in self._entries.values())

    def families(self) -> Iterator[str]:
        """The same text, one family at a time, so that a large scrape can be sent in pieces."""
        return render_families(e.blocks for e in self._entries.values())

    def states(self) -> Iterator[TargetState]:
        for entry in self._entries.values():
            yield entry.state


def _same(current: Target, probed: Target) -> bool:
    """Whether a result of ``probed`` belongs to the configured ``current`` (a probe that started
    before a reload that left its target unchanged still counts)."""
    return current is probed or current == probed


def _log_change(target: Target, previous: ProbeResult | None, result: ProbeResult) -> None:
    was_ok = previous.success if previous is not None else None
    if result.success and was_ok is not True:
        if was_ok is False:
            log.info("target is up again", extra={"target": target.name, "kind": target.kind})
        return
    if result.success:
        return
    if was_ok is False and previous is not None and previous.reason == result.reason:
        return
    log.warning(
        "target is failing",
        extra={
            "target": target.name,
            "kind": target.kind,
            "reason": result.reason.value if result.reason else "",
            "error": result.message,
        },
    )
