"""Chat logging (SPEC section 6) against real destinations: S3, CloudWatch Logs and Firehose served by moto.

Every MESSAGE and EVENT delivered in a room with logging configurations is archived as
`{"event_timestamp","type","version":"1.0","payload":<the frame>}`; these tests compare each archived
payload byte for byte with the text clients received over the WebSocket.

Runtime: S3 objects are shipped per finished minute, so the S3 chats happen first (module fixture
`s3_sessions`, autouse) and the S3 assertions come last in this file: the other tests run while the
minute rolls over, and the wait happens once.

Measurements (CloudWatch Logs delivery delay, outbox drain rate) are printed; see them with `-rP`.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import re
import socket
import statistics
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

from parley_support import (
    DEFAULT_ACCOUNT,
    DEFAULT_REGION,
    LogRecord,
    chat_token,
    free_port,
    parse_log_record,
    raises_aws,
    recv_text,
    send_json,
    send_message,
    unique,
    ws_connect,
)

CWL_DEADLINE_S = 10.0  # SPEC: CloudWatch Logs and Firehose about 10 s
FIREHOSE_DEADLINE_S = 10.0
RECOVERY_DEADLINE_S = 70.0  # backoff is capped at 60 s
S3_SHIP_SLACK_S = 20.0  # after the minute is over: shipping interval + jitter + slow CI
MAX_CONFIGS = {"PARLEY_MAX_LOGGING_CONFIGURATIONS": 1000}

CONTENTS = [
    "héllo wörld 👋 — 你好, ¿qué tal? \u2028 ok",
    'quote " backslash \\ slash / tab \t newline \n </script> & <b>bold</b>',
]


# ====================================================================== moto helpers


@dataclass
class Aws:
    s3: Any
    logs: Any
    firehose: Any

    def bucket(self) -> str:
        name = f"parley-{uuid.uuid4().hex[:20]}"
        self.s3.create_bucket(Bucket=name)
        return name

    def log_group(self) -> str:
        name = f"/parley/test/{unique('g')}"
        self.logs.create_log_group(logGroupName=name)
        return name

    def delivery_stream(self, bucket: str | None = None, name: str | None = None) -> tuple[str, str]:
        """A DirectPut stream with an extended S3 destination; returns (stream, bucket)."""
        bucket = bucket or self.bucket()
        name = name or unique("ds")
        self.firehose.create_delivery_stream(
            DeliveryStreamName=name,
            DeliveryStreamType="DirectPut",
            ExtendedS3DestinationConfiguration={
                "RoleARN": "arn:aws:iam::123456789012:role/firehose",
                "BucketARN": f"arn:aws:s3:::{bucket}",
                "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60},
            },
        )
        return name, bucket

    # ---- reading back

    def log_events(self, group: str, stream: str) -> list[dict[str, Any]]:
        """All events of a stream, oldest first ([] while the group or stream does not exist)."""
        events: list[dict[str, Any]] = []
        token = None
        while True:
            kwargs: dict[str, Any] = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
            if token:
                kwargs["nextToken"] = token
            try:
                page = self.logs.get_log_events(**kwargs)
            except self.logs.exceptions.ResourceNotFoundException:
                return []
            events += page["events"]
            if not page["events"] or page.get("nextForwardToken") in (None, token):
                return events
            token = page["nextForwardToken"]

    def log_streams(self, group: str) -> list[str]:
        return [s["logStreamName"] for s in self.logs.describe_log_streams(logGroupName=group)["logStreams"]]

    def objects(self, bucket: str, prefix: str = "") -> dict[str, bytes]:
        """key -> body of every object under `prefix`."""
        out: dict[str, bytes] = {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                out[obj["Key"]] = self.s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
        return out

    def firehose_lines(self, bucket: str, cache: dict[str, bytes] | None = None) -> list[str]:
        """The records Firehose wrote to `bucket`, in object-key order (moto: one object per put).

        Each record must be newline-terminated; returns the lines without their newline.
        """
        cache = {} if cache is None else cache
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                if obj["Key"] not in cache:
                    cache[obj["Key"]] = self.s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
        lines: list[str] = []
        for key in sorted(cache):
            text = cache[key].decode("utf-8")
            assert text.endswith("\n"), f"Firehose object {key} does not end with a newline: {text[-200:]!r}"
            lines += text.split("\n")[:-1]
        return lines


@pytest.fixture(scope="module")
def aws(moto) -> Aws:
    return Aws(s3=moto.client("s3"), logs=moto.client("logs"), firehose=moto.client("firehose"))


@pytest.fixture(scope="module")
def logsrv(start_module_server, moto):
    """Parley shipping to moto, with destination checks on."""
    return start_module_server(**moto.parley_env(), **MAX_CONFIGS)


@pytest.fixture(scope="module")
def log_client(logsrv):
    return logsrv.client()


@pytest.fixture(scope="module")
def s3_directory(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("s3-directory")


@pytest.fixture(scope="module")
def dirsrv(start_module_server, moto, s3_directory):
    """Parley writing S3 objects to a local directory (PARLEY_S3_DIRECTORY)."""
    return start_module_server(**moto.parley_env(PARLEY_S3_DIRECTORY=str(s3_directory)), **MAX_CONFIGS)


# ====================================================================== Parley helpers


def room_id(room: dict[str, Any]) -> str:
    return room["arn"].rsplit("/", 1)[1]


def stream_name(room: dict[str, Any]) -> str:
    return f"aws/IVSChatLogs/1.0/room_{room_id(room)}"


def active_lc(cl, destination: dict[str, Any]) -> dict[str, Any]:
    lc = cl.create_logging_configuration(name=unique("lc"), destinationConfiguration=destination)
    assert lc["state"] == "ACTIVE", f"{destination} exists in moto but the configuration is {lc['state']}"
    return lc


def poll(fn: Callable[[], Any], done: Callable[[Any], bool], timeout: float, interval: float = 0.1) -> Any:
    """Call fn until done(result) or the deadline; returns the last result either way."""
    deadline = time.monotonic() + timeout
    while True:
        result = fn()
        if done(result) or time.monotonic() >= deadline:
            return result
        time.sleep(interval)


def send_time(frame_text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(json.loads(frame_text)["SendTime"].replace("Z", "+00:00"))


def chat_script(srv, cl, room: dict[str, Any], before: Callable[[], None] | None = None) -> list[str]:
    """A small chat in `room`: two messages (unicode, escapes), a SendEvent, a DELETE_MESSAGE, a last message.

    Returns the exact texts a receive-only listener got, in order. `before` runs once everyone is connected.
    """
    listener = ws_connect(srv, chat_token(cl, room, unique("listener"), ()))
    speaker = ws_connect(
        srv, chat_token(cl, room, unique("speaker"), ["SEND_MESSAGE"], attributes={"display": "Zoë 🦊 \"the fox\""})
    )
    moderator = ws_connect(srv, chat_token(cl, room, unique("mod"), ["DELETE_MESSAGE"]))
    texts: list[str] = []

    def expect(predicate) -> dict[str, Any]:
        text, frame = recv_text(listener)
        assert predicate(frame), f"unexpected frame {text}"
        texts.append(text)
        return frame

    try:
        if before:
            before()
        send_message(speaker, CONTENTS[0], "r-1", {"emoji": "🎉", "quote": 'he said "hi"'})
        first = expect(lambda f: f["Type"] == "MESSAGE" and f["RequestId"] == "r-1")
        send_message(speaker, CONTENTS[1], "r-2")
        expect(lambda f: f["Type"] == "MESSAGE" and f["RequestId"] == "r-2")
        cl.send_event(roomIdentifier=room["arn"], eventName="app:poll", attributes={"question": "tea or ☕?"})
        expect(lambda f: f["Type"] == "EVENT" and f["EventName"] == "app:poll")
        send_json(moderator, {"Action": "DELETE_MESSAGE", "RequestId": "r-del", "Id": first["Id"], "Reason": "off topic ✂"})
        expect(lambda f: f["Type"] == "EVENT" and f["EventName"] == "aws:DELETE_MESSAGE")
        send_message(speaker, "bye 👋", "r-3")
        expect(lambda f: f["Type"] == "MESSAGE" and f["RequestId"] == "r-3")
    finally:
        for ws in (listener, speaker, moderator):
            ws.close()
    return texts


def check_records(lines: list[str], frames: list[str], what: str, ordered: bool = True) -> list[LogRecord]:
    """Each line is an IVS chat-log record whose payload is exactly a frame clients received."""
    records = [parse_log_record(line) for line in lines]
    payloads = [r.payload for r in records]
    if ordered:
        if payloads != frames:
            missing = [f for f in frames if f not in payloads]
            extra = [p for p in payloads if p not in frames]
            pytest.fail(
                f"{what}: {len(payloads)} records, {len(frames)} frames; missing {missing[:3]!r} extra {extra[:3]!r}; "
                f"first records {payloads[:3]!r} first frames {frames[:3]!r}"[:3000]
            )
    else:
        got, want = Counter(payloads), Counter(frames)
        assert got == want, (
            f"{what}: {sum(got.values())} records vs {sum(want.values())} frames; "
            f"missing {list((want - got).items())[:3]!r}; extra or duplicated {list((got - want).items())[:3]!r}"
        )[:3000]
    for record in records:
        frame = record.frame
        assert record.type == frame["Type"], f"{what}: type {record.type} for a {frame['Type']} frame"
        delta = abs((record.event_timestamp - send_time(record.payload)).total_seconds())
        assert delta <= 1.0, f"{what}: event_timestamp {record.event_timestamp} is {delta:.3f}s from SendTime"
    return records


def cwl_lines(aws: Aws, group: str, room: dict[str, Any]) -> list[str]:
    return [e["message"] for e in aws.log_events(group, stream_name(room))]


# ====================================================================== S3 sessions (checked at the end)


S3_KEY_RE = re.compile(
    r"^AWSLogs/(?P<acct>\d{12})/IVSChatLogs/1\.0/(?P<region>[a-z0-9-]+)/room_(?P<room>[A-Za-z0-9]{12})/"
    r"(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/(?P<h>\d{2})/"
    r"(?P<acct2>\d{12})_IVSChatLogs_1\.0_(?P<region2>[a-z0-9-]+)_room_(?P<room2>[A-Za-z0-9]{12})_"
    r"(?P<ymd>\d{8})T(?P<hm>\d{4})Z_(?P<hash>[A-Za-z0-9]+)\.log\.gz$"
)


def s3_prefix(room: dict[str, Any]) -> str:
    return f"AWSLogs/{DEFAULT_ACCOUNT}/IVSChatLogs/1.0/{DEFAULT_REGION}/room_{room_id(room)}/"


def key_minute(key: str) -> dt.datetime:
    m = S3_KEY_RE.match(key)
    assert m, f"S3 key {key!r} does not follow IVS's layout"
    return dt.datetime.strptime(m["ymd"] + m["hm"], "%Y%m%d%H%M").replace(tzinfo=dt.timezone.utc)


def minute_of(t: dt.datetime) -> dt.datetime:
    return t.replace(second=0, microsecond=0)


@dataclass
class S3Session:
    room: dict[str, Any]
    frames: list[str]
    list_keys: Callable[[], list[str]]
    read: Callable[[str], bytes]
    # Keys present shortly after the chat, and when that listing was taken (a minute may not ship before it is over).
    early_keys: list[str] = field(default_factory=list)
    early_at: dt.datetime | None = None

    @property
    def minutes(self) -> set[dt.datetime]:
        return {minute_of(send_time(f)) for f in self.frames}

    def wait_shipped(self) -> dict[str, bytes]:
        """Wait until the chat's last minute is over and its objects are there; then every object of the room."""
        last_end = max(self.minutes) + dt.timedelta(minutes=1)
        remaining = (last_end - dt.datetime.now(dt.timezone.utc)).total_seconds()
        if remaining > 0:
            time.sleep(remaining)

        def covered(keys: list[str]) -> bool:
            return self.minutes <= {key_minute(k) for k in keys}

        keys = poll(self.list_keys, covered, S3_SHIP_SLACK_S, interval=0.25)
        assert covered(keys), (
            f"S3 objects for minutes {sorted(self.minutes)} not shipped within {S3_SHIP_SLACK_S}s after the minute ended; "
            f"found {keys}"
        )
        time.sleep(1.5)  # a shipping round or more: nothing else may appear
        return {k: self.read(k) for k in self.list_keys()}


def check_s3_objects(session: S3Session, objects: dict[str, bytes], what: str) -> None:
    room = session.room
    assert objects, f"{what}: no objects"
    lines: list[str] = []
    per_minute = Counter()
    for key in sorted(objects):
        m = S3_KEY_RE.match(key)
        assert m, f"{what}: key {key!r} does not follow IVS's layout"
        assert m["acct"] == m["acct2"] == DEFAULT_ACCOUNT, key
        assert m["region"] == m["region2"] == DEFAULT_REGION, key
        assert m["room"] == m["room2"] == room_id(room), key
        assert m["ymd"] == m["y"] + m["m"] + m["d"] and m["hm"][:2] == m["h"], f"{what}: key date parts disagree: {key}"
        minute = key_minute(key)
        per_minute[minute] += 1
        body = objects[key]
        assert body[:2] == b"\x1f\x8b", f"{what}: {key} is not gzip: {body[:20]!r}"
        text = gzip.decompress(body).decode("utf-8")
        assert text.endswith("\n"), f"{what}: {key} does not end with a newline"
        object_lines = text.split("\n")[:-1]
        assert object_lines, f"{what}: {key} is empty"
        for line in object_lines:
            stamp = parse_log_record(line).event_timestamp
            assert minute_of(stamp) == minute, f"{what}: a {stamp} record in the object of minute {minute}: {key}"
        lines += object_lines
    duplicated = {m: n for m, n in per_minute.items() if n != 1}
    assert not duplicated, f"{what}: more than one object for a minute: {duplicated} ({sorted(objects)})"
    check_records(lines, session.frames, what)
    if session.early_at is not None:
        too_early = [k for k in session.early_keys if key_minute(k) >= minute_of(session.early_at)]
        assert not too_early, f"{what}: {too_early} were shipped at {session.early_at} before their minute was over"


@pytest.fixture(scope="module", autouse=True)
def s3_sessions(aws, moto, logsrv, log_client, dirsrv, s3_directory):
    """Chats whose S3 objects the last tests of this module check (after the minute rolled over)."""
    sessions: dict[str, Any] = {}
    bucket = aws.bucket()
    lc_s3 = active_lc(log_client, {"s3": {"bucketName": bucket}})

    def moto_keys(room):
        return lambda: sorted(aws.objects(bucket, s3_prefix(room)))

    # 1. S3 in moto.
    room = log_client.create_room(name=unique("s3"), loggingConfigurationIdentifiers=[lc_s3["arn"]])
    sessions["moto"] = S3Session(
        room, chat_script(logsrv, log_client, room), moto_keys(room),
        lambda k: aws.s3.get_object(Bucket=bucket, Key=k)["Body"].read(),
    )

    # 2. PARLEY_S3_DIRECTORY: objects at DIR/<bucket>/<key>; the bucket need not exist anywhere.
    dir_client = dirsrv.client()
    local_bucket = f"parley-local-{uuid.uuid4().hex[:12]}"
    lc_dir = active_lc(dir_client, {"s3": {"bucketName": local_bucket}})
    dir_room = dir_client.create_room(name=unique("s3dir"), loggingConfigurationIdentifiers=[lc_dir["arn"]])
    root = s3_directory / local_bucket

    def local_keys() -> list[str]:
        if not root.exists():
            return []
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())

    sessions["directory"] = S3Session(
        dir_room, chat_script(dirsrv, dir_client, dir_room), local_keys, lambda k: (root / k).read_bytes()
    )

    # 3. Three configurations (S3 shared with room 1, CloudWatch Logs, Firehose), the last two attached by
    #    UpdateRoom while clients are connected.
    group = aws.log_group()
    fh_stream, fh_bucket = aws.delivery_stream()
    lc_cw = active_lc(log_client, {"cloudWatchLogs": {"logGroupName": group}})
    lc_fh = active_lc(log_client, {"firehose": {"deliveryStreamName": fh_stream}})
    room3 = log_client.create_room(name=unique("three"), loggingConfigurationIdentifiers=[lc_s3["arn"]])
    arns = [lc_s3["arn"], lc_cw["arn"], lc_fh["arn"]]

    def attach_all():
        updated = log_client.update_room(identifier=room3["arn"], loggingConfigurationIdentifiers=arns)
        assert updated["loggingConfigurationIdentifiers"] == arns, updated

    sessions["three"] = S3Session(
        room3, chat_script(logsrv, log_client, room3, before=attach_all), moto_keys(room3),
        lambda k: aws.s3.get_object(Bucket=bucket, Key=k)["Body"].read(),
    )
    sessions["three_targets"] = {"group": group, "fh_bucket": fh_bucket}

    # A shipping round later: nothing of a minute that is not over may be there yet.
    time.sleep(1.5)
    for name in ("moto", "directory", "three"):
        s = sessions[name]
        s.early_at = dt.datetime.now(dt.timezone.utc)
        s.early_keys = s.list_keys()
    return sessions


# ====================================================================== destination checks


def test_destination_checks_set_state(aws, log_client, logsrv, start_server, moto):
    cl = log_client
    bucket = aws.bucket()
    group = aws.log_group()
    aws.logs.create_log_group(logGroupName=group + "-longer")
    fh_stream, _ = aws.delivery_stream()

    def state(destination) -> str:
        lc = cl.create_logging_configuration(name=unique("chk"), destinationConfiguration=destination)
        got = cl.get_logging_configuration(identifier=lc["arn"])
        assert got["state"] == lc["state"], (lc, got)
        return lc["state"]

    assert state({"s3": {"bucketName": bucket}}) == "ACTIVE"
    assert state({"s3": {"bucketName": f"parley-missing-{uuid.uuid4().hex[:12]}"}}) == "CREATE_FAILED"
    assert state({"cloudWatchLogs": {"logGroupName": group}}) == "ACTIVE"
    assert state({"cloudWatchLogs": {"logGroupName": group + "-missing"}}) == "CREATE_FAILED"
    # Only a longer group shares the name as a prefix: the check must match exactly.
    assert state({"cloudWatchLogs": {"logGroupName": group[:-2]}}) == "CREATE_FAILED"
    assert state({"firehose": {"deliveryStreamName": fh_stream}}) == "ACTIVE"
    assert state({"firehose": {"deliveryStreamName": unique("ds-missing")}}) == "CREATE_FAILED"

    # Update to a missing destination -> UPDATE_FAILED; back to an existing one -> ACTIVE.
    lc = active_lc(cl, {"cloudWatchLogs": {"logGroupName": group}})
    updated = cl.update_logging_configuration(
        identifier=lc["arn"], destinationConfiguration={"cloudWatchLogs": {"logGroupName": group + "-gone"}}
    )
    assert updated["state"] == "UPDATE_FAILED", updated
    assert cl.get_logging_configuration(identifier=lc["arn"])["state"] == "UPDATE_FAILED"
    updated = cl.update_logging_configuration(identifier=lc["arn"], destinationConfiguration={"s3": {"bucketName": bucket}})
    assert updated["state"] == "ACTIVE", updated
    failed = cl.create_logging_configuration(
        name=unique("chk"), destinationConfiguration={"firehose": {"deliveryStreamName": unique("nope")}}
    )
    assert failed["state"] == "CREATE_FAILED"
    fixed = cl.update_logging_configuration(
        identifier=failed["arn"], destinationConfiguration={"firehose": {"deliveryStreamName": fh_stream}}
    )
    assert fixed["state"] == "ACTIVE", fixed

    # An unreachable endpoint (nothing listens) is a failed check, not a hang.
    dead = start_server(**moto.parley_env(AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}"))
    dead_client = dead.client()
    destinations = (
        {"s3": {"bucketName": bucket}},
        {"cloudWatchLogs": {"logGroupName": group}},
        {"firehose": {"deliveryStreamName": fh_stream}},
    )

    def create(destination):
        started = time.monotonic()
        lc = dead_client.create_logging_configuration(name=unique("dead"), destinationConfiguration=destination)
        return lc["state"], time.monotonic() - started

    with ThreadPoolExecutor(len(destinations)) as pool:
        results = list(pool.map(create, destinations))
    for destination, (state, took) in zip(destinations, results):
        assert state == "CREATE_FAILED", (destination, state)
        assert took < 15, f"the check of {destination} against a closed port took {took:.1f}s"


def test_per_service_endpoint_variables_win(aws, start_server, moto):
    """AWS_ENDPOINT_URL_S3 / _CLOUDWATCH_LOGS / _FIREHOSE take precedence over AWS_ENDPOINT_URL (here a closed port)."""
    srv = start_server(
        **moto.parley_env(
            AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}",
            AWS_ENDPOINT_URL_S3=moto.endpoint,
            AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=moto.endpoint,
            AWS_ENDPOINT_URL_FIREHOSE=moto.endpoint,
        )
    )
    cl = srv.client()
    group = aws.log_group()
    fh_stream, fh_bucket = aws.delivery_stream()
    active_lc(cl, {"s3": {"bucketName": aws.bucket()}})
    lc_cw = active_lc(cl, {"cloudWatchLogs": {"logGroupName": group}})
    lc_fh = active_lc(cl, {"firehose": {"deliveryStreamName": fh_stream}})
    room = cl.create_room(name=unique("eps"), loggingConfigurationIdentifiers=[lc_cw["arn"], lc_fh["arn"]])
    ws = ws_connect(srv, chat_token(cl, room, unique("s"), ["SEND_MESSAGE"]))
    try:
        send_message(ws, "per-service endpoints", "e-1")
        frames = [recv_text(ws)[0]]
    finally:
        ws.close()
    got = poll(lambda: cwl_lines(aws, group, room), lambda ls: len(ls) >= 1, CWL_DEADLINE_S)
    check_records(got, frames, "CloudWatch Logs via AWS_ENDPOINT_URL_CLOUDWATCH_LOGS")
    got = poll(lambda: aws.firehose_lines(fh_bucket), lambda ls: len(ls) >= 1, FIREHOSE_DEADLINE_S)
    check_records(got, frames, "Firehose via AWS_ENDPOINT_URL_FIREHOSE")


def test_room_takes_at_most_three_configurations(aws, log_client):
    bucket = aws.bucket()
    arns = [active_lc(log_client, {"s3": {"bucketName": bucket}})["arn"] for _ in range(4)]
    with raises_aws("ValidationException", 400):
        log_client.create_room(name=unique("four"), loggingConfigurationIdentifiers=arns)
    room = log_client.create_room(name=unique("three"), loggingConfigurationIdentifiers=arns[:3])
    with raises_aws("ValidationException", 400):
        log_client.update_room(identifier=room["arn"], loggingConfigurationIdentifiers=arns)


# ====================================================================== CloudWatch Logs


def test_cloudwatch_logs_receives_the_chat_in_order(aws, moto, logsrv, log_client):
    group = aws.log_group()
    lc = active_lc(log_client, {"cloudWatchLogs": {"logGroupName": group}})
    room = log_client.create_room(name=unique("cwl"), loggingConfigurationIdentifiers=[lc["arn"]])
    frames = chat_script(logsrv, log_client, room)

    events = poll(lambda: aws.log_events(group, stream_name(room)), lambda ev: len(ev) >= len(frames), CWL_DEADLINE_S)
    check_records([e["message"] for e in events], frames, "CloudWatch Logs")
    for e in events:
        stamp = parse_log_record(e["message"]).event_timestamp
        assert abs(e["timestamp"] - stamp.timestamp() * 1000) <= 1000, f"log event timestamp {e['timestamp']} vs {stamp}"
    assert aws.log_streams(group) == [stream_name(room)]

    # Delivery delay: messages sent every 250 ms while another client polls CloudWatch Logs.
    poller_logs = moto.client("logs")
    seen: dict[str, float] = {}
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            try:
                page = poller_logs.get_log_events(logGroupName=group, logStreamName=stream_name(room), startFromHead=True)
            except Exception:  # noqa: BLE001 - keep polling; the assertions below report what is missing
                page = {"events": []}
            now = time.monotonic()
            for e in page["events"]:
                rid = json.loads(parse_log_record(e["message"]).payload).get("RequestId", "")
                seen.setdefault(rid, now)
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    speaker = ws_connect(logsrv, chat_token(log_client, room, unique("lat"), ["SEND_MESSAGE"]))
    sent: dict[str, float] = {}
    more: list[str] = []
    try:
        for i in range(20):
            rid = f"lat-{i}"
            sent[rid] = time.monotonic()
            send_message(speaker, f"latency probe {i} ⏱", rid)
            text, frame = recv_text(speaker)
            assert frame.get("RequestId") == rid, text
            more.append(text)
            time.sleep(0.25)
        deadline = time.monotonic() + CWL_DEADLINE_S
        while time.monotonic() < deadline and not all(r in seen for r in sent):
            time.sleep(0.05)
    finally:
        stop.set()
        watcher.join(timeout=5)
        speaker.close()
    late = [r for r in sent if r not in seen]
    assert not late, f"not in CloudWatch Logs within {CWL_DEADLINE_S}s of being sent: {late}"
    delays = sorted(seen[r] - sent[r] for r in sent)
    print(
        f"\nCloudWatch Logs delivery delay over {len(delays)} messages: p50 {statistics.median(delays) * 1000:.0f} ms, "
        f"p90 {delays[int(len(delays) * 0.9) - 1] * 1000:.0f} ms, max {delays[-1] * 1000:.0f} ms (poll every 50 ms)"
    )
    assert delays[-1] <= CWL_DEADLINE_S

    # The whole stream: everything once, in order.
    check_records(cwl_lines(aws, group, room), frames + more, "CloudWatch Logs after the latency probe")


# ====================================================================== Firehose


def test_firehose_receives_one_newline_terminated_record_per_line(aws, logsrv, log_client):
    fh_stream, fh_bucket = aws.delivery_stream()
    lc = active_lc(log_client, {"firehose": {"deliveryStreamName": fh_stream}})
    room = log_client.create_room(name=unique("fh"), loggingConfigurationIdentifiers=[lc["arn"]])
    frames = chat_script(logsrv, log_client, room)
    cache: dict[str, bytes] = {}
    lines = poll(lambda: aws.firehose_lines(fh_bucket, cache), lambda ls: len(ls) >= len(frames), FIREHOSE_DEADLINE_S)
    check_records(lines, frames, "Firehose")
    time.sleep(1.5)
    check_records(aws.firehose_lines(fh_bucket, cache), frames, "Firehose, a little later (no duplicates)")


# ====================================================================== faults


def test_destination_down_then_back_loses_nothing(aws, logsrv, log_client):
    """The log group disappears while the room chats; once it is back, every record arrives, once, in order."""
    group = aws.log_group()
    lc = active_lc(log_client, {"cloudWatchLogs": {"logGroupName": group}})
    room = log_client.create_room(name=unique("down"), loggingConfigurationIdentifiers=[lc["arn"]])
    listener = ws_connect(logsrv, chat_token(log_client, room, unique("l"), ()))
    speaker = ws_connect(logsrv, chat_token(log_client, room, unique("s"), ["SEND_MESSAGE"]))
    frames: list[str] = []
    try:
        send_message(speaker, "before the outage", "r-before")
        frames.append(recv_text(listener)[0])
        got = poll(lambda: cwl_lines(aws, group, room), lambda ls: len(ls) >= 1, CWL_DEADLINE_S)
        check_records(got, frames, "before the outage")

        aws.logs.delete_log_group(logGroupName=group)
        for i in range(5):
            send_message(speaker, f"during the outage {i} ⚡", f"r-out-{i}")
            frames.append(recv_text(listener)[0])
        log_client.send_event(roomIdentifier=room["arn"], eventName="app:outage", attributes={"n": "5"})
        frames.append(recv_text(listener)[0])
        time.sleep(3)  # let the shipper fail (and back off) a few times
        assert cwl_lines(aws, group, room) == []
        aws.logs.create_log_group(logGroupName=group)
    finally:
        listener.close()
        speaker.close()
    got = poll(lambda: cwl_lines(aws, group, room), lambda ls: len(ls) >= len(frames) - 1, RECOVERY_DEADLINE_S)
    time.sleep(1.5)
    got = cwl_lines(aws, group, room)
    # The first record went out before the group was deleted (and went with it).
    check_records(got, frames[1:], "after the outage")


def test_sigkill_with_waiting_records_then_restart_delivers_each_once(aws, start_server, moto):
    """Records wait in the outbox (destinations missing), Parley is SIGKILLed, the destinations come back and
    Parley restarts: every record arrives exactly once. Also measures the outbox drain rate."""
    # PARLEY_TEST_OUTBOX_RECORDS=20000 measures a bigger backlog (default 2,000 deliveries, each logged twice).
    rooms_n = 8
    per_room = max(1, int(os.environ.get("PARLEY_TEST_OUTBOX_RECORDS", "2000")) // rooms_n)
    srv = start_server(
        **moto.parley_env(),
        **MAX_CONFIGS,
        PARLEY_CONNECTION_REQUEST_RATE=1000,
        PARLEY_SEND_MESSAGE_RATE=100000,
    )
    cl = srv.client()
    group = aws.log_group()
    fh_stream, fh_bucket = aws.delivery_stream()
    lc_cw = active_lc(cl, {"cloudWatchLogs": {"logGroupName": group}})
    lc_fh = active_lc(cl, {"firehose": {"deliveryStreamName": fh_stream}})
    rooms = [
        cl.create_room(
            name=unique("kill"), maximumMessageRatePerSecond=100,
            loggingConfigurationIdentifiers=[lc_cw["arn"], lc_fh["arn"]],
        )
        for _ in range(rooms_n)
    ]
    tokens = [chat_token(cl, room, unique("s"), ["SEND_MESSAGE"]) for room in rooms]
    aws.logs.delete_log_group(logGroupName=group)
    aws.firehose.delete_delivery_stream(DeliveryStreamName=fh_stream)

    frames: dict[str, list[str]] = {}
    errors: list[str] = []

    def speak(room, token):
        """Send per_room messages, each after the previous one's echo; 429 errors are retried."""
        ws = ws_connect(srv, token)
        got: list[str] = []
        try:
            i = 0
            while i < per_room:
                rid = f"k-{i}"
                send_message(ws, f"outbox {i} ✉ ünïcödé {'x' * (i % 50)}", rid)
                text, frame = recv_text(ws, timeout=10)
                if frame["Type"] == "ERROR":
                    if frame["ErrorCode"] != 429:
                        errors.append(text)
                        return
                    time.sleep(0.05)
                    continue
                assert frame.get("RequestId") == rid, text
                got.append(text)
                i += 1
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))
        finally:
            ws.close()
            frames[room["arn"]] = got

    started = time.monotonic()
    threads = [threading.Thread(target=speak, args=(r, t)) for r, t in zip(rooms, tokens)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    generated_s = time.monotonic() - started
    assert not errors, errors[:5]
    total = sum(len(v) for v in frames.values())
    assert total == rooms_n * per_room

    srv.kill()
    aws.logs.create_log_group(logGroupName=group)
    aws.delivery_stream(bucket=fh_bucket, name=fh_stream)
    t0 = time.monotonic()
    srv.start()
    ready_s = time.monotonic() - t0

    done: dict[str, float] = {}
    fh_cache: dict[str, bytes] = {}

    def progress() -> tuple[int, int]:
        cw = sum(len(aws.log_events(group, stream_name(r))) for r in rooms) if "cw" not in done else total
        fh = len(aws.firehose_lines(fh_bucket, fh_cache)) if "fh" not in done else total
        now = time.monotonic() - t0
        if cw >= total:
            done.setdefault("cw", now)
        if fh >= total:
            done.setdefault("fh", now)
        return cw, fh

    counts = poll(progress, lambda c: c[0] >= total and c[1] >= total, RECOVERY_DEADLINE_S, interval=0.1)
    assert counts[0] >= total and counts[1] >= total, f"after restart: {counts} of {total} records arrived"
    time.sleep(2)  # rounds more: no duplicates may follow

    for room in rooms:
        check_records(cwl_lines(aws, group, room), frames[room["arn"]], f"CloudWatch Logs, room {room_id(room)}")
    all_frames = [f for room in rooms for f in frames[room["arn"]]]
    check_records(aws.firehose_lines(fh_bucket, fh_cache), all_frames, "Firehose", ordered=False)
    assert Counter(aws.firehose_lines(fh_bucket, fh_cache)).most_common(1)[0][1] == 1

    # A restart finds the log streams already there (created before it): shipping goes on.
    srv.restart()
    cl = srv.client()  # the restarted server listens on a new port
    room = rooms[0]
    ws = ws_connect(srv, chat_token(cl, room, unique("again"), ["SEND_MESSAGE"]))
    try:
        send_message(ws, "after a clean restart", "k-again")
        frames[room["arn"]].append(recv_text(ws)[0])
    finally:
        ws.close()
    got = poll(lambda: cwl_lines(aws, group, room), lambda ls: len(ls) >= per_room + 1, CWL_DEADLINE_S)
    check_records(got, frames[room["arn"]], "CloudWatch Logs after a restart with existing streams")

    print(
        f"\nOutbox: {total} deliveries x 2 configurations generated in {generated_s:.1f}s "
        f"({total / generated_s:.0f} deliveries/s over {rooms_n} rooms); after SIGKILL, restart ready in {ready_s:.2f}s; "
        f"drained (from the restart) CloudWatch Logs {total} records in {done['cw']:.2f}s ({total / done['cw']:.0f}/s), "
        f"Firehose {total} records in {done['fh']:.2f}s ({total / done['fh']:.0f}/s); poll every 0.1 s"
    )


def test_stuck_destination_does_not_delay_the_others(aws, start_server, moto):
    """A destination that accepts connections but never answers must not hold up another configuration's records."""
    blackhole = socket.socket()
    blackhole.bind(("127.0.0.1", 0))
    blackhole.listen(128)  # the kernel completes handshakes; nobody ever reads or answers
    try:
        srv = start_server(
            **moto.parley_env(
                AWS_ENDPOINT_URL_FIREHOSE=f"http://127.0.0.1:{blackhole.getsockname()[1]}",
                PARLEY_VERIFY_LOG_DESTINATIONS="false",  # the Firehose check would hang too
            )
        )
        cl = srv.client()
        group = aws.log_group()
        lc_cw = cl.create_logging_configuration(name=unique("cw"), destinationConfiguration={"cloudWatchLogs": {"logGroupName": group}})
        lc_fh = cl.create_logging_configuration(name=unique("fh"), destinationConfiguration={"firehose": {"deliveryStreamName": "hung"}})
        room = cl.create_room(name=unique("hol"), loggingConfigurationIdentifiers=[lc_cw["arn"], lc_fh["arn"]])
        speaker = ws_connect(srv, chat_token(cl, room, unique("s"), ["SEND_MESSAGE"]))
        frames: list[str] = []
        delays: list[float] = []
        try:
            for i in range(3):
                started = time.monotonic()
                send_message(speaker, f"while Firehose hangs {i}", f"h-{i}")
                frames.append(recv_text(speaker)[0])
                got = poll(lambda: cwl_lines(aws, group, room), lambda ls: len(ls) >= len(frames), CWL_DEADLINE_S)
                delays.append(time.monotonic() - started)
                assert len(got) == len(frames), (
                    f"message {i} not in CloudWatch Logs within {CWL_DEADLINE_S}s while the Firehose destination of the "
                    f"same room hangs (delays so far {[round(d, 1) for d in delays]})"
                )
        finally:
            speaker.close()
        check_records(cwl_lines(aws, group, room), frames, "CloudWatch Logs beside a hung Firehose")
    finally:
        blackhole.close()


# ====================================================================== S3 (after the minute rolled over)


def test_s3_one_gzip_object_per_room_minute_in_moto(s3_sessions):
    session = s3_sessions["moto"]
    check_s3_objects(session, session.wait_shipped(), "S3 (moto)")


def test_s3_directory_writes_the_same_objects_to_disk(s3_sessions, s3_directory):
    session = s3_sessions["directory"]
    check_s3_objects(session, session.wait_shipped(), "PARLEY_S3_DIRECTORY")
    leftovers = [p for p in s3_directory.rglob("*") if p.is_file() and not p.name.endswith(".log.gz")]
    assert not leftovers, f"temporary or stray files left in the S3 directory: {leftovers}"


def test_three_configurations_receive_the_same_records(aws, s3_sessions):
    session = s3_sessions["three"]
    targets = s3_sessions["three_targets"]
    check_s3_objects(session, session.wait_shipped(), "three configurations: S3")
    check_records(cwl_lines(aws, targets["group"], session.room), session.frames, "three configurations: CloudWatch Logs")
    check_records(aws.firehose_lines(targets["fh_bucket"]), session.frames, "three configurations: Firehose")
