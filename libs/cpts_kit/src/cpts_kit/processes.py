"""Child processes that do not outlive ``cpts run``.

Ctrl-C stops the children in order; a ``kill -9`` of the supervisor gives it no chance to, and
left the broker and the services running. On Linux the kernel can send the child a signal
when its parent dies (``PR_SET_PDEATHSIG``); elsewhere nothing changes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import signal
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG = 1


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` for ``subprocess.Popen`` that makes the child receive SIGTERM when the
    thread that started it exits (start children from the main thread), or None off Linux."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)

    def arm() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)

    return arm
