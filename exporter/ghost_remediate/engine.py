"""Deciding what to do with each alert of a notification, and running remediations in the
background: match a rule, check the placeholder values, apply the per-service policy, act,
verify, count and audit."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import aiohttp

from .actions import Outcome, check_url_values, describe, run_action
from .config import CommandSpec, Config, HTTPSpec, Rule
from .metrics import Metrics, Result
from .payload import Alert, Notification
from .policy import AlertKey, Clock, Handled, Policy
from .silences import Silencer
from .templates import RefusedValue, check_value
from .verify import verify

audit_log = logging.getLogger("ghost_remediate.audit")
log = logging.getLogger("ghost_remediate")


@dataclass(frozen=True, slots=True)
class Requester:
    """Who posted the notification: the peer address and the authenticated user."""

    remote: str
    user: str


@dataclass(frozen=True, slots=True)
class Decision:
    """What became of one alert of a notification.

    ``result`` is a ghost_remediations_total result (``dry_run``: it would have started),
    ``started`` (the action runs in the background), or, uncounted: ``resolved``,
    ``duplicate`` (already handled), ``no_rule``."""

    alertname: str
    service: str
    action: str
    result: str
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "alertname": self.alertname,
            "service": self.service,
            "action": self.action,
            "result": self.result,
            "detail": self.detail,
        }


def _clip(value: str, limit: int = 64) -> str:
    """A label value that no check passed yet, cut short for the log."""
    return value if len(value) <= limit else value[: limit - 3] + "..."


def _audit(
    requester: Requester,
    notification: Notification,
    alert: Alert,
    decision: Decision,
    **fields: Any,
) -> None:
    audit_log.info(
        "remediation",
        extra={
            "remote": requester.remote,
            "user": requester.user,
            "receiver": notification.receiver,
            "alertname": alert.alertname,
            "fingerprint": alert.key[0],
            "starts_at": alert.starts_at,
            "service": decision.service,
            "action": decision.action,
            "result": decision.result,
            "detail": decision.detail,
            **fields,
        },
    )


class Remediator:
    """Holds the config, the policy state and the background remediations."""

    def __init__(
        self,
        config: Config,
        metrics: Metrics,
        clock: Clock = time.monotonic,
        dry_run: bool = False,
    ) -> None:
        self.metrics = metrics
        self.dry_run = dry_run  # --dry-run: every rule decides and acts on nothing
        self.policy = Policy(clock)
        self.handled = Handled(clock)
        self.tasks: set[asyncio.Task[None]] = set()
        # The remediation running for each alert instance, and those a resolved notification
        # cancelled.
        self.running: dict[AlertKey, asyncio.Task[None]] = {}
        self._resolved: set[asyncio.Task[None]] = set()
        self.stopping = False
        self._session: aiohttp.ClientSession | None = None
        self.config = config
        self.use(config)

    def use(self, config: Config) -> None:
        """Swap in a new config; the policy state and running remediations carry on."""
        self.config = config
        for rule in config.rules:
            for matcher in rule.matchers:
                if matcher.label == rule.service_label and matcher.regex is None:
                    self.metrics.prepare(matcher.value, rule.name)

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()

    async def stop(self) -> None:
        """Cancel every running remediation (killing their commands), then close the client."""
        self.stopping = True
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("Remediator.start() was not awaited")
        return self._session

    # -- deciding ------------------------------------------------------------------------

    def handle(self, notification: Notification, requester: Requester) -> list[Decision]:
        """Decide for every alert now; actions run in background tasks."""
        return [self._decide(notification, alert, requester) for alert in notification.alerts]

    def _rule_for(self, labels: Mapping[str, str]) -> Rule | None:
        return next((rule for rule in self.config.rules if rule.matches(labels)), None)

    def _decide(self, notification: Notification, alert: Alert, requester: Requester) -> Decision:
        key = alert.key
        service_guess = alert.labels.get("service", "")
        if alert.status == "resolved":
            self.handled.forget(key)
            detail = ""
            task = self.running.get(key)
            if task is not None and not task.done():
                self._resolved.add(task)
                task.cancel()
                detail = "cancelling the running remediation"
            decision = Decision(alert.alertname, _clip(service_guess), "", "resolved", detail)
            _audit(requester, notification, alert, decision)
            return decision
        rule = self._rule_for(alert.labels)
        if rule is None:
            decision = Decision(alert.alertname, _clip(service_guess), "", "no_rule")
            _audit(requester, notification, alert, decision)
            return decision
        previous = self.handled.get(key)
        if previous is not None:
            decision = Decision(
                alert.alertname,
                _clip(alert.labels.get(rule.service_label, "")),
                rule.name,
                "duplicate",
                f"already handled: {previous}",
            )
            _audit(requester, notification, alert, decision)
            return decision
        try:
            service, values = self._values(rule, alert.labels)
        except RefusedValue as exc:
            return self._refuse(notification, alert, requester, rule, exc)
        skip = self.policy.check(
            service,
            rule.cooldown,
            rule.max_attempts,
            rule.window,
            self.config.max_actions_per_hour,
        )
        if skip is not None:
            return self._count(notification, alert, requester, rule, service, skip)
        ran = describe(rule.action, values)
        if self.dry_run or rule.dry_run:
            # Decided as for real, acted on nothing; the policy state stays as it was, so a
            # rule on trial never holds back a real remediation.
            self.handled.set(key, "dry_run")
            return self._count(
                notification, alert, requester, rule, service, "dry_run", ran=ran, dry_run=True
            )
        self.policy.start(service)
        self.handled.set(key, "in progress")
        self.metrics.prepare(service, rule.name)
        self.metrics.in_progress.labels(service).inc()
        decision = Decision(alert.alertname, service, rule.name, "started", ran)
        audit_id = uuid.uuid4().hex[:16]
        _audit(
            requester,
            notification,
            alert,
            replace(decision, detail=""),
            ran=ran,
            audit_id=audit_id,
        )
        task = asyncio.create_task(
            self._remediate(
                notification, alert, requester, rule, service, values, ran, key, audit_id
            )
        )
        self.tasks.add(task)
        self.running[key] = task

        def done(task: asyncio.Task[None]) -> None:
            self.tasks.discard(task)
            self._resolved.discard(task)
            if self.running.get(key) is task:
                del self.running[key]

        task.add_done_callback(done)
        return decision

    def _values(self, rule: Rule, labels: Mapping[str, str]) -> tuple[str, dict[str, str]]:
        """The service and the placeholder values of an alert, every one checked."""
        service_value = labels.get(rule.service_label)
        if service_value is None:
            raise RefusedValue(
                rule.service_label, "", f"the alert has no label {rule.service_label}"
            )
        service = check_value(rule.service_label, service_value, rule.service_pattern())
        values = {}
        for placeholder in rule.placeholders:
            value = labels.get(placeholder.label)
            if value is None:
                raise RefusedValue(
                    placeholder.name, "", f"the alert has no label {placeholder.label}"
                )
            values[placeholder.name] = check_value(placeholder.name, value, placeholder.pattern)
        if isinstance(rule.action, HTTPSpec):
            check_url_values(rule.action, values)
        return service, values

    def _refuse(
        self,
        notification: Notification,
        alert: Alert,
        requester: Requester,
        rule: Rule,
        exc: RefusedValue,
    ) -> Decision:
        raw_service = alert.labels.get(rule.service_label, "")
        try:
            service = check_value(rule.service_label, raw_service, rule.service_pattern())
        except RefusedValue:
            service = ""  # an unusable value never names a series
        self.handled.set(alert.key, "refused")
        return self._count(notification, alert, requester, rule, service, "refused", str(exc))

    def _count(
        self,
        notification: Notification,
        alert: Alert,
        requester: Requester,
        rule: Rule,
        service: str,
        result: Result,
        detail: str = "",
        **fields: Any,
    ) -> Decision:
        self.metrics.count(service, rule.name, result)
        decision = Decision(alert.alertname, service, rule.name, result, detail)
        _audit(requester, notification, alert, decision, **fields)
        return decision

    # -- acting --------------------------------------------------------------------------

    async def act(self, rule: Rule, values: Mapping[str, str]) -> Outcome:
        action = rule.action
        grace = action.kill_grace if isinstance(action, CommandSpec) else 0.0
        return await run_action(
            self.session, action, values, lambda: 0.0 if self.stopping else grace
        )

    async def check(self, rule: Rule, service: str) -> Outcome:
        verify_spec = self.config.verify
        if rule.verify_timeout is None or verify_spec is None:
            return Outcome(True, "not verified (verify: false)")
        return await verify(self.session, verify_spec, service, rule.verify_timeout)

    async def silence(
        self, alert: Alert, rule: Rule, service: str, audit_id: str
    ) -> tuple[Silencer, str] | None:
        """A silence of the alert (its name and service) for at most the action's timeout and
        its verification; None without an alertmanager section or when it failed (logged,
        counted: the remediation goes on)."""
        spec = self.config.alertmanager
        if spec is None:
            return None
        silencer = Silencer(spec, self.metrics)
        action = rule.action
        seconds = action.timeout + (rule.verify_timeout or 0.0)
        if isinstance(action, CommandSpec):
            seconds += action.kill_grace
        silence_id = await silencer.create(
            self.session,
            {"alertname": alert.alertname, rule.service_label: service},
            seconds,
            f"ghost-remediate runs {rule.name} for {service} (audit id {audit_id})",
        )
        return None if silence_id is None else (silencer, silence_id)

    async def _remediate(
        self,
        notification: Notification,
        alert: Alert,
        requester: Requester,
        rule: Rule,
        service: str,
        values: Mapping[str, str],
        ran: str,
        key: AlertKey,
        audit_id: str,
    ) -> None:
        start = time.monotonic()
        result: Result = "failed"
        detail = "cancelled at shutdown"
        silenced: tuple[Silencer, str] | None = None
        try:
            silenced = await self.silence(alert, rule, service, audit_id)
            outcome = await self.act(rule, values)
            detail = f"action: {outcome.detail}"
            if outcome.ok:
                checked = await self.check(rule, service)
                detail += f"; {checked.detail}"
                result = "succeeded" if checked.ok else "failed"
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is None or task not in self._resolved:
                raise
            # A resolved notification cancelled it: the command's process group was stopped
            # (SIGTERM, SIGKILL after kill_grace), a request abandoned.
            task.uncancel()
            result = "cancelled"
            detail = "cancelled: the alert resolved"
        except Exception as exc:  # a defect must not leave the service busy forever
            log.exception("remediation of %s raised", service)
            detail = f"internal error: {type(exc).__name__}"
        finally:
            if silenced is not None:
                # Expired whatever the result: a failure pages at once, a success needs no
                # silence any more.
                silencer, silence_id = silenced
                await silencer.expire(self.session, silence_id)
            seconds = time.monotonic() - start
            self.policy.finish(service)
            self.handled.set(key, result)
            self.metrics.in_progress.labels(service).dec()
            self.metrics.count(service, rule.name, result)
            self.metrics.observe(service, rule.name, result, seconds)
            _audit(
                requester,
                notification,
                alert,
                Decision(alert.alertname, service, rule.name, result, detail),
                ran=ran,
                audit_id=audit_id,
                silence_id=silenced[1] if silenced else "",
                duration_seconds=round(seconds, 3),
            )
