"""The kustomize base: the exporter, its Service, config and ServiceMonitor, the
PrometheusRule, the dashboards for Grafana's sidecar and the AlertmanagerConfig."""

from __future__ import annotations

import json
import re
from typing import Any, Final

from . import k8s, sources
from .k8s import EXPORTER, EXPORTER_PORT, NAMESPACE

COMPONENT: Final = "exporter"
CONFIG_MAP: Final = "ghost-exporter-config"
CONFIG_DIR: Final = "/etc/ghost"
EXPORTER_ARGS: Final = [
    f"--config.file={CONFIG_DIR}/ghost.yml",
    f"--web.listen-address=:{EXPORTER_PORT}",
]
#: The label kube-prometheus's Grafana sidecar loads dashboards from.
DASHBOARD_LABEL: Final = {"grafana_dashboard": "1"}
#: The uid the dashboards' `datasource` variable selects: kube-prometheus-stack provisions its
#: Prometheus datasource with this uid (docs/kubernetes.md: how to point it elsewhere).
DATASOURCE_UID: Final = "prometheus"
DATASOURCE_NAME: Final = "Prometheus"
#: The demo's webhook sinks (alerts/alertmanager.yml posts to ghost-demo's status-api on
#: loopback); in the cluster that service is status-api in the namespace.
LOOPBACK_STATUS_API = re.compile(r"^http://(?:127\.0\.0\.1|localhost):8789/")
STATUS_API_URL: Final = f"http://{k8s.service_host('status-api')}:8789/"


def exporter_container(args: list[str]) -> dict[str, Any]:
    return k8s.container(
        "exporter",
        EXPORTER_PORT,
        k8s.EXPORTER_RESOURCES,
        args=args,
        mounts=[{"name": "config", "mountPath": CONFIG_DIR, "readOnly": True}],
    )


def exporter_template(args: list[str]) -> dict[str, Any]:
    return k8s.pod_template(
        EXPORTER,
        COMPONENT,
        [exporter_container(args)],
        [{"name": "config", "configMap": {"name": CONFIG_MAP}}],
        service_account=EXPORTER,
    )


def namespace() -> dict[str, Any]:
    """The namespace, enforcing the restricted Pod Security Standard its pods meet."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": NAMESPACE,
            "labels": {
                "app.kubernetes.io/part-of": k8s.PART_OF,
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
            },
        },
    }


def prometheus_rule() -> dict[str, Any]:
    """Exactly the groups of prometheus/rules/*.yml and alerts/ghost-alerts.yml."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": k8s.metadata("ghost", "rules"),
        "spec": {"groups": sources.rule_groups()},
    }


def dashboard_json(dashboard: dict[str, Any]) -> str:
    """The dashboard as committed, its `datasource` variable defaulting to DATASOURCE_UID."""
    document = json.loads(json.dumps(dashboard))
    for variable in document.get("templating", {}).get("list", []):
        if variable.get("type") == "datasource" and variable.get("name") == "datasource":
            variable["current"] = {
                "selected": True,
                "text": DATASOURCE_NAME,
                "value": DATASOURCE_UID,
            }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def dashboard_config_maps() -> list[dict[str, Any]]:
    maps = []
    for filename, dashboard in sources.dashboards().items():
        name = filename.removesuffix(".json")
        meta = k8s.metadata(f"{name}-dashboard", "dashboards")
        meta["labels"] |= DASHBOARD_LABEL
        maps.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": meta,
                "data": {filename: dashboard_json(dashboard)},
            }
        )
    return maps


def _matchers(texts: list[str]) -> list[dict[str, str]]:
    """Alertmanager's matcher strings (`name=~"value"`) as the CRD's matchers."""
    found = []
    for text in texts:
        match = re.fullmatch(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"(.*)"\s*', text)
        if match is None:
            raise ValueError(
                f'{sources.ALERTMANAGER_FILE}: matcher {text!r} is not name<op>"value"'
            )
        name, op, value = match.groups()
        found.append({"name": name, "matchType": op, "value": value})
    return found


_ROUTE_KEYS: Final = {
    "receiver": "receiver",
    "group_by": "groupBy",
    "group_wait": "groupWait",
    "group_interval": "groupInterval",
    "repeat_interval": "repeatInterval",
    "continue": "continue",
}


def route(source: dict[str, Any]) -> dict[str, Any]:
    """One route of alertmanager.yml in the CRD's terms (matchers as objects, camelCase)."""
    converted: dict[str, Any] = {}
    for key, value in source.items():
        if key == "matchers":
            converted["matchers"] = _matchers(value)
        elif key == "routes":
            converted["routes"] = [route(child) for child in value]
        elif key in _ROUTE_KEYS:
            converted[_ROUTE_KEYS[key]] = value
        else:
            raise ValueError(f"{sources.ALERTMANAGER_FILE}: route key {key!r} is not converted")
    return converted


def webhook_receiver(source: dict[str, Any], credentials: dict[str, str] | None) -> dict[str, Any]:
    """A receiver of webhooks; ``credentials`` (a Secret's name and key) replace a
    ``credentials_file``."""
    configs = []
    for webhook in source["webhook_configs"]:
        config: dict[str, Any] = {
            "url": LOOPBACK_STATUS_API.sub(STATUS_API_URL, webhook["url"]),
            "sendResolved": webhook.get("send_resolved", True),
        }
        if "http_config" in webhook:
            if credentials is None:
                raise ValueError(f"{source['name']}: http_config needs credentials")
            authorization = webhook["http_config"]["authorization"]
            config["httpConfig"] = {
                "authorization": {"type": authorization["type"], "credentials": credentials}
            }
        configs.append(config)
    return {"name": source["name"], "webhookConfigs": configs}


#: The receiver and route that only exist with the remediation overlay.
REMEDIATE_RECEIVER: Final = "ghost-remediate"


def routes_without(receiver: str) -> list[dict[str, Any]]:
    return [r for r in sources.alertmanager()["route"]["routes"] if r["receiver"] != receiver]


def remediate_route() -> dict[str, Any]:
    (found,) = [
        r for r in sources.alertmanager()["route"]["routes"] if r["receiver"] == REMEDIATE_RECEIVER
    ]
    return route(found)


def alertmanager_config() -> dict[str, Any]:
    """The routes, receivers and inhibitions of alerts/alertmanager.yml that the CRD expresses
    (docs/kubernetes.md lists what it cannot); ghost-remediate's route and receiver come with
    the remediation overlay."""
    source = sources.alertmanager()
    top = {k: v for k, v in source["route"].items() if k != "routes"}
    spec_route = route(top)
    spec_route["routes"] = [route(r) for r in routes_without(REMEDIATE_RECEIVER)]
    receivers = [
        webhook_receiver(r, None) for r in source["receivers"] if r["name"] != REMEDIATE_RECEIVER
    ]
    inhibit = [
        {
            "sourceMatch": _matchers(rule["source_matchers"]),
            "targetMatch": _matchers(rule["target_matchers"]),
            "equal": rule["equal"],
        }
        for rule in source.get("inhibit_rules", [])
    ]
    return {
        "apiVersion": "monitoring.coreos.com/v1alpha1",
        "kind": "AlertmanagerConfig",
        "metadata": k8s.metadata("ghost", "alerting"),
        "spec": {"route": spec_route, "receivers": receivers, "inhibitRules": inhibit},
    }


def files() -> dict[str, Any]:
    """File name (relative to base/) -> objects, or text for ghost.yml's kustomization."""
    exporter = k8s.deployment(EXPORTER, COMPONENT, exporter_template(EXPORTER_ARGS))
    return {
        "namespace.yaml": [namespace()],
        "exporter.yaml": [
            k8s.service_account(EXPORTER, COMPONENT, automount=False),
            exporter,
            k8s.service(EXPORTER, COMPONENT, EXPORTER_PORT),
        ],
        "servicemonitor.yaml": [k8s.service_monitor(EXPORTER, COMPONENT, k8s.EXPORTER_JOB)],
        "prometheusrule.yaml": [prometheus_rule()],
        "dashboards.yaml": dashboard_config_maps(),
        "alertmanagerconfig.yaml": [alertmanager_config()],
    }


def kustomization(resources: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": NAMESPACE,
        "resources": resources,
        # A changed ghost.yml gets a new ConfigMap name, so the exporter rolls out with it.
        "configMapGenerator": [
            {
                "name": CONFIG_MAP,
                "namespace": NAMESPACE,
                "files": ["ghost.yml"],
                "options": {"labels": k8s.labels(EXPORTER, "config")},
            }
        ],
    }
