"""Message review handlers (SPEC section 5): webhooks, Lambda functions and builtin:blocked-terms, black-box.

The handler is a separate process (review_handler.py) that records every request it gets (GET /requests) and
picks its answer from the reviewed Content's prefix ("deny:<reason>", "slow:...", "rewrite:...", see its doc),
or from its URL path (/review/<mode>). It also emulates the Lambda Invoke API and checks SigV4 with botocore.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

import pytest
import requests

from parley_support import (
    ALL_CAPABILITIES,
    LAMBDA_ARN,
    ParleyServer,
    assert_error,
    assert_message,
    chat_token,
    recv_frame,
    send_message,
    unique,
    ws_connect,
)

HANDLER_SCRIPT = Path(__file__).resolve().parent / "review_handler.py"
WEBHOOK_SECRET = "parley-review-webhook-secret-for-tests"
LAMBDA_KEY_ID = "AKIDLAMBDAINVOKER01"
LAMBDA_SECRET = "lambdaInvokerSecretKey0123456789abcdefgh"
DEFAULT_TERMS = {"default": {"action": "mask", "terms": ["darn", "re:fr[o0]+b"]}}
REVIEW_TIMEOUT_S = 0.2
# A fallback must come once the 200 ms deadline passes: not before 150 ms (the handler was waited for),
# and well within a second.
FALLBACK_WINDOW_S = (0.15, 1.0)
HANDLER_START_TIMEOUT_S = 15.0


# ====================================================================== the handler process


class HandlerProcess:
    """A running review_handler.py."""

    def __init__(self, *args: str, log_path: Path | None = None) -> None:
        self.log = open(log_path, "wb") if log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [sys.executable, str(HANDLER_SCRIPT), "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL, text=True,
        )
        self.port = self._read_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.session = requests.Session()
        deadline = time.monotonic() + HANDLER_START_TIMEOUT_S
        while True:  # readiness: poll /health with a deadline
            try:
                if self.session.get(self.base + "/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "review handler never became healthy"
            try:
                self.proc.wait(timeout=0.05)
                pytest.fail(f"review handler exited with {self.proc.returncode}")
            except subprocess.TimeoutExpired:
                pass

    def _read_port(self) -> int:
        import selectors

        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        ready = sel.select(timeout=HANDLER_START_TIMEOUT_S)
        sel.close()
        if not ready:
            self.stop()
            pytest.fail("review handler printed no LISTENING line")
        line = self.proc.stdout.readline().strip()
        assert line.startswith("LISTENING "), f"unexpected handler output {line!r}"
        return int(line.split()[1])

    def url(self, mode: str | None = None) -> str:
        return f"{self.base}/review" + (f"/{mode}" if mode else "")

    def requests(self, room_arn: str | None = None) -> list[dict[str, Any]]:
        records = self.session.get(self.base + "/requests", timeout=5).json()
        if room_arn is None:
            return records
        return [r for r in records if isinstance(r.get("json"), dict) and r["json"].get("RoomArn") == room_arn]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        if self.log is not subprocess.DEVNULL:
            self.log.close()


def header(record: dict[str, Any], name: str) -> str | None:
    for key, value in record["headers"]:
        if key.lower() == name.lower():
            return value
    return None


@pytest.fixture(scope="module")
def handler(tmp_path_factory):
    h = HandlerProcess(
        "--secret", WEBHOOK_SECRET,
        "--aws-access-key-id", LAMBDA_KEY_ID, "--aws-secret-access-key", LAMBDA_SECRET,
        log_path=tmp_path_factory.mktemp("review-handler") / "handler.log",
    )
    yield h
    h.stop()


def review_env(handler: HandlerProcess, terms_file: Path) -> dict[str, str]:
    return {
        "PARLEY_REVIEW_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "AWS_ENDPOINT_URL_LAMBDA": handler.base,
        "AWS_ACCESS_KEY_ID": LAMBDA_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": LAMBDA_SECRET,
        "PARLEY_BLOCKED_TERMS_FILE": str(terms_file),
    }


@pytest.fixture(scope="module")
def rsrv(parley_binary, tmp_path_factory, handler):
    """A Parley server configured for review: webhook secret, Lambda endpoint + credentials, blocked terms."""
    root = tmp_path_factory.mktemp("review-server")
    terms = root / "blocked-terms.json"
    terms.write_text(json.dumps(DEFAULT_TERMS))
    srv = ParleyServer(
        binary=parley_binary, data_dir=root / "data", log_dir=root / "logs", extra_env=review_env(handler, terms)
    ).start()
    yield srv
    srv.stop(check=True)


@pytest.fixture(scope="module")
def rclient(rsrv):
    return rsrv.client()


@pytest.fixture
def rjoin(rsrv, rclient):
    """rjoin(room, user_id=None, capabilities=ALL, srv=None, cl=None, ws_kwargs=None, **token_kwargs)
    -> (connection, user_id); ws_kwargs go to the WebSocket connect (e.g. max_queue)."""
    opened = []

    def _join(room, user_id=None, capabilities=ALL_CAPABILITIES, srv=None, cl=None, ws_kwargs=None, **token_kwargs):
        user_id = user_id or unique("user")
        token = chat_token(cl or rclient, room, user_id, capabilities, **token_kwargs)
        ws = ws_connect(srv or rsrv, token, **(ws_kwargs or {}))
        opened.append(ws)
        return ws, user_id

    yield _join
    for ws in opened:
        ws.close()


def make_room(cl, uri: str | None = None, fallback: str | None = None, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("name", unique("review"))
    if uri is not None:
        handler_input = {"uri": uri}
        if fallback is not None:
            handler_input["fallbackResult"] = fallback
        kwargs["messageReviewHandler"] = handler_input
    return cl.create_room(**kwargs)


# ====================================================================== helpers


def timed_frame(ws, timeout: float = 5.0) -> tuple[dict[str, Any], float]:
    frame = recv_frame(ws, timeout)
    return frame, time.monotonic()


def assert_silent(ws) -> None:
    """Nothing is waiting on `ws` right now."""
    try:
        text = ws.recv(timeout=0)
    except TimeoutError:
        return
    pytest.fail(f"unexpected frame {text[:300]!r}")


def follow_up(sender, *watchers) -> None:
    """A normal message: it is the next thing the sender and every watcher receive (so nothing came before it)."""
    rid = unique("after")
    content = f"ok {rid[-8:]}"  # short: fits rooms with a small maximumMessageLength
    send_message(sender, content, rid)
    for ws in (sender, *watchers):
        assert_message(recv_frame(ws), content=content, request_id=rid)


def expect_denied(sender, request_id: str, watchers=(), reason: str | None = None) -> dict[str, Any]:
    frame = recv_frame(sender)
    assert_error(frame, 406, request_id)
    if reason is not None:
        assert frame["ErrorMessage"] == reason, frame
    follow_up(sender, *watchers)
    return frame


# ====================================================================== 1. allow, rewrite, the payload


def test_allow_delivers_unchanged(rclient, rjoin, handler):
    room = make_room(rclient, handler.url(), "DENY")
    sender, sender_id = rjoin(room)
    watcher, _ = rjoin(room, capabilities=())
    send_message(sender, "a perfectly fine message", "r-allow", {"k": "v", "lang": "en"})
    got = [recv_frame(ws) for ws in (sender, watcher)]
    for frame in got:
        assert_message(frame, content="a perfectly fine message", request_id="r-allow",
                       attributes={"k": "v", "lang": "en"}, user_id=sender_id)
    assert got[0] == got[1]
    assert len(handler.requests(room["arn"])) == 1, "the handler is called once per message"


def test_allow_without_attributes_delivers_empty_attributes(rclient, rjoin, handler):
    room = make_room(rclient, handler.url(), "DENY")
    sender, _ = rjoin(room)
    watcher, _ = rjoin(room, capabilities=())
    send_message(sender, "noattrs:keep the text", "r-noattrs", {"dropped": "yes"})
    for ws in (sender, watcher):
        assert_message(recv_frame(ws), content="noattrs:keep the text", request_id="r-noattrs", attributes={})


def test_rewrite_reaches_everyone(rclient, rjoin, handler):
    room = make_room(rclient, handler.url(), "DENY")
    sender, sender_id = rjoin(room, attributes={"displayName": "Ana"})
    watchers = [rjoin(room, capabilities=())[0] for _ in range(2)]
    send_message(sender, "rewrite:some rude words", "r-rewrite", {"original": "attr"})
    frames = [recv_frame(ws) for ws in (sender, *watchers)]
    for frame in frames:
        assert_message(frame, content="[reviewed] some rude words", request_id="r-rewrite",
                       attributes={"reviewed": "true"}, user_id=sender_id, sender_attributes={"displayName": "Ana"})
    assert len({f["Id"] for f in frames}) == 1, "one message, one Id, for everyone"


def test_review_payload_shape_and_values(rsrv, rclient, rjoin, handler):
    room = make_room(rclient, handler.url(), "DENY")
    sender_attrs = {"displayName": "Bea", "role": "mod"}
    sender, sender_id = rjoin(room, attributes=sender_attrs)
    sent_at = time.time()
    send_message(sender, "inspect me é🎉", "r-inspect", {"x": "1", "y": "two"})
    frame = recv_frame(sender)
    assert_message(frame, content="inspect me é🎉", request_id="r-inspect")
    records = handler.requests(room["arn"])
    assert len(records) == 1, records
    rec = records[0]
    assert rec["kind"] == "webhook" and rec["method"] == "POST" and rec["path"] == "/review", rec
    payload = rec["json"]
    assert isinstance(payload, dict), rec["body"]
    assert set(payload) == {"Content", "MessageId", "RoomArn", "Attributes", "Sender"}, payload
    assert set(payload["Sender"]) == {"Attributes", "UserId", "Ip"}, payload
    assert payload["Content"] == "inspect me é🎉"
    assert payload["MessageId"] == frame["Id"], "MessageId is the delivered message's Id"
    assert payload["RoomArn"] == room["arn"]
    assert payload["Attributes"] == {"x": "1", "y": "two"}
    assert payload["Sender"]["UserId"] == sender_id
    assert payload["Sender"]["Attributes"] == sender_attrs
    assert payload["Sender"]["Ip"] == "127.0.0.1"
    assert (header(rec, "Content-Type") or "").startswith("application/json"), rec["headers"]
    ts = header(rec, "X-Parley-Timestamp")
    assert ts and ts.isdigit() and abs(int(ts) - sent_at) <= 5, f"X-Parley-Timestamp {ts!r}"


# ====================================================================== 2. deny


def test_deny_sends_406_with_reason_to_sender_only(rclient, rjoin, handler):
    room = make_room(rclient, handler.url(), "ALLOW")
    sender, _ = rjoin(room)
    watcher, _ = rjoin(room, capabilities=())
    send_message(sender, "deny:No shouting in this room, please.", "r-deny")
    expect_denied(sender, "r-deny", [watcher], reason="No shouting in this room, please.")
    assert len(handler.requests(room["arn"])) == 2  # the denied message and the follow-up


def test_deny_without_reason_still_406(rclient, rjoin, handler):
    room = make_room(rclient, handler.url(), "ALLOW")
    sender, _ = rjoin(room)
    watcher, _ = rjoin(room, capabilities=())
    send_message(sender, "denynoreason:x", "r-deny-bare")
    expect_denied(sender, "r-deny-bare", [watcher])  # assert_error requires a non-empty ErrorMessage


# ====================================================================== 3. slow handler -> fallback


@pytest.mark.parametrize("fallback", ["ALLOW", "DENY"])
def test_slow_handler_gets_fallback(rclient, rjoin, handler, fallback):
    room = make_room(rclient, handler.url(), fallback)
    sender, _ = rjoin(room)
    watcher, _ = rjoin(room, capabilities=())
    started = time.monotonic()
    send_message(sender, "slow:take your time", "r-slow", {"keep": "me"})
    frame, at = timed_frame(sender)
    elapsed = at - started
    lo, hi = FALLBACK_WINDOW_S
    assert lo <= elapsed < hi, f"fallback after {elapsed:.3f}s, expected within {FALLBACK_WINDOW_S} (200 ms timeout)"
    if fallback == "ALLOW":
        # The ORIGINAL message is delivered to everyone.
        assert_message(frame, content="slow:take your time", request_id="r-slow", attributes={"keep": "me"})
        assert_message(recv_frame(watcher, 1.0), content="slow:take your time", request_id="r-slow")
    else:
        assert_error(frame, 406, "r-slow")
        follow_up(sender, watcher)
    assert [r["mode"] for r in handler.requests(room["arn"])][:1] == ["slow"], "the handler was called"


def test_timeout_covers_the_response_body(rclient, rjoin, handler):
    """The handler sends its response head at once but its (valid) body only after 400 ms: the 200 ms limit
    runs from the call, so the fallback (DENY) applies and the late answer is not delivered."""
    room = make_room(rclient, handler.url(), "DENY")
    sender, _ = rjoin(room)
    watcher, _ = rjoin(room, capabilities=())
    started = time.monotonic()
    send_message(sender, "slowbody:dribbled answer", "r-slowbody")
    frame, at = timed_frame(sender)
    elapsed = at - started
    assert frame["Type"] == "ERROR", (
        f"after {elapsed:.3f}s Parley delivered the handler's late answer instead of the DENY fallback: {frame}"
    )
    assert_error(frame, 406, "r-slowbody")
    assert elapsed < 0.35, f"fallback only after {elapsed:.3f}s (the handler's body came at 0.4 s)"
    follow_up(sender, watcher)


# ====================================================================== 4. failures and invalid answers -> fallback

INVALID_ANSWERS = {
    "http-500": "error500:x",
    "garbage-json": "garbage:x",
    "content-over-room-max": "oversized:21",  # the room below allows 20
    "empty-content": "emptycontent:x",
    "attributes-over-1KB": "bigattrs:1025",
    "non-string-attribute": "nonstringattr:x",
    "review-result-MAYBE": "maybe:x",
    "connection-reset": "reset:x",
}


@pytest.mark.parametrize("content", list(INVALID_ANSWERS.values()), ids=list(INVALID_ANSWERS))
def test_invalid_answer_gets_fallback_deny(rclient, rjoin, handler, content):
    room = make_room(rclient, handler.url(), "DENY", maximumMessageLength=20)
    sender, _ = rjoin(room)
    watcher, _ = rjoin(room, capabilities=())
    started = time.monotonic()
    send_message(sender, content, "r-bad")
    expect_denied(sender, "r-bad", [watcher])
    assert time.monotonic() - started < FALLBACK_WINDOW_S[1] + 1.0
    assert handler.requests(room["arn"])[0]["json"]["Content"] == content, "the handler was called"


@pytest.mark.parametrize(
    "content",
    ["error500:x", "garbage:x", "oversized:21", "bigattrs:1025", "maybe:x", "reset:x"],
    ids=["http-500", "garbage-json", "content-over-room-max", "attributes-over-1KB", "review-result-MAYBE", "reset"],
)
def test_invalid_answer_gets_fallback_allow_with_original(rclient, rjoin, handler, content):
    room = make_room(rclient, handler.url(), "ALLOW", maximumMessageLength=20)
    sender, _ = rjoin(room)
    watcher, _ = rjoin(room, capabilities=())
    send_message(sender, content, "r-orig", {"orig": "attr"})
    for ws in (sender, watcher):
        assert_message(recv_frame(ws), content=content, request_id="r-orig", attributes={"orig": "attr"})


@pytest.mark.parametrize(
    "content, delivered, attributes",
    [
        ("oversized:20", "x" * 20, {}),
        ("emoji:20", "\U0001f389" * 20, {}),  # 20 code points (40 UTF-16 units, 80 bytes)
        ("bigattrs:1024", "bigattrs:1024", {"pad": "x" * 1021}),
    ],
    ids=["content-at-room-max", "emoji-counted-in-code-points", "attributes-exactly-1KB"],
)
def test_answers_at_the_limits_are_accepted(rclient, rjoin, handler, content, delivered, attributes):
    room = make_room(rclient, handler.url(), "DENY", maximumMessageLength=20)
    sender, _ = rjoin(room)
    send_message(sender, content, "r-edge")
    assert_message(recv_frame(sender), content=delivered, request_id="r-edge", attributes=attributes)


# ====================================================================== 5. webhook signature


def test_webhook_signature_verifies_with_the_secret(rclient, rjoin, handler):
    room = make_room(rclient, handler.url(), "DENY")
    sender, _ = rjoin(room)
    send_message(sender, "sign this body", "r-sig", {"a": "b"})
    assert_message(recv_frame(sender), content="sign this body", request_id="r-sig")
    (rec,) = handler.requests(room["arn"])
    body = rec["body"].encode()
    ts = header(rec, "X-Parley-Timestamp")
    sig = header(rec, "X-Parley-Signature")
    assert ts and sig and sig.startswith("v1="), rec["headers"]

    def expected(secret: str, payload: bytes) -> str:
        return "v1=" + hmac.new(secret.encode(), ts.encode() + b"." + payload, hashlib.sha256).hexdigest()

    assert rec["signature_ok"] is True, "the handler's own check (same secret) passed"
    assert hmac.compare_digest(sig, expected(WEBHOOK_SECRET, body))
    assert not hmac.compare_digest(sig, expected(WEBHOOK_SECRET + "x", body)), "a wrong secret must not verify"
    assert not hmac.compare_digest(sig, expected(WEBHOOK_SECRET, body.replace(b"sign", b"sigm"))), "body is covered"


def test_handler_with_wrong_secret_rejects_and_fallback_applies(rclient, rjoin, tmp_path):
    wrong = HandlerProcess("--secret", "not-" + WEBHOOK_SECRET, log_path=tmp_path / "wrong.log")
    try:
        room = make_room(rclient, wrong.url(), "DENY")
        sender, _ = rjoin(room)
        watcher, _ = rjoin(room, capabilities=())
        send_message(sender, "signed with another secret", "r-wrong")
        assert_error(recv_frame(sender), 406, "r-wrong")
        assert_silent(watcher)
        (rec,) = wrong.requests(room["arn"])
        assert rec["signature_ok"] is False
    finally:
        wrong.stop()


# ====================================================================== 6. isolation between rooms


def test_slow_review_in_one_room_does_not_delay_another(rclient, rjoin, handler):
    room_a = make_room(rclient, handler.url("slow"), "ALLOW")
    room_b = make_room(rclient)  # no handler
    sender_a, _ = rjoin(room_a)
    sender_b, _ = rjoin(room_b)
    t_a = time.monotonic()
    send_message(sender_a, "waiting on review", "r-a")
    send_message(sender_b, "no review here", "r-b")
    frame_b, at_b = timed_frame(sender_b)
    assert_message(frame_b, content="no review here", request_id="r-b")
    assert at_b - t_a < 0.15, f"room B's message took {at_b - t_a:.3f}s while room A's review was pending"
    assert_silent(sender_a)  # A's review is still pending: B was delivered before A's outcome
    frame_a, at_a = timed_frame(sender_a)
    assert_message(frame_a, content="waiting on review", request_id="r-a")  # fallback ALLOW
    assert at_a - t_a >= FALLBACK_WINDOW_S[0]


SLOW_SENDERS = 24


def test_many_slow_reviews_do_not_starve_another_rooms_handler(rclient, rjoin, handler):
    """Room A has 24 reviews pending on a slow handler; room B's fast handler on the same host must still answer in
    time: B receives the handler's rewrite (not its fallback), promptly. An HTTP client whose small per-host
    connection pool is shared by every room lets one slow room starve the others."""
    room_a = make_room(rclient, handler.url("slow"), "ALLOW", maximumMessageRatePerSecond=100)
    room_b = make_room(rclient, handler.url("rewrite"), "ALLOW")
    # Each A connection receives all of A's messages; an unbounded queue lets it close without reading them all.
    senders_a = [rjoin(room_a, ws_kwargs={"max_queue": None})[0] for _ in range(SLOW_SENDERS)]
    sender_b, _ = rjoin(room_b)
    sent_a = time.monotonic()
    for i, ws in enumerate(senders_a):
        send_message(ws, f"slow {i}", f"r-a{i}")
    # B sends once A's reviews are under way (bounded poll, no fixed sleep) and while none has finished.
    while not handler.requests(room_a["arn"]) and time.monotonic() - sent_a < 1.0:
        time.sleep(0.005)
    assert handler.requests(room_a["arn"]), "room A's handler was never called"
    assert_silent(senders_a[0])
    started = time.monotonic()
    send_message(sender_b, "fast please", "r-b")
    frame_b, at_b = timed_frame(sender_b)
    in_flight = len(handler.requests(room_a["arn"]))
    assert frame_b["Type"] == "MESSAGE", frame_b
    assert frame_b["Content"] == "[reviewed] fast please", (
        f"room B got its fallback ({frame_b['Content']!r}) after {at_b - started:.3f}s: its review queued behind room "
        f"A's slow ones (the handler has seen {in_flight}/{SLOW_SENDERS} of A's, "
        f"{len(handler.requests(room_b['arn']))} of B's)"
    )
    # B was reviewed and delivered while A's reviews were still pending (with a shared, saturated pool B only gets
    # a connection once A's calls time out, so A's fallback outcomes would already be here).
    try:
        early = senders_a[0].recv(timeout=0)
    except TimeoutError:
        early = None
    assert early is None, (
        f"room A's outcome {early[:120]!r} came before room B's reviewed message ({at_b - started:.3f}s after B sent): "
        f"B's review waited for A's slow ones"
    )
    # Every connection of room A gets all of A's messages (fallback ALLOW: the originals).
    got = {recv_frame(senders_a[0], 5)["RequestId"] for _ in senders_a}
    assert got == {f"r-a{i}" for i in range(SLOW_SENDERS)}, got


# ====================================================================== 7. Lambda functions


def lambda_record(handler: HandlerProcess, room_arn: str, function_arn: str = LAMBDA_ARN) -> dict[str, Any]:
    records = handler.requests(room_arn)
    assert records, "the Lambda endpoint got no Invoke"
    rec = records[-1]
    assert rec["kind"] == "lambda", rec["path"]
    assert rec["path"] == "/2015-03-31/functions/" + quote(function_arn, safe="") + "/invocations", rec["path"]
    assert rec["function"] == function_arn
    return rec


def test_lambda_allow_and_sigv4(rclient, rjoin, handler):
    room = make_room(rclient, LAMBDA_ARN, "DENY")
    sender, sender_id = rjoin(room, attributes={"tier": "gold"})
    watcher, _ = rjoin(room, capabilities=())
    send_message(sender, "hello lambda", "r-l1", {"k": "v"})
    frame = recv_frame(sender)
    assert_message(frame, content="hello lambda", request_id="r-l1", attributes={"k": "v"})
    assert_message(recv_frame(watcher), content="hello lambda", request_id="r-l1")
    rec = lambda_record(handler, room["arn"])
    sig = rec["sigv4"]
    assert sig["scope"].endswith("/us-east-1/lambda/aws4_request"), sig
    assert sig["access_key"] == LAMBDA_KEY_ID, sig
    assert "host" in sig["signed_headers"] and "x-amz-date" in sig["signed_headers"], sig
    assert sig["ok"], f"SigV4 signature does not verify: {sig}"
    payload = rec["json"]
    assert payload["MessageId"] == frame["Id"] and payload["RoomArn"] == room["arn"], payload
    assert payload["Sender"] == {"Attributes": {"tier": "gold"}, "UserId": sender_id, "Ip": "127.0.0.1"}, payload


def test_lambda_rewrite_and_deny(rclient, rjoin, handler):
    room = make_room(rclient, LAMBDA_ARN, "ALLOW")
    sender, _ = rjoin(room)
    watcher, _ = rjoin(room, capabilities=())
    send_message(sender, "rewrite:from lambda", "r-l2")
    for ws in (sender, watcher):
        assert_message(recv_frame(ws), content="[reviewed] from lambda", request_id="r-l2", attributes={"reviewed": "true"})
    send_message(sender, "deny:Lambda says no", "r-l3")
    expect_denied(sender, "r-l3", [watcher], reason="Lambda says no")
    assert all(r["sigv4"]["ok"] for r in handler.requests(room["arn"]))


def test_lambda_region_comes_from_the_arn(rclient, rjoin, handler):
    arn = "arn:aws:lambda:eu-west-1:123456789012:function:review-eu"
    room = make_room(rclient, arn, "DENY")
    sender, _ = rjoin(room)
    send_message(sender, "bonjour", "r-eu")
    assert_message(recv_frame(sender), content="bonjour", request_id="r-eu")
    sig = lambda_record(handler, room["arn"], arn)["sigv4"]
    assert sig["scope"].endswith("/eu-west-1/lambda/aws4_request") and sig["ok"], sig


@pytest.mark.parametrize("fallback", ["ALLOW", "DENY"])
def test_lambda_function_error_gets_fallback(rclient, rjoin, handler, fallback):
    """The function-error answer's body is a valid rewrite: only X-Amz-Function-Error makes it a failure."""
    room = make_room(rclient, LAMBDA_ARN, fallback)
    sender, _ = rjoin(room)
    watcher, _ = rjoin(room, capabilities=())
    send_message(sender, "funcerror:boom", "r-fe", {"orig": "1"})
    if fallback == "ALLOW":
        for ws in (sender, watcher):
            assert_message(recv_frame(ws), content="funcerror:boom", request_id="r-fe", attributes={"orig": "1"})
    else:
        expect_denied(sender, "r-fe", [watcher])
    lambda_record(handler, room["arn"])


# ====================================================================== 8. builtin:blocked-terms


def test_blocked_terms_mask_and_deny(start_server, handler, tmp_path):
    terms = tmp_path / "terms.json"
    terms.write_text(json.dumps(DEFAULT_TERMS))
    srv = start_server(**review_env(handler, terms))
    cl = srv.client()
    mask_room = make_room(cl, "builtin:blocked-terms", "ALLOW")
    deny_room = make_room(cl, "builtin:blocked-terms", "ALLOW")
    # Room lists are keyed by room id, so the file names the room now; the server reads it at start.
    terms.write_text(json.dumps({**DEFAULT_TERMS, "rooms": {deny_room["id"]: {"action": "deny", "terms": ["spoiler"]}}}))
    srv.restart()
    cl = srv.client()  # a restarted server listens on a new port
    opened = []
    try:
        def join(room, **kw):
            ws = ws_connect(srv, chat_token(cl, room, unique("user"), **kw))
            opened.append(ws)
            return ws

        sender, watcher = join(mask_room), join(mask_room, capabilities=())
        send_message(sender, "Well darn it, DARN! darnit frooob fr00b", "r-mask", {"a": "b"})
        for ws in (sender, watcher):
            assert_message(recv_frame(ws), content="Well **** it, ****! darnit ****** *****", request_id="r-mask",
                           attributes={"a": "b"})
        send_message(sender, "nothing to hide here", "r-clean")
        assert_message(recv_frame(sender), content="nothing to hide here", request_id="r-clean")

        sender, watcher = join(deny_room), join(deny_room, capabilities=())
        send_message(sender, "huge SPOILER ahead", "r-spoil")
        expect_denied(sender, "r-spoil", [watcher])
        send_message(sender, "spoilers are a different word", "r-spoilers")
        for ws in (sender, watcher):
            assert_message(recv_frame(ws), content="spoilers are a different word", request_id="r-spoilers")
    finally:
        for ws in opened:
            ws.close()
    assert handler.requests(mask_room["arn"]) == [] and handler.requests(deny_room["arn"]) == [], "no HTTP call"


# ====================================================================== 9. UpdateRoom attaches, detaches, changes


def test_update_room_detach_stops_calling_the_handler(rclient, rjoin, handler):
    room = make_room(rclient, handler.url(), "DENY")
    sender, _ = rjoin(room)
    watcher, _ = rjoin(room, capabilities=())
    send_message(sender, "deny:not yet", "r-before")
    expect_denied(sender, "r-before", [watcher], reason="not yet")
    calls = len(handler.requests(room["arn"]))
    updated = rclient.update_room(identifier=room["arn"], messageReviewHandler={"uri": ""})
    assert not (updated.get("messageReviewHandler") or {}).get("uri"), updated
    assert not (rclient.get_room(identifier=room["arn"]).get("messageReviewHandler") or {}).get("uri")
    # The same live connections: the change applies at once.
    send_message(sender, "deny:now it passes", "r-after")
    for ws in (sender, watcher):
        assert_message(recv_frame(ws), content="deny:now it passes", request_id="r-after")
    assert len(handler.requests(room["arn"])) == calls, "the handler was called after it was detached"


def test_update_room_attach_applies_to_live_connections(rclient, rjoin, handler):
    room = make_room(rclient)
    sender, _ = rjoin(room)
    send_message(sender, "rewrite:untouched", "r-1")
    assert_message(recv_frame(sender), content="rewrite:untouched", request_id="r-1")
    rclient.update_room(identifier=room["arn"], messageReviewHandler={"uri": handler.url(), "fallbackResult": "DENY"})
    send_message(sender, "rewrite:touched", "r-2")
    assert_message(recv_frame(sender), content="[reviewed] touched", request_id="r-2")


def test_update_room_fallback_only_keeps_the_uri(rclient, rjoin, handler):
    room = make_room(rclient, handler.url(), "ALLOW")
    sender, _ = rjoin(room)
    send_message(sender, "error500:first", "r-1")
    assert_message(recv_frame(sender), content="error500:first", request_id="r-1")
    updated = rclient.update_room(identifier=room["arn"], messageReviewHandler={"fallbackResult": "DENY"})
    assert updated["messageReviewHandler"] == {"uri": handler.url(), "fallbackResult": "DENY"}, updated
    send_message(sender, "error500:second", "r-2")
    assert_error(recv_frame(sender), 406, "r-2")
    assert len(handler.requests(room["arn"])) == 2


# ====================================================================== 10. sender address behind a proxy


def test_forwarded_for_is_believed_only_from_trusted_proxies(parley_binary, tmp_path, handler, rsrv, rclient, rjoin):
    """The Sender.Ip a handler sees is the X-Forwarded-For client only when the peer is a configured proxy."""
    # setup: a second server that trusts 127.0.0.1 as its reverse proxy
    terms = tmp_path / "terms.json"
    terms.write_text(json.dumps(DEFAULT_TERMS))
    trusting = ParleyServer(
        binary=parley_binary, data_dir=tmp_path / "data", log_dir=tmp_path / "logs",
        extra_env={**review_env(handler, terms), "PARLEY_TRUSTED_PROXIES": "127.0.0.1"},
    ).start()
    try:
        trusting_client = trusting.client()
        forwarded = {"X-Forwarded-For": "203.0.113.9, 127.0.0.1"}
        for srv, cl, expected in ((trusting, trusting_client, "203.0.113.9"), (rsrv, rclient, "127.0.0.1")):
            room = make_room(cl, handler.url(), "ALLOW")
            # act
            sender, _ = rjoin(room, srv=srv, cl=cl, ws_kwargs={"additional_headers": forwarded})
            send_message(sender, "where am I", "r-ip")
            recv_frame(sender)
            # verify
            records = handler.requests(room["arn"])
            assert [r["json"]["Sender"]["Ip"] for r in records] == [expected], records
    finally:
        trusting.stop(check=True)
