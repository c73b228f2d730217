"""The example Prometheus configs in a real Prometheus: the rules and targets they load."""

from __future__ import annotations

import json
import shutil
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from ghost_exporter.shard import shard_of

from .conftest import ALERTS_DIR, PROMETHEUS_DIR, Server, Servers

CONFIGS = ("prometheus.yml", "prometheus-probe.yml", "prometheus-sharded.yml")
#: The service names written into the sharded config's file_sd list for this test.
SHARDED_NAMES = [f"service-{i:02d}" for i in range(20)]
#: Every target of examples/ghost.yml that /probe serves, services, daemons and reporters: the
#: /probe config must list them all (pipelines stay on the exporter's schedule, read from /metrics).
PROBE_NAMES = [
    "dual-monitor",
    "telemetry-api",
    "telemetry-ws",
    "status-api",
    "stress",
    "status-board",
]


@dataclass(frozen=True, slots=True)
class Target:
    job: str
    instance: str
    url: str


REMEDIATE = Target("ghost-remediate", "127.0.0.1:9799", "http://127.0.0.1:9799/metrics")


@dataclass(frozen=True, slots=True)
class Loaded:
    active: list[Target]
    dropped: int
    groups: list[str]


def _get(server: Server, path: str) -> Any:
    with urllib.request.urlopen(server.url + path, timeout=5) as response:
        return json.loads(response.read())["data"]


def _targets(server: Server) -> tuple[list[Target], int]:
    data = _get(server, "/api/v1/targets?state=any")
    active = [
        Target(t["labels"]["job"], t["labels"]["instance"], urllib.parse.unquote(t["scrapeUrl"]))
        for t in data["activeTargets"]
    ]
    return active, len(data["droppedTargets"])


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Loaded]]:
    """Each config loaded by its own Prometheus (all started at once), once its targets exist."""
    workdir = tmp_path_factory.mktemp("prometheus")
    # The configs name their rule files relative to themselves: keep that layout.
    shutil.copytree(PROMETHEUS_DIR, workdir / "prometheus")
    (workdir / "alerts").mkdir()
    shutil.copy(ALERTS_DIR / "ghost-alerts.yml", workdir / "alerts")
    (workdir / "prometheus" / "ghost-targets.json").write_text(
        json.dumps([{"targets": SHARDED_NAMES}]), encoding="utf-8"
    )
    expected_active = {"prometheus.yml": 2, "prometheus-probe.yml": 8, "prometheus-sharded.yml": 23}
    servers = Servers(workdir)
    try:
        started = {
            config: servers.start(
                "prometheus",
                lambda port, config=config: [
                    f"--config.file={workdir / 'prometheus' / config}",
                    f"--storage.tsdb.path={workdir / ('data-' + config)}",
                    f"--web.listen-address=127.0.0.1:{port}",
                ],
                "/-/ready",
            )
            for config in CONFIGS
        }
        result: dict[str, Loaded] = {}
        # Prometheus hands discovered targets to the scrape manager every 5 s.
        deadline = time.monotonic() + 30
        while len(result) < len(CONFIGS) and time.monotonic() < deadline:
            for config, server in started.items():
                active, dropped = _targets(server)
                if config not in result and len(active) >= expected_active[config]:
                    groups = [g["name"] for g in _get(server, "/api/v1/rules")["groups"]]
                    result[config] = Loaded(active, dropped, groups)
            time.sleep(0.2)
        missing = sorted(set(CONFIGS) - set(result))
        assert not missing, "\n".join(started[c].log.read_text() for c in missing)
        yield result
    finally:
        servers.stop()


def _rule_groups() -> list[str]:
    files = (*sorted((PROMETHEUS_DIR / "rules").glob("*.yml")), ALERTS_DIR / "ghost-alerts.yml")
    return [g["name"] for f in files for g in yaml.safe_load(f.read_text())["groups"]]


@pytest.mark.parametrize("config", CONFIGS)
def test_every_config_loads_every_rule_group(loaded: dict[str, Loaded], config: str) -> None:
    assert sorted(loaded[config].groups) == sorted(_rule_groups())


def test_prometheus_yml_scrapes_the_exporter_and_remediate(loaded: dict[str, Loaded]) -> None:
    assert loaded["prometheus.yml"].active == [
        Target("ghost", "127.0.0.1:9798", "http://127.0.0.1:9798/metrics"),
        REMEDIATE,
    ]


def test_probe_config_probes_each_name_through_the_exporter(loaded: dict[str, Loaded]) -> None:
    probe = loaded["prometheus-probe.yml"]
    assert sorted(probe.active, key=lambda t: (t.job, t.instance)) == sorted(
        [
            Target("ghost-probe", name, f"http://127.0.0.1:9798/probe?target={name}")
            for name in PROBE_NAMES
        ]
        + [Target("ghost", "127.0.0.1:9798", "http://127.0.0.1:9798/metrics"), REMEDIATE],
        key=lambda t: (t.job, t.instance),
    )
    assert probe.dropped == 0


def test_sharded_config_gives_each_name_to_exactly_one_exporter(loaded: dict[str, Loaded]) -> None:
    sharded = loaded["prometheus-sharded.yml"]
    probes = [t for t in sharded.active if t.job.startswith("ghost-probe-shard-")]
    assert Counter(t.instance for t in probes) == Counter(SHARDED_NAMES)
    exporters = {"ghost-probe-shard-0": "127.0.0.1:9798", "ghost-probe-shard-1": "127.0.0.1:9800"}
    for target in probes:
        assert target.url == f"http://{exporters[target.job]}/probe?target={target.instance}"
        # ghost-exporter's own --probe.shard uses the same hash as this relabeling.
        assert f"ghost-probe-shard-{shard_of(target.instance, 2)}" == target.job
    # Both shards get a share, and each shard's job dropped the other's names.
    assert {t.job for t in probes} == set(exporters)
    assert sharded.dropped == len(SHARDED_NAMES)
    assert sorted(t.instance for t in sharded.active if t.job == "ghost") == [
        "127.0.0.1:9798",
        "127.0.0.1:9800",
    ]
    assert [t for t in sharded.active if t.job == "ghost-remediate"] == [REMEDIATE]


def test_probe_lists_name_every_configured_target() -> None:
    """The /probe configs list every service, daemon and reporter of examples/ghost.yml."""
    example = yaml.safe_load((PROMETHEUS_DIR.parent / "examples" / "ghost.yml").read_text())
    probed = [*example["services"], *example["daemons"], *example.get("reporters", [])]
    configured = sorted(t["name"] for t in probed)
    assert sorted(PROBE_NAMES) == configured
    probe = yaml.safe_load((PROMETHEUS_DIR / "prometheus-probe.yml").read_text())
    jobs = {job["job_name"]: job for job in probe["scrape_configs"]}
    listed = [t for s in jobs["ghost-probe"]["static_configs"] for t in s["targets"]]
    assert sorted(listed) == configured
    files = json.loads((PROMETHEUS_DIR / "ghost-targets.json").read_text())
    assert sorted(t for group in files for t in group["targets"]) == configured
