"""Parley serving HTTPS and wss:// itself (--tls-certificate / --tls-key), TLS 1.2 or later."""

import contextlib
import datetime
import socket
import ssl
import subprocess
import time
from pathlib import Path

import boto3
import pytest
import requests
import urllib3
from botocore.config import Config
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from parley_support import REPO_ROOT, free_port, unique
from websockets.sync.client import connect

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
KEY_ID, SECRET = "AKIDPARLEYTLS", "tls-secret-0123456789abcdefghijklmnopqrs"


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_path, key_path


@contextlib.contextmanager
def running_tls_server(binary: Path, directory: Path, **env: str):
    """`parley serve` over HTTPS with a fresh self-signed certificate; yields its https:// endpoint."""
    cert, key = self_signed(directory)
    port = free_port()
    environment = {
        "PATH": "/usr/bin:/bin", "PARLEY_BCRYPT_COST": "4",
        "PARLEY_TEMPLATES_DIR": str(REPO_ROOT / "Templates"), "PARLEY_PUBLIC_DIR": str(REPO_ROOT / "Public"), **env,
    }
    process = subprocess.Popen(
        [str(binary), "serve", "--port", str(port), "--data-dir", str(directory / "data"), "--tls-certificate", str(cert), "--tls-key", str(key)],
        env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(endpoint + "/health", verify=False, timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline and process.poll() is None, "the TLS server did not become ready"
            time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


@pytest.fixture
def tls_server(parley_binary, tmp_path):
    with running_tls_server(parley_binary, tmp_path, PARLEY_ACCESS_KEY_ID=KEY_ID, PARLEY_SECRET_ACCESS_KEY=SECRET) as endpoint:
        yield endpoint


def test_api_and_chat_over_tls(tls_server):
    client = boto3.client(
        "ivschat", endpoint_url=tls_server, region_name="us-east-1", aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
        verify=False, config=Config(retries={"total_max_attempts": 1}))
    room = client.create_room(name=unique("tls"))
    token = client.create_chat_token(roomIdentifier=room["arn"], userId="tls-user", capabilities=["SEND_MESSAGE"])["token"]
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with connect(tls_server.replace("https", "wss", 1), subprotocols=[token], ssl=context) as ws:
        assert ws.subprotocol == token
        ws.send('{"Action":"SEND_MESSAGE","RequestId":"t1","Content":"over TLS"}')
        assert '"Content":"over TLS"' in ws.recv(timeout=5)


def test_plain_http_is_not_served_on_a_tls_port(tls_server):
    with pytest.raises(requests.RequestException):
        requests.get(tls_server.replace("https", "http", 1) + "/health", timeout=3)


def test_tls_older_than_1_2_is_refused(tls_server):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
        context.set_ciphers("ALL:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        pytest.skip("this Python's OpenSSL cannot even offer TLS 1.1")
    host, port = tls_server.removeprefix("https://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        with pytest.raises(ssl.SSLError):
            context.wrap_socket(raw, server_hostname=host).do_handshake()
