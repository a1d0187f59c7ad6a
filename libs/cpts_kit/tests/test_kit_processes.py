"""The broker that ``cpts run`` starts does not outlive it, even after a ``kill -9``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from cpts_kit.broker import free_port

STARTER = """
import sys, time
from cpts_kit.broker import EmbeddedBroker
broker = EmbeddedBroker(int(sys.argv[1]), die_with_parent=sys.argv[2] == "1")
broker.start()
print(broker._process.pid, flush=True)
time.sleep(120)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie waits for its reaper: it is gone
        return stat.read().split()[2] != "Z"


def broker_after_kill(die_with_parent: bool, patience: float) -> tuple[int, bool]:
    starter = subprocess.Popen(
        [sys.executable, "-c", STARTER, str(free_port()), "1" if die_with_parent else "0"], stdout=subprocess.PIPE
    )
    assert starter.stdout is not None
    pid = int(starter.stdout.readline())
    assert alive(pid)
    starter.kill()  # kill -9: no chance to stop its children
    starter.wait()
    deadline = time.monotonic() + patience
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return pid, alive(pid)


def test_a_broker_started_to_die_with_its_parent_stops_after_a_kill_9() -> None:
    _, survived = broker_after_kill(die_with_parent=True, patience=10)
    assert not survived


def test_without_it_the_broker_would_outlive_its_parent() -> None:
    pid, survived = broker_after_kill(die_with_parent=False, patience=1)
    try:
        assert survived  # what the option fixes (and what tests' brokers keep: they stop themselves)
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
