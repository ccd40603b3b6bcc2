"""A log destination that refuses Parley's credentials: the records stay in the outbox (nothing is lost), the
failure is counted as LogDestinationErrors and LogDestinationAccessDeniedErrors for the configuration, and the
configuration's check reports CREATE_FAILED. moto does not enforce IAM, so a small CloudWatch Logs stand-in
answers every call with AccessDeniedException, as the real service does."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from parley_support import (
    chat_token, get_metric_data, metric_query, parse_prometheus, poll, prom_sample, recv_text, scrape_metrics, send_message, unique,
    ws_connect,
)


class Refusing(BaseHTTPRequestHandler):
    calls: list[str] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Refusing.calls.append(self.headers.get("X-Amz-Target", ""))
        body = json.dumps({"__type": "AccessDeniedException", "message": "User is not authorized to perform: logs:PutLogEvents"}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def refusing_logs():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_access_denied_is_counted_and_loses_nothing(start_server, refusing_logs):
    # setup
    srv = start_server(
        AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=refusing_logs, AWS_ACCESS_KEY_ID="AKIDDENIED", AWS_SECRET_ACCESS_KEY="denied-secret",
        AWS_REGION="us-east-1", PARLEY_VERIFY_LOG_DESTINATIONS="true",
    )
    client = srv.client()
    configuration = client.create_logging_configuration(
        name=unique("denied"), destinationConfiguration={"cloudWatchLogs": {"logGroupName": "refused"}})
    assert configuration["state"] == "CREATE_FAILED"
    room = client.create_room(name=unique("denied"), loggingConfigurationIdentifiers=[configuration["arn"]])
    ws = ws_connect(srv, chat_token(client, room, unique("speaker"), ["SEND_MESSAGE"]))
    start = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)
    # act
    try:
        send_message(ws, "archived later, never lost", "d-1")
        recv_text(ws)
    finally:
        ws.close()
    # verify: the refusals are counted per configuration and kind
    dimension = {"LoggingConfiguration": configuration["id"]}

    def counts():
        results = get_metric_data(
            srv,
            [metric_query("all", "LogDestinationErrors", dimension), metric_query("denied", "LogDestinationAccessDeniedErrors", dimension)],
            start, start + dt.timedelta(minutes=5))
        return sum(results["all"]["Values"]), sum(results["denied"]["Values"])

    errors, denied = poll(counts, lambda c: c[0] >= 1 and c[1] >= 1, timeout=30)
    assert errors >= 1 and denied >= 1, (errors, denied)
    assert errors == denied, "every error here is an access refusal"
    assert any(target.endswith("PutLogEvents") or target.endswith("CreateLogStream") for target in Refusing.calls), Refusing.calls
    # and the record is still waiting in the outbox
    families = parse_prometheus(scrape_metrics(srv).text)
    assert (prom_sample(families, "parley_log_outbox_bytes") or 0) > 0
