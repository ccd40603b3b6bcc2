#!/usr/bin/env python3
"""A quick fan-out measurement (the benchmark tool of issue 8 does this properly).

Starts nothing: point it at a running Parley. It creates one room, connects RECEIVERS clients to it, has one
sender send MESSAGES messages at RATE per second, and reports how many connections the room held, deliveries/s,
lost deliveries and end-to-end latency percentiles (each message carries its send time).

    PARLEY_QUOTA_CreateChatTokenTPS=100000 PARLEY_CONNECTION_REQUEST_RATE=1000 parley serve ...
    AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... python3 benchmarks/quick_fanout.py --endpoint http://127.0.0.1:8080
"""
import argparse
import asyncio
import json
import statistics
import time

import boto3
from websockets.asyncio.client import connect


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--receivers", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--rate", type=int, default=50)
    args = parser.parse_args()

    client = boto3.client("ivschat", endpoint_url=args.endpoint, region_name="us-east-1")
    room = client.create_room(name="quick-fanout", maximumMessageRatePerSecond=100)
    ws_url = args.endpoint.replace("http", "ws", 1)

    def token(user: str, capabilities: list[str]) -> str:
        return client.create_chat_token(roomIdentifier=room["arn"], userId=user, capabilities=capabilities)["token"]

    tokens = [token(f"viewer-{i}", []) for i in range(args.receivers)]
    received = [0] * args.receivers
    latencies: list[float] = []
    done = asyncio.Event()

    async def receiver(index: int, ws) -> None:
        async for frame in ws:
            message = json.loads(frame)
            if message.get("Type") != "MESSAGE":
                continue
            received[index] += 1
            latencies.append(time.time() - float(message["Attributes"]["sent"]))
            if received[index] == args.messages:
                return

    sockets = []
    for i, value in enumerate(tokens):
        sockets.append(await connect(ws_url, subprotocols=[value], max_queue=None, open_timeout=30))
    print(f"connected {len(sockets)} receivers to one room")
    tasks = [asyncio.create_task(receiver(i, ws)) for i, ws in enumerate(sockets)]

    async with connect(ws_url, subprotocols=[token("sender", ["SEND_MESSAGE"])]) as sender:
        started = time.time()
        for n in range(args.messages):
            await sender.send(json.dumps({"Action": "SEND_MESSAGE", "RequestId": str(n), "Content": f"m{n}", "Attributes": {"sent": repr(time.time())}}))
            await asyncio.sleep(max(0.0, started + (n + 1) / args.rate - time.time()))
        try:
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)
        except asyncio.TimeoutError:
            pass
        elapsed = time.time() - started
    total = sum(received)
    expected = args.receivers * args.messages
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else float("nan")
    print(json.dumps({
        "receivers": args.receivers, "messages": args.messages, "rate": args.rate, "deliveries": total, "lost": expected - total,
        "deliveries_per_second": round(total / elapsed), "p50_ms": round(pick(0.5), 1), "p99_ms": round(pick(0.99), 1),
        "max_ms": round(pick(1.0), 1), "mean_ms": round(statistics.fmean(latencies) * 1000, 1) if latencies else None,
    }))
    for ws in sockets:
        await ws.close()


asyncio.run(main())
