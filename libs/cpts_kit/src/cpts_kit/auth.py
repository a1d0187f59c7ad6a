"""OAuth2 bearer JWTs, roles and territorial scope.

Tokens are verified with a configured PEM public key or a JWKS endpoint (the identity
provider in production). In embedded mode (``CPTS_EMBEDDED=true``: what ``cpts run`` and the
tests set), with neither configured, a development key pair is generated under the state folder
and ``cpts token`` signs tokens with it; outside embedded mode a service without a key refuses
to start (:class:`KeyNotConfigured`) rather than trust a key anyone on the host can read.

Whatever a token holds, a bad one is a 401 problem, never a 500: the algorithm must be the
key's own (an ``RS256`` header against an EC key is refused before any key is prepared), claims
must have their types, a token is at most ``max_token_bytes`` long and expires at most
``max_token_lifetime_seconds`` ahead. A verified token is kept in a bounded cache, keyed by its
SHA-256, until it expires: a client sending the same token on every request is checked once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import ColumnElement, false, true
from sqlalchemy.orm import InstrumentedAttribute

from cpts_kit.problems import Problem
from cpts_kit.settings import ServiceSettings

Column = ColumnElement[Any] | InstrumentedAttribute[Any]
ALGORITHMS = ["ES256", "RS256", "EdDSA"]
# The one family of algorithms each key type verifies: a header naming another is refused.
_EC_ALGORITHMS = {"secp256r1": ["ES256"], "secp384r1": ["ES384"], "secp521r1": ["ES512"]}
_TERRITORY_CODE = re.compile(r"^[0-9A-Za-z]{1,3}$")


class Role(StrEnum):
    CNAM = "cnam"
    DGOS = "dgos"
    ARS = "ars"
    CPAM = "cpam"
    CPTS = "cpts"
    AUDITOR = "auditor"
    INTEGRATOR = "integrator"


NATIONAL_ROLES = frozenset({Role.CNAM, Role.DGOS, Role.AUDITOR, Role.INTEGRATOR})


@dataclass(frozen=True)
class Principal:
    """Who calls, and which territory they may see: a region (ARS), départements (CPAM),
    one CPTS, or the nation."""

    subject: str
    role: Role
    region: str | None = None
    departements: frozenset[str] = field(default_factory=frozenset)
    cpts_id: str | None = None

    @property
    def is_national(self) -> bool:
        return self.role in NATIONAL_ROLES

    @property
    def scope_key(self) -> tuple[object, ...]:
        """What the caller's answers depend on (their role and territory, not who they are)."""
        return (self.role, self.region, self.departements, self.cpts_id)

    def sees(self, *, region: str | None, departement: str | None, cpts_id: str | None) -> bool:
        if self.is_national:
            return True
        if self.role is Role.ARS:
            return region is not None and region == self.region
        if self.role is Role.CPAM:
            return departement is not None and departement in self.departements
        return cpts_id is not None and cpts_id == self.cpts_id

    def scope_clause(
        self,
        *,
        region: Column,
        departement: Column,
        cpts_id: Column,
    ) -> ColumnElement[bool]:
        """The same rule as :meth:`sees`, as a SQL condition for lists, counts and aggregates."""
        if self.is_national:
            return true()
        if self.role is Role.ARS:
            return region == self.region if self.region else false()
        if self.role is Role.CPAM:
            return departement.in_(sorted(self.departements)) if self.departements else false()
        return cpts_id == self.cpts_id if self.cpts_id else false()

    def require(self, *roles: Role) -> None:
        if self.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Problem(
                403, f"The role {self.role.value} may not do this (allowed: {allowed})", type_="/problems/forbidden"
            )


def _text_claim(claims: dict[str, Any], name: str, *, max_length: int = 200) -> str | None:
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise _unauthorized(f"The token's {name} claim must be a non-empty string")
    return value


def _departements_claim(claims: dict[str, Any]) -> frozenset[str]:
    raw = claims.get("departement")
    if raw is None:
        raw = claims.get("departements")
    if raw is None:
        return frozenset()
    values = [raw] if isinstance(raw, str) else raw
    if not isinstance(values, list) or len(values) > 200:
        raise _unauthorized("The token's departements claim must be a code or a list of codes")
    if not all(isinstance(d, str) and _TERRITORY_CODE.match(d) for d in values):
        raise _unauthorized("The token's departements claim must be a code or a list of codes")
    return frozenset(values)


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """The caller the claims describe; a 401 problem when a claim is missing or of the wrong type."""
    role_claim = claims.get("role")
    try:
        role = Role(role_claim if isinstance(role_claim, str) else "")
    except ValueError as exc:
        raise _unauthorized("The token carries no known role") from exc
    region = _text_claim(claims, "region")
    if region is not None and not _TERRITORY_CODE.match(region):
        raise _unauthorized("The token's region claim must be an INSEE region code")
    principal = Principal(
        subject=_text_claim(claims, "sub", max_length=1000) or "",
        role=role,
        region=region,
        departements=_departements_claim(claims),
        cpts_id=_text_claim(claims, "cpts"),
    )
    missing = {
        Role.ARS: principal.region is None,
        Role.CPAM: not principal.departements,
        Role.CPTS: principal.cpts_id is None,
    }.get(role, False)
    if missing:
        raise _unauthorized(f"A {role.value} token must carry its territory claim")
    return principal


def _unauthorized(detail: str) -> Problem:
    return Problem(401, detail, type_="/problems/unauthorized", headers={"WWW-Authenticate": 'Bearer realm="cpts"'})


class KeyNotConfigured(RuntimeError):
    """A service outside embedded mode has neither a public key nor a JWKS endpoint."""


def ensure_dev_key(settings: ServiceSettings) -> Path:
    """Create the development signing key once (embedded mode only).

    The key is written to a file created readable by its owner only (``O_EXCL``, mode 0600:
    never world-readable, even for an instant), then linked into place: when several services
    start together, the first link wins and every process uses that key."""
    path = settings.dev_private_key_file
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process made the key first: use it
            os.link(tmp, path)  # atomic
    finally:
        tmp.unlink(missing_ok=True)
    return path


def issue_dev_token(
    settings: ServiceSettings,
    *,
    role: str,
    region: str | None = None,
    departement: str | list[str] | None = None,
    cpts: str | None = None,
    subject: str | None = None,
    ttl_seconds: int = 8 * 3600,
) -> str:
    key = ensure_dev_key(settings).read_bytes()
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject or f"dev-{role}",
        "role": role,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    for name, value in (("region", region), ("departement", departement), ("cpts", cpts)):
        if value:
            claims[name] = value
    return jwt.encode(claims, key, algorithm="ES256")


def algorithms_for(key: Any) -> list[str]:
    """The algorithms a key may verify: a token naming any other is refused unprepared."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        return _EC_ALGORITHMS.get(key.curve.name, [])
    if isinstance(key, rsa.RSAPublicKey):
        return ["RS256", "RS384", "RS512"]
    if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return ["EdDSA"]
    return []


class VerifiedTokens:
    """Principals of verified tokens, keyed by the token's SHA-256, each until its ``exp``;
    at most ``capacity`` of them (the least recently used leaves first)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[bytes, tuple[Principal, float]] = OrderedDict()

    @staticmethod
    def key(token: str) -> bytes:
        return hashlib.sha256(token.encode()).digest()

    def get(self, token: str, now: float) -> Principal | None:
        digest = self.key(token)
        entry = self._entries.get(digest)
        if entry is None:
            return None
        principal, expires = entry
        if expires <= now:
            del self._entries[digest]
            return None
        self._entries.move_to_end(digest)
        return principal

    def put(self, token: str, principal: Principal, expires: float) -> None:
        if self.capacity <= 0:
            return
        self._entries[self.key(token)] = (principal, expires)
        self._entries.move_to_end(self.key(token))
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class TokenVerifier:
    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.cache = VerifiedTokens(settings.token_cache_size)
        self._jwks = jwt.PyJWKClient(settings.jwks_url, cache_keys=True) if settings.jwks_url else None
        self._public_key: Any = None
        if self._jwks:
            return
        if settings.jwt_public_key_file:
            pem = settings.jwt_public_key_file.read_bytes()
            self._public_key = serialization.load_pem_public_key(pem)
        elif settings.embedded:
            private = serialization.load_pem_private_key(ensure_dev_key(settings).read_bytes(), None)
            self._public_key = private.public_key()
        else:
            raise KeyNotConfigured(
                f"{settings.service_name}: no token key configured. Set CPTS_JWT_PUBLIC_KEY_FILE or CPTS_JWKS_URL "
                "(the identity provider's key); the development key is used only in embedded mode (CPTS_EMBEDDED=true)"
            )

    async def verify(self, token: str) -> Principal:
        if len(token) > self.settings.max_token_bytes:
            raise _unauthorized(f"The bearer token is longer than {self.settings.max_token_bytes} bytes")
        now = time.time()
        if (cached := self.cache.get(token, now)) is not None:
            return cached
        try:
            key: Any = self._public_key
            if self._jwks is not None:
                jwks = self._jwks
                key = (await asyncio.to_thread(jwks.get_signing_key_from_jwt, token)).key
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms_for(key),
                audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer,
                options={"require": ["exp", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise _unauthorized(f"The bearer token is invalid: {exc}") from exc
        except (TypeError, ValueError, KeyError) as exc:  # a key or header PyJWT could not use
            raise _unauthorized("The bearer token is invalid: it cannot be verified with the configured key") from exc
        expires = claims["exp"]
        if not isinstance(expires, int | float) or expires - now > self.settings.max_token_lifetime_seconds:
            raise _unauthorized(
                f"The bearer token expires more than {self.settings.max_token_lifetime_seconds} seconds from now"
            )
        principal = principal_from_claims(claims)
        self.cache.put(token, principal, float(expires))
        return principal


bearer_scheme = HTTPBearer(auto_error=False, description="OAuth2 bearer JWT (role and territory claims)")


async def current_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]
) -> Principal:
    """FastAPI dependency: the verified caller, or a 401 problem."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise _unauthorized("A bearer token is required")
    verifier: TokenVerifier = request.app.state.verifier
    principal = await verifier.verify(credentials.credentials.strip())
    request.state.principal = principal
    return principal
