"""Crash safety (RELIABILITY.md): `scripts/reliability/crash_cycles.py --cycles 5`, the CI-sized run.

The script runs the real binary under traffic (API writes, console-created access keys, chat tokens, chat in rooms
with S3 logging configurations written to a local directory), SIGKILLs it at random moments (some while it starts),
restarts it on the same data directory and checks that every acknowledged write survived, that no chat token works
twice across a restart, that every frame a client received is archived once (or twice within one batch), and that
the database passes PRAGMA integrity_check. The nightly-style run is the script's default of 50 cycles.

Runtime: about 20 s of cycles, then up to a minute's wait for the last S3 minute to ship.
"""

from __future__ import annotations

import os
import subprocess
import sys

from parley_support import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "reliability" / "crash_cycles.py"


def test_five_kill_restart_cycles_lose_nothing(parley_binary, tmp_path):
    env = {**os.environ, "PARLEY_BINARY": str(parley_binary)}
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--cycles", "5", "--workdir", str(tmp_path / "crash")],
        env=env, capture_output=True, text=True, timeout=300, cwd=REPO_ROOT,
    )
    print(proc.stdout[-6000:])
    assert proc.returncode == 0, f"crash cycles failed ({proc.returncode}):\n{proc.stdout[-8000:]}\n{proc.stderr[-3000:]}"
    assert "cycles survived: 5 of 5" in proc.stdout, proc.stdout[-3000:]
    assert "OK: every check held" in proc.stdout
