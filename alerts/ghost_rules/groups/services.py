"""ghost.alerts.services: a service down, unhealthy, degraded or slow to answer its probes."""

from __future__ import annotations

from ..context import Context, Group, alert
from ..promql import seconds


def groups(ctx: Context) -> list[Group]:
    settings = ctx.profile.alerts
    down = settings.service_down.for_
    latency = settings.probe_latency_high

    def health(state: str) -> str:
        return ctx.series("ghost_service_health", f'state="{state}"')

    rules = [
        alert(
            "GhostServiceDown",
            "critical",
            # A service that answers "unhealthy" pages as GhostServiceUnhealthy alone.
            f"{ctx.series('ghost_service_up')} == 0 "
            f"unless on ({ctx.by('job', 'instance', 'service')}) {health('unhealthy')} == 1",
            down,
            "A ghost service fails its probes.",
            "{{ $labels.service }} (probed by {{ $labels.instance }}) has failed every probe "
            f"for more than {down}.",
        )
    ]
    for name, state, for_, severity, summary in (
        (
            "GhostServiceUnhealthy",
            "unhealthy",
            settings.service_unhealthy.for_,
            "critical",
            "A ghost service reports itself unhealthy.",
        ),
        (
            "GhostServiceDegraded",
            "degraded",
            settings.service_degraded.for_,
            "warning",
            "A ghost service reports itself degraded.",
        ),
    ):
        rules.append(
            alert(
                name,
                severity,
                f"{health(state)} == 1",
                for_,
                summary,
                "{{ $labels.service }} has reported the health state {{ $labels.state }} "
                f"for more than {for_}.",
            )
        )
    rules.append(
        alert(
            "GhostProbeLatencyHigh",
            "warning",
            f"ghost:probe_duration_seconds:p95_5m > {seconds(latency.p95_above)}",
            latency.for_,
            "Probes of a ghost service are slow.",
            "The 95th percentile probe duration of {{ $labels.service }} over the last "
            f"{ctx.profile.recording.probe_duration} is {{{{ $value | humanizeDuration }}}}, "
            f"above {latency.p95_above}.",
        )
    )
    return [ctx.group("ghost.alerts.services", rules)]
