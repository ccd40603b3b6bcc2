#!/usr/bin/env python3
"""Turns parley-bench's JSON lines (one per scenario and target) into the markdown table of benchmarks/results/."""
import argparse
import json
import os
import platform
import subprocess
from datetime import datetime, timezone

# (scenario, figure, label, higher is better)
ROWS = [
    ("fanout", "deliveriesPerSecond", "fanout: deliveries/s", True),
    ("fanout", "latencyP50Ms", "fanout: latency p50 (ms)", False),
    ("fanout", "latencyP99Ms", "fanout: latency p99 (ms)", False),
    ("fanout", "latencyMaxMs", "fanout: latency max (ms)", False),
    ("fanout", "lost", "fanout: lost deliveries", False),
    ("fanout", "duplicated", "fanout: duplicated deliveries", False),
    ("fanout", "serverPeakRssMB", "fanout: server peak RSS (MB)", False),
    ("saturate", "sustainedDeliveriesPerSecond", "saturate: sustained deliveries/s", True),
    ("saturate", "sustainedRate", "saturate: sustained messages/s", True),
    ("saturate", "latencyP99Ms", "saturate: p99 at that rate (ms)", False),
    ("saturate", "peakDeliveriesPerSecond", "saturate: peak deliveries/s without a loss (any latency)", True),
    ("saturate", "peakP99Ms", "saturate: p99 at the peak (ms)", False),
    ("rooms", "deliveriesPerSecond", "rooms: deliveries/s", True),
    ("rooms", "latencyP99Ms", "rooms: latency p99 (ms)", False),
    ("rooms", "lost", "rooms: lost deliveries", False),
    ("connect", "connectsPerSecond", "connect: connections/s", True),
    ("connect", "handshakeP99Ms", "connect: handshake p99 (ms)", False),
    ("connect", "tokenAndHandshakeP99Ms", "connect: token + handshake p99 (ms)", False),
    ("connect", "failures", "connect: failures", False),
    ("idle", "bytesPerConnection", "idle: server RSS per connection (bytes)", False),
    ("tokens", "callsPerSecond", "tokens: CreateChatToken calls/s", True),
    ("tokens", "latencyP99Ms", "tokens: latency p99 (ms)", False),
]


def load(path):
    runs = {}
    with open(path) as lines:
        for line in lines:
            line = line.strip()
            if line.startswith("{"):
                run = json.loads(line)
                runs[(run["scenario"], run["target"])] = run
    return runs


def number(value):
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def goals(runs):
    """Each goal of issue #8 with its figure and whether it was met."""
    def figure(scenario, name, target="parley"):
        return runs.get((scenario, target), {}).get(name)

    checks = []
    sat, sat_nchan = figure("saturate", "sustainedDeliveriesPerSecond"), figure("saturate", "sustainedDeliveriesPerSecond", "nchan")
    checks.append(("saturate ≥ 250,000 deliveries/s", sat, sat is not None and sat >= 250_000, 250_000))
    checks.append(("saturate ≥ nginx+nchan in the same run", sat, sat is not None and sat_nchan is not None and sat >= sat_nchan, sat_nchan))
    p99 = figure("fanout", "latencyP99Ms")
    checks.append(("fanout p99 < 50 ms", p99, p99 is not None and p99 < 50, 50))
    lost = sum((run.get("lost") or 0) for (s, t), run in runs.items() if t == "parley")
    checks.append(("zero lost deliveries in every scenario", lost, lost == 0, 0))
    idle = figure("idle", "bytesPerConnection")
    checks.append(("idle RSS ≤ 16 KB per connection", idle, idle is not None and idle <= 16_384, 16_384))
    connect = figure("connect", "connectsPerSecond")
    checks.append(("connect ≥ 2,000/s", connect, connect is not None and connect >= 2_000, 2_000))
    tokens = figure("tokens", "callsPerSecond")
    checks.append(("tokens ≥ 5,000/s", tokens, tokens is not None and tokens >= 5_000, 5_000))
    return checks


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("results")
    parser.add_argument("--quick", default="false")
    parser.add_argument("--commit", default="")
    args = parser.parse_args()
    runs = load(args.results)
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(f"# Parley vs nginx+nchan — {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    print()
    print(f"Commit `{args.commit}`, {platform.machine()} {cpu}, server pinned to core 0, load to core 1"
          + (" — **quick run (tiny sizes), not a measurement**" if args.quick == "true" else "") + ".")
    print("Made by `benchmarks/run.sh`; see BENCHMARKS.md for the method and how to read it.")
    print()
    print("| figure | Parley | nginx+nchan | Parley ÷ nchan |")
    print("|---|---:|---:|---:|")
    for scenario, name, label, higher in ROWS:
        parley = runs.get((scenario, "parley"), {}).get(name)
        nchan = runs.get((scenario, "nchan"), {}).get(name)
        if parley is None and nchan is None:
            continue
        ratio = f"{parley / nchan:.2f}" if isinstance(parley, (int, float)) and isinstance(nchan, (int, float)) and nchan else "—"
        print(f"| {label} | {number(parley)} | {number(nchan)} | {ratio} |")
    print()
    print("## Parameters")
    print()
    for (scenario, target), run in sorted(runs.items()):
        params = {k: v for k, v in run.items() if k in ("subscribers", "rate", "rooms", "members", "connections", "requests", "stoppedBy")}
        print(f"- {scenario} · {target}: " + ", ".join(f"{k} {v}" for k, v in params.items()))
    print()
    print("## Goals (issue #8)")
    print()
    print("| goal | Parley | met | short by |")
    print("|---|---:|:---:|---:|")
    for goal, value, met, bound in goals(runs):
        short = ""
        if not met and isinstance(value, (int, float)) and isinstance(bound, (int, float)) and bound:
            short = f"{abs(value - bound) / bound:.0%}"
        print(f"| {goal} | {number(value)} | {'yes' if met else '**no**'} | {short} |")
    limits = os.path.join(os.path.dirname(os.path.abspath(__file__)), "limits.md")
    if os.path.exists(limits) and not all(met for _, _, met, _ in goals(runs)):
        print()
        print("## What limits the missed goals")
        print()
        print(open(limits).read().strip())
    print()
    print("## Raw JSON lines")
    print()
    print("```")
    for run in runs.values():
        print(json.dumps(run))
    print("```")


if __name__ == "__main__":
    main()
