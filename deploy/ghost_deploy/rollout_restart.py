"""Restart a Deployment as `kubectl rollout restart` does, with the standard library only.

ghost-remediate's command action in the cluster (deploy/kubernetes/components/remediation):
one PATCH of the Deployment's pod template annotation ``kubectl.kubernetes.io/restartedAt``,
sent with the pod's service account token, which the Role allows for that Deployment only.

    python3 rollout-restart.py DEPLOYMENT [--namespace NS] [--api-server URL]

Exit status 0 when the API server accepted the patch, 1 when it refused it or could not be
reached, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import re
import ssl
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
API_SERVER = "https://kubernetes.default.svc"
#: A Deployment's name: an RFC 1123 subdomain (what the API server accepts).
_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def _name(text: str) -> str:
    if len(text) > 253 or not _NAME.fullmatch(text):
        raise argparse.ArgumentTypeError(f"invalid Deployment name {text!r}")
    return text


def restart_patch(now: datetime.datetime) -> bytes:
    """The strategic merge patch `kubectl rollout restart` sends."""
    stamp = now.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    annotations = {"kubectl.kubernetes.io/restartedAt": stamp}
    return json.dumps({"spec": {"template": {"metadata": {"annotations": annotations}}}}).encode()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="rollout-restart.py", description="Restart a Deployment (kubectl rollout restart)."
    )
    parser.add_argument("deployment", type=_name)
    parser.add_argument("--namespace", type=_name, help="default: the pod's own namespace")
    parser.add_argument("--api-server", default=API_SERVER, help="default: %(default)s")
    parser.add_argument(
        "--service-account-dir",
        default=SERVICE_ACCOUNT_DIR,
        type=Path,
        help="holds token, ca.crt and namespace (default: %(default)s)",
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds (default: 10)")
    args = parser.parse_args(argv)
    account: Path = args.service_account_dir
    try:
        token = (account / "token").read_text(encoding="utf-8").strip()
        namespace = args.namespace or _name((account / "namespace").read_text("utf-8").strip())
    except (OSError, argparse.ArgumentTypeError) as exc:
        print(f"rollout-restart: cannot read the service account: {exc}", file=sys.stderr)
        return 1
    url = (
        f"{args.api_server.rstrip('/')}/apis/apps/v1/namespaces/{namespace}"
        f"/deployments/{args.deployment}"
    )
    request = urllib.request.Request(
        url,
        data=restart_patch(datetime.datetime.now(datetime.UTC)),
        method="PATCH",
        headers={
            "Content-Type": "application/strategic-merge-patch+json",
            "Accept": "application/json",
            "Authorization": f"Bearer {token}",
        },
    )
    context = None
    if url.startswith("https:"):
        context = ssl.create_default_context(cafile=str(account / "ca.crt"))
    try:
        with urllib.request.urlopen(request, timeout=args.timeout, context=context) as answer:
            status = answer.status
    except urllib.error.HTTPError as exc:
        detail = exc.read(2000).decode("utf-8", "replace")
        with contextlib.suppress(ValueError, AttributeError):
            detail = json.loads(detail).get("message", detail)
        print(
            f"rollout-restart: {namespace}/{args.deployment}: HTTP {exc.code}: {detail}",
            file=sys.stderr,
        )
        return 1
    except (OSError, ssl.SSLError) as exc:
        print(f"rollout-restart: {url}: {exc}", file=sys.stderr)
        return 1
    print(f"deployment {namespace}/{args.deployment} restarted (HTTP {status})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
