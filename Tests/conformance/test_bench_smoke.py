"""Smoke runs of every parley-bench scenario against the real binary and against nginx+nchan, with tiny sizes.

These are not measurements (benchmarks/run.sh makes those); they keep the tool, its peer setup and the results table
from rotting: each scenario must run, deliver everything it sends exactly once, and print its JSON line.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from parley_support import REPO_ROOT, free_port, run_bench

NCHAN_MODULE = Path("/usr/lib/nginx/modules/ngx_nchan_module.so")


@pytest.fixture(scope="module")
def parley(start_module_server):
    return start_module_server(
        PARLEY_CONNECTION_REQUEST_RATE=1000,
        PARLEY_QUOTA_SendMessageRequestsPerSecond=100000,
    )


@pytest.fixture(scope="module")
def nchan(tmp_path_factory: pytest.TempPathFactory):
    if shutil.which("nginx") is None or not NCHAN_MODULE.exists():
        pytest.fail("nginx with nchan is not installed: apt-get install nginx-light libnginx-mod-nchan (.ci/run does)")
    root = tmp_path_factory.mktemp("nchan")
    port = free_port()
    (root / "logs").mkdir()
    template = (REPO_ROOT / "benchmarks" / "nchan.conf").read_text()
    (root / "nginx.conf").write_text(
        template.replace("@ROOT@", str(root)).replace("@PORT@", str(port)).replace("@CONNECTIONS@", "4096"))
    subprocess.run(["nginx", "-p", str(root), "-c", str(root / "nginx.conf")], check=True, timeout=30)
    pid_file = root / "nginx.pid"
    deadline = time.monotonic() + 10
    while not (pid_file.exists() and pid_file.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    master = int(pid_file.read_text())
    yield {"port": port, "pid": master}
    os.kill(master, signal.SIGQUIT)


SCENARIOS = [
    ("fanout", ["--subscribers", "20", "--rate", "10", "--duration", "1"]),
    ("saturate", ["--subscribers", "20", "--rates", "10", "20", "--duration", "1"]),
    ("rooms", ["--rooms", "3", "--members", "10", "--rate", "5", "--duration", "1"]),
    ("connect", ["--connections", "50", "--concurrency", "8"]),
    ("idle", ["--connections", "50", "--settle", "0.2"]),
]


def check(result: dict[str, Any]) -> None:
    scenario = result["scenario"]
    if scenario in ("fanout", "rooms"):
        # Every message sent reaches every member of its room.
        members = result["subscribers"] if scenario == "fanout" else result["members"]
        assert result["rejected"] == 0
        assert result["sent"] > 0 and result["deliveries"] == result["sent"] * members
        assert result["lost"] == 0 and result["duplicated"] == 0 and result["disconnected"] == 0
        assert 0 < result["latencyP50Ms"] <= result["latencyP99Ms"] <= result["latencyMaxMs"]
        assert result["serverRssMB"] > 0
    elif scenario == "saturate":
        assert result["sustainedRate"] == 20, result["stoppedBy"]
        assert result["sustainedDeliveriesPerSecond"] > 0
    elif scenario == "connect":
        assert result["failures"] == 0 and result["connectsPerSecond"] > 0
        assert result["handshakeP99Ms"] <= result["tokenAndHandshakeP99Ms"]
    elif scenario == "idle":
        assert result["connections"] == 50 and result["serverRssAfterMB"] > 0
    elif scenario == "tokens":
        assert result["failures"] == 0 and result["callsPerSecond"] > 0 and result["latencyP99Ms"] > 0


@pytest.mark.parametrize("scenario,args", SCENARIOS + [("tokens", ["--requests", "100", "--concurrency", "4"])])
def test_scenario_against_parley(bench_binary, parley, scenario, args, results_file):
    result = run_bench(bench_binary, scenario, "parley", parley.port, parley.process.pid, *args)
    check(result)
    results_file.append(result)


@pytest.mark.parametrize("scenario,args", SCENARIOS)
def test_scenario_against_nchan(bench_binary, nchan, scenario, args, results_file):
    result = run_bench(bench_binary, scenario, "nchan", nchan["port"], nchan["pid"], *args)
    check(result)
    results_file.append(result)


@pytest.fixture(scope="module")
def results_file() -> list[dict[str, Any]]:
    return []


def test_results_table_has_both_columns(results_file, tmp_path):
    assert results_file, "the scenario tests ran first and collected their JSON lines"
    lines = tmp_path / "results.jsonl"
    lines.write_text("".join(json.dumps(result) + "\n" for result in results_file))
    table = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / "tabulate.py"), str(lines), "--quick", "true", "--commit", "test"],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout
    fanout = next(line for line in table.splitlines() if line.startswith("| fanout: deliveries/s"))
    cells = [cell.strip() for cell in fanout.strip("|").split("|")]
    assert cells[1] != "—" and cells[2] != "—" and cells[3] != "—", fanout
    assert "## Goals (issue #8)" in table
