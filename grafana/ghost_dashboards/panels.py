"""Panel factories: each returns an SDK panel builder with the project's defaults applied.

Every panel and every target uses the ``${datasource}`` variable; every panel has a unit and
thresholds. Positions and ids are set by :class:`ghost_dashboards.layout.Board`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.builders import (
    heatmap,
    prometheus,
    stat,
    statetimeline,
    table,
    timeseries,
)
from grafana_foundation_sdk.cog import builder as cog_builder
from grafana_foundation_sdk.cog import variants as cog_variants
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as dashboard_model
from grafana_foundation_sdk.models import heatmap as heatmap_model
from grafana_foundation_sdk.models import prometheus as prometheus_model

from .constants import DATASOURCE_REF_UID

Format = Literal["time_series", "table", "heatmap"]
Step = tuple[float | None, str]

#: The datasource of every panel and target.
DATASOURCE = common.DataSourceRef(type_val="prometheus", uid=DATASOURCE_REF_UID)

_FORMATS: dict[Format, prometheus_model.PromQueryFormat] = {
    "time_series": prometheus_model.PromQueryFormat.TIME_SERIES,
    "table": prometheus_model.PromQueryFormat.TABLE,
    "heatmap": prometheus_model.PromQueryFormat.HEATMAP,
}


@dataclass(frozen=True, slots=True)
class Query:
    """One PromQL target of a panel."""

    expr: str
    legend: str = ""
    instant: bool = False
    format: Format = "time_series"


@dataclass(frozen=True, slots=True)
class Link:
    """A data link from a panel's values to another dashboard."""

    title: str
    url: str


def targets(queries: Sequence[Query]) -> list[cog_builder.Builder[cog_variants.Dataquery]]:
    """Prometheus targets with refIds A, B, C... in the order given."""
    built: list[cog_builder.Builder[cog_variants.Dataquery]] = []
    for index, query in enumerate(queries):
        target = (
            prometheus.Dataquery()
            .ref_id(chr(ord("A") + index))
            .datasource(DATASOURCE)
            .expr(query.expr)
            .editor_mode(prometheus_model.QueryEditorMode.CODE)
            .format(_FORMATS[query.format])
        )
        target = target.instant() if query.instant else target.range()
        if query.legend:
            target = target.legend_format(query.legend)
        built.append(target)
    return built


def thresholds(*steps: Step) -> dashboard_builder.ThresholdsConfig:
    """Absolute thresholds; the first step is the base (its value is ``None``)."""
    return (
        dashboard_builder.ThresholdsConfig()
        .mode(dashboard_model.ThresholdsMode.ABSOLUTE)
        .steps([dashboard_model.Threshold(value=value, color=color) for value, color in steps])
    )


def value_mappings(texts: dict[int, tuple[str, str]]) -> list[dashboard_model.ValueMapping]:
    """One value mapping from numbers to (text, colour)."""
    options = {
        str(value): dashboard_model.ValueMappingResult(text=text, color=color, index=index)
        for index, (value, (text, color)) in enumerate(sorted(texts.items()))
    }
    return [dashboard_model.ValueMap(options=options)]


def data_links(
    links: Sequence[Link],
) -> list[cog_builder.Builder[dashboard_model.DashboardLink]]:
    return [dashboard_builder.DashboardLink(link.title).url(link.url) for link in links]


def fixed_colour(colour: str) -> list[dashboard_model.DynamicConfigValue]:
    """Override properties giving a series a fixed colour."""
    return [
        dashboard_model.DynamicConfigValue(
            id_val="color", value={"mode": "fixed", "fixedColor": colour}
        )
    ]


def stat_panel(
    title: str,
    description: str,
    queries: Sequence[Query],
    *,
    unit: str,
    steps: Sequence[Step],
    mappings: dict[int, tuple[str, str]] | None = None,
    decimals: int | None = None,
    background: bool = False,
    sparkline: bool = False,
    no_value: str = "",
    links: Sequence[Link] = (),
) -> stat.Panel:
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(targets(queries))
        .unit(unit)
        .thresholds(thresholds(*steps))
        .color_scheme(
            dashboard_builder.FieldColor().mode(dashboard_model.FieldColorModeId.THRESHOLDS)
        )
        .reduce_options(common_builder.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .color_mode(
            common.BigValueColorMode.BACKGROUND if background else common.BigValueColorMode.VALUE
        )
        .graph_mode(common.BigValueGraphMode.AREA if sparkline else common.BigValueGraphMode.NONE)
        .text_mode(common.BigValueTextMode.VALUE_AND_NAME)
        .justify_mode(common.BigValueJustifyMode.AUTO)
        .orientation(common.VizOrientation.AUTO)
    )
    if mappings:
        panel = panel.mappings(value_mappings(mappings))
    if decimals is not None:
        panel = panel.decimals(decimals)
    if no_value:
        panel = panel.no_value(no_value)
    if links:
        panel = panel.data_links(data_links(links))
    return panel


def timeseries_panel(
    title: str,
    description: str,
    queries: Sequence[Query],
    *,
    unit: str,
    steps: Sequence[Step],
    threshold_style: common.GraphThresholdsStyleMode = common.GraphThresholdsStyleMode.OFF,
    minimum: float | None = None,
    maximum: float | None = None,
    decimals: int | None = None,
    bars: bool = False,
    stacked: bool = False,
    colours: dict[str, str] | None = None,
    links: Sequence[Link] = (),
) -> timeseries.Panel:
    """A time series; ``colours`` maps a regular expression on the series name to a colour."""
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(targets(queries))
        .unit(unit)
        .thresholds(thresholds(*steps))
        .thresholds_style(common_builder.GraphThresholdsStyleConfig().mode(threshold_style))
        .color_scheme(
            dashboard_builder.FieldColor().mode(dashboard_model.FieldColorModeId.PALETTE_CLASSIC)
        )
        .draw_style(common.GraphDrawStyle.BARS if bars else common.GraphDrawStyle.LINE)
        .line_width(1)
        .fill_opacity(80 if bars else 10)
        .show_points(common.VisibilityMode.NEVER)
        .span_nulls(False)
        .legend(
            common_builder.VizLegendOptions()
            .show_legend(True)
            .display_mode(common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.BOTTOM)
            .calcs([])
        )
        .tooltip(
            common_builder.VizTooltipOptions()
            .mode(common.TooltipDisplayMode.MULTI)
            .sort(common.SortOrder.DESCENDING)
        )
    )
    if stacked:
        panel = panel.stacking(common_builder.StackingConfig().mode(common.StackingMode.NORMAL))
    if minimum is not None:
        panel = panel.min(minimum)
    if maximum is not None:
        panel = panel.max(maximum)
    if decimals is not None:
        panel = panel.decimals(decimals)
    for pattern, colour in (colours or {}).items():
        panel = panel.override_by_regexp(pattern, fixed_colour(colour))
    if links:
        panel = panel.data_links(data_links(links))
    return panel


def heatmap_panel(
    title: str, description: str, query: Query, *, unit: str, links: Sequence[Link] = ()
) -> heatmap.Panel:
    """A heatmap of pre-bucketed histogram data (``format: heatmap``, no calculation)."""
    panel = (
        heatmap.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(targets([query]))
        .unit(unit)
        .thresholds(thresholds((None, "green")))
        .calculate(False)
        .y_axis(heatmap.YAxisConfig().unit(unit).axis_placement(common.AxisPlacement.LEFT))
        .cell_values(heatmap.CellValues().unit("short"))
        .color(
            heatmap.HeatmapColorOptions()
            .mode(heatmap_model.HeatmapColorMode.SCHEME)
            .scheme("Oranges")
            .scale(heatmap_model.HeatmapColorScale.EXPONENTIAL)
            .exponent(0.5)
            .steps(64)
            .fill("dark-orange")
            .reverse(False)
        )
        .rows_frame(heatmap.RowsHeatmapOptions().layout(common.HeatmapCellLayout.LE))
        .filter_values(heatmap.FilterValueRange().le(1e-9))
        .show_value(common.VisibilityMode.NEVER)
        .tooltip(heatmap.HeatmapTooltip().mode(common.TooltipDisplayMode.SINGLE).y_histogram(True))
        .show_legend()
    )
    if links:
        panel = panel.data_links(data_links(links))
    return panel


def table_panel(
    title: str,
    description: str,
    query: Query,
    *,
    hidden_columns: Sequence[str],
    unit: str,
    steps: Sequence[Step],
    no_value: str = "",
) -> table.Panel:
    """A table of an instant query; ``hidden_columns`` are dropped by an organize transformation."""
    panel = (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(targets([query]))
        .unit(unit)
        .thresholds(thresholds(*steps))
        .show_header(True)
        .cell_height(common.TableCellHeight.SM)
        .with_transformation(
            dashboard_model.DataTransformerConfig(
                id_val="organize",
                options={"excludeByName": dict.fromkeys(hidden_columns, True)},
            )
        )
    )
    if no_value:
        panel = panel.no_value(no_value)
    return panel


def state_timeline_panel(
    title: str,
    description: str,
    queries: Sequence[Query],
    *,
    mappings: dict[int, tuple[str, str]],
    steps: Sequence[Step],
) -> statetimeline.Panel:
    return (
        statetimeline.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(targets(queries))
        .unit("none")
        .thresholds(thresholds(*steps))
        .color_scheme(
            dashboard_builder.FieldColor().mode(dashboard_model.FieldColorModeId.THRESHOLDS)
        )
        .mappings(value_mappings(mappings))
        .show_value(common.VisibilityMode.AUTO)
        .merge_values(True)
        .row_height(0.9)
        .fill_opacity(70)
        .line_width(0)
        .align_value(common.TimelineValueAlignment.LEFT)
        .legend(
            common_builder.VizLegendOptions()
            .show_legend(True)
            .display_mode(common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.BOTTOM)
        )
        .tooltip(common_builder.VizTooltipOptions().mode(common.TooltipDisplayMode.SINGLE))
    )
