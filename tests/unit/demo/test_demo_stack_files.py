"""The files ``python -m ghost_demo.stack`` reads are package data (exporter/ghost_demo/
stack_files, links to the repository's files), so that it works from an installed wheel too."""

from __future__ import annotations

import fnmatch
import os
import tomllib
from pathlib import Path

import pytest
import yaml

from ghost_demo import stack
from tests.support import ROOT


def _shipped() -> dict[str, Path]:
    return {
        path.relative_to(stack.FILES).as_posix(): path
        for path in sorted(stack.FILES.rglob("*"))
        if not path.is_dir()
    }


def test_every_shipped_file_is_the_repository_file_of_the_same_path() -> None:
    shipped = _shipped()
    assert set(shipped) >= {
        "examples/remediate.yml",
        "examples/remediate.token",
        "alerts/alertmanager.yml",
        "prometheus/prometheus.yml",
    }
    for relative, path in shipped.items():
        assert path.read_bytes() == (ROOT / relative).read_bytes(), relative


def test_every_rule_file_prometheus_loads_is_shipped() -> None:
    def loaded(prometheus_yml: Path) -> set[str]:
        config = yaml.safe_load(prometheus_yml.read_text(encoding="utf-8"))
        folder = prometheus_yml.parent
        # normpath, not resolve: the shipped files are links that must not be followed here.
        return {
            Path(os.path.normpath(path)).relative_to(folder.parent).as_posix()
            for pattern in config["rule_files"]
            for path in folder.glob(pattern)
        }

    in_repo = loaded(ROOT / "prometheus" / "prometheus.yml")
    assert "prometheus/rules/ghost-recording.yml" in in_repo
    assert loaded(stack.FILES / "prometheus" / "prometheus.yml") == in_repo


def test_the_package_data_patterns_cover_every_shipped_file() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["ghost_demo"]
    for relative in _shipped():
        name = f"stack_files/{relative}"
        assert any(fnmatch.fnmatch(name, pattern) for pattern in patterns), name


def test_a_missing_stack_file_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(stack, "FILES", tmp_path / "stack_files")
    code = stack.main(["--run-dir", str(tmp_path / "run"), "--base-port", "18787"])
    assert code == 2
    err = capsys.readouterr().err
    assert f"{tmp_path}/stack_files/examples/remediate.yml is missing" in err
    assert "built without the stack's files" in err
