"""``cpts``: the operators' command (tokens, migrations, demo data, replay, the embedded platform)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer

from cpts_kit import service
from cpts_kit.auth import Role, issue_dev_token
from cpts_kit.broker import EmbeddedBroker
from cpts_kit.db import Database
from cpts_kit.outbox import mark_all_unsent
from cpts_kit.settings import KitSettings

app = typer.Typer(help="Operate the CPTS funding platform.", no_args_is_help=True, add_completion=False)


@app.command()
def token(
    role: Annotated[Role, typer.Option(help="cnam, dgos, ars, cpam, cpts, auditor or integrator")],
    region: Annotated[str | None, typer.Option(help="INSEE region code (ARS)")] = None,
    departement: Annotated[list[str] | None, typer.Option(help="INSEE département code (CPAM); repeatable")] = None,
    cpts: Annotated[str | None, typer.Option(help="CPTS id (role cpts)")] = None,
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds")] = 8 * 3600,
) -> None:
    """Print a bearer token signed with the local development key."""
    deps = departement or None
    typer.echo(
        issue_dev_token(KitSettings(), role=role.value, region=region, departement=deps, cpts=cpts, ttl_seconds=ttl)
    )


@app.command()
def services() -> None:
    """List the installed services and their settings."""
    for spec in service.discover():
        settings = spec.settings()
        typer.echo(f"{spec.name:12} port {settings.port}  database {settings.database_url}  topic {settings.topic}")


@app.command()
def migrate(name: str) -> None:
    """Apply a service's database migrations."""
    spec = service.find(name)
    service.upgrade_sync(spec, spec.settings().database_url)
    typer.echo(f"{name}: database at head")


@app.command()
def demo(name: str) -> None:
    """Load a service's deterministic demo data (once; a second run changes nothing)."""
    spec = service.find(name)
    if spec.demo is None:
        typer.echo(f"{name}: no demo data")
        return
    typer.echo(asyncio.run(spec.demo(spec.settings())))


@app.command()
def replay(name: str) -> None:
    """Republish every event a service has kept in its outbox (the running relay sends them)."""
    settings = service.find(name).settings()

    async def run() -> int:
        db = Database(settings.database_url)
        try:
            return await mark_all_unsent(db, settings.topic)
        finally:
            await db.dispose()

    typer.echo(f"{name}: {asyncio.run(run())} events queued for republication on {settings.topic}")


@app.command()
def serve(name: str, migrate_first: Annotated[bool, typer.Option("--migrate/--no-migrate")] = True) -> None:
    """Serve one service (applies its migrations first, unless told not to)."""
    import uvicorn

    spec = service.find(name)
    settings = spec.settings()
    if migrate_first:
        service.upgrade_sync(spec, settings.database_url)
    uvicorn.run(spec.create_app(), host=settings.host, port=settings.port, log_config=None, access_log=False)


@app.command()
def contracts(
    out: Annotated[Path, typer.Option(help="The contracts folder")] = Path("contracts"),
    check: Annotated[bool, typer.Option(help="Fail if the files differ from the code")] = False,
) -> None:
    """Export (or check) each service's OpenAPI document and event JSON Schemas."""
    from cpts_kit.contracts import export_all

    os.environ.setdefault("CPTS_EMBEDDED", "true")  # the apps are built for their OpenAPI, never served

    stale = export_all(service.discover(), out, check=check)
    if check and stale:
        typer.echo("out of date: " + ", ".join(str(p) for p in stale), err=True)
        raise typer.Exit(1)
    typer.echo("contracts up to date" if check else f"contracts written to {out}")


@app.command()
def run(
    demo_data: Annotated[bool, typer.Option("--demo/--no-demo", help="Load demo data")] = True,
    embedded_broker: Annotated[bool, typer.Option("--embedded-broker/--external-broker")] = True,
) -> None:
    """Start the whole platform on this machine: broker, every installed service, demo data."""
    os.environ.setdefault("CPTS_EMBEDDED", "true")  # the services (children too) may use the development key
    kit = KitSettings()
    kit.state_dir.mkdir(parents=True, exist_ok=True)
    specs = service.discover()
    broker = None
    if embedded_broker:
        port = int(kit.kafka_bootstrap.rpartition(":")[2])
        broker = EmbeddedBroker(port, log_file=kit.state_dir / "broker.log")
        typer.echo(f"broker      Kafka protocol (Tansu, memory only) on {broker.bootstrap}")
        broker.start()
    children: list[tuple[str, subprocess.Popen[bytes]]] = []
    try:
        for spec in specs:
            service.upgrade_sync(spec, spec.settings().database_url)
        for spec in specs:
            log_file = (kit.state_dir / f"{spec.name}.log").open("ab")
            proc = subprocess.Popen(
                [sys.executable, "-m", "cpts_kit.cli", "serve", spec.name, "--no-migrate"],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=os.environ.copy(),
            )
            children.append((spec.name, proc))
        for spec in specs:
            settings = spec.settings()
            _wait_ready(f"http://{settings.host}:{settings.port}/readyz", spec.name)
        # Demo data goes in once every service runs, in port order: a service's demo may wait
        # for the projections it builds from the events of the services before it.
        for spec in specs:
            settings = spec.settings()
            if demo_data and spec.demo is not None:
                typer.echo(f"{spec.name:11} {asyncio.run(spec.demo(settings))}")
            typer.echo(
                f"{spec.name:11} http://{settings.host}:{settings.port}  (docs /docs, metrics /metrics)"
                f"  log {kit.state_dir / (spec.name + '.log')}"
            )
        typer.echo("\nA token for the national role:  cpts token --role cnam")
        typer.echo("For an ARS (Corse):              cpts token --role ars --region 94")
        typer.echo("Ready. Ctrl-C stops everything.")
        _wait_for_exit(children)
    except KeyboardInterrupt:
        pass
    finally:
        for _, proc in children:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for _, proc in children:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        if broker is not None:
            broker.stop()
        typer.echo("stopped")


def _wait_ready(url: str, name: str, timeout: float = 300.0) -> None:
    # Generous: on a loaded machine a service takes minutes to import, migrate and start.
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(url, timeout=2)
            if answer.status_code == 200:
                return
            last = json.dumps(answer.json())
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(0.3)
    raise RuntimeError(f"{name} was not ready after {timeout}s: {last}")


def _wait_for_exit(children: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
    stop = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stop:
        for name, proc in children:
            if proc.poll() is not None:
                typer.echo(f"{name} exited with code {proc.returncode}; stopping", err=True)
                return
        time.sleep(0.5)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
