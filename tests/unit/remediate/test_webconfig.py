"""--web.config.file: the exporter-toolkit TLS format, its errors, and the contexts it builds."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import trustme
from aiohttp import web

from ghost_exporter.config.errors import ConfigError
from ghost_remediate.webconfig import load_web_config, parse_web_config, server_context


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def certs(tmp_path: Path, ca: trustme.CA) -> Path:
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "server.crt"))
    cert.private_key_pem.write_to_path(str(tmp_path / "server.key"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.crt"))
    return tmp_path


def errors_of(text: str, base: Path | None = None) -> list[str]:
    with pytest.raises(ConfigError) as excinfo:
        server_context(parse_web_config(text, "web.yml", base))
    return [str(d) for d in excinfo.value.details]


def test_no_tls_section_means_plain_http() -> None:
    assert server_context(parse_web_config("")) is None
    assert server_context(parse_web_config("tls_server_config: null\n")) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "tls_server_config:\n  cert_file: a\n",
            ["web.yml:1: tls_server_config.key_file: missing required key"],
        ),
        (
            "tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [x]\n",
            ["web.yml:4: tls_server_config.cipher_suites: unknown key"],
        ),
        (
            "tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS14\n",
            [
                "web.yml:4: tls_server_config.min_version: Input should be 'TLS10', 'TLS11', "
                "'TLS12' or 'TLS13'"
            ],
        ),
        (
            "tls_server_config:\n  cert_file: a\n  key_file: b\n"
            "  client_auth_type: RequireAndVerifyClientCert\n",
            [
                "web.yml:1: tls_server_config: client_auth_type RequireAndVerifyClientCert needs "
                "client_ca_file"
            ],
        ),
        (
            "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: c\n",
            [
                "web.yml:1: tls_server_config: client_ca_file is set but client_auth_type is "
                "NoClientCert: set VerifyClientCertIfGiven or RequireAndVerifyClientCert"
            ],
        ),
        (
            "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: c\n"
            "  client_auth_type: RequireAnyClientCert\n",
            [
                "web.yml:1: tls_server_config: client_auth_type RequireAnyClientCert is not "
                "supported (a client certificate is always verified): use "
                "VerifyClientCertIfGiven or RequireAndVerifyClientCert"
            ],
        ),
        (
            "tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS13\n"
            "  max_version: TLS12\n",
            ["web.yml:1: tls_server_config: max_version TLS12 is below min_version"],
        ),
        (
            "basic_auth_users: {a: b}\n",
            [
                "web.yml:1: basic_auth_users: not supported here: this web config file only "
                "sets TLS (tls_server_config)"
            ],
        ),
        (
            "tls_server_config: [1]\n",
            [
                "web.yml:1: tls_server_config: Input should be a valid "
                "dictionary or instance of TLSServerConfig"
            ],
        ),
    ],
)
def test_errors_name_file_line_and_key(text: str, expected: list[str]) -> None:
    assert errors_of(text) == expected


def test_missing_certificate_files_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "web.yml"
    path.write_text("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n")
    with pytest.raises(ConfigError) as excinfo:
        load_web_config(path)
    assert str(excinfo.value) == (
        f"{path}: tls_server_config.cert_file: cannot read {tmp_path / 'server.crt'}: "
        "No such file or directory"
    )
    (tmp_path / "server.crt").write_text("not a certificate")
    (tmp_path / "server.key").write_text("not a key")
    with pytest.raises(ConfigError, match=r"tls_server_config.cert_file: cannot load the certif"):
        load_web_config(path)


def _context(certs: Path, extra: str = "") -> ssl.SSLContext:
    path = certs / "web.yml"
    path.write_text(f"tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n{extra}")
    context = server_context(load_web_config(path))
    assert context is not None
    return context


def test_versions_and_client_verification(certs: Path) -> None:
    plain = _context(certs)
    assert plain.minimum_version == ssl.TLSVersion.TLSv1_2
    assert plain.verify_mode == ssl.CERT_NONE
    strict = _context(
        certs,
        "  client_ca_file: ca.crt\n  client_auth_type: RequireAndVerifyClientCert\n"
        "  min_version: TLS13\n",
    )
    assert strict.minimum_version == ssl.TLSVersion.TLSv1_3
    assert strict.verify_mode == ssl.CERT_REQUIRED
    optional = _context(
        certs, "  client_ca_file: ca.crt\n  client_auth_type: VerifyClientCertIfGiven\n"
    )
    assert optional.verify_mode == ssl.CERT_OPTIONAL


@pytest.fixture
async def tls_url(certs: Path) -> AsyncIterator[str]:
    app = web.Application()

    async def hello(request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peercert") if request.transport else None
        return web.Response(text="client cert" if peer else "no client cert")

    app.router.add_get("/", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    context = _context(
        certs, "  client_ca_file: ca.crt\n  client_auth_type: RequireAndVerifyClientCert\n"
    )
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    yield f"https://127.0.0.1:{runner.addresses[0][1]}/"
    await runner.cleanup()


async def test_a_server_that_requires_client_certificates(
    tls_url: str, ca: trustme.CA, tmp_path: Path
) -> None:
    client = ssl.create_default_context()
    ca.configure_trust(client)
    with pytest.raises(aiohttp.ClientError):
        async with aiohttp.ClientSession() as session, session.get(tls_url, ssl=client) as r:
            await r.text()
    ca.issue_cert("alertmanager@ghost").configure_cert(client)
    async with aiohttp.ClientSession() as session, session.get(tls_url, ssl=client) as r:
        assert await r.text() == "client cert"
    other_ca = trustme.CA()
    stranger = ssl.create_default_context()
    ca.configure_trust(stranger)
    other_ca.issue_cert("mallory").configure_cert(stranger)
    with pytest.raises(aiohttp.ClientError):
        async with aiohttp.ClientSession() as session, session.get(tls_url, ssl=stranger) as r:
            await r.text()
