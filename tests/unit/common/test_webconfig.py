"""The web config file: each bad file maps to its exact error (file:line: key: message); the
basic auth it configures: decoy hash, long passwords, bounded checks."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import bcrypt
import pytest
import trustme

from ghost_common.webconfig import BasicAuth, TooManyChecks, load_web_config, parse_web_config
from ghost_common.webconfig.model import BCRYPT_HASH
from ghost_exporter.config import ConfigError

from .bcrypt_calls import instrument_checkpw

HASH = bcrypt.hashpw(b"pw", bcrypt.gensalt(4)).decode()
TLS = "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("certs")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(str(directory / "cert.pem"))
    cert.private_key_pem.write_to_path(str(directory / "key.pem"))
    ca.cert_pem.write_to_path(str(directory / "ca.pem"))
    return directory


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            "unknown: 1\n",
            "web.yml:1: unknown: unknown key",
        ),
        (
            "- a\n",
            "web.yml:1: the top level must be a mapping",
        ),
        (
            "tls_server_config:\n  cert_file: cert.pem\n",
            "web.yml:1: tls_server_config: missing one of key or key_file",
        ),
        (
            TLS + "  cert: x\n",
            "web.yml:2: tls_server_config.cert_file: cert and cert_file are exclusive",
        ),
        (
            TLS + "  key_file: nope.pem\n",
            "web.yml:3: tls_server_config.key_file: cannot read {dir}/nope.pem",
        ),
        (
            TLS + "  client_auth_type: Sometimes\n",
            "web.yml:4: tls_server_config.client_auth_type: Input should be 'NoClientCert', "
            "'RequestClientCert', 'RequireAnyClientCert', 'RequireClientCert', "
            "'VerifyClientCertIfGiven' or 'RequireAndVerifyClientCert'",
        ),
        (
            TLS + "  client_ca_file: ca.pem\n",
            "web.yml:4: tls_server_config.client_ca_file: a client CA is set but "
            "client_auth_type is NoClientCert",
        ),
        (
            TLS + "  client_auth_type: RequireAndVerifyClientCert\n",
            "web.yml:4: tls_server_config.client_auth_type: RequireAndVerifyClientCert needs "
            "client_ca_file or client_ca",
        ),
        (
            TLS + "  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.pem\n"
            "  client_allowed_sans: [a]\n",
            "web.yml:6: tls_server_config.client_allowed_sans: client_allowed_sans needs "
            "client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert",
        ),
        (
            TLS + "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: cert.pem\n"
            "  client_ca: x\n",
            "web.yml:5: tls_server_config.client_ca_file: client_ca and client_ca_file are "
            "exclusive",
        ),
        (
            TLS + "  min_version: TLS13\n  max_version: TLS12\n",
            "web.yml:4: tls_server_config.min_version: min_version is above max_version",
        ),
        (
            TLS + "  min_version: SSL3\n",
            "web.yml:4: tls_server_config.min_version: Input should be 'TLS10', 'TLS11', "
            "'TLS12' or 'TLS13'",
        ),
        (
            TLS + "  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n",
            "web.yml:4: tls_server_config.cipher_suites[0]: unknown cipher "
            "'TLS_RSA_WITH_RC4_128_SHA'",
        ),
        (
            TLS + "  curve_preferences: [CurveP256, X25519]\n",
            "web.yml:4: tls_server_config.curve_preferences: at most one curve: Python's ssl "
            "module sets a single group",
        ),
        (
            TLS + "  curve_preferences: [P-256]\n",
            "web.yml:4: tls_server_config.curve_preferences[0]: unknown curve 'P-256'",
        ),
        (
            "http_server_config:\n  headers:\n    Server: nginx\n",
            "web.yml:3: http_server_config.headers.Server: HTTP header 'Server' can not be "
            "configured",
        ),
        (
            "http_server_config:\n  headers:\n    X-Frame-Options: allow-from\n",
            "web.yml:3: http_server_config.headers.X-Frame-Options: must be one of deny, "
            "sameorigin",
        ),
        (
            "http_server_config:\n  http2: perhaps\n",
            "web.yml:2: http_server_config.http2: Input should be a valid boolean, unable to "
            "interpret input",
        ),
        (
            "basic_auth_users:\n  alice: hunter2\n",
            "web.yml:2: basic_auth_users.alice: password is not a bcrypt hash",
        ),
        (
            "basic_auth_users:\n  'a:b': " + HASH + "\n",
            "web.yml:2: basic_auth_users.a:b: user names must be set, without ':'",
        ),
        (
            "rate_limit: {interval: 1s}\n",
            "web.yml:1: rate_limit.burst: burst must be at least 1",
        ),
        (
            "rate_limit: {interval: 1 second, burst: 1}\n",
            "web.yml:1: rate_limit.interval: invalid duration '1 second': use a number and a "
            "unit, e.g. 15s, 200ms, 1m30s",
        ),
        (
            "ghost_unauthenticated_paths: [-/healthy]\n",
            "web.yml:1: ghost_unauthenticated_paths[0]: must be an absolute path",
        ),
    ],
)
def test_bad_web_configs(certs: Path, text: str, error: str) -> None:
    path = certs / "web.yml"
    path.write_text(text)
    with pytest.raises(ConfigError) as refused:
        load_web_config(path)
    assert str(refused.value) == error.format(dir=certs).replace("web.yml", str(path), 1)
    assert "hunter2" not in str(refused.value)


def test_good_web_configs(certs: Path) -> None:
    empty = parse_web_config("", "web.yml")
    assert empty.ssl_context() is None
    assert not empty.basic_auth
    sections = parse_web_config("tls_server_config:\nhttp_server_config:\nbasic_auth_users:\n")
    assert sections.ssl_context() is None
    path = certs / "web.yml"
    path.write_text(
        TLS + "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n"
        "  min_version: TLS13\n  curve_preferences: [X25519]\n"
        f"basic_auth_users:\n  alice: {HASH}\nghost_unauthenticated_paths: [/-/healthy]\n"
    )
    web_config = load_web_config(path)
    assert web_config.ssl_context() is not None
    assert web_config.basic_auth
    assert web_config.unauthenticated_paths == {"/-/healthy"}
    assert HASH not in repr(web_config)


def test_secrets_read_with_tags_never_show_in_errors(
    certs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GHOST_WEB_SECRET", "web-5ecret-value-31f")
    path = certs / "web.yml"
    path.write_text("rate_limit: {interval: !env GHOST_WEB_SECRET, burst: 1}\n")
    with pytest.raises(ConfigError) as refused:
        load_web_config(path)
    assert "web-5ecret-value-31f" not in str(refused.value)
    assert "<secret>" in str(refused.value)


# -- basic auth: the one implementation every program uses -----------------------------------


def basic(user: str, password: bytes) -> str:
    return "Basic " + base64.b64encode(user.encode() + b":" + password).decode()


async def test_an_unknown_user_costs_one_bcrypt_check_against_the_decoy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cheap = bcrypt.hashpw(b"other", bcrypt.gensalt(4))
    auth = BasicAuth({"alice": HASH.encode(), "bob": cheap})
    calls = instrument_checkpw(monkeypatch)
    assert await auth.authenticate(basic("mallory", b"pw")) is None
    assert calls.hashes == [auth.decoy]
    assert await auth.authenticate(basic("alice", b"wrong")) is None
    assert await auth.authenticate(basic("alice", b"pw")) == "alice"
    assert calls.hashes == [auth.decoy, HASH.encode(), HASH.encode()]
    # The decoy is a hash bcrypt takes (a malformed one would be refused without the work),
    # of the highest configured cost, and no password matches it.
    assert BCRYPT_HASH.match(auth.decoy.decode())
    assert auth.decoy.startswith(HASH[:7].encode())
    assert bcrypt.checkpw(b"pw", auth.decoy) is False
    assert BasicAuth({}).decoy.startswith(b"$2b$10$")


@pytest.mark.parametrize("length", [73, 10 * 1024])
async def test_a_password_over_72_bytes_is_refused_not_an_error(
    monkeypatch: pytest.MonkeyPatch, length: int
) -> None:
    password = b"p" * 72
    auth = BasicAuth({"alice": bcrypt.hashpw(password, bcrypt.gensalt(4))})
    calls = instrument_checkpw(monkeypatch)
    assert await auth.authenticate(basic("alice", password)) == "alice"
    # bcrypt 4 would truncate to the 72 bytes above and accept; bcrypt 5 raises ValueError.
    longer = (password + b"x" * length)[:length]
    assert await auth.authenticate(basic("alice", longer)) is None
    assert await auth.authenticate(basic("nobody", longer)) is None
    assert await auth.check(basic("alice", longer)) is False
    assert len(calls.hashes) == 1  # refused before any check, known user or not


@pytest.mark.parametrize("bound", [1, 3])
async def test_concurrent_bcrypt_checks_never_exceed_the_bound(
    monkeypatch: pytest.MonkeyPatch, bound: int
) -> None:
    auth = BasicAuth({"alice": HASH.encode()}, max_checks=bound, max_waiting=100)
    calls = instrument_checkpw(monkeypatch, hold=0.02)
    headers = [basic("alice" if i % 2 else f"user{i}", f"guess-{i}".encode()) for i in range(12)]
    users = await asyncio.gather(*(auth.authenticate(header) for header in headers))
    assert users == [None] * 12
    assert len(calls.hashes) == 12  # each guess (known user or not) cost one check
    assert 1 <= calls.peak <= bound


async def test_beyond_max_waiting_a_check_is_refused_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    auth = BasicAuth({"alice": HASH.encode()}, max_waiting=3)
    calls = instrument_checkpw(monkeypatch, hold=0.02)
    flood = [asyncio.create_task(auth.check(basic("alice", f"g{i}".encode()))) for i in range(10)]
    verdicts = await asyncio.gather(*flood)
    assert verdicts.count(None) == 7  # TooManyChecks: a 429
    assert verdicts.count(False) == 3
    assert len(calls.hashes) == 3
    unknown = [auth.authenticate(basic("bob", f"{i}".encode())) for i in range(4)]
    answers = await asyncio.gather(*unknown, return_exceptions=True)
    assert answers[:3] == [None, None, None]
    assert isinstance(answers[3], TooManyChecks)  # unknown users queue as known ones do


async def test_use_swaps_the_users_and_forgets_the_verdicts() -> None:
    auth = BasicAuth({"alice": HASH.encode()})
    assert await auth.authenticate(basic("alice", b"pw")) == "alice"
    auth.use({"bob": HASH.encode()})
    assert await auth.authenticate(basic("alice", b"pw")) is None
    assert await auth.authenticate(basic("bob", b"pw")) == "bob"
