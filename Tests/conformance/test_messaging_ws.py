"""The WebSocket messaging API (SPEC sections 3-4 and 8): admission, frames, errors, moderation, limits."""

from __future__ import annotations

import base64
import json
import os
import threading
import time

import pytest

from parley_support import (
    ID_RE,
    assert_error,
    assert_event,
    assert_message,
    chat_token,
    now_utc,
    raises_aws,
    raw_ws_handshake,
    recv_frame,
    recv_until,
    recv_until_closed,
    send_json,
    send_message,
    unique,
    ws_connect,
    ws_refused,
)
from botocore.exceptions import ClientError
from websockets.exceptions import ConnectionClosed

RECEIVE_ONLY: tuple[str, ...] = ()


def is_message(request_id: str):
    return lambda f: f.get("Type") == "MESSAGE" and f.get("RequestId") == request_id


def round_trip(ws, content: str = "still here", request_id: str | None = None) -> dict:
    """Send a valid message on `ws` and receive its echo: proof the connection is still open and working."""
    request_id = request_id or unique("alive")
    send_message(ws, content, request_id)
    frame, _ = recv_until(ws, is_message(request_id))
    assert_message(frame, content=content, request_id=request_id)
    return frame


# ====================================================================== admission


def test_connect_echoes_token_and_sends_no_hello(new_room, join):
    room = new_room()
    listener, _ = join(room, capabilities=RECEIVE_ONLY)  # ws_connect asserts 101 + echoed subprotocol
    speaker, speaker_id = join(room, capabilities=["SEND_MESSAGE"])
    send_message(speaker, "first", "r-first")
    # Nothing came before this message: there is no hello frame.
    first = recv_frame(listener)
    assert_message(first, content="first", request_id="r-first", user_id=speaker_id)


def test_message_right_after_handshake_is_delivered(start_server, join):
    """No hello frame: a client counts itself connected once the handshake completes, so a message
    sent after that moment must reach it (the server must not admit first and register later)."""
    srv = start_server(PARLEY_CONNECTION_REQUEST_RATE=1000)
    cl = srv.client()
    room = cl.create_room(name=unique("join-race"), maximumMessageRatePerSecond=100)
    sender, _ = join(room, capabilities=["SEND_MESSAGE"], srv=srv, cl=cl)
    missed = []
    for i in range(100):
        newcomer, _ = join(room, capabilities=RECEIVE_ONLY, srv=srv, cl=cl)
        send_message(sender, f"welcome {i}", f"w{i}")
        recv_until(sender, is_message(f"w{i}"))
        try:
            first = json.loads(newcomer.recv(timeout=2))
        except TimeoutError:
            missed.append(i)
        else:
            assert first.get("RequestId") == f"w{i}", f"unexpected first frame {first}"
        newcomer.close()
    assert not missed, f"{len(missed)} of 100 clients missed the message sent right after their handshake: {missed}"


def test_refused_without_token(server):
    ws_refused(server, None, 401)


@pytest.mark.parametrize(
    "token",
    [
        "garbled",
        "x" * 40,
        base64.urlsafe_b64encode(os.urandom(160)).decode().rstrip("="),
    ],
    ids=["word", "repeated", "random-base64url"],
)
def test_refused_garbled_token(server, token):
    ws_refused(server, token, 401)


def test_refused_forged_token(server, client, new_room, open_ws):
    room = new_room()
    token = chat_token(client, room, "forger")
    mid = len(token) // 2
    forged = token[:mid] + ("A" if token[mid] != "A" else "B") + token[mid + 1 :]
    ws_refused(server, forged, 401)
    ws_refused(server, token + "AAAA", 401)
    ws_refused(server, token[:-4], 401)
    # The genuine token was not spent by those attempts.
    open_ws(token)


def test_refused_token_of_another_server(server, start_server):
    other = start_server()
    other_client = other.client()
    foreign = chat_token(other_client, other_client.create_room(name=unique("other")), "stranger")
    # Another server's key: the token is unreadable here (401), not merely for an unknown room (404).
    ws_refused(server, foreign, 401)


def test_refused_expired_token(start_server, open_ws):
    srv = start_server(PARLEY_TOKEN_LIFETIME_SECONDS=1)
    cl = srv.client()
    room = cl.create_room(name=unique("expiry"))
    fresh = cl.create_chat_token(roomIdentifier=room["arn"], userId="early")
    open_ws(fresh["token"], srv)  # a fresh token connects
    stale = cl.create_chat_token(roomIdentifier=room["arn"], userId="late")
    expires = stale["tokenExpirationTime"]
    assert (expires - now_utc()).total_seconds() <= 1.5, f"token lifetime setting ignored: {expires}"
    # Expiry is wall-clock: wait (bounded) until it has passed.
    deadline = time.monotonic() + 3.0
    while (now_utc() - expires).total_seconds() <= 0.1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert now_utc() > expires
    ws_refused(srv, stale["token"], 401)


def test_token_works_once(server, client, new_room, open_ws):
    room = new_room()
    token = chat_token(client, room, "once")
    first = open_ws(token)
    ws_refused(server, token, 401)  # while the first connection is open
    first.close()
    ws_refused(server, token, 401)  # and after it closed


def test_token_works_once_across_restart(start_server, open_ws):
    srv = start_server()
    cl = srv.client()
    room = cl.create_room(name=unique("restart"))
    used = chat_token(cl, room, "used")
    unused = chat_token(cl, room, "unused")
    open_ws(used, srv).close()
    srv.restart()
    ws_refused(srv, used, 401)
    # Tokens issued before the restart are still readable (the server key persists).
    ws = open_ws(unused, srv)
    assert ws.subprotocol == unused


def test_refused_for_deleted_room(server, client, new_room):
    room = new_room()
    token = chat_token(client, room, "late")
    client.delete_room(identifier=room["arn"])
    ws_refused(server, token, 404)


def test_connection_quota(start_server, open_ws):
    srv = start_server(PARLEY_MAX_CONNECTIONS=2)
    cl = srv.client()
    room = cl.create_room(name=unique("quota"))
    first = open_ws(chat_token(cl, room, "a"), srv)
    open_ws(chat_token(cl, room, "b"), srv)
    ws_refused(srv, chat_token(cl, room, "c"), 429)
    # Closing one frees a slot (the server may take a moment to notice the close).
    first.close()
    deadline = time.monotonic() + 5
    while True:
        token = chat_token(cl, room, "d")
        try:
            open_ws(token, srv)
            break
        except Exception as e:  # InvalidStatus 429 until the slot is released
            status = getattr(getattr(e, "response", None), "status_code", None)
            assert status == 429, f"unexpected refusal {e!r}"
            assert time.monotonic() < deadline, "slot never released after a connection closed"
            time.sleep(0.05)


# ====================================================================== SEND_MESSAGE


def test_message_broadcast_to_everyone_including_sender(new_room, join):
    room = new_room()
    sender_attrs = {"displayName": "Ana", "role": "host"}
    sender, sender_id = join(room, capabilities=["SEND_MESSAGE"], attributes=sender_attrs)
    watcher, _ = join(room, capabilities=RECEIVE_ONLY)
    send_json(sender, {"Action": "SEND_MESSAGE", "RequestId": "r1", "Content": "hi", "Attributes": {"k": "v"}})
    got_sender = recv_frame(sender)
    got_watcher = recv_frame(watcher)
    for frame in (got_sender, got_watcher):
        assert_message(
            frame, content="hi", request_id="r1", attributes={"k": "v"}, user_id=sender_id,
            sender_attributes=sender_attrs,
        )
    assert got_sender == got_watcher, "every connection gets the same MESSAGE"


def test_message_raw_key_order(new_room, join):
    room = new_room()
    sender, _ = join(room, capabilities=["SEND_MESSAGE"])
    send_message(sender, "order", "r-order")
    raw = sender.recv(timeout=5)
    assert isinstance(raw, str)
    assert raw.startswith('{"Type":"MESSAGE","Id":"'), raw[:200]
    positions = [raw.find(f'"{k}":') for k in ("Type", "Id", "RequestId", "Attributes", "Content", "SendTime", "Sender")]
    assert all(p >= 0 for p in positions) and positions == sorted(positions), raw


def test_message_defaults_when_optional_fields_absent(new_room, join):
    room = new_room()
    sender, sender_id = join(room, capabilities=["SEND_MESSAGE"])
    send_json(sender, {"Action": "SEND_MESSAGE", "Content": "bare"})
    frame = recv_frame(sender)
    # Every key is always present: no RequestId is "", no attributes is {}.
    assert_message(frame, content="bare", request_id="", attributes={}, user_id=sender_id, sender_attributes={})


def test_message_ids_unique(new_room, join):
    room = new_room()
    sender, _ = join(room, capabilities=["SEND_MESSAGE"])
    for i in range(3):
        send_message(sender, f"m{i}", f"r{i}")
    frames = [recv_frame(sender) for _ in range(3)]
    assert [f["RequestId"] for f in frames] == ["r0", "r1", "r2"]
    assert len({f["Id"] for f in frames}) == 3


def test_request_keys_case_insensitive_unknown_ignored(new_room, join):
    room = new_room()
    sender, sender_id = join(room, capabilities=["SEND_MESSAGE"])
    send_json(sender, {"action": "SEND_MESSAGE", "REQUESTID": "r-case", "content": "lower", "aTTributes": {"a": "b"},
                       "Unknown": 42, "Extra": {"nested": True}})
    assert_message(recv_frame(sender), content="lower", request_id="r-case", attributes={"a": "b"}, user_id=sender_id)


def test_send_without_capability_is_403_to_requester_only(new_room, join):
    room = new_room()
    mute, _ = join(room, capabilities=["DELETE_MESSAGE", "DISCONNECT_USER"])
    watcher, _ = join(room, capabilities=RECEIVE_ONLY)
    speaker, _ = join(room, capabilities=["SEND_MESSAGE"])
    send_message(mute, "let me speak", "r-mute")
    assert_error(recv_frame(mute), 403, "r-mute")
    send_message(speaker, "after", "r-after")
    # The watcher's next frame is the speaker's message: the ERROR went to the requester only.
    assert_message(recv_frame(watcher), content="after", request_id="r-after")
    # The refused connection is still open and still receives.
    assert_message(recv_frame(mute), content="after", request_id="r-after")


def test_moderation_without_capability_is_403(new_room, join):
    room = new_room()
    plain, plain_id = join(room, capabilities=["SEND_MESSAGE"])
    msg = round_trip(plain, "mine")
    send_json(plain, {"Action": "DELETE_MESSAGE", "RequestId": "r-del", "Id": msg["Id"], "Reason": "oops"})
    assert_error(recv_frame(plain), 403, "r-del")
    send_json(plain, {"Action": "DISCONNECT_USER", "RequestId": "r-dis", "UserId": plain_id, "Reason": "x"})
    assert_error(recv_frame(plain), 403, "r-dis")
    round_trip(plain)


@pytest.mark.parametrize("content", ["héllo", "🎉🎉🎉🎉🎉", "hello", "a", "👍🏽👍🏽a"])
def test_content_up_to_max_length_code_points(new_room, join, content):
    room = new_room(maximumMessageLength=5)
    sender, _ = join(room, capabilities=["SEND_MESSAGE"])
    send_message(sender, content, "r-fit")
    assert_message(recv_frame(sender), content=content, request_id="r-fit")


@pytest.mark.parametrize("content", ["hélloo", "🎉🎉🎉🎉🎉🎉", "e\u0301e\u0301e\u0301", "x" * 501])
def test_content_over_max_length_is_400(new_room, join, content):
    room = new_room(maximumMessageLength=5)
    sender, _ = join(room, capabilities=["SEND_MESSAGE"])
    watcher, _ = join(room, capabilities=RECEIVE_ONLY)
    send_message(sender, content, "r-long")
    assert_error(recv_frame(sender), 400, "r-long")
    alive = round_trip(sender, "ok")
    # The watcher never saw the rejected message.
    assert recv_frame(watcher) == alive


def test_attributes_size_limit(new_room, join):
    room = new_room()
    sender, _ = join(room, capabilities=["SEND_MESSAGE"])
    at_limit = {"key": "v" * (1024 - 3)}
    utf8_at_limit = {"k": "€" * 341}  # 1 + 1023 bytes
    send_message(sender, "a", "r-ok1", at_limit)
    assert_message(recv_frame(sender), request_id="r-ok1", attributes=at_limit)
    send_message(sender, "b", "r-ok2", utf8_at_limit)
    assert_message(recv_frame(sender), request_id="r-ok2", attributes=utf8_at_limit)
    send_message(sender, "c", "r-big1", {"key": "v" * (1025 - 3)})
    assert_error(recv_frame(sender), 413, "r-big1")
    send_message(sender, "d", "r-big2", {"k": "€" * 342})  # 1027 bytes, 343 code points
    assert_error(recv_frame(sender), 413, "r-big2")
    send_message(sender, "e", "r-big3", {f"k{i:02d}": "v" * 97 for i in range(11)})  # 11 * 100 bytes
    assert_error(recv_frame(sender), 413, "r-big3")
    round_trip(sender)


def test_malformed_requests_are_400(new_room, join):
    room = new_room()
    sender, _ = join(room, capabilities=["SEND_MESSAGE", "DELETE_MESSAGE", "DISCONNECT_USER"])
    cases = [
        ("not json at all", ""),  # unreadable: RequestId is ""
        ('{"Action":"SEND_MESSAGE","Content":"unterminated', ""),
        ("[1, 2, 3]", ""),
        ('{"Action":"SHOUT","RequestId":"r-unknown","Content":"x"}', "r-unknown"),
        ('{"Action":"SEND_MESSAGE","RequestId":"r-nocontent"}', "r-nocontent"),
        ('{"RequestId":"r-noaction","Content":"x"}', "r-noaction"),
    ]
    for text, request_id in cases:
        sender.send(text)
        frame = recv_frame(sender)
        assert_error(frame, 400, request_id)
    round_trip(sender)


def test_binary_frame_is_400(new_room, join):
    room = new_room()
    sender, _ = join(room, capabilities=["SEND_MESSAGE"])
    sender.send(json.dumps({"Action": "SEND_MESSAGE", "RequestId": "r-bin", "Content": "x"}).encode())
    frame = recv_frame(sender)
    assert_error(frame, 400)
    round_trip(sender)


def test_frame_over_64kib_closes_1009(new_room, join):
    room = new_room()
    sender, _ = join(room, capabilities=["SEND_MESSAGE"])
    bystander, _ = join(room, capabilities=["SEND_MESSAGE"])
    # Just under the frame limit: an ordinary 400 (content too long), connection open.
    near = base64.b64encode(os.urandom(45_000)).decode()  # 60,000 chars, incompressible
    send_message(sender, near, "r-near")
    assert_error(recv_frame(sender), 400, "r-near")
    round_trip(sender)
    # Over it: the connection is closed with 1009 (message too big).
    big = base64.b64encode(os.urandom(51_000)).decode()  # 68,000 chars
    send_message(sender, big, "r-big")
    _, code, _ = recv_until_closed(sender)
    assert code == 1009, f"closed with {code}, expected 1009"
    round_trip(bystander)


# ====================================================================== moderation over the socket


def test_delete_message_event(new_room, join):
    room = new_room()
    author, _ = join(room, capabilities=["SEND_MESSAGE"])
    moderator, _ = join(room, capabilities=["DELETE_MESSAGE"])
    watcher, _ = join(room, capabilities=RECEIVE_ONLY)
    msg = round_trip(author, "regrettable")
    for ws in (moderator, watcher):
        assert recv_frame(ws)["Id"] == msg["Id"]
    send_json(moderator, {"Action": "DELETE_MESSAGE", "RequestId": "r-del", "Id": msg["Id"], "Reason": "off topic"})
    expected = {"MessageID": msg["Id"], "MessageId": msg["Id"], "Reason": "off topic"}
    mod_event = recv_frame(moderator)
    assert_event(mod_event, name="aws:DELETE_MESSAGE", attributes=expected, request_id="r-del")
    for ws in (author, watcher):
        event = recv_frame(ws)
        assert_event(event, name="aws:DELETE_MESSAGE", attributes=expected)
        assert event["Id"] == mod_event["Id"]


def test_delete_message_bad_id_is_400(new_room, join):
    room = new_room()
    moderator, _ = join(room, capabilities=["SEND_MESSAGE", "DELETE_MESSAGE"])
    send_json(moderator, {"Action": "DELETE_MESSAGE", "RequestId": "r-badid", "Id": "not-an-id", "Reason": "x"})
    assert_error(recv_frame(moderator), 400, "r-badid")
    round_trip(moderator)


def test_disconnect_user_over_socket(new_room, join):
    room = new_room()
    moderator, _ = join(room, capabilities=["SEND_MESSAGE", "DISCONNECT_USER"])
    victim_id = unique("victim")
    victim_a, _ = join(room, victim_id, capabilities=["SEND_MESSAGE"])
    victim_b, _ = join(room, victim_id, capabilities=RECEIVE_ONLY)
    bystander, _ = join(room, capabilities=RECEIVE_ONLY)
    send_json(moderator, {"Action": "DISCONNECT_USER", "RequestId": "r-kick", "UserId": victim_id, "Reason": "spam"})
    expected = {"UserId": victim_id, "Reason": "spam"}
    assert_event(recv_frame(moderator), name="aws:DISCONNECT_USER", attributes=expected, request_id="r-kick")
    assert_event(recv_frame(bystander), name="aws:DISCONNECT_USER", attributes=expected)
    for ws in (victim_a, victim_b):
        frames, code, _ = recv_until_closed(ws)
        assert [f["EventName"] for f in frames if f.get("Type") == "EVENT"] == ["aws:DISCONNECT_USER"], frames
        assert code == 1001, f"victim closed with {code}, expected 1001"
    # Everyone else stays connected.
    alive = round_trip(moderator, "order restored")
    assert recv_frame(bystander) == alive


# ====================================================================== control plane on live rooms


def test_control_plane_send_event_reaches_clients(client, new_room, join):
    room = new_room()
    a, _ = join(room, capabilities=RECEIVE_ONLY)
    b, _ = join(room, capabilities=["SEND_MESSAGE"])
    resp = client.send_event(roomIdentifier=room["arn"], eventName="app:poll-started", attributes={"question": "tea?"})
    for ws in (a, b):
        event = recv_frame(ws)
        assert_event(event, name="app:poll-started", attributes={"question": "tea?"}, request_id="")
        assert event["Id"] == resp["id"], "the EVENT carries the id SendEvent returned"
    client.send_event(roomIdentifier=room["arn"], eventName="app:no-attrs")
    assert_event(recv_frame(a), name="app:no-attrs", attributes={})


def test_control_plane_delete_message_reaches_clients(client, new_room, join):
    room = new_room()
    author, _ = join(room, capabilities=["SEND_MESSAGE"])
    watcher, _ = join(room, capabilities=RECEIVE_ONLY)
    msg = round_trip(author, "oops")
    assert recv_frame(watcher)["Id"] == msg["Id"]
    client.delete_message(roomIdentifier=room["arn"], id=msg["Id"], reason="cleanup")
    expected = {"MessageID": msg["Id"], "MessageId": msg["Id"], "Reason": "cleanup"}
    for ws in (author, watcher):
        assert_event(recv_frame(ws), name="aws:DELETE_MESSAGE", attributes=expected)


def test_control_plane_disconnect_user_closes_sockets(client, new_room, join):
    room = new_room()
    victim, victim_id = join(room, capabilities=["SEND_MESSAGE"])
    other, _ = join(room, capabilities=["SEND_MESSAGE"])
    client.disconnect_user(roomIdentifier=room["arn"], userId=victim_id, reason="timeout")
    expected = {"UserId": victim_id, "Reason": "timeout"}
    frames, code, _ = recv_until_closed(victim)
    assert len(frames) == 1, frames
    assert_event(frames[0], name="aws:DISCONNECT_USER", attributes=expected)
    assert code == 1001, f"victim closed with {code}, expected 1001"
    assert_event(recv_frame(other), name="aws:DISCONNECT_USER", attributes=expected)
    round_trip(other)


# ====================================================================== limits


def test_per_connection_request_rate(new_room, join):
    room = new_room(maximumMessageRatePerSecond=100)
    sender, _ = join(room, capabilities=["SEND_MESSAGE"])
    for i in range(11):
        send_message(sender, f"burst {i}", f"r{i}")
    frames = [recv_frame(sender) for _ in range(11)]
    delivered = [f["RequestId"] for f in frames if f["Type"] == "MESSAGE"]
    errors = [f for f in frames if f["Type"] == "ERROR"]
    assert delivered == [f"r{i}" for i in range(10)], frames
    assert len(errors) == 1, frames
    assert_error(errors[0], 429, "r10")
    # Still open: once the rate window allows it, a message goes through.
    deadline = time.monotonic() + 3
    while True:
        time.sleep(0.15)  # waiting out the per-second rate window is the point here
        send_message(sender, "later", "r-later")
        frame = recv_frame(sender)
        if frame["Type"] == "MESSAGE":
            assert_message(frame, request_id="r-later")
            break
        assert_error(frame, 429, "r-later")
        assert time.monotonic() < deadline, "still throttled after 3 s"


def outcomes_of(requests: list[tuple[object, set[str]]]) -> dict[str, str]:
    """For each (connection, its RequestIds): read that connection until each request is answered
    (its MESSAGE echo or its ERROR, which must be 429); returns RequestId -> Type."""
    outcome: dict[str, str] = {}
    for ws, mine in requests:
        while not mine <= outcome.keys():
            frame = recv_frame(ws)
            if frame["RequestId"] not in mine:
                continue  # another connection's message, broadcast here
            if frame["Type"] == "ERROR":
                assert_error(frame, 429)
            outcome[frame["RequestId"]] = frame["Type"]
    return outcome


def test_room_message_rate(new_room, join):
    room = new_room(maximumMessageRatePerSecond=2)
    a, _ = join(room, capabilities=["SEND_MESSAGE"])
    b, _ = join(room, capabilities=["SEND_MESSAGE"])
    send_message(a, "one", "a1")
    send_message(a, "two", "a2")
    send_message(b, "three", "b1")
    outcome = outcomes_of([(a, {"a1", "a2"}), (b, {"b1"})])
    assert sorted(outcome.values()) == ["ERROR", "MESSAGE", "MESSAGE"], outcome


def test_update_room_applies_to_live_room(client, new_room, join):
    room = new_room()
    sender, _ = join(room, capabilities=["SEND_MESSAGE"])
    round_trip(sender, "ten chars!")
    client.update_room(identifier=room["arn"], maximumMessageLength=5)
    send_message(sender, "ten chars!", "r-now-long")
    assert_error(recv_frame(sender), 400, "r-now-long")
    round_trip(sender, "short")


def test_global_send_event_rate(start_server):
    srv = start_server(PARLEY_SEND_EVENT_RATE=2)
    room = srv.client().create_room(name=unique("events"))
    burst = 10
    no_retries = srv.client(max_attempts=1)  # boto3 clients are thread-safe; its pool holds 10 connections
    results: list[object] = [None] * burst

    def call(i):
        try:
            results[i] = no_retries.send_event(roomIdentifier=room["arn"], eventName=f"e{i}")
        except Exception as e:  # sorted out below
            results[i] = e

    # A burst of 10 at once against a limit of 2 a second.
    threads = [threading.Thread(target=call, args=(i,)) for i in range(burst)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    elapsed = time.monotonic() - start
    ok = [r for r in results if isinstance(r, dict)]
    throttled = [r for r in results if not isinstance(r, dict)]
    assert len(ok) >= 1 and len(ok) <= 2 + int(2 * elapsed) + 1, (
        f"{len(ok)} of {burst} accepted in {elapsed:.2f}s with a limit of 2/s: {results}"
    )
    assert throttled, f"no SendEvent throttled in a burst of {burst} ({elapsed:.2f}s)"
    for err in throttled:
        assert isinstance(err, ClientError), err
        assert err.response["Error"]["Code"] == "ThrottlingException", err.response
        assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 429, err.response
        assert err.response["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-errortype", "").startswith("ThrottlingException")


def test_global_send_message_rate_across_rooms(start_server, join):
    srv = start_server(PARLEY_SEND_MESSAGE_RATE=2)
    cl = srv.client()
    room1 = cl.create_room(name=unique("global1"))
    room2 = cl.create_room(name=unique("global2"))
    a, _ = join(room1, capabilities=["SEND_MESSAGE"], srv=srv, cl=cl)
    b, _ = join(room2, capabilities=["SEND_MESSAGE"], srv=srv, cl=cl)
    send_message(a, "one", "a1")
    send_message(a, "two", "a2")
    send_message(b, "three", "b1")
    # Two rooms, each far under its own rate: the third message in the burst hits the global 2/s.
    outcome = outcomes_of([(a, {"a1", "a2"}), (b, {"b1"})])
    assert sorted(outcome.values()) == ["ERROR", "MESSAGE", "MESSAGE"], outcome


# ====================================================================== deleted rooms


def test_deleted_room_keeps_clients_but_refuses_actions(client, new_room, join):
    room = new_room()
    sender, _ = join(room, capabilities=["SEND_MESSAGE"])
    round_trip(sender, "before")
    client.delete_room(identifier=room["arn"])
    send_message(sender, "after", "r-gone")
    assert_error(recv_frame(sender), 404, "r-gone")
    # Still connected (IVS does not drop clients of a deleted room): it keeps answering.
    send_message(sender, "again", "r-gone2")
    assert_error(recv_frame(sender), 404, "r-gone2")
    with raises_aws("ResourceNotFoundException", 404):
        client.create_chat_token(roomIdentifier=room["arn"], userId="newcomer")


# ====================================================================== delivery under load


class FrameCollector(threading.Thread):
    """Reads one connection continuously (as a healthy client does), recording (Type, RequestId, Id) in arrival order."""

    def __init__(self, ws):
        super().__init__(daemon=True)
        self.ws = ws
        self.seen: list[tuple[str, str, str]] = []
        self.closed = False
        self._halt = threading.Event()

    def run(self):
        while not self._halt.is_set():
            try:
                text = self.ws.recv(timeout=0.2)
            except TimeoutError:
                continue
            except ConnectionClosed:
                self.closed = True
                return
            frame = json.loads(text)
            self.seen.append((frame.get("Type", ""), frame.get("RequestId", ""), frame.get("Id", "")))

    def stop(self):
        self._halt.set()
        self.join(timeout=2)


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def test_stalled_client_does_not_delay_others(start_server, join):
    """A connected client that never reads must not hold up delivery to the others.

    The stalled socket gets several MB (more than the kernel buffers between it and the server
    hold), so the server's writer for it blocks early on; the healthy reader must still get every
    message and event.
    """
    srv = start_server(PARLEY_CONNECTION_REQUEST_RATE=1000, PARLEY_SEND_EVENT_RATE=1000)
    cl = srv.client()
    room = cl.create_room(name=unique("stall"), maximumMessageRatePerSecond=100)
    # A client that completes the upgrade and then never reads, with a tiny receive window.
    stalled = raw_ws_handshake(srv, chat_token(cl, room, "stalled", RECEIVE_ONLY))
    collectors: list[FrameCollector] = []
    event_ids: list[str] = []
    sending = threading.Event()
    event_errors: list[BaseException] = []

    def send_events():
        events_client = srv.client()
        # 4 KB of characters JSON must escape as \u0001: each EVENT frame is about 24 KB.
        attributes = {"blob": "\x01" * 4000}
        try:
            while sending.is_set():
                event_ids.append(
                    events_client.send_event(roomIdentifier=room["arn"], eventName="app:load", attributes=attributes)["id"]
                )
        except BaseException as e:  # reported by the main thread
            event_errors.append(e)

    events_thread = threading.Thread(target=send_events, daemon=True)
    try:
        reader, _ = join(room, capabilities=RECEIVE_ONLY, srv=srv, cl=cl)
        senders = [join(room, capabilities=["SEND_MESSAGE"], srv=srv, cl=cl)[0] for _ in range(2)]
        collectors = [FrameCollector(ws) for ws in (reader, *senders)]
        for c in collectors:
            c.start()
        healthy, sender_views = collectors[0], collectors[1:]
        total = 240
        content = "🎉" * 500  # 2,000 UTF-8 bytes
        attributes = {"pad": '"' * 1021}  # 1,024 bytes, 2 KB once escaped
        interval = 1 / 80  # under the room's 100/s
        sending.set()
        events_thread.start()
        start = time.monotonic()
        for n in range(total):
            i = n % len(senders)
            send_message(senders[i], content, f"s{i}-{n}", attributes)
            pause = start + (n + 1) * interval - time.monotonic()
            if pause > 0:
                time.sleep(pause)  # pacing the senders to the allowed rate, not waiting for a result
        sending.clear()
        events_thread.join(timeout=30)
        assert not event_errors, event_errors
        assert len(event_ids) >= 50, f"only {len(event_ids)} SendEvent calls went through"

        def answers(i):
            return {rid: kind for kind, rid, _ in sender_views[i].seen if rid.startswith(f"s{i}-")}

        assert wait_for(lambda: sum(len(answers(i)) for i in range(len(senders))) >= total, 10), (
            "senders did not get an answer (echo or error) for every request"
        )
        accepted = {rid for i in range(len(senders)) for rid, kind in answers(i).items() if kind == "MESSAGE"}
        assert len(accepted) >= total * 0.9, f"only {len(accepted)}/{total} accepted: pacing too close to the rate?"

        # The healthy reader receives every accepted message and every event within the deadline.
        def healthy_messages():
            return {rid for kind, rid, _ in healthy.seen if kind == "MESSAGE"}

        def healthy_events():
            return {eid for kind, _, eid in healthy.seen if kind == "EVENT"}

        assert wait_for(lambda: accepted <= healthy_messages() and set(event_ids) <= healthy_events(), 5), (
            f"healthy reader got {len(accepted & healthy_messages())}/{len(accepted)} messages and "
            f"{len(set(event_ids) & healthy_events())}/{len(event_ids)} events"
        )
        assert not healthy.closed
        for i in range(len(senders)):
            mine = [int(rid.split("-")[1]) for kind, rid, _ in healthy.seen if kind == "MESSAGE" and rid.startswith(f"s{i}-")]
            assert mine == sorted(mine), f"sender {i}'s messages arrived out of order"
        # The server still admits and serves new clients.
        late, _ = join(room, capabilities=["SEND_MESSAGE"], srv=srv, cl=cl)
        round_trip(late, "still responsive")
    finally:
        sending.clear()
        for c in collectors:
            c.stop()
        stalled.close()


# ====================================================================== browser-style chat


def test_two_browser_clients_chat(client, new_room, open_ws):
    """Two clients as a browser opens them (Origin of the page, permessage-deflate offered), chatting."""
    room = new_room()
    alice_id, bob_id = unique("alice"), unique("bob")
    browser = {"origin": "https://app.example.com", "user_agent_header": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"}
    alice = open_ws(chat_token(client, room, alice_id, ["SEND_MESSAGE"], attributes={"name": "Alice"}), **browser)
    bob = open_ws(chat_token(client, room, bob_id, ["SEND_MESSAGE"], attributes={"name": "Bob"}), **browser)
    send_message(alice, "hi Bob", "alice-1")
    send_message(bob, "hi Alice", "bob-1")
    for ws in (alice, bob):
        frames = [recv_frame(ws), recv_frame(ws)]
        by_request = {f["RequestId"]: f for f in frames}
        assert set(by_request) == {"alice-1", "bob-1"}, frames
        assert_message(by_request["alice-1"], content="hi Bob", user_id=alice_id, sender_attributes={"name": "Alice"})
        assert_message(by_request["bob-1"], content="hi Alice", user_id=bob_id, sender_attributes={"name": "Bob"})
    # Then a strict back-and-forth: each sees the same order.
    send_message(alice, "how are you?", "alice-2")
    assert recv_frame(alice)["RequestId"] == "alice-2"
    assert recv_frame(bob)["RequestId"] == "alice-2"
    send_message(bob, "great", "bob-2")
    assert recv_frame(bob)["RequestId"] == "bob-2"
    assert recv_frame(alice)["RequestId"] == "bob-2"


def test_pings_are_answered_and_dead_connections_dropped(start_server):
    """The server answers a client's ping, pings every connection itself, and drops one that never answers."""
    srv = start_server(PARLEY_PING_INTERVAL_SECONDS="1")
    cl = srv.client()
    room = cl.create_room(name=unique("ping"))
    # a live client: its ping is answered (websockets waits for the pong)
    alive = ws_connect(srv, chat_token(cl, room, unique("alive"), []))
    try:
        assert alive.ping().wait(timeout=5), "no pong for the client's ping"
        # a dead client: handshake done, then silence (it never reads, so never answers the server's pings)
        dead = raw_ws_handshake(srv, chat_token(cl, room, unique("dead"), []), rcvbuf=65536)
        dead.settimeout(10)
        received = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            chunk = dead.recv(4096)
            if not chunk:
                break
            received += chunk
        else:
            pytest.fail("the server kept a connection that never answered its pings")
        assert received[:1] == b"\x89", f"the server did not ping first: {received[:16]!r}"
        assert b"\x88" in received, "the server closed without a close frame"
        # the live client, which answers pings, is still connected
        assert alive.ping().wait(timeout=5)
    finally:
        alive.close()
