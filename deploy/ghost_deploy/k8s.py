"""Building blocks of the manifests: names, labels, the hardened pod and container, resources.

Every container runs as the image's non-root user with a read-only root file system, no
privilege escalation, no capability and the runtime's default seccomp profile: the pods meet the
``restricted`` Pod Security Standard, which the namespace enforces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from . import sources

NAMESPACE: Final = "ghost"
#: The image the Dockerfile builds (docker-compose.yml tags it ghost-exporter:local); one image
#: for the exporter, the stress daemon and ghost-remediate, tagged with the project's version.
IMAGE: Final = f"ghost-exporter:{sources.version()}"
#: The user of the Dockerfile (useradd --uid 10001 --user-group).
USER_ID: Final = 10001
PART_OF: Final = "ghost"

EXPORTER: Final = "ghost-exporter"
EXPORTER_PORT: Final = 9798
STRESS: Final = "ghost-stress"
STRESS_PORT: Final = 8790
REMEDIATE: Final = "ghost-remediate"
REMEDIATE_PORT: Final = 9799
#: The job the alert rules and dashboards expect for the exporter's /metrics (up{job="ghost"}).
EXPORTER_JOB: Final = "ghost"
#: The job of /probe scrapes, as in prometheus/prometheus-probe.yml.
PROBE_JOB: Final = "ghost-probe"
REMEDIATE_JOB: Final = "ghost-remediate"


def service_host(name: str) -> str:
    """The in-cluster DNS name of a Service of the namespace."""
    return f"{name}.{NAMESPACE}.svc"


@dataclass(frozen=True)
class Resources:
    """Requests and limits of one container (the comment above each says from which figures)."""

    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str

    def spec(self) -> dict[str, Any]:
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


#: docs/performance.md, `make bench` of 30 November 2026 (medians, ranges): 1,000 HTTP targets
#: at 15 s use 0.0399 of a core (0.0379-0.0425) and 87.7 MB RSS (87.7-87.8): the requests, with
#: room; 10,000 targets use 0.367 of a core (0.356-0.402) and 229 MB RSS (229-230): the limits,
#: with room for a gzip scrape (149 ms of CPU per scrape at 10,000 targets).
EXPORTER_RESOURCES: Final = Resources(
    cpu_request="50m",
    memory_request="96Mi",
    cpu_limit="500m",
    memory_limit="256Mi",
)
#: docs/reliability.md (stress daemon under abuse): 39 MB RSS idle, 59 MB with 1,000 WebSocket
#: clients at 100 patches/s; docs/stress.md: 147,893 simulated patches/s on one core, so the
#: 5 patches/s of the overlay cost next to nothing: CPU for /api/status and /ws.
STRESS_RESOURCES: Final = Resources(
    cpu_request="25m",
    memory_request="48Mi",
    cpu_limit="250m",
    memory_limit="128Mi",
)
#: ghost-remediate has no bench of its own: measured with the remediation component's config
#: (docs/kubernetes.md): 68.0 MB RSS once listening (68.0-68.1, 3 starts), and 19.6 MB peak RSS
#: of one run of the restart script (3 runs), its child: the request holds the first, the limit
#: both with room. It idles between alerts.
REMEDIATE_RESOURCES: Final = Resources(
    cpu_request="10m",
    memory_request="80Mi",
    cpu_limit="250m",
    memory_limit="128Mi",
)


def labels(name: str, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
    }


def selector(name: str, component: str) -> dict[str, str]:
    """The labels a Service or a workload selects pods by (a subset of :func:`labels`)."""
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/component": component}


def metadata(name: str, component: str) -> dict[str, Any]:
    """A namespaced object's metadata. The namespace is written out (not only set by the
    kustomization) so that kustomize matches the components' references to the base's
    generated ConfigMaps, which it only does within one namespace."""
    return {"name": name, "namespace": NAMESPACE, "labels": labels(name, component)}


def container_security() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pod_security() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": USER_ID,
        "runAsGroup": USER_ID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container(
    name: str,
    port: int,
    resources: Resources,
    *,
    command: list[str] | None = None,
    args: list[str],
    mounts: list[dict[str, Any]] | None = None,
    env: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A container of the image: one HTTP port named ``http``, liveness on /-/healthy and
    readiness on /-/ready, hardened, a writable /tmp."""
    spec: dict[str, Any] = {"name": name, "image": IMAGE, "imagePullPolicy": "IfNotPresent"}
    if command is not None:
        spec["command"] = command
    spec["args"] = args
    if env:
        spec["env"] = env
    spec |= {
        "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
        "livenessProbe": {
            "httpGet": {"path": "/-/healthy", "port": "http"},
            "initialDelaySeconds": 5,
            "periodSeconds": 15,
            "timeoutSeconds": 5,
            "failureThreshold": 3,
        },
        "readinessProbe": {
            "httpGet": {"path": "/-/ready", "port": "http"},
            "periodSeconds": 5,
            "timeoutSeconds": 5,
            "failureThreshold": 3,
        },
        "resources": resources.spec(),
        "securityContext": container_security(),
        "volumeMounts": [*(mounts or []), {"name": "tmp", "mountPath": "/tmp"}],
    }
    return spec


def pod_template(
    name: str,
    component: str,
    containers: list[dict[str, Any]],
    volumes: list[dict[str, Any]],
    *,
    service_account: str,
    automount_token: bool = False,
) -> dict[str, Any]:
    return {
        "metadata": {"labels": labels(name, component)},
        "spec": {
            "serviceAccountName": service_account,
            "automountServiceAccountToken": automount_token,
            "securityContext": pod_security(),
            "terminationGracePeriodSeconds": 10,
            "containers": containers,
            "volumes": [*volumes, {"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}}],
        },
    }


def deployment(name: str, component: str, template: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(name, component),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": selector(name, component)},
            "template": template,
        },
    }


def service(
    name: str, component: str, port: int, *, selects: tuple[str, str] | None = None
) -> dict[str, Any]:
    """A Service with one port named ``http``; it selects the pods of ``selects`` (name,
    component), by default its own."""
    pod_name, pod_component = selects or (name, component)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(name, component),
        "spec": {
            "selector": selector(pod_name, pod_component),
            "ports": [{"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def service_account(name: str, component: str, *, automount: bool) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata(name, component),
        "automountServiceAccountToken": automount,
    }


def service_monitor(name: str, component: str, job: str, **endpoint: Any) -> dict[str, Any]:
    """A ServiceMonitor of the Service ``name``: its ``http`` port's /metrics, under ``job``."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": metadata(name, component),
        "spec": {
            "selector": {"matchLabels": selector(name, component)},
            "endpoints": [
                {
                    "port": "http",
                    "path": "/metrics",
                    "interval": "15s",
                    "scrapeTimeout": "10s",
                    # The operator names the job after the Service; the rules and dashboards
                    # expect the job of prometheus/prometheus.yml.
                    "relabelings": [
                        {"action": "replace", "targetLabel": "job", "replacement": job}
                    ],
                    **endpoint,
                }
            ],
        },
    }
