"""Sloth-compatible SLO series (slo:sli_error:ratio_rate5m, ..., sloth_slo_info) for the
objectives of the profile and every Sloth prometheus/v1 document under ``sloth_specs``; see
docs/sloth.md."""

from __future__ import annotations

from ..context import Context, Group
from ..sloth import sloth_groups
from ..sloth_config import config_slos


def groups(ctx: Context) -> list[Group]:
    slos = config_slos(ctx.profile, ctx.config.settings.sloth_specs)
    return sloth_groups(slos, interval=ctx.profile.evaluation_interval)
