"""Every label selector selects what it is meant to, every name refers to an object that
exists, in every overlay: Services and workloads -> pod labels, ServiceMonitors -> Service
labels and port names, RoleBinding -> Role and ServiceAccount, volumes -> ConfigMaps and
Secrets, probes -> container ports, the Probe -> the exporter's Service."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml

from ghost_deploy import k8s, overlays

from .conftest import KUBE_DIR, all_assembled

WORKLOADS = {"Deployment", "StatefulSet"}


def _by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def _pods(objects: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(workload, its pod template) of every Deployment and StatefulSet."""
    for obj in objects:
        if obj["kind"] in WORKLOADS:
            yield obj, obj["spec"]["template"]


def test_workload_selectors_select_their_own_pods(object_sets: dict[str, list[Any]]) -> None:
    for overlay, objects in object_sets.items():
        for workload, template in _pods(objects):
            selector = workload["spec"]["selector"]["matchLabels"]
            assert selector, (overlay, workload["metadata"]["name"])
            assert _matches(selector, template["metadata"]["labels"]), overlay


def test_every_service_selects_exactly_one_workload(object_sets: dict[str, list[Any]]) -> None:
    for overlay, objects in object_sets.items():
        for service in _by_kind(objects, "Service"):
            selected = [
                workload
                for workload, template in _pods(objects)
                if _matches(service["spec"]["selector"], template["metadata"]["labels"])
            ]
            name = f"{overlay}: Service {service['metadata']['name']}"
            assert len(selected) == 1, f"{name} selects {len(selected)} workloads"
            ports = {
                port["name"]
                for container in selected[0]["spec"]["template"]["spec"]["containers"]
                for port in container["ports"]
            }
            for port in service["spec"]["ports"]:
                assert port["targetPort"] in ports, name


def test_every_service_monitor_selects_one_service_by_labels_and_port(
    object_sets: dict[str, list[Any]],
) -> None:
    for overlay, objects in object_sets.items():
        for monitor in _by_kind(objects, "ServiceMonitor"):
            selector = monitor["spec"]["selector"]["matchLabels"]
            services = [
                s
                for s in _by_kind(objects, "Service")
                if _matches(selector, s["metadata"]["labels"])
            ]
            name = f"{overlay}: ServiceMonitor {monitor['metadata']['name']}"
            # One Service, so that no pod is scraped twice (the sharded overlay's headless
            # Service selects the same pods under other labels).
            assert len(services) == 1, f"{name} selects {len(services)} Services"
            port_names = {port["name"] for port in services[0]["spec"]["ports"]}
            for endpoint in monitor["spec"]["endpoints"]:
                assert endpoint["port"] in port_names, name


def test_the_exporter_job_is_the_one_the_alerts_expect(object_sets: dict[str, list[Any]]) -> None:
    alerts = (k8s.sources.ALERTS_FILE).read_text("utf-8")
    assert f'up{{job="{k8s.EXPORTER_JOB}"}}' in alerts
    for objects in object_sets.values():
        (monitor,) = [
            m for m in _by_kind(objects, "ServiceMonitor") if m["metadata"]["name"] == k8s.EXPORTER
        ]
        relabel = monitor["spec"]["endpoints"][0]["relabelings"]
        assert {"action": "replace", "targetLabel": "job", "replacement": "ghost"} in relabel


def test_role_bindings_bind_existing_roles_and_service_accounts(
    object_sets: dict[str, list[Any]],
) -> None:
    for overlay, objects in object_sets.items():
        roles = {r["metadata"]["name"] for r in _by_kind(objects, "Role")}
        accounts = {
            (a["metadata"]["namespace"], a["metadata"]["name"])
            for a in _by_kind(objects, "ServiceAccount")
        }
        for binding in _by_kind(objects, "RoleBinding"):
            assert binding["roleRef"]["kind"] == "Role"
            assert binding["roleRef"]["name"] in roles, overlay
            for subject in binding["subjects"]:
                assert subject["kind"] == "ServiceAccount"
                assert (subject["namespace"], subject["name"]) in accounts, overlay


def test_pods_use_existing_service_accounts_config_maps_and_secrets(
    object_sets: dict[str, list[Any]],
) -> None:
    for overlay, objects in object_sets.items():
        accounts = {a["metadata"]["name"] for a in _by_kind(objects, "ServiceAccount")}
        maps = {m["metadata"]["name"] for m in _by_kind(objects, "ConfigMap")}
        secrets = {s["metadata"]["name"] for s in _by_kind(objects, "Secret")}
        for workload, template in _pods(objects):
            spec = template["spec"]
            where = f"{overlay}: {workload['kind']} {workload['metadata']['name']}"
            assert spec["serviceAccountName"] in accounts, where
            for volume in spec["volumes"]:
                if "configMap" in volume:
                    assert volume["configMap"]["name"] in maps, where
                if "secret" in volume:
                    assert volume["secret"]["secretName"] in secrets, where
            volume_names = {v["name"] for v in spec["volumes"]}
            for container in spec["containers"]:
                for mount in container["volumeMounts"]:
                    assert mount["name"] in volume_names, where


def test_generated_config_map_names_reach_the_pods(rendered: dict[str, list[Any]]) -> None:
    """kustomize appends a hash to generated ConfigMaps and rewrites the references to them:
    only within one namespace, so every workload must end up with the hashed name."""
    for overlay, objects in rendered.items():
        maps = {m["metadata"]["name"] for m in _by_kind(objects, "ConfigMap")}
        for _workload, template in _pods(objects):
            for volume in template["spec"]["volumes"]:
                if "configMap" in volume:
                    name = volume["configMap"]["name"]
                    assert name in maps, overlay
                    if name.startswith(("ghost-exporter-config", "ghost-remediate-config")):
                        assert re.fullmatch(r".*-[a-z0-9]{10}", name), (overlay, name)


def test_probes_use_the_containers_named_port(object_sets: dict[str, list[Any]]) -> None:
    for objects in object_sets.values():
        for _workload, template in _pods(objects):
            for container in template["spec"]["containers"]:
                ports = {p["name"] for p in container["ports"]}
                for probe in ("livenessProbe", "readinessProbe"):
                    assert container[probe]["httpGet"]["port"] in ports


def test_the_probe_scrapes_the_exporter_service() -> None:
    objects = all_assembled()["probe-mode"]
    (probe,) = _by_kind(objects, "Probe")
    host, port = probe["spec"]["prober"]["url"].rsplit(":", 1)
    name, namespace, svc = host.split(".")
    assert svc == "svc"
    (service,) = [s for s in _by_kind(objects, "Service") if s["metadata"]["name"] == name]
    assert service["metadata"]["namespace"] == namespace
    assert int(port) in {p["port"] for p in service["spec"]["ports"]}
    assert probe["spec"]["prober"]["path"] == "/probe"


def test_the_probe_names_every_probeable_target_of_the_config() -> None:
    """prometheus/prometheus-probe.yml lists services, daemons and reporters, not pipelines."""
    (probe,) = _by_kind(all_assembled()["probe-mode"], "Probe")
    config = yaml.safe_load((KUBE_DIR / "base" / "ghost.yml").read_text("utf-8"))
    names = [t["name"] for key in ("services", "daemons", "reporters") for t in config.get(key, [])]
    assert probe["spec"]["targets"]["staticConfig"]["static"] == names
    reference = yaml.safe_load(
        (k8s.sources.ROOT / "prometheus" / "prometheus-probe.yml").read_text()
    )
    (job,) = [j for j in reference["scrape_configs"] if j["job_name"] == probe["spec"]["jobName"]]
    assert probe["spec"]["interval"] == job["scrape_interval"]
    assert probe["spec"]["scrapeTimeout"] == job["scrape_timeout"]
    (keep,) = [
        m
        for m in _by_kind(all_assembled()["probe-mode"], "ServiceMonitor")[0]["spec"]["endpoints"][
            0
        ]["metricRelabelings"]
    ]
    (metrics_job,) = [j for j in reference["scrape_configs"] if j["job_name"] == "ghost"]
    assert keep["regex"] == metrics_job["metric_relabel_configs"][0]["regex"]


def test_sharded_replicas_match_the_shard_count() -> None:
    from ghost_exporter.shard import Shard

    objects = all_assembled()["sharded"]
    assert _by_kind(objects, "Deployment") == []
    (statefulset,) = _by_kind(objects, "StatefulSet")
    replicas = statefulset["spec"]["replicas"]
    assert replicas == overlays.SHARDS
    (arg,) = [
        a
        for a in statefulset["spec"]["template"]["spec"]["containers"][0]["args"]
        if a.startswith("--probe.shard=")
    ]
    value = arg.removeprefix("--probe.shard=")
    name = statefulset["metadata"]["name"]
    # The pods' host names are NAME-0 ... NAME-(replicas-1): each gets its own shard, and
    # one more replica would be refused.
    shards = [Shard.parse(value, (f"{name}-{i}", "the host name")) for i in range(replicas)]
    assert [s.index for s in shards] == list(range(replicas))
    assert {s.count for s in shards} == {replicas}
    headless = [s for s in _by_kind(objects, "Service") if s["spec"].get("clusterIP") == "None"]
    assert [s["metadata"]["name"] for s in headless] == [statefulset["spec"]["serviceName"]]
