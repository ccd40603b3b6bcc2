#!/usr/bin/env python3
"""Hostile connections: attack a real Parley with idle, half-open and slow connections, oversized heads and bodies.

    scripts/reliability/hostile_connections.py [--connections 5000] [--slowloris 200] [--head-timeout 2] [--workdir DIR]

Starts `parley serve` (PARLEY_BINARY, default .build/debug/parley) on a fresh data directory with a short request-head
deadline (PARLEY_REQUEST_HEAD_TIMEOUT_SECONDS) and idle timeout (PARLEY_IDLE_TIMEOUT_SECONDS), then, all at once:
  - `--connections` TCP connections that send nothing;
  - `--connections` connections that send part of a request head and stop (half-open);
  - `--slowloris` connections that trickle a header byte every second;
  - requests with 100 KiB of header fields (over the 80 KiB limit): answered 431, then closed;
  - an API request with a 2 MiB body (over the 1 MiB limit): answered 4xx; and one with a chunked body that never
    ends: the server refuses it and closes the connection after reading a few MiB more (the answer may be lost to the
    reset a close with unread data causes; the check is that the server stops reading).
While the attack is on, an honest client keeps calling: a signed ListRooms, and a chat connection that sends a message
and waits for its echo; each must succeed within its bound. Every attacking connection must be closed by the server
within the head deadline (plus slack), the server's open descriptors must come back to near the baseline, its
resident memory must stay bounded, and the process must stay up.

Server RSS and descriptor counts come from /proc/<pid>/status and /proc/<pid>/fd. Uses the conformance suite's helpers
(Tests/conformance/parley_support.py). Prints a summary; exits 0 when every check held, 1 with the problems otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "Tests" / "conformance"))

from parley_support import (  # noqa: E402
    DEFAULT_BINARY,
    ParleyServer,
    chat_token,
    parse_frame,
    run_verdict,
    send_message,
    unique,
    ws_connect,
)

HEADER_LIMIT = 80 * 1024  # NIO's header list limit, which Parley keeps
API_BODY_LIMIT = 1 << 20  # ParleySettings.maximumAPIBodySize
ENDLESS_BODY_BOUND = 16 << 20  # the API limit, the 4 MiB read after the answer, and what the socket buffers hold
CLOSE_SLACK_S = 3.0  # past the deadline: timer granularity, a busy event loop, this script's own scheduling
FD_SLACK = 20  # descriptors the server may hold above its baseline once the attackers are gone
RSS_GROWTH_BOUND_MIB = 256  # the peak resident set above the baseline, for all the attacking connections together
API_BOUND_S = 2.0
CHAT_BOUND_S = 3.0
CONNECT_CONCURRENCY = 256  # connects in flight at once (the server's listen backlog)
SOURCE_ADDRESSES = 16  # 127.0.0.2 … : each source address has its own ephemeral ports


def log(message: str) -> None:
    print(message, flush=True)


# ====================================================================== the server, seen from /proc


@dataclass
class Usage:
    """Resident memory and open descriptors of the server process, sampled while the run lasts."""

    pid: int
    rss_kib: list[int] = field(default_factory=list)
    fds: list[int] = field(default_factory=list)

    def sample(self) -> tuple[int, int]:
        with open(f"/proc/{self.pid}/status") as status:
            rss = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
        fds = len(os.listdir(f"/proc/{self.pid}/fd"))
        self.rss_kib.append(rss)
        self.fds.append(fds)
        return rss, fds

    async def follow(self, stop: asyncio.Event, interval: float = 0.1) -> None:
        while not stop.is_set():
            self.sample()
            try:
                await asyncio.wait_for(stop.wait(), interval)
            except TimeoutError:
                pass


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"


# ====================================================================== attackers


@dataclass
class Attack:
    """One kind of attacking connection: how many there were, when the server closed each, and what it answered."""

    name: str
    opened: int = 0
    refused: int = 0  # connects that failed (backlog full, no descriptor): counted, not an error of the server's
    closed_after_s: list[float] = field(default_factory=list)
    still_open: int = 0
    answers: dict[str, int] = field(default_factory=dict)

    def answered(self, first_line: str) -> None:
        self.answers[first_line] = self.answers.get(first_line, 0) + 1


class Attacker:
    def __init__(self, port: int, hold_s: float):
        self.port = port
        self.hold_s = hold_s  # how long an attacking connection waits for the server to close it
        self.connects = asyncio.Semaphore(CONNECT_CONCURRENCY)
        self.next_source = 0

    async def open(self, attack: Attack) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        self.next_source += 1
        source = f"127.0.0.{2 + self.next_source % SOURCE_ADDRESSES}"
        async with self.connects:
            try:
                streams = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", self.port, local_addr=(source, 0), limit=1 << 20), 10
                )
            except (OSError, TimeoutError):
                attack.refused += 1
                return None
        attack.opened += 1
        return streams

    async def until_closed(self, attack: Attack, reader: asyncio.StreamReader, started: float) -> bytes:
        """Reads until the server closes the connection; records when, or that it never did within hold_s."""
        received = b""
        deadline = started + self.hold_s
        try:
            while True:
                chunk = await asyncio.wait_for(reader.read(65536), max(0.01, deadline - time.monotonic()))
                if not chunk:
                    break
                received += chunk
        except TimeoutError:
            attack.still_open += 1
            return received
        except (ConnectionResetError, BrokenPipeError):
            pass
        attack.closed_after_s.append(time.monotonic() - started)
        return received

    async def silent(self, attack: Attack, request: bytes) -> None:
        """Opens a connection, sends `request` (perhaps nothing), waits to be closed."""
        streams = await self.open(attack)
        if streams is None:
            return
        reader, writer = streams
        started = time.monotonic()
        try:
            if request:
                writer.write(request)
                await writer.drain()
            answer = await self.until_closed(attack, reader, started)
            if answer:
                attack.answered(answer.split(b"\r\n", 1)[0].decode(errors="replace"))
        except OSError:
            attack.closed_after_s.append(time.monotonic() - started)
        finally:
            writer.close()

    async def slowloris(self, attack: Attack) -> None:
        """Sends a request line, then one header byte a second, as long as the server lets it."""
        streams = await self.open(attack)
        if streams is None:
            return
        reader, writer = streams
        started = time.monotonic()
        closed = asyncio.ensure_future(self.until_closed(attack, reader, started))
        trickle = b"GET /health HTTP/1.1\r\nHost: parley\r\n" + b"X-Slow: " + b"a" * 100_000
        try:
            for byte in trickle:
                writer.write(bytes([byte]))
                await writer.drain()
                done, _ = await asyncio.wait([closed], timeout=1.0)
                if done:
                    break
        except OSError:
            pass
        await closed
        writer.close()

    async def endless_body(self, attack: Attack, limit_bytes: int) -> int:
        """POSTs a chunked body that never ends; returns how many body bytes the server took before it closed."""
        streams = await self.open(attack)
        if streams is None:
            return 0
        reader, writer = streams
        started = time.monotonic()
        head = b"POST /ListRooms HTTP/1.1\r\nHost: parley\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        chunk = b"a" * 65536
        frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        closed = asyncio.ensure_future(self.until_closed(attack, reader, started))
        sent = 0
        try:
            writer.write(head)
            while not closed.done() and sent < limit_bytes:
                writer.write(frame)
                await writer.drain()
                await asyncio.sleep(0)  # lets the reader take the answer before the server's reset discards it
                sent += len(chunk)
        except OSError:
            pass
        answer = await closed
        if answer:
            attack.answered(answer.split(b"\r\n", 1)[0].decode(errors="replace"))
        writer.close()
        return sent


# ====================================================================== the honest client


@dataclass
class Honest:
    api_s: list[float] = field(default_factory=list)
    chat_s: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def honest_round(srv: ParleyServer, client, room: dict, honest: Honest) -> None:
    """One signed ListRooms and one chat connection (token, connect, SendMessage, its echo), each timed."""
    started = time.monotonic()
    try:
        client.list_rooms(maxResults=1)
        honest.api_s.append(time.monotonic() - started)
    except Exception as e:  # noqa: BLE001 - reported as a problem
        honest.failures.append(f"ListRooms failed after {time.monotonic() - started:.2f}s: {e!r}")
    started = time.monotonic()
    try:
        token = chat_token(client, room, unique("honest"), ["SEND_MESSAGE"])
        ws = ws_connect(srv, token, open_timeout=CHAT_BOUND_S * 3)
        try:
            request_id = unique("r")
            send_message(ws, "still here", request_id=request_id)
            while True:
                frame = parse_frame(ws.recv(timeout=CHAT_BOUND_S * 3))
                if frame.get("RequestId") == request_id:
                    break
            if frame.get("Type") != "MESSAGE":
                honest.failures.append(f"SendMessage answered {frame}")
        finally:
            ws.close()
        honest.chat_s.append(time.monotonic() - started)
    except Exception as e:  # noqa: BLE001 - reported as a problem
        honest.failures.append(f"chat round failed after {time.monotonic() - started:.2f}s: {e!r}")


def honest_loop(srv: ParleyServer, room: dict, honest: Honest, stop: threading.Event) -> None:
    client = srv.client(max_attempts=1)
    while not stop.is_set():
        honest_round(srv, client, room, honest)
        stop.wait(0.2)


# ====================================================================== the run


def raise_descriptor_limit() -> int:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


async def attack(args: argparse.Namespace, srv: ParleyServer, usage: Usage) -> tuple[list[Attack], int, list[str]]:
    """Runs every attack at once; returns them, the bytes the endless body got in, and problems found on the way."""
    # An attacking connection is held until the server closes it, or for the deadline plus the idle timeout plus slack.
    attacker = Attacker(srv.port, args.head_timeout + args.idle_timeout + 2 * CLOSE_SLACK_S)
    silent, half_open, slow = Attack("silent"), Attack("half-open head"), Attack("slowloris")
    big_head, big_body, endless = Attack("100 KiB header"), Attack("2 MiB body"), Attack("endless chunked body")
    big_header = b"GET /health HTTP/1.1\r\nHost: parley\r\n" + b"".join(
        f"X-Filler-{i}: {'a' * 1000}\r\n".encode() for i in range(100)
    ) + b"\r\n"
    body = b'{"maxResults": 1, "pad": "' + b"a" * (2 * API_BODY_LIMIT) + b'"}'
    big_post = (
        f"POST /ListRooms HTTP/1.1\r\nHost: parley\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    tasks = [attacker.silent(silent, b"") for _ in range(args.connections)]
    tasks += [attacker.silent(half_open, b"GET /ListRooms HTTP/1.1\r\nHost: parley\r\nX-Half: ") for _ in range(args.connections)]
    tasks += [attacker.slowloris(slow) for _ in range(args.slowloris)]
    tasks += [attacker.silent(big_head, big_header) for _ in range(10)]
    tasks += [attacker.silent(big_body, big_post) for _ in range(3)]
    endless_bytes = asyncio.ensure_future(attacker.endless_body(endless, args.endless_limit_mib << 20))
    await asyncio.gather(*tasks, endless_bytes)
    attacks = [silent, half_open, slow, big_head, big_body, endless]
    problems: list[str] = []
    for each in (silent, half_open, slow):
        if each.still_open:
            problems.append(f"{each.name}: {each.still_open} of {each.opened} connections still open after {attacker.hold_s:.0f}s")
        late = [t for t in each.closed_after_s if t > args.head_timeout + CLOSE_SLACK_S]
        if late:
            problems.append(
                f"{each.name}: {len(late)} connections closed later than the head deadline + {CLOSE_SLACK_S:.0f}s (max {max(late):.1f}s)"
            )
        if each.answers:
            problems.append(f"{each.name}: the server answered {each.answers}; it should close without a word")
    if big_head.answers != {"HTTP/1.1 431 Request Header Fields Too Large": big_head.opened} or big_head.still_open:
        problems.append(f"{big_head.name}: expected 431 then close on each of {big_head.opened}, got {big_head.answers}, {big_head.still_open} left open")
    if not big_body.answers or not all(line.startswith("HTTP/1.1 4") for line in big_body.answers):
        problems.append(f"{big_body.name}: expected a 4xx answer, got {big_body.answers}")
    for each in (big_body, endless):
        if each.still_open:
            problems.append(f"{each.name}: {each.still_open} connections still open after {attacker.hold_s:.0f}s")
    if endless_bytes.result() > ENDLESS_BODY_BOUND:
        problems.append(f"the server read {endless_bytes.result() >> 20} MiB of an endless body (bound {ENDLESS_BODY_BOUND >> 20} MiB)")
    return attacks, endless_bytes.result(), problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=5000, help="silent connections, and as many half-open ones (default 5000)")
    parser.add_argument("--slowloris", type=int, default=200, help="connections trickling a header byte a second (default 200)")
    parser.add_argument("--head-timeout", type=int, default=2, help="PARLEY_REQUEST_HEAD_TIMEOUT_SECONDS (default 2)")
    parser.add_argument("--idle-timeout", type=int, default=3, help="PARLEY_IDLE_TIMEOUT_SECONDS (default 3)")
    parser.add_argument("--endless-limit-mib", type=int, default=256, help="give up streaming the endless body after this much")
    parser.add_argument("--workdir", type=Path, default=None, help="data and logs (default: a temp dir, removed after a good run)")
    args = parser.parse_args()

    limit = raise_descriptor_limit()
    needed = 2 * args.connections + args.slowloris + 100
    if limit < needed:
        log(f"descriptor limit {limit} is below the {needed} this run needs; lower --connections")
        return 1
    binary = Path(os.environ.get("PARLEY_BINARY") or DEFAULT_BINARY)
    if not binary.exists():
        subprocess.run(["swift", "build", "--product", "parley"], cwd=REPO_ROOT, check=True)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="parley-hostile-"))
    srv = ParleyServer(
        binary=binary, data_dir=work / "data", log_dir=work / "logs",
        extra_env={
            "PARLEY_REQUEST_HEAD_TIMEOUT_SECONDS": str(args.head_timeout),
            "PARLEY_IDLE_TIMEOUT_SECONDS": str(args.idle_timeout),
            "PARLEY_TOKEN_LIFETIME_SECONDS": "600",
        },
    )
    log(
        f"hostile connections: {args.connections} silent + {args.connections} half-open + {args.slowloris} slowloris, "
        f"head deadline {args.head_timeout}s, idle timeout {args.idle_timeout}s, binary {binary}, work directory {work}"
    )
    problems: list[str] = []
    honest = Honest()
    started = time.monotonic()
    try:
        srv.start()
        usage = Usage(srv.process.pid)
        client = srv.client(max_attempts=1)
        room = client.create_room(name=unique("hostile"))
        honest_round(srv, client, room, Honest())  # warm-up: first-use allocations are not the attack's
        baseline_rss, baseline_fds = usage.sample()
        log(f"baseline: RSS {mib(baseline_rss)}, {baseline_fds} open descriptors")

        stop_honest = threading.Event()
        honest_thread = threading.Thread(target=honest_loop, args=(srv, room, honest, stop_honest), daemon=True)

        async def run() -> tuple[list[Attack], int, list[str]]:
            stop_sampling = asyncio.Event()
            sampler = asyncio.ensure_future(usage.follow(stop_sampling))
            honest_thread.start()
            try:
                return await attack(args, srv, usage)
            finally:
                stop_sampling.set()
                await sampler

        attacks, endless_bytes, found = asyncio.run(run())
        stop_honest.set()
        honest_thread.join(30)
        problems += found
        attack_s = time.monotonic() - started

        # Every attacker is gone from the client side too: the server's descriptors must come back.
        deadline = time.monotonic() + args.head_timeout + args.idle_timeout + CLOSE_SLACK_S
        after_rss, after_fds = usage.sample()
        while after_fds > baseline_fds + FD_SLACK and time.monotonic() < deadline:
            time.sleep(0.1)
            after_rss, after_fds = usage.sample()
        if srv.process.poll() is not None:
            problems.append(f"the server exited with {srv.process.returncode} during the attack")
        if after_fds > baseline_fds + FD_SLACK:
            problems.append(f"{after_fds} descriptors open after the attack, baseline {baseline_fds}")
        peak_rss, peak_fds = max(usage.rss_kib), max(usage.fds)
        if peak_rss - baseline_rss > RSS_GROWTH_BOUND_MIB * 1024:
            problems.append(f"RSS grew by {mib(peak_rss - baseline_rss)} (bound {RSS_GROWTH_BOUND_MIB} MiB)")
        honest_round(srv, client, room, honest)  # and after: still served
        problems += honest.failures
        if not honest.api_s or max(honest.api_s) > API_BOUND_S:
            problems.append(f"signed ListRooms slower than {API_BOUND_S}s during the attack (max {max(honest.api_s, default=0):.2f}s)")
        if not honest.chat_s or max(honest.chat_s) > CHAT_BOUND_S:
            problems.append(f"chat round slower than {CHAT_BOUND_S}s during the attack (max {max(honest.chat_s, default=0):.2f}s)")
        rc = srv.stop(check=False)
        if rc != 0:
            problems.append(f"parley exited with {rc} after SIGTERM")
    except Exception as e:  # noqa: BLE001 - report, then fail
        problems.append(f"the run itself failed: {e!r}")
        attacks, endless_bytes, attack_s = [], 0, time.monotonic() - started
        baseline_rss = peak_rss = after_rss = baseline_fds = peak_fds = after_fds = 0
    finally:
        if srv.process is not None:
            srv.process.kill()
            srv.process.wait()

    log("")
    log(f"attack and recovery: {attack_s:.1f}s")
    for each in attacks:
        closes = each.closed_after_s
        log(
            f"  {each.name}: {each.opened} opened, {each.refused} refused at connect, {len(closes)} closed by the server "
            f"(median {percentile(closes, 0.5):.2f}s, max {max(closes, default=float('nan')):.2f}s), {each.still_open} left open"
            + (f"; answers {each.answers}" if each.answers else "")
        )
    log(f"  endless body: {endless_bytes / (1 << 20):.1f} MiB sent before the server closed the connection")
    log(f"server RSS: baseline {mib(baseline_rss)}, peak {mib(peak_rss)}, after {mib(after_rss)}")
    log(f"server descriptors: baseline {baseline_fds}, peak {peak_fds}, after {after_fds}")
    log(
        f"honest client: {len(honest.api_s)} ListRooms (median {percentile(honest.api_s, 0.5):.3f}s, max "
        f"{max(honest.api_s, default=float('nan')):.3f}s, bound {API_BOUND_S}s), {len(honest.chat_s)} chat rounds (median "
        f"{percentile(honest.chat_s, 0.5):.3f}s, max {max(honest.chat_s, default=float('nan')):.3f}s, bound {CHAT_BOUND_S}s)"
    )
    status = run_verdict(problems, srv.log_dir)
    if status == 0 and args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
