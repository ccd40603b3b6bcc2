"""Helpers shared by the Parley black-box conformance suite.

Everything here talks to a real `parley` process over HTTP (boto3, raw SigV4
requests, the AWS CLI). Fixtures live in conftest.py; this module holds the
server handle and the assertion helpers so test modules can import them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping
from unittest import mock
from urllib.parse import quote, urlencode

import boto3
import botocore.auth
import pytest
import requests
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BINARY = REPO_ROOT / ".build" / "debug" / "parley"

ADMIN_ACCESS_KEY_ID = "AKIDPARLEYTEST"
ADMIN_SECRET_ACCESS_KEY = "parleyTestSecretKey0123456789abcdefghijk"  # 40 chars
assert len(ADMIN_SECRET_ACCESS_KEY) == 40

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "000000000000"

STARTUP_TIMEOUT_S = 60.0
SHUTDOWN_TIMEOUT_S = 10.0

ID_RE = re.compile(r"^[a-zA-Z0-9]{12}$")
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]+$")
LAMBDA_ARN = "arn:aws:lambda:us-east-1:123456789012:function:review"


THROTTLE_RETRIES = 8


def throttle_backoff(attempt: int) -> None:
    """Back off after a 429 ThrottlingException (API TPS quotas), like botocore's standard retries.

    This is not a readiness wait: readiness is always polled via /health with a deadline.
    """
    time.sleep(min(0.2 * 2**attempt, 5.0))


def unique(prefix: str = "t") -> str:
    """A name matching [a-zA-Z0-9-_]* that no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def random_id() -> str:
    """A well-formed (12 chars [a-zA-Z0-9]) id that no server has issued."""
    return "Zz" + uuid.uuid4().hex[:10]


def room_arn_re(region: str, account: str) -> re.Pattern[str]:
    return re.compile(rf"^arn:aws:ivschat:{re.escape(region)}:{re.escape(account)}:room/([a-zA-Z0-9]{{12}})$")


def lc_arn_re(region: str, account: str) -> re.Pattern[str]:
    return re.compile(
        rf"^arn:aws:ivschat:{re.escape(region)}:{re.escape(account)}:logging-configuration/([a-zA-Z0-9]{{12}})$"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def assert_close(actual: dt.datetime, expected: dt.datetime, tolerance_s: float = 15.0) -> None:
    assert isinstance(actual, dt.datetime), f"expected a datetime, got {actual!r}"
    assert actual.tzinfo is not None, f"timestamp {actual!r} has no timezone"
    delta = abs((actual - expected).total_seconds())
    assert delta <= tolerance_s, f"{actual.isoformat()} is {delta:.1f}s away from {expected.isoformat()}"


# --------------------------------------------------------------------------- errors


def error_type_of(resp: requests.Response) -> str:
    """The x-amzn-ErrorType header without any ':<namespace>' suffix."""
    value = resp.headers.get("x-amzn-ErrorType", "")
    return value.split(":", 1)[0]


def assert_raw_error(resp: requests.Response, status: int, code: str | tuple[str, ...]) -> dict[str, Any]:
    """Assert an AWS rest-json error response; return its decoded JSON body."""
    codes = (code,) if isinstance(code, str) else code
    assert resp.status_code == status, f"expected {status} {codes}, got {resp.status_code}: {resp.text[:500]}"
    assert error_type_of(resp) in codes, (
        f"x-amzn-ErrorType is {resp.headers.get('x-amzn-ErrorType')!r}, expected one of {codes}; body {resp.text[:300]}"
    )
    try:
        body = resp.json()
    except ValueError:  # pragma: no cover - the assertion below reports it
        pytest.fail(f"error body is not JSON: {resp.text[:300]!r}")
    assert isinstance(body, dict), f"error body is not a JSON object: {body!r}"
    message = body.get("message", body.get("Message"))
    assert isinstance(message, str) and message, f"error body has no message: {body!r}"
    return body


def field_names(body: Mapping[str, Any]) -> list[str]:
    fields = body.get("fieldList") or []
    assert isinstance(fields, list), f"fieldList is not a list: {fields!r}"
    names = []
    for f in fields:
        assert isinstance(f, dict) and isinstance(f.get("name"), str), f"bad fieldList entry {f!r}"
        assert isinstance(f.get("message"), str), f"fieldList entry without message {f!r}"
        names.append(f["name"])
    return names


def names_field(name: str, leaf: str) -> bool:
    """True when a fieldList name (possibly a path like 'a.b[0].c') names `leaf`."""
    return leaf in re.split(r"[^A-Za-z0-9]+", name)


def assert_validation(body: Mapping[str, Any], field: str | None = None) -> None:
    """A ValidationException body (raw JSON, or boto3's e.response) for `field`."""
    assert body.get("reason") in ("FIELD_VALIDATION_FAILED", "OTHER", "UNKNOWN_OPERATION"), body
    if field is not None:
        assert body.get("reason") == "FIELD_VALIDATION_FAILED", body
        names = field_names(body)
        assert any(names_field(n, field) for n in names), f"fieldList {names} does not name {field!r}"


class AwsError:
    """Filled in by `raises_aws` once the block has raised."""

    response: dict[str, Any]

    @property
    def code(self) -> str:
        return self.response["Error"]["Code"]

    @property
    def status(self) -> int:
        return self.response["ResponseMetadata"]["HTTPStatusCode"]


@contextlib.contextmanager
def raises_aws(
    code: str | tuple[str, ...], status: int | None = None, field: str | None = None
) -> Iterator[AwsError]:
    """`with raises_aws("ValidationException", 400, field="name") as err:` around a boto3 call.

    `code` may be a tuple of acceptable error codes.
    """
    codes = (code,) if isinstance(code, str) else code
    holder = AwsError()
    with pytest.raises(ClientError) as info:
        yield holder
    holder.response = info.value.response
    assert holder.code in codes, f"expected {codes}, got {holder.code}: {holder.response}"
    if status is not None:
        assert holder.status == status, f"expected HTTP {status}, got {holder.status}"
    headers = holder.response["ResponseMetadata"].get("HTTPHeaders", {})
    assert headers.get("x-amzn-errortype", "").split(":", 1)[0] == holder.code, headers
    if holder.code == "ValidationException":
        assert_validation(holder.response, field)
    if holder.code == "ResourceNotFoundException":
        assert holder.response.get("resourceId"), holder.response
        assert holder.response.get("resourceType"), holder.response


# --------------------------------------------------------------------------- CLI


@dataclass
class CliResult:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        assert self.returncode == 0, f"aws {' '.join(self.args)} failed ({self.returncode}): {self.stderr}"
        return json.loads(self.stdout) if self.stdout.strip() else {}


# --------------------------------------------------------------------------- server


@dataclass
class ParleyServer:
    """A running (or stopped) `parley serve` process and ways to talk to it."""

    binary: Path
    data_dir: Path
    log_dir: Path
    region: str = DEFAULT_REGION
    account: str = DEFAULT_ACCOUNT
    access_key: str | None = ADMIN_ACCESS_KEY_ID
    secret_key: str | None = ADMIN_SECRET_ACCESS_KEY
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    runs: int = 0
    returncodes: list[int] = field(default_factory=list)

    # ---- lifecycle

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_") and not k.startswith("AWS_")}
        env["PARLEY_REGION"] = self.region
        env["PARLEY_ACCOUNT_ID"] = self.account
        # The control-plane tests name destinations that exist nowhere; logging tests turn checks on against moto.
        env["PARLEY_VERIFY_LOG_DESTINATIONS"] = "false"
        env["PARLEY_TEMPLATES_DIR"] = str(REPO_ROOT / "Templates")
        env["PARLEY_PUBLIC_DIR"] = str(REPO_ROOT / "Public")
        env["PARLEY_BCRYPT_COST"] = "4"
        # The suite creates resources in bursts; the API call-rate quotas get their own tests (test_metrics_and_quotas.py).
        for quota in ("RoomOperationsTPS", "LoggingConfigurationOperationsTPS", "TagOperationsTPS", "CreateChatTokenTPS"):
            env[f"PARLEY_QUOTA_{quota}"] = "100000"
        if self.access_key is not None:
            env["PARLEY_ACCESS_KEY_ID"] = self.access_key
            env["PARLEY_SECRET_ACCESS_KEY"] = self.secret_key or ""
        env.update(self.extra_env)
        return env

    def stdout_path(self, run: int | None = None) -> Path:
        return self.log_dir / f"parley-{self.runs if run is None else run}.stdout.log"

    def stderr_path(self, run: int | None = None) -> Path:
        return self.log_dir / f"parley-{self.runs if run is None else run}.stderr.log"

    def output(self, run: int | None = None) -> str:
        """stdout + stderr of run `run` (default: the latest)."""
        parts = []
        for p in (self.stdout_path(run), self.stderr_path(run)):
            if p.exists():
                parts.append(p.read_text(errors="replace"))
        return "\n".join(parts)

    def start(self) -> "ParleyServer":
        assert self.process is None, "server already running"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.runs += 1
        self.port = free_port()
        cmd = [
            str(self.binary), "serve",
            "--host", "127.0.0.1", "--port", str(self.port),
            "--data-dir", str(self.data_dir),
        ]
        with open(self.stdout_path(), "wb") as out, open(self.stderr_path(), "wb") as err:
            self.process = subprocess.Popen(cmd, env=self._env(), stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        self._wait_healthy()
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        last_error: str = ""
        session = requests.Session()
        while time.monotonic() < deadline:
            rc = self.process.poll() if self.process else None
            if rc is not None:
                self.process = None
                raise RuntimeError(f"parley exited with {rc} before becoming healthy:\n{self.output()[-4000:]}")
            try:
                r = session.get(self.endpoint + "/health", timeout=1.0)
                if r.status_code == 200:
                    return
                last_error = f"HTTP {r.status_code}"
            except requests.RequestException as e:  # not listening yet
                last_error = repr(e)
            # Block on the process for a moment instead of spinning; returns early if it dies.
            try:
                self.process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass
        self.stop(check=False)
        raise RuntimeError(f"parley not healthy within {STARTUP_TIMEOUT_S}s ({last_error}):\n{self.output()[-4000:]}")

    def stop(self, check: bool = True) -> int | None:
        """SIGTERM the server; with check, assert it exits 0 within 10 s."""
        proc, self.process = self.process, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=SHUTDOWN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            if check:
                pytest.fail(f"parley did not exit within {SHUTDOWN_TIMEOUT_S}s of SIGTERM")
            return None
        self.returncodes.append(rc)
        if check:
            assert rc == 0, f"parley exited with {rc} after SIGTERM:\n{self.output()[-4000:]}"
        return rc

    def restart(self) -> "ParleyServer":
        self.stop()
        return self.start()

    def kill(self) -> None:
        """SIGKILL the server (a crash: no shutdown work at all); `start()` runs it again on the same data."""
        proc, self.process = self.process, None
        assert proc is not None, "server not running"
        proc.kill()
        proc.wait(timeout=SHUTDOWN_TIMEOUT_S)

    # ---- ARNs

    def room_arn(self, room_id: str | None = None) -> str:
        return f"arn:aws:ivschat:{self.region}:{self.account}:room/{room_id or random_id()}"

    def lc_arn(self, lc_id: str | None = None) -> str:
        return f"arn:aws:ivschat:{self.region}:{self.account}:logging-configuration/{lc_id or random_id()}"

    # ---- clients

    def client(
        self,
        *,
        validate: bool = True,
        access_key: str | None = None,
        secret_key: str | None = None,
        region: str | None = None,
        max_attempts: int = 8,
    ):
        """A boto3 ivschat client for this server (validate=False disables botocore's client-side checks).

        max_attempts=1 turns retries off (to observe a ThrottlingException).
        """
        return boto3.client(
            "ivschat",
            endpoint_url=self.endpoint,
            region_name=region or self.region,
            aws_access_key_id=access_key or self.access_key,
            aws_secret_access_key=secret_key or self.secret_key,
            config=Config(
                parameter_validation=validate,
                # Standard mode retries ThrottlingException (429) with backoff, so a server
                # enforcing the API TPS quotas (SPEC section 8) does not fail bursty tests.
                # total_max_attempts counts the first try (botocore's "max_attempts" counts retries only,
                # so max_attempts=1 there would still retry once).
                retries={"total_max_attempts": max_attempts, "mode": "standard"},
                connect_timeout=5,
                read_timeout=30,
            ),
        )

    @property
    def ws_endpoint(self) -> str:
        """The messaging (WebSocket) endpoint: the API port, path /."""
        return f"ws://127.0.0.1:{self.port}/"

    def _url(self, path: str, query: Mapping[str, Any] | list[tuple[str, Any]] | None) -> str:
        url = self.endpoint + path
        if query:
            url += "?" + urlencode(query, doseq=True, quote_via=quote, safe="-_.~")
        return url

    @staticmethod
    def _body_bytes(body: Any) -> bytes:
        if body is None:
            return b""
        if isinstance(body, bytes):
            return body
        if isinstance(body, str):
            return body.encode()
        return json.dumps(body).encode()

    def signed(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        *,
        access_key: str | None = None,
        secret_key: str | None = None,
        region: str | None = None,
        service: str = "ivschat",
        sign_time: dt.datetime | None = None,
        send_body: Any = None,
        send_query: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
    ) -> requests.Response:
        """Send a SigV4-signed request. `body` may be a dict/list (JSON-encoded), str or bytes.

        sign_time signs as of that UTC instant; send_body / send_query replace what was
        signed with something else on the wire (tampering).
        """
        for attempt in range(THROTTLE_RETRIES):
            resp = self._signed_once(
                method, path, body, headers, query,
                access_key=access_key, secret_key=secret_key, region=region, service=service,
                sign_time=sign_time, send_body=send_body, send_query=send_query,
            )
            if resp.status_code != 429 or attempt == THROTTLE_RETRIES - 1:
                return resp
            throttle_backoff(attempt)
        raise AssertionError("unreachable")

    def _signed_once(
        self, method, path, body, headers, query, *, access_key, secret_key, region, service,
        sign_time, send_body, send_query,
    ) -> requests.Response:
        data = self._body_bytes(body)
        hdrs = {"Content-Type": "application/json"} if body is not None else {}
        hdrs.update(headers or {})
        request = AWSRequest(method=method, url=self._url(path, query), data=data, headers=hdrs)
        auth = SigV4Auth(
            Credentials(access_key or self.access_key, secret_key or self.secret_key),
            service,
            region or self.region,
        )
        if sign_time is not None:
            naive = sign_time.astimezone(dt.timezone.utc).replace(tzinfo=None)
            with mock.patch.object(botocore.auth, "get_current_datetime", return_value=naive):
                auth.add_auth(request)
        else:
            auth.add_auth(request)
        prepared = request.prepare()
        url = prepared.url if send_query is None else self._url(path, send_query)
        wire_body = prepared.body if send_body is None else self._body_bytes(send_body)
        wire_headers = {k: v for k, v in prepared.headers.items() if k.lower() != "content-length"}
        return requests.request(method, url, data=wire_body, headers=wire_headers, timeout=30)

    def unsigned(self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None) -> requests.Response:
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        return requests.request(method, self.endpoint + path, data=self._body_bytes(body), headers=hdrs, timeout=30)

    def presigned_url(
        self,
        method: str,
        path: str,
        query: Mapping[str, Any] | None = None,
        *,
        expires: int = 300,
        sign_time: dt.datetime | None = None,
    ) -> str:
        request = AWSRequest(method=method, url=self._url(path, query))
        auth = SigV4QueryAuth(Credentials(self.access_key, self.secret_key), "ivschat", self.region, expires=expires)
        if sign_time is not None:
            naive = sign_time.astimezone(dt.timezone.utc).replace(tzinfo=None)
            with mock.patch.object(botocore.auth, "get_current_datetime", return_value=naive):
                auth.add_auth(request)
        else:
            auth.add_auth(request)
        return request.prepare().url

    def cli(
        self,
        *args: str,
        access_key: str | None = None,
        secret_key: str | None = None,
        timeout: float = 120,
    ) -> CliResult:
        """Run `aws ivschat <args> --endpoint-url <server> --output json`."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ACCESS_KEY_ID=access_key or self.access_key or "",
            AWS_SECRET_ACCESS_KEY=secret_key or self.secret_key or "",
            AWS_DEFAULT_REGION=self.region,
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            AWS_EC2_METADATA_DISABLED="true",
            AWS_RETRY_MODE="standard",
            AWS_MAX_ATTEMPTS="6",
            AWS_PAGER="",
        )
        argv = ["aws", "ivschat", *args, "--endpoint-url", self.endpoint, "--output", "json"]
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
        return CliResult(list(args), proc.returncode, proc.stdout, proc.stderr)


def tags_path(arn: str) -> str:
    """The rest-json path for /tags/{resourceArn}, label-encoded like botocore does."""
    return "/tags/" + quote(arn, safe="")


def run_keys(binary: Path, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`parley keys <args> --data-dir DIR` (offline key management)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    return subprocess.run(
        [str(binary), "keys", *args, "--data-dir", str(data_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


_KEY_ID_RE = re.compile(r"(?:aws_access_key_id|AccessKeyId|Access Key Id)\s*[:=]\s*([A-Za-z0-9]+)", re.I)
_SECRET_RE = re.compile(r"(?:aws_secret_access_key|SecretAccessKey|Secret Access Key)\s*[:=]\s*(\S+)", re.I)


def parse_credentials(text: str) -> tuple[str | None, str | None]:
    """(access key id, secret) printed in `text`, or None where absent."""
    k = _KEY_ID_RE.search(text)
    s = _SECRET_RE.search(text)
    return (k.group(1) if k else None, s.group(1) if s else None)


# --------------------------------------------------------------------------- messaging (WebSocket)

from websockets.exceptions import ConnectionClosed, InvalidStatus  # noqa: E402
from websockets.sync.client import ClientConnection  # noqa: E402
from websockets.sync.client import connect as _ws_connect  # noqa: E402

WS_TIMEOUT_S = 5.0
ALL_CAPABILITIES = ("SEND_MESSAGE", "DELETE_MESSAGE", "DISCONNECT_USER")
MESSAGE_KEYS = ["Type", "Id", "RequestId", "Attributes", "Content", "SendTime", "Sender"]
SENDER_KEYS = ["UserId", "Attributes"]
EVENT_KEYS = ["Type", "Id", "RequestId", "EventName", "Attributes", "SendTime"]
ERROR_KEYS = ["Type", "Id", "RequestId", "ErrorCode", "ErrorMessage"]
SEND_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{1,9}Z$")


def chat_token(
    client,
    room: Mapping[str, Any] | str,
    user_id: str | None = None,
    capabilities: tuple[str, ...] | list[str] = ALL_CAPABILITIES,
    **kwargs: Any,
) -> str:
    """CreateChatToken for `room` (a CreateRoom response or an ARN); returns the token."""
    arn = room if isinstance(room, str) else room["arn"]
    resp = client.create_chat_token(
        roomIdentifier=arn, userId=user_id or unique("user"), capabilities=list(capabilities), **kwargs
    )
    return resp["token"]


def ws_connect(server: ParleyServer, token: str | None, **kwargs: Any) -> ClientConnection:
    """Open a WebSocket to the messaging endpoint with `token` as the subprotocol.

    Asserts the server echoed the token in Sec-WebSocket-Protocol (browsers fail the handshake otherwise).
    """
    kwargs.setdefault("open_timeout", WS_TIMEOUT_S)
    kwargs.setdefault("close_timeout", 2)
    kwargs.setdefault("proxy", None)
    kwargs.setdefault("legacy", True)  # a plain connection object; the fixtures close it
    ws = _ws_connect(server.ws_endpoint, subprotocols=[token] if token is not None else None, **kwargs)
    try:
        assert ws.response is not None and ws.response.status_code == 101, ws.response
        if token is not None:
            assert ws.subprotocol == token, f"server echoed subprotocol {ws.subprotocol!r}, not the token"
    except BaseException:
        ws.close()
        raise
    return ws


def ws_refused(server: ParleyServer, token: str | None, status: int, **kwargs: Any):
    """Assert the upgrade is refused with HTTP `status` and a non-empty body; return the response."""
    with pytest.raises(InvalidStatus) as info:
        ws = ws_connect(server, token, **kwargs)
        ws.close()
    response = info.value.response
    assert response.status_code == status, (
        f"upgrade refused with {response.status_code}, expected {status}: {bytes(response.body or b'')[:300]!r}"
    )
    assert response.body, f"refusal {status} has an empty body"
    return response


def parse_frame(text: str | bytes) -> dict[str, Any]:
    """Decode a server frame (must be a JSON object in a text frame), rejecting duplicate keys."""
    assert isinstance(text, str), f"server sent a binary frame: {text[:200]!r}"

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in items]
        assert len(keys) == len(set(keys)), f"duplicate keys in {text[:300]}"
        return dict(items)

    try:
        frame = json.loads(text, object_pairs_hook=pairs)
    except ValueError:
        pytest.fail(f"server frame is not JSON: {text[:300]!r}")
    assert isinstance(frame, dict), f"server frame is not a JSON object: {text[:300]}"
    return frame


def recv_frame(ws: ClientConnection, timeout: float = WS_TIMEOUT_S) -> dict[str, Any]:
    """The next server frame, within `timeout` seconds."""
    try:
        text = ws.recv(timeout=timeout)
    except TimeoutError:
        pytest.fail(f"no frame within {timeout}s")
    except ConnectionClosed as e:
        pytest.fail(f"connection closed while waiting for a frame: {e!r}")
    return parse_frame(text)


def recv_text(ws: ClientConnection, timeout: float = WS_TIMEOUT_S) -> tuple[str, dict[str, Any]]:
    """The next server frame within `timeout` seconds: (its exact text, decoded)."""
    try:
        text = ws.recv(timeout=timeout)
    except TimeoutError:
        pytest.fail(f"no frame within {timeout}s")
    except ConnectionClosed as e:
        pytest.fail(f"connection closed while waiting for a frame: {e!r}")
    return text, parse_frame(text)


def recv_until(ws: ClientConnection, predicate, timeout: float = WS_TIMEOUT_S) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Read frames until one matches `predicate` (deadline `timeout`); returns (match, frames skipped)."""
    deadline = time.monotonic() + timeout
    skipped: list[dict[str, Any]] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            pytest.fail(f"no matching frame within {timeout}s; got {skipped!r}"[:2000])
        frame = recv_frame(ws, remaining)
        if predicate(frame):
            return frame, skipped
        skipped.append(frame)


def recv_until_closed(ws: ClientConnection, timeout: float = WS_TIMEOUT_S) -> tuple[list[dict[str, Any]], int | None, str]:
    """Read until the server closes the connection; returns (frames before the close, close code, reason)."""
    deadline = time.monotonic() + timeout
    frames: list[dict[str, Any]] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            pytest.fail(f"connection still open after {timeout}s; frames {frames!r}"[:2000])
        try:
            text = ws.recv(timeout=remaining)
        except TimeoutError:
            continue
        except ConnectionClosed as e:
            return frames, (e.rcvd.code if e.rcvd else None), (e.rcvd.reason if e.rcvd else "")
        frames.append(parse_frame(text))


def send_json(ws: ClientConnection, obj: Any) -> None:
    ws.send(json.dumps(obj))


def send_message(ws: ClientConnection, content: str, request_id: str | None = None, attributes: Mapping[str, str] | None = None) -> None:
    frame: dict[str, Any] = {"Action": "SEND_MESSAGE", "Content": content}
    if request_id is not None:
        frame["RequestId"] = request_id
    if attributes is not None:
        frame["Attributes"] = dict(attributes)
    send_json(ws, frame)


def assert_send_time(value: Any) -> dt.datetime:
    assert isinstance(value, str) and SEND_TIME_RE.match(value), f"SendTime {value!r} is not RFC 3339 UTC with fractions"
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert_close(parsed, now_utc())
    return parsed


def assert_string_map(value: Any, what: str) -> dict[str, str]:
    assert isinstance(value, dict), f"{what} is not an object: {value!r}"
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()), f"{what} has non-strings: {value!r}"
    return value


def assert_message(
    frame: Mapping[str, Any],
    *,
    content: str | None = None,
    request_id: str | None = None,
    attributes: Mapping[str, str] | None = None,
    user_id: str | None = None,
    sender_attributes: Mapping[str, str] | None = None,
) -> None:
    """A MESSAGE frame: exact keys in IVS order, then the given values."""
    assert list(frame) == MESSAGE_KEYS, f"MESSAGE keys {list(frame)} != {MESSAGE_KEYS}: {frame}"
    assert frame["Type"] == "MESSAGE"
    assert isinstance(frame["Id"], str) and ID_RE.match(frame["Id"]), frame
    assert isinstance(frame["RequestId"], str), frame
    assert isinstance(frame["Content"], str), frame
    assert_string_map(frame["Attributes"], "Attributes")
    assert_send_time(frame["SendTime"])
    sender = frame["Sender"]
    assert isinstance(sender, dict) and list(sender) == SENDER_KEYS, f"Sender keys {sender!r}"
    assert isinstance(sender["UserId"], str)
    assert_string_map(sender["Attributes"], "Sender.Attributes")
    if content is not None:
        assert frame["Content"] == content, frame
    if request_id is not None:
        assert frame["RequestId"] == request_id, frame
    if attributes is not None:
        assert frame["Attributes"] == dict(attributes), frame
    if user_id is not None:
        assert sender["UserId"] == user_id, frame
    if sender_attributes is not None:
        assert sender["Attributes"] == dict(sender_attributes), frame


def assert_event(
    frame: Mapping[str, Any],
    *,
    name: str | None = None,
    attributes: Mapping[str, str] | None = None,
    request_id: str | None = None,
) -> None:
    assert list(frame) == EVENT_KEYS, f"EVENT keys {list(frame)} != {EVENT_KEYS}: {frame}"
    assert frame["Type"] == "EVENT"
    assert isinstance(frame["Id"], str) and ID_RE.match(frame["Id"]), frame
    assert isinstance(frame["RequestId"], str), frame
    assert isinstance(frame["EventName"], str), frame
    assert_string_map(frame["Attributes"], "Attributes")
    assert_send_time(frame["SendTime"])
    if name is not None:
        assert frame["EventName"] == name, frame
    if attributes is not None:
        assert frame["Attributes"] == dict(attributes), frame
    if request_id is not None:
        assert frame["RequestId"] == request_id, frame


def assert_error(frame: Mapping[str, Any], code: int, request_id: str | None = None) -> None:
    assert list(frame) == ERROR_KEYS, f"ERROR keys {list(frame)} != {ERROR_KEYS}: {frame}"
    assert frame["Type"] == "ERROR"
    assert isinstance(frame["Id"], str) and ID_RE.match(frame["Id"]), frame
    assert isinstance(frame["RequestId"], str), frame
    assert frame["ErrorCode"] == code and type(frame["ErrorCode"]) is int, f"expected ErrorCode {code}: {frame}"
    assert isinstance(frame["ErrorMessage"], str) and frame["ErrorMessage"], frame
    if request_id is not None:
        assert frame["RequestId"] == request_id, frame


def raw_ws_handshake(server: ParleyServer, token: str, rcvbuf: int = 4096) -> socket.socket:
    """A hand-made WebSocket upgrade on a plain socket with a tiny receive buffer; the caller never reads it."""
    import base64

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(WS_TIMEOUT_S)
    sock.connect(("127.0.0.1", server.port))
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        "GET / HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{server.port}\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Protocol: {token}\r\n"
        "\r\n"
    )
    sock.sendall(request.encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)  # byte by byte: leave everything after the head unread
        assert chunk, f"server closed during the handshake: {head!r}"
        head += chunk
    status_line = head.split(b"\r\n", 1)[0]
    assert b" 101 " in status_line + b" ", f"raw upgrade refused: {head!r}"
    assert f"sec-websocket-protocol: {token}".lower().encode() in head.lower(), head
    return sock


# --------------------------------------------------------------------------- chat logging (moto, archived records)


@dataclass
class MotoServer:
    """A `moto_server` process: S3 (path-style), CloudWatch Logs and Firehose on one port."""

    log_path: Path
    region: str = DEFAULT_REGION
    access_key: str = "testing"
    secret_key: str = "testing"
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "MotoServer":
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        with open(self.log_path, "wb") as out:
            self.process = subprocess.Popen(
                ["moto_server", "-H", "127.0.0.1", "-p", str(self.port)],
                env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self.process.returncode}: {self.log_path.read_text()[-2000:]}")
            try:
                # moto answers its own dashboard/health route once it serves requests.
                requests.get(self.endpoint + "/moto-api/", timeout=1.0)
                return self
            except requests.RequestException:
                pass
            try:
                self.process.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                pass
        self.stop()
        raise RuntimeError(f"moto_server not answering within {STARTUP_TIMEOUT_S}s")

    def stop(self) -> None:
        proc, self.process = self.process, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=SHUTDOWN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30),
        )

    def parley_env(self, **overrides: str) -> dict[str, str]:
        """The environment Parley needs to reach this moto (pass to start_server)."""
        env = {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": self.region,
            "PARLEY_VERIFY_LOG_DESTINATIONS": "true",
        }
        env.update(overrides)
        return env


def raw_members(text: str) -> list[tuple[str, str]]:
    """The members of the JSON object `text` as (key, exact text of the value), in order.

    Keeps each value's raw text, so a log record's payload can be compared byte for byte with a frame.
    """
    decoder = json.JSONDecoder()
    ws = " \t\r\n"

    def skip(i: int) -> int:
        while i < len(text) and text[i] in ws:
            i += 1
        return i

    i = skip(0)
    assert text[i : i + 1] == "{", f"not a JSON object: {text[:200]!r}"
    i = skip(i + 1)
    members: list[tuple[str, str]] = []
    if text[i : i + 1] == "}":
        assert skip(i + 1) == len(text), f"trailing text after the object: {text[:300]!r}"
        return members
    while True:
        key, i = decoder.raw_decode(text, i)
        assert isinstance(key, str), f"bad key in {text[:300]!r}"
        i = skip(i)
        assert text[i : i + 1] == ":", f"no ':' after {key!r} in {text[:300]!r}"
        i = skip(i + 1)
        _, end = decoder.raw_decode(text, i)
        members.append((key, text[i:end]))
        i = skip(end)
        if text[i : i + 1] == ",":
            i = skip(i + 1)
            continue
        assert text[i : i + 1] == "}", f"expected ',' or '}}' at {i} in {text[:300]!r}"
        assert skip(i + 1) == len(text), f"trailing text after the object: {text[:300]!r}"
        return members


LOG_RECORD_KEYS = ["event_timestamp", "type", "version", "payload"]
EVENT_TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")


@dataclass
class LogRecord:
    line: str
    event_timestamp: dt.datetime
    type: str
    version: str
    payload: str  # the exact JSON text of the payload

    @property
    def frame(self) -> dict[str, Any]:
        return json.loads(self.payload)


def parse_log_record(line: str) -> LogRecord:
    """One archived chat-log line (without its newline), checked for IVS's record shape."""
    assert "\n" not in line, f"a record spans lines: {line[:300]!r}"
    json.loads(line)  # valid JSON as a whole
    members = raw_members(line)
    keys = [k for k, _ in members]
    assert keys == LOG_RECORD_KEYS, f"record keys {keys} != {LOG_RECORD_KEYS}: {line[:300]}"
    values = dict(members)
    stamp = json.loads(values["event_timestamp"])
    assert isinstance(stamp, str) and EVENT_TIMESTAMP_RE.match(stamp), f"event_timestamp {stamp!r} is not RFC 3339"
    kind = json.loads(values["type"])
    assert kind in ("MESSAGE", "EVENT"), f"type {kind!r}"
    version = json.loads(values["version"])
    assert version == "1.0", f"version {version!r}"
    return LogRecord(
        line=line,
        event_timestamp=dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")),
        type=kind,
        version=version,
        payload=values["payload"],
    )


# --------------------------------------------------------------------------- metrics and quotas

METRICS_NAMESPACE = "AWS/IVSChat"
METRICS_FLUSH_DEADLINE_S = 15.0  # metrics are flushed every 5 s
USAGE_DIMENSIONS = {"Service": "IVS Chat", "Class": "None", "Type": "Resource", "Resource": "ConcurrentChatConnections"}


def iso8601(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def metric_query(
    qid: str,
    name: str,
    dimensions: Mapping[str, str] | None = None,
    stat: str = "Sum",
    period: int = 60,
    label: str | None = None,
) -> dict[str, Any]:
    """One GetMetricData query (MetricStat form)."""
    query: dict[str, Any] = {
        "Id": qid,
        "MetricStat": {
            "Metric": {
                "Namespace": METRICS_NAMESPACE,
                "MetricName": name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in (dimensions or {}).items()],
            },
            "Period": period,
            "Stat": stat,
        },
    }
    if label is not None:
        query["Label"] = label
    return query


def get_metric_data(
    server: "ParleyServer", queries: list[dict[str, Any]], start: dt.datetime, end: dt.datetime
) -> dict[str, dict[str, Any]]:
    """POST /metrics/GetMetricData; checks the result shape and returns results by Id (Timestamps parsed)."""
    resp = server.signed(
        "POST", "/metrics/GetMetricData", {"MetricDataQueries": queries, "StartTime": iso8601(start), "EndTime": iso8601(end)}
    )
    assert resp.status_code == 200, f"GetMetricData: {resp.status_code} {resp.text[:500]}"
    body = resp.json()
    results = body.get("MetricDataResults")
    assert isinstance(results, list) and len(results) == len(queries), body
    by_id: dict[str, dict[str, Any]] = {}
    for query, result in zip(queries, results):
        assert result.get("Id") == query["Id"], f"results out of order or Id not echoed: {body}"
        assert result.get("StatusCode") == "Complete", result
        assert result.get("Label") == query.get("Label", query["MetricStat"]["Metric"]["MetricName"]), result
        stamps, values = result.get("Timestamps"), result.get("Values")
        assert isinstance(stamps, list) and isinstance(values, list) and len(stamps) == len(values), result
        parsed = [dt.datetime.fromisoformat(s.replace("Z", "+00:00")) for s in stamps]
        assert parsed == sorted(parsed, reverse=True) and len(set(parsed)) == len(parsed), f"Timestamps not newest first: {stamps}"
        for t in parsed:
            assert start - dt.timedelta(seconds=1) <= t < end, f"timestamp {t} outside [{start}, {end})"
        assert all(isinstance(v, (int, float)) for v in values), result
        by_id[query["Id"]] = {**result, "Timestamps": parsed}
    return by_id


def poll(fetch, done, timeout: float = METRICS_FLUSH_DEADLINE_S, interval: float = 0.5):
    """Call fetch() until done(value) or the deadline; returns the last value (callers assert on it)."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value) or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def scrape_metrics(server: "ParleyServer", token: str | None = None, authorization: str | None = None) -> requests.Response:
    """GET /metrics, with `Authorization: Bearer <token>` (or a literal Authorization value) when given."""
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if authorization is not None:
        headers["Authorization"] = authorization
    return requests.get(server.endpoint + "/metrics", headers=headers, timeout=10)


def parse_prometheus(text: str) -> dict[str, Any]:
    """Every metric family of a Prometheus text exposition, by family name (prometheus_client's parser)."""
    from prometheus_client.parser import text_string_to_metric_families

    families: dict[str, Any] = {}
    for family in text_string_to_metric_families(text):
        assert family.name not in families, f"family {family.name} appears twice"
        families[family.name] = family
    return families


def prom_sample(families: Mapping[str, Any], sample_name: str, labels: Mapping[str, str] | None = None) -> float | None:
    """The value of the sample `sample_name` with exactly `labels`, or None when absent."""
    want = dict(labels or {})
    for family in families.values():
        for sample in family.samples:
            if sample.name == sample_name and dict(sample.labels) == want:
                return sample.value
    return None


def run_quotas(binary: Path, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`parley quotas <args> --data-dir DIR` (offline; a running server picks changes up within seconds)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    return subprocess.run(
        [str(binary), "quotas", *args, "--data-dir", str(data_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def list_service_quotas(server: "ParleyServer") -> dict[str, dict[str, Any]]:
    """POST /quotas/ListServiceQuotas -> quotas by QuotaName (shape checked)."""
    resp = server.signed("POST", "/quotas/ListServiceQuotas", {})
    assert resp.status_code == 200, f"ListServiceQuotas: {resp.status_code} {resp.text[:300]}"
    quotas = resp.json().get("Quotas")
    assert isinstance(quotas, list) and quotas, resp.text[:300]
    by_name: dict[str, dict[str, Any]] = {}
    for q in quotas:
        assert {"QuotaName", "Title", "Value", "DefaultValue", "Adjustable", "Description"} <= q.keys(), q
        assert set(q) <= {"QuotaName", "Title", "Value", "DefaultValue", "Adjustable", "Usage", "Description"}, q
        assert type(q["Value"]) is int and type(q["DefaultValue"]) is int and type(q["Adjustable"]) is bool, q
        assert isinstance(q["Title"], str) and q["Title"] and isinstance(q["Description"], str) and q["Description"], q
        assert q["QuotaName"] not in by_name, f"{q['QuotaName']} listed twice"
        by_name[q["QuotaName"]] = q
    return by_name


def stop_servers_together(servers: list["ParleyServer"]) -> None:
    """SIGTERM every running server at once, then stop(check=True) each (exit 0 within the timeout).

    Graceful shutdown takes seconds per server; signalling them all first makes those seconds overlap.
    """
    running = [s for s in servers if s.process is not None and s.process.poll() is None]
    for s in running:
        s.process.send_signal(signal.SIGTERM)
    for s in running:
        try:
            s.process.wait(timeout=SHUTDOWN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass  # stop() reports it
    for s in servers:
        s.stop(check=True)


def run_bench(
    binary: Path, scenario: str, target: str, port: int, pid: int, *args: str, timeout: float = 120
) -> dict[str, Any]:
    """Runs one parley-bench scenario against a server and returns the JSON line it printed."""
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ADMIN_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY=ADMIN_SECRET_ACCESS_KEY)
    proc = subprocess.run(
        [str(binary), scenario, "--target", target, "--port", str(port), "--server-pid", str(pid), *args],
        capture_output=True, text=True, timeout=timeout, env=env,
    )
    assert proc.returncode == 0, f"{scenario} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1, proc.stdout
    result = json.loads(lines[0])
    assert result["scenario"] == scenario and result["target"] == target
    return result


def run_verdict(problems: list[str], log_dir: Path) -> int:
    """A reliability script's last words: its problems (the first 50) and exit status 1, or "OK" and 0."""
    if problems:
        print(f"\nFAILED: {len(problems)} problems (server logs in {log_dir})", flush=True)
        for problem in problems[:50]:
            print(f"  - {problem}", flush=True)
        return 1
    print("\nOK: every check held", flush=True)
    return 0
