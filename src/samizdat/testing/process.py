"""The simulator in a process of its own, for benchmarks (a server in the measuring process
would share its CPU and its event loop)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from typing import Any


def simulator_process(options: Sequence[str], **popen: Any) -> tuple[subprocess.Popen, str]:
    """``samizdat simulate --port 0 OPTIONS`` started, and its address once it serves; the
    caller terminates it. ``popen``: more arguments for :class:`subprocess.Popen` (env, cwd)."""
    command = [sys.executable, "-m", "samizdat.cli", "simulate", "--port", "0", *options]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, **popen)
    first = process.stdout.readline()
    if not first.startswith("serving"):
        process.kill()
        raise SystemExit(f"the simulator did not start: {first!r}")
    return process, first.rsplit(" ", 1)[1].strip()
