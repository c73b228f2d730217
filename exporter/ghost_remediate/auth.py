"""Authentication of notifications: ``Authorization: Bearer TOKEN`` or ``Basic`` against bcrypt
hashes. Anything else is refused with 401."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import secrets
from collections import OrderedDict
from typing import Final

import bcrypt

from .config import Config

BEARER_USER: Final = "(bearer token)"
#: Successful basic auth checks remembered (bcrypt is slow on purpose: ~0.25 s per check).
CACHE_SIZE: Final = 64


class Authenticator:
    def __init__(self, config: Config) -> None:
        self.config = config
        self._key = secrets.token_bytes(32)
        self._verified: OrderedDict[bytes, None] = OrderedDict()

    def use(self, config: Config) -> None:
        self.config = config
        self._verified.clear()

    def challenge(self) -> str:
        """The WWW-Authenticate header of a 401."""
        if self.config.basic_auth_users:
            return 'Basic realm="ghost-remediate", charset="UTF-8"'
        return 'Bearer realm="ghost-remediate"'

    async def user(self, header: str | None) -> str | None:
        """The authenticated user for an Authorization header, or None."""
        if not header:
            return None
        scheme, _, credentials = header.partition(" ")
        credentials = credentials.strip()
        scheme = scheme.lower()
        token = self.config.bearer_token
        if scheme == "bearer" and token is not None:
            if hmac.compare_digest(credentials.encode(), token.encode()):
                return BEARER_USER
            return None
        if scheme == "basic" and self.config.basic_auth_users:
            return await self._basic(credentials)
        return None

    async def _basic(self, credentials: str) -> str | None:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, sep, password = decoded.partition(":")
        hashed = self.config.basic_auth_users.get(user)
        if not sep or hashed is None:
            return None
        cache_key = hmac.new(self._key, decoded.encode() + b"\0" + hashed, hashlib.sha256).digest()
        if cache_key in self._verified:
            self._verified.move_to_end(cache_key)
            return user
        ok = await asyncio.to_thread(bcrypt.checkpw, password.encode(), hashed)
        if not ok:
            return None
        self._verified[cache_key] = None
        while len(self._verified) > CACHE_SIZE:
            self._verified.popitem(last=False)
        return user
