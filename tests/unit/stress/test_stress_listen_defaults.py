"""A one-shot run listens on a free port; the daemon keeps 8790, the port the exporter scrapes."""

from __future__ import annotations

import re

import pytest

from ghost_stress.cli import build_parser
from ghost_stress.units import ListenAddress


def test_run_listens_on_a_free_port_by_default() -> None:
    args = build_parser().parse_args(["run"])
    assert args.listen == ListenAddress("127.0.0.1", 0)


def test_daemon_still_listens_on_8790_by_default() -> None:
    args = build_parser().parse_args(["daemon"])
    assert args.listen == ListenAddress("127.0.0.1", 8790)


@pytest.mark.parametrize(
    ("mode", "default"), [("run", "127.0.0.1:0, a free port"), ("daemon", "127.0.0.1:8790")]
)
def test_help_names_each_mode_default(
    mode: str, default: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args([mode, "--help"])
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    [listen] = re.findall(r"--listen ADDR (.*?) --port-file", text)
    assert f"(default {default}" in listen
