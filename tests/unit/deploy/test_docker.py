"""docker-compose.yml, Dockerfile and the compose-only configs, checked without Docker."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.support import ROOT, cli, require_tool

PROVISIONING = ROOT / "grafana" / "provisioning"

COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text("utf-8"))
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
PYPROJECT: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
PROMETHEUS_CONFIG: dict[str, Any] = yaml.safe_load(
    (ROOT / "docker" / "prometheus.yml").read_text("utf-8")
)
EXPORTER_CONFIG: dict[str, Any] = yaml.safe_load(
    (ROOT / "examples" / "ghost-compose.yml").read_text("utf-8")
)

#: The ports of the design: demo services, stress daemon, exporter, Prometheus, Alertmanager,
#: Grafana; published on the same host port.
PORTS = {
    "demo": {8787, 8788, 8789},
    "stress": {8790},
    "exporter": {9798},
    "prometheus": {9090},
    "alertmanager": {9093},
    "grafana": {3000},
}
GHOST_SERVICES = ("demo", "stress", "exporter")
#: Where each demo port lives in the compose stack.
HOST_OF_PORT = {8787: "demo", 8788: "demo", 8789: "demo", 8790: "stress"}
#: ghost-remediate's webhook in alerts/alertmanager.yml (loopback, as `make stack` runs it).
REMEDIATE_WEBHOOK = "http://127.0.0.1:9799/webhook"
EXPORTER_FLAGS = ["--config.file=/etc/ghost/ghost.yml", "--web.listen-address=:9798"]


def mounts(service: str) -> dict[str, str]:
    """Container path -> host path (relative to the repository) of a service's bind mounts."""
    found = {}
    for volume in SERVICES[service].get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith("."):
            found[target] = source
    return found


def host_path(service: str, container_path: str) -> Path:
    """The repository path a container path of ``service`` reads, through its bind mounts."""
    path = PurePosixPath(container_path)
    for target, source in sorted(mounts(service).items(), key=lambda item: -len(item[0])):
        if path == PurePosixPath(target) or PurePosixPath(target) in path.parents:
            return ROOT / source / path.relative_to(target)
    raise AssertionError(f"{container_path} is not mounted into {service}")


def published_ports(service: str) -> set[int]:
    ports = set()
    for mapping in SERVICES[service].get("ports", []):
        host, container = str(mapping).split(":")
        assert host == container, mapping
        ports.add(int(container))
    return ports


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text("utf-8").replace("\\\n", " ")
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def instruction(keyword: str) -> list[str]:
    return [rest for key, rest in dockerfile_instructions() if key == keyword]


def test_compose_file_names_the_whole_stack() -> None:
    assert set(SERVICES) == set(PORTS)


@pytest.mark.parametrize("service", sorted(PORTS))
def test_ports_match_the_design(service: str) -> None:
    assert published_ports(service) == PORTS[service]


@pytest.mark.parametrize("service", sorted(PORTS))
def test_every_mounted_host_path_exists(service: str) -> None:
    for target, source in mounts(service).items():
        assert (ROOT / source).exists(), f"{service}: {source} (mounted at {target})"
    for volume in SERVICES[service].get("volumes", []):
        source = volume.split(":")[0]
        if not source.startswith((".", "/")):
            assert source in COMPOSE["volumes"], f"{service}: undeclared volume {source}"


@pytest.mark.parametrize("service", GHOST_SERVICES)
def test_ghost_services_run_a_declared_console_script_of_the_one_image(service: str) -> None:
    config = SERVICES[service]
    assert config["image"] == "ghost-exporter:local"
    assert config["build"]["context"] == "."
    assert config["entrypoint"][0] in PYPROJECT["project"]["scripts"]


def test_ghost_commands_are_the_documented_ones() -> None:
    assert SERVICES["demo"]["entrypoint"] == ["ghost-demo"]
    assert SERVICES["demo"]["command"] == ["--host", "0.0.0.0"]
    assert SERVICES["stress"]["entrypoint"] == ["ghost-stress"]
    assert SERVICES["stress"]["command"] == shlex.split(
        "daemon --rate 5/s --failure-rate 0.002 --listen 0.0.0.0:8790 "
        "--report-to http://demo:8789/api/patches"
    )
    assert SERVICES["exporter"]["entrypoint"] == ["ghost-exporter"]
    assert SERVICES["exporter"]["command"] == EXPORTER_FLAGS
    assert host_path("exporter", "/etc/ghost/ghost.yml") == ROOT / "examples/ghost-compose.yml"


@pytest.mark.parametrize("service", GHOST_SERVICES)
def test_ghost_commands_use_flags_the_clis_accept(service: str) -> None:
    config = SERVICES[service]
    command = [*config["entrypoint"], *config["command"]]
    subcommand = [command[1]] if command[1:2] == ["daemon"] else []
    result = subprocess.run(
        [cli(command[0]), *subcommand, "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    for flag in (arg.split("=")[0] for arg in command[1:] if arg.startswith("--")):
        assert re.search(rf"{re.escape(flag)}\b", result.stdout), f"{service}: {flag}"


def test_compose_exporter_config_validates() -> None:
    result = subprocess.run(
        [cli("ghost-exporter"), "validate", "--config.file=examples/ghost-compose.yml"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("service", "port"), [("demo", 8797), ("stress", 8790)])
def test_demo_and_stress_replace_the_exporter_healthcheck(service: str, port: int) -> None:
    test = SERVICES[service]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    assert f"urlopen('http://127.0.0.1:{port}/-/healthy'" in test[3]


def test_dockerfile_builds_the_exporter_image() -> None:
    assert instruction("FROM") == ["python:3.11-slim"]
    assert len(project_extras(instruction("RUN"))) == 1  # pip install of the project
    assert json.loads(instruction("ENTRYPOINT")[0]) == ["ghost-exporter"]
    assert json.loads(instruction("CMD")[0]) == EXPORTER_FLAGS
    assert instruction("EXPOSE") == ["9798"]


def project_extras(commands: list[str]) -> list[set[str]]:
    """The extras of each ``pip install`` of the project itself (``.`` or ``'.[a,b]'``)."""
    found = []
    for command in commands:
        for part in re.split(r"&&|;|\|\|", command):
            if "pip" not in part:
                continue
            words = shlex.split(part)
            if len(words) > 1 and words[0].endswith("pip") and words[1] == "install":
                for word in words[2:]:
                    spec = re.fullmatch(r"\.(?:\[([^\]]*)\])?", word)
                    if spec is not None:
                        found.append({e.strip() for e in (spec.group(1) or "").split(",") if e})
    return found


def test_the_image_installs_the_extras_of_make_venv_but_dev() -> None:
    """uvloop (the speed extra) runs in the container as in `make run`; test tools do not."""
    makefile = (ROOT / "Makefile").read_text("utf-8").replace("\\\n", " ").splitlines()
    [make] = project_extras([line.strip() for line in makefile])
    [image] = project_extras(instruction("RUN"))
    assert "dev" in make
    assert image == make - {"dev"}
    assert image <= set(PYPROJECT["project"]["optional-dependencies"])


def test_dockerfile_runs_as_a_non_root_user() -> None:
    [user] = instruction("USER")
    assert user not in {"root", "0"}
    assert any("useradd" in run and user in run for run in instruction("RUN"))


def test_dockerfile_healthcheck_asks_healthy_with_python() -> None:
    [healthcheck] = instruction("HEALTHCHECK")
    command = json.loads(healthcheck[healthcheck.index("CMD") + 3 :].strip())
    assert command[:2] == ["python", "-c"]
    assert "urllib.request.urlopen('http://127.0.0.1:9798/-/healthy'" in command[2]
    assert "curl" not in healthcheck
    assert "wget" not in healthcheck


def test_dockerfile_copies_what_pip_install_reads_and_dockerignore_keeps_it() -> None:
    copied = {part.rstrip("/") for copy in instruction("COPY") for part in copy.split()[:-1]}
    package_dirs = set(PYPROJECT["tool"]["setuptools"]["packages"]["find"]["where"])
    assert {"pyproject.toml", PYPROJECT["project"]["readme"], *package_dirs} <= copied
    for path in copied:
        assert not dockerignored(path), path
    assert dockerignored(".venv/bin/python")
    assert dockerignored(".git/HEAD")
    assert dockerignored("exporter/ghost_exporter/__pycache__/cli.cpython-311.pyc")


def dockerignore_pattern(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern: ``*`` and ``?`` stay within a path segment, ``**`` crosses them."""
    regex = ""
    index = 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            regex, index = regex + "(?:.*/)?", index + 3
        elif pattern.startswith("**", index):
            regex, index = regex + ".*", index + 2
        else:
            char = pattern[index]
            regex += {"*": "[^/]*", "?": "[^/]"}.get(char, re.escape(char))
            index += 1
    return re.compile(regex)


def dockerignored(path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = PurePosixPath(path).parts
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for line in (ROOT / ".dockerignore").read_text("utf-8").splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negated = pattern.startswith("!")
        regex = dockerignore_pattern(pattern.removeprefix("!").rstrip("/"))
        if any(regex.fullmatch(candidate) for candidate in candidates):
            ignored = not negated
    return ignored


def test_grafana_mounts_provisioning_and_the_dashboards_at_the_provider_path() -> None:
    provider = yaml.safe_load((PROVISIONING / "dashboards" / "ghost.yml").read_text("utf-8"))
    path = provider["providers"][0]["options"]["path"]
    assert host_path("grafana", "/etc/grafana/provisioning") == ROOT / "grafana/provisioning"
    assert host_path("grafana", path) == ROOT / "grafana/dashboards"
    environment = SERVICES["grafana"]["environment"]
    assert environment["GHOST_PROMETHEUS_URL"] == "http://prometheus:9090"
    home = host_path("grafana", environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"])
    assert home == ROOT / "grafana/dashboards/ghost-overview.json"
    assert home.is_file()


def test_prometheus_scrapes_the_exporter_as_job_ghost() -> None:
    assert host_path("prometheus", "/etc/prometheus/prometheus.yml") == (
        ROOT / "docker/prometheus.yml"
    )
    jobs = {
        job["job_name"]: [t for c in job["static_configs"] for t in c["targets"]]
        for job in PROMETHEUS_CONFIG["scrape_configs"]
    }
    assert jobs["ghost"] == ["exporter:9798"]
    for job, targets in jobs.items():
        for target in targets:
            host, port = target.split(":")
            if host != "localhost":
                assert int(port) in PORTS[host], f"{job}: {target}"
    [alertmanagers] = PROMETHEUS_CONFIG["alerting"]["alertmanagers"]
    assert alertmanagers["static_configs"][0]["targets"] == ["alertmanager:9093"]


def compose_rule_files() -> set[Path]:
    found = set()
    for pattern in PROMETHEUS_CONFIG["rule_files"]:
        directory = host_path("prometheus", str(PurePosixPath(pattern).parent))
        found |= set(directory.glob(PurePosixPath(pattern).name))
    return {path.resolve() for path in found}


def test_prometheus_loads_the_rule_files_of_the_loopback_stack() -> None:
    """The compose config loads what prometheus/prometheus.yml loads, and only rule files."""
    loopback_file = ROOT / "prometheus" / "prometheus.yml"
    loaded = compose_rule_files()
    for path in loaded:
        assert "groups" in (yaml.safe_load(path.read_text("utf-8")) or {}), path
    if loopback_file.is_file():
        loopback = yaml.safe_load(loopback_file.read_text("utf-8"))
        expected = {
            path.resolve()
            for pattern in loopback.get("rule_files", [])
            for path in loopback_file.parent.glob(pattern)
        }
        assert loaded == expected


def test_prometheus_config_and_its_rules_pass_promtool(tmp_path: Path) -> None:
    """promtool checks docker/prometheus.yml with the rule files it names, read from the repo."""
    config = dict(PROMETHEUS_CONFIG)
    config["rule_files"] = [
        str(
            host_path("prometheus", str(PurePosixPath(pattern).parent))
            / PurePosixPath(pattern).name
        )
        for pattern in PROMETHEUS_CONFIG["rule_files"]
    ]
    config_file = tmp_path / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = subprocess.run(
        [require_tool("promtool"), "check", "config", str(config_file)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(compose_rule_files())} rule files found" in result.stdout


def test_alertmanager_config_is_rewritten_for_the_compose_network(tmp_path: Path) -> None:
    """The container's sed script points the webhooks at demo:8789; amtool accepts the result."""
    assert host_path("alertmanager", "/etc/ghost/alerts") == ROOT / "alerts"
    [script] = SERVICES["alertmanager"]["command"]
    assert "cp -R /etc/ghost/alerts /alertmanager/ghost" in script
    assert "--config.file=/alertmanager/ghost/alertmanager.yml" in script
    substitutions = re.findall(r"-e 's#([^#]+)#([^#]+)#g'", script)
    assert ("127\\.0\\.0\\.1:8789", "demo:8789") in substitutions
    text = (ROOT / "alerts" / "alertmanager.yml").read_text("utf-8")
    for pattern, replacement in substitutions:
        text = re.sub(pattern, replacement, text)
    urls = [
        url
        for line in text.splitlines()
        if not line.lstrip().startswith("#")
        for url in re.findall(r"https?://[^\s'\"]+", line)
    ]
    assert urls
    # The compose stack runs no ghost-remediate: there, its receiver's notifications fail (and
    # Alertmanager logs them) while the pages and tickets go out as on loopback.
    assert REMEDIATE_WEBHOOK in urls
    for url in urls:
        if url != REMEDIATE_WEBHOOK:
            assert urlsplit(url).hostname not in {"127.0.0.1", "localhost"}, url
    rewritten = tmp_path / "alertmanager.yml"
    rewritten.write_text(text, encoding="utf-8")
    result = subprocess.run(
        [require_tool("amtool"), "check-config", str(rewritten)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def target_addresses(config: dict[str, Any]) -> dict[str, str]:
    """Target name -> its URL or address."""
    found = {}
    for service in config["services"]:
        kind = next(key for key in ("http", "websocket", "tcp") if key in service)
        found[service["name"]] = service[kind].get("url") or service[kind]["address"]
    for daemon in config.get("daemons", []):
        found[daemon["name"]] = daemon["url"]
    return found


def test_compose_exporter_config_reaches_the_compose_services() -> None:
    addresses = target_addresses(EXPORTER_CONFIG)
    assert set(addresses) == {
        "dual-monitor",
        "telemetry-api",
        "telemetry-ws",
        "status-api",
        "stress",
    }
    for name, address in addresses.items():
        parts = urlsplit(address if "://" in address else "tcp://" + address)
        assert parts.port is not None, name
        assert parts.hostname == HOST_OF_PORT[parts.port], name


def test_compose_exporter_config_is_the_default_one_on_compose_hosts() -> None:
    default_file = ROOT / "examples" / "ghost.yml"
    if not default_file.exists():
        pytest.fail("examples/ghost.yml, the embedded default configuration, is missing")
    text = default_file.read_text("utf-8")
    for port, host in HOST_OF_PORT.items():
        text = re.sub(rf"(?<=//)(127\.0\.0\.1|localhost):{port}\b", f"{host}:{port}", text)
    assert yaml.safe_load(text) == EXPORTER_CONFIG
