"""Basic auth (bcrypt, cached), client certificate SANs, rate limit and response headers."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import ipaddress
import secrets
import time
from collections.abc import Mapping
from typing import Any, Final

import bcrypt
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from ghost_common.webconfig.model import BCRYPT_HASH, WebConfig


def _parse_basic(header: str | None) -> tuple[str, bytes] | None:
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        raw = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, sep, password = raw.partition(b":")
    if not sep:
        return None
    try:
        return user.decode("utf-8"), password
    except UnicodeDecodeError:
        return None


#: bcrypt reads at most this many bytes of a password: a longer one is refused, whatever the
#: bcrypt version (4 truncates it silently, 5 raises ValueError).
MAX_PASSWORD_BYTES: Final = 72
#: The characters of bcrypt's base64.
_BCRYPT_ALPHABET: Final = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _checkpw(password: bytes, hashed: bytes) -> bool:
    """One bcrypt check (slow on purpose; runs in a worker thread)."""
    try:
        return bcrypt.checkpw(password, hashed)
    except ValueError:  # over 72 bytes, or a hash bcrypt does not take
        return False


def decoy_hash(cost: int) -> bytes:
    """A well-formed bcrypt hash of cost ``cost`` that no password matches (random salt and
    digest): checking a password against it costs a full bcrypt, and building it costs none."""
    digest = "".join(secrets.choice(_BCRYPT_ALPHABET) for _ in range(31))
    return bcrypt.gensalt(cost) + digest.encode()


class TooManyChecks(Exception):
    """``max_waiting`` password checks are queued already: answer 429 and let the client retry."""


class BasicAuth:
    """Checks ``Authorization: Basic`` against bcrypt hashes: the one implementation of basic
    auth for every program (ghost-remediate's bearer token is a layer on top of it).

    A verdict is cached per (user, hash, password), keyed by an HMAC under a key of this process
    so that no password is kept. bcrypt runs in worker threads, at most ``max_checks`` at a time
    (a semaphore), so a flood of wrong passwords costs that many cores at most; beyond
    ``max_waiting`` queued checks a request is refused at once (TooManyChecks). An unknown user
    is checked against a decoy hash of the highest configured cost, so that it costs one bcrypt
    check as a known user with a wrong password does. A password over 72 bytes is refused
    without a check.
    """

    def __init__(
        self,
        users: Mapping[str, bytes],
        cache_size: int = 1024,
        max_waiting: int = 64,
        max_checks: int = 1,
    ) -> None:
        self.cache_size = cache_size
        self.max_waiting = max_waiting
        self.max_checks = max_checks
        self._key = secrets.token_bytes(32)
        self._cache: dict[bytes, bool] = {}
        self._checks = asyncio.Semaphore(max_checks)
        self._waiting = 0
        self.use(users)

    def use(self, users: Mapping[str, bytes]) -> None:
        """Check against ``users`` from now on (a reload); cached verdicts are forgotten, the
        bound on checks carries on."""
        self.users = dict(users)
        self._cache.clear()
        costs = [int(m.group(1)) for h in users.values() if (m := BCRYPT_HASH.match(h.decode()))]
        self.decoy = decoy_hash(max(costs, default=10))

    async def check(self, header: str | None) -> bool | None:
        """True: authenticated; False: not; None: too many checks waiting (try later)."""
        try:
            return await self.authenticate(header) is not None
        except TooManyChecks:
            return None

    async def authenticate(self, header: str | None) -> str | None:
        """The user an ``Authorization`` header authenticates, or None; raises TooManyChecks
        when ``max_waiting`` checks are queued already."""
        credentials = _parse_basic(header)
        if credentials is None:
            return None
        user, password = credentials
        if len(password) > MAX_PASSWORD_BYTES:
            return None
        hashed = self.users.get(user)
        key = hmac.new(
            self._key, b"\0".join((user.encode(), hashed or b"", password)), hashlib.sha256
        ).digest()
        verdict = self._cache.get(key)
        if verdict is None:
            verdict = await self._verify(key, password, hashed)
        return user if verdict and hashed is not None else None

    async def _verify(self, key: bytes, password: bytes, hashed: bytes | None) -> bool:
        if self._waiting >= self.max_waiting:
            raise TooManyChecks
        self._waiting += 1
        try:
            async with self._checks:
                verdict = self._cache.get(key)
                if verdict is None:
                    checked = await asyncio.to_thread(_checkpw, password, hashed or self.decoy)
                    verdict = checked and hashed is not None
                    self._remember(key, verdict)
        finally:
            self._waiting -= 1
        return verdict

    def _remember(self, key: bytes, verdict: bool) -> None:
        if len(self._cache) >= self.cache_size:
            del self._cache[next(iter(self._cache))]
        self._cache[key] = verdict


class _TokenBucket:
    """exporter-toolkit's ``rate_limit``: one token per ``interval``, up to ``burst`` saved."""

    def __init__(self, interval: float, burst: int) -> None:
        self.interval = interval
        self.burst = burst
        self.tokens = float(burst)
        self.updated = time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) / self.interval)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def _san_values(peercert: Mapping[str, Any] | None) -> set[str]:
    values: set[str] = set()
    for kind, value in (peercert or {}).get("subjectAltName", ()):
        if kind == "IP Address":
            try:
                values.add(str(ipaddress.ip_address(value.strip())))
            except ValueError:
                values.add(value)
        else:
            values.add(value)
    return values


def _allowed_sans(sans: list[str]) -> set[str]:
    out = set()
    for san in sans:
        try:
            out.add(str(ipaddress.ip_address(san)))
        except ValueError:
            out.add(san)
    return out


def basic_challenge(realm: str) -> str:
    """The ``WWW-Authenticate`` header of a 401 asking for basic auth."""
    return f'Basic realm="{realm}", charset="UTF-8"'


def auth_middleware(web_config: WebConfig, realm: str = "ghost-exporter") -> Middleware:
    """The middleware enforcing ``rate_limit``, ``client_allowed_sans`` and ``basic_auth_users``
    on every route except the ``ghost_unauthenticated_paths`` (matched on the route's path)."""
    auth = BasicAuth(web_config.users) if web_config.users else None
    bucket = (
        _TokenBucket(web_config.rate_interval, web_config.rate_burst)
        if web_config.rate_interval > 0
        else None
    )
    sans = (
        _allowed_sans(web_config.tls.client_allowed_sans)
        if web_config.tls is not None and web_config.tls.client_allowed_sans is not None
        else None
    )
    challenge = basic_challenge(realm)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if bucket is not None and not bucket.allow():
            raise web.HTTPTooManyRequests(text="Too Many Requests\n")
        if sans is not None:
            transport = request.transport
            peercert = transport.get_extra_info("peercert") if transport is not None else None
            if not sans & _san_values(peercert):
                raise web.HTTPForbidden(text="client certificate not allowed\n")
        if auth is not None and not _is_open(request, web_config.unauthenticated_paths):
            try:
                user = await auth.authenticate(request.headers.get("Authorization"))
            except TooManyChecks:
                raise web.HTTPTooManyRequests(
                    text="Too Many Requests\n", headers={"Retry-After": "1"}
                ) from None
            if user is None:
                raise web.HTTPUnauthorized(
                    text="Unauthorized\n", headers={"WWW-Authenticate": challenge}
                )
        return await handler(request)

    return middleware


def _is_open(request: web.Request, paths: frozenset[str]) -> bool:
    if not paths:
        return False
    resource = request.match_info.route.resource
    return resource is not None and resource.canonical in paths


def apply_web_config(
    app: web.Application, web_config: WebConfig, realm: str = "ghost-exporter"
) -> None:
    """Install the auth middleware and the configured response headers on ``app``."""
    app.middlewares.append(auth_middleware(web_config, realm))
    if web_config.headers:
        headers = dict(web_config.headers)

        async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
            response.headers.update(headers)

        app.on_response_prepare.append(add_headers)
