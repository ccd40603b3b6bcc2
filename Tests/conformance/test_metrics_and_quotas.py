"""Metrics and service quotas (SPEC section 8), black-box.

GetMetricData (POST /metrics/GetMetricData, SigV4) answers CloudWatch-shaped queries over what the server
flushed (every 5 s: poll with a deadline); GET /metrics is the Prometheus exposition; ListServiceQuotas and
`parley quotas list|set` report and adjust quotas; every quota is enforced at its boundary.

Covered elsewhere, not repeated here:
  test_keys_and_settings.py  test_room_quota / test_logging_configuration_quota (PARLEY_MAX_*, delete frees a slot)
  test_messaging_ws.py       test_connection_quota (PARLEY_MAX_CONNECTIONS, close frees a slot),
                             test_per_connection_request_rate (MessagingRequestsPerConnectionPerSecond),
                             test_room_message_rate (a room's maximumMessageRatePerSecond),
                             test_global_send_message_rate_across_rooms (SendMessageRequestsPerSecond),
                             test_global_send_event_rate (PARLEY_SEND_EVENT_RATE)

Servers are module-scoped and shut down together at the end (each takes seconds to stop gracefully).
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any, Callable

import pytest
from botocore.exceptions import ClientError

from parley_support import (
    USAGE_DIMENSIONS,
    assert_event,
    assert_raw_error,
    assert_validation,
    chat_token,
    free_port,
    get_metric_data,
    list_service_quotas,
    metric_query,
    names_field,
    field_names,
    now_utc,
    parse_prometheus,
    poll,
    prom_sample,
    raises_aws,
    random_id,
    recv_frame,
    run_quotas,
    scrape_metrics,
    send_json,
    send_message,
    stop_servers_together,
    unique,
    ws_connect,
    ws_refused,
)

METRICS_TOKEN = "parley-metrics-token-0123456789"
SENDERS = 3  # K connections in the traffic room
MESSAGES_EACH = 20  # M messages sent by each

# The seed's quota table: name -> (default, adjustable).
QUOTA_TABLE = {
    "ConcurrentChatConnections": (50000, True),
    "Rooms": (50000, True),
    "LoggingConfigurations": (10, True),
    "MessageReviewHandlerTimeoutMilliseconds": (200, False),
    "MessagingRequestsPerConnectionPerSecond": (10, False),
    "SendMessageRequestsPerSecond": (1000, True),
    "SendMessageRequestsPerRoomPerSecond": (100, False),
    "DeleteMessageRequestsPerSecond": (100, True),
    "DisconnectUserRequestsPerSecond": (100, True),
    "SendEventTPS": (100, False),
    "CreateChatTokenTPS": (200, False),
    "LoggingConfigurationOperationsTPS": (3, False),
    "RoomOperationsTPS": (5, False),
    "TagOperationsTPS": (10, False),
}


@pytest.fixture(scope="module")
def servers(start_module_server):
    """start(**env) -> a module server; all of them are SIGTERMed together at module end (exit 0 checked)."""
    started = []

    def _start(**env):
        srv = start_module_server(**env)
        started.append(srv)
        return srv

    yield _start
    stop_servers_together(started)


def window(since: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """A query range covering everything a server started at `since` recorded, whole minutes included."""
    return since - dt.timedelta(minutes=2), now_utc() + dt.timedelta(minutes=2)


def totals(srv, since: dt.datetime, wanted: dict[str, tuple[str, dict[str, str], str]]) -> dict[str, float | None]:
    """For each id: (metric, dimensions, stat) over the whole window, aggregated across periods
    (Sum and SampleCount add, Maximum/Minimum take the extreme); None when there is no data point."""
    start, end = window(since)
    queries = [metric_query(qid, name, dims, stat) for qid, (name, dims, stat) in wanted.items()]
    results = get_metric_data(srv, queries, start, end)
    out: dict[str, float | None] = {}
    for qid, (_, _, stat) in wanted.items():
        values = results[qid]["Values"]
        if not values:
            out[qid] = None
        elif stat in ("Sum", "SampleCount"):
            out[qid] = sum(values)
        elif stat == "Maximum":
            out[qid] = max(values)
        elif stat == "Minimum":
            out[qid] = min(values)
        else:
            out[qid] = values
    return out


# ====================================================================== traffic: exact sums


@pytest.fixture(scope="module")
def traffic(servers):
    """A server (metrics behind a bearer token) with one room of K=3 connections that each sent M=20 messages,
    then one control-plane SendEvent. Connections stay open for the module."""
    started = now_utc()
    srv = servers(PARLEY_CONNECTION_REQUEST_RATE=1000, PARLEY_METRICS_TOKEN=METRICS_TOKEN)
    cl = srv.client()
    room = cl.create_room(name=unique("metrics"), maximumMessageRatePerSecond=100)
    conns = [ws_connect(srv, chat_token(cl, room, f"user-{i}", ["SEND_MESSAGE"])) for i in range(SENDERS)]
    try:
        for i, ws in enumerate(conns):
            for j in range(MESSAGES_EACH):
                send_message(ws, f"m{i}-{j}", f"r{i}-{j}")
        total = SENDERS * MESSAGES_EACH
        for ws in conns:
            frames = [recv_frame(ws) for _ in range(total)]
            kinds = {f["Type"] for f in frames}
            assert kinds == {"MESSAGE"}, f"precondition: every message accepted and delivered, got {frames[:3]}"
        event = cl.send_event(roomIdentifier=room["arn"], eventName="app:metrics")
        for ws in conns:
            frame = recv_frame(ws)
            assert_event(frame, name="app:metrics")
            assert frame["Id"] == event["id"]
        yield SimpleNamespace(srv=srv, client=cl, room=room, conns=conns, started=started)
    finally:
        for ws in conns:
            ws.close()


def test_get_metric_data_exact_sums(traffic):
    srv, room_id = traffic.srv, traffic.room["id"]
    sent = SENDERS * MESSAGES_EACH  # 60
    expected = {
        # Every messaging request: 60 SEND_MESSAGE over the WebSocket + 1 SendEvent from the API.
        "messaging_requests": sent + 1,
        "requests_send_message": sent,
        "requests_send_event": 1,
        # Deliveries count recipients: each of the 60 messages reached all 3 connections; the event too.
        "deliveries_send_message": sent * SENDERS,
        "deliveries_send_event": SENDERS,
        "messaging_deliveries": sent * SENDERS + SENDERS,
        "room_messages": sent,
        "room_deliveries": sent * SENDERS + SENDERS,  # every delivery in the room, events included
    }
    wanted = {
        "messaging_requests": ("MessagingRequests", {}, "Sum"),
        "requests_send_message": ("Requests", {"Action": "SendMessage"}, "Sum"),
        "requests_send_event": ("Requests", {"Action": "SendEvent"}, "Sum"),
        "deliveries_send_message": ("Deliveries", {"Action": "SendMessage"}, "Sum"),
        "deliveries_send_event": ("Deliveries", {"Action": "SendEvent"}, "Sum"),
        "messaging_deliveries": ("MessagingDeliveries", {}, "Sum"),
        "room_messages": ("RoomMessages", {"Room": room_id}, "Sum"),
        "room_deliveries": ("RoomDeliveries", {"Room": room_id}, "Sum"),
    }
    got = poll(lambda: totals(srv, traffic.started, wanted), lambda v: v == expected)
    mismatched = {k: (got[k], expected[k]) for k in expected if got[k] != expected[k]}
    assert not mismatched, f"GetMetricData (got, expected): {mismatched}"
    # Nothing was deleted or disconnected.
    none = totals(srv, traffic.started, {
        "d": ("Deliveries", {"Action": "DeleteMessage"}, "Sum"),
        "u": ("Requests", {"Action": "DisconnectUser"}, "Sum"),
    })
    assert none == {"d": None, "u": None}, none


def test_prometheus_counters_match(traffic):
    srv, room_id = traffic.srv, traffic.room["id"]
    sent = SENDERS * MESSAGES_EACH
    expected = {
        ("parley_deliveries_total", (("action", "SendMessage"),)): sent * SENDERS,
        ("parley_deliveries_total", (("action", "SendEvent"),)): SENDERS,
        ("parley_requests_total", (("action", "SendMessage"),)): sent,
        ("parley_requests_total", (("action", "SendEvent"),)): 1,
        ("parley_messaging_requests_total", ()): sent + 1,
        ("parley_messaging_deliveries_total", ()): sent * SENDERS + SENDERS,
        ("parley_room_messages_total", (("room", room_id),)): sent,
        ("parley_room_deliveries_total", (("room", room_id),)): sent * SENDERS + SENDERS,
    }

    def fetch():
        resp = scrape_metrics(srv, METRICS_TOKEN)
        assert resp.status_code == 200, resp.text[:300]
        families = parse_prometheus(resp.text)
        return {key: prom_sample(families, key[0], dict(key[1])) for key in expected}

    # Counters advance when the recorder is flushed: poll.
    got = poll(fetch, lambda v: v == expected)
    mismatched = {f"{k[0]}{dict(k[1])}": (got[k], v) for k, v in expected.items() if got[k] != v}
    assert not mismatched, f"/metrics counters (got, expected): {mismatched}"


def test_connection_gauges(traffic):
    srv, room_id = traffic.srv, traffic.room["id"]
    wanted = {
        "max": ("ConcurrentChatConnections", {}, "Maximum"),
        "samples": ("ConcurrentChatConnections", {}, "SampleCount"),
        "usage_max": ("ResourceCount", USAGE_DIMENSIONS, "Maximum"),
        "room_max": ("RoomConnections", {"Room": room_id}, "Maximum"),
        "room_min_now": ("RoomConnections", {"Room": room_id}, "Minimum"),
    }

    def ready(v):
        return all(v[k] is not None for k in wanted) and v["max"] >= SENDERS and v["usage_max"] >= SENDERS

    got = poll(lambda: totals(srv, traffic.started, wanted), ready)
    assert got["max"] is not None and got["max"] >= SENDERS, got
    assert got["samples"] >= SENDERS, f"one sample per connection change at least: {got}"
    # AWS/Usage ResourceCount is the same figure as ConcurrentChatConnections.
    assert got["usage_max"] == got["max"], got
    # Only these 3 connections ever joined this room.
    assert got["room_max"] == SENDERS, got
    assert got["room_min_now"] >= 1, got
    # The usage metric answers to its exact dimensions only.
    partial = totals(srv, traffic.started, {"p": ("ResourceCount", {"Resource": "ConcurrentChatConnections"}, "Maximum")})
    assert partial["p"] is None, f"a query with a subset of the dimensions matched: {partial}"

    # The /metrics gauge and ListServiceQuotas usage show the open connections.
    def gauge():
        return prom_sample(parse_prometheus(scrape_metrics(srv, METRICS_TOKEN).text), "parley_concurrent_chat_connections")

    value = poll(gauge, lambda v: v is not None and v >= SENDERS)
    assert value is not None and value >= SENDERS, value
    usage = list_service_quotas(srv)["ConcurrentChatConnections"]
    assert usage.get("Usage", -1) >= SENDERS, usage


def test_statistics_and_labels(traffic):
    """Sum / SampleCount / Average / Maximum / Minimum agree for one series; Label is echoed; two periods agree."""
    srv = traffic.srv
    start, end = window(traffic.started)
    dims = {"Action": "SendMessage"}
    queries = [
        metric_query(s.lower(), "Deliveries", dims, s) for s in ("Sum", "SampleCount", "Average", "Maximum", "Minimum")
    ] + [metric_query("hourly", "Deliveries", dims, "Sum", period=3600, label="per hour")]

    def ready(r):
        return sum(r["sum"]["Values"]) == SENDERS * MESSAGES_EACH * SENDERS

    results = poll(lambda: get_metric_data(srv, queries, start, end), ready)
    sums, counts = results["sum"]["Values"], results["samplecount"]["Values"]
    assert sum(sums) == SENDERS * MESSAGES_EACH * SENDERS, results["sum"]
    # Same buckets for every statistic of one series.
    for stat in ("samplecount", "average", "maximum", "minimum"):
        assert results[stat]["Timestamps"] == results["sum"]["Timestamps"], (stat, results[stat], results["sum"])
    for s, c, avg, hi, lo in zip(sums, counts, *(results[k]["Values"] for k in ("average", "maximum", "minimum"))):
        assert c >= 1 and math.isclose(avg, s / c), (s, c, avg)
        assert 0 < lo <= avg <= hi <= s, (lo, avg, hi, s)
    # No single broadcast reached more than the room's 3 connections.
    assert max(results["maximum"]["Values"]) <= SENDERS, results["maximum"]
    assert results["hourly"]["Label"] == "per hour"
    assert sum(results["hourly"]["Values"]) == sum(sums), results["hourly"]


# ====================================================================== Prometheus exposition


def test_metrics_exposition_parses_and_needs_token(traffic):
    srv = traffic.srv
    for resp in (
        scrape_metrics(srv),
        scrape_metrics(srv, "wrong-token"),
        scrape_metrics(srv, authorization=f"Basic {METRICS_TOKEN}"),
        scrape_metrics(srv, authorization=METRICS_TOKEN),
    ):
        assert resp.status_code == 401, f"/metrics without the right bearer token: {resp.status_code}"
        assert "parley_" not in resp.text
    assert scrape_metrics(srv).headers.get("WWW-Authenticate", "").startswith("Bearer"), "401 without a Bearer challenge"
    resp = scrape_metrics(srv, METRICS_TOKEN)
    assert resp.status_code == 200, resp.status_code
    assert resp.headers.get("Content-Type", "").startswith("text/plain"), resp.headers
    families = parse_prometheus(resp.text)  # every family parses
    for name, family in families.items():
        assert name.startswith("parley_"), name
        assert family.type in ("counter", "gauge", "histogram"), (name, family.type)
        assert family.documentation, f"{name} has no HELP"
        keys = [(s.name, tuple(sorted(s.labels.items()))) for s in family.samples]
        assert len(keys) == len(set(keys)), f"{name} repeats a sample"
        for s in family.samples:
            assert math.isfinite(s.value) and s.value >= 0, s
    expected_types = {
        "parley_deliveries": "counter",
        "parley_messaging_requests": "counter",
        "parley_concurrent_chat_connections": "gauge",
        "parley_log_outbox_bytes": "gauge",
        "parley_process_resident_memory_bytes": "gauge",
        "parley_http_request_duration_seconds": "histogram",
        "parley_review_handler_latency_seconds": "histogram",
    }
    types = {n: families[n].type if n in families else None for n in expected_types}
    assert types == expected_types, types
    assert prom_sample(families, "parley_process_resident_memory_bytes") > 1_000_000
    assert prom_sample(families, "parley_log_outbox_bytes") == 0  # no logging configuration anywhere
    # The HTTP histogram: cumulative buckets, +Inf == count, and it counted our requests.
    hist = families["parley_http_request_duration_seconds"]
    buckets = sorted(
        ((float(s.labels["le"]), s.value) for s in hist.samples if s.name.endswith("_bucket")), key=lambda b: b[0]
    )
    assert buckets and buckets[-1][0] == math.inf, buckets
    assert [v for _, v in buckets] == sorted(v for _, v in buckets), f"buckets not cumulative: {buckets}"
    count = prom_sample(families, "parley_http_request_duration_seconds_count")
    assert buckets[-1][1] == count and count >= 5, (buckets, count)


def test_metrics_open_on_loopback_without_token(quota_server):
    resp = scrape_metrics(quota_server.srv)
    assert resp.status_code == 200, f"no PARLEY_METRICS_TOKEN: loopback reads /metrics, got {resp.status_code}"
    assert "parley_concurrent_chat_connections" in parse_prometheus(resp.text)


# ====================================================================== review handler metrics


class _BadHandler(BaseHTTPRequestHandler):
    """A webhook review handler that answers 200 with a body that is not a verdict."""

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b"this is not a verdict"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_review_handler_metrics(servers):
    """InvocationErrors{Uri} (nothing listening) and ResponseValidationErrors{Uri} (a non-verdict answer),
    and the per-uri latency histogram on /metrics."""
    started = now_utc()
    srv = servers()
    cl = srv.client()
    bad = ThreadingHTTPServer(("127.0.0.1", 0), _BadHandler)
    threading.Thread(target=bad.serve_forever, daemon=True).start()
    dead_uri = f"http://127.0.0.1:{free_port()}/review"
    bad_uri = f"http://127.0.0.1:{bad.server_address[1]}/review"
    try:
        for uri, count in ((dead_uri, 2), (bad_uri, 3)):
            room = cl.create_room(name=unique("review"), messageReviewHandler={"uri": uri, "fallbackResult": "ALLOW"})
            ws = ws_connect(srv, chat_token(cl, room, "reviewed", ["SEND_MESSAGE"]))
            try:
                for i in range(count):
                    send_message(ws, f"hello {i}", f"rv{i}")
                    assert recv_frame(ws)["Type"] == "MESSAGE", "fallback ALLOW delivers the message"
            finally:
                ws.close()
        wanted = {
            "invocation": ("InvocationErrors", {"Uri": dead_uri}, "Sum"),
            "validation": ("ResponseValidationErrors", {"Uri": bad_uri}, "Sum"),
            "invocation_other": ("InvocationErrors", {"Uri": bad_uri}, "Sum"),
            "validation_other": ("ResponseValidationErrors", {"Uri": dead_uri}, "Sum"),
        }
        expected = {"invocation": 2, "validation": 3, "invocation_other": None, "validation_other": None}
        got = poll(lambda: totals(srv, started, wanted), lambda v: v == expected)
        assert got == expected, got
        families = parse_prometheus(scrape_metrics(srv).text)
        name = "parley_review_handler_latency_seconds"
        for uri, count in ((dead_uri, 2), (bad_uri, 3)):
            assert prom_sample(families, f"{name}_count", {"uri": uri}) == count
            assert prom_sample(families, f"{name}_bucket", {"uri": uri, "le": "+Inf"}) == count
        errors = poll(
            lambda: prom_sample(parse_prometheus(scrape_metrics(srv).text), "parley_invocation_errors_total", {"uri": dead_uri}),
            lambda v: v == 2,
        )
        assert errors == 2, errors
    finally:
        bad.shutdown()
        bad.server_close()


def test_websocket_moderation_and_api_requests_counted(servers):
    """DELETE_MESSAGE / DISCONNECT_USER over the WebSocket count as requests, like their API twins."""
    started = now_utc()
    srv = servers(PARLEY_CONNECTION_REQUEST_RATE=1000)
    cl = srv.client()
    room = cl.create_room(name=unique("moderated"))
    author = ws_connect(srv, chat_token(cl, room, "author", ["SEND_MESSAGE"]))
    moderator = ws_connect(srv, chat_token(cl, room, "moderator", ["DELETE_MESSAGE", "DISCONNECT_USER"]))
    try:
        send_message(author, "regrettable", "m1")
        message = recv_frame(author)
        assert recv_frame(moderator)["Id"] == message["Id"]
        send_json(moderator, {"Action": "DELETE_MESSAGE", "RequestId": "d1", "Id": message["Id"], "Reason": "r"})
        send_json(moderator, {"Action": "DISCONNECT_USER", "RequestId": "x1", "UserId": "ghost", "Reason": "r"})
        for ws in (author, moderator):
            names = [recv_frame(ws)["EventName"] for _ in range(2)]
            assert names == ["aws:DELETE_MESSAGE", "aws:DISCONNECT_USER"], names
        cl.delete_message(roomIdentifier=room["arn"], id=message["Id"], reason="again")
        for ws in (author, moderator):
            assert recv_frame(ws)["EventName"] == "aws:DELETE_MESSAGE"
    finally:
        author.close()
        moderator.close()
    wanted = {
        "requests_delete": ("Requests", {"Action": "DeleteMessage"}, "Sum"),
        "requests_disconnect": ("Requests", {"Action": "DisconnectUser"}, "Sum"),
        "requests_send": ("Requests", {"Action": "SendMessage"}, "Sum"),
        "messaging_requests": ("MessagingRequests", {}, "Sum"),
        "deliveries_delete": ("Deliveries", {"Action": "DeleteMessage"}, "Sum"),
        "deliveries_disconnect": ("Deliveries", {"Action": "DisconnectUser"}, "Sum"),
        "room_messages": ("RoomMessages", {"Room": room["id"]}, "Sum"),
        "room_deliveries": ("RoomDeliveries", {"Room": room["id"]}, "Sum"),
    }
    expected = {
        "requests_delete": 2,  # one over the WebSocket, one from the API
        "requests_disconnect": 1,
        "requests_send": 1,
        "messaging_requests": 4,
        "deliveries_delete": 4,  # two events, two connections each
        "deliveries_disconnect": 2,
        "room_messages": 1,
        "room_deliveries": 8,
    }
    got = poll(lambda: totals(srv, started, wanted), lambda v: v == expected)
    mismatched = {k: (got[k], expected[k]) for k in expected if got[k] != expected[k]}
    assert not mismatched, f"(got, expected): {mismatched}"


def test_metrics_survive_restart(servers):
    """Points are stored: after a restart they are still there, including those of the last seconds
    before SIGTERM (the metrics job flushes once more on its way out)."""
    started = now_utc()
    srv = servers()
    cl = srv.client()
    room = cl.create_room(name=unique("persist"))
    for i in range(3):
        cl.send_event(roomIdentifier=room["arn"], eventName=f"app:e{i}")
    srv.restart()  # at once: within the 5 s flush interval
    wanted = {"events": ("Requests", {"Action": "SendEvent"}, "Sum")}
    got = poll(lambda: totals(srv, started, wanted), lambda v: v["events"] == 3)
    assert got["events"] == 3, f"SendEvent requests after a restart: {got}"


# ====================================================================== quotas at their boundaries


QUOTA_ENV = {
    "PARLEY_MAX_ROOMS": "2",
    "PARLEY_QUOTA_LoggingConfigurations": "1",
    "PARLEY_QUOTA_RoomOperationsTPS": "5",
    "PARLEY_QUOTA_LoggingConfigurationOperationsTPS": "3",
    "PARLEY_QUOTA_TagOperationsTPS": "10",
    "PARLEY_QUOTA_CreateChatTokenTPS": "3",
    "PARLEY_QUOTA_SendEventTPS": "2",
    "PARLEY_QUOTA_DeleteMessageRequestsPerSecond": "2",
    "PARLEY_QUOTA_DisconnectUserRequestsPerSecond": "2",
}


@pytest.fixture(scope="module")
def quota_server(servers):
    """One server with small quotas; each test spends a different operation's bucket. `room` is the first of 2 rooms."""
    srv = servers(**QUOTA_ENV)
    room = srv.client().create_room(name=unique("quota"))
    return SimpleNamespace(srv=srv, room=room, once=srv.client(max_attempts=1))


def assert_throttled(err: BaseException, limit: int) -> None:
    assert isinstance(err, ClientError), repr(err)
    r = err.response
    assert r["Error"]["Code"] == "ThrottlingException", r
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 429, r
    assert r["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-errortype", "").startswith("ThrottlingException"), r
    assert r.get("limit") == limit, f"limit {r.get('limit')!r}, expected {limit}: {r}"


def burst(call: Callable[[], Any], n: int) -> tuple[list[Any], list[float]]:
    """n back-to-back calls: (result or exception, seconds since the first call began at each call's end)."""
    results, ends = [], []
    t0 = time.monotonic()
    for _ in range(n):
        try:
            results.append(call())
        except ClientError as e:
            results.append(e)
        ends.append(time.monotonic() - t0)
    return results, ends


def check_rate_limit(call: Callable[[], Any], limit: int) -> None:
    """The bucket starts full: `limit` calls pass, the next is throttled while under a second has passed;
    over the whole burst no more pass than the rate allows; then the rate recovers."""
    results, ends = burst(call, 2 * limit + 2)
    ok = [not isinstance(r, Exception) for r in results]
    assert all(ok[:limit]), f"the first {limit} calls should pass: {results[:limit]}"
    if ends[limit] < 1 / limit:  # too little time to refill one token: the next must be refused
        assert not ok[limit], f"call {limit + 1} passed {ends[limit]:.3f}s into the burst with a limit of {limit}/s"
    assert sum(ok) <= limit + limit * ends[-1] + 1, f"{sum(ok)} passed in {ends[-1]:.2f}s with a limit of {limit}/s"
    throttled = [r for r in results if isinstance(r, Exception)]
    assert throttled, f"no call throttled in a burst of {len(results)} ({ends[-1]:.2f}s)"
    for err in throttled:
        assert_throttled(err, limit)
    # A rate, not a cap: it passes again shortly.
    deadline = time.monotonic() + 3
    while True:
        try:
            call()
            return
        except ClientError as e:
            assert_throttled(e, limit)
            assert time.monotonic() < deadline, "still throttled 3 s after the burst"
            time.sleep(1 / limit / 2)


def test_rooms_quota(quota_server):
    """PARLEY_MAX_ROOMS=2: the second room is created, the third is refused with limit 2; usage shows 2."""
    cl = quota_server.srv.client()
    cl.create_room(name=unique("quota"))
    with raises_aws("ServiceQuotaExceededException", 402) as err:
        cl.create_room(name=unique("quota"))
    assert err.response["limit"] == 2, err.response
    rooms = list_service_quotas(quota_server.srv)["Rooms"]
    assert (rooms["Value"], rooms["Usage"], rooms["DefaultValue"]) == (2, 2, 50000), rooms


def test_logging_configurations_quota(quota_server):
    cl = quota_server.srv.client()
    dest = {"s3": {"bucketName": "parley-quota-bucket"}}
    cl.create_logging_configuration(name=unique("lc"), destinationConfiguration=dest)
    with raises_aws("ServiceQuotaExceededException", 402) as err:
        cl.create_logging_configuration(name=unique("lc"), destinationConfiguration=dest)
    assert err.response["limit"] == 1, err.response
    lcs = list_service_quotas(quota_server.srv)["LoggingConfigurations"]
    assert (lcs["Value"], lcs["Usage"]) == (1, 1), lcs


def test_room_operations_tps(quota_server):
    once, arn = quota_server.once, quota_server.room["arn"]
    check_rate_limit(lambda: once.get_room(identifier=arn), 5)
    # Each room operation has its own bucket: GetRoom being spent does not throttle ListRooms.
    once.list_rooms()


def test_logging_configuration_operations_tps(quota_server):
    once = quota_server.once
    check_rate_limit(lambda: once.list_logging_configurations(), 3)
    # Its own bucket: GetLoggingConfiguration reaches the handler (404), not the throttle.
    with raises_aws("ResourceNotFoundException", 404):
        once.get_logging_configuration(identifier=quota_server.srv.lc_arn())


def test_tag_operations_tps(quota_server):
    once, arn = quota_server.once, quota_server.room["arn"]
    check_rate_limit(lambda: once.list_tags_for_resource(resourceArn=arn), 10)
    once.tag_resource(resourceArn=arn, tags={"k": "v"})


def test_create_chat_token_tps(quota_server):
    once, arn = quota_server.once, quota_server.room["arn"]
    check_rate_limit(lambda: once.create_chat_token(roomIdentifier=arn, userId=unique("u")), 3)


def test_send_event_tps(quota_server):
    """PARLEY_QUOTA_SendEventTPS (by quota name; test_messaging_ws.py covers PARLEY_SEND_EVENT_RATE with concurrency)."""
    once, arn = quota_server.once, quota_server.room["arn"]
    check_rate_limit(lambda: once.send_event(roomIdentifier=arn, eventName="app:tick"), 2)


def test_delete_message_rate_control_plane(quota_server):
    once, arn = quota_server.once, quota_server.room["arn"]
    check_rate_limit(lambda: once.delete_message(roomIdentifier=arn, id=random_id(), reason="r"), 2)


def test_disconnect_user_rate_control_plane(quota_server):
    once, arn = quota_server.once, quota_server.room["arn"]
    check_rate_limit(lambda: once.disconnect_user(roomIdentifier=arn, userId=unique("nobody"), reason="r"), 2)


def test_quota_values_reported(quota_server):
    quotas = list_service_quotas(quota_server.srv)
    assert set(quotas) == set(QUOTA_TABLE), sorted(quotas)
    for name, (default, adjustable) in QUOTA_TABLE.items():
        assert (quotas[name]["DefaultValue"], quotas[name]["Adjustable"]) == (default, adjustable), quotas[name]
    configured = {
        "Rooms": 2, "LoggingConfigurations": 1, "RoomOperationsTPS": 5, "LoggingConfigurationOperationsTPS": 3,
        "TagOperationsTPS": 10, "CreateChatTokenTPS": 3, "SendEventTPS": 2, "DeleteMessageRequestsPerSecond": 2,
        "DisconnectUserRequestsPerSecond": 2, "ConcurrentChatConnections": 50000, "SendMessageRequestsPerSecond": 1000,
    }
    assert {n: quotas[n]["Value"] for n in configured} == configured
    # Usage only where there is something to count.
    with_usage = {n for n, q in quotas.items() if "Usage" in q}
    assert with_usage == {"Rooms", "LoggingConfigurations", "ConcurrentChatConnections"}, with_usage


# ====================================================================== parley quotas set|list on a running server


@pytest.fixture(scope="module")
def adjustable(servers):
    """A server whose connection quota is 1 by its quota name; everything else default."""
    return servers(PARLEY_QUOTA_ConcurrentChatConnections="1")


def test_connection_quota_by_name_and_live_adjustment(adjustable, parley_binary):
    srv, cl = adjustable, adjustable.client()
    room = cl.create_room(name=unique("conn"))
    opened = [ws_connect(srv, chat_token(cl, room, "first"))]
    try:
        ws_refused(srv, chat_token(cl, room, "second"), 429)
        proc = run_quotas(parley_binary, srv.data_dir, "set", "ConcurrentChatConnections", "2")
        assert proc.returncode == 0, proc.stderr
        # The running server applies the change within seconds.
        deadline = time.monotonic() + 12
        while True:
            try:
                opened.append(ws_connect(srv, chat_token(cl, room, unique("late"))))
                break
            except Exception as e:  # InvalidStatus 429 until applied
                assert getattr(getattr(e, "response", None), "status_code", None) == 429, repr(e)
                assert time.monotonic() < deadline, "quotas set ConcurrentChatConnections 2 not applied within 12 s"
                time.sleep(0.25)
        ws_refused(srv, chat_token(cl, room, "third"), 429)
        usage = list_service_quotas(srv)["ConcurrentChatConnections"]
        assert (usage["Value"], usage["Usage"]) == (2, 2), usage
    finally:
        for ws in opened:
            ws.close()


def test_quotas_set_rooms_on_running_server(adjustable, parley_binary):
    srv, cl = adjustable, adjustable.client()
    cl.create_room(name=unique("adj"))
    count = len(cl.list_rooms()["rooms"])
    proc = run_quotas(parley_binary, srv.data_dir, "set", "Rooms", str(count))
    assert proc.returncode == 0, proc.stderr

    def applied():
        return list_service_quotas(srv)["Rooms"]

    rooms = poll(applied, lambda q: q["Value"] == count, timeout=12)
    assert (rooms["Value"], rooms["Usage"]) == (count, count), rooms
    with raises_aws("ServiceQuotaExceededException", 402) as err:
        cl.create_room(name=unique("adj"))
    assert err.response["limit"] == count

    # Fixed quotas, unknown names and non-positive values are refused, and change nothing.
    for args in (("RoomOperationsTPS", "50"), ("SendEventTPS", "5"), ("NoSuchQuota", "1"), ("Rooms", "0"), ("Rooms", "-3")):
        bad = run_quotas(parley_binary, srv.data_dir, "set", *args)
        assert bad.returncode != 0, f"quotas set {' '.join(args)} exited 0: {bad.stdout}"
    listed = run_quotas(parley_binary, srv.data_dir, "list")
    assert listed.returncode == 0, listed.stderr
    lines = {line.split("\t")[0]: line.split("\t") for line in listed.stdout.splitlines() if line.strip()}
    assert set(lines) == set(QUOTA_TABLE), listed.stdout
    assert lines["Rooms"][1].startswith(str(count)) and "adjusted" in lines["Rooms"][1], lines["Rooms"]
    assert "adjustable" in lines["Rooms"], lines["Rooms"]
    assert lines["RoomOperationsTPS"][1] == "5" and "fixed" in lines["RoomOperationsTPS"], lines["RoomOperationsTPS"]

    # Raising it lets rooms be created again.
    assert run_quotas(parley_binary, srv.data_dir, "set", "Rooms", str(count + 1)).returncode == 0
    deadline = time.monotonic() + 12
    while True:
        try:
            cl.create_room(name=unique("adj"))
            break
        except ClientError as e:
            assert e.response["Error"]["Code"] == "ServiceQuotaExceededException", e.response
            assert time.monotonic() < deadline, "raised Rooms quota not applied within 12 s"
            time.sleep(0.25)
    rooms = list_service_quotas(srv)["Rooms"]
    assert (rooms["Value"], rooms["Usage"], rooms["Adjustable"]) == (count + 1, count + 1, True), rooms


# ====================================================================== GetMetricData validation


def _query(name: str = "Deliveries", stat: str = "Sum", period: int = 60) -> dict[str, Any]:
    return metric_query("q1", name, {"Action": "SendMessage"}, stat, period)


def _body(queries=None, start=None, end=None) -> dict[str, Any]:
    now = now_utc()
    return {
        "MetricDataQueries": [_query()] if queries is None else queries,
        "StartTime": start if start is not None else (now - dt.timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
        "EndTime": end if end is not None else now.isoformat().replace("+00:00", "Z"),
    }


_NOW = "2026-01-01T12:00:00Z"

INVALID_QUERIES = [
    ("period-30", _body([_query(period=30)]), "Period"),
    ("period-90", _body([_query(period=90)]), "Period"),
    ("period-0", _body([_query(period=0)]), "Period"),
    ("period-negative", _body([_query(period=-60)]), "Period"),
    ("stat-p99", _body([_query(stat="p99")]), "Stat"),
    ("stat-lowercase", _body([_query(stat="sum")]), "Stat"),
    ("unknown-metric", _body([_query(name="CPUUtilization")]), "MetricName"),
    ("start-equals-end", _body(start=_NOW, end=_NOW), "StartTime"),
    ("start-after-end", _body(start="2026-01-02T00:00:00Z", end=_NOW), "StartTime"),
    ("no-queries", _body([]), "MetricDataQueries"),
    ("too-many-queries", _body([{**_query(), "Id": f"q{i}"} for i in range(501)]), "MetricDataQueries"),
    ("bad-time", _body(start="yesterday"), None),
    ("missing-end", {k: v for k, v in _body().items() if k != "EndTime"}, None),
    ("missing-metric-stat", _body([{"Id": "q1"}]), None),
    ("not-json", "{nope", None),
]


@pytest.mark.parametrize("body,field", [(b, f) for _, b, f in INVALID_QUERIES], ids=[i for i, _, _ in INVALID_QUERIES])
def test_get_metric_data_validation(traffic, body, field):
    resp = traffic.srv.signed("POST", "/metrics/GetMetricData", body)
    err = assert_raw_error(resp, 400, "ValidationException")
    assert_validation(err)
    if field is not None:
        names = field_names(err)
        assert any(names_field(n, field) for n in names), f"fieldList {names} does not name {field}"


def test_metrics_and_quotas_api_need_signature(traffic):
    for path in ("/metrics/GetMetricData", "/quotas/ListServiceQuotas"):
        resp = traffic.srv.unsigned("POST", path, _body())
        assert resp.status_code == 403, f"unsigned {path}: {resp.status_code} {resp.text[:200]}"
