"""ghost.alerts.websocket: a WebSocket feed that delivers stale messages, or none."""

from __future__ import annotations

from ..context import Context, Group, alert
from ..promql import block, number, percent, rate, seconds


def groups(ctx: Context) -> list[Group]:
    stale = ctx.profile.alerts.websocket_stale
    silent = ctx.profile.alerts.websocket_silent
    window = silent.window
    service = ctx.by("service")
    lag = ctx.series("ghost_websocket_message_lag_seconds")
    rules = [
        alert(
            "GhostWebSocketStale",
            "warning",
            f"{lag} > {seconds(stale.lag_above)}",
            stale.for_,
            "A ghost WebSocket feed delivers stale messages.",
            "The last message on the WebSocket feed {{ $labels.service }} was "
            "{{ $value | humanizeDuration }} old when it was probed; ghost promises "
            f"real-time updates within {stale.lag_above}.",
        ),
        alert(
            "GhostWebSocketSilent",
            "warning",
            block(
                "(",
                f"  sum by ({service}) ("
                + rate(ctx.series("ghost_probe_failures_total", 'reason="timeout"'), window)
                + ")",
                "  /",
                f"  sum by ({service}) ({rate(ctx.series('ghost_probes_total'), window)})",
                f") > {number(silent.timeout_ratio_above)}",
                f"and on ({service})",
                f"  group by ({service}) (present_over_time({lag}[{silent.lookback}]))",
            ),
            silent.for_,
            "A ghost WebSocket feed is silent.",
            "{{ $value | humanizePercentage }} of the probes of the WebSocket feed "
            f"{{{{ $labels.service }}}} over the last {window} timed out without a message "
            f"(threshold {percent(silent.timeout_ratio_above)}).",
        ),
    ]
    return [ctx.group("ghost.alerts.websocket", rules)]
