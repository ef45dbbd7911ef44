"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives and can refuse on demand."""

from __future__ import annotations

import email
import email.policy
import ssl
from collections import deque
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.e2e.server import free_port

USER, PASSWORD = "mailer", "s3cret/with:chars"


class Inbox:
    """The handler: collects messages; `refuse` holds SMTP replies to give instead, one per DATA."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: deque[str] = deque()
        self.attempts = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.attempts += 1
        if self.refuse:
            return self.refuse.popleft()
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok)


class SmtpServer:
    """Plain by default; `starttls` offers (and requires) STARTTLS, `implicit_tls` speaks TLS from the start."""

    def __init__(
        self,
        *,
        require_auth: bool = True,
        starttls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
    ) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        extra: dict[str, Any] = {}
        if starttls is not None:
            extra.update(tls_context=starttls, require_starttls=True)
        if implicit_tls is not None:
            extra.update(ssl_context=implicit_tls, server_hostname="127.0.0.1")
        self.controller = Controller(
            self.inbox,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=_authenticate,
            auth_required=require_auth,
            auth_require_tls=False,  # the plain loopback server has no certificate
            **extra,
        )

    @property
    def url(self) -> str:
        from urllib.parse import quote

        return f"smtp://{USER}:{quote(PASSWORD, safe='')}@127.0.0.1:{self.port}"

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
