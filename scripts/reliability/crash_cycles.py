#!/usr/bin/env python3
"""Crash safety: run Parley under traffic, SIGKILL it at random moments, restart it on the same data, check what survived.

    scripts/reliability/crash_cycles.py [--cycles 50] [--seed N] [--workdir DIR] [--keep]

Traffic while the server runs (each cycle: a random 0.4-3 s, then SIGKILL; about one cycle in ten is killed while the
server is still starting, and the very first start, on an empty data directory, is killed too):
  - API writes from two workers: CreateRoom (tags, logging configurations), UpdateRoom, TagResource, UntagResource,
    DeleteRoom, CreateLoggingConfiguration (S3, written to a local directory with PARLEY_S3_DIRECTORY),
    UpdateLoggingConfiguration, and API access keys created on the console (there is no API for keys);
  - chat tokens created, some redeemed at once (a WebSocket connection), some kept for after the restart;
  - chat in three rooms with one or two logging configurations each: a listener and a sender per room, messages and
    SendEvent, every MESSAGE and EVENT frame any client received noted by its exact text.

After every restart:
  - every acknowledged API write is there: rooms (name, tags, logging configurations), deleted rooms gone, logging
    configurations (name, tags, bucket), access keys (they sign a request); a write in flight at the kill may or may
    not have happened, nothing else may differ;
  - every token redeemed before the kill is refused (401); tokens issued but never presented still work;
  - after each kill the database passes `PRAGMA integrity_check`.
At the end (a last start, the S3 minute over, a clean SIGTERM): every frame a client received is in every logging
configuration's S3 objects of its room exactly once (a record may appear twice only within objects of one room
minute: a batch shipped twice), the objects are well-formed gzip JSON lines, the outbox is empty, and the database
passes `PRAGMA integrity_check`.

Uses the conformance suite's helpers (Tests/conformance/parley_support.py): boto3 and websockets.
PARLEY_BINARY names the binary (default .build/debug/parley). Exits 0 when every check held, 1 otherwise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import html
import json
import os
import random
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "Tests" / "conformance"))

import requests  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402
from websockets.exceptions import ConnectionClosed, InvalidStatus  # noqa: E402

from parley_support import (  # noqa: E402
    DEFAULT_ACCOUNT,
    DEFAULT_BINARY,
    DEFAULT_REGION,
    ParleyServer,
    chat_token,
    free_port,
    parse_log_record,
    run_verdict,
    unique,
    ws_connect,
)

ADMIN_PASSWORD = "crash-cycles-admin-password"
UPTIME_S = (0.4, 3.0)
STARTUP_KILL_SHARE = 0.1
S3_SLACK_S = 25.0  # after the last minute is over: shipping interval, backoff after a crash, a slow machine


def log(message: str) -> None:
    print(message, flush=True)


# ====================================================================== the ledger: what was acknowledged


@dataclass
class Pending:
    """A write sent but not acknowledged when the server died: it may or may not have happened."""

    kind: str  # "create_room", "room", "create_lc", "lc", "key"
    name: str | None = None  # for creates: the name, to recognise the resource
    arn: str | None = None
    state: Any = None  # for "room"/"lc": the state had it happened (None for a deletion)


@dataclass
class Ledger:
    rooms: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # arn -> expected state, None when deleted
    lcs: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)  # access key id -> secret
    redeemed: list[str] = field(default_factory=list)  # tokens a server accepted (101)
    fresh: list[str] = field(default_factory=list)  # tokens issued, never presented
    frames: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))  # room arn -> frame Id -> text
    chat_rooms: dict[str, list[str]] = field(default_factory=dict)  # room arn -> buckets of its configurations
    lock: threading.Lock = field(default_factory=threading.Lock)
    stats: Counter = field(default_factory=Counter)


def room_state(room: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": room.get("name", ""),
        "tags": dict(room.get("tags") or {}),
        "lcs": sorted(room.get("loggingConfigurationIdentifiers") or []),
    }


def lc_state(lc: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": lc.get("name", ""),
        "tags": dict(lc.get("tags") or {}),
        "bucket": lc["destinationConfiguration"]["s3"]["bucketName"],
    }


# ====================================================================== the server


def spawn(srv: ParleyServer) -> None:
    """Start the process without waiting for it to be healthy (ParleyServer.start() without the wait)."""
    srv.data_dir.mkdir(parents=True, exist_ok=True)
    srv.log_dir.mkdir(parents=True, exist_ok=True)
    srv.runs += 1
    srv.port = free_port()
    cmd = [str(srv.binary), "serve", "--host", "127.0.0.1", "--port", str(srv.port), "--data-dir", str(srv.data_dir)]
    with open(srv.stdout_path(), "wb") as out, open(srv.stderr_path(), "wb") as err:
        srv.process = subprocess.Popen(cmd, env=srv._env(), stdout=out, stderr=err, stdin=subprocess.DEVNULL)


def integrity(data_dir: Path) -> list[str]:
    """PRAGMA integrity_check of the data directory's database (replays the WAL, as the server's next start would)."""
    path = data_dir / "parley.sqlite"
    if not path.exists():
        return []
    connection = sqlite3.connect(str(path), timeout=10)
    try:
        rows = [r[0] for r in connection.execute("PRAGMA integrity_check").fetchall()]
    finally:
        connection.close()
    return [] if rows == ["ok"] else rows


def outbox_count(data_dir: Path) -> int:
    connection = sqlite3.connect(str(data_dir / "parley.sqlite"), timeout=10)
    try:
        return connection.execute("SELECT COUNT(*) FROM logOutbox").fetchone()[0]
    finally:
        connection.close()


# ====================================================================== console keys


def console_session(srv: ParleyServer) -> requests.Session:
    session = requests.Session()
    r = session.post(
        srv.endpoint + "/console/sign-in", data={"user": "admin", "password": ADMIN_PASSWORD, "next": "/console/keys"},
        allow_redirects=False, timeout=10,
    )
    if r.status_code != 303:
        raise RuntimeError(f"console sign-in answered {r.status_code}: {r.text[:300]}")
    return session


def create_key(srv: ParleyServer, session: requests.Session) -> tuple[str, str]:
    page = session.get(srv.endpoint + "/console/keys", timeout=10)
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    if page.status_code != 200 or not match:
        raise RuntimeError(f"console keys page: {page.status_code} {page.text[:300]}")
    r = session.post(srv.endpoint + "/console/keys", data={"csrf": html.unescape(match.group(1))}, timeout=10)
    codes = [html.unescape(c) for c in re.findall(r'<code class="secret" data-copy>([^<]+)</code>', r.text)]
    if r.status_code != 200 or len(codes) != 2:
        raise RuntimeError(f"console key creation: {r.status_code} {r.text[:300]}")
    return codes[0], codes[1]


def key_works(srv: ParleyServer, key_id: str, secret: str) -> tuple[bool, str]:
    r = srv.signed("POST", "/ListRooms", {"maxResults": 1}, access_key=key_id, secret_key=secret)
    return r.status_code == 200, f"{r.status_code} {r.text[:200]}"


# ====================================================================== traffic


def ended(ledger: Ledger, worker: str, error: BaseException) -> None:
    """Counts how workers ended (a server killed under them), so that an unexpected kind of failure shows."""
    with ledger.lock:
        ledger.stats[f"ended: {worker} by {type(error).__name__}"] += 1


class ApiWorker(threading.Thread):
    """Sequential API writes on resources this worker owns; at most one write in flight (`pending`) at the kill."""

    def __init__(self, name: str, srv: ParleyServer, ledger: Ledger, rng: random.Random, stop: threading.Event, owned: dict):
        super().__init__(name=name, daemon=True)
        self.srv, self.ledger, self.rng, self.stop = srv, ledger, rng, stop
        self.owned = owned  # persistent across cycles: {"rooms": [...], "lcs": [...]}
        self.pending: Pending | None = None
        self.problems: list[str] = []
        self.client = srv.client(max_attempts=1)
        self.session: requests.Session | None = None

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.step()
            except ClientError as e:
                self.problems.append(f"{self.name}: {self.pending and self.pending.kind} refused: {e.response.get('Error')}")
                return
            except Exception as e:  # noqa: BLE001 - the server died under this request: it stays pending
                ended(self.ledger, self.name, e)
                return
            self.pending = None

    def step(self) -> None:
        rooms = [a for a in self.owned["rooms"] if self.ledger.rooms.get(a) is not None]
        lcs = self.owned["lcs"]
        all_lcs = list(self.ledger.lcs)
        choices = ["create_room"] * 3 + ["create_lc"]
        if rooms:
            choices += ["update_room"] * 2 + ["tag_room"] * 2 + ["untag_room", "delete_room"]
        if lcs:
            choices += ["update_lc", "tag_lc"]
        if self.rng.random() < 0.04:
            choices = ["key"]
        op = self.rng.choice(choices)
        rng, cl, ledger = self.rng, self.client, self.ledger
        if op == "create_room":
            name = unique("cr")
            tags = {f"k{i}": unique("v") for i in range(rng.randint(0, 3))}
            chosen = rng.sample(all_lcs, k=min(len(all_lcs), rng.randint(0, 2)))
            self.pending = Pending("create_room", name=name)
            room = cl.create_room(name=name, tags=tags, loggingConfigurationIdentifiers=chosen)
            with ledger.lock:
                ledger.rooms[room["arn"]] = room_state(room)
                self.owned["rooms"].append(room["arn"])
        elif op == "create_lc":
            name = unique("lc")
            bucket = f"crash-{rng.randint(0, 3)}"
            self.pending = Pending("create_lc", name=name)
            lc = cl.create_logging_configuration(
                name=name, destinationConfiguration={"s3": {"bucketName": bucket}}, tags={"made": "crash"}
            )
            with ledger.lock:
                ledger.lcs[lc["arn"]] = lc_state(lc)
                lcs.append(lc["arn"])
        elif op == "update_room":
            arn = rng.choice(rooms)
            state = dict(ledger.rooms[arn])
            kwargs: dict[str, Any] = {"identifier": arn}
            if rng.random() < 0.5 or not all_lcs:
                state["name"] = kwargs["name"] = unique("up")
            else:
                state["lcs"] = sorted(rng.sample(all_lcs, k=min(len(all_lcs), rng.randint(0, 3))))
                kwargs["loggingConfigurationIdentifiers"] = state["lcs"]
            self.pending = Pending("room", arn=arn, state=state)
            room = cl.update_room(**kwargs)
            with ledger.lock:
                ledger.rooms[arn] = room_state(room)
        elif op == "tag_room":
            arn = rng.choice(rooms)
            state = dict(ledger.rooms[arn])
            new = {f"t{rng.randint(0, 9)}": unique("v") for _ in range(rng.randint(1, 3))}
            state["tags"] = {**state["tags"], **new}
            self.pending = Pending("room", arn=arn, state=state)
            cl.tag_resource(resourceArn=arn, tags=new)
            with ledger.lock:
                ledger.rooms[arn] = state
        elif op == "untag_room":
            arn = rng.choice(rooms)
            state = dict(ledger.rooms[arn])
            if not state["tags"]:
                return
            gone = rng.sample(sorted(state["tags"]), k=1)
            state["tags"] = {k: v for k, v in state["tags"].items() if k not in gone}
            self.pending = Pending("room", arn=arn, state=state)
            cl.untag_resource(resourceArn=arn, tagKeys=gone)
            with ledger.lock:
                ledger.rooms[arn] = state
        elif op == "delete_room":
            arn = rng.choice(rooms)
            self.pending = Pending("room", arn=arn, state=None)
            cl.delete_room(identifier=arn)
            with ledger.lock:
                ledger.rooms[arn] = None
        elif op == "update_lc":
            arn = rng.choice(lcs)
            state = dict(ledger.lcs[arn])
            state["name"] = unique("ul")
            self.pending = Pending("lc", arn=arn, state=state)
            lc = cl.update_logging_configuration(identifier=arn, name=state["name"])
            with ledger.lock:
                ledger.lcs[arn] = lc_state(lc)
        elif op == "tag_lc":
            arn = rng.choice(lcs)
            state = dict(ledger.lcs[arn])
            new = {f"t{rng.randint(0, 9)}": unique("v")}
            state["tags"] = {**state["tags"], **new}
            self.pending = Pending("lc", arn=arn, state=state)
            cl.tag_resource(resourceArn=arn, tags=new)
            with ledger.lock:
                ledger.lcs[arn] = state
        elif op == "key":
            self.pending = Pending("key")
            if self.session is None:
                self.session = console_session(self.srv)
            key_id, secret = create_key(self.srv, self.session)
            with ledger.lock:
                ledger.keys[key_id] = secret
        with ledger.lock:
            ledger.stats[f"api {op}"] += 1


class TokenWorker(threading.Thread):
    """Issues chat tokens; redeems most at once (a connection that got 101), keeps the rest for after the restart."""

    def __init__(self, srv: ParleyServer, ledger: Ledger, rng: random.Random, stop: threading.Event, rooms: list[str]):
        super().__init__(name="tokens", daemon=True)
        self.srv, self.ledger, self.rng, self.stop, self.rooms = srv, ledger, rng, stop, rooms
        self.client = srv.client(max_attempts=1)
        self.redeemed: list[str] = []
        self.fresh: list[str] = []
        self.problems: list[str] = []

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                token = chat_token(self.client, self.rng.choice(self.rooms), unique("tok"), ["SEND_MESSAGE"])
            except Exception as e:  # noqa: BLE001 - the server died
                ended(self.ledger, "tokens", e)
                return
            if self.rng.random() < 0.3:
                self.fresh.append(token)
                continue
            try:
                ws = ws_connect(self.srv, token, open_timeout=5)
            except InvalidStatus as e:
                self.problems.append(f"a new chat token was refused: {e.response.status_code} {bytes(e.response.body or b'')[:200]!r}")
                return
            except Exception as e:  # noqa: BLE001 - died while connecting: this token's fate is unknown, never presented again
                ended(self.ledger, "tokens", e)
                return
            self.redeemed.append(token)
            try:
                ws.close()
            except Exception:  # noqa: BLE001
                pass


class ChatWorker:
    """A listener and a sender in one room; every MESSAGE or EVENT frame either receives is noted by its exact text."""

    def __init__(self, srv: ParleyServer, ledger: Ledger, rng: random.Random, stop: threading.Event, room: str):
        self.srv, self.ledger, self.rng, self.stop, self.room = srv, ledger, rng, stop, room
        self.client = srv.client(max_attempts=1)
        self.threads = [threading.Thread(target=self.listen, daemon=True), threading.Thread(target=self.speak, daemon=True)]
        self.redeemed: list[str] = []
        self.problems: list[str] = []

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def join(self, timeout: float) -> None:
        for t in self.threads:
            t.join(timeout)

    def note(self, text: str) -> None:
        frame = json.loads(text)
        if frame.get("Type") in ("MESSAGE", "EVENT"):
            with self.ledger.lock:
                self.ledger.frames[self.room][frame["Id"]] = text
                self.ledger.stats[f"frames {frame['Type']}"] += 1
        elif frame.get("Type") == "ERROR" and frame.get("ErrorCode") != 429:
            self.problems.append(f"chat error in {self.room}: {text}")

    def connect(self, capabilities: list[str]):
        token = chat_token(self.client, self.room, unique("chat"), capabilities)
        try:
            ws = ws_connect(self.srv, token, open_timeout=5)
        except InvalidStatus as e:
            self.problems.append(f"a new chat token was refused: {e.response.status_code} {bytes(e.response.body or b'')[:200]!r}")
            raise
        self.redeemed.append(token)
        return ws

    def listen(self) -> None:
        try:
            ws = self.connect([])
        except Exception as e:  # noqa: BLE001 - the server died
            ended(self.ledger, "listener", e)
            return
        try:
            while not self.stop.is_set():
                try:
                    self.note(ws.recv(timeout=0.5))
                except TimeoutError:
                    continue
        except (ConnectionClosed, OSError) as e:
            ended(self.ledger, "listener", e)
            return
        finally:
            ws.close()

    def speak(self) -> None:
        try:
            ws = self.connect(["SEND_MESSAGE"])
        except Exception as e:  # noqa: BLE001
            ended(self.ledger, "sender", e)
            return
        i = 0
        try:
            while not self.stop.is_set():
                i += 1
                if i % 15 == 0:
                    self.client.send_event(roomIdentifier=self.room, eventName="app:crash", attributes={"i": str(i)})
                ws.send(json.dumps({"Action": "SEND_MESSAGE", "RequestId": f"r{i}", "Content": f"crash test {i} ✓ {unique('m')}"}))
                deadline = time.monotonic() + 3
                while time.monotonic() < deadline:  # until the echo of this request (events may come first)
                    text = ws.recv(timeout=max(0.01, deadline - time.monotonic()))
                    self.note(text)
                    if json.loads(text).get("RequestId") == f"r{i}":
                        break
                time.sleep(self.rng.uniform(0.005, 0.03))
        except Exception as e:  # noqa: BLE001 - the server died
            ended(self.ledger, "sender", e)
            return
        finally:
            ws.close()


# ====================================================================== checks after a restart


def list_all(operation, key: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"maxResults": 50}
    while True:
        page = operation(**kwargs)
        items += page[key]
        if not page.get("nextToken"):
            return items
        kwargs["nextToken"] = page["nextToken"]


def verify_after_restart(srv: ParleyServer, ledger: Ledger, pending: list[Pending], rng: random.Random) -> list[str]:
    problems: list[str] = []
    cl = srv.client(max_attempts=3)
    rooms = {r["arn"]: room_state(r) for r in list_all(cl.list_rooms, "rooms")}
    lcs = {lc["arn"]: lc_state(lc) for lc in list_all(cl.list_logging_configurations, "loggingConfigurations")}
    maybe_room = {p.arn: p.state for p in pending if p.kind == "room"}
    maybe_lc = {p.arn: p.state for p in pending if p.kind == "lc"}
    created_rooms = {p.name for p in pending if p.kind == "create_room"}
    created_lcs = {p.name for p in pending if p.kind == "create_lc"}

    for arn, expected in list(ledger.rooms.items()):
        actual = rooms.get(arn)
        if actual == expected:
            continue
        if arn in maybe_room and actual == maybe_room[arn]:
            ledger.rooms[arn] = actual  # the write in flight happened
            continue
        what = "deleted" if expected is None else json.dumps(expected, sort_keys=True)
        problems.append(f"room {arn}: acknowledged {what}, found {json.dumps(actual, sort_keys=True)}")
    for arn, actual in rooms.items():
        if arn not in ledger.rooms:
            if actual["name"] in created_rooms:
                ledger.rooms[arn] = actual  # an unacknowledged CreateRoom that happened
            else:
                problems.append(f"room {arn} ({actual['name']}) was never created by this run")
    for arn, expected in list(ledger.lcs.items()):
        actual = lcs.get(arn)
        if actual == expected:
            continue
        if arn in maybe_lc and actual == maybe_lc[arn]:
            ledger.lcs[arn] = actual
            continue
        problems.append(f"logging configuration {arn}: acknowledged {expected}, found {actual}")
    for arn, actual in lcs.items():
        if arn not in ledger.lcs:
            if actual["name"] in created_lcs:
                ledger.lcs[arn] = actual
            else:
                problems.append(f"logging configuration {arn} ({actual['name']}) was never created by this run")

    for key_id, secret in ledger.keys.items():
        ok, detail = key_works(srv, key_id, secret)
        if not ok:
            problems.append(f"access key {key_id} (acknowledged) does not sign requests after the restart: {detail}")

    # Tokens: every one redeemed before the kill is refused; issued-but-unused ones still work (then they are used).
    recent = ledger.redeemed[-40:]
    older = ledger.redeemed[:-40]
    for token in recent + rng.sample(older, k=min(10, len(older))):
        try:
            ws = ws_connect(srv, token, open_timeout=5)
        except InvalidStatus as e:
            if e.response.status_code != 401:
                problems.append(f"a redeemed token was refused with {e.response.status_code}, not 401")
            continue
        ws.close()
        problems.append(f"a chat token redeemed before the kill was accepted again after the restart: {token[:24]}…")
    fresh, ledger.fresh = ledger.fresh[-10:], []
    for token in fresh:
        try:
            ws = ws_connect(srv, token, open_timeout=5)
        except InvalidStatus as e:
            problems.append(f"an issued, never used token was refused after the restart: {e.response.status_code}")
            continue
        ws.close()
        ledger.redeemed.append(token)
    ledger.stats["token checks"] += len(recent) + len(fresh)
    return problems


# ====================================================================== S3 objects at the end


def s3_records(s3_dir: Path, bucket: str, room_id: str) -> tuple[dict[str, list[str]], list[str]]:
    """payload text -> [object keys holding it] for a room's objects in a bucket, and problems with the objects."""
    prefix = f"AWSLogs/{DEFAULT_ACCOUNT}/IVSChatLogs/1.0/{DEFAULT_REGION}/room_{room_id}/"
    root = s3_dir / bucket
    found: dict[str, list[str]] = defaultdict(list)
    problems: list[str] = []
    base = root / prefix
    if not base.exists():
        return found, problems
    for path in sorted(base.rglob("*")):
        if not path.is_file():
            continue
        key = str(path.relative_to(root))
        if not path.name.endswith(".log.gz"):
            problems.append(f"stray file in the S3 directory: {key}")
            continue
        try:
            text = gzip.decompress(path.read_bytes()).decode("utf-8")
        except Exception as e:  # noqa: BLE001
            problems.append(f"{bucket}/{key} is not a whole gzip object: {e!r}")
            continue
        if not text.endswith("\n"):
            problems.append(f"{bucket}/{key} does not end with a newline")
        for line in text.split("\n")[:-1]:
            try:
                record = parse_log_record(line)
            except AssertionError as e:
                problems.append(f"{bucket}/{key}: bad record {line[:200]!r}: {e}")
                continue
            found[record.payload].append(key)
    return found, problems


def minute_of_key(key: str) -> str:
    return re.search(r"_(\d{8}T\d{4})Z_", key).group(1)


def check_archives(s3_dir: Path, ledger: Ledger) -> tuple[list[str], Counter]:
    problems: list[str] = []
    counts: Counter = Counter()
    for room, buckets in ledger.chat_rooms.items():
        room_id = room.rsplit("/", 1)[1]
        seen = set(ledger.frames[room].values())
        for bucket in buckets:
            found, object_problems = s3_records(s3_dir, bucket, room_id)
            problems += object_problems
            missing = [t for t in seen if t not in found]
            if missing:
                problems.append(
                    f"room {room_id}, bucket {bucket}: {len(missing)} of {len(seen)} frames clients received are not archived, "
                    f"e.g. {missing[0][:200]}"
                )
            for payload, keys in found.items():
                if len(keys) == 1:
                    continue
                counts["duplicated records"] += len(keys) - 1
                if len(keys) > 2 or len({minute_of_key(k) for k in keys}) > 1:
                    problems.append(f"room {room_id}, bucket {bucket}: a record archived {len(keys)} times in {keys}: {payload[:200]}")
            counts["archived records"] += sum(len(k) for k in found.values())
            counts["archived, never seen by a client"] += sum(1 for p in found if p not in seen)
            counts["frames checked"] += len(seen)
    return problems, counts


def latest_frame_time(ledger: Ledger) -> float | None:
    stamps = [
        dt.datetime.fromisoformat(json.loads(t)["SendTime"].replace("Z", "+00:00")).timestamp()
        for frames in ledger.frames.values()
        for t in frames.values()
    ]
    return max(stamps) if stamps else None


# ====================================================================== the run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=50, help="kill/restart cycles (default 50)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random, printed)")
    parser.add_argument("--workdir", type=Path, default=None, help="where the data, S3 directory and logs go (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()

    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    binary = Path(os.environ.get("PARLEY_BINARY") or DEFAULT_BINARY)
    if not binary.exists():
        subprocess.run(["swift", "build", "--product", "parley"], cwd=REPO_ROOT, check=True)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="parley-crash-"))
    work.mkdir(parents=True, exist_ok=True)
    s3_dir = work / "s3"
    s3_dir.mkdir(exist_ok=True)
    log(f"crash cycles: {args.cycles}, seed {seed}, binary {binary}, work directory {work}")

    srv = ParleyServer(
        binary=binary, data_dir=work / "data", log_dir=work / "logs",
        extra_env={
            "PARLEY_S3_DIRECTORY": str(s3_dir),
            "PARLEY_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "PARLEY_MAX_LOGGING_CONFIGURATIONS": "100000",
            "PARLEY_MAX_ROOMS": "1000000",
            "PARLEY_TOKEN_LIFETIME_SECONDS": "7200",
            "PARLEY_CONNECTION_REQUEST_RATE": "1000",
            "PARLEY_SEND_MESSAGE_RATE": "100000",
            "PARLEY_SEND_EVENT_RATE": "100000",
        },
    )
    ledger = Ledger()
    problems: list[str] = []
    started = time.monotonic()
    survived = 0
    startup_kills = 0

    def kill_and_check(what: str) -> None:
        srv.kill()
        findings = integrity(srv.data_dir)
        if findings:
            problems.append(f"after the kill {what}: PRAGMA integrity_check: {findings[:5]}")

    try:
        # The very first start, on an empty data directory, killed part way (server key, schema).
        spawn(srv)
        time.sleep(rng.uniform(0.0, 0.4))
        kill_and_check("during the first start")
        t0 = time.monotonic()
        srv.start()
        startup_s = time.monotonic() - t0

        # Fixed chat rooms with S3 logging configurations (one or two each).
        cl = srv.client()
        chat_lcs = [
            cl.create_logging_configuration(name=unique("chat-lc"), destinationConfiguration={"s3": {"bucketName": f"chat-{i}"}})
            for i in range(3)
        ]
        for lc in chat_lcs:
            ledger.lcs[lc["arn"]] = lc_state(lc)
        for attached in ([chat_lcs[0]], [chat_lcs[1], chat_lcs[2]], [chat_lcs[0], chat_lcs[2]]):
            room = cl.create_room(
                name=unique("chat"), maximumMessageRatePerSecond=100,
                loggingConfigurationIdentifiers=[lc["arn"] for lc in attached],
            )
            ledger.rooms[room["arn"]] = room_state(room)
            ledger.chat_rooms[room["arn"]] = [lc["destinationConfiguration"]["s3"]["bucketName"] for lc in attached]
        owned = [{"rooms": [], "lcs": []}, {"rooms": [], "lcs": []}]
        pending: list[Pending] = []

        for cycle in range(1, args.cycles + 1):
            if srv.process is None and rng.random() < STARTUP_KILL_SHARE:
                # Killed while starting: recovering the WAL, migrating, binding.
                spawn(srv)
                time.sleep(rng.uniform(0.0, startup_s))
                kill_and_check(f"during start {cycle}")
                startup_kills += 1
                survived += 1
                log(f"cycle {cycle}: killed during startup")
                continue
            if srv.process is None:  # (the first cycle runs on the start that set the rooms up)
                srv.start()
                found = verify_after_restart(srv, ledger, pending, rng)
                problems += [f"cycle {cycle}: {p}" for p in found]

            stop = threading.Event()
            api = [ApiWorker(f"api-{i}", srv, ledger, rng, stop, owned[i]) for i in range(2)]
            tokens = TokenWorker(srv, ledger, rng, stop, list(ledger.chat_rooms))
            chats = [ChatWorker(srv, ledger, rng, stop, room) for room in ledger.chat_rooms]
            for worker in [*api, tokens, *chats]:
                worker.start()
            uptime = rng.uniform(*UPTIME_S)
            time.sleep(uptime)
            kill_and_check(f"in cycle {cycle}")
            stop.set()
            for worker in [*api, tokens, *chats]:
                worker.join(10)
            pending = [w.pending for w in api if w.pending is not None]
            for w in api:
                problems += [f"cycle {cycle}: {p}" for p in w.problems]
            for c in chats:
                problems += [f"cycle {cycle}: {p}" for p in c.problems]
                ledger.redeemed += c.redeemed
            ledger.redeemed += tokens.redeemed
            problems += [f"cycle {cycle}: {p}" for p in tokens.problems]
            ledger.fresh += tokens.fresh
            survived += 1
            log(
                f"cycle {cycle}: killed after {uptime:.2f}s; {sum(len(f) for f in ledger.frames.values())} frames, "
                f"{sum(1 for r in ledger.rooms.values() if r)} rooms, {len(ledger.lcs)} configurations, {len(ledger.keys)} keys, "
                f"{len(ledger.redeemed)} redeemed tokens; in flight: {[p.kind for p in pending]}; problems so far {len(problems)}"
            )

        # The last start: everything checked once more, the archives drained, a clean stop.
        srv.start()
        problems += [f"final start: {p}" for p in verify_after_restart(srv, ledger, pending, rng)]
        latest = latest_frame_time(ledger)
        if latest is not None:
            minute_end = (int(latest) // 60 + 1) * 60
            deadline = time.time() + max(0.0, minute_end - time.time()) + S3_SLACK_S
            log(f"waiting up to {deadline - time.time():.0f}s for the S3 objects of the last minute")
            while time.time() < deadline:
                archive_problems, _ = check_archives(s3_dir, ledger)
                if time.time() > minute_end + 2 and not archive_problems:
                    break
                time.sleep(1.0)
            time.sleep(2.0)  # another shipping round: nothing else may appear
        rc = srv.stop(check=False)
        if rc != 0:
            problems.append(f"parley exited with {rc} after SIGTERM")
        findings = integrity(srv.data_dir)
        if findings:
            problems.append(f"after the final stop: PRAGMA integrity_check: {findings[:5]}")
        left = outbox_count(srv.data_dir)
        if left:
            problems.append(f"{left} records still in the outbox after the final drain")
        archive_problems, counts = check_archives(s3_dir, ledger)
        problems += archive_problems
    except Exception:  # noqa: BLE001 - report, then fail
        problems.append("the run itself failed:\n" + traceback.format_exc())
        counts = Counter()
    finally:
        if srv.process is not None:
            srv.process.kill()
            srv.process.wait()

    elapsed = time.monotonic() - started
    log("")
    log(f"cycles survived: {survived} of {args.cycles} ({startup_kills} killed during startup) in {elapsed:.0f}s, seed {seed}")
    log(
        f"acknowledged: {sum(1 for r in ledger.rooms.values() if r)} rooms live, "
        f"{sum(1 for r in ledger.rooms.values() if r is None)} deleted, {len(ledger.lcs)} logging configurations, "
        f"{len(ledger.keys)} access keys, {len(ledger.redeemed)} tokens redeemed"
    )
    for name, value in sorted((ledger.stats + counts).items()):
        log(f"  {name}: {value}")
    status = run_verdict(problems, srv.log_dir)
    if status == 0 and not args.keep and args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
