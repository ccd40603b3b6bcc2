#!/usr/bin/env python3
"""Generate AWS SigV4 test fixtures signed by botocore's own signer.

Writes one JSON file per case into Tests/AWSSigV4Tests/Fixtures/ so that
Parley's Swift SigV4 *verifier* can be tested against an independent signer
(botocore) without needing Python at test time.

How it works:
  * The clock is frozen (botocore.auth.get_current_datetime is patched) so
    X-Amz-Date is always 20261129T040000Z; uuid4 is made deterministic so
    the SDK's amz-sdk-invocation-id header is stable.
  * Requests are signed either by a real boto3 `ivschat` client (the exact
    traffic Parley will see from AWS SDK users) or by hand-built
    botocore.awsrequest.AWSRequest objects signed with
    botocore.auth.SigV4Auth / SigV4QueryAuth.
  * Every request is really sent over a socket (botocore's URLLib3Session,
    i.e. urllib3 + http.client) to an in-process capture server, and the
    fixture records the raw request-target, header lines and body bytes that
    arrived. Connections to 127.0.0.1:8080 are redirected to the capture
    server's ephemeral port, so the signed `host` is always 127.0.0.1:8080.
  * botocore's canonical request / string-to-sign are recorded by wrapping
    SigV4Auth.canonical_request / string_to_sign.
  * Each fixture is then re-verified from its *own wire data only*: the
    request is rebuilt from target + the headers named in SignedHeaders +
    body, canonicalised and signed again with botocore's SigV4Auth pieces,
    and the signature must match. A fixture is never written unverified.

Usage:  python3 scripts/generate-sigv4-fixtures.py
Requires: botocore/boto3 (tested with botocore 1.43).
"""

import base64
import datetime
import email.utils
import hashlib
import http.client
import itertools
import json
import os
import pathlib
import socket
import sys
import threading
import uuid
from urllib.parse import quote, unquote_plus, urlsplit

import boto3
import botocore
import botocore.auth
import botocore.config
import botocore.httpsession
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials
from botocore.utils import percent_encode_sequence

# ---------------------------------------------------------------- constants

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT_DIR = REPO_ROOT / "Tests" / "AWSSigV4Tests" / "Fixtures"

ACCESS_KEY = "AKIDPARLEYEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = (
    "FwoGZXIvYXdzEPARLEYEXAMPLESESSIONTOKEN//////////"
    "wEaDPaRlEy+/=EXAMPLE"
)
REGION = "us-east-1"
SERVICE = "ivschat"
ENDPOINT = "http://127.0.0.1:8080"
FAKE_HOST, FAKE_PORT = "127.0.0.1", 8080
USER_AGENT = "parley-sigv4-fixture-generator/1"

FIXED_NOW = datetime.datetime(2026, 11, 29, 4, 0, 0)  # naive UTC, like botocore
SIGNED_AT = "2026-11-29T04:00:00Z"
AMZ_DATE = "20261129T040000Z"

ROOM_ARN = "arn:aws:ivschat:us-east-1:000000000000:room/AbCdEf123456"

# ------------------------------------------------------- determinism patches


def _fixed_now(remove_tzinfo=True):
    if remove_tzinfo:
        return FIXED_NOW
    return FIXED_NOW.replace(tzinfo=datetime.timezone.utc)


botocore.auth.get_current_datetime = _fixed_now

_uuid_counter = itertools.count(1)
uuid.uuid4 = lambda: uuid.UUID(int=0x9A41E700000040008000000000000000 + next(_uuid_counter))

# ------------------------------------------- record botocore's intermediates

RECORD = {}
_orig_canonical_request = SigV4Auth.canonical_request
_orig_string_to_sign = SigV4Auth.string_to_sign


def _rec_canonical_request(self, request):
    value = _orig_canonical_request(self, request)
    RECORD["canonicalRequest"] = value
    return value


def _rec_string_to_sign(self, request, canonical_request):
    value = _orig_string_to_sign(self, request, canonical_request)
    RECORD["stringToSign"] = value
    return value


SigV4Auth.canonical_request = _rec_canonical_request
SigV4Auth.string_to_sign = _rec_string_to_sign

# ------------------------------------------------------------ capture server


class CaptureServer:
    """Accepts one HTTP/1.1 request per connection and records it raw."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.captured = []
        self.lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            conn, _ = self.sock.accept()
            try:
                self._handle(conn)
            finally:
                conn.close()

    def _handle(self, conn):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        method, target, version = lines[0].decode("latin-1").split(" ")
        headers = []
        for line in lines[1:]:
            name, _, value = line.decode("latin-1").partition(":")
            # http.client writes "Name: value" -- drop exactly that one
            # separator space so the value is what botocore handed over.
            if value.startswith(" "):
                value = value[1:]
            headers.append([name, value])
        length = 0
        for name, value in headers:
            if name.lower() == "content-length":
                length = int(value.strip())
            if name.lower() == "transfer-encoding":
                raise RuntimeError("chunked bodies are not supported")
        body = rest
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
        with self.lock:
            self.captured.append(
                {"method": method, "target": target, "version": version,
                 "headers": headers, "body": body}
            )
        resp_body = b"{}"
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(resp_body)).encode() +
            b"\r\nConnection: close\r\n\r\n" + resp_body
        )

    def pop(self):
        with self.lock:
            if len(self.captured) != 1:
                raise RuntimeError(f"expected 1 captured request, got {len(self.captured)}")
            return self.captured.pop()


SERVER = CaptureServer()

# Redirect connections for 127.0.0.1:8080 to the capture server.
import urllib3.util.connection as _u3conn  # noqa: E402
import urllib3.connection as _u3connection  # noqa: E402

_orig_create_connection = _u3conn.create_connection


def _redirecting_create_connection(address, *args, **kwargs):
    if tuple(address) == (FAKE_HOST, FAKE_PORT):
        address = ("127.0.0.1", SERVER.port)
    return _orig_create_connection(address, *args, **kwargs)


_u3conn.create_connection = _redirecting_create_connection
_u3connection.connection.create_connection = _redirecting_create_connection

# ----------------------------------------------------------------- helpers


def creds(token=None):
    return Credentials(ACCESS_KEY, SECRET_KEY, token)


def sdk_client(token=None):
    session = boto3.session.Session(
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        aws_session_token=token,
        region_name=REGION,
    )
    return session.client(
        "ivschat",
        endpoint_url=ENDPOINT,
        config=botocore.config.Config(
            user_agent=USER_AGENT,
            retries={"max_attempts": 1, "mode": "legacy"},
            parameter_validation=True,
        ),
    )


HTTP = botocore.httpsession.URLLib3Session()


def send_prepared(request):
    """Send an AWSRequest the way botocore does (prepare + URLLib3Session)."""
    HTTP.send(request.prepare())


def send_raw_http_client(request):
    """Send via http.client keeping repeated headers (botocore's prepare()
    collapses them into a dict)."""
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    target = parts.path + (("?" + parts.query) if parts.query else "")
    conn = http.client.HTTPConnection(FAKE_HOST, SERVER.port)
    conn.putrequest(request.method, target, skip_host=True, skip_accept_encoding=True)
    conn.putheader("Host", parts.netloc)
    names = set()
    for name, value in request.headers.items():
        conn.putheader(name, value)
        names.add(name.lower())
    for name, value in prepared.headers.items():
        if name.lower() not in names:
            conn.putheader(name, value)
    conn.endheaders(prepared.body if prepared.body else None)
    conn.getresponse().read()
    conn.close()


def sign(request, token=None, query=False, expires=300):
    RECORD.clear()
    if query:
        SigV4QueryAuth(creds(token), SERVICE, REGION, expires=expires).add_auth(request)
    else:
        SigV4Auth(creds(token), SERVICE, REGION).add_auth(request)
    return dict(RECORD)


def req(method, path_and_query, body=b"", headers=None):
    h = {"User-Agent": USER_AGENT}
    if headers:
        h.update(headers)
    return AWSRequest(method=method, url=ENDPOINT + path_and_query, data=body, headers=h)


# ------------------------------------------------------ independent verifier


def _parse_authorization(value):
    assert value.startswith("AWS4-HMAC-SHA256 "), value
    fields = {}
    for part in value[len("AWS4-HMAC-SHA256 "):].split(","):
        k, _, v = part.strip().partition("=")
        fields[k] = v
    return fields


def verify_fixture(fx, plus_is_space=False):
    """Re-derive the signature from the fixture's wire data with botocore."""
    r = fx["request"]
    headers = r["headers"]
    body = base64.b64decode(r["bodyBase64"])
    host = [v for n, v in headers if n.lower() == "host"]
    assert len(host) == 1, "exactly one Host header"
    target = r["target"]
    auth = [v for n, v in headers if n.lower() == "authorization"]
    if auth:
        assert len(auth) == 1
        fields = _parse_authorization(auth[0])
        credential = fields["Credential"]
        signed = fields["SignedHeaders"].split(";")
        signature = fields["Signature"]
    else:
        # presigned: pull the auth params out of the (still-encoded) query
        path, _, q = target.partition("?")
        pairs = [p.partition("=") for p in q.split("&")]
        qd = {k: v for k, _, v in pairs}
        signature = qd["X-Amz-Signature"]
        credential = unquote_plus(qd["X-Amz-Credential"])
        signed = unquote_plus(qd["X-Amz-SignedHeaders"]).split(";")
        assert qd["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
        kept = [f"{k}={v}" for k, _, v in pairs if k != "X-Amz-Signature"]
        target = path + ("?" + "&".join(kept) if kept else "")
    akid, date, region, service, term = credential.split("/")
    assert (akid, region, service, term) == (ACCESS_KEY, REGION, SERVICE, "aws4_request")

    if plus_is_space:
        # Server-style query normalisation: decode (+ = space), re-encode RFC 3986.
        path, _, q = target.partition("?")
        if q:
            enc = []
            for p in q.split("&"):
                k, _, v = p.partition("=")
                enc.append(f"{quote(unquote_plus(k), safe='-_.~')}={quote(unquote_plus(v), safe='-_.~')}")
            target = path + "?" + "&".join(enc)

    hh = HTTPHeaders()
    for name, value in headers:
        if name.lower() in signed:
            hh[name] = value  # HTTPHeaders appends: repeated headers are kept
    got_signed = sorted({n.lower() for n, _ in hh.items()})
    assert got_signed == sorted(signed), (got_signed, signed)

    rebuilt = AWSRequest(method=r["method"], url="http://" + host[0] + target, data=body)
    rebuilt.headers = hh
    amz_date = [v for n, v in headers if n.lower() == "x-amz-date"]
    if auth and amz_date:
        timestamp = amz_date[0]
    elif auth:
        ts = email.utils.parsedate_to_datetime(
            [v for n, v in headers if n.lower() == "date"][0])
        timestamp = ts.strftime("%Y%m%dT%H%M%SZ")
    else:
        timestamp = unquote_plus(qd["X-Amz-Date"])
    assert timestamp == AMZ_DATE and timestamp[:8] == date
    rebuilt.context["timestamp"] = timestamp
    signer = SigV4Auth(creds(fx["credentials"]["sessionToken"]), service, region)
    cr = _orig_canonical_request(signer, rebuilt)
    sts = _orig_string_to_sign(signer, rebuilt, cr)
    sig = signer.signature(sts, rebuilt)
    assert cr == fx["canonicalRequest"], f"{fx['name']}: canonical request mismatch\n{cr}\n---\n{fx['canonicalRequest']}"
    assert sts == fx["stringToSign"], f"{fx['name']}: string to sign mismatch"
    assert sig == signature, f"{fx['name']}: signature mismatch"


# ------------------------------------------------------------ case registry

CASES = []


def case(name, description, token=None, plus_is_space=False):
    def register(fn):
        CASES.append((name, description, token, plus_is_space, fn))
        return fn
    return register


# --- real boto3 ivschat client traffic -----------------------------------


@case("sdk-list-rooms-empty-object",
      "boto3 ivschat.list_rooms(): POST /ListRooms, JSON content-type, body '{}', SDK headers (amz-sdk-*) signed, User-Agent/Content-Length unsigned")
def _(token):
    sdk_client(token).list_rooms()


@case("sdk-create-room",
      "boto3 ivschat.create_room() with a typical JSON body (name, limits, tags, logging config ids)")
def _(token):
    sdk_client(token).create_room(
        name="parley-room-1",
        maximumMessageRatePerSecond=10,
        maximumMessageLength=500,
        tags={"team": "chat", "env": "dev"},
        loggingConfigurationIdentifiers=["arn:aws:ivschat:us-east-1:000000000000:logging-configuration/AbCd1234"],
    )


@case("sdk-create-room-unicode-escaped",
      "boto3 create_room() with non-ASCII name/tags: botocore's JSON serializer emits \\uXXXX escapes, so the body bytes are pure ASCII")
def _(token):
    sdk_client(token).create_room(name="héllo — 日本語 🎉", tags={"clé": "valeur ✓"})


@case("sdk-list-tags-for-resource",
      "boto3 list_tags_for_resource(): GET /tags/{resourceArn}, ARN label percent-encoded (':'->%3A, '/'->%2F); canonical URI double-encodes it (%253A, %252F)")
def _(token):
    sdk_client(token).list_tags_for_resource(resourceArn=ROOM_ARN)


@case("sdk-tag-resource",
      "boto3 tag_resource(): POST /tags/{resourceArn} with encoded ARN label and JSON body")
def _(token):
    sdk_client(token).tag_resource(resourceArn=ROOM_ARN, tags={"a": "1", "b c": "x/y"})


@case("sdk-untag-resource-repeated-query",
      "boto3 untag_resource(): DELETE /tags/{arn}?tagKeys=...; repeated keys, unsorted on the wire, space as %20, reserved chars &=+/~*!'() and non-ASCII percent-encoded in values")
def _(token):
    sdk_client(token).untag_resource(
        resourceArn=ROOM_ARN,
        tagKeys=["zeta", "b c", "a", "&=+/~*!'()", "日本", "A"],
    )


@case("sdk-session-token",
      "boto3 get_room() with temporary credentials: X-Amz-Security-Token header is sent and signed",
      token=SESSION_TOKEN)
def _(token):
    sdk_client(token).get_room(identifier=ROOM_ARN)


@case("sdk-presigned-get-list-tags",
      "boto3 generate_presigned_url('list_tags_for_resource', ExpiresIn=300) fetched with a plain GET: query-string auth (X-Amz-Algorithm/Credential/Date/Expires/SignedHeaders/Signature), no Authorization header, payload hash = sha256('')")
def _(token):
    url = sdk_client(token).generate_presigned_url(
        "list_tags_for_resource", Params={"resourceArn": ROOM_ARN}, ExpiresIn=300)
    RECORD_SNAPSHOT = dict(RECORD)
    send_prepared(AWSRequest(method="GET", url=url, headers={"User-Agent": USER_AGENT}))
    return RECORD_SNAPSHOT


# --- hand-built AWSRequest + SigV4Auth -----------------------------------


@case("empty-body-post",
      "POST /ListRooms with a truly empty body (b''): payload hash is sha256('') and botocore sends Content-Length: 0 (unsigned)")
def _(token):
    r = req("POST", "/ListRooms", b"", {"Content-Type": "application/json"})
    rec = sign(r, token)
    send_prepared(r)
    return rec


@case("json-empty-object",
      "POST /ListRooms with body '{}' and Content-Type application/x-amz-json-1.1 set by hand (signed)")
def _(token):
    r = req("POST", "/ListRooms", b"{}", {"Content-Type": "application/x-amz-json-1.1"})
    rec = sign(r, token)
    send_prepared(r)
    return rec


@case("large-body-256k",
      "POST /SendEvent with a ~256 KiB JSON body (payload hash over the full body)")
def _(token):
    filler = "".join(chr(0x61 + (i * 7) % 26) for i in range(256 * 1024 - 200))
    body = json.dumps({"roomIdentifier": ROOM_ARN, "eventName": "bulk",
                       "attributes": {"blob": filler}}, separators=(",", ":")).encode()
    r = req("POST", "/SendEvent", body, {"Content-Type": "application/json"})
    rec = sign(r, token)
    send_prepared(r)
    return rec


@case("utf8-body-raw",
      "POST /CreateRoom whose body contains raw (unescaped) multi-byte UTF-8: 'héllo — 日本語 🎉'")
def _(token):
    body = '{"name":"héllo — 日本語 🎉","tags":{"emoji":"🎉"}}'.encode("utf-8")
    r = req("POST", "/CreateRoom", body, {"Content-Type": "application/json; charset=utf-8"})
    rec = sign(r, token)
    send_prepared(r)
    return rec


@case("path-encoded-space-unicode",
      "GET /tags/{label} where the label has a space, 'é' and an emoji, percent-encoded on the wire like botocore's rest-json serializer; canonical URI re-encodes every '%' to %25")
def _(token):
    label = quote("room name é🎉:x/y", safe="-_.~")
    r = req("GET", "/tags/" + label)
    rec = sign(r, token)
    send_prepared(r)
    return rec


@case("path-dot-segments",
      "POST /a/./b/../CreateRoom sent verbatim on the wire; botocore signs the path with '.' and '..' segments removed (/a/CreateRoom)")
def _(token):
    r = req("POST", "/a/./b/../CreateRoom", b"{}", {"Content-Type": "application/json"})
    rec = sign(r, token)
    send_prepared(r)
    return rec


@case("path-double-slash",
      "POST //CreateRoom//x/ sent verbatim on the wire; botocore signs it with empty segments collapsed (/CreateRoom/x/, trailing slash kept)")
def _(token):
    r = req("POST", "//CreateRoom//x/", b"{}", {"Content-Type": "application/json"})
    rec = sign(r, token)
    send_prepared(r)
    return rec


@case("query-reserved-chars",
      "POST /CreateRoom?... with an unsorted query built by botocore.utils.percent_encode_sequence: reserved chars &=+/~*!'(), space, non-ASCII in keys and values, a repeated key; canonical query = raw pairs sorted")
def _(token):
    qs = percent_encode_sequence([
        ("zeta", "last"),
        ("b key", "v a l"),
        ("a", "&=+/~*!'()"),
        ("ключ", "значение"),
        ("a", "1"),
        ("Upper", "é"),
        ("tilde~", "~-._"),
    ])
    r = req("POST", "/CreateRoom?" + qs, b"{}", {"Content-Type": "application/json"})
    rec = sign(r, token)
    send_prepared(r)
    return rec


@case("query-empty-values",
      "GET /tags/x?flag=&other&z=1: empty value with '=' and a bare key without '='; botocore canonicalises the bare key as 'other='")
def _(token):
    r = req("GET", "/tags/x?flag=&other&z=1")
    rec = sign(r, token)
    send_prepared(r)
    return rec


@case("query-plus-encoded-space-params",
      "LEGACY AWSRequest(params=...) path (not used by real SDK rest-json calls): wire query is urlencode()d so space is '+', but botocore signed it as %20; verifies only if the verifier decodes '+' as space before re-encoding",
      plus_is_space=True)
def _(token):
    r = AWSRequest(method="GET", url=ENDPOINT + "/tags/x",
                   params=[("q", "a b"), ("a", "c+d")],
                   headers={"User-Agent": USER_AGENT})
    rec = sign(r, token)
    send_prepared(r)
    return rec


@case("headers-repeated",
      "POST /CreateRoom with X-Amz-Meta-Test sent twice (a, b): both signed, canonical value 'a,b'. Signed by SigV4Auth.add_auth (AWSRequest.headers keeps repeats) but sent with http.client directly because AWSRequest.prepare() collapses repeats")
def _(token):
    r = req("POST", "/CreateRoom", b"{}", {"Content-Type": "application/json"})
    r.headers["X-Amz-Meta-Test"] = "a"
    r.headers["X-Amz-Meta-Test"] = "b"  # HTTPHeaders.__setitem__ appends
    assert r.headers.get_all("X-Amz-Meta-Test") == ["a", "b"]
    rec = sign(r, token)
    send_raw_http_client(r)
    return rec


@case("headers-whitespace-and-case",
      "POST /CreateRoom with header value '  a   b  c  ' (trimmed + inner runs collapsed to 'a b c'), tab inside a value, mixed-case names (X-Amz-Meta-MiXeD, CONTENT-type); all lower-cased in SignedHeaders; User-Agent sent but never signed")
def _(token):
    r = req("POST", "/CreateRoom", b'{"name":"r"}', {
        "CONTENT-type": "application/json",
        "X-Amz-Meta-MiXeD": "  a   b  c  ",
        "x-amz-meta-tabs": "one\t\ttwo",
        "X-CUSTOM-Header": "Value With  Spaces",
    })
    rec = sign(r, token)
    send_prepared(r)
    return rec


@case("content-sha256-header",
      "POST /CreateRoom with client-supplied X-Amz-Content-SHA256 = sha256(body): botocore signs the header and uses its value verbatim as the canonical payload hash")
def _(token):
    body = b'{"name":"with-payload-hash"}'
    r = req("POST", "/CreateRoom", body, {
        "Content-Type": "application/json",
        "X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest(),
    })
    rec = sign(r, token)
    send_prepared(r)
    return rec


@case("unsigned-payload",
      "POST /CreateRoom signed with payload_signing_enabled=False over an https:// URL: botocore adds X-Amz-Content-SHA256: UNSIGNED-PAYLOAD and uses that literal as payload hash (wire captured over plain http; target/headers identical)")
def _(token):
    body = b'{"name":"unsigned"}'
    r = AWSRequest(method="POST", url="https://127.0.0.1:8080/CreateRoom", data=body,
                   headers={"User-Agent": USER_AGENT, "Content-Type": "application/json"})
    r.context["payload_signing_enabled"] = False
    rec = sign(r, token)
    assert r.headers["X-Amz-Content-SHA256"] == "UNSIGNED-PAYLOAD"
    r.url = r.url.replace("https://", "http://", 1)
    send_prepared(r)
    return rec


@case("date-header-instead-of-x-amz-date",
      "Request that already carries a Date header: botocore rewrites Date to the signing time in email.utils.formatdate form ('Sun, 29 Nov 2026 04:00:00 -0000', not 'GMT') and sends NO X-Amz-Date; Date is signed and the string-to-sign still uses 20261129T040000Z")
def _(token):
    r = req("POST", "/ListRooms", b"{}", {"Content-Type": "application/json",
                                          "Date": "Thu, 01 Jan 1970 00:00:00 GMT"})
    rec = sign(r, token)
    assert "X-Amz-Date" not in r.headers
    send_prepared(r)
    return rec


@case("session-token-hand-built",
      "POST /CreateChatToken signed with SigV4Auth and a session token: X-Amz-Security-Token header appended after X-Amz-Date and signed",
      token=SESSION_TOKEN)
def _(token):
    r = req("POST", "/CreateChatToken", b'{"roomIdentifier":"r","userId":"u"}',
            {"Content-Type": "application/json"})
    rec = sign(r, token)
    send_prepared(r)
    return rec


@case("presigned-get",
      "SigV4QueryAuth(expires=300) GET /tags/{encoded arn}?z=1&a=2: auth params appended after operation params (which botocore re-encodes and de-duplicates); only host signed")
def _(token):
    arn = quote(ROOM_ARN, safe="-_.~")
    r = req("GET", f"/tags/{arn}?z=1&a=2")
    rec = sign(r, token, query=True)
    send_prepared(r)
    return rec


@case("presigned-post-empty-body",
      "SigV4QueryAuth(expires=300) POST /ListRooms with empty body: no Authorization header, signature in query; Content-Length: 0 unsigned")
def _(token):
    r = req("POST", "/ListRooms")
    rec = sign(r, token, query=True)
    send_prepared(r)
    return rec


@case("presigned-post-json-body-moved-to-query",
      "SigV4QueryAuth POST /CreateRoom with JSON body {name,maximumMessageLength}: botocore MOVES the body's top-level fields into the query string and sends an empty body; Content-Type set before signing is signed")
def _(token):
    r = req("POST", "/CreateRoom", b'{"name":"pre signed","maximumMessageLength":500}',
            {"Content-Type": "application/json"})
    rec = sign(r, token, query=True)
    send_prepared(r)
    return rec


@case("presigned-session-token",
      "SigV4QueryAuth GET /tags/x with a session token: X-Amz-Security-Token is part of the signed query string",
      token=SESSION_TOKEN)
def _(token):
    r = req("GET", "/tags/x")
    rec = sign(r, token, query=True)
    send_prepared(r)
    return rec


# -------------------------------------------------------------------- main


def run_case(name, description, token, plus_is_space, fn):
    RECORD.clear()
    rec = fn(token)
    if rec is None:  # SDK cases: the client signed; take what it recorded
        rec = dict(RECORD)
    wire = SERVER.pop()
    fx = {
        "name": name,
        "description": description,
        "credentials": {"accessKeyId": ACCESS_KEY, "secretAccessKey": SECRET_KEY,
                        "sessionToken": token},
        "region": REGION,
        "service": SERVICE,
        "signedAt": SIGNED_AT,
        "request": {
            "method": wire["method"],
            "target": wire["target"],
            "headers": wire["headers"],
            "bodyBase64": base64.b64encode(wire["body"]).decode("ascii"),
        },
        "canonicalRequest": rec["canonicalRequest"],
        "stringToSign": rec["stringToSign"],
    }
    verify_fixture(fx, plus_is_space=plus_is_space)
    return fx


def main():
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for stale in OUT_DIR.glob("*.json"):
        stale.unlink()
    names = set()
    for name, description, token, plus_is_space, fn in CASES:
        assert name not in names, name
        names.add(name)
        fx = run_case(name, description, token, plus_is_space, fn)
        path = OUT_DIR / f"{name}.json"
        path.write_text(json.dumps(fx, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"ok  {name}")
    print(f"{len(CASES)} fixtures written to {OUT_DIR.relative_to(REPO_ROOT)} (botocore {botocore.__version__})")


if __name__ == "__main__":
    sys.exit(main())
