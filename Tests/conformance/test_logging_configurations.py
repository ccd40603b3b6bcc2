"""Create/Get/Update/Delete/ListLoggingConfiguration(s) through boto3."""

from __future__ import annotations

import datetime as dt

import pytest

from parley_support import ID_RE, assert_close, lc_arn_re, now_utc, raises_aws, unique

DESTINATIONS = {
    "s3": {"s3": {"bucketName": "my-bucket.logs-1"}},
    "cloudWatchLogs": {"cloudWatchLogs": {"logGroupName": "/aws/ivschat/room_logs#1"}},
    "firehose": {"firehose": {"deliveryStreamName": "chat_stream-1.a"}},
}


def list_all_lcs(client, **kwargs) -> list[dict]:
    out, token = [], None
    for _ in range(1000):
        resp = client.list_logging_configurations(**kwargs, **({"nextToken": token} if token else {}))
        out.extend(resp["loggingConfigurations"])
        token = resp.get("nextToken")
        if not token:
            return out
    raise AssertionError("ListLoggingConfigurations pagination does not terminate")


@pytest.mark.parametrize("kind", sorted(DESTINATIONS))
def test_create_logging_configuration(server, client, kind):
    name = unique("lc")
    before = now_utc()
    lc = client.create_logging_configuration(
        name=name, destinationConfiguration=DESTINATIONS[kind], tags={"kind": kind}
    )
    assert lc["ResponseMetadata"]["HTTPStatusCode"] == 200
    m = lc_arn_re(server.region, server.account).match(lc["arn"])
    assert m, lc["arn"]
    assert ID_RE.match(lc["id"]) and m.group(1) == lc["id"]
    assert lc["name"] == name
    assert lc["destinationConfiguration"] == DESTINATIONS[kind]
    assert lc["state"] == "ACTIVE"
    assert lc["tags"] == {"kind": kind}
    assert_close(lc["createTime"], before)
    assert isinstance(lc["updateTime"], dt.datetime) and lc["updateTime"] >= lc["createTime"]


def test_create_logging_configuration_without_name_or_tags(client):
    lc = client.create_logging_configuration(destinationConfiguration=DESTINATIONS["s3"])
    assert lc.get("name", "") == ""
    assert lc.get("tags", {}) == {}
    assert lc["state"] == "ACTIVE"


def test_get_logging_configuration(client, new_lc):
    lc = new_lc(destinationConfiguration=DESTINATIONS["firehose"], tags={"a": "b"})
    got = client.get_logging_configuration(identifier=lc["arn"])
    for k in ("arn", "id", "name", "createTime", "updateTime", "destinationConfiguration"):
        assert got[k] == lc[k], k
    assert got["state"] == "ACTIVE"
    assert got["tags"] == {"a": "b"}


def test_update_logging_configuration_name_only(client, new_lc):
    lc = new_lc(destinationConfiguration=DESTINATIONS["cloudWatchLogs"])
    client.get_logging_configuration(identifier=lc["arn"])
    new_name = unique("renamed")
    upd = client.update_logging_configuration(identifier=lc["arn"], name=new_name)
    assert upd["name"] == new_name
    assert upd["destinationConfiguration"] == DESTINATIONS["cloudWatchLogs"]
    assert upd["state"] == "ACTIVE"
    assert upd["arn"] == lc["arn"] and upd["createTime"] == lc["createTime"]
    assert upd["updateTime"] > lc["updateTime"]
    got = client.get_logging_configuration(identifier=lc["arn"])
    assert got["name"] == new_name
    assert got["destinationConfiguration"] == DESTINATIONS["cloudWatchLogs"]


def test_update_logging_configuration_destination_replaces_union(client, new_lc):
    lc = new_lc(destinationConfiguration=DESTINATIONS["s3"])
    upd = client.update_logging_configuration(
        identifier=lc["arn"], destinationConfiguration=DESTINATIONS["firehose"]
    )
    assert upd["destinationConfiguration"] == DESTINATIONS["firehose"]
    assert upd["name"] == lc["name"]
    got = client.get_logging_configuration(identifier=lc["arn"])
    assert got["destinationConfiguration"] == DESTINATIONS["firehose"]
    assert "s3" not in got["destinationConfiguration"]


def test_delete_logging_configuration(client, new_lc):
    lc = new_lc()
    resp = client.delete_logging_configuration(identifier=lc["arn"])
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    with raises_aws("ResourceNotFoundException", 404) as err:
        client.get_logging_configuration(identifier=lc["arn"])
    assert err.response["resourceId"] == lc["id"]
    assert lc["arn"] not in {x["arn"] for x in list_all_lcs(client)}


def test_delete_logging_configuration_raw_is_empty_204(client, signed, new_lc):
    lc = new_lc()
    resp = signed("POST", "/DeleteLoggingConfiguration", {"identifier": lc["arn"]})
    assert resp.status_code == 204
    assert resp.content == b""


def test_unknown_logging_configuration_is_404(server, client):
    arn = server.lc_arn()
    lc_id = arn.rsplit("/", 1)[1]
    for call in (
        lambda: client.get_logging_configuration(identifier=arn),
        lambda: client.update_logging_configuration(identifier=arn, name="x"),
        lambda: client.delete_logging_configuration(identifier=arn),
    ):
        with raises_aws("ResourceNotFoundException", 404) as err:
            call()
        assert err.response["resourceId"] == lc_id


def test_delete_attached_logging_configuration_conflicts(client, new_lc):
    lc = new_lc()
    room = client.create_room(name=unique("att"), loggingConfigurationIdentifiers=[lc["arn"]])
    with raises_aws("ConflictException", 409) as err:
        client.delete_logging_configuration(identifier=lc["arn"])
    assert err.response.get("resourceId"), err.response
    # Still there, still attached.
    assert client.get_logging_configuration(identifier=lc["arn"])["state"] == "ACTIVE"
    assert client.get_room(identifier=room["arn"])["loggingConfigurationIdentifiers"] == [lc["arn"]]

    client.update_room(identifier=room["arn"], loggingConfigurationIdentifiers=[])
    resp = client.delete_logging_configuration(identifier=lc["arn"])
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_deleting_the_room_releases_its_logging_configuration(client, new_lc):
    lc = new_lc()
    room = client.create_room(name=unique("att2"), loggingConfigurationIdentifiers=[lc["arn"]])
    client.delete_room(identifier=room["arn"])
    resp = client.delete_logging_configuration(identifier=lc["arn"])
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_list_logging_configurations_shape(client, new_lc):
    lc = new_lc(destinationConfiguration=DESTINATIONS["cloudWatchLogs"], tags={"t": "1"})
    found = [x for x in list_all_lcs(client) if x["arn"] == lc["arn"]]
    assert len(found) == 1
    s = found[0]
    assert s["id"] == lc["id"]
    assert s["name"] == lc["name"]
    assert s["destinationConfiguration"] == DESTINATIONS["cloudWatchLogs"]
    assert s["state"] == "ACTIVE"
    assert s["tags"] == {"t": "1"}
    assert s["createTime"] == lc["createTime"] and s["updateTime"] == lc["updateTime"]


def test_list_logging_configurations_pagination(client, new_lc):
    created = {new_lc()["arn"] for _ in range(5)}
    for size in (1, 2, 5, 50):
        seen = [x["arn"] for x in list_all_lcs(client, maxResults=size)]
        assert len(seen) == len(set(seen)), f"duplicates with maxResults={size}"
        assert created <= set(seen), f"maxResults={size}"
    one = client.list_logging_configurations(maxResults=1)
    assert len(one["loggingConfigurations"]) == 1
    assert one.get("nextToken")


def test_list_logging_configurations_stable_while_created(client, new_lc):
    existing = {new_lc()["arn"] for _ in range(4)}
    seen: list[str] = []
    added: set[str] = set()
    token = None
    for _ in range(10000):
        resp = client.list_logging_configurations(maxResults=3, **({"nextToken": token} if token else {}))
        seen.extend(x["arn"] for x in resp["loggingConfigurations"])
        token = resp.get("nextToken")
        if not token:
            break
        if len(added) < 5:
            added.add(new_lc()["arn"])
    else:
        raise AssertionError("pagination did not terminate")
    assert len(seen) == len(set(seen)), "a logging configuration was returned twice"
    assert existing <= set(seen)


def test_list_logging_configurations_bounds_and_bad_token(client, raw_client):
    for bad in (0, 51):
        with raises_aws("ValidationException", 400, field="maxResults"):
            raw_client.list_logging_configurations(maxResults=bad)
    with raises_aws("ValidationException", 400):
        client.list_logging_configurations(nextToken="!!notatoken!!")
