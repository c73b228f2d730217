"""Certificates (trustme), bcrypt hashes and HTTPS helpers for the web security tests."""

from __future__ import annotations

import base64
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import bcrypt
import pytest
import trustme

PASSWORD = "correct horse battery staple"
#: Cost 4 keeps the tests fast; production hashes use 10 or more.
HASH = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()


@dataclass(frozen=True)
class PKI:
    """A CA with a server certificate for 127.0.0.1, a trusted client and an untrusted one."""

    ca: trustme.CA
    ca_file: Path
    cert_file: Path
    key_file: Path
    client: trustme.LeafCert
    stranger: trustme.LeafCert

    def client_context(
        self,
        client: trustme.LeafCert | None = None,
        maximum: ssl.TLSVersion | None = None,
    ) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        self.ca.configure_trust(ctx)
        if client is not None:
            client.configure_cert(ctx)
        if maximum is not None:
            ctx.maximum_version = maximum
        return ctx


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    directory = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    ca_file, cert_file, key_file = (directory / n for n in ("ca.pem", "cert.pem", "key.pem"))
    ca.cert_pem.write_to_path(str(ca_file))
    server.cert_chain_pems[0].write_to_path(str(cert_file))
    server.private_key_pem.write_to_path(str(key_file))
    client = ca.issue_cert("scraper.example", "ops@example.org")
    stranger = trustme.CA().issue_cert("scraper.example")
    return PKI(ca, ca_file, cert_file, key_file, client, stranger)


def basic(user: str, password: str | bytes) -> str:
    raw = user.encode() + b":" + (password if isinstance(password, bytes) else password.encode())
    return "Basic " + base64.b64encode(raw).decode()


@dataclass
class Answer:
    status: int
    headers: Message[str, str]
    body: str


def fetch(
    url: str,
    ctx: ssl.SSLContext | None = None,
    headers: dict[str, str] | None = None,
    method: str = "GET",
    timeout: float = 10.0,
) -> Answer:
    """One request; HTTP errors are answers too (TLS and connection errors raise)."""
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, context=ctx, timeout=timeout) as resp:
            return Answer(resp.status, resp.headers, resp.read().decode())
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.headers, exc.read().decode())
