"""A loopback stand-in for Google's OAuth token endpoint and the IAM Credentials `signBlob` API.

google-auth talks to it unchanged: a service-account key whose `token_uri` points here gets its
access tokens from `POST /token` (the JWT-bearer grant), and `GCS_IAM_ENDPOINT` sends signing to
`POST /v1/projects/-/serviceAccounts/{email}:signBlob`, which signs with a key only this server holds
(as Google signs with the account's Google-managed key) and records what it returned. It also
answers as the metadata server of Cloud Run, GKE and GCE (`/computeMetadata/v1/...`: the runtime
account and its tokens).

    with FakeIAM() as iam:
        iam.fail_with = 403   # the next signBlob calls are refused, as without the permission
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.threaded_server import ThreadedServer

RUNTIME_ACCOUNT = "runtime@audiocity-test.iam.gserviceaccount.com"
CLOUD_PLATFORM = ["https://www.googleapis.com/auth/cloud-platform"]


@dataclass
class SignCall:
    email: str
    payload: bytes
    signature: bytes
    authorization: str


@dataclass
class _State:
    key: rsa.RSAPrivateKey
    tokens: set[str] = field(default_factory=set)
    signed: list[SignCall] = field(default_factory=list)
    token_requests: int = 0
    fail_with: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class FakeIAM:
    def __init__(self) -> None:
        self.state = _State(key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
        self._server = ThreadedServer(_app(self.state), "fake-iam")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.port}"

    @property
    def token_uri(self) -> str:
        return f"{self.base_url}/token"

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.state.key.public_key()

    @property
    def signed(self) -> list[SignCall]:
        with self.state.lock:
            return list(self.state.signed)

    @property
    def fail_with(self) -> int | None:
        return self.state.fail_with

    @fail_with.setter
    def fail_with(self, status: int | None) -> None:
        self.state.fail_with = status

    def __enter__(self) -> FakeIAM:
        self._server.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._server.stop()


def _app(state: _State) -> Starlette:
    async def token(request: Request) -> Response:
        form = await request.form()
        if form.get("grant_type") not in (
            "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "refresh_token",
        ):
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        issued = f"ya29.fake-{secrets.token_hex(8)}"
        with state.lock:
            state.tokens.add(issued)
            state.token_requests += 1
        return JSONResponse({"access_token": issued, "expires_in": 3600, "token_type": "Bearer"})

    async def sign_blob(request: Request) -> Response:
        email = request.path_params["email"]
        authorization = request.headers.get("authorization", "")
        if not authorization.startswith("Bearer ") or authorization.removeprefix("Bearer ") not in state.tokens:
            return _error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
        if state.fail_with is not None:
            return _error(
                state.fail_with, "PERMISSION_DENIED", f"Permission 'iam.serviceAccounts.signBlob' denied on {email}"
            )
        body: dict[str, Any] = json.loads(await request.body())
        payload = base64.b64decode(body["payload"])
        signature = state.key.sign(payload, padding.PKCS1v15(), hashes.SHA256())
        with state.lock:
            state.signed.append(SignCall(email, payload, signature, authorization))
        return JSONResponse({"keyId": "fake-key-1", "signedBlob": base64.b64encode(signature).decode()})

    async def metadata_account(request: Request) -> Response:
        """The GCE / Cloud Run / GKE metadata server's view of the runtime service account."""
        if request.headers.get("metadata-flavor") != "Google":
            return Response("Missing Metadata-Flavor header", status_code=403)
        info = {"email": RUNTIME_ACCOUNT, "aliases": ["default"], "scopes": CLOUD_PLATFORM}
        return JSONResponse(info, headers={"Metadata-Flavor": "Google"})

    async def metadata_token(request: Request) -> Response:
        if request.headers.get("metadata-flavor") != "Google":
            return Response("Missing Metadata-Flavor header", status_code=403)
        issued = f"ya29.metadata-{secrets.token_hex(8)}"
        with state.lock:
            state.tokens.add(issued)
            state.token_requests += 1
        body = {"access_token": issued, "expires_in": 3600, "token_type": "Bearer"}
        return JSONResponse(body, headers={"Metadata-Flavor": "Google"})

    account = "/computeMetadata/v1/instance/service-accounts/default"
    return Starlette(
        routes=[
            Route(f"{account}/", metadata_account),
            Route(f"{account}/token", metadata_token),
            Route("/token", token, methods=["POST"]),
            Route("/v1/projects/-/serviceAccounts/{email}:signBlob", sign_blob, methods=["POST"]),
        ]
    )


def _error(status: int, reason: str, message: str) -> Response:
    return JSONResponse({"error": {"code": status, "message": message, "status": reason}}, status_code=status)
