"""ghost.alerts.remediation: ghost-remediate's remediations fail, or its global limit holds
them back."""

from __future__ import annotations

from ..context import Context, Group, alert
from ..promql import block


def groups(ctx: Context) -> list[Group]:
    failing = ctx.profile.alerts.remediation_failing
    throttled = ctx.profile.alerts.remediation_throttled
    failed = ctx.series(
        "ghost_remediations_total", 'result=~"failed|skipped_limit"', source="remediate"
    )
    held = ctx.series(
        "ghost_remediations_total", 'result="skipped_global_limit"', source="remediate"
    )
    rules = [
        alert(
            "GhostRemediationFailing",
            "warning",
            block(
                f"sum by ({ctx.by('service', 'action')}) (",
                f"  increase({failed}[{failing.window}])",
                ") > 0",
            ),
            failing.for_,
            "Automatic remediation of a ghost service does not work.",
            "Remediations of {{ $labels.service }} by the ghost-remediate action "
            "{{ $labels.action }} that failed or hit the attempt limit over the last "
            f"{failing.window}: {{{{ $value | humanize }}}}. The service needs a person.",
        ),
        alert(
            "GhostRemediationThrottled",
            "warning",
            block(
                f"sum by ({ctx.by('job', 'instance')}) (",
                f"  increase({held}[{throttled.window}])",
                ") > 0",
            ),
            throttled.for_,
            "Automatic remediation is held back by its global limit.",
            "ghost-remediate at {{ $labels.instance }} held back {{ $value | humanize }} "
            f"remediations over the last {throttled.window}: more than max_actions_per_hour "
            "started within an hour across every service. Many services fail at once; look "
            "for their common cause.",
            service="ghost-remediate",
        ),
    ]
    return [ctx.group("ghost.alerts.remediation", rules)]
