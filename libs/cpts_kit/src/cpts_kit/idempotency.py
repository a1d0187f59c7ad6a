"""Idempotent creation with the ``Idempotency-Key`` header.

The first answer to a (caller, key) is stored in the same transaction as the change it made.
The same key with the same request replays that answer; with a different request it is a 422.

A key belongs to one caller: the scope is the SHA-256 of the caller's whole identity (subject,
role, region, départements, CPTS), so no two callers can share keys however long their
subjects. A replay is an answer like any other: routers call :meth:`Idempotency.replay` only
after they have authorised the caller for the request (its role, and the territory of the CPTS
the body or the path names), so a replay never answers a caller who may not act on that CPTS.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Integer, String, Text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from cpts_kit.auth import Principal, current_principal
from cpts_kit.db import Base, UTCDateTime, utcnow
from cpts_kit.problems import Problem


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"

    principal: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(300))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def scope_of(principal: Principal) -> str:
    """The caller's whole identity, hashed: the scope of its idempotency keys."""
    identity = [
        principal.subject,
        principal.role.value,
        principal.region,
        sorted(principal.departements),
        principal.cpts_id,
    ]
    return hashlib.sha256(json.dumps(identity).encode()).hexdigest()


class Idempotency:
    def __init__(self, key: str | None, principal: Principal, endpoint: str) -> None:
        self.key = key
        self.principal = scope_of(principal)
        self.endpoint = endpoint
        self._hash = ""

    async def replay(self, session: AsyncSession, request_body: Any) -> JSONResponse | None:
        """The stored answer for this key, or None when the request is new."""
        self._hash = hashlib.sha256(
            json.dumps([self.endpoint, request_body], sort_keys=True, default=str).encode()
        ).hexdigest()
        if self.key is None:
            return None
        record = await session.get(IdempotencyRecord, (self.principal, self.key))
        if record is None:
            return None
        if record.request_hash != self._hash:
            raise Problem(
                422,
                "This Idempotency-Key was already used with a different request",
                type_="/problems/idempotency-key-reused",
            )
        return JSONResponse(
            json.loads(record.response_body), status_code=record.status_code, headers={"Idempotent-Replayed": "true"}
        )

    def remember(self, session: AsyncSession, status_code: int, body: Any) -> None:
        if self.key is None:
            return
        session.add(
            IdempotencyRecord(
                principal=self.principal,
                key=self.key,
                endpoint=self.endpoint,
                request_hash=self._hash,
                status_code=status_code,
                response_body=json.dumps(body, default=str),
            )
        )


async def idempotency(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    idempotency_key: Annotated[
        str | None, Header(min_length=1, max_length=200, description="Makes a retried POST safe")
    ] = None,
) -> Idempotency:
    return Idempotency(idempotency_key, principal, f"{request.method} {request.url.path}")
