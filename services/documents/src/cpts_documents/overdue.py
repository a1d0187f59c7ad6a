"""``python -m cpts_documents.overdue [AAAA-MM-JJ]``: run the overdue check once (idempotent)
on the service's database; the running service's relay publishes the events."""

from __future__ import annotations

import asyncio
import sys
from datetime import date

from cpts_documents.commands import check_overdue
from cpts_documents.settings import DocumentsSettings
from cpts_kit.db import Database


async def run_check(settings: DocumentsSettings, today: date) -> int:
    db = Database(settings.database_url)
    try:
        async with db.sessionmaker() as session:
            _, sent = await check_overdue(session, settings, today)
            await session.commit()
        return sent
    finally:
        await db.dispose()


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    today = date.fromisoformat(args[0]) if args else date.today()
    sent = asyncio.run(run_check(DocumentsSettings(), today))
    print(f"documents: {sent} new overdue events as of {today.isoformat()}")


if __name__ == "__main__":
    main()
