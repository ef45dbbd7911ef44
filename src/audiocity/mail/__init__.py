"""Email: SMTP when `SMTP_URL` is set, otherwise `.eml` files in the outbox folder."""

from __future__ import annotations

from pathlib import Path

from audiocity.mail.base import Email, Mailer, PermanentMailError, TransientMailError
from audiocity.mail.outbox import OutboxMailer
from audiocity.mail.smtp import SmtpMailer

__all__ = ["Email", "Mailer", "OutboxMailer", "PermanentMailError", "SmtpMailer", "TransientMailError", "make_mailer"]


def make_mailer(smtp_url: str | None, sender: str, outbox: Path) -> Mailer:
    """Chosen once from settings (passed as plain values: backends do not read settings)."""
    if smtp_url:
        return SmtpMailer(smtp_url, sender)
    return OutboxMailer(outbox, sender)
