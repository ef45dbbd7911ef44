"""What every mailer shares: the message, the protocol, and the two kinds of failure."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, Protocol


class TransientMailError(Exception):
    """Worth retrying later: the server is down, busy, or answered 4xx."""


class PermanentMailError(Exception):
    """Retrying will not help: the server refused the message or its recipients (5xx)."""


@dataclass(frozen=True)
class Email:
    """One message with a plain-text part and an HTML alternative."""

    to: tuple[str, ...]
    subject: str
    text: str
    html: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form for a Dramatiq message."""
        return {"to": list(self.to), "subject": self.subject, "text": self.text, "html": self.html}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Email:
        return cls(tuple(data["to"]), str(data["subject"]), str(data["text"]), str(data["html"]))

    def build(self, sender: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = sender
        message["To"] = ", ".join(self.to)
        message["Subject"] = self.subject
        message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip("> ") or None)
        message.set_content(self.text)
        message.add_alternative(self.html, subtype="html")
        return message


class Mailer(Protocol):
    async def send(self, email: Email) -> None:
        """Deliver (or store) the message; raise `TransientMailError` or `PermanentMailError`."""
        ...
