"""Every object against its schema: the core objects with kubernetes-validate (strict: an
unknown field is an error), the Prometheus Operator's objects with the schemas of crds.py."""

from __future__ import annotations

import copy
import json
from typing import Any, Final

import jsonschema
import kubernetes_validate
import pytest

from .conftest import all_assembled
from .crds import SCHEMAS

#: The newest schemas kubernetes-validate ships, and the oldest minor release the Kubernetes
#: project still maintains alongside it (it maintains the three newest): docs/kubernetes.md.
KUBERNETES_VERSIONS: Final = ("1.37", "1.35")
CRD_GROUP: Final = "monitoring.coreos.com/"


def _core(obj: dict[str, Any]) -> bool:
    return not str(obj["apiVersion"]).startswith(CRD_GROUP)


def _validate_core(obj: dict[str, Any], version: str) -> None:
    kubernetes_validate.validate(obj, version, strict=True)


def _validate_crd(obj: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(SCHEMAS[obj["kind"]]).validate(obj)


def test_the_newest_schemas_of_the_package_are_used() -> None:
    assert kubernetes_validate.utils.latest_version() == KUBERNETES_VERSIONS[0] + ".0"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_core_object_validates(
    object_sets: dict[str, list[dict[str, Any]]], version: str
) -> None:
    kinds, seen = set(), set()
    for overlay, objects in object_sets.items():
        for obj in filter(_core, objects):
            key = json.dumps(obj, sort_keys=True)
            if key in seen:  # the base's objects, in every overlay
                continue
            seen.add(key)
            try:
                _validate_core(obj, version)
            except kubernetes_validate.ValidationError as exc:
                name = f"{overlay}: {obj['kind']}/{obj['metadata']['name']}"
                pytest.fail(f"{name}: {'.'.join(map(str, exc.path))}: {exc.message}")
            kinds.add(obj["kind"])
    assert kinds == {
        "Namespace",
        "ServiceAccount",
        "Deployment",
        "StatefulSet",
        "Service",
        "ConfigMap",
        "Secret",
        "Role",
        "RoleBinding",
    }


def test_every_operator_object_validates(object_sets: dict[str, list[dict[str, Any]]]) -> None:
    kinds = set()
    for objects in object_sets.values():
        for obj in objects:
            if not _core(obj):
                _validate_crd(obj)
                kinds.add(obj["kind"])
    assert kinds == set(SCHEMAS)


def test_nothing_goes_unchecked() -> None:
    for objects in all_assembled().values():
        for obj in objects:
            assert _core(obj) or obj["kind"] in SCHEMAS, obj["kind"]


def _first(kind: str, overlay: str = "combined") -> dict[str, Any]:
    objects = all_assembled()[overlay]
    return copy.deepcopy(next(o for o in objects if o["kind"] == kind))


def test_a_misspelt_core_field_is_refused() -> None:
    deployment = _first("Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["securityContext"]["readOnlyRootFilesytem"] = True
    with pytest.raises(kubernetes_validate.ValidationError, match="readOnlyRootFilesytem"):
        _validate_core(deployment, KUBERNETES_VERSIONS[0])


def test_a_wrong_core_type_is_refused() -> None:
    service = _first("Service")
    service["spec"]["ports"][0]["port"] = "http"
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate_core(service, KUBERNETES_VERSIONS[1])


def _drop(obj: dict[str, Any], *path: str | int) -> dict[str, Any]:
    node: Any = obj
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return obj


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        ("ServiceMonitor", ("spec", "selector")),
        ("ServiceMonitor", ("spec", "endpoints")),
        ("Probe", ("spec", "prober", "url")),
        ("PrometheusRule", ("spec", "groups", 0, "name")),
        ("PrometheusRule", ("spec", "groups", 0, "rules", 0, "expr")),
        ("AlertmanagerConfig", ("spec", "receivers", 0, "name")),
        ("AlertmanagerConfig", ("spec", "route", "routes", 0, "matchers", 0, "name")),
        ("AlertmanagerConfig", ("metadata", "name")),
    ],
)
def test_a_missing_required_field_is_refused(kind: str, path: tuple[str | int, ...]) -> None:
    obj = _drop(_first(kind), *path)
    with pytest.raises(jsonschema.ValidationError):
        _validate_crd(obj)


@pytest.mark.parametrize(
    ("kind", "path", "value"),
    [
        ("ServiceMonitor", ("spec", "endpoints", 0, "interval"), "15 seconds"),
        ("ServiceMonitor", ("spec", "endpoints", 0, "metricRelabeling"), []),
        ("Probe", ("spec", "prober", "url"), "http://ghost-exporter:9798"),
        ("PrometheusRule", ("spec", "groups", 0, "rules", 0, "alert"), "Both"),
        ("AlertmanagerConfig", ("spec", "inhibitRules", 0, "sourceMatch", 0, "matchType"), "=="),
        ("AlertmanagerConfig", ("spec", "route", "groupWait"), "30"),
    ],
)
def test_a_bad_field_is_refused(kind: str, path: tuple[str | int, ...], value: Any) -> None:
    obj = _first(kind)
    node: Any = obj
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        _validate_crd(obj)
