"""Security review items that are properties of the real binary and its data directory (RELIABILITY.md, "Security
review"): owner-only files, secrets and passwords at rest, the default bcrypt cost, Secure cookies and HSTS under TLS."""

import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest
import requests
import urllib3
from parley_support import ADMIN_SECRET_ACCESS_KEY

from test_tls import running_tls_server

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
ADMIN_PASSWORD = "correct-horse-battery-staple"
PRIVATE_FILES = ("parley.sqlite", "parley.sqlite-wal", "parley.sqlite-shm", "server.key", "review-webhook.secret")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def assert_private(data_dir: Path) -> None:
    assert mode(data_dir) & 0o077 == 0, f"{data_dir} is {oct(mode(data_dir))}"
    for name in PRIVATE_FILES:
        path = data_dir / name
        if path.exists():
            assert mode(path) & 0o077 == 0, f"{name} is {oct(mode(path))}"


def test_the_data_directory_is_private_to_the_owner(start_server):
    # setup: the harness creates the directory with the usual umask (0755)
    srv = start_server()
    assert (srv.data_dir / "parley.sqlite").exists()
    # verify
    assert_private(srv.data_dir)
    assert (srv.data_dir / "parley.sqlite-wal").exists(), "WAL mode: the -wal file holds recent writes and must be private too"


def test_loose_permissions_are_tightened_at_start(start_server):
    # setup: a data directory whose files an operator copied with loose permissions
    srv = start_server()
    srv.stop(check=True)
    srv.data_dir.chmod(0o755)
    for name in PRIVATE_FILES:
        if (srv.data_dir / name).exists():
            (srv.data_dir / name).chmod(0o644)
    # act
    srv.start()
    # verify
    assert_private(srv.data_dir)


def test_the_offline_key_commands_keep_the_directory_private(parley_binary, tmp_path):
    # act
    data_dir = tmp_path / "fresh"
    proc = subprocess.run([str(parley_binary), "keys", "create", "--data-dir", str(data_dir)], capture_output=True, text=True, timeout=60)
    # verify
    assert proc.returncode == 0, proc.stderr
    assert_private(data_dir)


def test_secrets_and_passwords_are_not_stored_in_the_clear(start_server):
    # setup: default bcrypt cost (an empty variable is unset), a known password and access key
    srv = start_server(PARLEY_BCRYPT_COST="", PARLEY_ADMIN_PASSWORD=ADMIN_PASSWORD)
    signed_in = requests.post(srv.endpoint + "/console/sign-in", data={"user": "admin", "password": ADMIN_PASSWORD}, allow_redirects=False)
    assert signed_in.status_code == 303
    # act
    with sqlite3.connect(f"file:{srv.data_dir / 'parley.sqlite'}?mode=ro", uri=True) as db:
        password_hash = db.execute("SELECT passwordHash FROM consoleUser WHERE name = 'admin'").fetchone()[0]
    stored = b"".join((srv.data_dir / name).read_bytes() for name in PRIVATE_FILES if (srv.data_dir / name).exists())
    # verify: bcrypt at cost 12 (OWASP: at least 10); neither secret appears anywhere in the data directory
    assert password_hash.startswith("$2b$12$") or password_hash.startswith("$2y$12$"), password_hash[:7]
    assert ADMIN_PASSWORD.encode() not in stored
    assert ADMIN_SECRET_ACCESS_KEY.encode() not in stored


def test_tls_sets_secure_cookies_and_hsts(parley_binary, tmp_path):
    # setup
    with running_tls_server(parley_binary, tmp_path, PARLEY_ADMIN_PASSWORD=ADMIN_PASSWORD) as endpoint:
        # act
        answer = requests.post(
            endpoint + "/console/sign-in", data={"user": "admin", "password": ADMIN_PASSWORD}, verify=False, allow_redirects=False)
        # verify
        assert answer.status_code == 303
        attributes = [part.strip() for part in answer.headers["Set-Cookie"].split(";")]
        assert {"Secure", "HttpOnly", "SameSite=Strict"} <= set(attributes), attributes
        assert answer.headers["Strict-Transport-Security"].startswith("max-age=")
