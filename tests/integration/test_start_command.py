"""The README's start command, from a fresh clone: `make run` installs into the clone's own
.venv, starts the broker and every service with demo data, answers, and stops on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
def test_make_run_from_a_fresh_clone(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    registry_port, broker_port = free_port(), free_port()
    ports = {"REGISTRY": registry_port}
    funding_port = None
    if (clone / "services" / "funding").exists():
        funding_port = ports["FUNDING"] = free_port()
    if (clone / "services" / "documents").exists():
        ports["DOCUMENTS"] = free_port()
    if (clone / "services" / "indicators").exists():
        ports["INDICATORS"] = free_port()
    if (clone / "services" / "audit").exists():
        ports["AUDIT"] = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CPTS_", "VIRTUAL_ENV", "PYTHONPATH"))}
    env |= {f"CPTS_{name}_PORT": str(port) for name, port in ports.items()}
    env["CPTS_KAFKA_BOOTSTRAP"] = f"127.0.0.1:{broker_port}"
    log = (tmp_path / "make-run.log").open("wb")
    process = subprocess.Popen(
        ["make", "run"], cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{registry_port}"
    try:
        # A fresh install, migrations, then each service's demo data: wait for "Ready."
        deadline = time.monotonic() + 1800  # the audit demo pushes about 2,300 documents
        output = ""
        while time.monotonic() < deadline and process.poll() is None and "Ready." not in output:
            time.sleep(1)
            output = (tmp_path / "make-run.log").read_text(errors="replace")
        assert "Ready." in output, output[-3000:]
        ready = httpx.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "broker": "ok"}
        token = subprocess.run(
            [str(clone / ".venv" / "bin" / "cpts"), "token", "--role", "cnam"],
            cwd=clone,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        auth = {"Authorization": f"Bearer {token}"}
        listed = httpx.get(f"{base}/v1/cpts", params={"limit": 1}, headers=auth)
        assert listed.status_code == 200 and listed.json()["total"] >= 800
        corse = httpx.get(f"{base}/v1/coverage", params={"region": "94"}, headers=auth)
        assert abs(corse.json()["uncovered_share"] - 0.7893) < 0.001
        assert f"registry    http://127.0.0.1:{registry_port}" in output
        if funding_port is not None:  # the start line prints what the analytics compute
            steering = httpx.get(
                f"http://127.0.0.1:{funding_port}/v1/analytics/steering",
                params={"year": 2023, "group_by": "funder_category", "basis": "payment_date"},
                headers=auth,
            ).json()
            aci = next(r for r in steering["rows"] if r["key"]["funder_category"] == "aci")
            assert f"2023: {Decimal(aci['paid']):,.2f} € ACI paid" in output
            envelopes = httpx.get(
                f"http://127.0.0.1:{funding_port}/v1/analytics/funding", params={"year": 2023}, headers=auth
            ).json()["aci_envelopes"]
            assert envelopes["over_maximum"] == 0 and envelopes["signatories"] == 508
        if "AUDIT" in ports:  # the planted anomalies found, and no high finding left unexplained
            assert "planted anomalies found 8/8" in output and "unexplained high findings: 0;" in output, output[-3000:]
    finally:
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in the terminal
        process.wait(60)
        log.close()
    output = (tmp_path / "make-run.log").read_text(errors="replace")
    assert "stopped" in output
    assert not any(port_open(port) for port in [broker_port, *ports.values()])
