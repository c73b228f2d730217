"""A dashboard under construction: settings shared by every Ghost dashboard and grid placement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.cog import builder as cog_builder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as dashboard_model

from .constants import TAG
from .panels import DATASOURCE

GRID_WIDTH = 24


@dataclass(frozen=True, slots=True)
class BuiltDashboard:
    """A finished dashboard and the titles of its panels whose queries may return no series.

    A panel may be empty when what it shows does not exist in a healthy system: firing alerts,
    certificates of services without TLS, HTTP status of WebSocket services.
    """

    uid: str
    model: dashboard_model.Dashboard
    may_be_empty: frozenset[str]


class Board:
    """Places rows and panels left to right, top to bottom, on Grafana's 24-column grid."""

    def __init__(
        self,
        uid: str,
        title: str,
        description: str,
        variables: Sequence[cog_builder.Builder[dashboard_model.VariableModel]],
    ) -> None:
        self._uid = uid
        self._builder = (
            dashboard_builder.Dashboard(title)
            .uid(uid)
            .description(description)
            # Provisioned from files (allowUiUpdates: false): changes belong in the code.
            .readonly()
            .tags([TAG])
            .timezone("browser")
            .time("now-1h", "now")
            .refresh("30s")
            .tooltip(dashboard_model.DashboardCursorSync.CROSSHAIR)
            .variables(list(variables))
            .annotation(
                dashboard_builder.AnnotationQuery()
                .name("Annotations & Alerts")
                .datasource(common.DataSourceRef(type_val="grafana", uid="-- Grafana --"))
                .type("dashboard")
                .built_in(1)
                .enable(True)
                .hide(True)
                .icon_color("rgba(0, 211, 255, 1)")
            )
            .link(
                dashboard_builder.DashboardLink("Ghost dashboards")
                .type(dashboard_model.DashboardLinkType.DASHBOARDS)
                .tags([TAG])
                .as_dropdown(False)
                .include_vars(True)
                .keep_time(True)
            )
        )
        self._panels: list[dashboard_model.Panel | dashboard_model.RowPanel] = []
        self._titles: set[str] = set()
        self._may_be_empty: set[str] = set()
        self._x = 0
        self._y = 0
        self._line_height = 0

    def row(self, title: str) -> None:
        """Start a new full-width row."""
        self._new_line()
        self._claim(title)
        self._panels.append(
            dashboard_model.RowPanel(
                title=title,
                collapsed=False,
                datasource=DATASOURCE,
                grid_pos=dashboard_model.GridPos(h=1, w=GRID_WIDTH, x=0, y=self._y),
                id_val=len(self._panels) + 1,
                panels=[],
            )
        )
        self._y += 1

    def add(
        self,
        panel: cog_builder.Builder[dashboard_model.Panel],
        *,
        width: int,
        height: int,
        may_be_empty: bool = False,
    ) -> None:
        """Place ``panel`` right of the previous one, or on a new line when it does not fit."""
        if not 0 < width <= GRID_WIDTH or height <= 0:
            raise ValueError(f"bad panel size {width}x{height}")
        model = panel.build()
        if not model.title:
            raise ValueError("every panel needs a title")
        self._claim(model.title)
        if self._x + width > GRID_WIDTH:
            self._new_line()
        model.grid_pos = dashboard_model.GridPos(h=height, w=width, x=self._x, y=self._y)
        model.id_val = len(self._panels) + 1
        self._panels.append(model)
        if may_be_empty:
            self._may_be_empty.add(model.title)
        self._x += width
        self._line_height = max(self._line_height, height)

    def build(self) -> BuiltDashboard:
        model = self._builder.build()
        model.panels = list(self._panels)
        return BuiltDashboard(self._uid, model, frozenset(self._may_be_empty))

    def _claim(self, title: str) -> None:
        if title in self._titles:
            raise ValueError(f"duplicate panel title {title!r} on {self._uid}")
        self._titles.add(title)

    def _new_line(self) -> None:
        if self._x:
            self._y += self._line_height
        self._x = 0
        self._line_height = 0
