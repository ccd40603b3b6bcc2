#!/usr/bin/env python3
"""Faults with bounds: broken review handlers and a chat-log destination that is down for minutes, under load.

    scripts/reliability/faults.py [--phase review|logging|both] [--listeners 300] [--rate 2]
                                  [--baseline 30] [--duration 60] [--outage 180] [--workdir DIR] [--keep]

Phase `review` starts `parley serve` (PARLEY_BINARY, default .build/debug/parley) and three review_handler.py
processes (Tests/conformance/review_handler.py): a healthy one, and two that misbehave (`--slow-ms` 300 and 1000).
Rooms, each with `--listeners` receive-only connections and one sender sending SEND_MESSAGE at `--rate` a second:
  control rooms  `none` (no handler) and `healthy` (a handler that rewrites every message, fallback DENY: a fallback
                 shows as an ERROR, so every answer proves the handler was waited for and answered in time);
  faulty rooms   `hang` (never answers), `reset` (closes the connection with RST), `slow300` and `slow1000` (answer
                 after 300 / 1000 ms), `slowbody` (sends the head at once and the body after 1000 ms), `garbage`
                 (200 with a body that is not JSON), `error500` (HTTP 500); each with a fallbackResult, ALLOW or DENY.
First a baseline of `--baseline` seconds with every room sending and every handler healthy (the faulty rooms' URIs
name the same handler processes in mode `allow` or `deny`, matching their fallback, so each room delivers the same
messages to the same listeners as it will during the faults), then UpdateRoom points the faulty rooms at their
faulty modes and every room sends for `--duration` seconds. The two phases carry the same traffic; only the
handlers' behaviour differs. For every SEND_MESSAGE the time until the sender gets its answer (its own MESSAGE frame or an
ERROR frame, matched by RequestId). Checks:
  - every SEND_MESSAGE is answered;
  - per faulty mode, the slowest answer is within the 200 ms review budget plus a delivery allowance: the control
    rooms' p99 during the faults plus 100 ms;
  - the fallback applies: ALLOW rooms deliver the original message to the sender and every listener, DENY rooms
    answer ERROR 406 and deliver nothing; the healthy room's answers are all the handler's rewrite (no fallback);
  - every delivered message reaches every listener of its room exactly once;
  - the control rooms are unaffected: their p99 during the faults is at most the baseline p99 + `--control-bound-ms`
    (50 ms);
  - the server's open descriptors come back (hung handler calls are not leaked) and it exits 0 on SIGTERM.

Phase `logging` starts moto_server (S3, CloudWatch Logs, Firehose) and a TCP proxy in front of it; Parley reaches
AWS only through the proxy (AWS_ENDPOINT_URL). `--log-rooms` rooms log to CloudWatch Logs, Firehose and (with
`--s3`, the default in the full run) S3; each has `--log-listeners` listeners and a sender at `--rate`. After
`--before` seconds the proxy goes down for `--outage` seconds: every connection it carries is reset and new ones are
accepted and reset at once (`--outage-kind reset`), or accepted and never answered (`blackhole`); chat goes on, and
goes on for `--after` seconds once the proxy is back. Checks:
  - no record lost: every MESSAGE frame a client received is at every destination; a record appears twice only as
    part of one batch shipped twice (CloudWatch Logs and Firehose: one contiguous run per room; S3: within one room
    minute, as crash_cycles.py checks);
  - the backlog drains: every record of a frame sent before the recovery is at its destination within
    `--drain-bound` seconds (120: backoff is capped at 60 s) of the recovery, S3 within that plus the rest of the
    recovery's minute (its objects ship per finished minute); the outbox (`parley_log_outbox_bytes`) is empty at the
    end and `parley_log_records_dropped` is 0; the outbox peak and the drain times are printed;
  - chat is unaffected: the senders' answer p99 during the outage is at most the p99 before it + `--chat-bound-ms`
    (50 ms), and every SEND_MESSAGE is answered with its MESSAGE.

All clients run in one asyncio process. Listeners are raw WebSocket connections that only count frames (and answer
pings), so that thousands of them cost this process little; the event loop's lag is measured and printed, so a
Python-side bottleneck would show. Uses the conformance suite's helpers (parley_support.py, review_handler.py,
test_review_handlers.HandlerProcess, test_chat_logging's readers). Prints a summary with the numbers; exits 0 when every
check held, 1 with the list of failed checks otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import gzip
import json
import os
import re
import resource
import shutil
import socket
import struct
import sys
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "Tests" / "conformance"))

import requests  # noqa: E402
from websockets.asyncio.client import connect as ws_async_connect  # noqa: E402

from parley_support import (  # noqa: E402
    DEFAULT_BINARY,
    MotoServer,
    ParleyServer,
    chat_token,
    parse_log_record,
    parse_prometheus,
    prom_sample,
    scrape_metrics,
    unique,
)
from test_chat_logging import Aws, key_minute, s3_prefix, stream_name  # noqa: E402
from test_review_handlers import HandlerProcess  # noqa: E402

REVIEW_BUDGET_MS = 200.0  # IVS Chat's fixed review handler timeout (Parley's default)
ALLOWANCE_EXTRA_MS = 100.0  # delivery allowance = control p99 + this
CONNECT_CONCURRENCY = 64
SETTLE_TIMEOUT_S = 10.0  # after the last send: answers and deliveries still on their way
RID_RE = re.compile(rb'"RequestId"\s*:\s*"([^"]*)"')


def log(message: str) -> None:
    print(message, flush=True)


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, int(round(q / 100.0 * len(ordered) + 0.5)) - 1))
    return ordered[index]


def fmt_ms(value: float) -> str:
    return "-" if value != value else f"{value:.1f}"


def latency_line(values: list[float]) -> str:
    return f"n={len(values)} p50={fmt_ms(pct(values, 50))} p99={fmt_ms(pct(values, 99))} max={fmt_ms(max(values) if values else float('nan'))} ms"


def server_fds(srv: ParleyServer) -> int | None:
    try:
        return len(os.listdir(f"/proc/{srv.process.pid}/fd"))
    except (OSError, AttributeError):
        return None


# ====================================================================== clients


class Room:
    """A chat room seen by this script: its listeners' delivery counts."""

    def __init__(self, label: str, arn: str) -> None:
        self.label = label
        self.arn = arn
        self.deliveries: Counter = Counter()  # RequestId -> frames listeners received
        self.frames = 0  # text frames all listeners received
        self.target: int | None = None
        self.reached = asyncio.Event()
        self.listeners: list[RawListener] = []

    def count(self, request_id: str | None) -> None:
        self.frames += 1
        if request_id is not None:
            self.deliveries[request_id] += 1
        if self.target is not None and self.frames >= self.target:
            self.reached.set()

    def expect(self, frames: int) -> None:
        self.target = frames
        if self.frames >= frames:
            self.reached.set()


class RawListener(asyncio.Protocol):
    """A receive-only WebSocket client that parses just the frame headers: counts text frames (by RequestId), answers
    pings, notes a close. Costs a few microseconds a frame, so thousands of them fit in this one process."""

    def __init__(self, room: Room, token: str, port: int) -> None:
        self.room = room
        self.request = (
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Protocol: {token}\r\n\r\n"
        ).encode()
        self.buffer = bytearray()
        self.upgraded = False
        self.ready: asyncio.Future = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.lost = False
        self.close_code: int | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc) -> None:
        self.lost = True
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"closed before the upgrade: {exc!r}"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end])
            del self.buffer[: end + 4]
            if not head.startswith(b"HTTP/1.1 101"):
                self.ready.set_exception(ConnectionError(f"upgrade refused: {head[:200]!r}"))
                self.transport.close()
                return
            self.upgraded = True
            self.ready.set_result(None)
        self._frames()

    def _frames(self) -> None:
        buf = self.buffer
        n = len(buf)
        pos = 0
        while n - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length = b1 & 0x7F
            head = 2
            if length == 126:
                if n - pos < 4:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 4], "big")
                head = 4
            elif length == 127:
                if n - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                head = 10
            if b1 & 0x80:
                head += 4  # servers do not mask; tolerate it anyway
            if n - pos < head + length:
                break
            opcode = b0 & 0x0F
            payload = bytes(buf[pos + head : pos + head + length])
            pos += head + length
            if opcode == 1:
                match = RID_RE.search(payload)
                self.room.count(match.group(1).decode() if match else None)
            elif opcode == 9:
                self._send(0xA, payload)
            elif opcode == 8:
                self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                self._send(0x8, payload[:2])
                self.transport.close()
        if pos:
            del buf[:pos]

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def close(self) -> None:
        if self.transport is not None and not self.lost:
            self.transport.close()


async def open_listener(port: int, room: Room, token: str) -> RawListener:
    loop = asyncio.get_running_loop()
    _, listener = await loop.create_connection(lambda: RawListener(room, token, port), "127.0.0.1", port)
    await asyncio.wait_for(listener.ready, 15)
    room.listeners.append(listener)
    return listener


@dataclass
class Sent:
    phase: str
    at: float
    content: str
    answered_at: float | None = None
    frame: dict[str, Any] | None = None
    text: str | None = None

    @property
    def latency_ms(self) -> float:
        return (self.answered_at - self.at) * 1000.0


class Sender:
    """One sending connection (websockets): SEND_MESSAGE at a steady rate, answers matched by RequestId."""

    def __init__(self, label: str, ws) -> None:
        self.label = label
        self.ws = ws
        self.sent: dict[str, Sent] = {}
        self.texts: list[str] = []  # every MESSAGE frame this client received, in order
        self.unanswered = 0
        self.all_answered = asyncio.Event()
        self.all_answered.set()
        self.closed: str | None = None
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            async for text in self.ws:
                now = loop.time()
                frame = json.loads(text)
                if frame.get("Type") == "MESSAGE":
                    self.texts.append(text)
                entry = self.sent.get(frame.get("RequestId"))
                if entry is not None and entry.answered_at is None and frame.get("Type") in ("MESSAGE", "ERROR"):
                    entry.answered_at, entry.frame, entry.text = now, frame, text
                    self.unanswered -= 1
                    if self.unanswered == 0:
                        self.all_answered.set()
        except Exception as e:  # noqa: BLE001 - reported in the checks
            self.closed = repr(e)
        else:
            self.closed = f"closed {self.ws.close_code}"

    async def send(self, phase: str, request_id: str, content: str) -> None:
        loop = asyncio.get_running_loop()
        self.sent[request_id] = Sent(phase, loop.time(), content)
        self.unanswered += 1
        self.all_answered.clear()
        await self.ws.send(json.dumps({"Action": "SEND_MESSAGE", "RequestId": request_id, "Content": content}))

    async def run(self, phase: str, seconds: float, rate: float, offset: float, stop: asyncio.Event | None = None) -> None:
        """Send at `rate` a second for `seconds` (or until `stop`), starting `offset` seconds in."""
        loop = asyncio.get_running_loop()
        start = loop.time() + offset
        period = 1.0 / rate
        k = 0
        while True:
            at = start + k * period
            if at > start + seconds or (stop is not None and stop.is_set()):
                return
            await asyncio.sleep(max(0.0, at - loop.time()))
            rid = f"{self.label}-{phase}-{k}"
            await self.send(phase, rid, f"{self.label} {phase} message {k} ✓")
            k += 1

    def latencies(self, phase: str | None = None) -> list[float]:
        return [s.latency_ms for s in self.sent.values() if s.answered_at is not None and (phase is None or s.phase == phase)]

    async def close(self) -> None:
        await self.ws.close()
        self.reader.cancel()


async def open_sender(srv: ParleyServer, label: str, token: str) -> Sender:
    ws = await ws_async_connect(srv.ws_endpoint, subprotocols=[token], open_timeout=15, proxy=None, max_queue=None)
    return Sender(label, ws)


class LoopLag:
    """How late this process's event loop runs a 20 ms timer: a busy client process would inflate every latency."""

    def __init__(self) -> None:
        self.phase = "setup"
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            t = loop.time()
            await asyncio.sleep(0.02)
            self.samples[self.phase].append((loop.time() - t - 0.02) * 1000.0)

    def line(self, phase: str) -> str:
        values = self.samples.get(phase, [])
        return f"event-loop lag ({phase}): p99={fmt_ms(pct(values, 99))} max={fmt_ms(max(values) if values else float('nan'))} ms"

    def stop(self) -> None:
        self.task.cancel()


async def tokens_for(cl, arn: str, count: int, capabilities: tuple[str, ...]) -> list[str]:
    """`count` chat tokens for the room (CreateChatToken through boto3, in worker threads)."""
    return list(
        await asyncio.gather(*(asyncio.to_thread(chat_token, cl, arn, unique("u"), capabilities) for _ in range(count)))
    )


async def connect_listeners(srv: ParleyServer, cl, rooms: list[Room], per_room: int) -> None:
    semaphore = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(room: Room, token: str) -> None:
        async with semaphore:
            await open_listener(srv.port, room, token)

    jobs = []
    for room in rooms:
        for token in await tokens_for(cl, room.arn, per_room, ()):
            jobs.append(one(room, token))
    await asyncio.gather(*jobs)


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# ====================================================================== phase: review handlers


@dataclass
class ReviewRoom:
    label: str
    handler: str | None  # a key of the handler processes, or None
    mode: str | None
    fallback: str  # ALLOW or DENY
    control: bool = False
    room: Room | None = None
    sender: Sender | None = None


REVIEW_ROOMS = [
    ReviewRoom("none", None, None, "ALLOW", control=True),
    ReviewRoom("healthy", "healthy", "rewrite", "DENY", control=True),
    ReviewRoom("hang", "fast", "hang", "ALLOW"),
    ReviewRoom("reset", "fast", "reset", "DENY"),
    ReviewRoom("slow300", "fast", "slow", "ALLOW"),
    ReviewRoom("slow1000", "slow", "slow", "DENY"),
    ReviewRoom("slowbody", "slow", "slowbody", "ALLOW"),
    ReviewRoom("garbage", "fast", "garbage", "DENY"),
    ReviewRoom("error500", "fast", "error500", "ALLOW"),
]


def review_counts(srv: ParleyServer) -> dict[str, tuple[float, float]]:
    """Per handler URI: (calls, calls slower than 250 ms) from /metrics' review latency histogram."""
    families = parse_prometheus(scrape_metrics(srv).text)
    out: dict[str, tuple[float, float]] = {}
    family = families.get("parley_review_handler_latency_seconds")
    if family is None:
        return out
    total: dict[str, float] = {}
    upto: dict[str, float] = {}
    for sample in family.samples:
        uri = sample.labels.get("uri")
        if sample.name.endswith("_count"):
            total[uri] = sample.value
        elif sample.name.endswith("_bucket") and sample.labels.get("le") == "0.25":
            upto[uri] = sample.value
    for uri, count in total.items():
        out[uri] = (count, count - upto.get(uri, 0.0))
    return out


async def review_phase(args, workdir: Path, failures: list[str], summary: list[str]) -> None:
    handlers = {
        "healthy": HandlerProcess("--no-record", log_path=workdir / "handler-healthy.log"),
        "fast": HandlerProcess("--no-record", "--slow-ms", "300", "--hang-max-s", "120", log_path=workdir / "handler-fast.log"),
        "slow": HandlerProcess("--no-record", "--slow-ms", "1000", log_path=workdir / "handler-slow.log"),
    }
    srv = ParleyServer(binary=args.binary, data_dir=workdir / "review-data", log_dir=workdir / "review-logs")
    lag = LoopLag()
    senders: list[Sender] = []
    specs = [ReviewRoom(**r.__dict__) for r in REVIEW_ROOMS]
    try:
        srv.start()
        cl = srv.client()
        for spec in specs:
            kwargs: dict[str, Any] = {"name": unique(f"faults-{spec.label}")}
            if spec.handler:
                # Faulty rooms start healthy, with the outcome their fallback will give (the baseline).
                mode = spec.mode if spec.control else spec.fallback.lower()
                kwargs["messageReviewHandler"] = {"uri": handlers[spec.handler].url(mode), "fallbackResult": spec.fallback}
            spec.room = Room(spec.label, cl.create_room(**kwargs)["arn"])
        started = time.monotonic()
        await connect_listeners(srv, cl, [s.room for s in specs], args.listeners)
        for spec in specs:
            (token,) = await tokens_for(cl, spec.room.arn, 1, ("SEND_MESSAGE",))
            spec.sender = await open_sender(srv, spec.label, token)
            senders.append(spec.sender)
        log(f"review: {len(specs)} rooms, {args.listeners * len(specs)} listeners connected in {time.monotonic() - started:.1f}s")
        fds_before = server_fds(srv)

        controls = [s for s in specs if s.control]
        faulty = [s for s in specs if not s.control]
        # The baseline: the same traffic with healthy handlers.
        lag.phase = "baseline"
        await asyncio.gather(*(s.sender.run("baseline", args.baseline, args.rate, i / (args.rate * len(specs)))
                               for i, s in enumerate(specs)))
        await settle(senders)
        log(f"review: baseline done ({args.baseline:.0f}s)")
        for spec in faulty:
            await asyncio.to_thread(cl.update_room, identifier=spec.room.arn, messageReviewHandler={
                "uri": handlers[spec.handler].url(spec.mode), "fallbackResult": spec.fallback})
        # The faults: every room sends.
        lag.phase = "faults"
        await asyncio.gather(*(s.sender.run("faults", args.duration, args.rate, i / (args.rate * len(specs)))
                               for i, s in enumerate(specs)))
        await settle(senders)
        lag.phase = "settle"
        log(f"review: faults done ({args.duration:.0f}s)")
        # Deliveries: each ALLOW-delivered message to every listener of its room.
        for spec in specs:
            delivered = [rid for rid, s in spec.sender.sent.items() if s.frame and s.frame.get("Type") == "MESSAGE"]
            spec.room.expect(len(delivered) * len(spec.room.listeners))
        try:
            await asyncio.wait_for(asyncio.gather(*(s.room.reached.wait() for s in specs)), SETTLE_TIMEOUT_S)
        except asyncio.TimeoutError:
            pass
        # Hung calls are closed by Parley at the deadline; the handler then sees EOF. Descriptors come back.
        fds_after = await wait_fds(srv, fds_before)
        review_stats = await asyncio.to_thread(review_counts, srv)
        faults_sent = {spec.label: sum(1 for e in spec.sender.sent.values() if e.phase == "faults") for spec in specs}

        # ---- checks and numbers
        control_base = [v for s in controls for v in s.sender.latencies("baseline")]
        control_during = [v for s in controls for v in s.sender.latencies("faults")]
        base_p99, during_p99 = pct(control_base, 99), pct(control_during, 99)
        allowance = during_p99 + ALLOWANCE_EXTRA_MS
        bound = REVIEW_BUDGET_MS + allowance
        summary.append("== review handlers under load")
        summary.append(
            f"rooms {len(specs)}, listeners {args.listeners} per room ({args.listeners * len(specs)} in all), "
            f"{args.rate:g} SEND_MESSAGE/s per room; baseline {args.baseline:g}s, faults {args.duration:g}s"
        )
        summary.append(f"control rooms, baseline:     {latency_line(control_base)}")
        summary.append(f"control rooms, during faults: {latency_line(control_during)}")
        summary.append(
            f"delivery allowance = control p99 during faults + {ALLOWANCE_EXTRA_MS:.0f} ms = {allowance:.1f} ms; "
            f"bound for a faulty room's answer = {REVIEW_BUDGET_MS:.0f} + {allowance:.1f} = {bound:.1f} ms"
        )
        summary.append("per room: SEND_MESSAGE sent and answered (both phases); answer latency in ms during the faults; "
                       "frames listeners received / expected")
        summary.append(f"{'room':9} {'fallback':8} {'sent':>5} {'answered':>8} {'MESSAGE':>7} {'ERROR 406':>9} {'min':>7} "
                       f"{'p50':>7} {'p99':>7} {'max':>7}  listener frames")
        for spec in specs:
            all_entries = list(spec.sender.sent.values())
            answered = [s for s in all_entries if s.answered_at is not None]
            values = spec.sender.latencies("faults")
            messages = [s for s in all_entries if s.frame and s.frame["Type"] == "MESSAGE"]
            denied = [s for s in all_entries if s.frame and s.frame["Type"] == "ERROR" and s.frame.get("ErrorCode") == 406]
            summary.append(
                f"{spec.label:9} {('-' if not spec.handler else spec.fallback):8} {len(all_entries):5} {len(answered):8} "
                f"{len(messages):7} {len(denied):9} {fmt_ms(min(values) if values else float('nan')):>7} "
                f"{fmt_ms(pct(values, 50)):>7} {fmt_ms(pct(values, 99)):>7} {fmt_ms(max(values) if values else float('nan')):>7}  "
                f"{spec.room.frames}/{spec.room.target}"
            )
            check_review_room(spec, bound, failures)
        summary.append(f"control p99 baseline {fmt_ms(base_p99)} ms -> during faults {fmt_ms(during_p99)} ms "
                       f"(bound: baseline + {args.control_bound_ms:g} ms)")
        if not (during_p99 <= base_p99 + args.control_bound_ms):
            failures.append(f"control rooms slowed by the faults: p99 {base_p99:.1f} ms in the baseline, {during_p99:.1f} ms "
                            f"during the faults (bound +{args.control_bound_ms:g} ms)")
        for spec in faulty:
            calls, slow = review_stats.get(handlers[spec.handler].url(spec.mode), (0, 0))
            summary.append(f"server-side review calls {spec.label}: {calls:.0f} in its faulty mode, "
                           f"{slow:.0f} took longer than 250 ms (parley_review_handler_latency_seconds)")
            if calls != faults_sent[spec.label]:
                failures.append(f"{spec.label}: {calls:.0f} calls to the faulty handler for {faults_sent[spec.label]} "
                                f"messages sent during the faults (UpdateRoom not applied?)")
        summary.append(f"server descriptors: {fds_before} with everyone connected, {fds_after} after the faults")
        if fds_before is not None and fds_after is not None and fds_after > fds_before + 20:
            failures.append(f"server descriptors grew from {fds_before} to {fds_after}: handler connections leaked")
        for phase in ("baseline", "faults"):
            summary.append(lag.line(phase))
        dropped = sum(1 for s in specs for listener in s.room.listeners if listener.lost)
        if dropped:
            failures.append(f"{dropped} listeners were disconnected during the run")
    finally:
        lag.stop()
        await close_clients(senders, [spec.room for spec in specs if spec.room])
        rc = srv.stop(check=False)
        if rc != 0:
            failures.append(f"review: parley exited with {rc} after SIGTERM")
        for h in handlers.values():
            h.stop()


async def close_clients(senders: list[Sender], rooms: list[Any]) -> None:
    """Closes every sender (whatever state its connection is in) and every listener of the rooms."""
    for sender in senders:
        try:
            await sender.close()
        except Exception:  # noqa: BLE001
            pass
    for room in rooms:
        for listener in room.listeners:
            listener.close()


async def settle(senders: list[Sender]) -> None:
    try:
        await asyncio.wait_for(asyncio.gather(*(s.all_answered.wait() for s in senders)), SETTLE_TIMEOUT_S)
    except asyncio.TimeoutError:
        pass


async def wait_fds(srv: ParleyServer, before: int | None, timeout: float = SETTLE_TIMEOUT_S) -> int | None:
    """The server's descriptor count once it is back near `before` (hung calls closed), or at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        now = server_fds(srv)
        if before is None or now is None or now <= before + 20 or time.monotonic() > deadline:
            return now
        await asyncio.sleep(0.25)


def check_review_room(spec: ReviewRoom, bound: float, failures: list[str]) -> None:
    label = spec.label
    unanswered = [rid for rid, s in spec.sender.sent.items() if s.answered_at is None]
    if unanswered:
        failures.append(f"{label}: {len(unanswered)} SEND_MESSAGE never answered, e.g. {unanswered[:3]}")
    if spec.sender.closed:
        failures.append(f"{label}: the sender's connection ended: {spec.sender.closed}")
    if not spec.control:
        values = spec.sender.latencies("faults")
        if values and max(values) > bound:
            failures.append(f"{label}: slowest answer {max(values):.1f} ms > {bound:.1f} ms (200 ms budget + allowance)")
    wrong = []
    for rid, s in spec.sender.sent.items():
        if s.frame is None:
            continue
        kind = s.frame["Type"]
        if spec.mode == "rewrite":
            ok = kind == "MESSAGE" and s.frame.get("Content") == f"[reviewed] {s.content}"
        elif spec.fallback == "ALLOW":
            ok = kind == "MESSAGE" and s.frame.get("Content") == s.content
        else:
            ok = kind == "ERROR" and s.frame.get("ErrorCode") == 406
        if not ok:
            wrong.append(s.text)
    if wrong:
        what = "the handler's rewrite" if spec.mode == "rewrite" else f"the fallback {spec.fallback}"
        failures.append(f"{label}: {len(wrong)} answers are not {what}, e.g. {wrong[0][:300]}")
    delivered = {rid for rid, s in spec.sender.sent.items() if s.frame and s.frame["Type"] == "MESSAGE"}
    listeners = len(spec.room.listeners)
    short = {rid: spec.room.deliveries[rid] for rid in delivered if spec.room.deliveries[rid] != listeners}
    if short:
        rid, got = next(iter(short.items()))
        failures.append(f"{label}: {len(short)} delivered messages did not reach every listener exactly once "
                        f"(e.g. {rid}: {got} of {listeners})")
    stray = {rid: n for rid, n in spec.room.deliveries.items() if rid not in delivered}
    if stray:
        failures.append(f"{label}: listeners received {sum(stray.values())} frames of messages the sender was not "
                        f"delivered (a DENY leaked?), e.g. {next(iter(stray))}")


# ====================================================================== phase: a log destination down for minutes


class Proxy:
    """A TCP proxy in front of moto. Down: every connection it carries is reset, and new ones are reset at once
    (`reset`) or accepted and never answered (`blackhole`)."""

    def __init__(self, upstream_port: int, kind: str) -> None:
        self.upstream_port = upstream_port
        self.kind = kind
        self.up = True
        self.open: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self.held: set[asyncio.StreamWriter] = set()
        self.refused = 0
        self.cut = 0
        self.server: asyncio.AbstractServer | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    @staticmethod
    def _reset(writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        writer.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            self.refused += 1
            if self.kind == "reset":
                self._reset(writer)
                return
            self.held.add(writer)
            try:
                while await reader.read(65536):
                    pass
            except (ConnectionError, OSError):
                pass
            finally:
                self.held.discard(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            self._reset(writer)
            return
        pair = (writer, up_writer)
        self.open.add(pair)
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self.open.discard(pair)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            try:
                writer.close()
            except (ConnectionError, OSError, RuntimeError):
                pass

    def go_down(self) -> None:
        self.up = False
        for client, upstream in list(self.open):
            self.cut += 1
            self._reset(client)
            upstream.transport.abort()

    def come_back(self) -> None:
        """New connections are carried again. Blackholed ones stay unanswered until their client gives up, as
        connections whose packets were dropped would."""
        self.up = True

    async def stop(self) -> None:
        if self.server:
            self.server.close()
        for client, upstream in list(self.open):
            client.transport.abort()
            upstream.transport.abort()
        for writer in list(self.held):
            writer.transport.abort()


class DestinationReader:
    """Reads back what one destination holds for each room, incrementally (run in a worker thread)."""

    def __init__(self, kind: str, aws: Aws, name: str, rooms: list[Room]) -> None:
        self.kind = kind  # cwl, firehose, s3
        self.aws = aws
        self.name = name  # log group, Firehose bucket, S3 bucket
        self.rooms = rooms
        self.cwl_tokens: dict[str, str | None] = {}
        self.cwl_lines: dict[str, list[str]] = defaultdict(list)
        self.objects: dict[str, tuple[str, bytes]] = {}  # key -> (etag, body)

    def poll(self, payload_rooms: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
        """room arn -> [(payload, where)] in destination order; `where` names the CloudWatch Logs stream or the object.

        Firehose records carry no room: `payload_rooms` (frame text -> room arn) places them ("unknown" otherwise)."""
        if self.kind == "cwl":
            out = {}
            for room in self.rooms:
                stream = stream_name({"arn": room.arn})
                self._cwl_more(room.arn, stream)
                out[room.arn] = [(parse_log_record(line).payload, stream) for line in self.cwl_lines[room.arn]]
            return out
        self._objects_more()
        out: dict[str, list[tuple[str, str]]] = defaultdict(list)
        by_prefix = {s3_prefix({"arn": room.arn}): room.arn for room in self.rooms}
        for key in sorted(self.objects):
            body = self.objects[key][1]
            text = gzip.decompress(body).decode("utf-8") if self.kind == "s3" else body.decode("utf-8")
            for line in text.split("\n"):
                if not line:
                    continue
                record = parse_log_record(line)
                if self.kind == "s3":
                    arn = next((a for prefix, a in by_prefix.items() if key.startswith(prefix)), "unknown")
                else:
                    arn = payload_rooms.get(record.payload, "unknown")
                out[arn].append((record.payload, key))
        return out

    def _cwl_more(self, arn: str, stream: str) -> None:
        logs = self.aws.logs
        while True:
            kwargs: dict[str, Any] = {"logGroupName": self.name, "logStreamName": stream, "startFromHead": True}
            token = self.cwl_tokens.get(arn)
            if token:
                kwargs["nextToken"] = token
            try:
                page = logs.get_log_events(**kwargs)
            except logs.exceptions.ResourceNotFoundException:
                return
            if not page["events"]:
                return
            self.cwl_lines[arn] += [e["message"] for e in page["events"]]
            self.cwl_tokens[arn] = page.get("nextForwardToken")
            if not self.cwl_tokens[arn] or self.cwl_tokens[arn] == token:
                return

    def _objects_more(self) -> None:
        s3 = self.aws.s3
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.name):
            for obj in page.get("Contents", []):
                cached = self.objects.get(obj["Key"])
                if cached is None or cached[0] != obj["ETag"]:
                    body = s3.get_object(Bucket=self.name, Key=obj["Key"])["Body"].read()
                    self.objects[obj["Key"]] = (obj["ETag"], body)


def payload_rooms(rooms: list[Room], senders: list[Sender]) -> dict[str, str]:
    return {text: room.arn for room, sender in zip(rooms, senders) for text in sender.texts}


def check_archive(kind: str, found: dict[str, list[tuple[str, str]]], frames: dict[str, list[str]],
                  failures: list[str], counts: Counter) -> None:
    """Every frame clients received is archived; duplicates only as one batch shipped twice."""
    for arn, want in frames.items():
        room_id = arn.rsplit("/", 1)[1]
        got = found.get(arn, [])
        where: dict[str, list[str]] = defaultdict(list)
        for payload, key in got:
            where[payload].append(key)
        missing = [f for f in want if f not in where]
        if missing:
            failures.append(f"{kind}, room {room_id}: {len(missing)} of {len(want)} frames clients received are not archived, "
                            f"e.g. {missing[0][:200]}")
        index = {f: i for i, f in enumerate(want)}
        duplicated = sorted(index[p] for p, keys in where.items() if len(keys) > 1 and p in index)
        counts[f"{kind} duplicated records"] += sum(len(k) - 1 for k in where.values())
        counts[f"{kind} archived records"] += len(got)
        counts[f"{kind} archived, never seen by a client"] += sum(1 for p in where if p not in index)
        for payload, keys in where.items():
            if len(keys) > 2:
                failures.append(f"{kind}, room {room_id}: a record archived {len(keys)} times: {payload[:200]}")
            elif len(keys) == 2 and kind == "s3" and len({key_minute(k) for k in keys}) > 1:
                failures.append(f"{kind}, room {room_id}: a record archived in two minutes' objects {keys}: {payload[:200]}")
        if kind != "s3" and duplicated:
            runs = 1 + sum(1 for a, b in zip(duplicated, duplicated[1:]) if b != a + 1)
            if runs > 1:
                failures.append(f"{kind}, room {room_id}: {len(duplicated)} duplicated records in {runs} separate runs "
                                f"(one batch shipped twice makes one run)")


async def logging_phase(args, workdir: Path, failures: list[str], summary: list[str]) -> None:
    moto = MotoServer(log_path=workdir / "moto.log")
    proxy: Proxy | None = None
    srv: ParleyServer | None = None
    lag = LoopLag()
    senders: list[Sender] = []
    rooms: list[Room] = []
    try:
        await asyncio.to_thread(moto.start)
        proxy = Proxy(moto.port, args.outage_kind)
        await proxy.start()
        aws = Aws(s3=moto.client("s3"), logs=moto.client("logs"), firehose=moto.client("firehose"))
        group = await asyncio.to_thread(aws.log_group)
        fh_stream, fh_bucket = await asyncio.to_thread(aws.delivery_stream)
        s3_bucket = await asyncio.to_thread(aws.bucket) if args.s3 else None

        srv = ParleyServer(
            binary=args.binary, data_dir=workdir / "logging-data", log_dir=workdir / "logging-logs",
            extra_env=moto.parley_env(AWS_ENDPOINT_URL=f"http://127.0.0.1:{proxy.port}"),
        )
        await asyncio.to_thread(srv.start)
        cl = srv.client()
        destinations = [("cwl", {"cloudWatchLogs": {"logGroupName": group}}, group),
                        ("firehose", {"firehose": {"deliveryStreamName": fh_stream}}, fh_bucket)]
        if s3_bucket:
            destinations.append(("s3", {"s3": {"bucketName": s3_bucket}}, s3_bucket))
        lcs = []
        for kind, destination, _ in destinations:
            lc = await asyncio.to_thread(cl.create_logging_configuration, name=unique(f"faults-{kind}"),
                                         destinationConfiguration=destination)
            if lc["state"] != "ACTIVE":
                raise RuntimeError(f"logging configuration {kind} is {lc['state']}")
            lcs.append(lc["arn"])
        for i in range(args.log_rooms):
            arn = (await asyncio.to_thread(cl.create_room, name=unique(f"faults-log{i}"),
                                           loggingConfigurationIdentifiers=lcs))["arn"]
            rooms.append(Room(f"log{i}", arn))
        await connect_listeners(srv, cl, rooms, args.log_listeners)
        for room in rooms:
            (token,) = await tokens_for(cl, room.arn, 1, ("SEND_MESSAGE",))
            senders.append(await open_sender(srv, room.label, token))
        readers = [DestinationReader(kind, aws, name, rooms) for kind, _, name in destinations]
        log(f"logging: {len(rooms)} rooms, {len(destinations)} destinations ({', '.join(d[0] for d in destinations)}), "
            f"{args.log_listeners * len(rooms)} listeners; outage {args.outage:g}s ({args.outage_kind})")

        # Metrics: the outbox gauge (sampled by the server every 5 s) and dropped records, every second.
        outbox: list[tuple[float, float]] = []
        stop_metrics = asyncio.Event()

        async def watch_metrics() -> None:
            while not stop_metrics.is_set():
                try:
                    families = parse_prometheus((await asyncio.to_thread(scrape_metrics, srv)).text)
                    outbox.append((time.monotonic(), prom_sample(families, "parley_log_outbox_bytes") or 0.0))
                except requests.RequestException:
                    pass
                try:
                    await asyncio.wait_for(stop_metrics.wait(), 1.0)
                except asyncio.TimeoutError:
                    pass

        metrics_task = asyncio.create_task(watch_metrics())
        stop_chat = asyncio.Event()
        phase = {"name": "before"}

        async def chat(sender: Sender, i: int) -> None:
            """Send at the rate until `stop_chat`, tagging each message with the phase it was sent in."""
            loop = asyncio.get_running_loop()
            start = loop.time() + i / (args.rate * len(senders))
            k = 0
            while not stop_chat.is_set():
                await asyncio.sleep(max(0.0, start + k / args.rate - loop.time()))
                if stop_chat.is_set():
                    return
                await sender.send(phase["name"], f"{sender.label}-{k}", f"{sender.label} message {k} ✉ ünïcödé {'x' * (k % 40)}")
                k += 1

        chat_tasks = [asyncio.create_task(chat(s, i)) for i, s in enumerate(senders)]
        lag.phase = "before"
        await asyncio.sleep(args.before)
        proxy.go_down()
        down_at = time.monotonic()
        phase["name"] = lag.phase = "outage"
        log(f"logging: destination down (cut {proxy.cut} connections in flight)")
        await asyncio.sleep(args.outage)
        proxy.come_back()
        up_at = time.monotonic()
        phase["name"] = lag.phase = "after"
        log(f"logging: destination back after {up_at - down_at:.1f}s ({proxy.refused} connections refused meanwhile)")
        # Frames sent before the recovery: the backlog. Drained when every destination holds all of them.
        backlog = {s.label: len(s.texts) for s in senders}
        drained: dict[str, float] = {}
        # S3 objects ship once their minute is over: the recovery's minute is added to S3's bound.
        minute_left = 60.0 - time.time() % 60.0
        deadlines = {r.kind: up_at + args.drain_bound + (minute_left if r.kind == "s3" else 0.0) for r in readers}
        chat_end = up_at + args.after
        while True:
            now = time.monotonic()
            if now >= chat_end:
                stop_chat.set()
            pending = [r for r in readers if r.kind not in drained and now < deadlines[r.kind]]
            if not pending and now >= chat_end:
                break
            for reader in pending:
                found = await asyncio.to_thread(reader.poll, payload_rooms(rooms, senders))
                have = {arn: {p for p, _ in items} for arn, items in found.items()}
                if all(all(t in have.get(room.arn, ()) for t in s.texts[: backlog[s.label]])
                       for room, s in zip(rooms, senders)):
                    drained[reader.kind] = time.monotonic() - up_at
                    log(f"logging: {reader.kind} backlog drained {drained[reader.kind]:.1f}s after the recovery")
            await asyncio.sleep(1.0)
        stop_chat.set()
        await asyncio.gather(*chat_tasks)
        await settle(senders)
        lag.phase = "drain"
        # The last records, and S3's last minute (shipped once it is over).
        last_send = time.time()
        final_deadline = time.monotonic() + 30.0
        if args.s3:
            final_deadline = max(final_deadline, time.monotonic() + (60 - last_send % 60) + 30.0)
        frames = {room.arn: list(s.texts) for room, s in zip(rooms, senders)}
        found_by_kind: dict[str, dict] = {}
        while True:
            complete = True
            for reader in readers:
                found = await asyncio.to_thread(reader.poll, payload_rooms(rooms, senders))
                found_by_kind[reader.kind] = found
                have = {arn: {p for p, _ in items} for arn, items in found.items()}
                if not all(t in have.get(arn, ()) for arn, texts in frames.items() for t in texts):
                    complete = False
            if complete or time.monotonic() > final_deadline:
                break
            await asyncio.sleep(1.0)
        # The outbox empties (the gauge is sampled every 5 s).
        empty_deadline = time.monotonic() + 15.0
        while time.monotonic() < empty_deadline and not (outbox and outbox[-1][1] == 0 and outbox[-1][0] > time.monotonic() - 6):
            await asyncio.sleep(1.0)
        stop_metrics.set()
        await metrics_task
        families = parse_prometheus((await asyncio.to_thread(scrape_metrics, srv)).text)
        dropped = prom_sample(families, "parley_log_records_dropped") or 0.0
        final_outbox = prom_sample(families, "parley_log_outbox_bytes")

        # ---- checks and numbers
        counts: Counter = Counter()
        for kind, found in found_by_kind.items():
            check_archive(kind, found, frames, failures, counts)
        before = [v for s in senders for v in s.latencies("before")]
        during = [v for s in senders for v in s.latencies("outage")]
        after = [v for s in senders for v in s.latencies("after")]
        peak = max((b for _, b in outbox), default=0.0)
        pre = max((b for t, b in outbox if t < down_at), default=0.0)
        back_at = next((t for t, b in outbox if t > up_at and b <= pre), None)
        summary.append("== chat-log destination down, then back")
        summary.append(
            f"rooms {len(rooms)}, listeners {args.log_listeners} per room, {args.rate:g} SEND_MESSAGE/s per room; "
            f"destinations {', '.join(d[0] for d in destinations)}; {args.before:g}s before, outage {args.outage:g}s "
            f"({args.outage_kind}: {proxy.cut} connections cut, {proxy.refused} refused), {args.after:g}s after"
        )
        summary.append(f"frames clients received: {sum(len(v) for v in frames.values())} "
                       f"({sum(backlog.values())} before the recovery)")
        for kind in (d[0] for d in destinations):
            summary.append(
                f"{kind}: {counts[f'{kind} archived records']} records, {counts[f'{kind} duplicated records']} duplicated, "
                f"{counts[f'{kind} archived, never seen by a client']} never seen by a client; "
                f"backlog drained {('%.1fs' % drained[kind]) if kind in drained else 'NOT'} after the recovery"
            )
        summary.append(f"outbox: {pre / 1024:.0f} KiB at most before the outage, peak {peak / 1024:.0f} KiB, back to that "
                       f"{('%.1fs' % (back_at - up_at)) if back_at else 'never'} after the recovery; "
                       f"at the end {final_outbox:.0f} bytes; records dropped {dropped:.0f}")
        summary.append(f"sender answers before the outage: {latency_line(before)}")
        summary.append(f"sender answers during the outage: {latency_line(during)}")
        summary.append(f"sender answers after the recovery: {latency_line(after)}")
        for name in ("before", "outage", "after"):
            summary.append(lag.line(name))
        for kind, _, _ in destinations:
            if kind not in drained:
                failures.append(f"{kind}: the backlog did not drain within {args.drain_bound:g}s of the recovery"
                                + (" (plus the rest of that minute)" if kind == "s3" else ""))
        if final_outbox:
            failures.append(f"the outbox still holds {final_outbox:.0f} bytes at the end")
        if dropped:
            failures.append(f"{dropped:.0f} chat-log records dropped")
        if not (pct(during, 99) <= pct(before, 99) + args.chat_bound_ms):
            failures.append(f"chat slowed by the outage: answer p99 {pct(before, 99):.1f} ms before, "
                            f"{pct(during, 99):.1f} ms during (bound +{args.chat_bound_ms:g} ms)")
        for s in senders:
            bad = [e.text for e in s.sent.values() if e.frame is None or e.frame["Type"] != "MESSAGE"]
            if bad:
                failures.append(f"{s.label}: {len(bad)} SEND_MESSAGE not answered with their MESSAGE, e.g. {str(bad[0])[:200]}")
            if s.closed:
                failures.append(f"{s.label}: the sender's connection ended: {s.closed}")
        lost = sum(1 for r in rooms for listener in r.listeners if listener.lost)
        if lost:
            failures.append(f"{lost} listeners were disconnected during the run")
    finally:
        lag.stop()
        await close_clients(senders, rooms)
        if srv is not None:
            rc = srv.stop(check=False)
            if rc != 0:
                failures.append(f"logging: parley exited with {rc} after SIGTERM")
        if proxy is not None:
            await proxy.stop()
        moto.stop()


# ====================================================================== main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phase", choices=("review", "logging", "both"), default="both")
    parser.add_argument("--listeners", type=int, default=300, help="listeners per review room")
    parser.add_argument("--rate", type=float, default=2.0, help="SEND_MESSAGE a second per sender (each room has one)")
    parser.add_argument("--baseline", type=float, default=30.0, help="seconds of every room with healthy handlers")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of every room sending")
    parser.add_argument("--control-bound-ms", type=float, default=50.0)
    parser.add_argument("--log-rooms", type=int, default=4)
    parser.add_argument("--log-listeners", type=int, default=50)
    parser.add_argument("--before", type=float, default=30.0, help="seconds of chat before the outage")
    parser.add_argument("--outage", type=float, default=180.0, help="seconds the destination is down")
    parser.add_argument("--after", type=float, default=30.0, help="seconds of chat after the recovery")
    parser.add_argument("--outage-kind", choices=("reset", "blackhole"), default="reset")
    parser.add_argument("--drain-bound", type=float, default=120.0, help="seconds the backlog may take to drain")
    parser.add_argument("--chat-bound-ms", type=float, default=50.0)
    parser.add_argument("--s3", action=argparse.BooleanOptionalAction, default=True,
                        help="log to S3 too (its objects ship per finished minute, so the run waits for one)")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    args.binary = Path(os.environ.get("PARLEY_BINARY", str(DEFAULT_BINARY)))
    if not args.binary.is_file():
        log(f"no parley binary at {args.binary} (set PARLEY_BINARY or run `swift build --product parley`)")
        return 2
    raise_fd_limit()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="parley-faults-"))
    workdir.mkdir(parents=True, exist_ok=True)
    log(f"binary {args.binary}, work directory {workdir}")
    failures: list[str] = []
    summary: list[str] = []

    async def run() -> None:
        if args.phase in ("review", "both"):
            await review_phase(args, workdir, failures, summary)
        if args.phase in ("logging", "both"):
            await logging_phase(args, workdir, failures, summary)

    started = time.monotonic()
    try:
        asyncio.run(run())
    except Exception:  # noqa: BLE001 - a broken run is a failed check
        failures.append("the run broke:\n" + traceback.format_exc())
    log("")
    log("\n".join(summary))
    log(f"run time {time.monotonic() - started:.0f}s")
    if not args.keep and args.workdir is None and not failures:
        shutil.rmtree(workdir, ignore_errors=True)
    if failures:
        log(f"FAILED: {len(failures)} checks")
        for failure in failures:
            log(f"  - {failure}")
        return 1
    log("OK: every check held")
    return 0


if __name__ == "__main__":
    sys.exit(main())
