"""Email actors: `send_notice` builds a message from the database, `send_email` delivers it.

Delivery is its own message so a transient SMTP failure retries only the delivery, with
Dramatiq's exponential backoff; a permanent refusal (5xx) is logged and dropped.
"""

from __future__ import annotations

import logging
from typing import Any

import dramatiq

from audiocity import tasks
from audiocity.config import get_settings
from audiocity.db import after_commit, session_scope
from audiocity.mail import Email, PermanentMailError, TransientMailError
from audiocity.services.notices import NoticeKind, build_notice
from workers import resources

log = logging.getLogger(__name__)
_settings = get_settings()


def _transient(retries: int, exc: BaseException) -> bool:
    return isinstance(exc, TransientMailError) and retries < _settings.mail_max_retries


@dramatiq.actor(actor_name=tasks.SEND_NOTICE, max_retries=3, min_backoff=5_000, time_limit=120_000)
async def send_notice(kind: str, key: str) -> None:
    res = resources.current()
    async with session_scope(res.sessions) as session:
        email = await build_notice(session, NoticeKind(kind), key, res.notices)
        if email is not None:
            payload = email.to_dict()

            async def deliver() -> None:
                tasks.send(tasks.SEND_EMAIL, payload)

            after_commit(session, deliver)


@dramatiq.actor(
    actor_name=tasks.SEND_EMAIL,
    max_retries=_settings.mail_max_retries,
    retry_when=_transient,
    min_backoff=10_000,
    max_backoff=30 * 60_000,
    time_limit=120_000,
)
async def send_email(payload: dict[str, Any]) -> None:
    email = Email.from_dict(payload)
    try:
        await resources.current().mailer.send(email)
    except PermanentMailError:
        log.exception("email %r to %s refused for good; not retrying", email.subject, ", ".join(email.to))
