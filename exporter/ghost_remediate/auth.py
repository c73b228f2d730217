"""Authentication of notifications: ``Authorization: Bearer TOKEN`` (compared in constant time)
on top of the basic auth every program shares (:class:`ghost_common.webconfig.BasicAuth`:
bcrypt off the event loop, a bound on concurrent checks, a decoy hash for unknown users), or
a signed body (:class:`Signatures`, Grafana's webhook HMAC). Anything else is refused with 401."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Final

from ghost_common.webconfig import BasicAuth, TooManyChecks, basic_challenge

from .config import Config, HMACSpec

__all__ = ["BEARER_USER", "SIGNED_USER", "Authenticator", "Signatures", "TooManyChecks", "sign"]

BEARER_USER: Final = "(bearer token)"
SIGNED_USER: Final = "(hmac signature)"
#: At most this many signatures are remembered against replays (the oldest go first).
MAX_SIGNATURES: Final = 100_000


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The signature Grafana sends: lowercase hex HMAC-SHA256 of ``TIMESTAMP:BODY``."""
    return hmac.new(secret, timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()


class Signatures:
    """Checks signed notifications: the signature (constant-time), the timestamp (within
    ``tolerance`` of now, either way) and replays (a signature seen within the tolerance)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()  # signature: when it expires

    def check(self, spec: HMACSpec, headers: Mapping[str, str], body: bytes) -> str | None:
        """None when the request is signed and fresh, else why not."""
        now = self.clock()
        while self._seen and (
            next(iter(self._seen.values())) < now or len(self._seen) >= MAX_SIGNATURES
        ):
            self._seen.popitem(last=False)
        signature = headers.get(spec.header)
        timestamp = headers.get(spec.timestamp_header)
        if signature is None:
            return "no signature"
        if timestamp is None:
            return "no timestamp"
        expected = sign(spec.secret, timestamp, body)
        if not hmac.compare_digest(signature.strip().lower().encode(), expected.encode()):
            return "invalid signature"
        try:
            when = int(timestamp)
        except ValueError:
            return "invalid timestamp"
        if abs(now - when) > spec.tolerance:
            return "stale timestamp"
        if expected in self._seen:
            return "replayed signature"
        self._seen[expected] = when + spec.tolerance
        return None


class Authenticator:
    def __init__(self, config: Config, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.basic = BasicAuth(config.basic_auth_users)
        self.signatures = Signatures(clock)

    def use(self, config: Config) -> None:
        self.config = config
        self.basic.use(config.basic_auth_users)

    def signed(self, headers: Mapping[str, str], body: bytes) -> tuple[str | None, str]:
        """The user (SIGNED_USER) for a signed request, or None and why not."""
        spec = self.config.hmac
        if spec is None:
            return None, "no credentials"
        problem = self.signatures.check(spec, headers, body)
        return (None, problem) if problem else (SIGNED_USER, "")

    def challenge(self) -> str:
        """The WWW-Authenticate header of a 401."""
        if self.config.basic_auth_users:
            return basic_challenge("ghost-remediate")
        return 'Bearer realm="ghost-remediate"'

    async def user(self, header: str | None) -> str | None:
        """The authenticated user for an Authorization header, or None; raises TooManyChecks
        when too many password checks are queued."""
        if not header:
            return None
        scheme, _, credentials = header.strip().partition(" ")
        scheme = scheme.lower()
        token = self.config.bearer_token
        if scheme == "bearer" and token is not None:
            if hmac.compare_digest(credentials.strip().encode(), token.encode()):
                return BEARER_USER
            return None
        if scheme == "basic" and self.config.basic_auth_users:
            return await self.basic.authenticate(header)
        return None
