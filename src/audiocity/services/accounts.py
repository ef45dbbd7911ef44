"""Registration, sign-in (password or OIDC), refresh-token families, password reset and change."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from audiocity.auth.oidc import Identity
from audiocity.auth.passwords import hash_password, verify_password
from audiocity.auth.tokens import TokenConfig, create_access_token, hash_opaque_token, new_opaque_token
from audiocity.models import PasswordResetToken, RefreshToken, Role, SignInCode, User, utcnow
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
    result = await session.execute(select(User).where(col(User.email) == email.strip().lower()))
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


async def issue_tokens(
    session: AsyncSession,
    user: User,
    config: TokenConfig,
    *,
    family_id: uuid.UUID | None = None,
    family_expires_at: datetime | None = None,
) -> SignedIn:
    """A new access token and refresh token; a rotation passes its family, which keeps its end."""
    refresh = new_opaque_token()
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id or uuid.uuid4(),
            token_hash=hash_opaque_token(refresh),
            expires_at=family_expires_at or utcnow() + timedelta(seconds=config.refresh_ttl_seconds),
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


class TokenReused(ServiceError):
    """A rotated refresh token came back: its family is revoked in the session, which the caller commits."""

    def __init__(self) -> None:
        super().__init__(
            ErrorCode.TOKEN_REUSED,
            "This refresh token was already used, so it may have been stolen: "
            "every session that descends from it has been signed out. Sign in again.",
            "refreshToken",
        )


def _invalid_refresh() -> ServiceError:
    return ServiceError(ErrorCode.INVALID_TOKEN, "Refresh token is invalid or expired.", "refreshToken")


async def revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )


async def revoke_all(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Sign the user out everywhere: every refresh token of every family."""
    await session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.user_id) == user_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )


async def refresh(session: AsyncSession, refresh_token: str, config: TokenConfig) -> SignedIn:
    """Rotate: the presented token is spent and its successor joins the same family.

    The family keeps the `expires_at` of its first token, so rotating never extends a sign-in.
    Raises `TokenReused` (after revoking the family in `session`) for a token that was rotated before.
    """
    token = (
        await session.execute(
            select(RefreshToken)
            .where(col(RefreshToken.token_hash) == hash_opaque_token(refresh_token))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    now = utcnow()
    if token is None or token.expires_at <= now:
        raise _invalid_refresh()
    if token.rotated_at is not None:
        await revoke_family(session, token.family_id)
        raise TokenReused()
    if token.revoked_at is not None:
        raise _invalid_refresh()
    user = await get_user(session, token.user_id)
    if user is None:
        raise _invalid_refresh()
    token.revoked_at = now
    token.rotated_at = now
    await session.flush()
    return await issue_tokens(session, user, config, family_id=token.family_id, family_expires_at=token.expires_at)


async def logout(session: AsyncSession, refresh_token: str) -> None:
    """End the sign-in the token belongs to: its whole family (unknown tokens are ignored)."""
    family_id = await session.scalar(
        select(col(RefreshToken.family_id)).where(col(RefreshToken.token_hash) == hash_opaque_token(refresh_token))
    )
    if family_id is not None:
        await revoke_family(session, family_id)


async def change_password(
    session: AsyncSession, user_id: uuid.UUID, current: str, new: str, config: TokenConfig
) -> SignedIn:
    """Check the current password, set the new one, sign out everywhere, and sign this client in again."""
    user = await get_user(session, user_id)
    if user is None:
        raise NotFound("User", None)
    if user.password_hash is None:
        raise ServiceError(
            ErrorCode.NO_PASSWORD,
            "This account has no password yet; set one through a password reset email.",
            "currentPassword",
        )
    if not await asyncio.to_thread(verify_password, user.password_hash, current):
        raise ServiceError(ErrorCode.INVALID_CREDENTIALS, "The current password is wrong.", "currentPassword")
    check_password(new, "newPassword")
    await _set_password(session, user, new)
    return await issue_tokens(session, user, config)


async def _set_password(session: AsyncSession, user: User, password: str) -> None:
    user.password_hash = await asyncio.to_thread(hash_password, password)
    await revoke_all(session, user.id)
    await session.flush()


async def create_password_reset(session: AsyncSession, user: User, ttl: timedelta) -> str:
    """A new single-use reset token for `user`; only its hash is stored."""
    token = new_opaque_token()
    session.add(PasswordResetToken(user_id=user.id, token_hash=hash_opaque_token(token), expires_at=utcnow() + ttl))
    await session.flush()
    return token


async def reset_password(session: AsyncSession, token: str, new_password: str, config: TokenConfig) -> SignedIn:
    """Spend the reset token, set the password, revoke every refresh token, and sign in."""
    check_password(new_password, "newPassword")
    now = utcnow()
    user_id = await session.scalar(
        update(PasswordResetToken)
        .where(
            col(PasswordResetToken.token_hash) == hash_opaque_token(token),
            col(PasswordResetToken.used_at).is_(None),
            col(PasswordResetToken.expires_at) > now,
        )
        .values(used_at=now)
        .returning(col(PasswordResetToken.user_id))
    )
    user = await get_user(session, user_id) if user_id else None
    if user is None:
        raise ServiceError(ErrorCode.INVALID_TOKEN, "This reset link is invalid, used or expired.", "token")
    await session.execute(  # any other link sent earlier dies with this one
        update(PasswordResetToken)
        .where(col(PasswordResetToken.user_id) == user.id, col(PasswordResetToken.used_at).is_(None))
        .values(used_at=now)
    )
    await _set_password(session, user, new_password)
    return await issue_tokens(session, user, config)


async def update_profile(session: AsyncSession, user_id: uuid.UUID, display_name: str | None) -> User:
    user = await get_user(session, user_id)
    if user is None:
        raise NotFound("User", None)
    if display_name is not None:
        name = display_name.strip()
        if not name or len(name) > 200:
            raise ServiceError(ErrorCode.INVALID, "A display name of 1 to 200 characters is required.", "displayName")
        user.display_name = name
    await session.flush()
    return user


def sign_in_methods(user: User) -> list[str]:
    """How the user can sign in: `PASSWORD`, `GOOGLE`."""
    methods = []
    if user.password_hash is not None:
        methods.append("PASSWORD")
    if user.google_sub is not None:
        methods.append("GOOGLE")
    return methods


async def sign_in_with_identity(session: AsyncSession, identity: Identity, config: TokenConfig) -> SignedIn:
    user = await user_for_identity(session, identity)
    return await issue_tokens(session, user, config)


async def user_for_identity(session: AsyncSession, identity: Identity) -> User:
    """The user a verified OIDC identity signs in: the linked one, else the one with that email, else a new one.

    Only a verified email links or creates an account, so nobody takes over an account by
    claiming its address at the provider.
    """
    if not identity.email_verified or not identity.email:
        raise ServiceError(ErrorCode.EMAIL_NOT_VERIFIED, "The provider has not verified this email address.")
    user = (await session.execute(select(User).where(col(User.google_sub) == identity.subject))).scalar_one_or_none()
    if user is None:
        email = normalize_email(identity.email)
        user = (
            await session.execute(select(User).where(col(User.email) == email).with_for_update())
        ).scalar_one_or_none()
        if user is not None and user.google_sub is not None:
            raise ServiceError(ErrorCode.IDENTITY_CONFLICT, "This email's account is linked to another Google account.")
        if user is None:
            name = (identity.name or "").strip()[:200] or email.split("@")[0]
            user = User(email=email, password_hash=None, display_name=name, role=Role.CUSTOMER)
            session.add(user)
        user.google_sub = identity.subject
        try:
            async with session.begin_nested():
                await session.flush()
        except IntegrityError as exc:  # a concurrent sign-in with the same identity or email won
            raise ServiceError(ErrorCode.IDENTITY_CONFLICT, "Signing in raced another sign-in; try again.") from exc
    return user


async def create_sign_in_code(session: AsyncSession, user_id: uuid.UUID, ttl: timedelta) -> str:
    """A one-time code the frontend trades for tokens, so tokens never travel in a URL."""
    code = new_opaque_token()
    session.add(SignInCode(user_id=user_id, code_hash=hash_opaque_token(code), expires_at=utcnow() + ttl))
    await session.flush()
    return code


async def exchange_sign_in_code(session: AsyncSession, code: str, config: TokenConfig) -> SignedIn:
    now = utcnow()
    user_id = await session.scalar(
        update(SignInCode)
        .where(
            col(SignInCode.code_hash) == hash_opaque_token(code),
            col(SignInCode.used_at).is_(None),
            col(SignInCode.expires_at) > now,
        )
        .values(used_at=now)
        .returning(col(SignInCode.user_id))
    )
    user = await get_user(session, user_id) if user_id else None
    if user is None:
        raise ServiceError(ErrorCode.INVALID_TOKEN, "This sign-in code is invalid, used or expired.", "code")
    return await issue_tokens(session, user, config)


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
        select(col(User.id)).where(col(User.role) == Role.ADMIN, col(User.id) != leaving).limit(1).with_for_update()
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
