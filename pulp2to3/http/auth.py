"""HTTP Basic authentication against the configured credentials.

The password is kept only as a salted PBKDF2 hash, and a presented password is compared by
hash in constant time. Paths in ``PUBLIC_PATHS`` (status, the API description) and everything
outside the API (the content app) need no credentials, as in Pulp; ``/metrics``, outside the
API, does (Prometheus scrapes with ``basic_auth``): it names every migration and its figures.

The PBKDF2 derivation (milliseconds of CPU) runs off the event loop, so that a flood of wrong
passwords does not hold up every other request; the right credentials, once verified, are
known by a keyed digest and skip it (a wrong pair always pays it: guessing stays slow).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import hashlib
import hmac
import os

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

from pulp2to3.http.errors import APIError

API_PREFIX = "/pulp/api/v3/"
PUBLIC_PATHS = frozenset({f"{API_PREFIX}status/", f"{API_PREFIX}docs/api.json"})
PRIVATE_PATHS = frozenset({"/metrics"})
CHALLENGE = {"WWW-Authenticate": 'Basic realm="pulp"'}
# Enough to make a stolen hash costly, cheap enough (a few ms) to run on every request.
_ITERATIONS = 20_000


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def _derive(password: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _ITERATIONS)


@dataclasses.dataclass(frozen=True)
class Credentials:
    user: str
    salt: bytes
    password_hash: bytes

    @classmethod
    def hashed(cls, user: str, password: str) -> Credentials:
        salt = os.urandom(16)
        return cls(user, salt, _derive(password, salt))

    def check(self, user: str, password: str) -> bool:
        """In the same time whichever part is wrong: both are compared, always, and the user
        names by digest, so that not even their lengths tell."""
        user_ok = hmac.compare_digest(_digest(user), _digest(self.user))
        password_ok = hmac.compare_digest(_derive(password, self.salt), self.password_hash)
        return user_ok & password_ok


def parse_basic(header: str) -> tuple[str, str] | None:
    """``(user, password)`` from an ``Authorization: Basic ...`` value, None if malformed."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def auth_middleware(credentials: Credentials | None) -> Middleware:
    """Require credentials under the API; ``None`` (``--insecure-dev``) lets everything in."""

    key = os.urandom(32)
    verified: set[bytes] = set()  # keyed digests of the credentials found right

    async def is_right(user: str, password: str) -> bool:
        assert credentials is not None
        token = hmac.digest(key, f"{len(user)}:{user}:{password}".encode(), "sha256")
        if token in verified:  # a secret-keyed digest: its lookup time tells nothing useful
            return True
        right = await asyncio.to_thread(credentials.check, user, password)
        if right:
            verified.add(token)
        return right

    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        private = path.startswith(API_PREFIX) and path not in PUBLIC_PATHS
        if credentials is not None and (private or path in PRIVATE_PATHS):
            presented = parse_basic(request.headers.get(hdrs.AUTHORIZATION, ""))
            if presented is None:
                raise APIError(
                    401, "Authentication credentials were not provided.", headers=CHALLENGE
                )
            if not await is_right(*presented):
                raise APIError(401, "Invalid username/password.", headers=CHALLENGE)
        return await handler(request)

    return authenticate
