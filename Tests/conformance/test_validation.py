"""Validation exactly per the service model: required members, lengths, ranges, enums,
patterns, unions, list/map sizes, and malformed or mistyped JSON (400, never 500)."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from parley_support import (
    LAMBDA_ARN,
    assert_raw_error,
    assert_validation,
    field_names,
    names_field,
    raises_aws,
    random_id,
    tags_path,
    unique,
)


@pytest.fixture(scope="module")
def ctx(server, client) -> dict[str, str]:
    room = client.create_room(name=unique("val"))
    lc = client.create_logging_configuration(
        name=unique("val"), destinationConfiguration={"s3": {"bucketName": "val-bucket"}}
    )
    return {"room": room["arn"], "room_id": room["id"], "lc": lc["arn"], "lc_id": lc["id"], "server": server}


# ------------------------------------------------------------------ required members (raw requests)

REQUIRED: list[tuple[str, Callable[[dict], dict[str, Any]], str]] = [
    ("/CreateChatToken", lambda c: {"roomIdentifier": c["room"], "userId": "u"}, "roomIdentifier"),
    ("/CreateChatToken", lambda c: {"roomIdentifier": c["room"], "userId": "u"}, "userId"),
    ("/CreateLoggingConfiguration", lambda c: {"name": "x", "destinationConfiguration": {"s3": {"bucketName": "abc"}}}, "destinationConfiguration"),
    ("/DeleteLoggingConfiguration", lambda c: {"identifier": c["lc"]}, "identifier"),
    ("/DeleteMessage", lambda c: {"roomIdentifier": c["room"], "id": "abcdefghijkl"}, "roomIdentifier"),
    ("/DeleteMessage", lambda c: {"roomIdentifier": c["room"], "id": "abcdefghijkl"}, "id"),
    ("/DeleteRoom", lambda c: {"identifier": c["room"]}, "identifier"),
    ("/DisconnectUser", lambda c: {"roomIdentifier": c["room"], "userId": "u"}, "roomIdentifier"),
    ("/DisconnectUser", lambda c: {"roomIdentifier": c["room"], "userId": "u"}, "userId"),
    ("/GetLoggingConfiguration", lambda c: {"identifier": c["lc"]}, "identifier"),
    ("/GetRoom", lambda c: {"identifier": c["room"]}, "identifier"),
    ("/SendEvent", lambda c: {"roomIdentifier": c["room"], "eventName": "e"}, "roomIdentifier"),
    ("/SendEvent", lambda c: {"roomIdentifier": c["room"], "eventName": "e"}, "eventName"),
    ("/UpdateLoggingConfiguration", lambda c: {"identifier": c["lc"], "name": "n"}, "identifier"),
    ("/UpdateRoom", lambda c: {"identifier": c["room"], "name": "n"}, "identifier"),
]


@pytest.mark.parametrize(
    "path,make_body,missing", REQUIRED, ids=[f"{p[1:]}-{m}" for p, _, m in REQUIRED]
)
def test_required_member_missing(signed, ctx, path, make_body, missing):
    body = make_body(ctx)
    del body[missing]
    resp = signed("POST", path, body)
    err = assert_raw_error(resp, 400, "ValidationException")
    assert err["reason"] == "FIELD_VALIDATION_FAILED"
    assert any(names_field(n, missing) for n in field_names(err)), err
    assert "json" in resp.headers.get("Content-Type", "")


@pytest.mark.parametrize("path,make_body,member", REQUIRED[:1] + REQUIRED[10:11], ids=["CreateChatToken", "GetRoom"])
def test_required_member_null_is_missing(signed, ctx, path, make_body, member):
    body = make_body(ctx)
    body[member] = None
    err = assert_raw_error(signed("POST", path, body), 400, "ValidationException")
    assert_validation(err, member)


@pytest.mark.parametrize(
    "dest,leaf",
    [({"s3": {}}, "bucketName"), ({"cloudWatchLogs": {}}, "logGroupName"), ({"firehose": {}}, "deliveryStreamName")],
)
def test_nested_required_member_missing(signed, dest, leaf):
    err = assert_raw_error(
        signed("POST", "/CreateLoggingConfiguration", {"destinationConfiguration": dest}), 400, "ValidationException"
    )
    assert_validation(err, leaf)


# ------------------------------------------------------------------ model constraints (botocore, client validation off)


CASES: list[tuple[str, str, Callable[[dict], dict[str, Any]], str]] = [
    # CreateRoom
    ("name-too-long", "create_room", lambda c: {"name": "n" * 129}, "name"),
    ("name-pattern", "create_room", lambda c: {"name": "bad name!"}, "name"),
    ("name-pattern-dot", "create_room", lambda c: {"name": "bad.name"}, "name"),
    ("length-0", "create_room", lambda c: {"maximumMessageLength": 0}, "maximumMessageLength"),
    ("length-501", "create_room", lambda c: {"maximumMessageLength": 501}, "maximumMessageLength"),
    ("rate-0", "create_room", lambda c: {"maximumMessageRatePerSecond": 0}, "maximumMessageRatePerSecond"),
    ("rate-101", "create_room", lambda c: {"maximumMessageRatePerSecond": 101}, "maximumMessageRatePerSecond"),
    ("fallback-enum", "create_room", lambda c: {"messageReviewHandler": {"uri": LAMBDA_ARN, "fallbackResult": "MAYBE"}}, "fallbackResult"),
    ("uri-too-long", "create_room", lambda c: {"messageReviewHandler": {"uri": LAMBDA_ARN + "x" * 170}}, "uri"),
    ("uri-not-arn-or-url", "create_room", lambda c: {"messageReviewHandler": {"uri": "not a uri"}}, "uri"),
    ("uri-ftp", "create_room", lambda c: {"messageReviewHandler": {"uri": "ftp://example.com/x"}}, "uri"),
    ("lcs-4", "create_room", lambda c: {"loggingConfigurationIdentifiers": [c["server"].lc_arn() for _ in range(4)]}, "loggingConfigurationIdentifiers"),
    ("lcs-room-arn", "create_room", lambda c: {"loggingConfigurationIdentifiers": [c["room"]]}, "loggingConfigurationIdentifiers"),
    ("lcs-garbage", "create_room", lambda c: {"loggingConfigurationIdentifiers": ["nope"]}, "loggingConfigurationIdentifiers"),
    ("tags-51", "create_room", lambda c: {"tags": {f"k{i}": "v" for i in range(51)}}, "tags"),
    ("tag-key-129", "create_room", lambda c: {"tags": {"k" * 129: "v"}}, "tags"),
    ("tag-value-257", "create_room", lambda c: {"tags": {"k": "v" * 257}}, "tags"),
    # GetRoom / UpdateRoom / DeleteRoom
    ("get-not-arn", "get_room", lambda c: {"identifier": "not-an-arn"}, "identifier"),
    ("get-lc-arn", "get_room", lambda c: {"identifier": c["lc"]}, "identifier"),
    ("get-too-long", "get_room", lambda c: {"identifier": c["room"] + "a" * 128}, "identifier"),
    ("get-empty", "get_room", lambda c: {"identifier": ""}, "identifier"),
    ("delete-not-arn", "delete_room", lambda c: {"identifier": c["room_id"]}, "identifier"),
    ("update-name", "update_room", lambda c: {"identifier": c["room"], "name": "bad name!"}, "name"),
    ("update-length", "update_room", lambda c: {"identifier": c["room"], "maximumMessageLength": 501}, "maximumMessageLength"),
    ("update-rate", "update_room", lambda c: {"identifier": c["room"], "maximumMessageRatePerSecond": 0}, "maximumMessageRatePerSecond"),
    ("update-fallback", "update_room", lambda c: {"identifier": c["room"], "messageReviewHandler": {"uri": LAMBDA_ARN, "fallbackResult": "allow"}}, "fallbackResult"),
    ("update-lcs-4", "update_room", lambda c: {"identifier": c["room"], "loggingConfigurationIdentifiers": [c["lc"]] * 4}, "loggingConfigurationIdentifiers"),
    # ListRooms
    ("list-name", "list_rooms", lambda c: {"name": "bad name!"}, "name"),
    ("list-max-0", "list_rooms", lambda c: {"maxResults": 0}, "maxResults"),
    ("list-max-51", "list_rooms", lambda c: {"maxResults": 51}, "maxResults"),
    ("list-lc-is-room", "list_rooms", lambda c: {"loggingConfigurationIdentifier": c["room"]}, "loggingConfigurationIdentifier"),
    ("list-uri-too-long", "list_rooms", lambda c: {"messageReviewHandlerUri": LAMBDA_ARN + "x" * 170}, "messageReviewHandlerUri"),
    # Logging configurations
    ("lc-name", "create_logging_configuration", lambda c: {"name": "bad name!", "destinationConfiguration": {"s3": {"bucketName": "abc"}}}, "name"),
    ("lc-name-long", "create_logging_configuration", lambda c: {"name": "n" * 129, "destinationConfiguration": {"s3": {"bucketName": "abc"}}}, "name"),
    ("bucket-pattern", "create_logging_configuration", lambda c: {"destinationConfiguration": {"s3": {"bucketName": "Bad_Bucket"}}}, "bucketName"),
    ("bucket-short", "create_logging_configuration", lambda c: {"destinationConfiguration": {"s3": {"bucketName": "ab"}}}, "bucketName"),
    ("bucket-long", "create_logging_configuration", lambda c: {"destinationConfiguration": {"s3": {"bucketName": "b" * 64}}}, "bucketName"),
    ("log-group-pattern", "create_logging_configuration", lambda c: {"destinationConfiguration": {"cloudWatchLogs": {"logGroupName": "bad group!"}}}, "logGroupName"),
    ("log-group-empty", "create_logging_configuration", lambda c: {"destinationConfiguration": {"cloudWatchLogs": {"logGroupName": ""}}}, "logGroupName"),
    ("log-group-long", "create_logging_configuration", lambda c: {"destinationConfiguration": {"cloudWatchLogs": {"logGroupName": "g" * 513}}}, "logGroupName"),
    ("stream-pattern", "create_logging_configuration", lambda c: {"destinationConfiguration": {"firehose": {"deliveryStreamName": "bad stream!"}}}, "deliveryStreamName"),
    ("stream-empty", "create_logging_configuration", lambda c: {"destinationConfiguration": {"firehose": {"deliveryStreamName": ""}}}, "deliveryStreamName"),
    ("stream-long", "create_logging_configuration", lambda c: {"destinationConfiguration": {"firehose": {"deliveryStreamName": "s" * 65}}}, "deliveryStreamName"),
    ("union-none", "create_logging_configuration", lambda c: {"destinationConfiguration": {}}, "destinationConfiguration"),
    ("union-two", "create_logging_configuration", lambda c: {"destinationConfiguration": {"s3": {"bucketName": "abc"}, "firehose": {"deliveryStreamName": "s"}}}, "destinationConfiguration"),
    ("lc-tags-51", "create_logging_configuration", lambda c: {"destinationConfiguration": {"s3": {"bucketName": "abc"}}, "tags": {f"k{i}": "v" for i in range(51)}}, "tags"),
    ("get-lc-room-arn", "get_logging_configuration", lambda c: {"identifier": c["room"]}, "identifier"),
    ("get-lc-garbage", "get_logging_configuration", lambda c: {"identifier": "logging-configuration/abc"}, "identifier"),
    ("delete-lc-room-arn", "delete_logging_configuration", lambda c: {"identifier": c["room"]}, "identifier"),
    ("update-lc-room-arn", "update_logging_configuration", lambda c: {"identifier": c["room"], "name": "x"}, "identifier"),
    ("update-lc-union-two", "update_logging_configuration", lambda c: {"identifier": c["lc"], "destinationConfiguration": {"s3": {"bucketName": "abc"}, "cloudWatchLogs": {"logGroupName": "g"}}}, "destinationConfiguration"),
    ("update-lc-bucket", "update_logging_configuration", lambda c: {"identifier": c["lc"], "destinationConfiguration": {"s3": {"bucketName": "UPPER"}}}, "bucketName"),
    ("update-lc-name", "update_logging_configuration", lambda c: {"identifier": c["lc"], "name": "bad name!"}, "name"),
    ("list-lc-max-0", "list_logging_configurations", lambda c: {"maxResults": 0}, "maxResults"),
    ("list-lc-max-51", "list_logging_configurations", lambda c: {"maxResults": 51}, "maxResults"),
    # Chat tokens and messaging
    ("token-room-lc-arn", "create_chat_token", lambda c: {"roomIdentifier": c["lc"], "userId": "u"}, "roomIdentifier"),
    ("token-session-0", "create_chat_token", lambda c: {"roomIdentifier": c["room"], "userId": "u", "sessionDurationInMinutes": 0}, "sessionDurationInMinutes"),
    ("token-session-181", "create_chat_token", lambda c: {"roomIdentifier": c["room"], "userId": "u", "sessionDurationInMinutes": 181}, "sessionDurationInMinutes"),
    ("token-capability", "create_chat_token", lambda c: {"roomIdentifier": c["room"], "userId": "u", "capabilities": ["ADMIN"]}, "capabilities"),
    ("token-user-long", "create_chat_token", lambda c: {"roomIdentifier": c["room"], "userId": "u" * 129}, "userId"),
    ("token-attrs-1025", "create_chat_token", lambda c: {"roomIdentifier": c["room"], "userId": "u", "attributes": {"a": "b" * 1024}}, "attributes"),
    ("event-name-101", "send_event", lambda c: {"roomIdentifier": c["room"], "eventName": "e" * 101}, "eventName"),
    ("event-attrs-4097", "send_event", lambda c: {"roomIdentifier": c["room"], "eventName": "e", "attributes": {"a": "b" * 4096}}, "attributes"),
    ("event-room-garbage", "send_event", lambda c: {"roomIdentifier": "room", "eventName": "e"}, "roomIdentifier"),
    ("delmsg-id-short", "delete_message", lambda c: {"roomIdentifier": c["room"], "id": "abc"}, "id"),
    ("delmsg-id-pattern", "delete_message", lambda c: {"roomIdentifier": c["room"], "id": "abcdef_hijkl"}, "id"),
    ("delmsg-reason-257", "delete_message", lambda c: {"roomIdentifier": c["room"], "id": "abcdefghijkl", "reason": "r" * 257}, "reason"),
    ("disc-user-129", "disconnect_user", lambda c: {"roomIdentifier": c["room"], "userId": "u" * 129}, "userId"),
    ("disc-reason-257", "disconnect_user", lambda c: {"roomIdentifier": c["room"], "userId": "u", "reason": "r" * 257}, "reason"),
    # Tags
    ("tag-51", "tag_resource", lambda c: {"resourceArn": c["room"], "tags": {f"k{i}": "v" for i in range(51)}}, "tags"),
    ("tag-key-long", "tag_resource", lambda c: {"resourceArn": c["room"], "tags": {"k" * 129: "v"}}, "tags"),
    ("tag-value-long", "tag_resource", lambda c: {"resourceArn": c["lc"], "tags": {"k": "v" * 257}}, "tags"),
    ("untag-51", "untag_resource", lambda c: {"resourceArn": c["room"], "tagKeys": [f"k{i}" for i in range(51)]}, "tagKeys"),
    ("list-tags-garbage", "list_tags_for_resource", lambda c: {"resourceArn": "garbage"}, "resourceArn"),
]


@pytest.mark.parametrize("op,make_kwargs,field", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_model_constraint_violations(raw_client, ctx, op, make_kwargs, field):
    with raises_aws("ValidationException", 400, field=field) as err:
        getattr(raw_client, op)(**make_kwargs(ctx))
    assert err.response["reason"] == "FIELD_VALIDATION_FAILED"


def test_validation_does_not_change_state(client, raw_client, ctx):
    before = client.get_room(identifier=ctx["room"])
    with raises_aws("ValidationException", 400):
        raw_client.update_room(identifier=ctx["room"], name="renamed", maximumMessageLength=0)
    after = client.get_room(identifier=ctx["room"])
    assert after["name"] == before["name"]
    assert after["updateTime"] == before["updateTime"]


def test_validation_happens_before_lookup(server, raw_client):
    with raises_aws("ValidationException", 400, field="maximumMessageLength"):
        raw_client.update_room(identifier=server.room_arn(), maximumMessageLength=0)
    with raises_aws("ValidationException", 400, field="eventName"):
        raw_client.send_event(roomIdentifier=server.room_arn(), eventName="e" * 101)


def test_all_invalid_fields_are_reported(raw_client):
    with raises_aws("ValidationException", 400) as err:
        raw_client.create_room(name="bad name!", maximumMessageLength=0, maximumMessageRatePerSecond=101)
    names = field_names(err.response)
    for leaf in ("name", "maximumMessageLength", "maximumMessageRatePerSecond"):
        assert any(names_field(n, leaf) for n in names), (leaf, names)


def test_failed_create_does_not_create(client, raw_client):
    name = unique("nocreate")
    with raises_aws("ValidationException", 400):
        raw_client.create_room(name=name, maximumMessageLength=501)
    assert client.list_rooms(name=name)["rooms"] == []


# ------------------------------------------------------------------ malformed JSON and wrong types (raw)

BAD_BODIES = [
    ("truncated", "/CreateRoom", b'{"name": '),
    ("not-json", "/CreateRoom", b"this is not json"),
    ("array", "/CreateRoom", b"[]"),
    ("string", "/CreateRoom", b'"CreateRoom"'),
    ("number", "/GetRoom", b"42"),
    ("bad-utf8", "/CreateRoom", b'{"name": "\xff\xfe"}'),
    ("length-string", "/CreateRoom", b'{"maximumMessageLength": "ten"}'),
    ("length-numeric-string", "/CreateRoom", b'{"maximumMessageLength": "10"}'),
    ("length-float", "/CreateRoom", b'{"maximumMessageLength": 10.5}'),
    ("length-huge", "/CreateRoom", b'{"maximumMessageLength": 99999999999999999999999}'),
    ("length-exp", "/CreateRoom", b'{"maximumMessageLength": 1e30}'),
    ("length-bool", "/CreateRoom", b'{"maximumMessageLength": true}'),
    ("rate-object", "/CreateRoom", b'{"maximumMessageRatePerSecond": {}}'),
    ("name-number", "/CreateRoom", b'{"name": 5}'),
    ("tags-list", "/CreateRoom", b'{"tags": ["a"]}'),
    ("tags-int-value", "/CreateRoom", b'{"tags": {"a": 1}}'),
    ("lcs-string", "/CreateRoom", b'{"loggingConfigurationIdentifiers": "arn:aws:ivschat:us-east-1:000000000000:logging-configuration/abcdefghijkl"}'),
    ("handler-string", "/CreateRoom", b'{"messageReviewHandler": "arn:aws:lambda:us-east-1:123456789012:function:x"}'),
    ("identifier-number", "/GetRoom", b'{"identifier": 123}'),
    ("identifier-list", "/DeleteRoom", b'{"identifier": ["arn"]}'),
    ("caps-string", "/CreateChatToken", b'{"roomIdentifier": "arn:aws:ivschat:us-east-1:000000000000:room/abcdefghijkl", "userId": "u", "capabilities": "SEND_MESSAGE"}'),
    ("session-string", "/CreateChatToken", b'{"roomIdentifier": "arn:aws:ivschat:us-east-1:000000000000:room/abcdefghijkl", "userId": "u", "sessionDurationInMinutes": "60"}'),
    ("attrs-nested", "/CreateChatToken", b'{"roomIdentifier": "arn:aws:ivschat:us-east-1:000000000000:room/abcdefghijkl", "userId": "u", "attributes": {"a": {"b": "c"}}}'),
    ("event-attrs-list", "/SendEvent", b'{"roomIdentifier": "arn:aws:ivschat:us-east-1:000000000000:room/abcdefghijkl", "eventName": "e", "attributes": ["x"]}'),
    ("dest-string", "/CreateLoggingConfiguration", b'{"destinationConfiguration": "s3"}'),
    ("bucket-number", "/CreateLoggingConfiguration", b'{"destinationConfiguration": {"s3": {"bucketName": 12345}}}'),
    ("max-results-string", "/ListRooms", b'{"maxResults": "5"}'),
    ("next-token-number", "/ListLoggingConfigurations", b'{"nextToken": 5}'),
]


@pytest.mark.parametrize("path,body", [b[1:] for b in BAD_BODIES], ids=[b[0] for b in BAD_BODIES])
def test_malformed_or_mistyped_body_is_400(signed, path, body):
    resp = signed("POST", path, body)
    err = assert_raw_error(resp, 400, "ValidationException")
    assert_validation(err)


def test_mistyped_body_creates_nothing(signed, client):
    name = unique("typed")
    resp = signed("POST", "/CreateRoom", {"name": name, "maximumMessageLength": "ten"})
    assert_raw_error(resp, 400, "ValidationException")
    assert client.list_rooms(name=name)["rooms"] == []


def test_unknown_members_are_ignored(signed, client):
    name = unique("future")
    resp = signed("POST", "/CreateRoom", {"name": name, "someFutureMember": {"x": 1}})
    assert resp.status_code == 200, resp.text
    assert resp.json()["name"] == name
    assert "json" in resp.headers.get("Content-Type", "")


@pytest.mark.parametrize("path", ["/CreateRoom", "/ListRooms", "/ListLoggingConfigurations"])
def test_empty_body_means_no_members(signed, path):
    resp = signed("POST", path, b"", headers={"Content-Type": "application/json"})
    assert resp.status_code == 200, resp.text
    assert isinstance(resp.json(), dict)


def test_unknown_operation_is_a_client_error(signed):
    resp = signed("POST", "/NoSuchOperation", {})
    assert 400 <= resp.status_code < 500, resp.status_code
    assert resp.headers.get("x-amzn-ErrorType"), resp.headers
    assert isinstance(resp.json().get("message"), str)


def test_wrong_method_is_a_client_error(signed, client):
    resp = signed("GET", "/CreateRoom")
    assert 400 <= resp.status_code < 500, resp.status_code
    resp = signed("PUT", tags_path(client.create_room()["arn"]), {"tags": {"a": "b"}})
    assert 400 <= resp.status_code < 500, resp.status_code


def test_raw_validation_error_shape(signed):
    resp = signed("POST", "/CreateRoom", {"maximumMessageLength": 0})
    err = assert_raw_error(resp, 400, "ValidationException")
    assert err["reason"] == "FIELD_VALIDATION_FAILED"
    fields = err["fieldList"]
    assert isinstance(fields, list) and fields
    assert all(set(f) >= {"name", "message"} for f in fields)
    assert any(names_field(f["name"], "maximumMessageLength") for f in fields)


def test_raw_not_found_error_shape(signed, server):
    rid = random_id()
    resp = signed("POST", "/GetRoom", {"identifier": server.room_arn(rid)})
    err = assert_raw_error(resp, 404, "ResourceNotFoundException")
    assert err["resourceId"] == rid
    assert err["resourceType"] == "ROOM"
