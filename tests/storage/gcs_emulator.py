"""gcp-storage-emulator on a free loopback port, and service-account credentials made on the spot."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from gcp_storage_emulator.server import create_server
from google.oauth2 import service_account


@contextmanager
def gcs_emulator(bucket: str) -> Iterator[str]:
    """An in-memory emulator in a thread, announced through STORAGE_EMULATOR_HOST as in production."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = create_server("127.0.0.1", port, in_memory=True, default_bucket=bucket)
    server.start()
    url = f"http://127.0.0.1:{port}"
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("STORAGE_EMULATOR_HOST", url)
            yield url
    finally:
        server.stop()


def service_account_signer() -> tuple[service_account.Credentials, rsa.RSAPublicKey]:
    """Service-account credentials with a key made here: signing needs no network."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "audiocity-test",
        "private_key_id": "test-key-1",
        "private_key": pem,
        "client_email": "signer@audiocity-test.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    credentials = service_account.Credentials.from_service_account_info(info)  # type: ignore[no-untyped-call]
    return credentials, key.public_key()
