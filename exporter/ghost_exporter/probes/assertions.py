"""CEL assertions over a JSON body or message, shared by the HTTP and WebSocket probers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ghost_common.cel import Evaluator, Outcome
from ghost_exporter.results import FailureReason, Health, ProbeResult

if TYPE_CHECKING:
    from ghost_exporter.config.schema import Assertion
    from ghost_exporter.probes.clients import ProbeContext


async def check_assertions(
    assertions: Sequence[Assertion], ctx: ProbeContext, body: bytes, result: ProbeResult
) -> None:
    """Evaluate every assertion over ``body`` (JSON) in the context's CEL workers.

    One that is false, or cannot be evaluated (a missing field, a body that is not JSON), fails
    the probe with reason ``assertion`` when its ``on_fail`` is ``fail``; with ``degrade`` a
    healthy result becomes degraded (a worse state stays as it is).
    """
    if not assertions:
        return
    evaluator = ctx.resource("cel", Evaluator)
    try:
        outcomes = await evaluator.evaluate([a.cel for a in assertions], body)
    except (ConnectionError, OSError) as exc:  # the worker died or could not start
        outcomes = [Outcome(None, f"no CEL worker: {exc}")] * len(assertions)
    for assertion, outcome in zip(assertions, outcomes, strict=True):
        held = outcome.ok is True
        result.assertions[assertion.name] = held
        if held:
            continue
        if assertion.on_fail == "fail":
            why = outcome.error or "false"
            result.fail(FailureReason.ASSERTION, f"assertion {assertion.name} failed: {why}")
        elif result.health == Health.HEALTHY:
            result.health = Health.DEGRADED
