"""Outgoing email: a small Protocol and the outbox implementation (one `.eml` file per message).

The outbox is what the embedded default uses; an SMTP implementation plugs in behind the same Protocol.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)


class Mailer(Protocol):
    async def send(self, to: str, subject: str, body: str) -> None: ...


class OutboxMailer:
    """Writes each message to `<data dir>/outbox/`; the log line names the file, not the address or body."""

    def __init__(self, folder: Path, sender: str = "AudioCity <no-reply@audiocity.local>") -> None:
        self.folder = folder
        self.sender = sender

    async def send(self, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, to, subject
        message.set_content(body)
        name = f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.eml"
        await asyncio.to_thread(self._write, name, message.as_bytes())
        log.info("email %r written to the outbox as %s", subject, name)

    def _write(self, name: str, data: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / name).write_bytes(data)
