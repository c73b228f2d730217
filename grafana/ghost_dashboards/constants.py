"""Names shared by the dashboards, the provisioning files and the tests."""

from __future__ import annotations

from typing import Final

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
AVAILABILITY_OBJECTIVE: Final = 0.995
PATCH_SUCCESS_OBJECTIVE: Final = 0.99
#: Share of canaries every observer sees within the pipeline's deadline.
PIPELINE_DELIVERY_OBJECTIVE: Final = 0.99

#: Windows of the ghost:service_error_ratio:* and ghost:patch_error_ratio:* recording rules.
ERROR_RATIO_WINDOWS: Final = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")

#: Burn-rate factors of the Ghost*ErrorBudgetBurn alerts (alerts/config.yml): warning at 1
#: (3d/6h windows) and 3 (1d/2h), critical at 6 (6h/30m) and 14.4 (1h/5m).
BURN_RATE_FACTORS: Final = (1.0, 3.0, 6.0, 14.4)

#: WebSocket freshness line (seconds).
WEBSOCKET_LAG_LIMIT: Final = 5.0

#: Ghost's real-time promise and the default pipeline deadline (seconds): the line drawn on
#: canary delivery times. A canary seen within it is delivered, within twice it late.
PIPELINE_DEADLINE: Final = 5.0
