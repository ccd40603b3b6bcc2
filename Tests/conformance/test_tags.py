"""TagResource / UntagResource / ListTagsForResource on rooms and logging configurations."""

from __future__ import annotations

import pytest

from parley_support import assert_raw_error, assert_validation, raises_aws, random_id, tags_path, unique


@pytest.fixture(params=["room", "logging-configuration"])
def resource(request, client):
    if request.param == "room":
        return client.create_room(name=unique("tagged"))
    return client.create_logging_configuration(
        name=unique("tagged"), destinationConfiguration={"s3": {"bucketName": "tag-bucket"}}
    )


def test_tag_merge_untag_list(client, resource):
    arn = resource["arn"]
    assert client.list_tags_for_resource(resourceArn=arn)["tags"] == {}
    resp = client.tag_resource(resourceArn=arn, tags={"a": "1", "b": "2"})
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    client.tag_resource(resourceArn=arn, tags={"b": "20", "c": "3"})
    assert client.list_tags_for_resource(resourceArn=arn)["tags"] == {"a": "1", "b": "20", "c": "3"}
    resp = client.untag_resource(resourceArn=arn, tagKeys=["a", "c", "not-there"])
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert client.list_tags_for_resource(resourceArn=arn)["tags"] == {"b": "20"}


def test_tags_visible_on_get(client):
    room = client.create_room(name=unique("tg"), tags={"x": "y"})
    client.tag_resource(resourceArn=room["arn"], tags={"z": "w"})
    assert client.get_room(identifier=room["arn"])["tags"] == {"x": "y", "z": "w"}
    lc = client.create_logging_configuration(destinationConfiguration={"s3": {"bucketName": "b-1"}}, tags={"p": "q"})
    client.untag_resource(resourceArn=lc["arn"], tagKeys=["p"])
    assert client.get_logging_configuration(identifier=lc["arn"]).get("tags", {}) == {}


def test_create_room_tags_are_listed(client):
    room = client.create_room(name=unique("ctg"), tags={"env": "prod", "owner": "team-chat"})
    assert client.get_room(identifier=room["arn"])["tags"] == {"env": "prod", "owner": "team-chat"}
    assert client.list_tags_for_resource(resourceArn=room["arn"])["tags"] == {"env": "prod", "owner": "team-chat"}


def test_tags_with_special_characters(client, resource):
    tags = {"a b": "c d", "x/y": "1=2&3", "ключ": "значение", "k+:@": ""}
    client.tag_resource(resourceArn=resource["arn"], tags=tags)
    assert client.list_tags_for_resource(resourceArn=resource["arn"])["tags"] == tags
    client.untag_resource(resourceArn=resource["arn"], tagKeys=["a b", "x/y", "ключ", "k+:@"])
    assert client.list_tags_for_resource(resourceArn=resource["arn"])["tags"] == {}


def test_tag_boundaries(client, resource):
    tags = {"k" * 128: "v" * 256, "empty-value": ""}
    client.tag_resource(resourceArn=resource["arn"], tags=tags)
    assert client.list_tags_for_resource(resourceArn=resource["arn"])["tags"] == tags


def test_more_than_50_tags_total(client, resource):
    arn = resource["arn"]
    client.tag_resource(resourceArn=arn, tags={f"t{i:02d}": "v" for i in range(45)})
    # Overwriting existing keys and reaching exactly 50 is fine.
    client.tag_resource(resourceArn=arn, tags={**{f"t{i:02d}": "w" for i in range(5)}, **{f"n{i}": "v" for i in range(5)}})
    assert len(client.list_tags_for_resource(resourceArn=arn)["tags"]) == 50
    with raises_aws("ValidationException", 400, field="tags"):
        client.tag_resource(resourceArn=arn, tags={"one-too-many": "v"})
    tags = client.list_tags_for_resource(resourceArn=arn)["tags"]
    assert len(tags) == 50 and "one-too-many" not in tags


def test_create_with_51_tags(client):
    with raises_aws("ValidationException", 400, field="tags"):
        client.create_room(name=unique("t51"), tags={f"k{i}": "v" for i in range(51)})
    with raises_aws("ValidationException", 400, field="tags"):
        client.create_logging_configuration(
            destinationConfiguration={"s3": {"bucketName": "b-1"}}, tags={f"k{i}": "v" for i in range(51)}
        )
    with raises_aws("ValidationException", 400, field="tags"):
        client.tag_resource(resourceArn=client.create_room()["arn"], tags={f"k{i}": "v" for i in range(51)})


def test_tag_key_and_value_lengths(client, raw_client, resource):
    arn = resource["arn"]
    with raises_aws("ValidationException", 400, field="tags"):
        client.tag_resource(resourceArn=arn, tags={"k" * 129: "v"})
    with raises_aws("ValidationException", 400, field="tags"):
        client.tag_resource(resourceArn=arn, tags={"k": "v" * 257})
    with raises_aws("ValidationException", 400, field="tags"):
        raw_client.tag_resource(resourceArn=arn, tags={"": "v"})
    with raises_aws("ValidationException", 400, field="tags"):
        client.create_room(name=unique("tl"), tags={"k" * 129: "v"})
    with raises_aws("ValidationException", 400, field="tags"):
        client.create_room(name=unique("tl"), tags={"k": "v" * 257})
    assert client.list_tags_for_resource(resourceArn=arn)["tags"] == {}


def test_untag_key_limits(client, resource):
    with raises_aws("ValidationException", 400, field="tagKeys"):
        client.untag_resource(resourceArn=resource["arn"], tagKeys=[f"k{i}" for i in range(51)])
    with raises_aws("ValidationException", 400, field="tagKeys"):
        client.untag_resource(resourceArn=resource["arn"], tagKeys=["k" * 129])


def test_unknown_resources_are_404(server, client):
    for arn in (server.room_arn(), server.lc_arn()):
        with raises_aws("ResourceNotFoundException", 404):
            client.list_tags_for_resource(resourceArn=arn)
        with raises_aws("ResourceNotFoundException", 404):
            client.tag_resource(resourceArn=arn, tags={"a": "b"})
        with raises_aws("ResourceNotFoundException", 404):
            client.untag_resource(resourceArn=arn, tagKeys=["a"])


def test_deleted_room_tags_are_404(client):
    room = client.create_room(name=unique("gone"), tags={"a": "b"})
    client.delete_room(identifier=room["arn"])
    with raises_aws("ResourceNotFoundException", 404):
        client.list_tags_for_resource(resourceArn=room["arn"])


@pytest.mark.parametrize("arn", ["not-an-arn", "arn:aws:s3:::my-bucket", "arn:aws:ivschat:us-east-1:000000000000:channel"])
def test_malformed_resource_arn(raw_client, arn):
    with raises_aws("ValidationException", 400, field="resourceArn"):
        raw_client.list_tags_for_resource(resourceArn=arn)
    with raises_aws("ValidationException", 400, field="resourceArn"):
        raw_client.tag_resource(resourceArn=arn, tags={"a": "b"})


def test_tag_resource_requires_tags(signed, client):
    room = client.create_room(name=unique("req"))
    resp = signed("POST", tags_path(room["arn"]), {})
    body = assert_raw_error(resp, 400, "ValidationException")
    assert_validation(body, "tags")


def test_untag_resource_requires_tag_keys(signed, client):
    room = client.create_room(name=unique("req"), tags={"a": "b"})
    resp = signed("DELETE", tags_path(room["arn"]))
    body = assert_raw_error(resp, 400, "ValidationException")
    assert_validation(body, "tagKeys")
    assert client.list_tags_for_resource(resourceArn=room["arn"])["tags"] == {"a": "b"}


def test_raw_tag_routes(signed, client):
    room = client.create_room(name=unique("rawtags"))
    path = tags_path(room["arn"])
    r = signed("POST", path, {"tags": {"k1": "v1", "k2": "v2"}})
    assert r.status_code == 200, r.text
    r = signed("GET", path)
    assert r.status_code == 200 and r.json() == {"tags": {"k1": "v1", "k2": "v2"}}
    r = signed("DELETE", path, query=[("tagKeys", "k1"), ("tagKeys", "k2")])
    assert r.status_code == 200, r.text
    assert signed("GET", path).json() == {"tags": {}}


def test_tags_appear_in_list_summaries(client):
    name = unique("sumtags")
    room = client.create_room(name=name, tags={"s": "t"})
    client.tag_resource(resourceArn=room["arn"], tags={"u": "v"})
    summary = client.list_rooms(name=name)["rooms"][0]
    assert summary["tags"] == {"s": "t", "u": "v"}


def test_random_id_resource_has_resource_id(server, client):
    rid = random_id()
    with raises_aws("ResourceNotFoundException", 404) as err:
        client.list_tags_for_resource(resourceArn=server.room_arn(rid))
    assert err.response["resourceId"] == rid
