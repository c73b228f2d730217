"""No program imports another program's package: what two programs share lives in ghost_common,
and ghost_common imports none of the programs."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support import ROOT

PROGRAMS = ("ghost_exporter", "ghost_stress", "ghost_demo", "ghost_remediate")
PACKAGES = (*PROGRAMS, "ghost_common")


def imported_modules(path: Path) -> set[str]:
    """Every absolute module ``path`` imports, anywhere in the file (functions and
    ``TYPE_CHECKING`` blocks included)."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def cross_imports(root: Path) -> set[tuple[str, str]]:
    """(file, module) for each import of one package of ``root`` from another program's."""
    found = set()
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            for module in imported_modules(path):
                top = module.partition(".")[0]
                if top in PROGRAMS and top != package:
                    found.add((path.relative_to(root).as_posix(), module))
    return found


def test_no_program_imports_another_program() -> None:
    found = cross_imports(ROOT / "exporter")
    assert sorted(found) == []


def test_the_check_sees_a_cross_program_import(tmp_path: Path) -> None:
    for package in PACKAGES:
        (tmp_path / package).mkdir()
    (tmp_path / "ghost_demo" / "hub.py").write_text("from ghost_stress.hub import Hub\n")
    (tmp_path / "ghost_common" / "late.py").write_text(
        "def f() -> None:\n    import ghost_exporter.cli\n"
    )
    (tmp_path / "ghost_stress" / "own.py").write_text(
        "from ghost_stress.units import parse_duration\nfrom ghost_common import serving\n"
    )
    assert cross_imports(tmp_path) == {
        ("ghost_demo/hub.py", "ghost_stress.hub"),
        ("ghost_common/late.py", "ghost_exporter.cli"),
    }
