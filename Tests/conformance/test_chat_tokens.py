"""CreateChatToken."""

from __future__ import annotations

import base64
import datetime as dt

import pytest

from parley_support import TOKEN_RE, assert_close, now_utc, raises_aws, random_id, unique


@pytest.fixture
def room(client):
    return client.create_room(name=unique("tok"))


def b64url_decode(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def test_create_chat_token_defaults(client, room):
    before = now_utc()
    resp = client.create_chat_token(roomIdentifier=room["arn"], userId="alice")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    token = resp["token"]
    assert isinstance(token, str) and len(token) >= 16
    assert TOKEN_RE.match(token), f"token has non-base64url characters: {token!r}"
    assert "=" not in token
    assert_close(resp["tokenExpirationTime"], before + dt.timedelta(seconds=60), tolerance_s=10)
    assert_close(resp["sessionExpirationTime"], before + dt.timedelta(minutes=60), tolerance_s=10)


@pytest.mark.parametrize("minutes", [1, 30, 180])
def test_session_duration(client, room, minutes):
    before = now_utc()
    resp = client.create_chat_token(roomIdentifier=room["arn"], userId="bob", sessionDurationInMinutes=minutes)
    assert_close(resp["sessionExpirationTime"], before + dt.timedelta(minutes=minutes), tolerance_s=10)
    assert_close(resp["tokenExpirationTime"], before + dt.timedelta(seconds=60), tolerance_s=10)


@pytest.mark.parametrize("minutes", [0, 181, -5, 100000])
def test_session_duration_out_of_range(raw_client, room, minutes):
    with raises_aws("ValidationException", 400, field="sessionDurationInMinutes"):
        raw_client.create_chat_token(roomIdentifier=room["arn"], userId="u", sessionDurationInMinutes=minutes)


def test_all_capabilities_accepted(client, room):
    resp = client.create_chat_token(
        roomIdentifier=room["arn"],
        userId="mod",
        capabilities=["SEND_MESSAGE", "DELETE_MESSAGE", "DISCONNECT_USER"],
    )
    assert TOKEN_RE.match(resp["token"])
    empty = client.create_chat_token(roomIdentifier=room["arn"], userId="viewer", capabilities=[])
    assert TOKEN_RE.match(empty["token"])


@pytest.mark.parametrize("caps", [["SHOUT"], ["SEND_MESSAGE", "send_message"], [""]])
def test_unknown_capability(raw_client, room, caps):
    with raises_aws("ValidationException", 400, field="capabilities"):
        raw_client.create_chat_token(roomIdentifier=room["arn"], userId="u", capabilities=caps)


def test_attributes_up_to_1kb_accepted(client, room):
    # 24 + 1000 = 1024 bytes of keys and values.
    attrs = {"displayName-and-avatar01": "x" * 1000}
    assert sum(len(k.encode()) + len(v.encode()) for k, v in attrs.items()) == 1024
    resp = client.create_chat_token(roomIdentifier=room["arn"], userId="u", attributes=attrs)
    assert TOKEN_RE.match(resp["token"])


def test_attributes_over_1kb_rejected(client, room):
    attrs = {"displayName-and-avatar01": "x" * 1001}
    with raises_aws("ValidationException", 400, field="attributes"):
        client.create_chat_token(roomIdentifier=room["arn"], userId="u", attributes=attrs)


def test_attributes_size_counts_utf8_bytes(client, room):
    # 513 code points but 1 + 1026 UTF-8 bytes.
    attrs = {"k": "é" * 513}
    with raises_aws("ValidationException", 400, field="attributes"):
        client.create_chat_token(roomIdentifier=room["arn"], userId="u", attributes=attrs)


def test_attributes_size_sums_all_pairs(client, room):
    attrs = {f"key{i:02d}": "v" * 95 for i in range(11)}  # 11 * (5 + 95) = 1100 bytes
    with raises_aws("ValidationException", 400, field="attributes"):
        client.create_chat_token(roomIdentifier=room["arn"], userId="u", attributes=attrs)


def test_unknown_room(server, client):
    rid = random_id()
    with raises_aws("ResourceNotFoundException", 404) as err:
        client.create_chat_token(roomIdentifier=server.room_arn(rid), userId="u")
    assert err.response["resourceId"] == rid
    assert err.response["resourceType"] == "ROOM"


def test_deleted_room(client, room):
    client.delete_room(identifier=room["arn"])
    with raises_aws("ResourceNotFoundException", 404) as err:
        client.create_chat_token(roomIdentifier=room["arn"], userId="u")
    assert err.response["resourceId"] == room["id"]


def test_two_tokens_differ(client, room):
    a = client.create_chat_token(roomIdentifier=room["arn"], userId="same", capabilities=["SEND_MESSAGE"])
    b = client.create_chat_token(roomIdentifier=room["arn"], userId="same", capabilities=["SEND_MESSAGE"])
    assert a["token"] != b["token"]


def test_token_is_opaque(client, room):
    user = "opaque-user-" + unique("u")
    secret_attr = "very-distinctive-attribute-value-" + unique("a")
    resp = client.create_chat_token(
        roomIdentifier=room["arn"], userId=user, attributes={"note": secret_attr}
    )
    token = resp["token"]
    raw = b64url_decode(token)
    for plain in (user, secret_attr, room["id"], room["arn"]):
        assert plain not in token
        assert plain.encode() not in raw, f"{plain!r} readable inside the token"


@pytest.mark.parametrize("user_id", ["", "x" * 129])
def test_user_id_length(raw_client, room, user_id):
    with raises_aws("ValidationException", 400, field="userId"):
        raw_client.create_chat_token(roomIdentifier=room["arn"], userId=user_id)


def test_user_id_boundaries_and_unicode(client, room):
    for user_id in ("x", "y" * 128, "ユーザー 1 <admin>"):
        resp = client.create_chat_token(roomIdentifier=room["arn"], userId=user_id)
        assert TOKEN_RE.match(resp["token"])
