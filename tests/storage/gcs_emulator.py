"""gcp-storage-emulator on a free loopback port, and service-account credentials made on the spot."""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, quote, urlsplit

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
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


SIGNER_EMAIL = "signer@audiocity-test.iam.gserviceaccount.com"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"


def service_account_info(token_uri: str = GOOGLE_TOKEN_URI) -> tuple[dict[str, str], rsa.RSAPublicKey]:
    """The JSON of a service-account key file, with a key made here, and the key's public half."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "audiocity-test",
        "private_key_id": "test-key-1",
        "private_key": pem,
        "client_email": SIGNER_EMAIL,
        "client_id": "1",
        "token_uri": token_uri,
    }
    return info, key.public_key()


def service_account_key_file(path: Path, token_uri: str = GOOGLE_TOKEN_URI) -> rsa.RSAPublicKey:
    """Write a key file as GOOGLE_APPLICATION_CREDENTIALS expects it; return the key's public half."""
    info, public_key = service_account_info(token_uri)
    path.write_text(json.dumps(info))
    return public_key


def service_account_signer() -> tuple[service_account.Credentials, rsa.RSAPublicKey]:
    """Service-account credentials with a key made here: signing needs no network."""
    info, public_key = service_account_info()
    credentials = service_account.Credentials.from_service_account_info(info)  # type: ignore[no-untyped-call]
    return credentials, public_key


def check_v4_signature(signed_url: str, public_key: rsa.RSAPublicKey) -> dict[str, str]:
    """Rebuild the V4 string-to-sign from the spec and check the URL's RSA signature; return the query."""
    url = urlsplit(signed_url)
    params = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert params["X-Goog-Algorithm"] == "GOOG4-RSA-SHA256"
    assert params["X-Goog-SignedHeaders"] == "host"
    canonical_query, signature = url.query.rsplit("&X-Goog-Signature=", 1)
    rebuilt = "&".join(sorted(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in parse_qsl(canonical_query)))
    assert rebuilt == canonical_query
    canonical_request = "\n".join(
        ["GET", url.path, canonical_query, f"host:{url.netloc}\n", "host", "UNSIGNED-PAYLOAD"]
    )
    scope = params["X-Goog-Credential"].split("/", 1)[1]
    string_to_sign = "\n".join(
        ["GOOG4-RSA-SHA256", params["X-Goog-Date"], scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    public_key.verify(bytes.fromhex(signature), string_to_sign.encode(), padding.PKCS1v15(), hashes.SHA256())
    return params
