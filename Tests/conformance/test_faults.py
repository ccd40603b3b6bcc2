"""Faults with bounds (RELIABILITY.md): `scripts/reliability/faults.py`, CI-sized.

Review phase: nine rooms with 10 listeners each and one sender at 2 messages a second. Every room sends for a
baseline with healthy handlers, then UpdateRoom turns seven rooms' handlers faulty: they hang, reset the connection,
answer after 300 ms or 1000 ms, send their body after 1000 ms, answer garbage or HTTP 500; the two control rooms (no
handler, a healthy handler) keep going. Every
SEND_MESSAGE must be answered within the 200 ms budget plus the control rooms' p99 + 100 ms, with the room's
fallbackResult applied, every delivered message must reach every listener, and the control rooms' p99 must not grow
by more than 100 ms (the full run uses 50 ms; CI machines are noisier).

Logging phase: four rooms logging to CloudWatch Logs and Firehose (moto) through a TCP proxy that goes down for 10 s
(connections reset), chat going on throughout: no record lost or duplicated beyond one batch, the backlog drains,
the outbox ends empty, and the senders' answers are not slowed by the outage.

The full run (thousands of listeners, a three-minute outage, S3 too) is the script's default; its numbers are in
RELIABILITY.md. Runtime here: about 20 s + 30 s.
"""

from __future__ import annotations

import os
import subprocess
import sys

from parley_support import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "reliability" / "faults.py"


def run_faults(parley_binary, tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PARLEY_BINARY": str(parley_binary)}
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--workdir", str(tmp_path / "faults"), *args],
        env=env, capture_output=True, text=True, timeout=240, cwd=REPO_ROOT,
    )
    print(proc.stdout[-8000:])
    assert proc.returncode == 0, f"faults.py failed ({proc.returncode}):\n{proc.stdout[-8000:]}\n{proc.stderr[-3000:]}"
    assert "OK: every check held" in proc.stdout
    return proc


def test_broken_review_handlers_answer_within_the_budget_and_leave_other_rooms_alone(parley_binary, tmp_path):
    proc = run_faults(
        parley_binary, tmp_path, "--phase", "review", "--listeners", "10", "--baseline", "5", "--duration", "8",
        "--control-bound-ms", "100",
    )
    for room in ("hang", "reset", "slow300", "slow1000", "slowbody", "garbage", "error500"):
        assert f"\n{room} " in proc.stdout, f"no line for the {room} room:\n{proc.stdout[-4000:]}"


def test_log_destination_down_then_back_loses_nothing_and_chat_goes_on(parley_binary, tmp_path):
    proc = run_faults(
        parley_binary, tmp_path, "--phase", "logging", "--log-rooms", "4", "--log-listeners", "5",
        "--before", "4", "--outage", "10", "--after", "4", "--no-s3", "--chat-bound-ms", "100",
    )
    assert "cwl: " in proc.stdout and "firehose: " in proc.stdout
