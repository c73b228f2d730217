"""ghost.alerts.sync: ghost's own monitors against reality: a reporter that disagrees with
what the exporter observes or cannot be read, and real-time events lost on their way."""

from __future__ import annotations

from ..context import Context, Group, alert
from ..promql import block

REPORTER = "{{ $labels.reporter }}"
PIPELINE = "{{ $labels.pipeline }}"


def observed_state(ctx: Context) -> str:
    """What the exporter itself observes of the alert's service, for the description of
    GhostMonitorOutOfSync: down when its probes fail, else the health state it reports."""
    up = ctx.printf_query("ghost_service_up", ("service",), "== 0")
    health = ctx.printf_query("ghost_service_health", ("service",), "== 1")
    return (
        f"{{{{ with {up} | query }}}}down"
        f"{{{{ else }}}}{{{{ with {health} | query }}}}"
        '{{ . | first | label "state" }}{{ else }}not probed{{ end }}{{ end }}'
    )


def claimed_state(ctx: Context) -> str:
    """The state the reporter claims (ghost_reported_health), for the same description."""
    claimed = ctx.printf_query("ghost_reported_health", ("reporter", "service"), "== 1")
    return (
        f"{{{{ with {claimed} | query }}}}"
        '{{ . | first | label "state" }}{{ else }}no state{{ end }}'
    )


def groups(ctx: Context) -> list[Group]:
    settings = ctx.profile.alerts
    out_of_sync = settings.monitor_out_of_sync.for_
    reporter_down = settings.reporter_down.for_
    lost = settings.pipeline_canary_lost
    canaries = ctx.series("ghost_pipeline_canaries_total", 'outcome="lost"')
    rules = [
        alert(
            "GhostMonitorOutOfSync",
            "critical",
            f"{ctx.series('ghost_monitor_in_sync')} == 0",
            out_of_sync,
            "A ghost monitor reports a service state that disagrees with what is observed.",
            f"{REPORTER} claims {{{{ $labels.service }}}} is {claimed_state(ctx)}, but "
            f"{{{{ $labels.instance }}}} observes it {observed_state(ctx)}; they have disagreed "
            f"for more than {out_of_sync}. Whoever trusts {REPORTER} sees a stale picture.",
        ),
        alert(
            "GhostReporterDown",
            "warning",
            f"{ctx.series('ghost_reporter_up')} == 0",
            reporter_down,
            "A ghost monitor's claims cannot be read.",
            f"The reporter {REPORTER} (read by {{{{ $labels.instance }}}}) has not answered "
            f"with a service list that parses for more than {reporter_down}: whether it "
            "agrees with reality is unknown.",
            service=REPORTER,
        ),
        alert(
            "GhostPipelineCanaryLost",
            "critical",
            block(
                f"sum by ({ctx.by('pipeline', 'observer')}) (",
                f"  increase({canaries}[{lost.window}])",
                ") > 0",
            ),
            lost.for_,
            "Ghost real-time events are lost on their way.",
            "The observer {{ $labels.observer }} of the pipeline "
            f'{PIPELINE} has not seen {{{{ $value | printf "%.0f" }}}} of the canaries '
            f"emitted over the last {lost.window}, not even within twice the deadline: "
            "real-time events are dropped.",
            service=PIPELINE,
        ),
    ]
    return [ctx.group("ghost.alerts.sync", rules)]
