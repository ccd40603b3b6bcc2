"""Server settings (region/account, quotas, token lifetime), offline key management,
first-start credentials, persistence across restarts. Each test runs its own server(s)."""

from __future__ import annotations

import datetime as dt
import re

from parley_support import (
    ADMIN_ACCESS_KEY_ID,
    ADMIN_SECRET_ACCESS_KEY,
    assert_close,
    lc_arn_re,
    now_utc,
    parse_credentials,
    raises_aws,
    room_arn_re,
    run_keys,
    unique,
)


def test_region_and_account_shape_arns(start_server):
    srv = start_server(region="eu-west-1", account="123456789012")
    client = srv.client()
    room = client.create_room(name=unique("eu"))
    assert re.match(r"^arn:aws:ivschat:eu-west-1:123456789012:room/[a-zA-Z0-9]{12}$", room["arn"]), room["arn"]
    lc = client.create_logging_configuration(destinationConfiguration={"s3": {"bucketName": "eu-bucket"}})
    assert lc_arn_re("eu-west-1", "123456789012").match(lc["arn"]), lc["arn"]
    listed = client.list_rooms()["rooms"]
    assert listed and all(room_arn_re("eu-west-1", "123456789012").match(r["arn"]) for r in listed)
    # Requests must be signed for the server's region.
    wrong_region = srv.client(region="us-east-1")
    with raises_aws(("InvalidSignatureException", "SignatureDoesNotMatch"), 403):
        wrong_region.get_room(identifier=room["arn"])
    # ARNs naming another region/account are not this server's resources.
    with raises_aws("ResourceNotFoundException", 404):
        client.get_room(identifier=room["arn"].replace(":123456789012:", ":000000000000:"))


def test_room_quota(start_server):
    srv = start_server(PARLEY_MAX_ROOMS=2)
    client = srv.client()
    a = client.create_room(name=unique("q"))
    client.create_room(name=unique("q"))
    with raises_aws("ServiceQuotaExceededException", 402) as err:
        client.create_room(name=unique("q"))
    assert err.response["limit"] == 2
    assert len(client.list_rooms()["rooms"]) == 2
    client.delete_room(identifier=a["arn"])
    client.create_room(name=unique("q"))
    assert len(client.list_rooms()["rooms"]) == 2


def test_logging_configuration_quota(start_server):
    srv = start_server(PARLEY_MAX_LOGGING_CONFIGURATIONS=2)
    client = srv.client()
    dest = {"firehose": {"deliveryStreamName": "quota-stream"}}
    a = client.create_logging_configuration(destinationConfiguration=dest)
    client.create_logging_configuration(destinationConfiguration=dest)
    with raises_aws("ServiceQuotaExceededException", 402) as err:
        client.create_logging_configuration(destinationConfiguration=dest)
    assert err.response["limit"] == 2
    assert len(client.list_logging_configurations()["loggingConfigurations"]) == 2
    client.delete_logging_configuration(identifier=a["arn"])
    client.create_logging_configuration(destinationConfiguration=dest)


def test_token_lifetime_setting(start_server):
    srv = start_server(PARLEY_TOKEN_LIFETIME_SECONDS=300)
    client = srv.client()
    room = client.create_room()
    before = now_utc()
    tok = client.create_chat_token(roomIdentifier=room["arn"], userId="u")
    assert_close(tok["tokenExpirationTime"], before + dt.timedelta(seconds=300), tolerance_s=10)
    assert_close(tok["sessionExpirationTime"], before + dt.timedelta(minutes=60), tolerance_s=10)


def test_persistence_across_restart(start_server):
    srv = start_server()
    client = srv.client()
    lc = client.create_logging_configuration(
        name="persist-lc", destinationConfiguration={"cloudWatchLogs": {"logGroupName": "persist"}}, tags={"l": "c"}
    )
    room = client.create_room(
        name="persist-room",
        maximumMessageLength=321,
        maximumMessageRatePerSecond=12,
        messageReviewHandler={"uri": "https://hooks.example.com/p", "fallbackResult": "DENY"},
        loggingConfigurationIdentifiers=[lc["arn"]],
        tags={"r": "m"},
    )
    other = client.create_room(name="persist-other")
    client.delete_room(identifier=other["arn"])
    before_list = [r["arn"] for r in client.list_rooms()["rooms"]]

    srv.restart()  # SIGTERM (asserted exit 0) + start on the same data dir
    client = srv.client()
    got = client.get_room(identifier=room["arn"])
    for k in ("arn", "id", "name", "createTime", "updateTime", "maximumMessageLength",
              "maximumMessageRatePerSecond", "messageReviewHandler", "loggingConfigurationIdentifiers"):
        assert got[k] == room[k], k
    assert got["tags"] == {"r": "m"}
    assert [r["arn"] for r in client.list_rooms()["rooms"]] == before_list
    with raises_aws("ResourceNotFoundException", 404):
        client.get_room(identifier=other["arn"])
    got_lc = client.get_logging_configuration(identifier=lc["arn"])
    assert got_lc["destinationConfiguration"] == lc["destinationConfiguration"]
    assert got_lc["name"] == "persist-lc" and got_lc["tags"] == {"l": "c"}
    assert client.list_tags_for_resource(resourceArn=room["arn"])["tags"] == {"r": "m"}
    with raises_aws("ConflictException", 409):
        client.delete_logging_configuration(identifier=lc["arn"])
    # New ids keep being unique after the restart.
    assert client.create_room()["id"] not in {room["id"], other["id"]}


def _created_key(proc) -> tuple[str, str]:
    assert proc.returncode == 0, proc.stderr
    key = re.search(r"^\s*AccessKeyId:\s*(\S+)\s*$", proc.stdout, re.M)
    secret = re.search(r"^\s*SecretAccessKey:\s*(\S+)\s*$", proc.stdout, re.M)
    assert key and secret, f"unexpected `keys create` output: {proc.stdout!r}"
    return key.group(1), secret.group(1)


def _key_line(listing: str, key_id: str) -> str:
    lines = [line for line in listing.splitlines() if key_id in re.split(r"[\s:,|=\t]+", line)]
    assert len(lines) == 1, f"{key_id} not listed exactly once in {listing!r}"
    return lines[0]


def test_offline_keys_create_list_revoke(parley_binary, start_server, tmp_path):
    data_dir = tmp_path / "keys-data"
    data_dir.mkdir()
    key_id, secret = _created_key(run_keys(parley_binary, data_dir, "create"))
    assert re.match(r"^[A-Za-z0-9]{16,128}$", key_id), key_id
    assert len(secret) >= 30
    key2, secret2 = _created_key(run_keys(parley_binary, data_dir, "create"))
    assert key2 != key_id and secret2 != secret

    listing = run_keys(parley_binary, data_dir, "list")
    assert listing.returncode == 0, listing.stderr
    assert re.search(r"active", _key_line(listing.stdout, key_id), re.I)
    assert secret not in listing.stdout and secret2 not in listing.stdout

    srv = start_server(data_dir=data_dir)
    offline = srv.client(access_key=key_id, secret_key=secret)
    room = offline.create_room(name=unique("offline"))
    assert srv.client().get_room(identifier=room["arn"])["arn"] == room["arn"]
    srv.stop()

    revoke = run_keys(parley_binary, data_dir, "revoke", key_id)
    assert revoke.returncode == 0, revoke.stderr
    listing = run_keys(parley_binary, data_dir, "list")
    assert re.search(r"revoked|inactive|disabled", _key_line(listing.stdout, key_id), re.I)
    assert re.search(r"active", _key_line(listing.stdout, key2), re.I)

    srv.start()
    with raises_aws("UnrecognizedClientException", 403):
        srv.client(access_key=key_id, secret_key=secret).list_rooms()
    assert srv.client(access_key=key2, secret_key=secret2).get_room(identifier=room["arn"])["arn"] == room["arn"]


def test_revoking_unknown_key_fails(parley_binary, tmp_path):
    data_dir = tmp_path / "keys-data"
    data_dir.mkdir()
    proc = run_keys(parley_binary, data_dir, "revoke", "AKIDDOESNOTEXIST0000")
    assert proc.returncode != 0


def test_env_admin_key_is_ensured_and_listed(parley_binary, start_server, tmp_path):
    data_dir = tmp_path / "env-key"
    srv = start_server(data_dir=data_dir)
    assert srv.client().list_rooms()["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert ADMIN_SECRET_ACCESS_KEY not in srv.output()
    srv.stop()
    listing = run_keys(parley_binary, data_dir, "list")
    assert listing.returncode == 0, listing.stderr
    assert ADMIN_ACCESS_KEY_ID in listing.stdout
    assert ADMIN_SECRET_ACCESS_KEY not in listing.stdout


def test_first_start_prints_credentials_once(start_server, tmp_path):
    data_dir = tmp_path / "fresh"
    srv = start_server(data_dir=data_dir, access_key=None, secret_key=None)
    srv.stop()  # output is read after exit so buffering cannot hide it
    first = srv.output(run=1)
    key_id, secret = parse_credentials(first)
    assert key_id and secret, f"no credentials printed on first start:\n{first[-2000:]}"

    srv.start()
    client = srv.client(access_key=key_id, secret_key=secret)
    assert client.list_rooms()["ResponseMetadata"]["HTTPStatusCode"] == 200
    room = client.create_room(name=unique("first"))
    assert client.get_room(identifier=room["arn"])["id"] == room["id"]
    srv.stop()
    second = srv.output(run=2)
    assert secret not in second
    assert parse_credentials(second)[1] is None, f"a secret was printed again:\n{second[-2000:]}"
