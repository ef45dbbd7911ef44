"""The default mailer: each message becomes an `.eml` file in a folder, and a log line says where."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path

from audiocity.mail.base import Email

log = logging.getLogger(__name__)


class OutboxMailer:
    def __init__(self, folder: Path, sender: str) -> None:
        self.folder = folder
        self.sender = sender

    def _write(self, email: Email) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        path = self.folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(email.build(self.sender).as_bytes())
        tmp.rename(path)  # readers never see half a message
        return path

    async def send(self, email: Email) -> None:
        path = await asyncio.to_thread(self._write, email)
        log.info("email %r to %s written to %s", email.subject, ", ".join(email.to), path)
