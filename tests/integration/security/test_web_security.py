"""--web.config.file: TLS, client certificates, TLS versions, basic auth, headers and rate limits,
on the real exporter process and on a served app, with trustme certificates."""

from __future__ import annotations

import asyncio
import http.client
import shutil
import ssl
import subprocess
import urllib.error
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import aiohttp
import bcrypt
import pytest
import trustme
from aiohttp import web
from tests.integration.security.conftest import HASH, PASSWORD, PKI, basic, fetch
from tests.support import ThreadedServer, cli, run_exporter, wait_until

from ghost_common.webconfig import BasicAuth, WebConfig, apply_web_config, load_web_config

ServeTLS = Callable[[WebConfig], Awaitable[str]]


def _targets_app() -> web.Application:
    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "healthy"})

    app = web.Application()
    app.router.add_get("/health", health)
    return app


@pytest.fixture(scope="module")
def targets() -> Iterator[str]:
    with ThreadedServer(_targets_app()) as server:
        yield server.url


def _web_yml(tmp: Path, pki: PKI, body: str) -> Path:
    """A web config in ``tmp`` beside copies of the CA, certificate and key files."""
    for name, source in (("ca.pem", pki.ca_file), ("cert.pem", pki.cert_file)):
        shutil.copy(source, tmp / name)
    shutil.copy(pki.key_file, tmp / "key.pem")
    path = tmp / "web.yml"
    path.write_text(body)
    return path


def test_exporter_serves_tls_basic_auth_and_client_certs(
    pki: PKI, targets: str, tmp_path: Path
) -> None:
    config = tmp_path / "ghost.yml"
    config.write_text(
        "defaults: {interval: 1s, timeout: 500ms}\n"
        f"services:\n  - name: web\n    http: {{url: '{targets}/health'}}\n"
    )
    web_yml = _web_yml(
        tmp_path,
        pki,
        f"""
tls_server_config:
  cert_file: cert.pem
  key_file: key.pem
  client_auth_type: VerifyClientCertIfGiven
  client_ca_file: ca.pem
basic_auth_users:
  alice: {HASH}
http_server_config:
  headers:
    X-Frame-Options: deny
    X-Content-Type-Options: nosniff
    Strict-Transport-Security: max-age=31536000
ghost_unauthenticated_paths: [/-/healthy]
""",
    )
    with run_exporter(config, tmp_path, [f"--web.config.file={web_yml}"]) as exporter:
        url = exporter.url.replace("http://", "https://")
        trusted = pki.client_context()
        right = {"Authorization": basic("alice", PASSWORD)}

        # Plain HTTP on the TLS port gets nothing useful.
        with pytest.raises((ConnectionError, http.client.HTTPException)):
            fetch(exporter.url + "/metrics", timeout=3)

        for path in ("/metrics", "/probe?target=web", "/", "/-/ready"):
            refused = fetch(url + path, trusted)
            assert refused.status == 401, path
            assert refused.headers["WWW-Authenticate"].startswith('Basic realm="ghost-exporter"')
            assert refused.headers["X-Frame-Options"] == "deny"
            assert "ghost_" not in refused.body
            assert fetch(url + path, trusted, right).status == 200, path
        assert fetch(url + "/-/reload", trusted, method="POST").status == 401
        assert fetch(url + "/nowhere", trusted).status == 401  # unknown paths reveal nothing

        wrong = [
            basic("alice", "wrong"),
            basic("alice", PASSWORD + " "),
            basic("mallory", PASSWORD),
            basic("alice", "x" * 100),  # over bcrypt's 72 bytes
            basic("alice", b"\xff\xfe\x00"),
            "Basic !!!not-base64",
            "Basic " + "YWxpY2U=",  # no colon
            "Bearer " + PASSWORD,
            "",
        ]
        for header in wrong:
            assert fetch(url + "/metrics", trusted, {"Authorization": header}).status == 401

        healthy = fetch(url + "/-/healthy", trusted)
        assert healthy.status == 200
        assert healthy.headers["Strict-Transport-Security"] == "max-age=31536000"
        assert healthy.headers["X-Content-Type-Options"] == "nosniff"

        with_cert = pki.client_context(pki.client)
        wait_until(lambda: "ghost_service_up{" in fetch(url + "/metrics", with_cert, right).body)
        assert fetch(url + "/-/reload", trusted, right, method="POST").status == 200
        with pytest.raises((ssl.SSLError, OSError)):
            fetch(url + "/metrics", pki.client_context(pki.stranger), right)
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            fetch(url + "/metrics", ssl.create_default_context(), right)
    log = exporter.log.read_text()
    assert "tls=True" in log
    assert "basic_auth=True" in log
    assert PASSWORD not in log


def test_exporter_refuses_long_passwords_with_401(targets: str, tmp_path: Path) -> None:
    config = tmp_path / "ghost.yml"
    config.write_text(f"services:\n  - name: web\n    http: {{url: '{targets}/health'}}\n")
    web_yml = tmp_path / "web.yml"
    web_yml.write_text(f"basic_auth_users:\n  alice: {HASH}\n")
    with run_exporter(config, tmp_path, [f"--web.config.file={web_yml}"]) as exporter:
        url = exporter.url + "/metrics"
        for length in (73, 6000):  # over bcrypt's 72 bytes; about the longest header aiohttp takes
            for user in ("alice", "nobody"):
                header = {"Authorization": basic(user, PASSWORD + "x" * length)}
                assert fetch(url, headers=header).status == 401, (user, length)
        # 10 KiB: longer than aiohttp's 8 KiB limit on a header field, refused before any
        # handler runs (400), never with a 500.
        assert fetch(url, headers={"Authorization": basic("alice", "z" * 10240)}).status == 400
        assert fetch(url, headers={"Authorization": basic("alice", PASSWORD)}).status == 200
    # The refused header is logged by its error alone: not a byte of the credentials.
    log = exporter.log.read_text()
    assert "refused a malformed request" in log
    assert basic("alice", "z" * 10240).split()[1][:16] not in log
    assert "Traceback" not in log


def test_validate_checks_the_web_config(pki: PKI, tmp_path: Path) -> None:
    config = tmp_path / "ghost.yml"
    config.write_text("services:\n  - name: a\n    tcp: {address: '127.0.0.1:9'}\n")
    good = _web_yml(tmp_path, pki, f"basic_auth_users:\n  alice: {HASH}\n")
    ok = subprocess.run(
        [cli("ghost-exporter"), "validate", f"--config.file={config}", f"--web.config.file={good}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert "valid web configuration" in ok.stdout
    bad = tmp_path / "bad-web.yml"
    bad.write_text("basic_auth_users:\n  alice: hunter2\ntls_server_config:\n  cert_file: nope\n")
    for argv in (["validate"], []):
        refused = subprocess.run(
            [cli("ghost-exporter"), *argv, f"--config.file={config}", f"--web.config.file={bad}"],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        assert refused.returncode == 2
        assert f"{bad}:2: basic_auth_users.alice: password is not a bcrypt hash" in refused.stderr
        assert "hunter2" not in refused.stderr
        assert "Traceback" not in refused.stderr


# --- a served app: TLS versions, client certificate policies, SANs, rotation, rate limit --------


@pytest.fixture
async def serve_tls() -> AsyncIterator[ServeTLS]:
    runners: list[web.AppRunner] = []

    async def start(web_config: WebConfig) -> str:
        async def hello(request: web.Request) -> web.Response:
            return web.Response(text="hello\n")

        app = web.Application()
        apply_web_config(app, web_config)
        app.router.add_get("/", hello)
        app.router.add_get("/-/healthy", hello)
        runner = web.AppRunner(app, shutdown_timeout=0.1)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=web_config.ssl_context())
        await site.start()
        scheme = "https" if web_config.ssl_context() is not None else "http"
        return f"{scheme}://127.0.0.1:{runner.addresses[0][1]}/"

    yield start
    for runner in runners:
        await runner.cleanup()


async def _get(
    url: str, ctx: ssl.SSLContext | bool = True, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, ssl=ctx, headers=headers or {}) as resp,
    ):
        return resp.status, dict(resp.headers), await resp.text()


def _config(tmp: Path, pki: PKI, tls: str, rest: str = "") -> WebConfig:
    return load_web_config(
        _web_yml(
            tmp, pki, f"tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n{tls}{rest}"
        )
    )


async def test_min_version_tls13_refuses_tls12_clients(
    pki: PKI, tmp_path: Path, serve_tls: ServeTLS
) -> None:
    url = await serve_tls(_config(tmp_path, pki, "  min_version: TLS13\n"))
    assert (await _get(url, pki.client_context()))[0] == 200
    with pytest.raises(aiohttp.ClientError):
        await _get(url, pki.client_context(maximum=ssl.TLSVersion.TLSv1_2))


async def test_max_version_and_cipher_suites(pki: PKI, tmp_path: Path, serve_tls: ServeTLS) -> None:
    url = await serve_tls(
        _config(
            tmp_path,
            pki,
            "  max_version: TLS12\n"
            "  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]\n",
        )
    )
    version, cipher, _ = await _handshake(url, pki.client_context())
    assert version == "TLSv1.2"
    assert cipher == "ECDHE-ECDSA-AES128-GCM-SHA256"


@pytest.mark.parametrize(
    ("client_auth", "none", "stranger", "trusted"),
    [
        ("RequireAndVerifyClientCert", False, False, True),
        ("RequireAnyClientCert", False, False, True),
        ("VerifyClientCertIfGiven", True, False, True),
        ("RequestClientCert", True, True, True),
        ("NoClientCert", True, True, True),
    ],
)
async def test_client_auth_types(
    pki: PKI,
    tmp_path: Path,
    serve_tls: ServeTLS,
    client_auth: str,
    none: bool,
    stranger: bool,
    trusted: bool,
) -> None:
    ca = "  client_ca_file: ca.pem\n" if client_auth != "NoClientCert" else ""
    url = await serve_tls(_config(tmp_path, pki, f"  client_auth_type: {client_auth}\n{ca}"))
    for client, expected in ((None, none), (pki.stranger, stranger), (pki.client, trusted)):
        ctx = pki.client_context(client)
        if expected:
            assert (await _get(url, ctx))[0] == 200
        else:
            with pytest.raises(aiohttp.ClientError):
                await _get(url, ctx)


async def test_client_allowed_sans(pki: PKI, tmp_path: Path, serve_tls: ServeTLS) -> None:
    tls = "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n"
    allowed = await serve_tls(
        _config(tmp_path, pki, tls + "  client_allowed_sans: [ops@example.org]\n")
    )
    other = await serve_tls(
        _config(tmp_path, pki, tls + "  client_allowed_sans: [other.example]\n")
    )
    ctx = pki.client_context(pki.client)
    assert (await _get(allowed, ctx))[0] == 200
    assert (await _get(other, ctx))[0] == 403


async def test_inline_certificate_and_key(pki: PKI, tmp_path: Path, serve_tls: ServeTLS) -> None:
    cert = pki.cert_file.read_text().replace("\n", "\n    ")
    key = pki.key_file.read_text().replace("\n", "\n    ")
    path = tmp_path / "inline.yml"
    path.write_text(f"tls_server_config:\n  cert: |\n    {cert}\n  key: |\n    {key}\n")
    web_config = load_web_config(path)
    assert "PRIVATE KEY" not in repr(web_config)
    url = await serve_tls(web_config)
    assert (await _get(url, pki.client_context()))[0] == 200


async def test_a_rotated_certificate_is_served_without_restart(
    pki: PKI, tmp_path: Path, serve_tls: ServeTLS
) -> None:
    web_config = _config(tmp_path, pki, "")
    url = await serve_tls(web_config)
    old = await _peer_serial(url, pki.ca)
    fresh = pki.ca.issue_cert("127.0.0.1")
    await asyncio.sleep(1.1)  # certificate files are checked at most once a second
    fresh.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    fresh.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    assert await _peer_serial(url, pki.ca) != old
    # A pair that does not load is ignored: the last good certificate is kept.
    (tmp_path / "key.pem").write_text("not a key\n")
    await asyncio.sleep(1.1)
    kept = await _peer_serial(url, pki.ca)
    assert kept != old


async def _handshake(url: str, ctx: ssl.SSLContext) -> tuple[str, str, bytes]:
    """TLS version, cipher and peer certificate (DER) of a fresh connection to ``url``."""
    port = int(url.rsplit(":", 1)[1].strip("/"))
    _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx)
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        return ssl_object.version(), ssl_object.cipher()[0], ssl_object.getpeercert(True)
    finally:
        writer.close()


async def _peer_serial(url: str, ca: trustme.CA) -> bytes:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return (await _handshake(url, ctx))[2]


async def test_rate_limit_and_plain_http_basic_auth(tmp_path: Path, serve_tls: ServeTLS) -> None:
    path = tmp_path / "web.yml"
    path.write_text(
        f"basic_auth_users: {{alice: '{HASH}'}}\nrate_limit: {{interval: 1m, burst: 3}}\n"
        "ghost_unauthenticated_paths: [/-/healthy]\n"
    )
    url = await serve_tls(load_web_config(path))
    right = {"Authorization": basic("alice", PASSWORD)}
    statuses = [(await _get(url, headers=right))[0] for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    assert (await _get(url + "-/healthy"))[0] == 429  # the limit covers every path


async def test_bcrypt_runs_once_per_credentials_and_floods_are_bounded() -> None:
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(8))
    auth = BasicAuth({"alice": hashed}, cache_size=16, max_waiting=8)
    right = basic("alice", PASSWORD)
    assert await auth.check(right) is True
    assert await auth.check(basic("nobody", PASSWORD)) is False
    assert await auth.check(basic("alice", "nope")) is False
    entries = len(auth._cache)
    assert await auth.check(right) is True
    assert len(auth._cache) == entries  # served from the cache: no bcrypt
    flood = [asyncio.create_task(auth.check(basic("alice", f"guess-{i}"))) for i in range(40)]
    await asyncio.sleep(0)
    assert await auth.check(right) is True  # a cached scrape does not queue behind the flood
    verdicts = await asyncio.gather(*flood)
    assert verdicts.count(None) >= 40 - 8 - 1  # beyond max_waiting: refused at once
    assert set(verdicts) <= {False, None}
    assert len(auth._cache) <= 16
