"""Names shared by the dashboards, the provisioning files and the tests.

Objectives, error-ratio windows, burn-rate factors and the WebSocket freshness line are those of
the rules: read from alerts/config.yml (its ``default`` profile) through the rules package.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from ghost_common.units import parse_duration
from ghost_rules import CONFIG_PATH, DEFAULT_PROFILE, load_config

#: Environment variable naming another rules config for the dashboards (the mixin build's
#: ``--config`` sets it); alerts/config.yml when unset.
CONFIG_ENV: Final = "GHOST_RULES_CONFIG"
#: The rules config the dashboards were built from.
RULES_CONFIG: Final = Path(os.environ.get(CONFIG_ENV) or CONFIG_PATH).resolve()
_RULES = load_config(RULES_CONFIG)
_PROFILE = _RULES.profile(DEFAULT_PROFILE)

#: uid and name of the Prometheus datasource in grafana/provisioning/datasources/ghost.yml.
DATASOURCE_UID: Final = "ghost-prometheus"
DATASOURCE_NAME: Final = "Ghost Prometheus"

#: Every panel and target queries the datasource chosen by this dashboard variable.
DATASOURCE_VARIABLE: Final = "datasource"
DATASOURCE_REF_UID: Final = "${" + DATASOURCE_VARIABLE + "}"

#: Tag shared by every Ghost dashboard; the dashboard links list dashboards by it.
TAG: Final = "ghost"

OVERVIEW_UID: Final = "ghost-overview"
SERVICE_UID: Final = "ghost-service"
PATCHES_UID: Final = "ghost-patches"

#: Default SLO objectives; burn rate = error ratio / (1 - objective).
AVAILABILITY_OBJECTIVE: Final = float(_PROFILE.slo.service_availability)
PATCH_SUCCESS_OBJECTIVE: Final = float(_PROFILE.slo.patch_success)
#: Share of canaries every observer sees within the pipeline's deadline.
PIPELINE_DELIVERY_OBJECTIVE: Final = float(_PROFILE.slo.pipeline_delivery)

#: Windows of the ghost:service_error_ratio:* and ghost:patch_error_ratio:* recording rules.
ERROR_RATIO_WINDOWS: Final = tuple(_PROFILE.windows)

#: Burn-rate factors of the Ghost*ErrorBudgetBurn alerts by severity, each tier's ascending.
BURN_RATE_TIERS: Final = tuple(
    (severity, tuple(sorted(float(window.factor) for window in tier.windows)))
    for severity, tier in sorted(_PROFILE.slo.burn_rates.tiers(), key=lambda t: t[0] != "warning")
)
#: Every burn-rate factor, ascending (today warning at 1 and 3, critical at 6 and 14.4).
BURN_RATE_FACTORS: Final = tuple(sorted(f for _, factors in BURN_RATE_TIERS for f in factors))

#: WebSocket freshness line (seconds): the threshold of GhostWebSocketStale.
WEBSOCKET_LAG_LIMIT: Final = parse_duration(_PROFILE.alerts.websocket_stale.lag_above)

#: The label that tells clusters apart in the rules ("" when off); the dashboards then get a
#: ``cluster`` variable and every selector matches it.
CLUSTER_LABEL: Final = _RULES.settings.cluster_label
CLUSTER_VARIABLE: Final = "cluster"
#: Label matchers of the exporter's series (alerts/config.yml ``selectors.exporter``).
EXPORTER_SELECTOR: Final = _RULES.settings.selectors.exporter

#: Ghost's real-time promise and the default pipeline deadline (seconds): the line drawn on
#: canary delivery times. A canary seen within it is delivered, within twice it late.
PIPELINE_DEADLINE: Final = 5.0
