"""Send through an SMTP server named by a URL.

`smtp://user:pass@host:587` uses STARTTLS when the server offers it, `smtp+starttls://` insists on
it, and `smtps://host:465` speaks TLS from the first byte. User and password are URL-decoded.
"""

from __future__ import annotations

import logging
import ssl
from urllib.parse import unquote, urlsplit

import aiosmtplib

from audiocity.mail.base import Email, PermanentMailError, TransientMailError

log = logging.getLogger(__name__)


class SmtpMailer:
    def __init__(self, url: str, sender: str, *, timeout: float = 30.0, tls_context: ssl.SSLContext | None = None):
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps", "smtp+starttls"):
            raise ValueError(f"SMTP_URL must start with smtp://, smtp+starttls:// or smtps://, not {parts.scheme}://")
        self.hostname = parts.hostname or "localhost"
        self.use_tls = parts.scheme == "smtps"
        self.port = parts.port or (465 if self.use_tls else 587)
        self.start_tls: bool | None = True if parts.scheme == "smtp+starttls" else (False if self.use_tls else None)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = sender
        self.timeout = timeout
        self.tls_context = tls_context

    async def send(self, email: Email) -> None:
        try:
            await aiosmtplib.send(
                email.build(self.sender),
                hostname=self.hostname,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.use_tls,
                start_tls=self.start_tls,
                tls_context=self.tls_context,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise PermanentMailError(f"recipients refused: {exc}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            kind = TransientMailError if 400 <= exc.code < 500 else PermanentMailError
            raise kind(f"SMTP {exc.code}: {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:  # connect, timeout, disconnect
            raise TransientMailError(f"SMTP server unreachable: {exc}") from exc
        log.info("email %r sent to %s via %s:%s", email.subject, ", ".join(email.to), self.hostname, self.port)
