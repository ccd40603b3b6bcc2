#!/usr/bin/env python3
"""Added latency of message review: send→receive latency in a room with an ALLOW review handler vs one without.

Runs by hand against a Parley server that is already running (it starts nothing itself):

    AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... \\
    python3 benchmarks/review_latency.py --endpoint http://127.0.0.1:PORT \\
        --handler-url http://127.0.0.1:HPORT/review/allow --messages 1000

It creates two rooms (maximumMessageRatePerSecond 100): one whose messageReviewHandler is --handler-url
(fallbackResult DENY, so a timed-out or failed review shows up as an ERROR instead of a silent delivery) and one
without. For each room in turn it opens one receive-only listener and --connections sender connections, sends
--messages messages spread over the senders, each sender at most --rate messages/s (the per-connection limit is
10/s, the room's 100/s), and measures, per message, the time from the send to the listener's receipt.

It prints p50/p99/max for each room, the difference (the latency review adds) and the deliveries/s reached in the
room with the handler. A review handler to point it at: Tests/conformance/review_handler.py --no-record.
The server should allow many connection requests (e.g. PARLEY_CONNECTION_REQUEST_RATE=1000).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from websockets.asyncio.client import connect


@dataclass
class RoomRun:
    label: str
    sent: dict[str, float] = field(default_factory=dict)  # RequestId -> monotonic send time
    received: dict[str, float] = field(default_factory=dict)  # RequestId -> monotonic receive time (listener)
    errors: dict[str, dict] = field(default_factory=dict)  # RequestId -> ERROR frame (sender)
    first_send: float = math.inf
    last_receive: float = 0.0

    def latencies_ms(self) -> list[float]:
        return sorted((self.received[r] - self.sent[r]) * 1000 for r in self.received if r in self.sent)


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def make_client(endpoint: str, region: str):
    return boto3.client(
        "ivschat", endpoint_url=endpoint, region_name=region,
        config=Config(retries={"max_attempts": 8, "mode": "standard"}, read_timeout=30),
    )


async def run_room(client, ws_url: str, room: dict, run: RoomRun, messages: int, connections: int, rate: float,
                   drain_s: float) -> None:
    def token(caps):
        return client.create_chat_token(roomIdentifier=room["arn"], userId=f"bench-{uuid.uuid4().hex[:10]}",
                                        capabilities=caps)["token"]

    listener = await connect(ws_url, subprotocols=[token([])], max_queue=None, open_timeout=10)
    senders = [await connect(ws_url, subprotocols=[token(["SEND_MESSAGE"])], max_queue=None, open_timeout=10)
               for _ in range(connections)]
    expected = messages

    async def listen() -> None:
        async for text in listener:
            now = time.monotonic()
            frame = json.loads(text)
            rid = frame.get("RequestId", "")
            if frame.get("Type") == "MESSAGE" and rid in run.sent and rid not in run.received:
                run.received[rid] = now
                run.last_receive = now
                if len(run.received) + len(run.errors) >= expected:
                    return

    async def drain(ws) -> None:  # senders get every message of the room too; keep their ERRORs
        async for text in ws:
            frame = json.loads(text)
            if frame.get("Type") == "ERROR" and frame.get("RequestId") in run.sent:
                run.errors[frame["RequestId"]] = frame

    async def send(k: int, ws, count: int, start: float) -> None:
        interval = 1.0 / rate
        offset = k * interval / connections  # stagger the senders evenly
        for j in range(count):
            due = start + offset + j * interval
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            rid = f"{run.label}-{k}-{j}"
            payload = json.dumps({"Action": "SEND_MESSAGE", "RequestId": rid, "Content": f"benchmark message {j}",
                                  "Attributes": {"k": str(k)}})
            now = time.monotonic()
            run.sent[rid] = now
            run.first_send = min(run.first_send, now)
            await ws.send(payload)

    listen_task = asyncio.create_task(listen())
    drain_tasks = [asyncio.create_task(drain(ws)) for ws in senders]
    per_sender = [messages // connections + (1 if k < messages % connections else 0) for k in range(connections)]
    start = time.monotonic() + 0.2
    await asyncio.gather(*(send(k, ws, per_sender[k], start) for k, ws in enumerate(senders)))
    try:
        await asyncio.wait_for(listen_task, timeout=drain_s)
    except asyncio.TimeoutError:
        pass
    for t in drain_tasks:
        t.cancel()
    for ws in (listener, *senders):
        await ws.close()


def report(run: RoomRun) -> tuple[float, float]:
    lat = run.latencies_ms()
    p50, p99 = percentile(lat, 50), percentile(lat, 99)
    lost = len(run.sent) - len(run.received) - len(run.errors)
    codes: dict[int, int] = {}
    for frame in run.errors.values():
        codes[frame.get("ErrorCode")] = codes.get(frame.get("ErrorCode"), 0) + 1
    print(f"  {run.label:<10} sent {len(run.sent):>6}  delivered {len(run.received):>6}  errors {codes or 0}  "
          f"missing {lost}  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  max {lat[-1] if lat else float('nan'):7.2f} ms")
    return p50, p99


async def main_async(args) -> int:
    client = make_client(args.endpoint, args.region)
    parts = urlsplit(args.endpoint)
    ws_url = f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}/"
    tag = uuid.uuid4().hex[:8]
    plain = client.create_room(name=f"bench-plain-{tag}", maximumMessageRatePerSecond=100)
    reviewed = client.create_room(
        name=f"bench-review-{tag}", maximumMessageRatePerSecond=100,
        messageReviewHandler={"uri": args.handler_url, "fallbackResult": "DENY"},
    )
    runs = [RoomRun("no-review"), RoomRun("review")]
    print(f"{args.messages} messages per room from {args.connections} connections at {args.rate}/s each "
          f"(~{args.connections * args.rate:.0f}/s); handler {args.handler_url}")
    try:
        for room, run in zip((plain, reviewed), runs):
            await run_room(client, ws_url, room, run, args.messages, args.connections, args.rate, args.drain)
    finally:
        for room in (plain, reviewed):
            client.delete_room(identifier=room["arn"])
    print("send -> receive latency:")
    base = report(runs[0])
    rev = report(runs[1])
    print(f"  added by review: p50 {rev[0] - base[0]:+.2f} ms  p99 {rev[1] - base[1]:+.2f} ms")
    r = runs[1]
    if r.received:
        span = r.last_receive - r.first_send
        print(f"  review room throughput: {len(r.received)} deliveries in {span:.2f} s = {len(r.received) / span:.1f}/s")
    ok = all(len(x.received) == len(x.sent) for x in runs)
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", required=True, help="Parley's API endpoint, e.g. http://127.0.0.1:8080")
    parser.add_argument("--handler-url", required=True, help="an http(s) review handler that answers ALLOW")
    parser.add_argument("--messages", type=int, default=1000, help="messages per room")
    parser.add_argument("--connections", type=int, default=10, help="sender connections per room")
    parser.add_argument("--rate", type=float, default=9.0, help="messages/s per sender connection (limit 10)")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    parser.add_argument("--drain", type=float, default=10.0, help="seconds to wait for the last deliveries")
    args = parser.parse_args()
    if args.rate > 10:
        parser.error("--rate above 10/s would exceed the per-connection request limit")
    if args.connections * args.rate > 100:
        parser.error("--connections * --rate above 100/s would exceed the room's message rate")
    sys.exit(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()
