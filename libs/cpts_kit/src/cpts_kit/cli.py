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

from cpts_kit import processes, service
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
    """Start the whole platform on this machine: broker, every installed service, demo data.

    It supervises like an orchestrator: a service or the broker that dies is started again
    (with a backoff, and said so); only Ctrl-C (or SIGTERM) stops the platform."""
    from cpts_kit.status import settle

    os.environ.setdefault("CPTS_EMBEDDED", "true")  # the services (children too) may use the development key
    kit = KitSettings()
    kit.state_dir.mkdir(parents=True, exist_ok=True)
    specs = service.discover()
    broker = None
    if embedded_broker:
        port = int(kit.kafka_bootstrap.rpartition(":")[2])
        broker = EmbeddedBroker(port, log_file=kit.state_dir / "broker.log", die_with_parent=True)
        typer.echo(f"broker      Kafka protocol (Tansu, memory only) on {broker.bootstrap}")
        broker.start()
    children = [_Child(spec.name, kit.state_dir / f"{spec.name}.log") for spec in specs]
    try:
        for spec in specs:
            service.upgrade_sync(spec, spec.settings().database_url)
        for child in children:
            child.start()
        for spec in specs:
            settings = spec.settings()
            _wait_ready(f"http://{settings.host}:{settings.port}/readyz", spec.name)
        # Demo data goes in once every service runs, in port order, each demo once the events of
        # those before it are published and applied everywhere: it reads what they computed.
        spent: dict[str, float] = {}  # where the demo's time goes
        waits: list[str] = []  # each wait for events, before the demo it precedes
        for n, spec in enumerate(specs):
            settings = spec.settings()
            if demo_data and spec.demo is not None:
                if n:
                    waited = asyncio.run(settle(specs))
                    if waited is None:
                        typer.echo(f"{spec.name:11} (events still in flight after 300 s: loading anyway)")
                    spent["events"] = spent.get("events", 0.0) + (waited or 300.0)
                    waits.append(f"{waited or 300.0:.0f} s before {spec.name}")
                started = time.monotonic()
                typer.echo(f"{spec.name:11} {asyncio.run(spec.demo(settings))}")
                spent[spec.name] = time.monotonic() - started
            typer.echo(
                f"{spec.name:11} http://{settings.host}:{settings.port}  (docs /docs, metrics /metrics)"
                f"  log {kit.state_dir / (spec.name + '.log')}"
            )
        if spent:
            parts = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in spent.items())
            typer.echo(f"\nDemo data loaded in {sum(spent.values()):.0f} s ({parts}; events: waiting for the")
            each = f": {', '.join(waits)}" if waits else ""
            typer.echo(f"events of each demo to be applied everywhere before the next one{each})")
        typer.echo("\nA token for the national role:  cpts token --role cnam")
        typer.echo("For an ARS (Corse):              cpts token --role ars --region 94")
        typer.echo("What runs, backlogs and lag:     cpts status")
        typer.echo("Ready. Ctrl-C stops everything.")
        _supervise(children, broker, _StopFlag())
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(15)
        if broker is not None:
            broker.stop()
        typer.echo("stopped")


class _StopFlag:
    """Set by Ctrl-C or SIGTERM (with ``signals``): the only ways the platform stops."""

    def __init__(self, signals: bool = True) -> None:
        self.set = False

        def on_signal(signum: int, frame: object) -> None:
            self.set = True

        if signals:
            signal.signal(signal.SIGTERM, on_signal)
            signal.signal(signal.SIGINT, on_signal)


class _Backoff:
    """Restart delays: 0.5 s doubling to 30 s, back to 0.5 s after a minute of running."""

    def __init__(self) -> None:
        self.delay = 0.5
        self.started = time.monotonic()
        self.due: float | None = None  # when to restart, once found dead

    def died(self) -> float:
        if time.monotonic() - self.started > 60:
            self.delay = 0.5
        delay, self.delay = self.delay, min(self.delay * 2, 30.0)
        self.due = time.monotonic() + delay
        return delay

    def restarted(self) -> None:
        self.started, self.due = time.monotonic(), None


class _Child:
    """One service process (``cpts serve <name> --no-migrate``), its log appended to a file."""

    def __init__(self, name: str, log_path: Path, command: list[str] | None = None) -> None:
        self.name = name
        self.log_path = log_path
        self.command = command or [sys.executable, "-m", "cpts_kit.cli", "serve", name, "--no-migrate"]
        self.process: subprocess.Popen[bytes] | None = None
        self.backoff = _Backoff()

    def start(self) -> None:
        with self.log_path.open("ab") as log_file:
            self.process = subprocess.Popen(
                self.command,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=os.environ.copy(),
                preexec_fn=processes.die_with_parent(),
            )
        self.backoff.restarted()

    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self, seconds: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(seconds)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _supervise(children: list[_Child], broker: EmbeddedBroker | None, stopping: _StopFlag) -> None:
    broker_backoff = _Backoff()
    while not stopping.set:
        if broker is not None:
            code = broker.exit_code
            if code is not None and broker_backoff.due is None:
                delay = broker_backoff.died()
                typer.echo(f"broker exited with code {code}; restarting in {delay:.1f}s", err=True)
            if broker_backoff.due is not None and time.monotonic() >= broker_backoff.due:
                try:
                    broker.start()
                    broker_backoff.restarted()
                    typer.echo(f"broker restarted on {broker.bootstrap} (empty: the relays republish)", err=True)
                except RuntimeError as exc:
                    delay = broker_backoff.died()
                    typer.echo(f"broker failed to start ({exc}); retrying in {delay:.1f}s", err=True)
        for child in children:
            code = child.exit_code()
            if code is not None and child.backoff.due is None:
                delay = child.backoff.died()
                typer.echo(f"{child.name} exited with code {code}; restarting in {delay:.1f}s", err=True)
            if child.backoff.due is not None and time.monotonic() >= child.backoff.due:
                child.start()
                typer.echo(f"{child.name} restarted (pid {child.process.pid if child.process else '?'})", err=True)
        time.sleep(0.2)


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


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document instead of a table")] = False,
) -> None:
    """The operator's first command: each service's readiness, outbox backlog and oldest unsent
    event, consumer lag per group, and dead letters."""
    from cpts_kit.status import collect, render

    report = asyncio.run(collect(service.discover()))
    typer.echo(json.dumps(report, indent=2) if as_json else render(report))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
