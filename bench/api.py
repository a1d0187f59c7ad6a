"""Read throughput of the services' HTTP APIs against a bare FastAPI endpoint (a benchmark,
not a test).

In the same run it:

- starts the platform (``cpts run`` with its demo data) on its own ports and state folder, or
  uses running services (``--registry-url``/``--funding-url``);
- starts the reference: a bare FastAPI app answering ``GET /x`` with a small JSON, served by
  the same venv's uvicorn with the same defaults as ``cpts serve`` (uvloop, httptools);
- drives each endpoint with ``wrk`` (Debian package ``wrk``), a separate process, for
  ``--duration`` seconds with ``--connections`` connections on ``--threads`` threads;
- prints one Markdown table: requests per second, p50, p99, the ratio of the throughput to the
  bare endpoint's, the errors (socket errors and non-2xx answers), and the CPU time the serving
  process spent per request (the bare app's ``/cpu``, the services' Prometheus
  ``process_cpu_seconds_total``, which includes their relay and consumers) with its ratio to
  the bare app's: on a machine shared with other work, wall-clock throughput follows the share
  of the cores a process gets, while CPU per request does not; then the outbox backlog of
  every service a few seconds after the load.

    .venv/bin/python bench/api.py                      # embedded SQLite
    .venv/bin/python bench/api.py --backend postgres   # PostgreSQL databases it creates

``--backend postgres`` creates one throw-away database per service on ``--postgres-url``
(default 127.0.0.1:5432, user postgres) and drops them at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

PYTHON = sys.executable
BARE_APP = textwrap.dedent(
    """
    import time

    from fastapi import FastAPI

    app = FastAPI()


    @app.get("/cpu")
    async def cpu() -> float:
        return time.process_time()


    @app.get("/x")
    async def x() -> dict[str, object]:
        return {"id": "bare", "name": "reference", "status": "ok", "count": 1}
    """
)
# The services the platform runs, with the port offset each gets from --base-port.
PORT_OFFSETS = {"registry": 1, "funding": 2, "documents": 3, "indicators": 4, "audit": 5}
BROKER_OFFSET = 90


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int
    cpu_ms: float  # CPU time of the serving process per request


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    cpu_url: str  # where the serving process tells its CPU seconds
    token: bool = True
    goal: str = ""


def cpu_seconds(url: str) -> float:
    """The serving process's CPU time: the bare app's ``/cpu``, a service's Prometheus
    ``process_cpu_seconds_total``."""
    answer = httpx.get(url, timeout=60)
    if url.endswith("/cpu"):
        return float(answer.json())
    found = re.search(r"^process_cpu_seconds_total ([\d.e+]+)$", answer.text, re.MULTILINE)
    return float(found.group(1)) if found else float("nan")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_http(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer 200 within {timeout}s")


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip()).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def parse_wrk(name: str, output: str, cpu: float = float("nan")) -> Result:
    def grab(pattern: str) -> re.Match[str] | None:
        return re.search(pattern, output, re.MULTILINE)

    p50 = grab(r"^\s+50%\s+(\S+)")
    p99 = grab(r"^\s+99%\s+(\S+)")
    rps = grab(r"^Requests/sec:\s+([\d.]+)")
    total = grab(r"^\s+(\d+) requests in")
    if not (p50 and p99 and rps and total):
        raise RuntimeError(f"unexpected wrk output for {name}:\n{output}")
    errors = 0
    if sock := grab(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"):
        errors += sum(int(g) for g in sock.groups())
    if non2xx := grab(r"Non-2xx or 3xx responses: (\d+)"):
        errors += int(non2xx.group(1))
    requests = int(total.group(1))
    cpu_ms = cpu * 1000 / requests if requests else float("nan")
    return Result(name, float(rps.group(1)), _ms(p50.group(1)), _ms(p99.group(1)), errors, requests, cpu_ms)


def wrk(target: Target, token: str, args: argparse.Namespace, seconds: int) -> list[str]:
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s", "--latency"]
    command += ["--timeout", "10s"]
    if target.token:
        command += ["-H", f"Authorization: Bearer {token}"]
    return [*command, target.url]


def run_wrk(target: Target, token: str, args: argparse.Namespace) -> Result:
    # A short warm-up (caches, connection pools), then the measured run.
    subprocess.run(wrk(target, token, args, 2), capture_output=True, check=True)
    before = cpu_seconds(target.cpu_url)
    done = subprocess.run(wrk(target, token, args, args.duration), capture_output=True, text=True, check=True)
    return parse_wrk(target.name, done.stdout, cpu_seconds(target.cpu_url) - before)


@contextlib.contextmanager
def bare_app(workdir: Path) -> Iterator[str]:
    (workdir / "bare_reference.py").write_text(BARE_APP)
    port = free_port()
    proc = subprocess.Popen(
        [PYTHON, "-m", "uvicorn", "bare_reference:app", "--port", str(port), "--log-level", "warning"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/x", 30)
        yield url
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def postgres_databases(server: str, names: list[str]) -> Iterator[dict[str, str]]:
    import asyncio

    import asyncpg

    suffix = uuid.uuid4().hex[:8]
    databases = {name: f"bench_{name}_{suffix}" for name in names}

    async def execute(statements: list[str]) -> None:
        conn = await asyncpg.connect(server)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(execute([f'CREATE DATABASE "{db}"' for db in databases.values()]))
    base = server.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0]
    try:
        yield {name: f"{base}/{db}" for name, db in databases.items()}
    finally:
        asyncio.run(execute([f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)' for db in databases.values()]))


@contextlib.contextmanager
def platform(args: argparse.Namespace, env: dict[str, str], state: Path) -> Iterator[subprocess.Popen[str]]:
    log = (state / "run.log").open("w")
    proc = subprocess.Popen(
        [PYTHON, "-m", "cpts_kit.cli", "run"], env=env, stdout=subprocess.PIPE, stderr=log, text=True
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + args.start_timeout
        without_demo = []
        for line in proc.stdout:
            print(f"  | {line.rstrip()}", file=sys.stderr)
            if found := re.match(r"^(\w+)\s+no demo", line):
                without_demo.append(found.group(1))
            if line.startswith("Ready."):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the platform was not ready in time")
        else:
            log.flush()
            tail = (state / "run.log").read_text()[-3000:]
            raise RuntimeError(f"the platform stopped before it was ready:\n{tail}")
        for name in without_demo:  # its projection was not complete yet on a loaded machine
            load_demo(name, env)
        yield proc
    finally:
        stop(proc)
        log.close()


def load_demo(name: str, env: dict[str, str], attempts: int = 5) -> None:
    for _ in range(attempts):
        done = subprocess.run(
            [PYTHON, "-m", "cpts_kit.cli", "demo", name], env=env, capture_output=True, text=True, check=True
        )
        print(f"  | {name} demo: {done.stdout.strip()}", file=sys.stderr)
        if "no demo" not in done.stdout:
            return
    raise RuntimeError(f"the {name} demo data could not be loaded")


def service_env(args: argparse.Namespace, state: Path, urls: dict[str, str]) -> dict[str, str]:
    env = os.environ.copy()
    env["CPTS_STATE_DIR"] = str(state)
    env["CPTS_KAFKA_BOOTSTRAP"] = f"127.0.0.1:{args.base_port + BROKER_OFFSET}"
    env["CPTS_LOG_LEVEL"] = "WARNING"
    for name, offset in PORT_OFFSETS.items():
        env[f"CPTS_{name.upper()}_PORT"] = str(args.base_port + offset)
    for name, url in urls.items():
        env[f"CPTS_{name.upper()}_DATABASE_URL"] = url
    return env


def token(env: dict[str, str]) -> str:
    done = subprocess.run(
        [PYTHON, "-m", "cpts_kit.cli", "token", "--role", "cnam", "--ttl", "3600"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def backlog(url: str) -> str:
    try:
        text = httpx.get(f"{url}/metrics", timeout=30).text
    except httpx.HTTPError as exc:
        return f"? ({exc.__class__.__name__})"
    found = re.search(r"^cpts_outbox_backlog\{[^}]*\} ([\d.e+]+)$", text, re.MULTILINE)
    return str(int(float(found.group(1)))) if found else "?"


def measure(args: argparse.Namespace, registry: str, funding: str, bare: str, bearer: str) -> list[Result]:
    listing = httpx.get(f"{registry}/v1/cpts?limit=1", headers={"Authorization": f"Bearer {bearer}"}, timeout=10)
    listing.raise_for_status()
    cpts_id = listing.json()["items"][0]["id"]
    targets = [
        Target("bare FastAPI `GET /x` (small JSON)", f"{bare}/x", f"{bare}/cpu", token=False),
        Target("registry `GET /healthz`", f"{registry}/healthz", f"{registry}/metrics", token=False),
        Target("registry `GET /v1/cpts/{id}`", f"{registry}/v1/cpts/{cpts_id}", f"{registry}/metrics"),
        Target("registry `GET /v1/cpts?limit=50`", f"{registry}/v1/cpts?limit=50", f"{registry}/metrics"),
        Target("funding `GET /v1/flows?limit=50`", f"{funding}/v1/flows?limit=50", f"{funding}/metrics"),
        Target(
            "funding `GET /v1/analytics/funding?year=2023`",
            f"{funding}/v1/analytics/funding?year=2023",
            f"{funding}/metrics",
        ),
    ]
    selected = [t for t in targets if not args.only or any(o in t.name for o in args.only) or "bare" in t.name]
    results = []
    for target in selected:
        result = run_wrk(target, bearer, args)
        print(
            f"  {target.name}: {result.rps:,.0f} req/s, p99 {result.p99_ms:.1f} ms, CPU {result.cpu_ms:.2f} ms/request",
            file=sys.stderr,
        )
        results.append(result)
    return results


def table(results: list[Result], goals: dict[str, str]) -> str:
    bare, bare_cpu = results[0].rps, results[0].cpu_ms
    lines = [
        "| endpoint | req/s | p50 | p99 | ratio to bare | errors | CPU / request | CPU ratio | target |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.rps:,.0f} | {fmt_ms(r.p50_ms)} | {fmt_ms(r.p99_ms)} | {r.rps / bare:.3f} "
            f"| {r.errors} / {r.requests:,} | {r.cpu_ms:.2f} ms | {bare_cpu / r.cpu_ms:.3f} | {goals.get(r.name, '')} |"
        )
    return "\n".join(lines)


def fmt_ms(value: float) -> str:
    return f"{value:.1f} ms" if value < 1000 else f"{value / 1000:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--base-port", type=int, default=18300, help="services on +1.., the broker on +90")
    parser.add_argument("--registry-url", help="use this running registry instead of starting the platform")
    parser.add_argument("--funding-url", help="use this running funding service")
    parser.add_argument("--state-dir", type=Path, help="of the running platform (for its tokens)")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--start-timeout", type=float, default=900)
    parser.add_argument("--only", action="append", help="measure only the endpoints whose name contains this")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")

    goals = {
        "registry `GET /v1/cpts/{id}`": "≥ 0.25, p99 < 100 ms",
        "registry `GET /v1/cpts?limit=50`": "≥ 0.15, p99 < 150 ms",
        "funding `GET /v1/flows?limit=50`": "≥ 0.15, p99 < 150 ms",
        "funding `GET /v1/analytics/funding?year=2023`": "p99 < 300 ms",
    }
    with tempfile.TemporaryDirectory(prefix="cpts-bench-") as tmp:
        workdir = Path(tmp)
        with contextlib.ExitStack() as stack:
            if args.registry_url:
                env = os.environ.copy()
                if args.state_dir:
                    env["CPTS_STATE_DIR"] = str(args.state_dir)
                registry, funding = args.registry_url, args.funding_url or args.registry_url
                services = {"registry": registry, "funding": funding}
            else:
                from cpts_kit.service import discover

                names = [spec.name for spec in discover()]
                urls = {}
                if args.backend == "postgres":
                    urls = stack.enter_context(postgres_databases(args.postgres_url, names))
                state = workdir / "state"
                state.mkdir()
                env = service_env(args, state, urls)
                stack.enter_context(platform(args, env, state))
                services = {n: f"http://127.0.0.1:{args.base_port + PORT_OFFSETS[n]}" for n in names}
                registry, funding = services["registry"], services["funding"]
            bare = stack.enter_context(bare_app(workdir))
            results = measure(args, registry, funding, bare, token(env))
            time.sleep(3)
            backlogs = ", ".join(f"{name} {backlog(url)}" for name, url in services.items())
    print(f"\nbackend {args.backend}; wrk -t{args.threads} -c{args.connections} -d{args.duration}s; national token\n")
    print(table(results, goals))
    print(f"\noutbox backlog 3 s after the load: {backlogs}")


if __name__ == "__main__":
    main()
