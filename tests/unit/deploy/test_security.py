"""Every container is hardened, sized from the bench and checked by /-/healthy and /-/ready;
every service account has the least it needs."""

from __future__ import annotations

from typing import Any

from ghost_deploy import k8s, overlays

from .conftest import ROOT, all_assembled


def _containers(objects: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(pod spec, container) of every workload."""
    return [
        (obj["spec"]["template"]["spec"], container)
        for obj in objects
        if obj["kind"] in {"Deployment", "StatefulSet"}
        for container in obj["spec"]["template"]["spec"]["containers"]
    ]


def _quantity(text: str) -> float:
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return float(text.removesuffix(suffix)) * factor
    return float(text)


def test_every_container_is_hardened(object_sets: dict[str, list[Any]]) -> None:
    seen = set()
    for overlay, objects in object_sets.items():
        for pod, container in _containers(objects):
            where = f"{overlay}: {container['name']}"
            seen.add(container["name"])
            security = container["securityContext"]
            assert security["runAsNonRoot"] is True, where
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"] == {"drop": ["ALL"]}, where
            assert security["seccompProfile"] == {"type": "RuntimeDefault"}, where
            assert pod["securityContext"]["runAsNonRoot"] is True, where
            assert pod["securityContext"]["runAsUser"] == 10001, where  # the Dockerfile's user
            assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
            assert "hostNetwork" not in pod, where
            assert "hostPID" not in pod, where
            assert container["image"] == k8s.IMAGE, where
    assert seen == {"exporter", "stress", "remediate"}


def test_the_namespace_enforces_the_restricted_pod_security_standard() -> None:
    (namespace,) = [o for o in all_assembled()["base"] if o["kind"] == "Namespace"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_every_container_has_requests_below_limits(object_sets: dict[str, list[Any]]) -> None:
    for objects in object_sets.values():
        for _pod, container in _containers(objects):
            resources = container["resources"]
            for resource in ("cpu", "memory"):
                request = _quantity(resources["requests"][resource])
                limit = _quantity(resources["limits"][resource])
                assert 0 < request <= limit, (container["name"], resource)


def test_every_container_is_checked_by_healthy_and_ready(
    object_sets: dict[str, list[Any]],
) -> None:
    for objects in object_sets.values():
        for _pod, container in _containers(objects):
            assert container["livenessProbe"]["httpGet"]["path"] == "/-/healthy"
            assert container["readinessProbe"]["httpGet"]["path"] == "/-/ready"


def test_the_docs_quote_every_resource_figure() -> None:
    doc = (ROOT / "docs" / "kubernetes.md").read_text("utf-8")
    for name, resources in (
        ("ghost-exporter", k8s.EXPORTER_RESOURCES),
        ("ghost-stress", k8s.STRESS_RESOURCES),
        ("ghost-remediate", k8s.REMEDIATE_RESOURCES),
    ):
        row = next(line for line in doc.splitlines() if line.startswith(f"| {name} |"))
        for value in (
            resources.cpu_request,
            resources.memory_request,
            resources.cpu_limit,
            resources.memory_limit,
        ):
            assert f"`{value}`" in row, (name, value)


def test_only_ghost_remediate_gets_a_token_and_it_may_patch_one_deployment() -> None:
    objects = all_assembled()["combined"]
    automount = {
        obj["metadata"]["name"]: obj["spec"]["template"]["spec"]["automountServiceAccountToken"]
        for obj in objects
        if obj["kind"] in {"Deployment", "StatefulSet"}
    }
    assert automount == {"ghost-exporter": False, "ghost-stress": False, "ghost-remediate": True}
    (role,) = [o for o in objects if o["kind"] == "Role"]
    assert role["rules"] == [
        {
            "apiGroups": ["apps"],
            "resources": ["deployments"],
            "resourceNames": [overlays.RESTART_DEPLOYMENT],
            "verbs": ["patch"],
        }
    ]
    assert not [o for o in objects if o["kind"] in {"ClusterRole", "ClusterRoleBinding"}]
