"""Authentication of notifications: ``Authorization: Bearer TOKEN`` (compared in constant time)
on top of the basic auth every program shares (:class:`ghost_exporter.webconfig.BasicAuth`:
bcrypt off the event loop, a bound on concurrent checks, a decoy hash for unknown users).
Anything else is refused with 401."""

from __future__ import annotations

import hmac
from typing import Final

from ghost_exporter.webconfig import BasicAuth, TooManyChecks

from .config import Config

__all__ = ["BEARER_USER", "Authenticator", "TooManyChecks"]

BEARER_USER: Final = "(bearer token)"


class Authenticator:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.basic = BasicAuth(config.basic_auth_users)

    def use(self, config: Config) -> None:
        self.config = config
        self.basic.use(config.basic_auth_users)

    def challenge(self) -> str:
        """The WWW-Authenticate header of a 401."""
        if self.config.basic_auth_users:
            return 'Basic realm="ghost-remediate", charset="UTF-8"'
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
