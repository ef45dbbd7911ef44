"""Notices built from the database, and the outbox mailer that stores them as `.eml` files."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from audiocity.mail import OutboxMailer
from audiocity.models import Job, JobStatus, Role, User
from audiocity.services.notices import NoticeConfig, NoticeKind, build_notice
from tests.factories import make_book, make_user

CONFIG = NoticeConfig(
    password_reset_url="https://shop.example/reset?token={token}",
    password_reset_ttl=timedelta(minutes=30),
    library_url="https://shop.example/library",
    admin_alert_email=None,
)


async def failed_job(session: AsyncSession, title: str) -> Job:
    book = await make_book(session, title=title)
    job = Job(audiobook_id=book.id, status=JobStatus.FAILED, error="Gave up after 4 attempts: 503", attempts=4)
    session.add(job)
    await session.flush()
    return job


async def test_a_failed_job_alerts_every_admin(session: AsyncSession) -> None:
    admins = [await make_user(session, Role.ADMIN) for _ in range(2)]
    await make_user(session, Role.CUSTOMER)
    job = await failed_job(session, "The <Lighthouse>")

    message = await build_notice(session, NoticeKind.JOB_FAILED, str(job.id), CONFIG)

    assert message is not None
    every_admin = (await session.execute(select(col(User.email)).where(col(User.role) == Role.ADMIN))).scalars().all()
    assert set(message.to) == set(every_admin) and {a.email for a in admins} <= set(message.to)
    assert "The <Lighthouse>" in message.subject
    assert "Gave up after 4 attempts: 503" in message.text
    assert "The &lt;Lighthouse&gt;" in message.html and "<Lighthouse>" not in message.html  # escaped in HTML


async def test_a_failed_job_alerts_the_configured_address(session: AsyncSession) -> None:
    await make_user(session, Role.ADMIN)
    job = await failed_job(session, "River")
    config = NoticeConfig(**{**CONFIG.__dict__, "admin_alert_email": "ops@shop.example"})

    message = await build_notice(session, NoticeKind.JOB_FAILED, str(job.id), config)

    assert message is not None and message.to == ("ops@shop.example",)


async def test_no_reset_email_for_an_unknown_address(session: AsyncSession) -> None:
    assert await build_notice(session, NoticeKind.PASSWORD_RESET, "nobody-here@example.com", CONFIG) is None


async def test_the_outbox_writes_a_readable_eml(tmp_path: Path, session: AsyncSession) -> None:
    job = await failed_job(session, "Library")
    await make_user(session, Role.ADMIN)
    message = await build_notice(session, NoticeKind.JOB_FAILED, str(job.id), CONFIG)
    assert message is not None

    await OutboxMailer(tmp_path / "outbox", "Shop <shop@audiocity.test>").send(message)

    [path] = list((tmp_path / "outbox").glob("*.eml"))
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == message.subject and parsed["From"] == "Shop <shop@audiocity.test>"
    assert parsed.get_body(preferencelist=("plain",)) is not None
    assert parsed.get_body(preferencelist=("html",)) is not None
