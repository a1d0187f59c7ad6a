"""The background job that re-runs the rules of the CPTS whose facts changed: the projection
only marks them, and a CPTS is evaluated once its mark has not moved for one interval, so a
burst of events (a demo, a replay of the topics) costs one evaluation per CPTS and not one
per event."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from cpts_audit import commands
from cpts_audit.settings import AuditSettings
from cpts_kit.db import Database
from cpts_kit.outbox import _wait

log = logging.getLogger(__name__)

BATCH = 25


def evaluator(settings: AuditSettings) -> Callable[[Database, asyncio.Event], Coroutine[Any, Any, None]]:
    async def evaluate_changed_cpts(db: Database, stop: asyncio.Event) -> None:
        settled: dict[str, int] = {}  # the marks' versions at the previous look
        while not stop.is_set():
            try:
                # Small transactions: on SQLite each one holds the write lock the consumer needs.
                async with db.sessionmaker() as session:
                    outcome = await commands.evaluate_dirty(session, settings, limit=BATCH, settled=settled)
                    await session.commit()
                if outcome.raised or outcome.updated or outcome.closed:
                    log.info(
                        "findings: %d raised, %d updated, %d closed", outcome.raised, outcome.updated, outcome.closed
                    )
                if outcome.evaluated == BATCH:
                    continue  # more CPTS are waiting
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("evaluation failed; retrying")
            await _wait(stop, settings.evaluation_interval_seconds)

    return evaluate_changed_cpts
