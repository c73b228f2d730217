"""ghost.alerts.slo: multi-window, multi-burn-rate alerts on each service level objective.

A window pair fires when both its long and its short error ratio exceed factor x budget
(the Google SRE workbook's alerting on SLOs); the objectives, windows and factors come from
the profile's ``slo`` section.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..config import BurnWindow
from ..context import Context, Group, Rule, alert
from ..promql import block, number, percent


@dataclass(frozen=True, slots=True)
class Objective:
    """One objective with the alert that guards it."""

    alert: str
    record: str  # the error-ratio recording rule family, e.g. ghost:service_error_ratio
    label: str  # the label the ratio is kept by: service or daemon
    objective: Decimal
    what: str  # "availability", "patch success", ...
    unit: str  # what the ratio counts: "its probes", "its patches", "its canaries"
    summary: str
    selector: str = ""  # label matchers on the error-ratio series, e.g. {daemon="stress"}
    service: str | None = None  # the alert's service label when the ratio has none


def objectives(ctx: Context) -> list[Objective]:
    """Every objective of the profile, in the order of the rules."""
    slo = ctx.profile.slo
    return [
        Objective(
            alert="GhostServiceErrorBudgetBurn",
            record="ghost:service_error_ratio",
            label="service",
            objective=slo.service_availability,
            what="availability",
            unit="its probes",
            summary="A ghost service burns its availability error budget too fast.",
        ),
        *_patch_objectives(ctx),
        Objective(
            alert="GhostPipelineErrorBudgetBurn",
            record="ghost:pipeline_error_ratio",
            label="pipeline",
            objective=slo.pipeline_delivery,
            what="delivery within the deadline",
            unit="its canaries (late or lost)",
            summary="A ghost real-time pipeline delivers too many canaries late or never.",
            service="{{ $labels.pipeline }}",
        ),
    ]


def _patch_objectives(ctx: Context) -> list[Objective]:
    """The default patch-success objective, and one per daemon listed in
    ``patch_success_by_daemon`` (the default's rules leave those daemons out)."""
    overrides = ctx.profile.slo.patch_success_by_daemon
    daemons = sorted(overrides)

    def objective(value: Decimal, selector: str) -> Objective:
        return Objective(
            alert="GhostPatchErrorBudgetBurn",
            record="ghost:patch_error_ratio",
            label="daemon",
            objective=value,
            what="patch success",
            unit="its patches",
            summary="A ghost daemon burns its patch success error budget too fast.",
            service="{{ $labels.daemon }}",
            selector=selector,
        )

    default = ctx.profile.slo.patch_success
    if not daemons:
        return [objective(default, "")]
    return [objective(default, f'{{daemon!~"{"|".join(daemons)}"}}')] + [
        objective(overrides[daemon], f'{{daemon="{daemon}"}}') for daemon in daemons
    ]


def _burn_alert(
    ctx: Context, slo: Objective, severity: str, for_: str, windows: list[BurnWindow]
) -> Rule:
    budget = 1 - slo.objective
    branches = []
    explained = []
    for window in windows:
        threshold = f"({number(window.factor)} * (1 - {number(slo.objective)}))"
        branches.append(
            block(
                "(",
                f"  {slo.record}:rate{window.long}{slo.selector} > {threshold}",
                "  and",
                f"  {slo.record}:rate{window.short}{slo.selector} > {threshold}",
                ")",
            )
        )
        explained.append(
            f"over {percent(window.factor * budget)} for {ctx.profile.windows[window.long]} "
            f"and {ctx.profile.windows[window.short]} ({number(window.factor)}x)"
        )
    return alert(
        slo.alert,
        severity,
        "\nor\n".join(branches),
        for_,
        slo.summary,
        f"{{{{ $labels.{slo.label} }}}} failed {{{{ $value | humanizePercentage }}}} of "
        f"{slo.unit} over the alert's long window, burning the error budget of its "
        f"{percent(slo.objective)} {slo.what} objective ({percent(budget)} errors) "
        f"too fast: {', or '.join(explained)}.",
        service=slo.service,
    )


def groups(ctx: Context) -> list[Group]:
    tiers = ctx.profile.slo.burn_rates.tiers()
    rules = [
        _burn_alert(ctx, slo, severity, tier.for_, tier.windows)
        for slo in objectives(ctx)
        for severity, tier in tiers
    ]
    return [ctx.group("ghost.alerts.slo", rules)]
