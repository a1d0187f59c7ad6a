"""Bearer JWTs: the development key, a configured PEM public key, a JWKS endpoint; roles and
their territory claims; what each principal may see."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from kit_helpers import make_settings
from sqlalchemy import Column, MetaData, String, Table, select

from cpts_kit.auth import Principal, Role, TokenVerifier, VerifiedTokens, issue_dev_token
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


# -- hostile tokens: every one is a 401, never a 500 --------------------------------------


@pytest.fixture
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


async def test_an_algorithm_of_another_key_type_is_refused(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    settings = make_settings(tmp_path)
    verifier = TokenVerifier(settings)  # the development key: EC P-256
    claims = {"sub": "x", "role": "cnam", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60}
    for token in (
        jwt.encode(claims, rsa_key, algorithm="RS256"),
        jwt.encode(claims, rsa_key, algorithm="PS256"),
        jwt.encode(claims, "a-shared-secret-of-32-bytes-long!!", algorithm="HS256"),
        jwt.encode(claims, ec.generate_private_key(ec.SECP384R1()), algorithm="ES384"),
    ):
        problem = await refused(verifier, token)
        assert "alg value is not allowed" in problem.detail
    # The other way round: an RSA key configured, a token whose header says ES256.
    pem = tmp_path / "rsa.pem"
    pem.write_bytes(
        rsa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    rsa_verifier = TokenVerifier(make_settings(tmp_path, jwt_public_key_file=pem))
    await refused(rsa_verifier, issue_dev_token(settings, role="cnam"))
    assert (await rsa_verifier.verify(jwt.encode(claims, rsa_key, algorithm="RS256"))).role is Role.CNAM


async def test_a_jwks_kid_of_another_key_type_is_refused(
    tmp_path: Path, jwks: JwksServer, signing_key: ec.EllipticCurvePrivateKey, rsa_key: rsa.RSAPrivateKey
) -> None:
    jwks.publish("ec-1", signing_key)
    jwks.keys.append({**RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True), "kid": "rsa-1", "use": "sig"})
    verifier = TokenVerifier(make_settings(tmp_path, jwks_url=jwks.url))
    await refused(verifier, sign(signing_key, "rsa-1"))  # an ES256 token naming the RSA key
    now = int(time.time())
    claims = {"sub": "x", "role": "cnam", "iss": ISSUER, "aud": AUDIENCE, "exp": now + 60}
    await refused(verifier, jwt.encode(claims, rsa_key, algorithm="RS256", headers={"kid": "ec-1"}))
    assert (await verifier.verify(jwt.encode(claims, rsa_key, "RS256", headers={"kid": "rsa-1"}))).role is Role.CNAM
    assert (await verifier.verify(sign(signing_key, "ec-1"))).role is Role.CNAM


@pytest.mark.parametrize(
    "claims",
    [
        {"role": "ars", "region": ["94", "11"]},
        {"role": "ars", "region": 94},
        {"role": "ars", "region": {"code": "94"}},
        {"role": "ars", "region": "x" * 500},
        {"role": "cpam", "departements": 13},
        {"role": "cpam", "departement": [13, 84]},
        {"role": "cpam", "departement": {"13": True}},
        {"role": "cpam", "departement": ["13"] * 1000},
        {"role": "cpts", "cpts": 42},
        {"role": "cpts", "cpts": ["cpts-1"]},
        {"role": ["cnam"]},
        {"role": {"name": "cnam"}},
        {"role": "cnam", "sub": 12},
    ],
    ids=lambda c: "-".join(f"{k}={type(v).__name__}" for k, v in c.items()),
)
async def test_claims_of_the_wrong_type_are_refused(
    tmp_path: Path, signing_key: ec.EllipticCurvePrivateKey, claims: dict[str, Any]
) -> None:
    pem = tmp_path / "idp.pem"
    pem.write_bytes(
        signing_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    await refused(TokenVerifier(make_settings(tmp_path, jwt_public_key_file=pem)), sign(signing_key, **claims))


async def test_a_huge_token_is_refused_before_it_is_decoded(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, max_token_bytes=4096)
    token = issue_dev_token(settings, role="cpts", cpts="c" * 5000)
    problem = await refused(TokenVerifier(settings), token)
    assert "longer than 4096 bytes" in problem.detail
    assert (await TokenVerifier(settings).verify(issue_dev_token(settings, role="cnam"))).role is Role.CNAM


async def test_a_token_expiring_too_far_ahead_is_refused(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, max_token_lifetime_seconds=3600)
    verifier = TokenVerifier(settings)
    problem = await refused(verifier, issue_dev_token(settings, role="cnam", ttl_seconds=3600 * 24 * 365))
    assert "expires more than 3600 seconds" in problem.detail
    assert (await verifier.verify(issue_dev_token(settings, role="cnam", ttl_seconds=3000))).role is Role.CNAM


def _app_with_a_protected_route(settings: Any) -> Any:
    from fastapi import APIRouter, Depends

    from cpts_kit.app import create_service_app
    from cpts_kit.auth import current_principal

    router = APIRouter()

    @router.get("/whoami")
    async def whoami(caller: Principal = Depends(current_principal)) -> dict[str, str]:  # noqa: B008
        return {"role": caller.role.value}

    return create_service_app(settings, title="t", description="t", version="0", routers=[router], background=False)


async def test_hostile_tokens_answer_401_problems_over_http(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey, caplog: pytest.LogCaptureFixture
) -> None:
    import httpx

    settings = make_settings(tmp_path)
    app = _app_with_a_protected_route(settings)
    now = int(time.time())
    base = {"sub": "x", "iss": ISSUER, "aud": AUDIENCE, "exp": now + 60}
    key = serialization.load_pem_private_key(settings.dev_private_key_file.read_bytes(), None)
    tokens = {
        "rs256 against the EC key": jwt.encode({**base, "role": "cnam"}, rsa_key, algorithm="RS256"),
        "region as a list": jwt.encode({**base, "role": "ars", "region": ["94"]}, key, algorithm="ES256"),  # type: ignore[arg-type]
        "departements as an int": jwt.encode({**base, "role": "cpam", "departements": 13}, key, algorithm="ES256"),  # type: ignore[arg-type]
        "a year-long token": issue_dev_token(settings, role="cnam", ttl_seconds=3600 * 24 * 365),
        "a huge token": "a" * 20_000,
    }
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        for what, token in tokens.items():
            answer = await c.get("/whoami", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 401, what
            assert answer.headers["content-type"] == "application/problem+json", what
            assert answer.json()["type"] == "/problems/unauthorized", what
        good = await c.get("/whoami", headers={"Authorization": "Bearer " + issue_dev_token(settings, role="dgos")})
        assert good.json() == {"role": "dgos"}
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


# -- the verification cache ---------------------------------------------------------------


async def test_a_verified_token_is_cached_until_it_expires(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    verifier = TokenVerifier(settings)
    token = issue_dev_token(settings, role="ars", region="94")
    first = await verifier.verify(token)
    assert len(verifier.cache) == 1
    assert await verifier.verify(token) is first  # the cached principal, not a second decoding
    assert verifier.cache.get(token, time.time() + 9 * 3600) is None  # past its exp, it is gone
    assert len(verifier.cache) == 0
    await refused(verifier, issue_dev_token(settings, role="cnam", ttl_seconds=-5))
    assert len(verifier.cache) == 0  # refused tokens are never kept


async def test_a_cached_token_is_refused_once_expired(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    verifier = TokenVerifier(settings)
    token = issue_dev_token(settings, role="cnam", ttl_seconds=2)
    await verifier.verify(token)
    assert len(verifier.cache) == 1
    await asyncio.sleep(2.5)
    await refused(verifier, token)  # it was cached, but its exp has passed


async def test_cached_tokens_keep_their_own_principal_and_key(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    verifier = TokenVerifier(settings)
    ars = issue_dev_token(settings, role="ars", region="94")
    cpts = issue_dev_token(settings, role="cpts", cpts="c-1")
    for _ in range(2):  # from the cache the second time
        assert (await verifier.verify(ars)) == Principal("dev-ars", Role.ARS, region="94")
        assert (await verifier.verify(cpts)) == Principal("dev-cpts", Role.CPTS, cpts_id="c-1")
    # A verifier of another key has its own cache: what the first one checked means nothing.
    other = TokenVerifier(make_settings(tmp_path / "other"))
    await refused(other, ars)


def test_the_cache_is_bounded_and_keyed_by_a_hash() -> None:
    cache = VerifiedTokens(capacity=2)
    now = time.time()
    for n in range(3):
        cache.put(f"token-{n}", Principal(f"s{n}", Role.CNAM), now + 60)
    assert len(cache) == 2
    assert cache.get("token-0", now) is None  # the least recently used left
    assert cache.get("token-2", now) == Principal("s2", Role.CNAM)
    assert all(len(k) == 32 for k in cache._entries)  # SHA-256 digests, not the tokens


# -- the development key and embedded mode ------------------------------------------------


def test_the_dev_key_is_created_private_and_once_across_racing_processes(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from cpts_kit.auth import ensure_dev_key

    previous = os.umask(0)  # a permissive umask must not make it readable, even for an instant
    opened: list[tuple[str, int]] = []
    real_open = os.open

    def recording_open(path: Any, flags: int, mode: int = 0o777, *args: Any, **kwargs: Any) -> int:
        opened.append((str(path), mode))
        return real_open(path, flags, mode, *args, **kwargs)

    try:
        os.open = recording_open  # type: ignore[assignment]
        settings = make_settings(tmp_path / "state")
        with ThreadPoolExecutor(8) as pool:
            paths = list(pool.map(lambda _: ensure_dev_key(settings), range(8)))
    finally:
        os.open = real_open  # type: ignore[assignment]
        os.umask(previous)
    key = settings.dev_private_key_file
    assert set(paths) == {key}
    assert key.stat().st_mode & 0o777 == 0o600
    assert opened and all(mode == 0o600 for _, mode in opened)
    assert [p.name for p in key.parent.iterdir()] == [key.name]  # no temporary file left


def test_outside_embedded_mode_a_service_without_a_key_refuses_to_start(tmp_path: Path) -> None:
    from cpts_kit.auth import KeyNotConfigured

    settings = make_settings(tmp_path, embedded=False)
    with pytest.raises(KeyNotConfigured, match="CPTS_JWT_PUBLIC_KEY_FILE or CPTS_JWKS_URL"):
        TokenVerifier(settings)
    with pytest.raises(KeyNotConfigured):
        _app_with_a_protected_route(settings)
    assert not settings.dev_private_key_file.exists()  # no development key was made either
