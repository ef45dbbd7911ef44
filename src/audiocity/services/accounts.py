"""Registration, sign-in and token rotation."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from audiocity.auth.passwords import hash_password, verify_password
from audiocity.auth.tokens import TokenConfig, create_access_token, hash_opaque_token, new_opaque_token
from audiocity.models import RefreshToken, Role, User, utcnow
from audiocity.services.errors import ErrorCode, NotFound, ServiceError

MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True)
class SignedIn:
    user: User
    access_token: str
    refresh_token: str


def normalize_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ServiceError(ErrorCode.INVALID, str(exc), "email") from exc


def _check_password(password: str, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ServiceError(
            ErrorCode.WEAK_PASSWORD, f"Password must be at least {MIN_PASSWORD_LENGTH} characters.", field
        )


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.execute(select(User).where(col(User.email) == email.strip().lower()))
    return result.scalar_one_or_none()


async def create_user(
    session: AsyncSession, email: str, password: str, display_name: str | None, role: Role = Role.CUSTOMER
) -> User:
    email = normalize_email(email)
    _check_password(password)
    name = (display_name or "").strip() or email.split("@")[0]
    if len(name) > 200:
        raise ServiceError(ErrorCode.INVALID, "Display name is too long.", "displayName")
    if await get_user_by_email(session, email):
        raise ServiceError(ErrorCode.EMAIL_TAKEN, "An account with this email already exists.", "email")
    password_hash = await asyncio.to_thread(hash_password, password)  # argon2 is slow on purpose: not on the loop
    user = User(email=email, password_hash=password_hash, display_name=name, role=role)
    session.add(user)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:  # a concurrent registration won the race
        raise ServiceError(ErrorCode.EMAIL_TAKEN, "An account with this email already exists.", "email") from exc
    return user


async def issue_tokens(session: AsyncSession, user: User, config: TokenConfig) -> SignedIn:
    refresh = new_opaque_token()
    session.add(
        RefreshToken(
            user_id=user.id,
            token_hash=hash_opaque_token(refresh),
            expires_at=utcnow() + timedelta(seconds=config.refresh_ttl_seconds),
        )
    )
    await session.flush()
    access = create_access_token(config.secret, user.id, user.role.value, config.access_ttl_seconds)
    return SignedIn(user=user, access_token=access, refresh_token=refresh)


async def register(
    session: AsyncSession, email: str, password: str, display_name: str | None, config: TokenConfig
) -> SignedIn:
    user = await create_user(session, email, password, display_name)
    return await issue_tokens(session, user, config)


async def login(session: AsyncSession, email: str, password: str, config: TokenConfig) -> SignedIn:
    user = await get_user_by_email(session, email)
    valid = await asyncio.to_thread(verify_password, user.password_hash if user else None, password)
    if not valid or user is None:
        raise ServiceError(ErrorCode.INVALID_CREDENTIALS, "Wrong email or password.")
    return await issue_tokens(session, user, config)


async def refresh(session: AsyncSession, refresh_token: str, config: TokenConfig) -> SignedIn:
    """Rotate: the presented token is revoked and a new pair is issued."""
    result = await session.execute(
        update(RefreshToken)
        .where(
            col(RefreshToken.token_hash) == hash_opaque_token(refresh_token),
            col(RefreshToken.revoked_at).is_(None),
            col(RefreshToken.expires_at) > utcnow(),
        )
        .values(revoked_at=utcnow())
        .returning(col(RefreshToken.user_id))
    )
    user_id = result.scalar_one_or_none()
    user = await get_user(session, user_id) if user_id else None
    if user is None:
        raise ServiceError(ErrorCode.INVALID_TOKEN, "Refresh token is invalid or expired.", "refreshToken")
    return await issue_tokens(session, user, config)


async def logout(session: AsyncSession, refresh_token: str) -> None:
    await session.execute(
        update(RefreshToken)
        .where(
            col(RefreshToken.token_hash) == hash_opaque_token(refresh_token),
            col(RefreshToken.revoked_at).is_(None),
        )
        .values(revoked_at=utcnow())
    )


async def set_role(session: AsyncSession, user_id: uuid.UUID, role: Role) -> User:
    user = await get_user(session, user_id)
    if user is None:
        raise NotFound("User", "userId")
    user.role = role
    await session.flush()
    return user


async def ensure_admin(session: AsyncSession, email: str, password: str) -> User:
    """Create the admin, or promote and re-password an existing account (for `create-admin`)."""
    existing = await get_user_by_email(session, normalize_email(email))
    if existing is None:
        return await create_user(session, email, password, None, Role.ADMIN)
    _check_password(password)
    existing.role = Role.ADMIN
    existing.password_hash = await asyncio.to_thread(hash_password, password)
    await session.flush()
    return existing
