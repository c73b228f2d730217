"""ghost.alerts.tls: a service's TLS certificate expires soon (a warning and a critical tier)."""

from __future__ import annotations

from ..context import Context, Group, alert
from ..promql import seconds


def groups(ctx: Context) -> list[Group]:
    tiers = ctx.profile.alerts.tls_expiring
    expiry = ctx.series("ghost_tls_cert_expiry_timestamp_seconds")
    rules = [
        alert(
            "GhostTLSCertificateExpiring",
            severity,
            f"({expiry} - time()) < " + seconds(tier.below),
            tier.for_,
            "The TLS certificate of a ghost service expires soon.",
            "The earliest certificate presented by {{ $labels.service }} expires in "
            f"{{{{ $value | humanizeDuration }}}} (threshold {tier.below}).",
        )
        for severity, tier in (("critical", tiers.critical), ("warning", tiers.warning))
    ]
    return [ctx.group("ghost.alerts.tls", rules)]
