"""Refuse oversized or unauthorised GraphQL request bodies before reading them.

JSON bodies are capped at MAX_REQUEST_BYTES (by `Content-Length`, and by counting when the client
streams without one). Multipart bodies exist only for the admins' inline uploads, so the bearer
token and the admin role are checked, and `Content-Length` compared with MAX_INLINE_UPLOAD_BYTES,
from the headers alone: a refused body is never read, let alone spooled to a temp file.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from audiocity.auth.tokens import InvalidToken, decode_access_token

MULTIPART_OVERHEAD = 1024 * 1024  # the form's `operations` and `map` parts, boundaries and part headers

# Given a user id, whether that account is (still) an admin; the app answers from the database.
IsAdmin = Callable[[uuid.UUID], Awaitable[bool]]


SMALL_BODY = 1024 * 1024  # refused multipart bodies up to this size are read and dropped (never parsed or spooled)
DRAIN_LIMIT = 16 * 1024 * 1024  # an oversized JSON body up to this size is read and dropped, larger ones cut off


class BodyTooLarge(Exception):
    pass


async def _drain(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


async def _refuse(send: Send, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    # Ask the client (and uvicorn) to drop the connection: the unread body must not be parsed as a next request.
    raw_headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


class RequestLimitsMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        path: str,
        max_body_bytes: int,
        max_upload_bytes: int,
        secret: Callable[[], str],
        is_admin: IsAdmin,
    ) -> None:
        self.app = app
        self.path = path
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes
        self.secret = secret
        self.is_admin = is_admin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
        length_header = headers.get("content-length")
        try:
            length = int(length_header) if length_header is not None else None
        except ValueError:
            await _refuse(send, 400, "BAD_REQUEST", "Content-Length is not a number.")
            return
        if headers.get("content-type", "").lower().startswith("multipart/"):
            if not await self._multipart_allowed(headers, length, receive, send):
                return
            limit = self.max_upload_bytes + MULTIPART_OVERHEAD
        else:
            limit = self.max_body_bytes
            if length is not None and length > limit:
                if length <= DRAIN_LIMIT:
                    await _drain(receive)  # unparsed: lets the client read the answer instead of a reset
                await _refuse(send, 413, "PAYLOAD_TOO_LARGE", f"The request body is larger than {limit} bytes.")
                return
        await self._counted(scope, receive, send, limit)

    async def _multipart_allowed(
        self, headers: dict[str, str], length: int | None, receive: Receive, send: Send
    ) -> bool:
        allowed, status, code, message = await self._judge_multipart(headers, length)
        if not allowed:
            if length is not None and length <= SMALL_BODY:
                await _drain(receive)  # a small refused body is dropped unread, so the client sees the answer
            await _refuse(send, status, code, message)
        return allowed

    async def _judge_multipart(self, headers: dict[str, str], length: int | None) -> tuple[bool, int, str, str]:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False, 401, "UNAUTHENTICATED", "Sign in as an admin to upload files."
        try:
            claims = decode_access_token(self.secret(), token.strip())
        except InvalidToken:
            return False, 401, "UNAUTHENTICATED", "The access token is invalid or expired."
        if not await self.is_admin(claims.user_id):
            return False, 403, "FORBIDDEN", "Only admins can upload files."
        if length is None:
            return False, 411, "LENGTH_REQUIRED", "Uploads need a Content-Length header."
        if length > self.max_upload_bytes + MULTIPART_OVERHEAD:
            return (
                False,
                413,
                "FILE_TOO_LARGE",
                f"Inline uploads are limited to {self.max_upload_bytes} bytes; use startUpload for larger files.",
            )
        return True, 200, "", ""

    async def _counted(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Pass the body through, stopping a client that sends more than the limit without saying so."""
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _refuse(send, 413, "PAYLOAD_TOO_LARGE", f"The request body is larger than {limit} bytes.")
