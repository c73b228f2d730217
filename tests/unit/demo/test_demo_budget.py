"""The demo is green until a fault is injected: its daemons fail inside their error budget."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from ghost_demo import stack

ROOT = Path(__file__).resolve().parents[3]
#: The demo's own failures may burn at most this share of the error budget, so that no burn-rate
#: alert (the slowest fires at 1x over 3 days and 6 hours) ever goes pending without a fault.
MAX_BURN = 0.25


def _objective(daemon: str) -> float:
    config = yaml.safe_load((ROOT / "alerts" / "config.yml").read_text(encoding="utf-8"))
    slo = config["profiles"]["default"]["slo"]
    return float(slo["patch_success_by_daemon"].get(daemon, slo["patch_success"]))


def _flag(argv: list[str], name: str) -> str:
    for i, arg in enumerate(argv):
        if arg.startswith(f"{name}="):
            return arg.split("=", 1)[1]
        if arg == name:
            return argv[i + 1]
    raise AssertionError(f"{name} not in {argv}")


def test_make_stack_daemon_fails_inside_its_budget(tmp_path: Path) -> None:
    args = argparse.Namespace(
        base_port=stack.DEFAULT_BASE_PORT,
        exporter_port=stack.DEFAULT_EXPORTER_PORT,
        remediate_port=stack.DEFAULT_REMEDIATE_PORT,
        with_prometheus=False,
    )
    children = {child.name: child for child in stack._children(args, tmp_path)}
    daemon = children["ghost-stress"].argv
    rate = float(_flag(daemon, "--failure-rate"))
    name = "stress"
    assert 0 < rate <= MAX_BURN * (1 - _objective(name))
    # and the burst fault is wired: the daemon takes /-/failure-rate, the demo forwards to it
    assert "--control" in daemon
    stress_port = stack.DEFAULT_BASE_PORT + 3
    assert _flag(children["ghost-demo"].argv, "--stress-url") == f"http://127.0.0.1:{stress_port}"


def test_compose_daemon_fails_inside_its_budget() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    command = [str(item) for item in compose["services"]["stress"]["command"]]
    rate = float(_flag(command, "--failure-rate"))
    assert 0 < rate <= MAX_BURN * (1 - _objective("stress"))
