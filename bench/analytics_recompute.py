"""The funding analytics' recompute, in-process: CPU and wall time of one national answer
computed from the database (a benchmark, not a test).

The HTTP bench (``bench/api.py``) measures the analytics through its cache; under load its p99
is set by the recomputes that writes make necessary, and each recompute holds the funding
process's event loop for the CPU it spends. This measures that CPU directly, on a funding
database that holds the demo (``cpts demo funding`` on a platform started with ``cpts run
--no-demo``), with the process's CPU time, which the machine's other work does not inflate
as it does the wall clock.

    .venv/bin/python bench/analytics_recompute.py postgresql+asyncpg://postgres@127.0.0.1:5432/funding
    .venv/bin/python bench/analytics_recompute.py sqlite+aiosqlite:///.cpts/funding.db --year 2024
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from cpts_funding import aggregates
from cpts_kit.auth import Principal, Role


async def measure(url: str, year: int, rounds: int) -> None:
    engine = create_async_engine(url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    caller = Principal(subject="bench", role=Role.CNAM)
    nation = aggregates.resolve_territory(caller, region=None, departement=None, cpts=None)
    cpu: list[float] = []
    wall: list[float] = []
    try:
        for _ in range(rounds + 1):  # the first round warms the connection and statement caches
            started, used = time.perf_counter(), time.process_time()
            async with sessions() as session:
                found = await aggregates.funding_analytics(session, caller, nation, [year], None)
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - used) * 1000)
    finally:
        await engine.dispose()
    cpu, wall = cpu[1:], wall[1:]
    print(f"national funding analytics, {year}: {found.total} EUR paid, {found.aci_envelopes.maximum} EUR of maxima")
    print(
        f"  CPU per recompute: median {statistics.median(cpu):.0f} ms, min {min(cpu):.0f}, max {max(cpu):.0f}"
        f"  (wall: median {statistics.median(wall):.0f} ms; {rounds} rounds)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("database_url", help="the funding service's database (async SQLAlchemy URL)")
    parser.add_argument("--year", type=int, default=2023)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(measure(args.database_url, args.year, args.rounds))


if __name__ == "__main__":
    main()
