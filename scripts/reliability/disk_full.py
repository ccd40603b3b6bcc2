#!/usr/bin/env python3
"""Disk full: run Parley with its data directory on a tiny tmpfs, fill the disk under chat traffic, free it, check.

    scripts/reliability/disk_full.py [--before-seconds 3] [--full-seconds 8] [--after-seconds 4] [--tmpfs-kb 16384]
                                     [--rooms 3] [--workdir DIR] [--keep]

Needs root (it mounts a tmpfs); exits 77 with a SKIP line when the mount is not permitted.

Setup: a tmpfs holds the data directory; the S3 logging destination is a local directory outside it
(PARLEY_S3_DIRECTORY). Rooms with one logging configuration each carry chat: a listener and a sender per room (the
sender waits for the echo of each message), plus, in the first room, a moderator and a user to disconnect. Some rooms,
tags and logging configurations are created first: acknowledged writes.

While the disk is full (a filler file takes every free block):
  - API writes (CreateRoom, UpdateRoom, TagResource, CreateLoggingConfiguration) answer 500 InternalServerException
    whose message says the disk is full, or succeed (SQLite can reuse WAL space); a refused write leaves nothing;
  - reads (GetRoom, ListRooms, ListTagsForResource, GetLoggingConfiguration) and CreateChatToken answer 200;
  - a new chat connection is refused with 503 and a JSON message, and its token still works once space is back;
  - open connections keep chatting: messages are delivered, DELETE_MESSAGE and DISCONNECT_USER work;
  - chat-log records that cannot be stored are counted as dropped, on /metrics and on the console's logging page;
  - the console reads pages and shows a 503 "Disk full" page for a write (creating an API key);
  - the server logs the episode once (and its end once), not once per refused write.
After the filler is deleted (no restart): writes succeed again, new connections work, every acknowledged write is
there, every frame a client received is archived unless it was counted as dropped (the counts must match), the
outbox drains, metrics of the episode reached SQLite, and after a clean SIGTERM the database passes
`PRAGMA integrity_check`.

Uses the conformance suite's helpers (Tests/conformance/parley_support.py) and crash_cycles.py's ledger helpers.
PARLEY_BINARY names the binary (default .build/debug/parley). Exits 0 when every check held, 1 otherwise.
"""

from __future__ import annotations

import argparse
import errno
import html
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "Tests" / "conformance"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from websockets.exceptions import ConnectionClosed, InvalidStatus  # noqa: E402

from crash_cycles import (  # noqa: E402
    ADMIN_PASSWORD,
    console_session,
    integrity,
    lc_state,
    list_all,
    outbox_count,
    room_state,
    s3_records,
)
from parley_support import (  # noqa: E402
    DEFAULT_BINARY,
    ParleyServer,
    chat_token,
    parse_prometheus,
    prom_sample,
    run_verdict,
    scrape_metrics,
    tags_path,
    unique,
    ws_connect,
)

SKIP_EXIT = 77
DISK_FULL_MESSAGE = "disk is full"
EPISODE_START_LINE = "The data directory's disk is full"
EPISODE_END_LINE = "The data directory's disk takes writes again"
S3_SLACK_S = 20.0  # after the last minute is over: the shipping interval, a backoff, a slow machine
METRICS_ROUND_S = 5.0


def log(message: str) -> None:
    print(message, flush=True)


# ====================================================================== the disk


def mount_tmpfs(mountpoint: Path, size_kb: int) -> str | None:
    """Mounts a tmpfs; returns why it is not permitted (a skip), raises on any other failure."""
    mountpoint.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k,mode=0700", "tmpfs", str(mountpoint)], capture_output=True, text=True
    )
    if proc.returncode == 0:
        return None
    reason = (proc.stderr or proc.stdout).strip()
    if os.geteuid() != 0 or re.search(r"permission denied|only root|not permitted", reason, re.I):
        return f"cannot mount a tmpfs: {reason}"
    raise RuntimeError(f"mount -t tmpfs failed ({proc.returncode}): {reason}")


def unmount(mountpoint: Path) -> None:
    if subprocess.run(["umount", str(mountpoint)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True)


def fill(path: Path) -> int:
    """Writes `path` until the file system has no block left; returns the bytes written."""
    written = 0
    with open(path, "wb", buffering=0) as filler:
        for chunk in (1 << 20, 1 << 16, 1 << 12, 1 << 9):
            block = b"\0" * chunk
            while True:
                try:
                    written += filler.write(block)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
    return written


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ====================================================================== chat traffic


class Phase:
    """Which part of the run a frame or a request belongs to."""

    def __init__(self) -> None:
        self.name = "before"

    def __str__(self) -> str:
        return self.name


class ChatRoom:
    """A listener and a sender in one room; the listener notes every MESSAGE and EVENT frame by phase."""

    def __init__(self, srv: ParleyServer, room_arn: str, bucket: str, phase: Phase, stop: threading.Event, rate: float):
        self.srv, self.arn, self.bucket, self.phase, self.stop, self.rate = srv, room_arn, bucket, phase, stop, rate
        self.client = srv.client(max_attempts=1)
        self.frames: dict[str, tuple[str, str]] = {}  # frame Id -> (phase when received, exact text)
        self.acknowledged: Counter = Counter()  # SEND_MESSAGE echoes by phase
        self.slowest: dict[str, float] = defaultdict(float)  # slowest echo by phase, seconds
        self.problems: list[str] = []
        self.listener = ws_connect(srv, chat_token(self.client, room_arn, unique("listen"), []))
        self.sender = ws_connect(srv, chat_token(self.client, room_arn, unique("send"), ["SEND_MESSAGE"]))
        self.threads = [threading.Thread(target=self.listen, daemon=True), threading.Thread(target=self.speak, daemon=True)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        for thread in self.threads:
            thread.join(10)
        for ws in (self.listener, self.sender):
            ws.close()

    def listen(self) -> None:
        while not self.stop.is_set():
            try:
                text = self.listener.recv(timeout=0.5)
            except TimeoutError:
                continue
            except ConnectionClosed as e:
                self.problems.append(f"room {self.arn}: the listener was closed: {e!r}")
                return
            frame = json.loads(text)
            if frame.get("Type") in ("MESSAGE", "EVENT"):
                self.frames[frame["Id"]] = (str(self.phase), text)

    def speak(self) -> None:
        i = 0
        while not self.stop.is_set():
            i += 1
            request_id = f"r{i}"
            phase = str(self.phase)
            sent = time.monotonic()
            try:
                self.sender.send(json.dumps({"Action": "SEND_MESSAGE", "RequestId": request_id, "Content": f"disk {i} {unique('m')}"}))
                while True:
                    frame = json.loads(self.sender.recv(timeout=max(0.01, sent + 5 - time.monotonic())))
                    if frame.get("RequestId") == request_id:
                        break
            except TimeoutError:
                self.problems.append(f"room {self.arn}: no answer to {request_id} within 5 s ({phase})")
                return
            except ConnectionClosed as e:
                self.problems.append(f"room {self.arn}: the sender was closed ({phase}): {e!r}")
                return
            if frame["Type"] == "MESSAGE":
                self.acknowledged[phase] += 1
                self.slowest[phase] = max(self.slowest[phase], time.monotonic() - sent)
            else:
                self.problems.append(f"room {self.arn}: SEND_MESSAGE {request_id} refused ({phase}): {frame}")
            time.sleep(1.0 / self.rate)


def recv_until_request(ws, request_id: str, timeout: float = 5.0) -> dict[str, Any] | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            frame = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        except TimeoutError:
            return None
        if frame.get("RequestId") == request_id:
            return frame
    return None


def closed_within(ws, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            ws.recv(timeout=max(0.01, deadline - time.monotonic()))
        except TimeoutError:
            return False
        except ConnectionClosed:
            return True
    return False


# ====================================================================== API writes and reads


class Ledger:
    """What the server acknowledged (rooms and logging configurations by ARN), and what it refused."""

    def __init__(self) -> None:
        self.rooms: dict[str, dict[str, Any]] = {}
        self.lcs: dict[str, dict[str, Any]] = {}
        self.refused_names: set[str] = set()
        self.answers: Counter = Counter()


def disk_full_answer(resp) -> str | None:
    """None when `resp` is the documented disk-full error; otherwise what is wrong with it."""
    if resp.status_code != 500 or resp.headers.get("x-amzn-ErrorType", "").split(":")[0] != "InternalServerException":
        return f"{resp.status_code} {resp.headers.get('x-amzn-ErrorType')} {resp.text[:200]}"
    try:
        message = resp.json().get("message", "")
    except ValueError:
        return f"not JSON: {resp.text[:200]}"
    return None if DISK_FULL_MESSAGE in message else f"the message does not say the disk is full: {message!r}"


def api_writes(srv: ParleyServer, ledger: Ledger, phase: str, rounds: int) -> list[str]:
    """CreateRoom, UpdateRoom, TagResource and CreateLoggingConfiguration; each answer is a success (noted in the
    ledger) or, while the disk is full, the disk-full error (the change must then never show)."""
    problems: list[str] = []
    for _ in range(rounds):
        target = next(iter(ledger.rooms))
        writes = [
            ("CreateRoom", "/CreateRoom", {"name": unique("room"), "tags": {"phase": phase}}),
            ("UpdateRoom", "/UpdateRoom", {"identifier": target, "name": unique("renamed")}),
            ("TagResource", tags_path(target), {"tags": {unique("k"): phase}}),
            (
                "CreateLoggingConfiguration", "/CreateLoggingConfiguration",
                {"name": unique("lc"), "destinationConfiguration": {"s3": {"bucketName": "disk-full-extra"}}},
            ),
        ]
        for operation, path, body in writes:
            resp = srv.signed("POST", path, body)
            if resp.status_code in (200, 204):
                ledger.answers[f"{phase}: {operation} 2xx"] += 1
                if operation == "CreateRoom":
                    ledger.rooms[resp.json()["arn"]] = room_state(resp.json())
                elif operation == "UpdateRoom":
                    ledger.rooms[target] = room_state(resp.json())
                elif operation == "TagResource":
                    ledger.rooms[target] = {**ledger.rooms[target], "tags": {**ledger.rooms[target]["tags"], **body["tags"]}}
                else:
                    ledger.lcs[resp.json()["arn"]] = lc_state(resp.json())
                continue
            wrong = disk_full_answer(resp)
            if phase != "full" or wrong:
                problems.append(f"{operation} ({phase}): {wrong or 'refused for a full disk'}")
                continue
            ledger.answers[f"{phase}: {operation} disk-full error"] += 1
            if operation in ("CreateRoom", "CreateLoggingConfiguration"):
                ledger.refused_names.add(body["name"])
    return problems


def api_reads(srv: ParleyServer, room_arn: str, lc_arn: str) -> list[str]:
    reads = [
        ("GetRoom", lambda: srv.signed("POST", "/GetRoom", {"identifier": room_arn})),
        ("ListRooms", lambda: srv.signed("POST", "/ListRooms", {"maxResults": 50})),
        ("ListTagsForResource", lambda: srv.signed("GET", tags_path(room_arn))),
        ("GetLoggingConfiguration", lambda: srv.signed("POST", "/GetLoggingConfiguration", {"identifier": lc_arn})),
        ("ListLoggingConfigurations", lambda: srv.signed("POST", "/ListLoggingConfigurations", {})),
        (
            "CreateChatToken",
            lambda: srv.signed("POST", "/CreateChatToken", {"roomIdentifier": room_arn, "userId": unique("u")}),
        ),
    ]
    problems = []
    for operation, call in reads:
        resp = call()
        if resp.status_code != 200:
            problems.append(f"{operation} while the disk is full: {resp.status_code} {resp.text[:200]}")
    return problems


def check_ledger(srv: ParleyServer, ledger: Ledger) -> list[str]:
    problems: list[str] = []
    cl = srv.client(max_attempts=3)
    rooms = {r["arn"]: room_state(r) for r in list_all(cl.list_rooms, "rooms")}
    lcs = {lc["arn"]: lc_state(lc) for lc in list_all(cl.list_logging_configurations, "loggingConfigurations")}
    for arn, expected in ledger.rooms.items():
        if rooms.get(arn) != expected:
            problems.append(f"room {arn}: acknowledged {expected}, found {rooms.get(arn)}")
    for arn, expected in ledger.lcs.items():
        if lcs.get(arn) != expected:
            problems.append(f"logging configuration {arn}: acknowledged {expected}, found {lcs.get(arn)}")
    for arn, state in [*rooms.items(), *lcs.items()]:
        if state["name"] in ledger.refused_names:
            problems.append(f"{arn} ({state['name']}) exists although its creation was refused for a full disk")
        elif arn not in ledger.rooms and arn not in ledger.lcs:
            problems.append(f"{arn} ({state['name']}) was never acknowledged")
    return problems


# ====================================================================== console and metrics


def console_csrf(srv: ParleyServer, session, path: str) -> str:
    page = session.get(srv.endpoint + path, timeout=10)
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    if page.status_code != 200 or not match:
        raise RuntimeError(f"console page {path}: {page.status_code} {page.text[:300]}")
    return html.unescape(match.group(1))


def console_dropped(srv: ParleyServer, session) -> int | None:
    page = session.get(srv.endpoint + "/console/logging", timeout=10)
    match = re.search(r"Records dropped</dt>\s*<dd[^>]*>(\d+)</dd>", page.text)
    return int(match.group(1)) if page.status_code == 200 and match else None


def metrics_dropped(srv: ParleyServer) -> float:
    return prom_sample(parse_prometheus(scrape_metrics(srv).text), "parley_log_records_dropped") or 0.0


def stored_messaging_requests(data_dir: Path) -> int:
    connection = sqlite3.connect(str(data_dir / "parley.sqlite"), timeout=10)
    try:
        row = connection.execute(
            "SELECT COALESCE(SUM(sum), 0) FROM metricPoint WHERE metric = 'MessagingRequests' AND dimensions = '' AND period = 60"
        ).fetchone()
        return int(row[0])
    finally:
        connection.close()


# ====================================================================== the run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before-seconds", type=float, default=3.0, help="chat before the disk fills (default 3)")
    parser.add_argument("--full-seconds", type=float, default=8.0, help="how long the disk stays full (default 8)")
    parser.add_argument("--after-seconds", type=float, default=4.0, help="chat after space returns (default 4)")
    parser.add_argument("--tmpfs-kb", type=int, default=16384, help="size of the tmpfs holding the data directory (default 16384)")
    parser.add_argument("--rooms", type=int, default=3, help="chatting rooms, one logging configuration each (default 3)")
    parser.add_argument("--rate", type=float, default=10.0, help="messages a second per room (default 10)")
    parser.add_argument("--workdir", type=Path, default=None, help="where the mount point, S3 directory and logs go")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()

    binary = Path(os.environ.get("PARLEY_BINARY") or DEFAULT_BINARY)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="parley-disk-full-"))
    work.mkdir(parents=True, exist_ok=True)
    mountpoint, s3_dir = work / "mnt", work / "s3"
    s3_dir.mkdir(exist_ok=True)
    skip = mount_tmpfs(mountpoint, args.tmpfs_kb)
    if skip:
        log(f"SKIP: {skip}")
        return SKIP_EXIT
    log(f"disk full: {args.tmpfs_kb} KiB tmpfs at {mountpoint}, binary {binary}, work directory {work}")

    srv = ParleyServer(
        binary=binary, data_dir=mountpoint / "data", log_dir=work / "logs",
        extra_env={
            "PARLEY_S3_DIRECTORY": str(s3_dir),
            "PARLEY_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "PARLEY_MAX_LOGGING_CONFIGURATIONS": "1000",
        },
    )
    problems: list[str] = []
    numbers: dict[str, Any] = {}
    ledger = Ledger()
    phase = Phase()
    stop = threading.Event()
    rooms: list[ChatRoom] = []
    filler = mountpoint / "filler"
    try:
        srv.start()
        cl = srv.client()
        session = console_session(srv)
        for i in range(args.rooms):
            lc = cl.create_logging_configuration(name=unique("chat-lc"), destinationConfiguration={"s3": {"bucketName": f"disk-full-{i}"}})
            ledger.lcs[lc["arn"]] = lc_state(lc)
            room = cl.create_room(name=unique("chat"), maximumMessageRatePerSecond=100, loggingConfigurationIdentifiers=[lc["arn"]])
            ledger.rooms[room["arn"]] = room_state(room)
            rooms.append(ChatRoom(srv, room["arn"], f"disk-full-{i}", phase, stop, args.rate))
        moderated = rooms[0].arn
        moderator = ws_connect(srv, chat_token(cl, moderated, unique("mod"), ["DELETE_MESSAGE", "DISCONNECT_USER"]))
        victim_id = unique("victim")
        victim = ws_connect(srv, chat_token(cl, moderated, victim_id, []))
        for room in rooms:
            room.start()
        problems += api_writes(srv, ledger, "before", rounds=3)
        time.sleep(args.before_seconds)
        dropped_before = metrics_dropped(srv)

        # ---- the disk fills
        log_offset = len(srv.output())
        cpu_start, episode_start = cpu_seconds(srv.process.pid), time.monotonic()
        phase.name = "full"
        numbers["filler bytes"] = fill(filler)
        problems += api_writes(srv, ledger, "full", rounds=3)
        problems += api_reads(srv, rooms[0].arn, next(iter(ledger.lcs)))

        refused_token = chat_token(cl, rooms[1].arn, unique("late"), ["SEND_MESSAGE"])
        try:
            ws_connect(srv, refused_token).close()
            problems.append("a new chat connection was accepted while the disk was full (its token redemption was not stored)")
        except InvalidStatus as e:
            body = bytes(e.response.body or b"")
            numbers["new connection while full"] = f"{e.response.status_code} {body.decode(errors='replace')}"
            try:
                message = json.loads(body).get("message", "")
            except ValueError:
                message = ""
            if e.response.status_code != 503 or DISK_FULL_MESSAGE not in message:
                problems.append(f"a new chat connection while the disk was full: {e.response.status_code} {body[:200]!r}")

        some_message = next(fid for fid, (_, text) in list(rooms[0].frames.items()) if json.loads(text)["Type"] == "MESSAGE")
        moderator.send(json.dumps({"Action": "DELETE_MESSAGE", "RequestId": "del", "Id": some_message, "Reason": "disk full"}))
        answer = recv_until_request(moderator, "del")
        if not answer or answer.get("EventName") != "aws:DELETE_MESSAGE":
            problems.append(f"DELETE_MESSAGE while the disk was full: {answer}")
        moderator.send(json.dumps({"Action": "DISCONNECT_USER", "RequestId": "dis", "UserId": victim_id, "Reason": "disk full"}))
        if not closed_within(victim, 5.0):
            problems.append("DISCONNECT_USER while the disk was full did not close the user's connection")

        # A control-plane action that stores nothing but its audit entry acts and answers as done; the entry goes to
        # the server log.
        resp = srv.signed("POST", "/SendEvent", {"roomIdentifier": rooms[-1].arn, "eventName": "app:disk-full"})
        deadline = time.monotonic() + 5
        while not (delivered := any('"app:disk-full"' in text for _, text in list(rooms[-1].frames.values()))):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        numbers["API SendEvent while full"] = f"{resp.status_code}, event delivered: {'yes' if delivered else 'no'}"
        if resp.status_code != 200 or not delivered:
            problems.append(f"API SendEvent while the disk was full: {resp.status_code} {resp.text[:200]}, delivered: {delivered}")

        console_page = session.get(srv.endpoint + "/console/rooms", timeout=10)
        if console_page.status_code != 200:
            problems.append(f"a console page while the disk was full: {console_page.status_code}")
        key_page = session.post(
            srv.endpoint + "/console/keys", data={"csrf": console_csrf(srv, session, "/console/keys")}, timeout=10
        )
        page_text = " ".join(re.sub(r"<[^>]+>", " ", key_page.text).split())
        numbers["console write while full"] = f"{key_page.status_code} {page_text[-200:]}"
        if key_page.status_code != 503 or DISK_FULL_MESSAGE not in key_page.text:
            problems.append(f"creating an API key on the console while the disk was full: {key_page.status_code}")

        remaining = args.full_seconds - (time.monotonic() - episode_start)
        time.sleep(max(remaining, METRICS_ROUND_S + 1))  # at least one metrics round sees the drops
        dropped_full = metrics_dropped(srv)
        numbers["dropped (metrics) while full"] = dropped_full - dropped_before
        if dropped_full <= dropped_before:
            problems.append(f"/metrics parley_log_records_dropped did not rise while the disk was full ({dropped_full})")
        console_count = console_dropped(srv, session)
        numbers["dropped (console) while full"] = console_count
        if console_count is None or console_count <= dropped_before:
            problems.append(f"the console's logging page does not show the dropped records: {console_count}")
        numbers["episode CPU"] = f"{(cpu_seconds(srv.process.pid) - cpu_start) / (time.monotonic() - episode_start) * 100:.0f}% of a core"
        if srv.process.poll() is not None:
            raise RuntimeError(f"parley exited with {srv.process.returncode} while the disk was full")

        # ---- space returns
        filler.unlink()
        freed = time.monotonic()
        numbers["disk full for"] = f"{freed - episode_start:.1f} s"
        while True:
            resp = srv.signed("POST", "/CreateRoom", {"name": unique("recovered")})
            if resp.status_code == 200:
                ledger.rooms[resp.json()["arn"]] = room_state(resp.json())
                break
            if time.monotonic() - freed > 10:
                problems.append(f"writes still fail 10 s after space returned: {resp.status_code} {resp.text[:200]}")
                break
            time.sleep(0.1)
        numbers["first write after space returned"] = f"{(time.monotonic() - freed) * 1000:.0f} ms"
        time.sleep(0.5)  # outbox writes already in flight when space returned belong to the episode
        phase.name = "after"
        problems += api_writes(srv, ledger, "after", rounds=2)
        try:
            ws_connect(srv, refused_token).close()
        except InvalidStatus as e:
            problems.append(f"the token refused while the disk was full does not work after: {e.response.status_code}")
        try:
            ws_connect(srv, chat_token(cl, rooms[1].arn, unique("new"), [])).close()
        except InvalidStatus as e:
            problems.append(f"a new chat connection after space returned: {e.response.status_code}")
        time.sleep(args.after_seconds)
        stop.set()
        for room in rooms:
            room.join()
            problems += room.problems
        moderator.close()
        episode_log = srv.output()[log_offset:]
        numbers["log lines: episode start / end"] = (
            f"{episode_log.count(EPISODE_START_LINE)} / {episode_log.count(EPISODE_END_LINE)}"
        )
        numbers["log lines at error or warning level during the run"] = len(re.findall(r" (error|warning) ", episode_log))
        if episode_log.count(EPISODE_START_LINE) != 1 or episode_log.count(EPISODE_END_LINE) != 1:
            problems.append(f"the episode was logged {numbers['log lines: episode start / end']} times (start / end), not once each")
        problems += check_ledger(srv, ledger)

        # ---- the archives: the S3 objects of a minute are written once it is over
        deadline = time.time() + (60 - time.time() % 60) + S3_SLACK_S
        log(f"waiting up to {deadline - time.time():.0f}s for the S3 objects of the last minute")
        while time.time() < deadline and outbox_count(srv.data_dir) > 0:
            time.sleep(1.0)
        time.sleep(METRICS_ROUND_S + 1)  # the last drops and metric points are in
        dropped_total = metrics_dropped(srv) - dropped_before
        rc = srv.stop(check=False)
        if rc != 0:
            problems.append(f"parley exited with {rc} after SIGTERM")
        findings = integrity(srv.data_dir)
        numbers["integrity_check"] = findings or "ok"
        if findings:
            problems.append(f"PRAGMA integrity_check after the clean stop: {findings[:5]}")
        left = outbox_count(srv.data_dir)
        if left:
            problems.append(f"{left} records still in the outbox after the drain")

        missing_by_phase: Counter = Counter()
        frames_by_phase: Counter = Counter()
        for room in rooms:
            found, object_problems = s3_records(s3_dir, room.bucket, room.arn.rsplit("/", 1)[1])
            problems += object_problems
            for frame_phase, text in room.frames.values():
                frames_by_phase[frame_phase] += 1
                if text not in found:
                    missing_by_phase[frame_phase] += 1
        numbers["frames received (before / full / after)"] = " / ".join(str(frames_by_phase[p]) for p in ("before", "full", "after"))
        numbers["frames not archived (before / full / after)"] = " / ".join(
            str(missing_by_phase[p]) for p in ("before", "full", "after")
        )
        numbers["records counted as dropped"] = dropped_total
        for p in ("before", "after"):
            if missing_by_phase[p]:
                problems.append(f"{missing_by_phase[p]} frames received {p} the episode are not archived")
        if sum(missing_by_phase.values()) != dropped_total:
            problems.append(
                f"{sum(missing_by_phase.values())} frames clients received are not archived, but {dropped_total:.0f} records were counted as dropped"
            )
        acknowledged = sum((room.acknowledged for room in rooms), Counter())
        numbers["messages acknowledged (before / full / after)"] = " / ".join(str(acknowledged[p]) for p in ("before", "full", "after"))
        numbers["slowest echo while full"] = f"{max(room.slowest['full'] for room in rooms) * 1000:.0f} ms"
        if any(room.acknowledged["full"] == 0 for room in rooms):
            problems.append(f"a room delivered no message while the disk was full: {[dict(r.acknowledged) for r in rooms]}")
        stored = stored_messaging_requests(srv.data_dir)
        numbers["MessagingRequests stored in SQLite"] = stored
        if stored < sum(acknowledged.values()):
            problems.append(f"metrics lost: {stored} messaging requests stored, {sum(acknowledged.values())} messages acknowledged")
    except Exception:  # noqa: BLE001 - report, then fail
        problems.append("the run itself failed:\n" + traceback.format_exc())
    finally:
        stop.set()
        if srv.process is not None:
            srv.process.kill()
            srv.process.wait()
        unmount(mountpoint)

    log("")
    for name, value in numbers.items():
        log(f"  {name}: {value}")
    for name, value in sorted(ledger.answers.items()):
        log(f"  API {name}: {value}")
    status = run_verdict(problems, srv.log_dir)
    if status == 0 and not args.keep and args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
