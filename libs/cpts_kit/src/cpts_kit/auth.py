"""OAuth2 bearer JWTs, roles and territorial scope.

Tokens are verified with a configured PEM public key or a JWKS endpoint (the identity
provider in production). In embedded mode, with neither configured, a development key pair is
generated under the state folder and ``cpts token`` signs tokens with it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import ColumnElement, false, true
from sqlalchemy.orm import InstrumentedAttribute

from cpts_kit.problems import Problem
from cpts_kit.settings import ServiceSettings

Column = ColumnElement[Any] | InstrumentedAttribute[Any]
ALGORITHMS = ["ES256", "RS256", "EdDSA"]


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


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    try:
        role = Role(str(claims.get("role", "")))
    except ValueError as exc:
        raise _unauthorized("The token carries no known role") from exc
    deps = claims.get("departement") or claims.get("departements") or []
    departements = frozenset([deps] if isinstance(deps, str) else [str(d) for d in deps])
    principal = Principal(
        subject=str(claims.get("sub", "")),
        role=role,
        region=claims.get("region"),
        departements=departements,
        cpts_id=claims.get("cpts"),
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


def ensure_dev_key(settings: ServiceSettings) -> Path:
    """Create the development signing key once (embedded mode only)."""
    path = settings.dev_private_key_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(pem)
        tmp.chmod(0o600)
        tmp.replace(path)
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


class TokenVerifier:
    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self._jwks = jwt.PyJWKClient(settings.jwks_url, cache_keys=True) if settings.jwks_url else None
        self._public_key: Any = None
        if not self._jwks:
            if settings.jwt_public_key_file:
                pem = settings.jwt_public_key_file.read_bytes()
                self._public_key = serialization.load_pem_public_key(pem)
            else:
                private = serialization.load_pem_private_key(ensure_dev_key(settings).read_bytes(), None)
                self._public_key = private.public_key()

    async def verify(self, token: str) -> Principal:
        try:
            key: Any = self._public_key
            if self._jwks is not None:
                jwks = self._jwks
                key = (await asyncio.to_thread(jwks.get_signing_key_from_jwt, token)).key
            claims = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer,
                options={"require": ["exp", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise _unauthorized(f"The bearer token is invalid: {exc}") from exc
        return principal_from_claims(claims)


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
