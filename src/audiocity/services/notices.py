"""Emails the shop sends: reset links, receipts, refund notices and admin alerts.

A notice is queued by kind and key (`queue_notice`) after the transaction that causes it commits;
the `send_notice` actor builds it here from the database as it then is, and hands the finished
message to the `send_email` actor, which retries transient SMTP failures on its own. So a reset
token is created once, however often delivery is retried.
"""

from __future__ import annotations

import enum
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from audiocity import tasks
from audiocity.mail.base import Email
from audiocity.models import Audiobook, Job, Order, OrderLine, Role, User
from audiocity.services import accounts, outbox
from audiocity.services.errors import ServiceError

log = logging.getLogger(__name__)


class NoticeKind(enum.StrEnum):
    PASSWORD_RESET = "password_reset"
    ORDER_PAID = "order_paid"
    ORDER_REFUNDED = "order_refunded"
    JOB_FAILED = "job_failed"
    WELCOME = "welcome"
    ACCOUNT_EXISTS = "account_exists"


@dataclass(frozen=True)
class NoticeConfig:
    password_reset_url: str  # contains "{token}"
    password_reset_ttl: timedelta
    library_url: str
    admin_alert_email: str | None


_env = Environment(
    loader=PackageLoader("audiocity", "templates/email"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def money(cents: int, currency: str) -> str:
    return f"{cents / 100:.2f} {currency}"


def render(name: str, to: list[str], **values: object) -> Email:
    """`name.txt` (its first line is the subject) and `name.html`, from the same values."""
    text = _env.get_template(f"{name}.txt").render(money=money, **values)
    subject, _, body = text.partition("\n")
    html = _env.get_template(f"{name}.html").render(money=money, **values)
    return Email(to=tuple(to), subject=subject.strip(), text=body.lstrip("\n"), html=html)


async def queue_notice(session: AsyncSession, kind: NoticeKind, key: str) -> None:
    """Send the notice once the surrounding transaction commits (never for a rolled-back change).

    An outbox row of that transaction: a Redis outage at commit time delays the email, never loses it.
    """
    await outbox.add(session, tasks.SEND_NOTICE, kind.value, key)


def request_password_reset(email: str) -> None:
    """Queue a reset link for `email` if it has an account.

    The lookup happens in the worker, so the caller's answer (and how long it takes) is the same
    whether or not the account exists.
    """
    tasks.send(tasks.SEND_NOTICE, NoticeKind.PASSWORD_RESET.value, accounts.normalize_email(email))


def announce_registration(email: str, created: bool) -> None:
    """A welcome for a new account, or a note to the owner of a taken address (register never tells)."""
    kind = NoticeKind.WELCOME if created else NoticeKind.ACCOUNT_EXISTS
    tasks.send(tasks.SEND_NOTICE, kind.value, accounts.normalize_email(email))


async def build_notice(session: AsyncSession, kind: NoticeKind, key: str, config: NoticeConfig) -> Email | None:
    """The message for a queued notice, or None when there is nobody to tell (e.g. an unknown email)."""
    if kind is NoticeKind.PASSWORD_RESET:
        return await _password_reset(session, key, config)
    if kind in (NoticeKind.WELCOME, NoticeKind.ACCOUNT_EXISTS):
        user = await accounts.get_user_by_email(session, key)
        return render(kind.value, [user.email], user=user) if user is not None else None
    if kind in (NoticeKind.ORDER_PAID, NoticeKind.ORDER_REFUNDED):
        return await _order(session, kind, uuid.UUID(key), config)
    return await _job_failed(session, uuid.UUID(key), config)


async def _password_reset(session: AsyncSession, email: str, config: NoticeConfig) -> Email | None:
    try:
        user = await accounts.get_user_by_email(session, accounts.normalize_email(email))
    except ServiceError:
        return None
    if user is None:
        log.info("password reset asked for an address without an account; nothing sent")
        return None
    token = await accounts.create_password_reset(session, user, config.password_reset_ttl)
    link = config.password_reset_url.replace("{token}", token)
    minutes = int(config.password_reset_ttl.total_seconds() // 60)
    return render(NoticeKind.PASSWORD_RESET.value, [user.email], user=user, link=link, minutes=minutes)


async def _order(session: AsyncSession, kind: NoticeKind, order_id: uuid.UUID, config: NoticeConfig) -> Email | None:
    order = await session.get(Order, order_id)
    if order is None:
        return None
    user = await session.get(User, order.user_id)
    if user is None:
        return None
    lines = list(
        (
            await session.execute(
                select(OrderLine).where(col(OrderLine.order_id) == order_id).order_by(col(OrderLine.title))
            )
        ).scalars()
    )
    return render(kind.value, [user.email], user=user, order=order, lines=lines, library_url=config.library_url)


async def _job_failed(session: AsyncSession, job_id: uuid.UUID, config: NoticeConfig) -> Email | None:
    job = await session.get(Job, job_id)
    if job is None:
        return None
    book = await session.get(Audiobook, job.audiobook_id)
    if config.admin_alert_email:
        recipients = [config.admin_alert_email]
    else:
        recipients = list(
            (
                await session.execute(
                    select(col(User.email)).where(col(User.role) == Role.ADMIN).order_by(col(User.email))
                )
            )
            .scalars()
            .all()
        )
    if not recipients:
        log.warning("job %s failed and there is no admin to tell", job_id)
        return None
    return render(NoticeKind.JOB_FAILED.value, recipients, job=job, book=book or {"title": "(deleted audiobook)"})
