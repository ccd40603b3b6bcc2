"""Disk full (RELIABILITY.md): `scripts/reliability/disk_full.py` with short phases, the CI-sized run.

The script puts the data directory on a small tmpfs, chats in three rooms with S3 logging configurations written to a
local directory outside it, fills the disk, checks the API's disk-full errors, that reads, open chat connections,
DELETE_MESSAGE and DISCONNECT_USER keep working, that new connections get 503, that unstorable chat-log records are
counted as dropped (/metrics and the console) and that the episode is logged once; then frees the space and checks
that writes, new connections, logging and metrics resume without a restart, that every acknowledged write is there
and that the database passes PRAGMA integrity_check after a clean stop.

Needs root to mount the tmpfs; skipped when the mount is not permitted.
Runtime: about 15 s of phases, then up to 80 s' wait for the last S3 minute to ship.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from parley_support import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "reliability" / "disk_full.py"
SKIP_EXIT = 77


def test_disk_full_then_space_returns(parley_binary, tmp_path):
    env = {**os.environ, "PARLEY_BINARY": str(parley_binary)}
    proc = subprocess.run(
        [
            sys.executable, str(SCRIPT), "--before-seconds", "1", "--full-seconds", "6", "--after-seconds", "2",
            "--workdir", str(tmp_path / "disk-full"),
        ],
        env=env, capture_output=True, text=True, timeout=300, cwd=REPO_ROOT,
    )
    print(proc.stdout[-6000:])
    if proc.returncode == SKIP_EXIT:
        pytest.skip(proc.stdout.strip().splitlines()[-1])
    assert proc.returncode == 0, f"disk full run failed ({proc.returncode}):\n{proc.stdout[-8000:]}\n{proc.stderr[-3000:]}"
    assert "OK: every check held" in proc.stdout
