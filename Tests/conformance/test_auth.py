"""SigV4 authentication of the control plane (raw requests and boto3)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
import requests

from parley_support import (
    assert_raw_error,
    now_utc,
    raises_aws,
    tags_path,
    unique,
)

BAD_SIGNATURE = ("InvalidSignatureException", "SignatureDoesNotMatch")
BAD_AUTH_HEADER = ("IncompleteSignatureException", "InvalidSignatureException", "MissingAuthenticationTokenException")


@pytest.fixture(scope="module")
def room(client):
    return client.create_room(name=unique("auth"), tags={"t": "1"})


def test_health_needs_no_auth(server):
    assert requests.get(server.endpoint + "/health", timeout=10).status_code == 200


def test_missing_authorization(server, room):
    for method, path, body in (
        ("POST", "/ListRooms", {}),
        ("POST", "/GetRoom", {"identifier": room["arn"]}),
        ("GET", tags_path(room["arn"]), None),
    ):
        resp = server.unsigned(method, path, body)
        assert_raw_error(resp, 403, "MissingAuthenticationTokenException")


def test_authentication_precedes_validation_and_lookup(server):
    assert_raw_error(server.unsigned("POST", "/CreateRoom", {"maximumMessageLength": 0}), 403,
                     "MissingAuthenticationTokenException")
    assert_raw_error(server.unsigned("POST", "/GetRoom", {"identifier": server.room_arn()}), 403,
                     "MissingAuthenticationTokenException")
    assert_raw_error(server.signed("POST", "/GetRoom", {"identifier": "garbage"}, access_key="AKIDNOSUCHKEY0000000"),
                     403, "UnrecognizedClientException")


def test_unknown_access_key(server, signed):
    resp = signed("POST", "/ListRooms", {}, access_key="AKIDNOSUCHKEY0000000")
    assert_raw_error(resp, 403, "UnrecognizedClientException")
    bad = server.client(access_key="AKIDNOSUCHKEY0000000")
    with raises_aws("UnrecognizedClientException", 403):
        bad.list_rooms()


def test_wrong_secret(server, signed):
    resp = signed("POST", "/ListRooms", {}, secret_key="x" * 40)
    assert_raw_error(resp, 403, "InvalidSignatureException")
    bad = server.client(secret_key="y" * 40)
    with raises_aws("InvalidSignatureException", 403):
        bad.create_room(name=unique("nope"))


def test_tampered_body(signed, client):
    name = unique("signed")
    evil = unique("evil")
    resp = signed("POST", "/CreateRoom", {"name": name}, send_body={"name": evil})
    assert_raw_error(resp, 403, "InvalidSignatureException")
    assert client.list_rooms(name=evil)["rooms"] == []
    assert client.list_rooms(name=name)["rooms"] == []


def test_tampered_query(signed, client):
    room = client.create_room(name=unique("tq"), tags={"keep": "1", "drop": "2"})
    resp = signed("DELETE", tags_path(room["arn"]), query={"tagKeys": "drop"}, send_query={"tagKeys": "keep"})
    assert_raw_error(resp, 403, "InvalidSignatureException")
    assert client.list_tags_for_resource(resourceArn=room["arn"])["tags"] == {"keep": "1", "drop": "2"}


@pytest.mark.parametrize("minutes", [-20, 20])
def test_signature_outside_time_window(signed, minutes):
    resp = signed("POST", "/ListRooms", {}, sign_time=now_utc() + dt.timedelta(minutes=minutes))
    assert_raw_error(resp, 403, BAD_SIGNATURE)


def test_small_clock_skew_is_accepted(signed):
    resp = signed("POST", "/ListRooms", {}, sign_time=now_utc() - dt.timedelta(minutes=2))
    assert resp.status_code == 200, resp.text
    assert isinstance(resp.json()["rooms"], list)


def test_credential_scope_for_other_region_or_service(signed):
    resp = signed("POST", "/ListRooms", {}, region="eu-central-1")
    assert_raw_error(resp, 403, BAD_SIGNATURE)
    resp = signed("POST", "/ListRooms", {}, service="ivs")
    assert_raw_error(resp, 403, BAD_SIGNATURE)


@pytest.mark.parametrize("header", ["AWS4-HMAC-SHA256 garbage", "Bearer abcdef", "AWS4-HMAC-SHA256 Credential=AKIDPARLEYTEST"])
def test_malformed_authorization_header(server, header):
    resp = server.unsigned("POST", "/ListRooms", {}, headers={"Authorization": header, "X-Amz-Date": "20240101T000000Z"})
    assert_raw_error(resp, 403, BAD_AUTH_HEADER)


def test_content_sha256_header_is_honoured(signed):
    body = b'{"maxResults": 5}'
    resp = signed("POST", "/ListRooms", body, headers={"X-Amz-Content-Sha256": hashlib.sha256(body).hexdigest()})
    assert resp.status_code == 200, resp.text
    wrong = signed("POST", "/ListRooms", body, headers={"X-Amz-Content-Sha256": hashlib.sha256(b"{}").hexdigest()})
    assert wrong.status_code == 403


def test_presigned_get(server, room):
    url = server.presigned_url("GET", tags_path(room["arn"]))
    assert "X-Amz-Signature=" in url and "Authorization" not in url
    resp = requests.get(url, timeout=10)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"tags": {"t": "1"}}


def test_presigned_tampered_or_expired(server, room):
    url = server.presigned_url("GET", tags_path(room["arn"]))
    tampered = re.sub(r"X-Amz-Signature=([0-9a-f])", lambda m: "X-Amz-Signature=" + ("0" if m.group(1) != "0" else "1"), url)
    assert tampered != url
    assert_raw_error(requests.get(tampered, timeout=10), 403, BAD_SIGNATURE)

    expired = server.presigned_url(
        "GET", tags_path(room["arn"]), expires=60, sign_time=now_utc() - dt.timedelta(minutes=10)
    )
    assert_raw_error(requests.get(expired, timeout=10), 403, BAD_SIGNATURE)


def test_error_bodies_are_json(server):
    resp = server.unsigned("POST", "/ListRooms", {})
    assert resp.status_code == 403
    assert "json" in resp.headers.get("Content-Type", "")
    assert isinstance(resp.json()["message"], str)
