"""Control-plane SendEvent / DeleteMessage / DisconnectUser."""

from __future__ import annotations

import pytest

from parley_support import ID_RE, raises_aws, random_id, unique


@pytest.fixture
def room(client):
    return client.create_room(name=unique("msg"))


# ------------------------------------------------------------------ SendEvent


def test_send_event(client, room):
    resp = client.send_event(roomIdentifier=room["arn"], eventName="app:poll-started", attributes={"question": "?"})
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert ID_RE.match(resp["id"]), resp
    again = client.send_event(roomIdentifier=room["arn"], eventName="app:poll-started")
    assert ID_RE.match(again["id"]) and again["id"] != resp["id"]


def test_send_event_name_bounds(client, raw_client, room):
    assert ID_RE.match(client.send_event(roomIdentifier=room["arn"], eventName="e")["id"])
    assert ID_RE.match(client.send_event(roomIdentifier=room["arn"], eventName="n" * 100)["id"])
    with raises_aws("ValidationException", 400, field="eventName"):
        client.send_event(roomIdentifier=room["arn"], eventName="n" * 101)
    with raises_aws("ValidationException", 400, field="eventName"):
        raw_client.send_event(roomIdentifier=room["arn"], eventName="")


def test_send_event_attributes_up_to_4kb(client, room):
    attrs = {"payload-key": "p" * (4096 - len("payload-key"))}
    resp = client.send_event(roomIdentifier=room["arn"], eventName="big", attributes=attrs)
    assert ID_RE.match(resp["id"])


def test_send_event_attributes_over_4kb(client, room):
    attrs = {"payload-key": "p" * (4097 - len("payload-key"))}
    with raises_aws("ValidationException", 400, field="attributes"):
        client.send_event(roomIdentifier=room["arn"], eventName="big", attributes=attrs)
    many = {f"k{i:03d}": "v" * 96 for i in range(41)}  # 41 * 100 = 4100 bytes
    with raises_aws("ValidationException", 400, field="attributes"):
        client.send_event(roomIdentifier=room["arn"], eventName="big", attributes=many)
    utf8 = {"k": "€" * 1366}  # 1 + 4098 UTF-8 bytes, only 1367 code points
    with raises_aws("ValidationException", 400, field="attributes"):
        client.send_event(roomIdentifier=room["arn"], eventName="big", attributes=utf8)


def test_send_event_unknown_room(server, client):
    rid = random_id()
    with raises_aws("ResourceNotFoundException", 404) as err:
        client.send_event(roomIdentifier=server.room_arn(rid), eventName="x")
    assert err.response["resourceId"] == rid
    assert err.response["resourceType"] == "ROOM"


def test_send_event_bad_room_identifier(raw_client):
    with raises_aws("ValidationException", 400, field="roomIdentifier"):
        raw_client.send_event(roomIdentifier="room-123", eventName="x")


# ------------------------------------------------------------------ DeleteMessage


def test_delete_message(client, room):
    resp = client.delete_message(roomIdentifier=room["arn"], id=random_id(), reason="spam")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert ID_RE.match(resp["id"]), resp
    no_reason = client.delete_message(roomIdentifier=room["arn"], id=random_id())
    assert ID_RE.match(no_reason["id"])


@pytest.mark.parametrize("bad_id", ["short", "abcdefghijk!", "abcdefghijklm", "abc-efghijkl", "abcdefghijk ", ""])
def test_delete_message_bad_id(raw_client, room, bad_id):
    with raises_aws("ValidationException", 400, field="id"):
        raw_client.delete_message(roomIdentifier=room["arn"], id=bad_id)


def test_delete_message_reason_bounds(client, raw_client, room):
    assert ID_RE.match(client.delete_message(roomIdentifier=room["arn"], id=random_id(), reason="r" * 256)["id"])
    with raises_aws("ValidationException", 400, field="reason"):
        client.delete_message(roomIdentifier=room["arn"], id=random_id(), reason="r" * 257)
    with raises_aws("ValidationException", 400, field="reason"):
        raw_client.delete_message(roomIdentifier=room["arn"], id=random_id(), reason="")


def test_delete_message_unknown_room(server, client):
    rid = random_id()
    with raises_aws("ResourceNotFoundException", 404) as err:
        client.delete_message(roomIdentifier=server.room_arn(rid), id=random_id())
    assert err.response["resourceId"] == rid
    assert err.response["resourceType"] == "ROOM"


# ------------------------------------------------------------------ DisconnectUser


def test_disconnect_user(client, room):
    resp = client.disconnect_user(roomIdentifier=room["arn"], userId="troll", reason="be nice")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert set(resp) == {"ResponseMetadata"}
    resp = client.disconnect_user(roomIdentifier=room["arn"], userId="u" * 128)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_disconnect_user_bounds(client, raw_client, room):
    with raises_aws("ValidationException", 400, field="userId"):
        client.disconnect_user(roomIdentifier=room["arn"], userId="u" * 129)
    with raises_aws("ValidationException", 400, field="userId"):
        raw_client.disconnect_user(roomIdentifier=room["arn"], userId="")
    with raises_aws("ValidationException", 400, field="reason"):
        client.disconnect_user(roomIdentifier=room["arn"], userId="x", reason="r" * 257)
    with raises_aws("ValidationException", 400, field="reason"):
        raw_client.disconnect_user(roomIdentifier=room["arn"], userId="x", reason="")


def test_disconnect_user_unknown_room(server, client):
    rid = random_id()
    with raises_aws("ResourceNotFoundException", 404) as err:
        client.disconnect_user(roomIdentifier=server.room_arn(rid), userId="x")
    assert err.response["resourceId"] == rid
    assert err.response["resourceType"] == "ROOM"


def test_ops_on_deleted_room_are_404(client, room):
    client.delete_room(identifier=room["arn"])
    with raises_aws("ResourceNotFoundException", 404):
        client.send_event(roomIdentifier=room["arn"], eventName="x")
    with raises_aws("ResourceNotFoundException", 404):
        client.delete_message(roomIdentifier=room["arn"], id=random_id())
    with raises_aws("ResourceNotFoundException", 404):
        client.disconnect_user(roomIdentifier=room["arn"], userId="x")
