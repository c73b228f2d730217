"""The exporter's modules import each other in layers: no import cycle, type-only ones included."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import ghost_exporter

PACKAGE = Path(ghost_exporter.__file__).parent
#: First-party packages: a leaf imports none of them.
FIRST_PARTY = ("ghost_exporter", "ghost_common", "ghost_stress", "ghost_demo", "ghost_remediate")


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imported(path: Path) -> set[str]:
    """Modules imported at the top level of a file, ``if TYPE_CHECKING:`` blocks included
    (imports inside functions are deliberate late imports, and left out)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        for stmt in node.body if isinstance(node, ast.If) else [node]:
            if isinstance(stmt, ast.Import):
                names |= {alias.name for alias in stmt.names}
            elif isinstance(stmt, ast.ImportFrom) and stmt.module and stmt.level == 0:
                for alias in stmt.names:
                    full = f"{stmt.module}.{alias.name}"
                    names.add(full if full in MODULES else stmt.module)
    return names


def test_results_is_a_leaf() -> None:
    imported = _imported(PACKAGE / "results.py")
    assert imported  # the check reads the file's imports
    assert not {n for n in imported if n.split(".")[0] in FIRST_PARTY}


def test_the_import_graph_has_no_cycle() -> None:
    graph = {name: _imported(path) & MODULES.keys() for name, path in MODULES.items()}
    assert graph["ghost_exporter.probes.base"] >= {"ghost_exporter.results"}
    cycles: list[list[str]] = []
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = "open"
        for dep in sorted(graph[name]):
            if state.get(dep) == "open":
                cycles.append([*path[path.index(dep) :], dep])
            elif dep not in state:
                visit(dep, [*path, dep])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


_IMPORT_EACH_FIRST = """
import importlib, sys
failed = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m.split(".")[0] == "ghost_exporter"]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{name}: {type(exc).__name__}: {exc}")
print("\\n".join(failed))
"""


#: Where the config and the table of kinds meet (the config reads its file with the table, the
#: kinds are made of the config's parts): each of them may be the first one a program imports.
FIRST_IMPORTS = [
    *(n for n in MODULES if n.startswith("ghost_exporter.kinds")),
    "ghost_exporter.config",
    "ghost_exporter.config.schema",
    "ghost_exporter.probes",
    "ghost_exporter.probes.timeout",
    "ghost_exporter.samples",
    "ghost_exporter.store",
]


def test_the_config_and_the_kinds_import_in_any_order() -> None:
    """Whichever of them a program imports first, the import does not trip over a cycle."""
    names = FIRST_IMPORTS
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_EACH_FIRST, *names],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.strip() == ""
    assert len(names) > 10
