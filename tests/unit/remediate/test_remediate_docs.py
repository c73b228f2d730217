"""docs/remediation.md is kept true by the code; the demo stack's derived configs are valid."""

from __future__ import annotations

import argparse
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from ghost_demo import stack
from ghost_remediate import schema
from ghost_remediate.config import HTTPSpec, load_config
from ghost_remediate.metrics import REMEDIATION_METRICS, RESULTS
from tests.support import ROOT, require_tool

DOC = (ROOT / "docs" / "remediation.md").read_text(encoding="utf-8")


def _options(model: type[BaseModel]) -> set[str]:
    names = set(model.model_fields)
    for model_field in model.model_fields.values():
        annotation = model_field.annotation
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        for candidate in candidates:
            for inner in [candidate, *getattr(candidate, "__args__", ())]:
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    names |= _options(inner)
    return names


def test_every_config_key_is_documented() -> None:
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", DOC, re.MULTILINE))
    options = _options(schema.ConfigFile)
    assert {"bearer_token", "argv", "kill_grace", "probe_url", "service_label"} <= options
    assert options - documented == set()


def test_every_metric_and_result_is_documented() -> None:
    for metric in REMEDIATION_METRICS:
        [row] = [line for line in DOC.splitlines() if line.startswith(f"| `{metric.name}` |")]
        assert f"| {metric.type} |" in row
        for label in metric.labels:
            assert f"`{label}`" in row
    for result in RESULTS:
        assert f"`{result}`" in DOC, result


def _args(base: int, exporter: int, remediate: int) -> argparse.Namespace:
    return argparse.Namespace(
        base_port=base, exporter_port=exporter, remediate_port=remediate, with_prometheus=True
    )


def test_make_run_starts_ghost_remediate_with_the_example_config(tmp_path: Path) -> None:
    children = {c.name: c for c in stack._children(_args(8787, 9798, 9799), tmp_path)}
    argv = children["ghost-remediate"].argv
    shipped = stack.FILES / "examples" / "remediate.yml"  # examples/remediate.yml, as installed
    assert argv[1:] == [f"--config.file={shipped}", "--web.listen-address=127.0.0.1:9799"]
    assert shipped.read_bytes() == (ROOT / "examples" / "remediate.yml").read_bytes()
    assert Path(argv[0]).name == "ghost-remediate"


@pytest.mark.parametrize(
    ("base", "exporter", "remediate"), [(8787, 9798, 9799), (18787, 19798, 19799)]
)
def test_the_stack_configs_follow_the_ports(
    tmp_path: Path, base: int, exporter: int, remediate: int
) -> None:
    config = load_config(stack.remediate_config(tmp_path, base, exporter))
    [rule] = config.rules
    assert isinstance(rule.action, HTTPSpec)
    assert rule.action.url.render({"service": "x"}) == f"http://127.0.0.1:{base + 10}/-/restart/x"
    assert config.verify is not None
    assert config.verify.probe_url == f"http://127.0.0.1:{exporter}/probe"

    alertmanager = stack.alertmanager_config(tmp_path, base, remediate)
    done = subprocess.run(
        [require_tool("amtool"), "check-config", str(alertmanager)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    receivers = {r["name"]: r for r in yaml.safe_load(alertmanager.read_text())["receivers"]}
    [webhook] = receivers["ghost-remediate"]["webhook_configs"]
    assert webhook["url"] == f"http://127.0.0.1:{remediate}/webhook"
    token = Path(webhook["http_config"]["authorization"]["credentials_file"])
    assert (alertmanager.parent / token).resolve() == ROOT / "examples" / "remediate.token"

    prometheus = stack.prometheus_config(tmp_path, exporter, remediate)
    done = subprocess.run(
        [require_tool("promtool"), "check", "config", str(prometheus)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    jobs = {
        job["job_name"]: [t for c in job["static_configs"] for t in c["targets"]]
        for job in yaml.safe_load(prometheus.read_text())["scrape_configs"]
    }
    assert jobs == {
        "ghost": [f"127.0.0.1:{exporter}"],
        "ghost-remediate": [f"127.0.0.1:{remediate}"],
    }
