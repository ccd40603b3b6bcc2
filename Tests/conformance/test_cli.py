"""The AWS CLI (`aws ivschat ...`) against Parley."""

from __future__ import annotations

import datetime as dt

from parley_support import ID_RE, TOKEN_RE, lc_arn_re, random_id, room_arn_re, unique


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_cli_room_lifecycle(server, cli):
    name = unique("cli")
    room = cli("create-room", "--name", name, "--tags", "env=cli,team=chat").json()
    assert room_arn_re(server.region, server.account).match(room["arn"])
    assert ID_RE.match(room["id"])
    assert room["name"] == name
    assert room["maximumMessageLength"] == 500
    assert room["maximumMessageRatePerSecond"] == 10
    assert room["tags"] == {"env": "cli", "team": "chat"}
    parse_time(room["createTime"])

    got = cli("get-room", "--identifier", room["arn"]).json()
    assert got["arn"] == room["arn"] and got["name"] == name

    upd = cli("update-room", "--identifier", room["arn"], "--maximum-message-length", "100",
              "--message-review-handler", "uri=https://hooks.example.com/cli,fallbackResult=DENY").json()
    assert upd["maximumMessageLength"] == 100
    assert upd["messageReviewHandler"] == {"uri": "https://hooks.example.com/cli", "fallbackResult": "DENY"}
    assert parse_time(upd["updateTime"]) > parse_time(room["updateTime"])

    listed = cli("list-rooms", "--name", name).json()
    assert [r["arn"] for r in listed["rooms"]] == [room["arn"]]

    deleted = cli("delete-room", "--identifier", room["arn"])
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout.strip() == ""

    missing = cli("get-room", "--identifier", room["arn"])
    assert missing.returncode != 0
    assert "ResourceNotFoundException" in missing.stderr


def test_cli_list_rooms_max_results(cli):
    name = unique("clip")
    for _ in range(2):
        cli("create-room", "--name", name).json()
    page = cli("list-rooms", "--name", name, "--max-results", "1").json()
    assert len(page["rooms"]) == 1 and page.get("nextToken")
    rest = cli("list-rooms", "--name", name, "--max-results", "1", "--next-token", page["nextToken"]).json()
    assert len(rest["rooms"]) == 1
    assert rest["rooms"][0]["arn"] != page["rooms"][0]["arn"]


def test_cli_chat_token(cli):
    room = cli("create-room", "--name", unique("clitok")).json()
    tok = cli("create-chat-token", "--room-identifier", room["arn"], "--user-id", "cli-user",
              "--capabilities", "SEND_MESSAGE", "DELETE_MESSAGE",
              "--session-duration-in-minutes", "90",
              "--attributes", "displayName=Cli").json()
    assert TOKEN_RE.match(tok["token"])
    token_exp = parse_time(tok["tokenExpirationTime"])
    session_exp = parse_time(tok["sessionExpirationTime"])
    assert dt.timedelta(minutes=85) < session_exp - token_exp < dt.timedelta(minutes=95)


def test_cli_logging_configuration_lifecycle(server, cli):
    name = unique("clilc")
    lc = cli("create-logging-configuration", "--name", name,
             "--destination-configuration", "s3={bucketName=my-bucket}").json()
    assert lc_arn_re(server.region, server.account).match(lc["arn"])
    assert lc["destinationConfiguration"] == {"s3": {"bucketName": "my-bucket"}}
    assert lc["state"] == "ACTIVE"

    got = cli("get-logging-configuration", "--identifier", lc["arn"]).json()
    assert got["name"] == name and got["state"] == "ACTIVE"

    upd = cli("update-logging-configuration", "--identifier", lc["arn"],
              "--destination-configuration", "cloudWatchLogs={logGroupName=chat-logs}").json()
    assert upd["destinationConfiguration"] == {"cloudWatchLogs": {"logGroupName": "chat-logs"}}

    arns, token = [], None
    for _ in range(1000):
        page = cli("list-logging-configurations", "--max-results", "50", *(["--next-token", token] if token else [])).json()
        arns.extend(x["arn"] for x in page["loggingConfigurations"])
        token = page.get("nextToken")
        if not token:
            break
    assert arns.count(lc["arn"]) == 1

    room = cli("create-room", "--name", unique("clilcr"), "--logging-configuration-identifiers", lc["arn"]).json()
    assert room["loggingConfigurationIdentifiers"] == [lc["arn"]]
    conflict = cli("delete-logging-configuration", "--identifier", lc["arn"])
    assert conflict.returncode != 0 and "ConflictException" in conflict.stderr

    by_lc = cli("list-rooms", "--logging-configuration-identifier", lc["arn"]).json()
    assert [r["arn"] for r in by_lc["rooms"]] == [room["arn"]]

    cli("update-room", "--identifier", room["arn"], "--logging-configuration-identifiers", "[]").json()
    deleted = cli("delete-logging-configuration", "--identifier", lc["arn"])
    assert deleted.returncode == 0, deleted.stderr
    gone = cli("get-logging-configuration", "--identifier", lc["arn"])
    assert gone.returncode != 0 and "ResourceNotFoundException" in gone.stderr


def test_cli_tags(cli):
    room = cli("create-room", "--name", unique("clitag")).json()
    r = cli("tag-resource", "--resource-arn", room["arn"], "--tags", "a=1,b=2")
    assert r.returncode == 0, r.stderr
    assert cli("list-tags-for-resource", "--resource-arn", room["arn"]).json() == {"tags": {"a": "1", "b": "2"}}
    r = cli("untag-resource", "--resource-arn", room["arn"], "--tag-keys", "a")
    assert r.returncode == 0, r.stderr
    assert cli("list-tags-for-resource", "--resource-arn", room["arn"]).json() == {"tags": {"b": "2"}}


def test_cli_messaging_ops(cli):
    room = cli("create-room", "--name", unique("climsg")).json()
    ev = cli("send-event", "--room-identifier", room["arn"], "--event-name", "app:hello",
             "--attributes", "k=v").json()
    assert ID_RE.match(ev["id"])
    dm = cli("delete-message", "--room-identifier", room["arn"], "--id", random_id(), "--reason", "spam").json()
    assert ID_RE.match(dm["id"])
    du = cli("disconnect-user", "--room-identifier", room["arn"], "--user-id", "troll", "--reason", "bye")
    assert du.returncode == 0, du.stderr


def test_cli_errors(server, cli):
    r = cli("get-room", "--identifier", server.room_arn())
    assert r.returncode != 0
    assert "ResourceNotFoundException" in r.stderr
    r = cli("create-room", "--name", unique("bad"), "--maximum-message-length", "501")
    assert r.returncode != 0
    assert "ValidationException" in r.stderr
    r = cli("list-rooms", access_key="AKIDNOSUCHKEY0000000")
    assert r.returncode != 0
    assert "UnrecognizedClientException" in r.stderr
    r = cli("list-rooms", secret_key="z" * 40)
    assert r.returncode != 0
    assert "InvalidSignatureException" in r.stderr
