"""The remediation component: ghost-remediate's config validates once the placeholder token
is replaced (and refuses to start until then), and the restart script sends what
`kubectl rollout restart` sends, which is all the Role allows."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from ghost_deploy import k8s, overlays
from tests.conftest import ServeFn
from tests.support import cli

from .conftest import KUBE_DIR, all_assembled

COMPONENT = KUBE_DIR / "components" / "remediation"


def _install(tmp_path: Path, token: str) -> Path:
    """The config and the secret laid out as the pod mounts them."""
    config = tmp_path / "config"
    config.mkdir()
    shutil.copy(COMPONENT / "remediate.yml", config / "remediate.yml")
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "token").write_text(token, encoding="utf-8")
    return config / "remediate.yml"


def _validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [cli("ghost-remediate"), "validate", f"--config.file={path}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_config_validates_with_a_real_token(tmp_path: Path) -> None:
    result = _validate(_install(tmp_path, "k8s-test-token-0123456789abcdef"))
    assert result.returncode == 0, result.stderr


def test_the_placeholder_token_keeps_ghost_remediate_from_starting(tmp_path: Path) -> None:
    (secret,) = [o for o in all_assembled()["remediation"] if o["kind"] == "Secret"]
    placeholder = secret["stringData"]["token"]
    result = _validate(_install(tmp_path, placeholder))
    assert result.returncode == 2
    assert "auth.bearer_token" in result.stderr


def test_the_action_runs_the_restart_script_of_the_config_map() -> None:
    text = (COMPONENT / "remediate.yml").read_text("utf-8")
    assert f"argv: [python3, {overlays.REMEDIATE_DIR}/config/{overlays.RESTART_SCRIPT}" in text
    objects = all_assembled()["remediation"]
    (config_map,) = [
        o
        for o in objects
        if o["kind"] == "ConfigMap" and o["metadata"]["name"] == overlays.REMEDIATE_CONFIG_MAP
    ]
    assert set(config_map["data"]) == {"remediate.yml", overlays.RESTART_SCRIPT}
    (deployment,) = [
        o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == k8s.REMEDIATE
    ]
    mounts = deployment["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    assert {
        "name": "config",
        "mountPath": "/etc/ghost-remediate/config",
        "readOnly": True,
    } in mounts


class _ApiServer:
    """The part of the API server the script talks to: it records the request."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.requests: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "content_type": request.headers.get("Content-Type"),
                "authorization": request.headers.get("Authorization"),
                "body": await request.json(),
            }
        )
        if self.status != 200:
            message = {"kind": "Status", "message": "deployments.apps is forbidden"}
            return web.json_response(message, status=self.status)
        return web.json_response({"kind": "Deployment"})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app


def _account(tmp_path: Path) -> Path:
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text("sa-token\n", encoding="utf-8")
    (account / "namespace").write_text("ghost\n", encoding="utf-8")
    return account


async def _run_script(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(COMPONENT / overlays.RESTART_SCRIPT),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_script_patches_the_pod_template_as_kubectl_does(
    serve: ServeFn, tmp_path: Path
) -> None:
    api = _ApiServer(200)
    url = await serve(api.app())
    account = _account(tmp_path)
    code, out, err = await _run_script(
        "dual-monitor", f"--api-server={url}", f"--service-account-dir={account}"
    )
    assert code == 0, err
    assert "deployment ghost/dual-monitor restarted" in out
    (request,) = api.requests
    assert request["method"] == "PATCH"
    assert request["path"] == "/apis/apps/v1/namespaces/ghost/deployments/dual-monitor"
    assert request["content_type"] == "application/strategic-merge-patch+json"
    assert request["authorization"] == "Bearer sa-token"
    annotations = request["body"]["spec"]["template"]["metadata"]["annotations"]
    assert list(annotations) == ["kubectl.kubernetes.io/restartedAt"]
    # What the Role allows: patch, on deployments of group apps, of that name only.
    (role,) = [o for o in all_assembled()["remediation"] if o["kind"] == "Role"]
    (rule,) = role["rules"]
    _, _, group, _, _, namespace, resource, name = request["path"].split("/")
    assert (rule["apiGroups"], rule["resources"], rule["resourceNames"], rule["verbs"]) == (
        [group],
        [resource],
        [name],
        [request["method"].lower()],
    )
    assert namespace == role["metadata"]["namespace"]


async def test_a_refusal_of_the_api_server_is_exit_1_with_its_message(
    serve: ServeFn, tmp_path: Path
) -> None:
    url = await serve(_ApiServer(403).app())
    code, _, err = await _run_script(
        "status-api", f"--api-server={url}", f"--service-account-dir={_account(tmp_path)}"
    )
    assert code == 1
    assert "ghost/status-api: HTTP 403: deployments.apps is forbidden" in err


@pytest.mark.parametrize("name", ["../secrets", "Dual-Monitor", "-rf", "a/b", ""])
async def test_a_name_that_is_not_a_deployment_name_is_refused(name: str, tmp_path: Path) -> None:
    code, _, err = await _run_script(
        name, "--api-server=http://127.0.0.1:9", f"--service-account-dir={_account(tmp_path)}"
    )
    assert code == 2
    assert "invalid Deployment name" in err or "arguments are required" in err


def test_the_committed_script_is_the_module() -> None:
    committed = (COMPONENT / overlays.RESTART_SCRIPT).read_text("utf-8")
    assert committed.startswith("# Generated by deploy/generate.py")
    assert committed.endswith(overlays.restart_script())
