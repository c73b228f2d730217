"""The optional parts, each a kustomize Component (so that they combine) with an overlay of
the base and that component alone: sharded, probe-mode, stress and remediation."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from . import base, k8s, sources
from .k8s import (
    EXPORTER,
    EXPORTER_PORT,
    REMEDIATE,
    REMEDIATE_PORT,
    STRESS,
    STRESS_PORT,
)

#: Exporters of the sharded overlay: the StatefulSet's replicas and the N of auto/N.
SHARDS: Final = 3
SHARDS_SERVICE: Final = "ghost-exporter-shards"
#: Interval and timeout of the /probe scrapes, as in prometheus/prometheus-probe.yml.
PROBE_INTERVAL: Final = "30s"
PROBE_TIMEOUT: Final = "10s"
#: The families the /metrics job keeps in probe mode (prometheus/prometheus-probe.yml): the
#: exporter's own health and the pipelines, which stay on its schedule.
PROBE_MODE_KEEP: Final = "ghost_exporter_.*|ghost_pipeline_.*|process_.*"
#: The Deployment ghost-remediate may restart, and nothing else.
RESTART_DEPLOYMENT: Final = "dual-monitor"
TOKEN_SECRET: Final = "ghost-remediate-token"
#: Shorter than the 16 characters ghost-remediate requires: until it is replaced,
#: ghost-remediate refuses to start rather than accept a token that is public.
TOKEN_PLACEHOLDER: Final = "REPLACE-ME"
REMEDIATE_CONFIG_MAP: Final = "ghost-remediate-config"
REMEDIATE_DIR: Final = "/etc/ghost-remediate"
RESTART_SCRIPT: Final = "rollout-restart.py"


def _json_patch(kind: str, name: str, path: str) -> dict[str, Any]:
    group, _, version = {
        "ServiceMonitor": "monitoring.coreos.com/v1",
        "AlertmanagerConfig": "monitoring.coreos.com/v1alpha1",
    }[kind].rpartition("/")
    return {
        "path": path,
        "target": {"group": group, "version": version, "kind": kind, "name": name},
    }


def component(resources: list[str], **more: Any) -> dict[str, Any]:
    return {
        "apiVersion": "kustomize.config.k8s.io/v1alpha1",
        "kind": "Component",
        **({"resources": resources} if resources else {}),
        **more,
    }


# ---------------------------------------------------------------------------------------------
# sharded: a StatefulSet of SHARDS exporters, each --probe.shard=auto/SHARDS


def sharded() -> dict[str, Any]:
    template = base.exporter_template([*base.EXPORTER_ARGS, f"--probe.shard=auto/{SHARDS}"])
    statefulset = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": k8s.metadata(EXPORTER, base.COMPONENT),
        "spec": {
            "serviceName": SHARDS_SERVICE,
            "replicas": SHARDS,
            # Shards are independent: start and replace them all at once.
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": k8s.selector(EXPORTER, base.COMPONENT)},
            "template": template,
        },
    }
    # The governing Service of the StatefulSet (stable pod names in DNS). Its own labels differ
    # from the exporter Service's, so the ServiceMonitor does not scrape the pods twice.
    headless = k8s.service(
        SHARDS_SERVICE, "exporter-shards", EXPORTER_PORT, selects=(EXPORTER, base.COMPONENT)
    )
    headless["spec"]["clusterIP"] = "None"
    delete_deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": EXPORTER, "namespace": k8s.NAMESPACE},
        "$patch": "delete",
    }
    return {
        "kustomization.yaml": component(
            ["statefulset.yaml"], patches=[{"path": "delete-deployment.yaml"}]
        ),
        "statefulset.yaml": [statefulset, headless],
        "delete-deployment.yaml": [delete_deployment],
    }


# ---------------------------------------------------------------------------------------------
# probe-mode: Prometheus schedules /probe?target=NAME through a Probe


def probe() -> dict[str, Any]:
    names = sources.probe_target_names(sources.base_config_text())
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "Probe",
        "metadata": k8s.metadata("ghost", "probes"),
        "spec": {
            "jobName": k8s.PROBE_JOB,
            "interval": PROBE_INTERVAL,
            "scrapeTimeout": PROBE_TIMEOUT,
            # The operator turns each static target into ?target=NAME and the instance label,
            # and sends the scrape to the prober, as prometheus/prometheus-probe.yml relabels.
            "prober": {
                "url": f"{k8s.service_host(EXPORTER)}:{EXPORTER_PORT}",
                "path": "/probe",
                "scheme": "http",
            },
            "targets": {"staticConfig": {"static": names}},
        },
    }


def probe_mode() -> dict[str, Any]:
    keep = [
        {
            "op": "add",
            "path": "/spec/endpoints/0/metricRelabelings",
            "value": [{"sourceLabels": ["__name__"], "regex": PROBE_MODE_KEEP, "action": "keep"}],
        }
    ]
    return {
        "kustomization.yaml": component(
            ["probe.yaml"],
            patches=[_json_patch("ServiceMonitor", EXPORTER, "servicemonitor-keep.yaml")],
        ),
        "probe.yaml": [probe()],
        "servicemonitor-keep.yaml": keep,
    }


# ---------------------------------------------------------------------------------------------
# stress: ghost-stress daemon, and the exporter's daemon target and pipeline through it

STRESS_ADDITIONS: Final = f"""
# The stress component: ghost-stress daemon in the namespace, mirrored by the exporter, and a
# canary through ghost's real-time path (into the daemon, reported to status-api, watched for on
# status-api's WebSocket and event list).
daemons:
  - name: stress
    url: http://{k8s.service_host(STRESS)}:{STRESS_PORT}

pipelines:
  - name: patch-events
    interval: 15s
    deadline: 5s
    emit:
      http:
        url: http://{k8s.service_host(STRESS)}:{STRESS_PORT}/api/canary
        method: POST
        body: '{{"id": "{{{{canary}}}}"}}'
    observe:
      - {{name: status-ws, websocket: {{url: 'ws://{k8s.service_host("status-api")}:8789/ws'}}}}
      - name: status-rest
        http:
          url: 'http://{k8s.service_host("status-api")}:8789/api/patches?limit=100'
          poll: 250ms
"""


def stress_config_text() -> str:
    """The base's ghost.yml with the stress daemon and the pipeline through it."""
    text = sources.base_config_text()
    header = (
        "# Generated by deploy/generate.py (make deploy) from ../../base/ghost.yml: do not edit.\n"
    )
    return header + text.rstrip("\n") + "\n" + STRESS_ADDITIONS


def stress() -> dict[str, Any]:
    component_name = "stress-daemon"
    args = [
        "daemon",
        "--rate",
        "5/s",
        "--failure-rate",
        "0.002",
        "--listen",
        f"0.0.0.0:{STRESS_PORT}",
        "--report-to",
        f"http://{k8s.service_host('status-api')}:8789/api/patches",
    ]
    container = k8s.container(
        "stress", STRESS_PORT, k8s.STRESS_RESOURCES, command=["ghost-stress"], args=args
    )
    template = k8s.pod_template(STRESS, component_name, [container], [], service_account=STRESS)
    return {
        "kustomization.yaml": component(
            ["stress.yaml"],
            configMapGenerator=[
                {
                    "name": base.CONFIG_MAP,
                    "namespace": k8s.NAMESPACE,
                    "behavior": "replace",
                    "files": ["ghost.yml"],
                }
            ],
        ),
        "stress.yaml": [
            k8s.service_account(STRESS, component_name, automount=False),
            k8s.deployment(STRESS, component_name, template),
            k8s.service(STRESS, component_name, STRESS_PORT),
        ],
        "ghost.yml": stress_config_text(),
    }


# ---------------------------------------------------------------------------------------------
# remediation: ghost-remediate, allowed to restart one Deployment, and its Alertmanager route

REMEDIATE_CONFIG: Final = f"""# Generated by deploy/generate.py (make deploy): do not edit.
# ghost-remediate in the cluster: when GhostServiceUnhealthy or GhostServiceDown fires for the
# dual-monitor, restart its Deployment as `kubectl rollout restart` does ({RESTART_SCRIPT},
# with the pod's service account, which may patch that one Deployment and nothing else), then
# wait until the exporter's /probe says it is up and healthy. docs/remediation.md describes
# every key; docs/kubernetes.md the overlay.

# The token Alertmanager sends (AlertmanagerConfig receiver ghost-remediate), from the Secret
# {TOKEN_SECRET}: replace its placeholder first (docs/kubernetes.md).
auth:
  bearer_token: !file ../secret/token

verify:
  probe_url: http://{k8s.service_host(EXPORTER)}:{EXPORTER_PORT}/probe
  timeout: 120s
  interval: 2s
  request_timeout: 5s

defaults:
  cooldown: 10m
  max_attempts: 3
  window: 1h

max_actions_per_hour: 10

rules:
  - name: restart-{RESTART_DEPLOYMENT}
    match:
      service: {RESTART_DEPLOYMENT}
    match_re:
      alertname: GhostServiceUnhealthy|GhostServiceDown
    placeholders:
      service:
        pattern: ^[a-z][a-z0-9-]{{0,62}}$
    action:
      command:
        argv: [python3, {REMEDIATE_DIR}/config/{RESTART_SCRIPT}, "{{service}}"]
        timeout: 30s
"""


def restart_script() -> str:
    return (Path(__file__).parent / "rollout_restart.py").read_text(encoding="utf-8")


def remediation() -> dict[str, Any]:
    component_name = "remediation"
    mounts = [
        {"name": "config", "mountPath": f"{REMEDIATE_DIR}/config", "readOnly": True},
        {"name": "secret", "mountPath": f"{REMEDIATE_DIR}/secret", "readOnly": True},
    ]
    container = k8s.container(
        "remediate",
        REMEDIATE_PORT,
        k8s.REMEDIATE_RESOURCES,
        command=["ghost-remediate"],
        args=[
            f"--config.file={REMEDIATE_DIR}/config/remediate.yml",
            f"--web.listen-address=:{REMEDIATE_PORT}",
        ],
        mounts=mounts,
    )
    volumes = [
        {"name": "config", "configMap": {"name": REMEDIATE_CONFIG_MAP}},
        {"name": "secret", "secret": {"secretName": TOKEN_SECRET}},
    ]
    template = k8s.pod_template(
        REMEDIATE,
        component_name,
        [container],
        volumes,
        service_account=REMEDIATE,
        automount_token=True,  # the restart script talks to the API server with it
    )
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": k8s.metadata(f"{REMEDIATE}-restart", component_name),
        # `kubectl rollout restart` is one patch of the pod template; the script sends only
        # that, so patch on the one Deployment is all it may do (not get, list or delete).
        "rules": [
            {
                "apiGroups": ["apps"],
                "resources": ["deployments"],
                "resourceNames": [RESTART_DEPLOYMENT],
                "verbs": ["patch"],
            }
        ],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": k8s.metadata(f"{REMEDIATE}-restart", component_name),
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": f"{REMEDIATE}-restart",
        },
        "subjects": [{"kind": "ServiceAccount", "name": REMEDIATE, "namespace": k8s.NAMESPACE}],
    }
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": k8s.metadata(TOKEN_SECRET, component_name),
        "type": "Opaque",
        "stringData": {"token": TOKEN_PLACEHOLDER},
    }
    receiver = base.webhook_receiver(
        next(
            r for r in sources.alertmanager()["receivers"] if r["name"] == base.REMEDIATE_RECEIVER
        ),
        {"name": TOKEN_SECRET, "key": "token"},
    )
    receiver["webhookConfigs"][0]["url"] = (
        f"http://{k8s.service_host(REMEDIATE)}:{REMEDIATE_PORT}/webhook"
    )
    route_patch = [
        {"op": "add", "path": "/spec/route/routes/0", "value": base.remediate_route()},
        {"op": "add", "path": "/spec/receivers/-", "value": receiver},
    ]
    return {
        "kustomization.yaml": component(
            ["remediate.yaml"],
            configMapGenerator=[
                {
                    "name": REMEDIATE_CONFIG_MAP,
                    # In the namespace of the Deployment that mounts it: kustomize then puts
                    # the generated name (with its hash) into the Deployment.
                    "namespace": k8s.NAMESPACE,
                    "files": ["remediate.yml", RESTART_SCRIPT],
                    "options": {"labels": k8s.labels(REMEDIATE, "config")},
                }
            ],
            patches=[_json_patch("AlertmanagerConfig", "ghost", "alertmanagerconfig-route.yaml")],
        ),
        "remediate.yaml": [
            k8s.service_account(REMEDIATE, component_name, automount=True),
            role,
            binding,
            secret,
            k8s.deployment(REMEDIATE, component_name, template),
            k8s.service(REMEDIATE, component_name, REMEDIATE_PORT),
            k8s.service_monitor(REMEDIATE, component_name, k8s.REMEDIATE_JOB),
        ],
        "alertmanagerconfig-route.yaml": route_patch,
        "remediate.yml": REMEDIATE_CONFIG,
        RESTART_SCRIPT: restart_script(),
    }


COMPONENTS: Final = {
    "sharded": sharded,
    "probe-mode": probe_mode,
    "stress": stress,
    "remediation": remediation,
}


def overlay(name: str) -> dict[str, Any]:
    return {
        "kustomization.yaml": {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": ["../../base"],
            "components": [f"../../components/{name}"],
        }
    }
