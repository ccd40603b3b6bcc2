"""Hostile connections (RELIABILITY.md): `scripts/reliability/hostile_connections.py --connections 500`, the CI-sized run.

The script starts the real binary with a 2 s request-head deadline and a 3 s idle timeout, then opens at once 500
connections that send nothing, 500 that send half a request head, 50 that trickle a header byte a second, requests
with 100 KiB of header fields, a 2 MiB API body and a chunked body that never ends. It checks that the server closes
every attacker by the deadline (431 for the oversized headers), stops reading the endless body, comes back to its
baseline of open descriptors with bounded memory, and keeps serving an honest client (signed ListRooms, a chat
message and its echo) within its bounds throughout. The full run is the script's default of 5,000 connections.

Runtime: about 10 s.
"""

from __future__ import annotations

import os
import subprocess
import sys

from parley_support import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "reliability" / "hostile_connections.py"


def test_idle_slow_and_oversized_connections_are_closed_and_honest_clients_served(parley_binary, tmp_path):
    env = {**os.environ, "PARLEY_BINARY": str(parley_binary)}
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--connections", "500", "--slowloris", "50", "--workdir", str(tmp_path / "hostile")],
        env=env, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT,
    )
    print(proc.stdout[-4000:])
    assert proc.returncode == 0, f"hostile connections failed ({proc.returncode}):\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
    assert "OK: every check held" in proc.stdout
