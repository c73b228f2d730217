"""The Ghost Grafana dashboards as code (grafana-foundation-sdk), their rendering and queries.

The dashboards use the SDK's classic ``dashboard`` builders, whose JSON (schemaVersion 42) is
what Grafana's file provisioning and the import UI/API read; the SDK marks them deprecated in
favour of the v2 resource format, so that warning is silenced here.
"""

from __future__ import annotations

import warnings

warnings.filterwarnings(
    "ignore",
    message=r"Prefer using dashboardv2\.Dashboard instead\.",
    category=DeprecationWarning,
)

from .constants import DATASOURCE_UID, TAG  # noqa: E402
from .layout import BuiltDashboard  # noqa: E402
from .queries import (  # noqa: E402
    DEFAULT_VALUES,
    MissingVariableError,
    PanelQuery,
    VariableQuery,
    panel_queries,
    substitute,
    variable_queries,
)
from .render import build_all, drift, render, rendered, write  # noqa: E402

__all__ = [
    "DATASOURCE_UID",
    "DEFAULT_VALUES",
    "TAG",
    "BuiltDashboard",
    "MissingVariableError",
    "PanelQuery",
    "VariableQuery",
    "build_all",
    "drift",
    "panel_queries",
    "render",
    "rendered",
    "substitute",
    "variable_queries",
    "write",
]
