"""Shared by the manifest tests: the generated tree, its objects per overlay (rendered by
kubectl kustomize where kubectl is installed, assembled from the files otherwise)."""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from ghost_deploy import overlays, render, sources

ROOT = sources.ROOT
KUBE_DIR = sources.KUBERNETES_DIR
OVERLAYS = tuple(overlays.COMPONENTS)
#: A user's kustomization combining every component.
COMBINED = ("sharded", "probe-mode", "stress", "remediation")


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML as kubectl writes it: a bare ``=`` (an AlertmanagerConfig matchType) is a string,
    not PyYAML's ``value`` tag."""


_Loader.add_constructor(
    "tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node)
)


def load_all(text: str) -> list[Any]:
    return [doc for doc in yaml.load_all(text, Loader=_Loader) if doc is not None]


def objects_of(path: Path) -> list[dict[str, Any]]:
    docs = load_all(path.read_text(encoding="utf-8"))
    return [doc for doc in docs if isinstance(doc, dict) and "apiVersion" in doc]


def kustomization(directory: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((directory / "kustomization.yaml").read_text("utf-8"))
    return data


def generated_config_maps(directory: Path) -> list[dict[str, Any]]:
    """The ConfigMaps a kustomization's configMapGenerator makes (without the name's hash)."""
    maps = []
    for generator in kustomization(directory).get("configMapGenerator", []):
        meta: dict[str, Any] = {"name": generator["name"]}
        if "namespace" in generator:
            meta["namespace"] = generator["namespace"]
        if "labels" in generator.get("options", {}):
            meta["labels"] = generator["options"]["labels"]
        data = {name: (directory / name).read_text("utf-8") for name in generator.get("files", [])}
        maps.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data})
    return maps


def _add(document: Any, pointer: str, value: Any) -> None:
    """JSON patch ``add`` (the only op the components use)."""
    *parents, last = [part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/")]
    for part in parents:
        document = document[int(part)] if isinstance(document, list) else document[part]
    if isinstance(document, list):
        document.insert(len(document) if last == "-" else int(last), value)
    else:
        document[last] = value


def assemble(name: str | None, components: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """The objects of the base with the components of overlay ``name`` (or ``components``),
    put together from the committed files as kustomize would: resources, generated
    ConfigMaps (merged or replaced), JSON patches and deletions; names keep no hash."""
    chosen = components if components is not None else ((name,) if name else ())
    base = KUBE_DIR / "base"
    found = [obj for res in kustomization(base)["resources"] for obj in objects_of(base / res)]
    found += generated_config_maps(base)
    for component in chosen:
        directory = KUBE_DIR / "components" / component
        spec = kustomization(directory)
        for res in spec.get("resources", []):
            found += objects_of(directory / res)
        for generated in generated_config_maps(directory):
            found = [o for o in found if not _same(o, generated)] + [generated]
        for patch in spec.get("patches", []):
            documents = load_all((directory / patch["path"]).read_text("utf-8"))
            if "target" in patch:
                target = patch["target"]
                (obj,) = [
                    o for o in found if o["kind"] == target["kind"] and _name(o) == target["name"]
                ]
                for operation in documents[0]:
                    assert operation["op"] == "add", operation
                    _add(obj, operation["path"], copy.deepcopy(operation["value"]))
            else:
                for doc in documents:
                    assert doc.get("$patch") == "delete", doc
                    found = [o for o in found if not _same(o, doc)]
    return found


def _name(obj: dict[str, Any]) -> str:
    name: str = obj["metadata"]["name"]
    return name


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a["kind"] == b["kind"] and _name(a) == _name(b)


#: kustomize components need kustomize v3.7; kubectl embeds kustomize v4 from 1.21 on.
KUSTOMIZE_MAJOR = 4


@functools.cache
def kubectl() -> str:
    """kubectl, or a skip with the reason printed where it is missing. One that is installed
    is used, under CI always: one too old for components fails there, and is skipped elsewhere."""
    path = shutil.which("kubectl")
    if path is None:
        reason = "kubectl is not installed: the overlays are not rendered by `kubectl kustomize`"
        print(reason)
        pytest.skip(reason)
    result = subprocess.run(
        [path, "version", "--client", "--output=json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    version = str(json.loads(result.stdout or "{}").get("kustomizeVersion", "v0"))
    match = re.match(r"v(\d+)", version)
    if match is None or int(match.group(1)) < KUSTOMIZE_MAJOR:
        reason = f"{path} embeds kustomize {version}, older than v{KUSTOMIZE_MAJOR} (components)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        print(reason)
        pytest.skip(reason)
    return path


def kustomize(directory: Path) -> list[dict[str, Any]]:
    result = subprocess.run(
        [kubectl(), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "KUBECONFIG": os.devnull},
    )
    assert result.returncode == 0, result.stderr
    return load_all(result.stdout)


@pytest.fixture(scope="session")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh copy of deploy/kubernetes written by the generator, with a kustomization that
    combines the components."""
    out = tmp_path_factory.mktemp("kubernetes")
    render.write(out)
    combined = out / "overlays" / "combined"
    combined.mkdir()
    (combined / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": ["../../base"],
                "components": [f"../../components/{c}" for c in COMBINED],
            }
        ),
        encoding="utf-8",
    )
    return out


@pytest.fixture(scope="session")
def rendered(tree: Path) -> dict[str, list[dict[str, Any]]]:
    """Overlay name (and "base", "combined") -> the objects kubectl kustomize renders."""
    return {
        name: kustomize(tree / ("base" if name == "base" else f"overlays/{name}"))
        for name in ("base", *OVERLAYS, "combined")
    }


@functools.cache
def _assembled() -> dict[str, list[dict[str, Any]]]:
    found = {"base": assemble(None)}
    found |= {name: assemble(name) for name in OVERLAYS}
    found["combined"] = assemble(None, COMBINED)
    return found


def all_assembled() -> dict[str, list[dict[str, Any]]]:
    """Overlay (and "base", "combined") -> its objects, assembled from the committed files."""
    return copy.deepcopy(_assembled())


@pytest.fixture(scope="session", params=["files", "kustomize"])
def object_sets(request: pytest.FixtureRequest, tree: Path) -> dict[str, list[dict[str, Any]]]:
    """Overlay -> objects: put together from the committed files (always), and as
    `kubectl kustomize` renders them (where kubectl is installed)."""
    if request.param == "files":
        return all_assembled()
    sets: dict[str, list[dict[str, Any]]] = request.getfixturevalue("rendered")
    return copy.deepcopy(sets)
