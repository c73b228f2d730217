"""The dashboard ConfigMaps carry grafana/dashboards/*.json for Grafana's sidecar; the
AlertmanagerConfig carries the routes, receivers and inhibitions of alerts/alertmanager.yml."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from ghost_deploy import base, sources
from tests.support import require_tool

from .conftest import all_assembled

SNAKE = {
    "groupBy": "group_by",
    "groupWait": "group_wait",
    "groupInterval": "group_interval",
    "repeatInterval": "repeat_interval",
}


def test_one_labelled_config_map_per_dashboard() -> None:
    maps = [
        m
        for m in all_assembled()["base"]
        if m["kind"] == "ConfigMap" and m["metadata"]["labels"].get("grafana_dashboard") == "1"
    ]
    files = sorted(p.name for p in sources.DASHBOARDS_DIR.glob("*.json"))
    assert sorted(name for m in maps for name in m["data"]) == files
    for config_map in maps:
        ((name, text),) = config_map["data"].items()
        committed = json.loads((sources.DASHBOARDS_DIR / name).read_text("utf-8"))
        shipped = json.loads(text)
        # The same dashboard; only the datasource variable's default differs.
        for document in (committed, shipped):
            for variable in document["templating"]["list"]:
                if variable["name"] == "datasource":
                    current = variable.pop("current")
                    if document is shipped:
                        assert current["value"] == base.DATASOURCE_UID
        assert shipped == committed
        # A ConfigMap holds at most 1 MiB; client-side `kubectl apply` keeps a copy in an
        # annotation of at most 256 KiB.
        assert len(text.encode()) < 256 * 1024, name


def _matcher(m: dict[str, str]) -> str:
    return f'{m["name"]}{m["matchType"]}"{m["value"]}"'


def _route(route: dict[str, Any]) -> dict[str, Any]:
    """A route of the CRD back in alertmanager.yml's terms."""
    back: dict[str, Any] = {}
    for key, value in route.items():
        if key == "matchers":
            back["matchers"] = [_matcher(m) for m in value]
        elif key == "routes":
            back["routes"] = [_route(r) for r in value]
        else:
            back[SNAKE.get(key, key)] = value
    return back


def _alertmanager_yml(config: dict[str, Any]) -> dict[str, Any]:
    spec = config["spec"]
    return {
        "route": _route(spec["route"]),
        "receivers": [r["name"] for r in spec["receivers"]],
        "inhibit_rules": [
            {
                "source_matchers": [_matcher(m) for m in rule["sourceMatch"]],
                "target_matchers": [_matcher(m) for m in rule["targetMatch"]],
                "equal": rule["equal"],
            }
            for rule in spec["inhibitRules"]
        ],
    }


def _source(without_remediate: bool) -> dict[str, Any]:
    source = sources.alertmanager()
    if without_remediate:
        source["route"]["routes"] = [
            r for r in source["route"]["routes"] if r["receiver"] != "ghost-remediate"
        ]
        source["receivers"] = [r for r in source["receivers"] if r["name"] != "ghost-remediate"]
    return {
        "route": source["route"],
        "receivers": [r["name"] for r in source["receivers"]],
        "inhibit_rules": source["inhibit_rules"],
    }


def _config(overlay: str) -> dict[str, Any]:
    (config,) = [o for o in all_assembled()[overlay] if o["kind"] == "AlertmanagerConfig"]
    return config


def test_the_base_has_every_route_but_ghost_remediate() -> None:
    assert _alertmanager_yml(_config("base")) == _source(without_remediate=True)


def test_the_remediation_overlay_has_every_route() -> None:
    assert _alertmanager_yml(_config("remediation")) == _source(without_remediate=False)
    assert _alertmanager_yml(_config("combined")) == _source(without_remediate=False)


def test_webhooks_go_to_services_of_the_cluster() -> None:
    config = _config("remediation")
    urls = {r["name"]: [w["url"] for w in r["webhookConfigs"]] for r in config["spec"]["receivers"]}
    assert urls == {
        "ghost-critical": ["http://status-api.ghost.svc:8789/api/alerts/ghost-critical"],
        "ghost-warning": ["http://status-api.ghost.svc:8789/api/alerts/ghost-warning"],
        "ghost-remediate": ["http://ghost-remediate.ghost.svc:9799/webhook"],
    }
    (remediate,) = [r for r in config["spec"]["receivers"] if r["name"] == "ghost-remediate"]
    authorization = remediate["webhookConfigs"][0]["httpConfig"]["authorization"]
    assert authorization == {
        "type": "Bearer",
        "credentials": {"name": "ghost-remediate-token", "key": "token"},
    }
    secrets = [o for o in all_assembled()["remediation"] if o["kind"] == "Secret"]
    assert [(s["metadata"]["name"], list(s["stringData"])) for s in secrets] == [
        ("ghost-remediate-token", ["token"])
    ]


def test_the_converted_routing_passes_amtool(tmp_path: Path) -> None:
    """The AlertmanagerConfig turned back into an Alertmanager file routes as the original."""
    amtool = require_tool("amtool")
    spec = _config("remediation")["spec"]
    converted = _alertmanager_yml(_config("remediation"))
    converted["receivers"] = [
        {"name": r["name"], "webhook_configs": [{"url": w["url"]} for w in r["webhookConfigs"]]}
        for r in spec["receivers"]
    ]
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(converted, sort_keys=False), "utf-8")
    checked = subprocess.run(
        [amtool, "check-config", str(path)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for labels in (
        ["alertname=GhostServiceDown", "severity=critical", "service=dual-monitor"],
        ["alertname=GhostProbeLatencyHigh", "severity=warning", "service=x"],
        ["alertname=Other"],
    ):
        decisions = []
        for file in (path, sources.ALERTMANAGER_FILE):
            result = subprocess.run(
                [amtool, "config", "routes", "test", f"--config.file={file}", *labels],
                capture_output=True,
                text=True,
                check=False,
            )
            decisions.append(re.sub(r"\s+", " ", result.stdout).strip())
        assert decisions[0] == decisions[1], labels
        assert decisions[0], labels
