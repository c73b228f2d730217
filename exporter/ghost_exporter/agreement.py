"""Reporters: what another monitor claims about the services, against what the exporter saw.

The agreement rule: a claim agrees when it names a state the exporter observed for the service
around the time of the claim, with a down service (``ghost_service_up 0``) counting as
unhealthy. "Around" is one reporter interval either way: the state in effect one interval
before the claim, every state observed since, and states observed up to one interval after it.
A claim that matches none of them is a disagreement only once the exporter has probed the
service after the claim; until then the previous verdict stands. So neither side's timing
(the reporter noticing a change first, or the exporter) makes the verdict flap.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ghost_exporter.metrics import REPORTER_METRICS
from ghost_exporter.results import Health, ProbeResult
from ghost_exporter.samples import HEALTH_STATES, Sample, TargetState

log = logging.getLogger("ghost_exporter.targets")

REPORTER_UP, REPORTED_HEALTH, IN_SYNC, UNMATCHED = REPORTER_METRICS

#: The most observations kept per service (a bound for services probed very often).
MAX_HISTORY = 256

Observation = tuple[float, Health]


def observed_state(result: ProbeResult) -> Health:
    """The state a probe result stands for: its health when up, unhealthy when down."""
    return result.health if result.success else Health.UNHEALTHY


class ServiceBook:
    """Recent observed states of each configured service, on the monotonic clock.

    Only kept while reporters are configured (``keep`` > 0): then each service keeps what it
    was ``keep`` seconds ago and every state observed since.
    """

    def __init__(self) -> None:
        self._history: dict[str, deque[Observation]] = {}
        self.keep = 0.0

    def retain(self, names: Iterable[str], keep: float) -> None:
        """Follow the configured services; ``keep`` is how far back states are kept."""
        self._history = {n: self._history.get(n) or deque(maxlen=MAX_HISTORY) for n in names}
        self.keep = keep
        if keep <= 0:
            for history in self._history.values():
                history.clear()

    def names(self) -> Iterable[str]:
        return self._history.keys()

    def knows(self, name: str) -> bool:
        return name in self._history

    def observe(self, name: str, state: Health, now: float) -> bool:
        """Record a state; False when not kept (no reporters, or not a configured service)."""
        history = self._history.get(name)
        if history is None or self.keep <= 0:
            return False
        history.append((now, state))
        horizon = now - self.keep
        while len(history) > 1 and history[1][0] <= horizon:
            history.popleft()
        return True

    def history(self, name: str) -> deque[Observation]:
        return self._history.get(name) or deque()


def verdict(
    history: Iterable[Observation], claim: Health, at: float, interval: float
) -> bool | None:
    """True: the claim made at ``at`` agrees; False: it does not; None: not yet known (the
    exporter has not probed the service since the claim, nor seen the claimed state)."""
    states: set[Health] = set()
    in_effect: Health | None = None
    probed_since = False
    for when, state in history:
        if when <= at - interval:
            in_effect = state
        elif when <= at + interval:
            states.add(state)
        probed_since = probed_since or when > at
    if in_effect is not None:
        states.add(in_effect)
    if claim in states:
        return True
    return False if probed_since else None


@dataclass(slots=True)
class ReporterState(TargetState):
    """A reporter's latest claims and the verdict for every service both sides know."""

    claims: dict[str, Health] = field(default_factory=dict)
    claimed_at: float = 0.0
    verdicts: dict[str, bool] = field(default_factory=dict)
    #: Services whose verdict was judged on the current claims (not carried over).
    settled: set[str] = field(default_factory=set)
    only_reporter: tuple[str, ...] = ()
    only_exporter: tuple[str, ...] = ()
    quiet: bool = False

    def compare(self, book: ServiceBook, now: float | None = None, final: bool = False) -> None:
        """Judge the last read against the book (after ``observe``); logs what changed.

        ``final`` (a one-off read, ``/probe``) judges a claim not yet known as a disagreement,
        since no later probe will settle it, and logs nothing (the scheduled reads do)."""
        self.quiet = final
        result = self.last
        at = time.monotonic() if now is None else now
        if result is None or not result.success or result.claims is None:
            self.claims, self.verdicts, self.settled = {}, {}, set()
            return
        claims = result.claims
        exporter = set(book.names())
        only_reporter = tuple(sorted(n for n in claims if n not in exporter))
        only_exporter = tuple(sorted(n for n in exporter if n not in claims))
        self._log_unmatched(only_reporter, only_exporter)
        self.only_reporter, self.only_exporter = only_reporter, only_exporter
        self.claims, self.claimed_at = {n: s for n, s in claims.items() if n in exporter}, at
        previous = self.verdicts
        self.verdicts, self.settled = {}, set()
        for name, claim in self.claims.items():
            judged = verdict(book.history(name), claim, at, self.target.interval)
            if judged is None and final and book.history(name):
                judged = False
            if judged is not None:
                self.settled.add(name)
                self._set(name, judged, previous.get(name))
            elif name in previous:  # not known yet: the previous verdict stands meanwhile
                self.verdicts[name] = previous[name]

    def refresh(self, name: str, book: ServiceBook) -> bool:
        """Judge the claim about ``name`` again after a new observation; True if it changed."""
        claim = self.claims.get(name)
        before = self.verdicts.get(name)
        if claim is None or (before is True and name in self.settled):
            return False  # an agreement stays one until the next claim
        judged = verdict(book.history(name), claim, self.claimed_at, self.target.interval)
        if judged is None:
            return False
        self.settled.add(name)
        if judged == before:
            return False
        self._set(name, judged, before)
        return True

    def _set(self, name: str, agrees: bool, before: bool | None) -> None:
        self.verdicts[name] = agrees
        if self.quiet or agrees == before or (agrees and before is None):
            return
        fields = {"reporter": self.target.name, "service": name}
        if agrees:
            log.info("monitor back in sync", extra=fields)
        else:
            log.warning(
                "monitor out of sync",
                extra={**fields, "claimed": self.claims[name].value},
            )

    def _log_unmatched(
        self, only_reporter: tuple[str, ...], only_exporter: tuple[str, ...]
    ) -> None:
        name = self.target.name
        if self.quiet:
            return
        if only_reporter != self.only_reporter and only_reporter:
            log.warning(
                "reporter lists services the exporter does not probe",
                extra={"reporter": name, "services": ",".join(only_reporter)},
            )
        if only_exporter != self.only_exporter and only_exporter:
            log.warning(
                "reporter leaves out services the exporter probes",
                extra={"reporter": name, "services": ",".join(only_exporter)},
            )

    @property
    def out_of_sync(self) -> list[str]:
        return sorted(n for n, agrees in self.verdicts.items() if not agrees)


def reporter_samples(state: TargetState) -> Iterator[Sample]:
    assert isinstance(state, ReporterState)
    result = state.last
    if result is None:
        return
    up = result.success and result.claims is not None
    yield REPORTER_UP, REPORTER_UP.name, (), 1.0 if up else 0.0
    if not up:
        return
    for name in sorted(state.claims):
        claim = state.claims[name]
        for health in HEALTH_STATES:
            labels = (("service", name), ("state", health))
            yield REPORTED_HEALTH, REPORTED_HEALTH.name, labels, 1.0 if claim == health else 0.0
    for name in sorted(state.verdicts):
        yield IN_SYNC, IN_SYNC.name, (("service", name),), 1.0 if state.verdicts[name] else 0.0
    for side, names in (("reporter", state.only_reporter), ("exporter", state.only_exporter)):
        yield UNMATCHED, UNMATCHED.name, (("side", side),), float(len(names))
