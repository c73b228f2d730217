"""Recording rules: probe latency, availability, patches, pipelines and the SLO error ratios.

Their names are a contract with the dashboards and the alerts: they may grow, never change
meaning. The error-ratio families take one rule per configured window (``rate5m`` ...).
"""

from __future__ import annotations

from ..context import Context, Group, record
from ..promql import block, rate, ratio

#: Outcomes of ghost_patches_total and ghost_pipeline_canaries_total.
PATCHES_FINISHED = 'outcome=~"completed|failed|timeout"'
PATCHES_COMPLETED = 'outcome="completed"'
PATCHES_FAILED = 'outcome=~"failed|timeout"'
CANARIES_SEEN = 'outcome=~"delivered|late|lost"'
CANARIES_DELIVERED = 'outcome="delivered"'
CANARIES_FAILED = 'outcome=~"late|lost"'


def groups(ctx: Context) -> list[Group]:
    recording = ctx.profile.recording
    w = recording.patches
    patches = ctx.series("ghost_patches_total")
    finished = ctx.series("ghost_patches_total", PATCHES_FINISHED)
    completed = ctx.series("ghost_patches_total", PATCHES_COMPLETED)
    failed = ctx.series("ghost_patches_total", PATCHES_FAILED)
    seen = ctx.series("ghost_pipeline_canaries_total", CANARIES_SEEN)
    delivered = ctx.series("ghost_pipeline_canaries_total", CANARIES_DELIVERED)
    lost = ctx.series("ghost_pipeline_canaries_total", CANARIES_FAILED)
    services = [
        record(
            "ghost:probe_duration_seconds:p95_5m",
            block(
                "histogram_quantile(",
                "  0.95,",
                f"  sum by ({ctx.by('service', 'le')}) ("
                + rate(ctx.series("ghost_probe_duration_seconds_bucket"), recording.probe_duration)
                + ")",
                ")",
            ),
        ),
        record(
            "ghost:service_availability:ratio_1h",
            f"avg by ({ctx.by('service')}) "
            f"(avg_over_time({ctx.series('ghost_service_up')}[{recording.availability}]))",
        ),
    ]
    daemon = ctx.by("daemon")
    patch_rules = [
        record(
            "ghost:patches:rate5m", f"sum by ({ctx.by('daemon', 'outcome')}) ({rate(patches, w)})"
        ),
        record(
            "ghost:patch_success_ratio:rate5m", ratio(rate(completed, w), rate(finished, w), daemon)
        ),
        record(
            "ghost:patch_duration_seconds:p95_5m",
            block(
                "histogram_quantile(",
                "  0.95,",
                f"  sum by ({ctx.by('daemon', 'le')}) "
                f"({rate(ctx.series('ghost_patch_duration_seconds_bucket'), w)})",
                ")",
            ),
        ),
    ]
    pw = recording.pipelines
    pipeline = ctx.by("pipeline")
    pipelines = [
        record(
            "ghost:pipeline_delivered_ratio:rate5m",
            ratio(rate(delivered, pw), rate(seen, pw), pipeline),
        ),
    ]
    windows = ctx.profile.windows.items()
    probes = ctx.series("ghost_probes_total")
    probe_failures = ctx.series("ghost_probe_failures_total")
    # One group per family: a group holds at most 20 rules (the monitoring-mixins style).
    service_slo = [
        record(
            f"ghost:service_error_ratio:rate{name}",
            ratio(rate(probe_failures, window), rate(probes, window), ctx.by("service")),
        )
        for name, window in windows
    ]
    patch_slo = [
        record(
            f"ghost:patch_error_ratio:rate{name}",
            ratio(rate(failed, window), rate(finished, window), daemon),
        )
        for name, window in windows
    ]
    pipeline_slo = [
        record(
            f"ghost:pipeline_error_ratio:rate{name}",
            ratio(rate(lost, window), rate(seen, window), pipeline),
        )
        for name, window in windows
    ]
    return [
        ctx.group("ghost.recording.services", services),
        ctx.group("ghost.recording.patches", patch_rules),
        ctx.group("ghost.recording.pipelines", pipelines),
        ctx.group("ghost.recording.slo.services", service_slo),
        ctx.group("ghost.recording.slo.patches", patch_slo),
        ctx.group("ghost.recording.slo.pipelines", pipeline_slo),
    ]
