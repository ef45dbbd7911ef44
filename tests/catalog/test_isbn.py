"""ISBN checks: both forms validated by check digit, stored as ISBN-13."""

from __future__ import annotations

import pytest

from audiocity.services.errors import ServiceError
from audiocity.services.isbn import normalize_isbn


@pytest.mark.parametrize(
    ("raw", "isbn13"),
    [
        ("0-306-40615-2", "9780306406157"),
        ("080442957X", "9780804429573"),
        ("0 8044 2957 x", "9780804429573"),
        ("978-0-306-40615-7", "9780306406157"),
        ("979-10-90636-07-1", "9791090636071"),
    ],
)
def test_valid_isbns_become_isbn13(raw: str, isbn13: str) -> None:
    assert normalize_isbn(raw) == isbn13


@pytest.mark.parametrize(
    "raw", ["0-306-40615-3", "9780306406158", "977-0-306-40615-7", "X306406152", "12345", "", "978030640615A"]
)
def test_invalid_isbns_are_refused(raw: str) -> None:
    with pytest.raises(ServiceError) as refused:
        normalize_isbn(raw)
    assert (refused.value.code, refused.value.field) == ("INVALID", "isbn")
