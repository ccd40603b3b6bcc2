"""CreateRoom / GetRoom / UpdateRoom / DeleteRoom / ListRooms through boto3."""

from __future__ import annotations

import datetime as dt

from parley_support import (
    ID_RE,
    LAMBDA_ARN,
    assert_close,
    now_utc,
    raises_aws,
    random_id,
    room_arn_re,
    unique,
)

ROOM_FIELDS_COMPARED = (
    "arn", "id", "name", "createTime", "updateTime",
    "maximumMessageLength", "maximumMessageRatePerSecond",
)


def handler_uri(room: dict) -> str:
    return (room.get("messageReviewHandler") or {}).get("uri") or ""


def list_all(client, **kwargs) -> list[dict]:
    """Every room ListRooms yields for kwargs, following nextToken."""
    rooms, token, pages = [], None, 0
    while True:
        resp = client.list_rooms(**kwargs, **({"nextToken": token} if token else {}))
        rooms.extend(resp["rooms"])
        token = resp.get("nextToken")
        pages += 1
        assert pages < 1000, "ListRooms pagination does not terminate"
        if not token:
            return rooms


def test_create_room_defaults(server, client):
    before = now_utc()
    room = client.create_room()
    assert room["ResponseMetadata"]["HTTPStatusCode"] == 200
    m = room_arn_re(server.region, server.account).match(room["arn"])
    assert m, room["arn"]
    assert ID_RE.match(room["id"]) and m.group(1) == room["id"]
    assert room.get("name", "") == ""
    assert room["maximumMessageLength"] == 500
    assert room["maximumMessageRatePerSecond"] == 10
    assert handler_uri(room) == ""
    assert room.get("tags", {}) == {}
    assert room.get("loggingConfigurationIdentifiers", []) == []
    assert_close(room["createTime"], before)
    assert isinstance(room["updateTime"], dt.datetime)
    assert room["updateTime"] >= room["createTime"]


def test_create_room_all_fields_echoed_and_persisted(client):
    name = unique("full")
    tags = {"env": "test", "team": "chat", "empty": ""}
    room = client.create_room(
        name=name,
        maximumMessageLength=200,
        maximumMessageRatePerSecond=50,
        messageReviewHandler={"uri": LAMBDA_ARN, "fallbackResult": "DENY"},
        tags=tags,
    )
    assert room["name"] == name
    assert room["maximumMessageLength"] == 200
    assert room["maximumMessageRatePerSecond"] == 50
    assert room["messageReviewHandler"] == {"uri": LAMBDA_ARN, "fallbackResult": "DENY"}
    assert room["tags"] == tags

    got = client.get_room(identifier=room["arn"])
    for k in ROOM_FIELDS_COMPARED:
        assert got[k] == room[k], k
    assert got["messageReviewHandler"] == {"uri": LAMBDA_ARN, "fallbackResult": "DENY"}
    assert got["tags"] == tags


def test_room_ids_are_unique(client):
    ids = {client.create_room(name=unique("uniq"))["id"] for _ in range(5)}
    assert len(ids) == 5


def test_limits_boundaries_accepted(client):
    low = client.create_room(name=unique("lo"), maximumMessageLength=1, maximumMessageRatePerSecond=1)
    assert (low["maximumMessageLength"], low["maximumMessageRatePerSecond"]) == (1, 1)
    high = client.create_room(name=unique("hi"), maximumMessageLength=500, maximumMessageRatePerSecond=100)
    assert (high["maximumMessageLength"], high["maximumMessageRatePerSecond"]) == (500, 100)


def test_name_boundaries_accepted(client):
    long_name = ("A-b_" * 32)[:128]
    room = client.create_room(name=long_name)
    assert client.get_room(identifier=room["arn"])["name"] == long_name
    empty = client.create_room(name="")
    assert client.get_room(identifier=empty["arn"]).get("name", "") == ""


def test_names_are_not_unique(client):
    name = unique("dup")
    a = client.create_room(name=name)
    b = client.create_room(name=name)
    assert a["arn"] != b["arn"]


def test_review_handler_fallback_defaults_to_allow(client):
    room = client.create_room(name=unique("fb"), messageReviewHandler={"uri": LAMBDA_ARN})
    assert room["messageReviewHandler"]["uri"] == LAMBDA_ARN
    assert room["messageReviewHandler"]["fallbackResult"] == "ALLOW"
    got = client.get_room(identifier=room["arn"])
    assert got["messageReviewHandler"] == {"uri": LAMBDA_ARN, "fallbackResult": "ALLOW"}


def test_review_handler_accepts_http_and_https_urls(client):
    for uri in ("https://review.example.com/hook?x=1", "http://127.0.0.1:9/review"):
        room = client.create_room(name=unique("url"), messageReviewHandler={"uri": uri, "fallbackResult": "DENY"})
        assert room["messageReviewHandler"] == {"uri": uri, "fallbackResult": "DENY"}
        assert client.get_room(identifier=room["arn"])["messageReviewHandler"]["uri"] == uri


def test_get_room(client):
    room = client.create_room(name=unique("get"), tags={"a": "1"})
    got = client.get_room(identifier=room["arn"])
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200
    for k in ROOM_FIELDS_COMPARED:
        assert got[k] == room[k], k
    assert got["tags"] == {"a": "1"}


def test_update_room_changes_only_given_fields(client):
    room = client.create_room(
        name=unique("upd"),
        maximumMessageLength=123,
        maximumMessageRatePerSecond=7,
        messageReviewHandler={"uri": LAMBDA_ARN, "fallbackResult": "DENY"},
        tags={"keep": "me"},
    )
    client.get_room(identifier=room["arn"])  # one more round trip between create and update
    new_name = unique("renamed")
    upd = client.update_room(identifier=room["arn"], name=new_name)
    assert upd["name"] == new_name
    assert upd["arn"] == room["arn"] and upd["id"] == room["id"]
    assert upd["maximumMessageLength"] == 123
    assert upd["maximumMessageRatePerSecond"] == 7
    assert upd["messageReviewHandler"] == {"uri": LAMBDA_ARN, "fallbackResult": "DENY"}
    assert upd["createTime"] == room["createTime"]
    assert upd["updateTime"] > room["updateTime"]
    assert upd.get("tags", {"keep": "me"}) == {"keep": "me"}

    upd2 = client.update_room(identifier=room["arn"], maximumMessageLength=42)
    assert upd2["name"] == new_name
    assert upd2["maximumMessageLength"] == 42
    assert upd2["maximumMessageRatePerSecond"] == 7
    assert upd2["updateTime"] > upd["updateTime"]

    got = client.get_room(identifier=room["arn"])
    assert got["name"] == new_name
    assert got["maximumMessageLength"] == 42
    assert got["maximumMessageRatePerSecond"] == 7
    assert got["updateTime"] == upd2["updateTime"]
    assert got["createTime"] == room["createTime"]
    assert got["tags"] == {"keep": "me"}


def test_update_room_rate_only(client):
    room = client.create_room(name=unique("rate"))
    upd = client.update_room(identifier=room["arn"], maximumMessageRatePerSecond=100)
    assert upd["maximumMessageRatePerSecond"] == 100
    assert upd["maximumMessageLength"] == 500
    assert upd["name"] == room["name"]


def test_update_room_empty_uri_detaches_handler(client):
    room = client.create_room(name=unique("det"), messageReviewHandler={"uri": LAMBDA_ARN})
    upd = client.update_room(identifier=room["arn"], messageReviewHandler={"uri": ""})
    assert handler_uri(upd) == ""
    assert handler_uri(client.get_room(identifier=room["arn"])) == ""
    assert room["arn"] not in [r["arn"] for r in list_all(client, messageReviewHandlerUri=LAMBDA_ARN)]


def test_update_room_attaches_and_switches_handler(client):
    room = client.create_room(name=unique("sw"))
    assert handler_uri(room) == ""
    upd = client.update_room(identifier=room["arn"], messageReviewHandler={"uri": LAMBDA_ARN})
    assert upd["messageReviewHandler"] == {"uri": LAMBDA_ARN, "fallbackResult": "ALLOW"}
    url = "https://hooks.example.org/review"
    upd = client.update_room(identifier=room["arn"], messageReviewHandler={"uri": url, "fallbackResult": "DENY"})
    assert upd["messageReviewHandler"] == {"uri": url, "fallbackResult": "DENY"}
    assert client.get_room(identifier=room["arn"])["messageReviewHandler"] == {"uri": url, "fallbackResult": "DENY"}


def test_delete_room_returns_204_and_room_is_gone(client):
    room = client.create_room(name=unique("del"))
    resp = client.delete_room(identifier=room["arn"])
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    with raises_aws("ResourceNotFoundException", 404) as err:
        client.get_room(identifier=room["arn"])
    assert err.response["resourceId"] == room["id"]
    assert err.response["resourceType"] == "ROOM"
    assert room["arn"] not in [r["arn"] for r in list_all(client, name=room["name"])]
    with raises_aws("ResourceNotFoundException", 404):
        client.delete_room(identifier=room["arn"])


def test_delete_room_raw_is_empty_204(server, client, signed):
    room = client.create_room(name=unique("raw"))
    resp = signed("POST", "/DeleteRoom", {"identifier": room["arn"]})
    assert resp.status_code == 204
    assert resp.content == b""


def test_unknown_room_is_404_everywhere(server, client):
    rid = random_id()
    arn = server.room_arn(rid)
    calls = [
        lambda: client.get_room(identifier=arn),
        lambda: client.update_room(identifier=arn, name="x"),
        lambda: client.delete_room(identifier=arn),
    ]
    for call in calls:
        with raises_aws("ResourceNotFoundException", 404) as err:
            call()
        assert err.response["resourceId"] == rid
        assert err.response["resourceType"] == "ROOM"


def test_room_of_other_account_or_region_is_not_found(server, client):
    room = client.create_room(name=unique("xacct"))
    foreign = room["arn"].replace(f":{server.account}:", ":999999999999:")
    with raises_aws("ResourceNotFoundException", 404):
        client.get_room(identifier=foreign)
    other_region = room["arn"].replace(f":{server.region}:", ":ap-south-1:")
    with raises_aws("ResourceNotFoundException", 404):
        client.get_room(identifier=other_region)


# ------------------------------------------------------------------ ListRooms


def test_list_rooms_newest_update_first(client):
    name = unique("order")
    a = client.create_room(name=name)
    b = client.create_room(name=name)
    c = client.create_room(name=name)
    listed = client.list_rooms(name=name)["rooms"]
    assert [r["arn"] for r in listed] == [c["arn"], b["arn"], a["arn"]]
    times = [r["updateTime"] for r in listed]
    assert times == sorted(times, reverse=True)

    client.update_room(identifier=a["arn"], maximumMessageLength=99)
    listed = client.list_rooms(name=name)["rooms"]
    assert [r["arn"] for r in listed] == [a["arn"], c["arn"], b["arn"]]


def test_list_rooms_whole_list_is_sorted_by_update_time(client):
    client.create_room(name=unique("sorted"))
    rooms = list_all(client, maxResults=50)
    times = [r["updateTime"] for r in rooms]
    assert times == sorted(times, reverse=True)


def test_list_rooms_summary_shape(server, client):
    name = unique("summary")
    room = client.create_room(name=name, tags={"k": "v"}, messageReviewHandler={"uri": LAMBDA_ARN})
    rooms = client.list_rooms(name=name)["rooms"]
    assert len(rooms) == 1
    s = rooms[0]
    assert s["arn"] == room["arn"]
    assert s["id"] == room["id"]
    assert s["name"] == name
    assert s["createTime"] == room["createTime"]
    assert s["updateTime"] == room["updateTime"]
    assert s["tags"] == {"k": "v"}
    assert s["messageReviewHandler"] == {"uri": LAMBDA_ARN, "fallbackResult": "ALLOW"}
    assert s.get("loggingConfigurationIdentifiers", []) == []


def test_list_rooms_filter_by_name_is_exact(client):
    name = unique("exact")
    mine = {client.create_room(name=name)["arn"] for _ in range(2)}
    client.create_room(name=name + "x")
    client.create_room(name=name[:-1])
    got = {r["arn"] for r in list_all(client, name=name)}
    assert got == mine


def test_list_rooms_unknown_name_is_empty(client):
    resp = client.list_rooms(name=unique("nobody"))
    assert resp["rooms"] == []
    assert not resp.get("nextToken")


def test_list_rooms_filter_by_review_handler_uri(client):
    uri = f"arn:aws:lambda:us-east-1:123456789012:function:{unique('fn')}"
    with_h = client.create_room(name=unique("h"), messageReviewHandler={"uri": uri})
    client.create_room(name=unique("h"), messageReviewHandler={"uri": LAMBDA_ARN})
    client.create_room(name=unique("h"))
    got = [r["arn"] for r in list_all(client, messageReviewHandlerUri=uri)]
    assert got == [with_h["arn"]]

    url = f"https://hooks.example.com/{unique('u')}"
    with_url = client.create_room(name=unique("h"), messageReviewHandler={"uri": url})
    assert [r["arn"] for r in list_all(client, messageReviewHandlerUri=url)] == [with_url["arn"]]


def test_list_rooms_filter_by_logging_configuration(client, new_lc):
    lc = new_lc()
    other = new_lc()
    r1 = client.create_room(name=unique("lf"), loggingConfigurationIdentifiers=[lc["arn"]])
    r2 = client.create_room(name=unique("lf"), loggingConfigurationIdentifiers=[other["arn"], lc["arn"]])
    client.create_room(name=unique("lf"), loggingConfigurationIdentifiers=[other["arn"]])
    got = {r["arn"] for r in list_all(client, loggingConfigurationIdentifier=lc["arn"])}
    assert got == {r1["arn"], r2["arn"]}
    summary = next(r for r in list_all(client, loggingConfigurationIdentifier=lc["arn"]) if r["arn"] == r2["arn"])
    assert sorted(summary["loggingConfigurationIdentifiers"]) == sorted([other["arn"], lc["arn"]])


def test_list_rooms_filters_combine(client):
    name = unique("combo")
    uri = f"arn:aws:lambda:us-east-1:123456789012:function:{unique('fn')}"
    both = client.create_room(name=name, messageReviewHandler={"uri": uri})
    client.create_room(name=name)
    client.create_room(name=unique("combo"), messageReviewHandler={"uri": uri})
    got = [r["arn"] for r in list_all(client, name=name, messageReviewHandlerUri=uri)]
    assert got == [both["arn"]]


def test_list_rooms_max_results_bounds(client, raw_client):
    name = unique("max")
    for _ in range(3):
        client.create_room(name=name)
    one = client.list_rooms(name=name, maxResults=1)
    assert len(one["rooms"]) == 1
    assert one.get("nextToken")
    fifty = client.list_rooms(name=name, maxResults=50)
    assert len(fifty["rooms"]) == 3
    assert not fifty.get("nextToken")
    for bad in (0, 51, -1):
        with raises_aws("ValidationException", 400, field="maxResults"):
            raw_client.list_rooms(maxResults=bad)


def test_list_rooms_default_page_size_is_at_most_50(client):
    for _ in range(2):
        client.create_room(name=unique("pg"))
    resp = client.list_rooms()
    assert 1 <= len(resp["rooms"]) <= 50


def test_list_rooms_pagination_visits_every_room_once(client):
    name = unique("page")
    created = [client.create_room(name=name)["arn"] for _ in range(7)]
    for size in (1, 2, 3, 7, 50):
        seen = [r["arn"] for r in list_all(client, name=name, maxResults=size)]
        assert len(seen) == len(set(seen)), f"duplicates with maxResults={size}"
        assert set(seen) == set(created), f"maxResults={size}"


def test_list_rooms_unfiltered_pagination_includes_everything_once(client):
    created = {client.create_room(name=unique("all"))["arn"] for _ in range(5)}
    seen = [r["arn"] for r in list_all(client, maxResults=7)]
    assert len(seen) == len(set(seen))
    assert created <= set(seen)


def test_list_rooms_pagination_stable_while_rooms_are_created(client):
    name = unique("conc")
    existing = [client.create_room(name=name)["arn"] for _ in range(6)]
    seen: list[str] = []
    added: list[str] = []
    token = None
    for _ in range(100):
        kwargs = {"name": name, "maxResults": 2}
        if token:
            kwargs["nextToken"] = token
        resp = client.list_rooms(**kwargs)
        seen.extend(r["arn"] for r in resp["rooms"])
        token = resp.get("nextToken")
        if not token:
            break
        added.append(client.create_room(name=name)["arn"])  # newer than everything listed so far
    else:
        raise AssertionError("pagination did not terminate")
    assert len(seen) == len(set(seen)), "a room was returned twice"
    assert set(existing) <= set(seen), f"skipped: {set(existing) - set(seen)}"
    assert set(seen) <= set(existing) | set(added)


def test_list_rooms_pagination_stable_while_rooms_are_deleted(client):
    name = unique("concdel")
    existing = [client.create_room(name=name)["arn"] for _ in range(6)]
    first = client.list_rooms(name=name, maxResults=2)
    page1 = [r["arn"] for r in first["rooms"]]
    # Delete the rooms already returned; the rest must still all come, once.
    for arn in page1:
        client.delete_room(identifier=arn)
    rest: list[str] = []
    token = first["nextToken"]
    while token:
        resp = client.list_rooms(name=name, maxResults=2, nextToken=token)
        rest.extend(r["arn"] for r in resp["rooms"])
        token = resp.get("nextToken")
    assert len(rest) == len(set(rest))
    assert set(rest) == set(existing) - set(page1)


def test_list_rooms_garbage_next_token(client):
    for bad in ("!!notatoken!!", "garbage", "eyJvZmZzZXQiOiAtMX0"):
        with raises_aws("ValidationException", 400):
            client.list_rooms(nextToken=bad)


def test_list_rooms_next_token_too_long(client):
    with raises_aws("ValidationException", 400, field="nextToken"):
        client.list_rooms(nextToken="a" * 1025)


# ------------------------------------------------------------------ rooms and logging configurations


def test_create_room_with_logging_configurations(client, new_lc):
    lcs = [new_lc()["arn"] for _ in range(3)]
    room = client.create_room(name=unique("logged"), loggingConfigurationIdentifiers=lcs)
    assert sorted(room["loggingConfigurationIdentifiers"]) == sorted(lcs)
    got = client.get_room(identifier=room["arn"])
    assert sorted(got["loggingConfigurationIdentifiers"]) == sorted(lcs)


def test_create_room_with_unknown_logging_configuration_is_404(server, client):
    name = unique("nolc")
    with raises_aws("ResourceNotFoundException", 404):
        client.create_room(name=name, loggingConfigurationIdentifiers=[server.lc_arn()])
    assert client.list_rooms(name=name)["rooms"] == [], "a failed CreateRoom must not leave a room behind"


def test_update_room_logging_configurations_replace_and_detach(server, client, new_lc):
    a, b = new_lc()["arn"], new_lc()["arn"]
    room = client.create_room(name=unique("relog"), loggingConfigurationIdentifiers=[a])
    upd = client.update_room(identifier=room["arn"], loggingConfigurationIdentifiers=[b])
    assert upd["loggingConfigurationIdentifiers"] == [b]
    # Updating another field keeps the attachment.
    upd = client.update_room(identifier=room["arn"], name=unique("relog2"))
    assert upd["loggingConfigurationIdentifiers"] == [b]
    upd = client.update_room(identifier=room["arn"], loggingConfigurationIdentifiers=[])
    assert upd.get("loggingConfigurationIdentifiers", []) == []
    assert client.get_room(identifier=room["arn"]).get("loggingConfigurationIdentifiers", []) == []
    with raises_aws("ResourceNotFoundException", 404):
        client.update_room(identifier=room["arn"], loggingConfigurationIdentifiers=[server.lc_arn()])
    assert client.get_room(identifier=room["arn"]).get("loggingConfigurationIdentifiers", []) == []
