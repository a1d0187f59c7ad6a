"""Bearer JWTs: the development key, a configured PEM public key, a JWKS endpoint; roles and
their territory claims; what each principal may see."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from kit_helpers import make_settings
from sqlalchemy import Column, MetaData, String, Table, select

from cpts_kit.auth import Principal, Role, TokenVerifier, issue_dev_token
from cpts_kit.db import Database
from cpts_kit.problems import Problem

ISSUER, AUDIENCE = "cpts-dev", "cpts-platform"


async def refused(verifier: TokenVerifier, token: str) -> Problem:
    with pytest.raises(Problem) as caught:
        await verifier.verify(token)
    problem = caught.value
    assert problem.status == 401
    assert problem.type == "/problems/unauthorized"
    assert problem.headers == {"WWW-Authenticate": 'Bearer realm="cpts"'}
    return problem


def sign(key: ec.EllipticCurvePrivateKey, kid: str | None = None, **overrides: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {"sub": "someone", "role": "cnam", "iss": ISSUER, "aud": AUDIENCE, "iat": now}
    claims["exp"] = now + 600
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid} if kid else None)


# -- the development key ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "claims", "expected"),
    [
        ("cnam", {}, {}),
        ("dgos", {}, {}),
        ("auditor", {}, {}),
        ("integrator", {}, {}),
        ("ars", {"region": "94"}, {"region": "94"}),
        ("cpam", {"departement": "2A"}, {"departements": frozenset({"2A"})}),
        ("cpam", {"departement": ["2A", "2B"]}, {"departements": frozenset({"2A", "2B"})}),
        ("cpts", {"cpts": "cpts-42"}, {"cpts_id": "cpts-42"}),
    ],
)
async def test_a_dev_token_verifies_to_its_principal(
    tmp_path: Path, role: str, claims: dict[str, Any], expected: dict[str, Any]
) -> None:
    settings = make_settings(tmp_path)
    token = issue_dev_token(settings, role=role, subject=f"user-{role}", **claims)
    principal = await TokenVerifier(settings).verify(token)
    want = {"subject": f"user-{role}", "role": Role(role), "region": None, "departements": frozenset(), "cpts_id": None}
    assert principal == Principal(**{**want, **expected})
    assert principal.is_national == (role in {"cnam", "dgos", "auditor", "integrator"})
    assert settings.dev_private_key_file.exists()


async def test_the_dev_key_is_made_once_and_kept_private(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    token = issue_dev_token(settings, role="cnam")
    key = settings.dev_private_key_file.read_bytes()
    assert settings.dev_private_key_file.stat().st_mode & 0o777 == 0o600
    issue_dev_token(settings, role="dgos")
    assert settings.dev_private_key_file.read_bytes() == key
    assert (await TokenVerifier(make_settings(tmp_path)).verify(token)).role is Role.CNAM  # another process


async def test_an_expired_token_is_refused(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    problem = await refused(TokenVerifier(settings), issue_dev_token(settings, role="cnam", ttl_seconds=-60))
    assert "expired" in problem.detail.lower()


async def test_a_token_for_another_audience_or_issuer_is_refused(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    token = issue_dev_token(settings, role="cnam")
    await refused(TokenVerifier(make_settings(tmp_path, jwt_audience="another-platform")), token)
    await refused(TokenVerifier(make_settings(tmp_path, jwt_issuer="another-issuer")), token)
    assert (await TokenVerifier(settings).verify(token)).role is Role.CNAM  # the same token is fine here


async def test_a_token_signed_with_another_key_is_refused(tmp_path: Path) -> None:
    elsewhere = make_settings(tmp_path / "elsewhere")
    await refused(TokenVerifier(make_settings(tmp_path)), issue_dev_token(elsewhere, role="cnam"))


async def test_a_tampered_or_malformed_token_is_refused(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    verifier = TokenVerifier(settings)
    header, payload, signature = issue_dev_token(settings, role="cpts", cpts="cpts-1").split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    assert claims["role"] == "cpts"
    forged = jwt.utils.base64url_encode(json.dumps({**claims, "role": "cnam"}).encode()).decode()
    await refused(verifier, f"{header}.{forged}.{signature}")  # a CPTS user promoting itself
    assert (await verifier.verify(f"{header}.{payload}.{signature}")).role is Role.CPTS
    await refused(verifier, "not-a-jwt")
    unsigned = jwt.encode({"sub": "x", "role": "cnam", "iss": ISSUER, "aud": AUDIENCE, "exp": 2**31}, None, "none")
    await refused(verifier, unsigned)


@pytest.mark.parametrize("role", ["ars", "cpam", "cpts"])
async def test_a_territorial_token_without_its_territory_is_refused(tmp_path: Path, role: str) -> None:
    settings = make_settings(tmp_path)
    problem = await refused(TokenVerifier(settings), issue_dev_token(settings, role=role))
    assert problem.detail == f"A {role} token must carry its territory claim"


@pytest.mark.parametrize("role", ["patient", "", "CNAM"])
async def test_a_token_with_an_unknown_role_is_refused(tmp_path: Path, role: str) -> None:
    settings = make_settings(tmp_path)
    problem = await refused(TokenVerifier(settings), issue_dev_token(settings, role=role))
    assert problem.detail == "The token carries no known role"


# -- what a principal sees ----------------------------------------------------------------

NATION = [Principal("n1", Role.CNAM), Principal("n2", Role.DGOS), Principal("n3", Role.AUDITOR)]
NATION.append(Principal("n4", Role.INTEGRATOR))
ARS = Principal("a", Role.ARS, region="94")
CPAM = Principal("c", Role.CPAM, departements=frozenset({"2A", "2B"}))
CPTS = Principal("p", Role.CPTS, cpts_id="cpts-1")
PLACES = [  # (region, departement, cpts_id)
    ("94", "2A", "cpts-1"),
    ("94", "2B", "cpts-2"),
    ("94", None, None),
    ("84", "69", "cpts-1"),
    ("84", "2A", None),
    (None, None, "cpts-3"),
    (None, None, None),
]
SEES = {
    ARS: [True, True, True, False, False, False, False],
    CPAM: [True, True, False, False, True, False, False],
    CPTS: [True, False, False, True, False, False, False],
    **{principal: [True] * len(PLACES) for principal in NATION},
    # A territorial principal without its territory sees nothing.
    Principal("a0", Role.ARS): [False] * len(PLACES),
    Principal("c0", Role.CPAM): [False] * len(PLACES),
    Principal("p0", Role.CPTS): [False] * len(PLACES),
}


@pytest.mark.parametrize("principal", list(SEES), ids=lambda p: p.subject)
def test_principal_sees_its_territory_only(principal: Principal) -> None:
    seen = [principal.sees(region=r, departement=d, cpts_id=c) for r, d, c in PLACES]
    assert seen == SEES[principal]


async def test_the_scope_clause_selects_what_sees_allows(tmp_path: Path) -> None:
    places = Table(
        "places",
        MetaData(),
        Column("id", String(10), primary_key=True),
        Column("region", String(3)),
        Column("departement", String(3)),
        Column("cpts_id", String(20)),
    )
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'places.db'}")
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(places.create)
            await conn.execute(
                places.insert(),
                [{"id": str(i), "region": r, "departement": d, "cpts_id": c} for i, (r, d, c) in enumerate(PLACES)],
            )
            for principal, expected in SEES.items():
                clause = principal.scope_clause(
                    region=places.c.region, departement=places.c.departement, cpts_id=places.c.cpts_id
                )
                found = set((await conn.scalars(select(places.c.id).where(clause))).all())
                assert found == {str(i) for i, sees in enumerate(expected) if sees}, principal
    finally:
        await db.dispose()


def test_require_refuses_other_roles_with_a_403() -> None:
    CPTS.require(Role.CPTS, Role.CNAM)
    with pytest.raises(Problem) as caught:
        ARS.require(Role.CNAM, Role.DGOS)
    assert caught.value.status == 403 and "cnam, dgos" in caught.value.detail


# -- a configured public key --------------------------------------------------------------


@pytest.fixture
def signing_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


async def test_a_configured_pem_public_key_verifies_the_identity_provider_tokens(
    tmp_path: Path, signing_key: ec.EllipticCurvePrivateKey
) -> None:
    pem = tmp_path / "idp-public.pem"
    pem.write_bytes(
        signing_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    settings = make_settings(tmp_path, jwt_public_key_file=pem)
    verifier = TokenVerifier(settings)
    principal = await verifier.verify(sign(signing_key, sub="agent-7", role="cpam", departements=["13", "84"]))
    assert principal == Principal("agent-7", Role.CPAM, departements=frozenset({"13", "84"}))
    await refused(verifier, issue_dev_token(settings, role="cnam"))  # the dev key is not trusted any more
    await refused(verifier, sign(ec.generate_private_key(ec.SECP256R1())))
    await refused(verifier, sign(signing_key, sub=None))  # a subject is required
    await refused(verifier, sign(signing_key, exp=None))  # so is an expiry


# -- a JWKS endpoint ----------------------------------------------------------------------


class JwksServer:
    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                body = json.dumps({"keys": server.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/.well-known/jwks.json"

    def publish(self, kid: str, key: ec.EllipticCurvePrivateKey) -> None:
        jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
        self.keys.append({**jwk, "kid": kid, "alg": "ES256", "use": "sig"})


@pytest.fixture
def jwks() -> Iterator[JwksServer]:
    server = JwksServer()
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
        thread.join()


async def test_a_jwks_endpoint_verifies_the_identity_provider_tokens(
    tmp_path: Path, jwks: JwksServer, signing_key: ec.EllipticCurvePrivateKey
) -> None:
    other_key = ec.generate_private_key(ec.SECP256R1())
    jwks.publish("key-1", signing_key)
    jwks.publish("key-2", other_key)
    settings = make_settings(tmp_path, jwks_url=jwks.url)
    verifier = TokenVerifier(settings)

    ars = await verifier.verify(sign(signing_key, "key-1", sub="agent-1", role="ars", region="84"))
    assert ars == Principal("agent-1", Role.ARS, region="84")
    cpts = await verifier.verify(sign(other_key, "key-2", sub="agent-2", role="cpts", cpts="cpts-9"))
    assert cpts == Principal("agent-2", Role.CPTS, cpts_id="cpts-9")
    assert jwks.requests >= 1

    await refused(verifier, sign(signing_key, "key-2"))  # signed by key-1, claims key-2
    await refused(verifier, sign(ec.generate_private_key(ec.SECP256R1()), "key-unknown"))
    await refused(verifier, sign(signing_key, "key-1", aud="another-platform"))
    await refused(verifier, issue_dev_token(settings, role="cnam"))  # no kid, not an IdP key
