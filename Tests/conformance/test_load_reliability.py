"""Short versions of the load reliability runs (scripts/reliability/load.sh makes the full ones): a soak of many rooms
chatting steadily, and stalled readers among healthy subscribers of one room. Both drive the real binary with
parley-bench and check the figures it prints.
"""

from __future__ import annotations

import pytest

from parley_support import run_bench

SLOW_READERS = 3


@pytest.fixture(scope="module")
def parley(start_module_server):
    return start_module_server(
        PARLEY_CONNECTION_REQUEST_RATE=1000,
        PARLEY_QUOTA_SendMessageRequestsPerSecond=100000,
        PARLEY_QUOTA_CreateChatTokenTPS=100000,
    )


def test_soak_keeps_memory_and_descriptors_flat_and_loses_nothing(bench_binary, parley):
    # act: 10 rooms of 50 members chatting for 30 s, sampled every 5 s
    result = run_bench(
        bench_binary, "soak", "parley", parley.port, parley.process.pid,
        "--rooms", "10", "--members", "50", "--rate", "2", "--duration", "30", "--interval", "5", "--warm-up", "10",
        timeout=180,
    )

    # verify: every message reached every member of its room once, nobody was refused or dropped
    assert result["connections"] == 510 and result["samples"] >= 5
    assert result["sent"] > 0 and result["deliveries"] == result["sent"] * 50
    assert result["lost"] == 0 and result["duplicated"] == 0 and result["rejected"] == 0
    assert result["disconnected"] == 0
    # verify: descriptors held steady while connected and all came back after the clients left
    assert result["fdsConnected"] >= result["fdsBefore"] + 510
    assert result["fdsMax"] - result["fdsMin"] <= 5, result
    assert result["fdsAfterClose"] <= result["fdsBefore"] + 2, result
    # verify: memory after warm-up stays within noise
    assert result["rssMaxMB"] <= result["rssAfterWarmUpMB"] * 1.10, result["rssCurveMB"]


def test_stalled_readers_are_dropped_and_nobody_else_is_delayed(bench_binary, parley):
    # act: 200 healthy subscribers measured alone, then with 3 readers that stop reading
    result = run_bench(
        bench_binary, "slow-reader", "parley", parley.port, parley.process.pid,
        "--subscribers", "200", "--slow-readers", str(SLOW_READERS), "--rate", "50", "--padding", "440",
        "--duration", "25", timeout=180,
    )

    # verify: the server dropped every stalled reader once its queue was full
    assert result["slowReadersDropped"] == SLOW_READERS, result
    # verify: the healthy subscribers lost nothing, stayed connected, and were not held back by the stalled ones
    assert result["healthyDisconnected"] == 0
    assert result["baselineLost"] == 0 and result["withSlowReadersLost"] == 0
    assert result["withSlowReadersDuplicated"] == 0 and result["withSlowReadersRejected"] == 0
    assert result["withSlowReadersP99Ms"] <= result["baselineP99Ms"] + 250, result
