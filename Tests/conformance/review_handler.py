#!/usr/bin/env python3
"""A message review handler for Parley's conformance tests and benchmarks: a separate HTTP process.

    python3 Tests/conformance/review_handler.py --port 0 [--secret S] \
        [--aws-access-key-id K --aws-secret-access-key X] [--no-record]

Prints `LISTENING <port>` on stdout once it accepts connections.

Endpoints
  POST /review[/<mode>]          a webhook handler (Parley's http(s) review handler URI).
  POST /2015-03-31/functions/<url-encoded function ARN>/invocations
                                 AWS Lambda Invoke: the SigV4 signature is checked (recomputed with botocore)
                                 against --aws-access-key-id/--aws-secret-access-key; a bad one gets 403.
  GET  /requests                 every request received so far, as JSON (method, path, headers, body, verdicts).
  GET  /health                   "ok".

The behaviour is the path's <mode> if given, else the prefix of the reviewed Content before ':' when it is a
known mode, else "allow":
  allow          ALLOW the Content and Attributes unchanged
  noattrs        ALLOW the Content, no Attributes key in the answer
  rewrite        ALLOW Content "[reviewed] <rest>", Attributes {"reviewed": "true"}
  deny           DENY with Attributes {"Reason": <rest>}
  denynoreason   DENY without Attributes
  slow           sleep --slow-ms (400) then ALLOW unchanged
  slowbody       send the response head at once, the (valid, rewritten) body after --slow-ms
  error500       HTTP 500
  garbage        200 with a body that is not JSON
  oversized      ALLOW with Content "x" * int(<rest>)        (e.g. "oversized:501")
  emoji          ALLOW with Content "🎉" * int(<rest>)       (code points, not UTF-16 units)
  bigattrs       ALLOW with Attributes {"pad": "x"*...} of int(<rest>) bytes in total (key + value)
  emptycontent   ALLOW with Content ""
  nonstringattr  ALLOW with Attributes {"n": 1}
  maybe          ReviewResult "MAYBE"
  reset          close the connection without answering
  hang           never answer: hold the connection until the caller closes it (at most --hang-max-s, 600)
  funcerror      200 + `X-Amz-Function-Error: Unhandled` with an otherwise valid rewritten ALLOW body

With --secret, a webhook request whose X-Parley-Signature is not v1=HMAC-SHA256(secret, "<ts>.<body>") or whose
X-Parley-Timestamp is more than 300 s off is answered 401 (and recorded with signature_ok false).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import re
import select
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

MODES = {
    "allow", "noattrs", "rewrite", "deny", "denynoreason", "slow", "slowbody", "error500", "garbage", "oversized",
    "emoji", "bigattrs", "emptycontent", "nonstringattr", "maybe", "reset", "funcerror",
    "hang",
}
LAMBDA_PATH_RE = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations$")
AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/,]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,\s*"
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


class Config:
    secret: str | None = None
    aws_key: str | None = None
    aws_secret: str | None = None
    slow_s: float = 0.4
    hang_max_s: float = 600.0
    record: bool = True


LOCK = threading.Lock()
RECORDS: list[dict] = []


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    return "v1=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify_sigv4(method: str, raw_path: str, headers, body: bytes) -> dict:
    """Recompute the SigV4 signature of a received request with botocore; returns what was found."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    result: dict = {"ok": False}
    m = AUTH_RE.match(headers.get("Authorization", ""))
    if not m:
        result["error"] = f"unparseable Authorization {headers.get('Authorization')!r}"
        return result
    result.update(
        access_key=m["key"], date=m["date"], region=m["region"], service=m["service"],
        signed_headers=m["signed"].split(";"), scope=f"{m['date']}/{m['region']}/{m['service']}/aws4_request",
    )
    amz_date = headers.get("X-Amz-Date", "")
    result["amz_date"] = amz_date
    missing = [h for h in result["signed_headers"] if headers.get(h) is None]
    if missing:
        result["error"] = f"signed headers missing from the request: {missing}"
        return result
    signed = {h: headers.get(h) for h in result["signed_headers"]}
    request = AWSRequest(method=method, url=f"http://{headers.get('Host')}{raw_path}", data=body, headers=signed)
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(Config.aws_key or "", Config.aws_secret or ""), m["service"], m["region"])
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    result["expected_signature"] = expected
    result["ok"] = (
        hmac.compare_digest(expected, m["signature"])
        and m["key"] == Config.aws_key
        and amz_date[:8] == m["date"]
    )
    if not result["ok"]:
        result["error"] = "signature mismatch"
        result["canonical_request"] = canonical
    return result


def pick_mode(path_mode: str | None, content: str) -> tuple[str, str]:
    """(mode, rest of the content after the mode prefix)."""
    prefix, sep, rest = content.partition(":")
    if path_mode:
        return path_mode, (rest if sep and prefix == path_mode else content)
    if sep and prefix in MODES:
        return prefix, rest
    return "allow", content


def answer_for(mode: str, rest: str, payload: dict) -> dict | None:
    content = payload.get("Content", "")
    attributes = payload.get("Attributes", {})
    if mode in ("allow", "slow"):
        return {"ReviewResult": "ALLOW", "Content": content, "Attributes": attributes}
    if mode == "noattrs":
        return {"ReviewResult": "ALLOW", "Content": content}
    if mode in ("rewrite", "funcerror"):
        return {"ReviewResult": "ALLOW", "Content": f"[reviewed] {rest}", "Attributes": {"reviewed": "true"}}
    if mode == "slowbody":
        return {"ReviewResult": "ALLOW", "Content": f"[late] {rest}", "Attributes": {}}
    if mode == "deny":
        return {"ReviewResult": "DENY", "Content": content, "Attributes": {"Reason": rest}}
    if mode == "denynoreason":
        return {"ReviewResult": "DENY", "Content": content}
    if mode == "oversized":
        return {"ReviewResult": "ALLOW", "Content": "x" * int(rest or 501), "Attributes": {}}
    if mode == "emoji":
        return {"ReviewResult": "ALLOW", "Content": "\U0001f389" * int(rest or 1), "Attributes": {}}
    if mode == "bigattrs":
        total = int(rest or 1025)
        return {"ReviewResult": "ALLOW", "Content": content, "Attributes": {"pad": "x" * (total - 3)}}
    if mode == "emptycontent":
        return {"ReviewResult": "ALLOW", "Content": "", "Attributes": {}}
    if mode == "nonstringattr":
        return {"ReviewResult": "ALLOW", "Content": content, "Attributes": {"n": 1}}
    if mode == "maybe":
        return {"ReviewResult": "MAYBE", "Content": content, "Attributes": {}}
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like a real service
    # The head and the body go out in two writes: without TCP_NODELAY, Nagle holds the body back until the client's
    # delayed ACK (~40 ms), which would be charged to Parley's review latency.
    disable_nagle_algorithm = True
    server_version = "ParleyReviewHandler/1"

    def log_message(self, format, *args):  # noqa: A002 - quiet
        pass

    # ---- helpers

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None, delay_body: float = 0.0) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if delay_body:
            self.wfile.flush()
            time.sleep(delay_body)
        self.wfile.write(body)
        self.wfile.flush()

    def _json(self, status: int, obj, headers: dict[str, str] | None = None, delay_body: float = 0.0) -> None:
        self._send(status, json.dumps(obj).encode(), headers, delay_body)

    # ---- GET

    def do_GET(self):
        path = urlsplit(self.path).path
        if path == "/health":
            return self._send(200, b'"ok"')
        if path == "/requests":
            with LOCK:
                snapshot = list(RECORDS)
            return self._json(200, snapshot)
        self._json(404, {"message": "not found"})

    # ---- POST

    def do_POST(self):
        received = time.time()
        body = self._read_body()
        raw_path = self.path
        path = urlsplit(raw_path).path
        record: dict = {
            "received": received,
            "method": "POST",
            "path": raw_path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body": body.decode("utf-8", "replace"),
        }
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        record["json"] = payload

        lambda_match = LAMBDA_PATH_RE.match(path)
        path_mode = None
        if lambda_match:
            record["kind"] = "lambda"
            record["function"] = unquote(lambda_match.group(1))
            record["sigv4"] = verify_sigv4("POST", raw_path, self.headers, body)
        elif path == "/review" or path.startswith("/review/"):
            record["kind"] = "webhook"
            path_mode = path[len("/review/"):] if path.startswith("/review/") else ""
            path_mode = path_mode or None
            if Config.secret is not None:
                ts = self.headers.get("X-Parley-Timestamp", "")
                sig = self.headers.get("X-Parley-Signature", "")
                fresh = ts.isdigit() and abs(int(ts) - time.time()) <= 300
                record["signature_ok"] = fresh and hmac.compare_digest(webhook_signature(Config.secret, ts, body), sig)
        else:
            record["kind"] = "unknown"

        content = payload.get("Content", "") if isinstance(payload, dict) else ""
        mode, rest = pick_mode(path_mode, content if isinstance(content, str) else "")
        record["mode"] = mode
        if Config.record:
            with LOCK:
                RECORDS.append(record)

        if record["kind"] == "unknown":
            return self._json(404, {"message": f"no handler at {path}"})
        if record["kind"] == "lambda" and not record["sigv4"]["ok"]:
            return self._json(
                403, {"message": "The request signature we calculated does not match the signature you provided."},
                {"x-amzn-ErrorType": "InvalidSignatureException"},
            )
        if record.get("signature_ok") is False:
            return self._json(401, {"message": "bad X-Parley-Signature"})
        if not isinstance(payload, dict):
            return self._json(400, {"message": "the review request is not a JSON object"})

        try:
            if mode == "slow":
                time.sleep(Config.slow_s)
            if mode == "hang":
                # Block (without spinning) until the caller gives up and closes, or the cap passes; never answer.
                select.select([self.connection], [], [], Config.hang_max_s)
                self.close_connection = True
                return
            if mode == "reset":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()
                return
            if mode == "error500":
                return self._json(500, {"message": "the handler broke"})
            if mode == "garbage":
                return self._send(200, b"{this is not json")
            answer = answer_for(mode, rest, payload)
            headers = {}
            if record["kind"] == "lambda":
                headers["X-Amz-Executed-Version"] = "$LATEST"
            if mode == "funcerror":
                headers["X-Amz-Function-Error"] = "Unhandled"
            self._json(200, answer, headers, delay_body=Config.slow_s if mode == "slowbody" else 0.0)
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True  # Parley gave up (timeout) and closed the connection


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def handle_error(self, request, client_address):  # a reset/closed connection is expected here
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed as LISTENING <port>)")
    parser.add_argument("--secret", help="verify X-Parley-Signature with this secret (401 when it does not verify)")
    parser.add_argument("--aws-access-key-id")
    parser.add_argument("--aws-secret-access-key")
    parser.add_argument("--slow-ms", type=int, default=400)
    parser.add_argument("--hang-max-s", type=float, default=600.0, help="the longest a `hang` request is held")
    parser.add_argument("--no-record", action="store_true", help="do not keep requests (long benchmarks)")
    args = parser.parse_args()
    Config.secret = args.secret
    Config.aws_key = args.aws_access_key_id
    Config.aws_secret = args.aws_secret_access_key
    Config.slow_s = args.slow_ms / 1000.0
    Config.hang_max_s = args.hang_max_s
    Config.record = not args.no_record
    server = Server((args.host, args.port), Handler)
    print(f"LISTENING {server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        sys.exit(0)


if __name__ == "__main__":
    main()
