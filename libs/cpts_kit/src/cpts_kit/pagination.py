"""Offset pagination shared by every list endpoint: ``{"items", "total", "limit", "offset"}``."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

T = TypeVar("T")

MAX_LIMIT = 500
# Deeper than any list of the platform; past it (or past a 64-bit integer) a 422, never a 500.
MAX_OFFSET = 10_000_000


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class PageParams(BaseModel):
    limit: int
    offset: int


# Async, like every dependency of a hot read: FastAPI runs a plain function in its thread pool.
async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)
