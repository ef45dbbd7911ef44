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

from audiocity.auth.passwords import hash_password, verify_password
from audiocity.auth.tokens import TokenConfig, create_access_token, hash_opaque_token, new_opaque_token
from audiocity.models import RefreshToken, Role, User, utcnow
from audiocity.services.errors import ErrorCode, NotFound, ServiceError

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256  # argon2 hashes any length; a cap keeps a megabyte password from costing CPU
MAX_EMAIL_LENGTH = 254
# The most common passwords of at least 8 characters (from public breach lists); lower-cased.
COMMON_PASSWORDS = frozenset(
    {
        "password", "password1", "password12", "password123", "12345678", "123456789", "1234567890",
        "qwertyuiop", "qwerty123", "qwerty12", "iloveyou", "11111111", "00000000", "abc12345",
        "abcd1234", "1q2w3e4r", "1qaz2wsx", "sunshine", "princess", "football", "baseball",
        "welcome1", "welcome123", "letmein1", "trustno1", "dragon12", "monkey12", "superman",
        "passw0rd", "p@ssw0rd", "p@ssword", "changeme", "admin123", "administrator", "audiocity",
        "87654321", "12341234", "qwertyui", "asdfghjk", "zaq12wsx", "123123123", "password!",
    }
)  # fmt: skip


@dataclass(frozen=True)
class SignedIn:
    user: User
    access_token: str
    refresh_token: str


def normalize_email(email: str) -> str:
    if len(email) > MAX_EMAIL_LENGTH:
        raise ServiceError(ErrorCode.INVALID, "The email address is too long.", "email")
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ServiceError(ErrorCode.INVALID, str(exc), "email") from exc


def check_password(password: str, field: str = "password") -> None:
    """Length between the bounds, and not one of the passwords every attacker tries first."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ServiceError(
            ErrorCode.WEAK_PASSWORD, f"Password must be at least {MIN_PASSWORD_LENGTH} characters.", field
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ServiceError(ErrorCode.TOO_LONG, f"Password must be at most {MAX_PASSWORD_LENGTH} characters.", field)
    if password.strip().lower() in COMMON_PASSWORDS:
        raise ServiceError(ErrorCode.WEAK_PASSWORD, "This password is too common; choose another.", field)


async def get_user(session: AsyncSession, user_id: uuid.UUID, *, for_update: bool = False) -> User | None:
    return await session.get(User, user_id, with_for_update=for_update)


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.execute(select(User).where(User.email == email.strip().lower()))
    return result.scalar_one_or_none()


async def create_user(
    session: AsyncSession, email: str, password: str, display_name: str | None, role: Role = Role.CUSTOMER
) -> User:
    email = normalize_email(email)
    check_password(password)
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


@dataclass(frozen=True)
class Registration:
    """What happened, for the caller's email; never shown to the client (no account enumeration)."""

    email: str
    user: User | None  # None: the address already had an account


async def register(
    session: AsyncSession, email: str, password: str, display_name: str | None, config: TokenConfig
) -> SignedIn:
    """Create a customer account and sign it in (for seeding and tools; the API uses `sign_up`)."""
    user = await create_user(session, email, password, display_name)
    return await issue_tokens(session, user, config)


async def sign_up(session: AsyncSession, email: str, password: str, display_name: str | None) -> Registration:
    """Create a customer account, or do the same work and change nothing if the email is taken.

    Both paths validate, hash the password and answer alike, so the answer and its timing do not
    tell whether an address has an account; the owner of an existing one gets an email instead.
    """
    address = normalize_email(email)
    check_password(password)
    if len(display_name or "") > 200:
        raise ServiceError(ErrorCode.INVALID, "Display name is too long.", "displayName")
    if await get_user_by_email(session, address):
        await asyncio.to_thread(hash_password, password)  # same cost as a real sign-up
        return Registration(address, None)
    try:
        user = await create_user(session, address, password, display_name)
    except ServiceError as exc:
        if exc.code != ErrorCode.EMAIL_TAKEN:
            raise
        return Registration(address, None)  # a concurrent sign-up won the race
    return Registration(address, user)


async def login(session: AsyncSession, email: str, password: str, config: TokenConfig) -> SignedIn:
    if len(email) > MAX_EMAIL_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
        raise ServiceError(ErrorCode.INVALID_CREDENTIALS, "Wrong email or password.")
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
            RefreshToken.token_hash == hash_opaque_token(refresh_token),
            RefreshToken.revoked_at.is_(None),  # type: ignore[union-attr]
            RefreshToken.expires_at > utcnow(),
        )
        .values(revoked_at=utcnow())
        .returning(RefreshToken.user_id)
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
            RefreshToken.token_hash == hash_opaque_token(refresh_token),
            RefreshToken.revoked_at.is_(None),  # type: ignore[union-attr]
        )
        .values(revoked_at=utcnow())
    )


async def set_role(
    session: AsyncSession,
    user_id: uuid.UUID,
    role: Role,
    *,
    acting_user_id: uuid.UUID | None = None,
    confirm: bool = False,
) -> User:
    """Change a role; the store never loses its last admin, and changing your own role needs `confirm`."""
    user = await get_user(session, user_id, for_update=True)
    if user is None:
        raise NotFound("User", "userId")
    if user.id == acting_user_id and user.role != role and not confirm:
        raise ServiceError(
            ErrorCode.CONFIRMATION_REQUIRED, "Changing your own role needs confirmSelf: true.", "confirmSelf"
        )
    if user.role == Role.ADMIN and role != Role.ADMIN:
        await _keep_an_admin(session, user.id)
    user.role = role
    await session.flush()
    return user


async def _keep_an_admin(session: AsyncSession, leaving: uuid.UUID) -> None:
    """Refuse if `leaving` is the only admin; admins are locked so two demotions cannot race past it."""
    others = await session.execute(
        select(User.id).where(User.role == Role.ADMIN, User.id != leaving).limit(1).with_for_update()
    )
    if others.first() is None:
        raise ServiceError(ErrorCode.LAST_ADMIN, "The store needs at least one admin.", "userId")


async def ensure_admin(session: AsyncSession, email: str, password: str) -> User:
    """Create the admin, or promote and re-password an existing account (for `create-admin`)."""
    existing = await get_user_by_email(session, normalize_email(email))
    if existing is None:
        return await create_user(session, email, password, None, Role.ADMIN)
    check_password(password)
    existing.role = Role.ADMIN
    existing.password_hash = await asyncio.to_thread(hash_password, password)
    await session.flush()
    return existing
