"""services.accounts: registration, sign-in, refresh rotation and roles, on the real database."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from audiocity.auth.tokens import decode_access_token, hash_opaque_token
from audiocity.models import RefreshToken, Role
from audiocity.services import accounts
from audiocity.services.accounts import TokenConfig
from audiocity.services.errors import ErrorCode, NotFound, ServiceError
from tests.factories import unique_email

CONFIG = TokenConfig(secret="test-secret-" + "x" * 32, access_ttl_seconds=900, refresh_ttl_seconds=3600)
PASSWORD = "correct horse battery"


async def test_register_creates_a_customer_and_signs_in(session: AsyncSession) -> None:
    email = unique_email()

    signed_in = await accounts.register(session, email, PASSWORD, "  Ada  ", CONFIG)

    user = signed_in.user
    assert user.email == email
    assert user.display_name == "Ada"
    assert user.role is Role.CUSTOMER
    assert user.password_hash and PASSWORD not in user.password_hash
    claims = decode_access_token(CONFIG.secret, signed_in.access_token)
    assert claims.user_id == user.id
    assert claims.role == "CUSTOMER"
    stored = (
        await session.execute(
            select(RefreshToken).where(col(RefreshToken.token_hash) == hash_opaque_token(signed_in.refresh_token))
        )
    ).scalar_one()
    assert stored.user_id == user.id
    assert stored.revoked_at is None


async def test_register_defaults_display_name_to_the_local_part(session: AsyncSession) -> None:
    email = unique_email()
    signed_in = await accounts.register(session, email, PASSWORD, None, CONFIG)
    assert signed_in.user.display_name == email.split("@")[0]


async def test_register_stores_the_email_lowercased(session: AsyncSession) -> None:
    email = unique_email()
    signed_in = await accounts.register(session, "  " + email.upper() + " ", PASSWORD, None, CONFIG)
    assert signed_in.user.email == email


async def test_duplicate_email_is_refused(session: AsyncSession) -> None:
    email = unique_email()
    await accounts.register(session, email, PASSWORD, None, CONFIG)

    with pytest.raises(ServiceError) as exc:
        await accounts.register(session, email, PASSWORD, None, CONFIG)
    assert exc.value.code is ErrorCode.EMAIL_TAKEN
    assert exc.value.field == "email"


async def test_duplicate_email_is_refused_whatever_the_case(session: AsyncSession) -> None:
    email = unique_email()
    await accounts.register(session, email, PASSWORD, None, CONFIG)

    with pytest.raises(ServiceError) as exc:
        await accounts.register(session, email.upper(), PASSWORD, None, CONFIG)
    assert exc.value.code is ErrorCode.EMAIL_TAKEN


async def test_overlong_display_name_is_refused(session: AsyncSession) -> None:
    with pytest.raises(ServiceError) as exc:
        await accounts.register(session, unique_email(), PASSWORD, "x" * 201, CONFIG)
    assert exc.value.code is ErrorCode.INVALID
    assert exc.value.field == "displayName"


@pytest.mark.parametrize("password", ["", "short", "1234567"])
async def test_weak_password_is_refused(session: AsyncSession, password: str) -> None:
    email = unique_email()
    with pytest.raises(ServiceError) as exc:
        await accounts.register(session, email, password, None, CONFIG)
    assert exc.value.code is ErrorCode.WEAK_PASSWORD
    assert exc.value.field == "password"
    assert await accounts.get_user_by_email(session, email) is None


@pytest.mark.parametrize("email", ["", "not-an-email", "a@", "@example.com", "two@@example.com"])
async def test_invalid_email_is_refused(session: AsyncSession, email: str) -> None:
    with pytest.raises(ServiceError) as exc:
        await accounts.register(session, email, PASSWORD, None, CONFIG)
    assert exc.value.code is ErrorCode.INVALID
    assert exc.value.field == "email"


async def test_login_with_the_right_password(session: AsyncSession) -> None:
    email = unique_email()
    registered = await accounts.register(session, email, PASSWORD, None, CONFIG)

    signed_in = await accounts.login(session, email.upper(), PASSWORD, CONFIG)

    assert signed_in.user.id == registered.user.id
    assert decode_access_token(CONFIG.secret, signed_in.access_token).user_id == registered.user.id
    assert signed_in.refresh_token != registered.refresh_token


async def test_login_with_a_wrong_password_fails(session: AsyncSession) -> None:
    email = unique_email()
    await accounts.register(session, email, PASSWORD, None, CONFIG)

    with pytest.raises(ServiceError) as exc:
        await accounts.login(session, email, PASSWORD + "!", CONFIG)
    assert exc.value.code is ErrorCode.INVALID_CREDENTIALS


async def test_login_with_an_unknown_email_fails_the_same_way(session: AsyncSession) -> None:
    with pytest.raises(ServiceError) as exc:
        await accounts.login(session, unique_email(), PASSWORD, CONFIG)
    assert exc.value.code is ErrorCode.INVALID_CREDENTIALS


async def test_refresh_rotates_the_token(session: AsyncSession) -> None:
    first = await accounts.register(session, unique_email(), PASSWORD, None, CONFIG)

    second = await accounts.refresh(session, first.refresh_token, CONFIG)

    assert second.user.id == first.user.id
    assert second.refresh_token != first.refresh_token
    assert decode_access_token(CONFIG.secret, second.access_token).user_id == first.user.id
    third = await accounts.refresh(session, second.refresh_token, CONFIG)
    assert third.user.id == first.user.id


async def test_reusing_a_rotated_token_revokes_the_whole_family(session: AsyncSession) -> None:
    first = await accounts.register(session, unique_email(), PASSWORD, None, CONFIG)
    other_sign_in = await accounts.login(session, first.user.email, PASSWORD, CONFIG)
    second = await accounts.refresh(session, first.refresh_token, CONFIG)

    with pytest.raises(ServiceError) as exc:
        await accounts.refresh(session, first.refresh_token, CONFIG)  # a thief (or the victim) replays it

    assert exc.value.code is ErrorCode.TOKEN_REUSED
    assert "signed out" in exc.value.message
    with pytest.raises(ServiceError) as exc:
        await accounts.refresh(session, second.refresh_token, CONFIG)  # the newer token of the family died too
    assert exc.value.code is ErrorCode.INVALID_TOKEN
    # another sign-in of the same user is another family and lives on
    assert (await accounts.refresh(session, other_sign_in.refresh_token, CONFIG)).user.id == first.user.id


async def test_rotation_keeps_the_family_expiry(session: AsyncSession) -> None:
    first = await accounts.register(session, unique_email(), PASSWORD, None, CONFIG)
    tokens = [first.refresh_token]
    for _ in range(3):
        tokens.append((await accounts.refresh(session, tokens[-1], CONFIG)).refresh_token)

    rows = [
        (
            await session.execute(select(RefreshToken).where(col(RefreshToken.token_hash) == hash_opaque_token(t)))
        ).scalar_one()
        for t in tokens
    ]
    assert len({r.family_id for r in rows}) == 1
    assert len({r.expires_at for r in rows}) == 1  # the family's end does not move with rotation


async def test_refresh_with_an_unknown_token_fails(session: AsyncSession) -> None:
    with pytest.raises(ServiceError) as exc:
        await accounts.refresh(session, "no-such-token", CONFIG)
    assert exc.value.code is ErrorCode.INVALID_TOKEN
    assert exc.value.field == "refreshToken"


async def test_refresh_with_an_expired_token_fails(session: AsyncSession) -> None:
    expired = TokenConfig(secret=CONFIG.secret, access_ttl_seconds=900, refresh_ttl_seconds=-1)
    signed_in = await accounts.register(session, unique_email(), PASSWORD, None, expired)

    with pytest.raises(ServiceError) as exc:
        await accounts.refresh(session, signed_in.refresh_token, CONFIG)
    assert exc.value.code is ErrorCode.INVALID_TOKEN


async def test_logout_revokes_the_refresh_token(session: AsyncSession) -> None:
    signed_in = await accounts.register(session, unique_email(), PASSWORD, None, CONFIG)
    other = await accounts.login(session, signed_in.user.email, PASSWORD, CONFIG)

    await accounts.logout(session, signed_in.refresh_token)

    with pytest.raises(ServiceError) as exc:
        await accounts.refresh(session, signed_in.refresh_token, CONFIG)
    assert exc.value.code is ErrorCode.INVALID_TOKEN
    # only that session ends: a token from another sign-in still works
    assert (await accounts.refresh(session, other.refresh_token, CONFIG)).user.id == signed_in.user.id
    # logging out twice (or with junk) is harmless
    await accounts.logout(session, signed_in.refresh_token)
    await accounts.logout(session, "junk")


async def test_ensure_admin_creates_an_admin(session: AsyncSession) -> None:
    email = unique_email()

    admin = await accounts.ensure_admin(session, email, PASSWORD)

    assert admin.role is Role.ADMIN
    assert (await accounts.login(session, email, PASSWORD, CONFIG)).user.id == admin.id


async def test_ensure_admin_promotes_and_repasswords_an_existing_account(session: AsyncSession) -> None:
    email = unique_email()
    customer = (await accounts.register(session, email, PASSWORD, None, CONFIG)).user
    new_password = "another long password"

    admin = await accounts.ensure_admin(session, email.upper(), new_password)

    assert admin.id == customer.id
    assert admin.role is Role.ADMIN
    signed_in = await accounts.login(session, email, new_password, CONFIG)
    assert decode_access_token(CONFIG.secret, signed_in.access_token).role == "ADMIN"
    with pytest.raises(ServiceError) as exc:
        await accounts.login(session, email, PASSWORD, CONFIG)
    assert exc.value.code is ErrorCode.INVALID_CREDENTIALS


async def test_ensure_admin_refuses_a_weak_password(session: AsyncSession) -> None:
    email = unique_email()
    await accounts.register(session, email, PASSWORD, None, CONFIG)

    with pytest.raises(ServiceError) as exc:
        await accounts.ensure_admin(session, email, "short")
    assert exc.value.code is ErrorCode.WEAK_PASSWORD
    user = await accounts.get_user_by_email(session, email)
    assert user is not None and user.role is Role.CUSTOMER


async def test_set_role(session: AsyncSession) -> None:
    user = (await accounts.register(session, unique_email(), PASSWORD, None, CONFIG)).user

    promoted = await accounts.set_role(session, user.id, Role.ADMIN)
    assert promoted.role is Role.ADMIN
    await session.refresh(user)
    assert user.role is Role.ADMIN

    await accounts.create_user(session, unique_email(), PASSWORD, None, Role.ADMIN)  # not the last admin
    demoted = await accounts.set_role(session, user.id, Role.CUSTOMER)
    assert demoted.role is Role.CUSTOMER


async def test_set_role_of_an_unknown_user(session: AsyncSession) -> None:
    with pytest.raises(NotFound) as exc:
        await accounts.set_role(session, uuid.uuid4(), Role.ADMIN)
    assert exc.value.code is ErrorCode.NOT_FOUND
    assert exc.value.field == "userId"


async def test_sign_up_does_not_reveal_a_taken_address(session: AsyncSession) -> None:
    email = unique_email()
    first = await accounts.sign_up(session, email, PASSWORD, None)
    again = await accounts.sign_up(session, email.upper(), "another long password", None)
    assert first.user is not None and first.email == email
    assert again.user is None and again.email == email  # no error: the caller emails the owner instead
    assert (await accounts.login(session, email, PASSWORD, CONFIG)).user.id == first.user.id


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("x" * 257, ErrorCode.TOO_LONG),
        ("Password123", ErrorCode.WEAK_PASSWORD),
        ("qwertyuiop", ErrorCode.WEAK_PASSWORD),
    ],
)
async def test_long_and_common_passwords_are_refused(session: AsyncSession, password: str, code: ErrorCode) -> None:
    with pytest.raises(ServiceError) as exc:
        await accounts.sign_up(session, unique_email(), password, None)
    assert exc.value.code is code and exc.value.field == "password"


async def test_the_last_admin_cannot_be_demoted_and_self_changes_need_confirmation(session: AsyncSession) -> None:
    from sqlalchemy import update

    from audiocity.models import User

    await session.execute(update(User).where(col(User.role) == Role.ADMIN).values(role=Role.CUSTOMER))
    admin = await accounts.create_user(session, unique_email(), PASSWORD, None, Role.ADMIN)

    with pytest.raises(ServiceError) as exc:
        await accounts.set_role(session, admin.id, Role.CUSTOMER, acting_user_id=admin.id)
    assert exc.value.code is ErrorCode.CONFIRMATION_REQUIRED and exc.value.field == "confirmSelf"
    with pytest.raises(ServiceError) as exc:
        await accounts.set_role(session, admin.id, Role.CUSTOMER, acting_user_id=admin.id, confirm=True)
    assert exc.value.code is ErrorCode.LAST_ADMIN
    assert admin.role is Role.ADMIN

    second = await accounts.create_user(session, unique_email(), PASSWORD, None, Role.ADMIN)
    demoted = await accounts.set_role(session, admin.id, Role.CUSTOMER, acting_user_id=admin.id, confirm=True)
    assert demoted.role is Role.CUSTOMER
    with pytest.raises(ServiceError) as exc:
        await accounts.set_role(session, second.id, Role.CUSTOMER, acting_user_id=admin.id)
    assert exc.value.code is ErrorCode.LAST_ADMIN
