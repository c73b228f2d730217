"""Render the dashboards to JSON files, or check that the files match the code."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

from grafana_foundation_sdk.cog.encoder import JSONEncoder

from ghost_common import generated

from . import overview, patches, service
from .layout import BuiltDashboard

#: Every generated dashboard, in the order of the files' names.
BUILDERS: Final[tuple[Callable[[], BuiltDashboard], ...]] = (
    overview.build,
    patches.build,
    service.build,
)

#: The files of the output folder that are dashboards: any other one there is not generated.
_PATTERN: Final = "*.json"

#: grafana/dashboards, next to this package.
DEFAULT_OUT_DIR: Final = Path(__file__).resolve().parent.parent / "dashboards"


def build_all() -> list[BuiltDashboard]:
    return [build() for build in BUILDERS]


def filename(built: BuiltDashboard) -> str:
    return built.uid + ".json"


#: grafana-foundation-sdk 0.0.21 gives every dashboard link and annotation this placement,
#: which Grafana 12 renders inside the dashboard controls menu (or, in some releases, not at
#: all); without it they show above the panels.
_CONTROLS_MENU = "inControlsMenu"


def render(built: BuiltDashboard) -> str:
    """The dashboard as Grafana JSON: keys sorted, indent 2, trailing newline."""
    document = json.loads(json.dumps(built.model, cls=JSONEncoder))
    return json.dumps(_drop_controls_menu_placement(document), indent=2, sort_keys=True) + "\n"


def _drop_controls_menu_placement(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: _drop_controls_menu_placement(value)
            for key, value in node.items()
            if not (key == "placement" and value == _CONTROLS_MENU)
        }
    if isinstance(node, list):
        return [_drop_controls_menu_placement(item) for item in node]
    return node


def rendered() -> dict[str, str]:
    """File name -> content of every dashboard."""
    files: dict[str, str] = {}
    for built in build_all():
        name = filename(built)
        if name in files:
            raise ValueError(f"two dashboards share the uid {built.uid!r}")
        files[name] = render(built)
    return files


def expected(out_dir: Path) -> dict[Path, str]:
    """Path in ``out_dir`` -> content of every dashboard."""
    return {out_dir / name: text for name, text in rendered().items()}


def write(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    return generated.write(expected(out_dir))


def drift(out_dir: Path) -> list[str]:
    """Problems that make ``out_dir`` differ from the code; empty when it matches."""
    return generated.drift(expected(out_dir), folder=out_dir, pattern=_PATTERN)


def main(argv: Sequence[str] | None = None) -> int:
    return generated.folder_main(
        argv,
        description="Write the Ghost Grafana dashboards as JSON.",
        out_default=DEFAULT_OUT_DIR,
        out_help="directory of the dashboard JSON files (default: %(default)s)",
        expected=expected,
        writer=write,
        pattern=_PATTERN,
        remedy="run `make dashboards` to regenerate them",
    )
