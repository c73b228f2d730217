"""ghost.alerts.patches: patches that fail, stall in flight, or a daemon that does not answer."""

from __future__ import annotations

from ..context import Context, Group, alert
from ..promql import block, number, percent
from .recording import PATCHES_FINISHED

DAEMON = "{{ $labels.daemon }}"


def groups(ctx: Context) -> list[Group]:
    settings = ctx.profile.alerts
    low = settings.patch_success_low
    stalled = settings.patches_stalled
    daemon_down = settings.daemon_down.for_
    w = ctx.profile.recording.patches
    daemon = ctx.by("daemon")
    finished = ctx.series("ghost_patches_total", PATCHES_FINISHED)
    rules = [
        alert(
            "GhostPatchSuccessRateLow",
            "critical",
            block(
                f"ghost:patch_success_ratio:rate5m < {number(low.success_below)}",
                f"and on ({daemon})",
                f"  sum by ({daemon}) (increase({finished}[{w}])) >= {low.min_patches}",
            ),
            low.for_,
            "Too many ghost patches fail.",
            "Only {{ $value | humanizePercentage }} of the patches that daemon "
            f"{DAEMON} finished over the last {w} completed (threshold "
            f"{percent(low.success_below)}, judged from {low.min_patches} patches on).",
            service=DAEMON,
        ),
        alert(
            "GhostPatchesStalled",
            "critical",
            block(
                f"{ctx.series('ghost_patches_in_flight')} > 0",
                f"unless on ({daemon})",
                f"  sum by ({daemon}) "
                f"(increase({ctx.series('ghost_patches_total')}[{stalled.window}])) > 0",
            ),
            stalled.for_,
            "Ghost patches are stuck in flight.",
            "{{ $value | humanize }} patches are in flight on daemon "
            f"{DAEMON}, but none has finished over the last {stalled.window}.",
            service=DAEMON,
        ),
        alert(
            "GhostDaemonDown",
            "critical",
            f"{ctx.series('ghost_daemon_up')} == 0",
            daemon_down,
            "A ghost stress daemon does not answer.",
            f"The status API of daemon {DAEMON} (probed by {{{{ $labels.instance }}}}) "
            f"has not answered with a valid status for more than {daemon_down}.",
            service=DAEMON,
        ),
    ]
    return [ctx.group("ghost.alerts.patches", rules)]
