"""Which credentials sign GCS V4 URLs: a service-account key locally, anything else through IAM.

Metadata-server credentials (Cloud Run, GKE, GCE), workload identity federation, impersonation and
user credentials hold no private key. They sign through the IAM Credentials `signBlob` API as a
service account (`GCS_SIGNER_EMAIL`, else the account the credentials belong to); the identity the
app runs as needs `iam.serviceAccounts.signBlob` on that account. `GCS_IAM_ENDPOINT` points the
calls elsewhere (a Private Service Connect endpoint, or a stand-in in tests).
"""

from __future__ import annotations

import base64
import json
import os
import threading
from typing import Any
from urllib.parse import quote

import google.auth.transport.requests
from google.auth import credentials as auth_credentials
from google.auth import crypt
from google.auth import exceptions as auth_exceptions
from google.oauth2 import service_account

from audiocity.storage.base import LinkUnavailable

DEFAULT_IAM_ENDPOINT = "https://iamcredentials.{universe_domain}"
IAM_TIMEOUT_SECONDS = 10.0
CLOUD_PLATFORM = ["https://www.googleapis.com/auth/cloud-platform"]
UNAVAILABLE = "SIGNING_UNAVAILABLE"
FAILED = "SIGNING_FAILED"


class IAMSigner(crypt.Signer):  # type: ignore[misc]
    """Signs bytes with `POST {endpoint}/v1/projects/-/serviceAccounts/{email}:signBlob`.

    `credentials` authenticate the call (google-auth refreshes their token as it needs to); the
    email is resolved on first use, from the metadata server when the credentials only know "default".
    """

    def __init__(
        self,
        credentials: auth_credentials.Credentials,
        *,
        email: str | None = None,
        endpoint: str | None = None,
        request: google.auth.transport.requests.Request | None = None,
    ) -> None:
        self._credentials = credentials
        self._email = email
        universe = getattr(credentials, "universe_domain", None) or auth_credentials.DEFAULT_UNIVERSE_DOMAIN
        self._endpoint = (endpoint or DEFAULT_IAM_ENDPOINT.format(universe_domain=universe)).rstrip("/")
        self._request = request or google.auth.transport.requests.Request()
        self._lock = threading.Lock()

    @property
    def key_id(self) -> str | None:
        return None  # IAM picks the key; it cannot be known ahead of time

    @property
    def email(self) -> str:
        """The signing account, found once: configured, named by the credentials, or asked of them."""
        with self._lock:
            if self._email is None:
                self._email = self._discover_email()
            return self._email

    def _discover_email(self) -> str:
        found = _named_account(self._credentials)
        if found is None and hasattr(self._credentials, "service_account_email"):
            try:  # metadata-server credentials learn their account on refresh
                self._credentials.refresh(self._request)  # type: ignore[no-untyped-call]
            except auth_exceptions.GoogleAuthError as exc:
                raise LinkUnavailable(FAILED, f"Could not refresh credentials to find the signer: {exc}") from exc
            found = _named_account(self._credentials)
        if found is None:
            raise LinkUnavailable(
                UNAVAILABLE,
                f"{type(self._credentials).__name__} credentials name no service account to sign as;"
                " set GCS_SIGNER_EMAIL.",
            )
        return found

    def sign(self, message: bytes | str) -> bytes:
        payload = message.encode() if isinstance(message, str) else message
        url = f"{self._endpoint}/v1/projects/-/serviceAccounts/{quote(self.email, safe='@')}:signBlob"
        headers = {"Content-Type": "application/json"}
        body = json.dumps({"payload": base64.b64encode(payload).decode()}).encode()
        try:
            self._credentials.before_request(self._request, "POST", url, headers)  # type: ignore[no-untyped-call]
            response = self._request(url=url, method="POST", body=body, headers=headers, timeout=IAM_TIMEOUT_SECONDS)
        except auth_exceptions.GoogleAuthError as exc:
            raise LinkUnavailable(FAILED, f"IAM signBlob for {self.email} failed: {exc}") from exc
        if response.status != 200:
            detail = response.data.decode(errors="replace")[:500]
            raise LinkUnavailable(FAILED, f"IAM signBlob for {self.email} answered {response.status}: {detail}")
        try:
            return base64.b64decode(json.loads(response.data)["signedBlob"])
        except (ValueError, KeyError, TypeError) as exc:
            raise LinkUnavailable(FAILED, f"IAM signBlob for {self.email} sent an unreadable answer") from exc


def _named_account(credentials: auth_credentials.Credentials) -> str | None:
    """The service account credentials act as, when they say (impersonated ones, refreshed GCE ones)."""
    for attribute in ("signer_email", "service_account_email"):
        value = getattr(credentials, attribute, None)
        if isinstance(value, str) and "@" in value:
            return value
    return None


class IAMSigningCredentials(auth_credentials.Signing):  # type: ignore[misc]
    """What `Blob.generate_signed_url(credentials=...)` needs (`sign_bytes`, `signer_email`), backed by IAM."""

    def __init__(self, signer: IAMSigner) -> None:
        self._signer = signer

    def sign_bytes(self, message: bytes | str) -> bytes:
        return self._signer.sign(message)

    @property
    def signer_email(self) -> str:
        return self._signer.email

    @property
    def signer(self) -> IAMSigner:
        return self._signer


class NoSigner(auth_credentials.Signing):  # type: ignore[misc]
    """Stands in when nothing can sign, so each link fails with a clear reason instead of a library error."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def sign_bytes(self, message: bytes | str) -> bytes:
        raise LinkUnavailable(UNAVAILABLE, self.reason)

    @property
    def signer_email(self) -> str:
        raise LinkUnavailable(UNAVAILABLE, self.reason)

    @property
    def signer(self) -> Any:
        raise LinkUnavailable(UNAVAILABLE, self.reason)


def key_file_credentials(path: str) -> service_account.Credentials | None:
    """A service-account key file's credentials; None for other kinds of credential files."""
    try:
        with open(path, encoding="utf-8") as file:
            info = json.load(file)
    except (OSError, ValueError) as exc:
        raise ValueError(f"Cannot read GOOGLE_APPLICATION_CREDENTIALS {path!r}: {exc}") from exc
    if not isinstance(info, dict) or info.get("type") != "service_account":
        return None
    key: service_account.Credentials = service_account.Credentials.from_service_account_info(info)  # type: ignore[no-untyped-call]
    return key


def signing_credentials(
    client_credentials: auth_credentials.Credentials | None,
    *,
    emulator: bool,
    signer_email: str | None = None,
    iam_endpoint: str | None = None,
) -> auth_credentials.Signing:
    """The credentials links are signed with, decided once at start-up (no network calls here).

    Under the emulator the client is anonymous, so the key in GOOGLE_APPLICATION_CREDENTIALS signs.
    A key signs locally unless `signer_email` names another account (then the key's account asks IAM).
    Credentials without a key sign through IAM.
    """
    if emulator:
        path = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
        try:
            key = key_file_credentials(path) if path else None
        except ValueError as exc:
            return NoSigner(str(exc))
        if key is None:
            return NoSigner(
                "Under STORAGE_EMULATOR_HOST, links are signed with the service-account key file"
                " in GOOGLE_APPLICATION_CREDENTIALS; none is set."
            )
        if signer_email and signer_email != key.service_account_email:
            scoped = key.with_scopes(CLOUD_PLATFORM)  # type: ignore[no-untyped-call]
            return IAMSigningCredentials(IAMSigner(scoped, email=signer_email, endpoint=iam_endpoint))
        return key
    if client_credentials is None:
        return NoSigner("The storage client has no credentials.")
    if isinstance(client_credentials, service_account.Credentials) and (
        not signer_email or signer_email == client_credentials.service_account_email
    ):
        return client_credentials
    return IAMSigningCredentials(IAMSigner(client_credentials, email=signer_email, endpoint=iam_endpoint))
