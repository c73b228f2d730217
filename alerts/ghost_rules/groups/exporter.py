"""ghost.alerts.exporter: the exporter itself: not scraped, absent, not reloaded, saturated."""

from __future__ import annotations

from ..context import Context, Group, alert
from ..promql import block, rate, seconds


def groups(ctx: Context) -> list[Group]:
    settings = ctx.profile.alerts
    down = settings.exporter_down.for_
    absent = settings.exporter_absent.for_
    reload = settings.exporter_reload_failed.for_
    saturated = settings.exporter_saturated
    service = ctx.config.settings.exporter_service
    rules = [
        alert(
            "GhostExporterDown",
            "critical",
            f"{ctx.up()} == 0",
            down,
            "Prometheus cannot scrape ghost-exporter.",
            "Prometheus has failed to scrape {{ $labels.instance }} (job {{ $labels.job }}) "
            f"for more than {down}: the ghost services and daemons it "
            "probes are not monitored.",
            service=service,
        ),
        alert(
            "GhostExporterAbsent",
            "critical",
            f"absent({ctx.up()})",
            absent,
            "No ghost-exporter is scraped.",
            "Prometheus has had no target in job {{ $labels.job }} for more than "
            f"{absent}: the ghost services and daemons are not monitored.",
            service=service,
        ),
        alert(
            "GhostExporterConfigReloadFailed",
            "warning",
            f"{ctx.series('ghost_exporter_config_last_reload_successful')} == 0",
            reload,
            "The ghost exporter could not reload its configuration.",
            "The last configuration reload of {{ $labels.instance }} failed "
            f"more than {reload} ago; it keeps probing with its previous configuration.",
            service=service,
        ),
        alert(
            "GhostExporterSaturated",
            "warning",
            block(
                "histogram_quantile(",
                "  0.99,",
                f"  sum by ({ctx.by('job', 'instance', 'le')}) ("
                + rate(ctx.series("ghost_exporter_scheduler_lag_seconds_bucket"), saturated.window)
                + ")",
                f") > {seconds(saturated.p99_above)}",
            ),
            saturated.for_,
            "The ghost exporter starts its probes late.",
            "The 99th percentile scheduler lag of {{ $labels.instance }} over the last "
            f"{saturated.window} is {{{{ $value | humanizeDuration }}}}, above "
            f"{saturated.p99_above}: probes start late and their results age.",
            service=service,
        ),
    ]
    return [ctx.group("ghost.alerts.exporter", rules)]
