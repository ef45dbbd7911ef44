import dataclasses

import pytest

from audiocity.storage.signing import (
    DownloadGrant,
    content_disposition,
    is_expired,
    query_params,
    sign,
    verify,
)

SECRET = "test-secret"
NOW = 1_700_000_000


def make_grant(**changes: object) -> DownloadGrant:
    grant = DownloadGrant(
        key="books/1/part 1.mp3",
        expires_at=NOW + 60,
        user_id="user-1",
        filename="Part 1.mp3",
        content_type="audio/mpeg",
    )
    return dataclasses.replace(grant, **changes)  # type: ignore[arg-type]


def test_verify_accepts_what_sign_made() -> None:
    grant = make_grant()
    assert verify(SECRET, grant.key, query_params(SECRET, grant), now=NOW) == grant


def test_empty_user_means_none() -> None:
    grant = make_grant(user_id=None)
    params = query_params(SECRET, grant)
    assert params["u"] == ""
    assert verify(SECRET, grant.key, params, now=NOW) == grant


@pytest.mark.parametrize(
    ("field", "value"),
    [("exp", str(NOW + 3600)), ("u", "user-2"), ("fn", "Other.mp3"), ("ct", "text/html"), ("sig", "0" * 64)],
)
def test_any_tampered_field_is_refused(field: str, value: str) -> None:
    grant = make_grant()
    params = query_params(SECRET, grant) | {field: value}
    assert verify(SECRET, grant.key, params, now=NOW) is None


def test_other_key_or_secret_is_refused() -> None:
    grant = make_grant()
    params = query_params(SECRET, grant)
    assert verify(SECRET, "books/1/part 2.mp3", params, now=NOW) is None
    assert verify("other-secret", grant.key, params, now=NOW) is None


def test_expiry() -> None:
    grant = make_grant()
    params = query_params(SECRET, grant)
    assert verify(SECRET, grant.key, params, now=grant.expires_at - 1) == grant
    assert verify(SECRET, grant.key, params, now=grant.expires_at) is None
    assert is_expired(params, now=grant.expires_at)
    assert not is_expired(params, now=grant.expires_at - 1)


@pytest.mark.parametrize("missing", ["exp", "u", "fn", "ct", "sig"])
def test_missing_or_malformed_params_are_refused(missing: str) -> None:
    grant = make_grant()
    params = query_params(SECRET, grant)
    del params[missing]  # an absent `u` reads as "no user", which the signature for user-1 rejects
    assert verify(SECRET, grant.key, params, now=NOW) is None
    assert verify(SECRET, grant.key, query_params(SECRET, grant) | {"exp": "soon"}, now=NOW) is None


def test_fields_are_joined_unambiguously() -> None:
    first = make_grant(filename="a.mp3", content_type="audio/mpeg")
    second = make_grant(filename="a.mp3audio/", content_type="mpeg")
    third = make_grant(filename='a.mp3","audio/mpeg', content_type="x/y")
    assert len({sign(SECRET, first), sign(SECRET, second), sign(SECRET, third)}) == 3


def test_content_disposition_ascii() -> None:
    assert content_disposition("Part 1.mp3") == "attachment; filename=\"Part 1.mp3\"; filename*=UTF-8''Part%201.mp3"


def test_content_disposition_unicode_has_ascii_fallback() -> None:
    value = content_disposition("Été à Paris \u2013 01.mp3")
    assert value.startswith('attachment; filename="Ete a Paris  01.mp3"; ')
    assert value.endswith("filename*=UTF-8''%C3%89t%C3%A9%20%C3%A0%20Paris%20%E2%80%93%2001.mp3")
    assert 'filename="download.mp3"' in content_disposition("日本語.mp3")


def test_content_disposition_cannot_break_the_header() -> None:
    value = content_disposition('a"b\\c/d\r\nSet-Cookie: x=1;.mp3')
    assert "\r" not in value and "\n" not in value
    fallback = value.split('filename="', 1)[1].split('"', 1)[0]
    assert fallback == "a_b_c_dSet-Cookie: x=1;.mp3"
    assert content_disposition("") == "attachment; filename=\"download\"; filename*=UTF-8''download"
