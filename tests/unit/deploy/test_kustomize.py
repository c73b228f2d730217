"""`kubectl kustomize` renders the base, every overlay and a combination of the components
(skipped, with the reason printed, where kubectl is not installed)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from .conftest import COMBINED, all_assembled


def _kinds(objects: list[dict[str, Any]]) -> Counter[str]:
    return Counter(obj["kind"] for obj in objects)


def test_kustomize_renders_the_objects_of_the_files(rendered: dict[str, list[Any]]) -> None:
    """What kubectl renders is what the tests assemble from the files: the same objects, with
    the namespace set and a hash on the generated ConfigMaps."""
    assembled = all_assembled()
    assert set(rendered) == set(assembled)
    for overlay, objects in rendered.items():
        assert _kinds(objects) == _kinds(assembled[overlay]), overlay
        for obj in objects:
            if obj["kind"] != "Namespace":
                assert obj["metadata"]["namespace"] == "ghost", (overlay, obj["kind"])


def test_every_overlay_adds_its_part(rendered: dict[str, list[Any]]) -> None:
    base = _kinds(rendered["base"])
    assert base == Counter(
        {
            "Namespace": 1,
            "ServiceAccount": 1,
            "Deployment": 1,
            "Service": 1,
            "ConfigMap": 4,  # the config and three dashboards
            "ServiceMonitor": 1,
            "PrometheusRule": 1,
            "AlertmanagerConfig": 1,
        }
    )
    assert _kinds(rendered["sharded"]) - base == Counter({"StatefulSet": 1, "Service": 1})
    assert _kinds(rendered["sharded"])["Deployment"] == 0
    assert _kinds(rendered["probe-mode"]) - base == Counter({"Probe": 1})
    assert _kinds(rendered["stress"]) - base == Counter(
        {"Deployment": 1, "Service": 1, "ServiceAccount": 1}
    )
    assert _kinds(rendered["remediation"]) - base == Counter(
        {
            "Deployment": 1,
            "Service": 1,
            "ServiceAccount": 1,
            "ServiceMonitor": 1,
            "Role": 1,
            "RoleBinding": 1,
            "Secret": 1,
            "ConfigMap": 1,
        }
    )
    combined = _kinds(rendered["combined"])
    for name in COMBINED:
        assert combined >= _kinds(rendered[name]), name
