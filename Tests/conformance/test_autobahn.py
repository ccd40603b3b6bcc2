"""WebSocket protocol compliance: Autobahn's cases 1-10 (kosoku's fuzzing client) against Parley's WebSocket stack.

`scripts/reliability/autobahn.sh` starts Parley with PARLEY_TEST_ECHO_ENDPOINT=1, which adds the echo route
/_test/echo served by the messaging endpoint's channel and WebSocket handler configuration, runs the cases and
summarises them. Every case must be OK, NON-STRICT or INFORMATIONAL; the only exception is LIMIT: a 9.x case whose
message is over Parley's 64 KiB message limit, which the server must refuse by closing with 1009.
All of 1-10 (about 300 cases) take about 30 s here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from parley_support import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "reliability" / "autobahn.sh"


def kosoku_executable() -> str:
    """kosoku from requirements.txt (next to this Python, or on PATH); else a virtual environment of its own."""
    beside = Path(sys.executable).parent / "kosoku"
    if beside.exists():
        return str(beside)
    found = shutil.which("kosoku")
    if found:
        return found
    venv = Path(os.environ.get("KOSOKU_VENV", "/tmp/kosoku-venv"))
    if not (venv / "bin" / "kosoku").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", "kosoku"], check=True, timeout=600
        )
    return str(venv / "bin" / "kosoku")


def test_autobahn_cases_1_to_10_none_failed(parley_binary, tmp_path):
    env = {**os.environ, "PARLEY_BINARY": str(parley_binary), "KOSOKU": kosoku_executable()}
    env["AUTOBAHN_OUT"] = str(tmp_path / "reports")
    proc = subprocess.run([str(SCRIPT)], env=env, capture_output=True, text=True, timeout=600, cwd=REPO_ROOT)
    print(proc.stdout)
    assert proc.returncode == 0, f"Autobahn run failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr[-3000:]}"
    assert "FAILED" not in proc.stdout, proc.stdout
    assert "Autobahn cases run: " in proc.stdout
    ran = int(proc.stdout.split("Autobahn cases run: ", 1)[1].split()[0])
    assert ran >= 290, f"only {ran} cases ran:\n{proc.stdout}"


def test_echo_route_does_not_exist_without_the_test_setting(server):
    """Without PARLEY_TEST_ECHO_ENDPOINT the path is just the messaging endpoint: no token, no upgrade."""
    url = server.endpoint.replace("http://", "ws://") + "/_test/echo"
    with pytest.raises(InvalidStatus) as info:
        with connect(url, open_timeout=10, proxy=None):
            pass
    assert info.value.response.status_code in (400, 401, 403, 404), info.value.response.status_code
