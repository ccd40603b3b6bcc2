"""Fixtures for the Parley conformance suite.

Session fixtures
  parley_binary  Path of the `parley` executable: $PARLEY_BINARY, else
                 <repo>/.build/debug/parley, built with `swift build --product parley`
                 (from the repo root) when missing.
  server         One ParleyServer for the whole session (admin key AKIDPARLEYTEST).
                 Its SIGTERM exit code is asserted to be 0 at session end.
  client         boto3 ivschat client for `server`.
  raw_client     Same, with botocore's client-side parameter validation off.
  signed         server.signed(method, path, body=None, headers=None, query=None, **kw)
                 -> requests.Response, SigV4-signed with the admin key.
  cli            server.cli("create-room", "--name", "x") -> CliResult (aws CLI).

Function fixtures
  start_server   start_server(data_dir=None, region=..., account=..., access_key=...,
                 secret_key=..., **env) -> a started ParleyServer of its own; every
                 server started this way is stopped (and checked to exit 0) after the test.
  new_room       new_room(**create_room_kwargs) -> CreateRoom response (unique name default).
  new_lc         new_lc(**kwargs) -> CreateLoggingConfiguration response (S3 default).
  open_ws        open_ws(token, srv=None, **connect_kwargs) -> websockets sync connection to the
                 messaging endpoint (token as subprotocol, echo asserted); closed after the test.
  join           join(room, user_id=None, capabilities=ALL, srv=None, cl=None, **token_kwargs)
                 -> (connection, user_id): CreateChatToken then open_ws.

Chat logging
  moto                 Session: one `moto_server` (S3, CloudWatch Logs, Firehose) on a free port;
                       moto.client("s3"), moto.parley_env() -> AWS_* + verification env for Parley.
  start_module_server  Module-scoped twin of start_server, for servers shared by a module's tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Callable

import pytest

from parley_support import (
    ALL_CAPABILITIES,
    ADMIN_ACCESS_KEY_ID,
    ADMIN_SECRET_ACCESS_KEY,
    DEFAULT_ACCOUNT,
    DEFAULT_BINARY,
    DEFAULT_REGION,
    REPO_ROOT,
    MotoServer,
    ParleyServer,
    chat_token,
    unique,
    ws_connect,
)

BUILD_TIMEOUT_S = 3600


@pytest.fixture(scope="session")
def parley_binary() -> Path:
    override = os.environ.get("PARLEY_BINARY")
    if override:
        path = Path(override)
        assert path.is_file() and os.access(path, os.X_OK), f"PARLEY_BINARY={override} is not an executable file"
        return path
    if not DEFAULT_BINARY.exists():
        proc = subprocess.run(
            ["swift", "build", "--product", "parley"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_S,
        )
        if proc.returncode != 0:
            pytest.exit(f"swift build --product parley failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}", returncode=2)
    assert DEFAULT_BINARY.exists(), f"{DEFAULT_BINARY} missing after build"
    return DEFAULT_BINARY


def _make_server(
    binary: Path,
    root: Path,
    *,
    data_dir: Path | None = None,
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
    access_key: str | None = ADMIN_ACCESS_KEY_ID,
    secret_key: str | None = ADMIN_SECRET_ACCESS_KEY,
    **env: Any,
) -> ParleyServer:
    """The one code path every server in this suite is created by."""
    root.mkdir(parents=True, exist_ok=True)
    return ParleyServer(
        binary=binary,
        data_dir=data_dir or (root / "data"),
        log_dir=root / "logs",
        region=region,
        account=account,
        access_key=access_key,
        secret_key=secret_key,
        extra_env={k: str(v) for k, v in env.items()},
    )


@pytest.fixture(scope="session")
def server(parley_binary: Path, tmp_path_factory: pytest.TempPathFactory):
    # The session server gets a roomy logging-configuration quota: many tests create some.
    srv = _make_server(
        parley_binary,
        tmp_path_factory.mktemp("session-server"),
        PARLEY_MAX_LOGGING_CONFIGURATIONS=10000,
    ).start()
    yield srv
    srv.stop(check=True)


@pytest.fixture
def start_server(parley_binary: Path, tmp_path: Path) -> Callable[..., ParleyServer]:
    started: list[ParleyServer] = []

    def _start(**kwargs: Any) -> ParleyServer:
        srv = _make_server(parley_binary, tmp_path / f"server-{len(started)}", **kwargs)
        started.append(srv)
        return srv.start()

    yield _start
    problems = []
    for srv in started:
        if srv.process is not None:
            rc = srv.stop(check=False)
            if rc != 0:
                problems.append(f"server on {srv.data_dir} exited with {rc} after SIGTERM")
    assert not problems, problems


@pytest.fixture(scope="module")
def start_module_server(parley_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., ParleyServer]:
    started: list[ParleyServer] = []
    root = tmp_path_factory.mktemp("module-servers")

    def _start(**kwargs: Any) -> ParleyServer:
        srv = _make_server(parley_binary, root / f"server-{len(started)}", **kwargs)
        started.append(srv)
        return srv.start()

    yield _start
    problems = []
    for srv in started:
        if srv.process is not None:
            rc = srv.stop(check=False)
            if rc != 0:
                problems.append(f"server on {srv.data_dir} exited with {rc} after SIGTERM")
    assert not problems, problems


@pytest.fixture(scope="session")
def bench_binary(parley_binary: Path) -> Path:
    """parley-bench, built next to the parley binary under test (or PARLEY_BENCH_BINARY)."""
    override = os.environ.get("PARLEY_BENCH_BINARY")
    path = Path(override) if override else parley_binary.parent / "parley-bench"
    if not path.exists():
        subprocess.run(["swift", "build", "--product", "parley-bench"], cwd=REPO_ROOT, check=True, timeout=BUILD_TIMEOUT_S)
    assert path.is_file() and os.access(path, os.X_OK), f"{path} is not an executable"
    return path


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory):
    if shutil.which("moto_server") is None:
        pytest.fail("moto_server is not installed: pip install -r Tests/conformance/requirements.txt (moto[server])")
    srv = MotoServer(log_path=tmp_path_factory.mktemp("moto") / "moto.log").start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def client(server: ParleyServer):
    return server.client()


@pytest.fixture(scope="session")
def raw_client(server: ParleyServer):
    """A client that lets out-of-range values through to the server."""
    return server.client(validate=False)


@pytest.fixture(scope="session")
def signed(server: ParleyServer):
    return server.signed


@pytest.fixture(scope="session")
def cli(server: ParleyServer):
    return server.cli


@pytest.fixture
def new_room(client) -> Callable[..., dict[str, Any]]:
    def _new_room(**kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("name", unique("room"))
        return client.create_room(**kwargs)

    return _new_room


@pytest.fixture
def new_lc(client) -> Callable[..., dict[str, Any]]:
    def _new_lc(**kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("name", unique("lc"))
        kwargs.setdefault("destinationConfiguration", {"s3": {"bucketName": "parley-test-bucket"}})
        return client.create_logging_configuration(**kwargs)

    return _new_lc


@pytest.fixture
def open_ws(server: ParleyServer):
    opened = []

    def _open(token: str | None, srv: ParleyServer | None = None, **kwargs: Any):
        ws = ws_connect(srv or server, token, **kwargs)
        opened.append(ws)
        return ws

    yield _open
    for ws in opened:
        ws.close()


@pytest.fixture
def join(client, open_ws):
    def _join(
        room: Any,
        user_id: str | None = None,
        capabilities: Any = ALL_CAPABILITIES,
        srv: ParleyServer | None = None,
        cl: Any = None,
        **token_kwargs: Any,
    ):
        user_id = user_id or unique("user")
        token = chat_token(cl or client, room, user_id, capabilities, **token_kwargs)
        return open_ws(token, srv), user_id

    return _join
