"""ISBNs: check an ISBN-10 or ISBN-13 (hyphens and spaces allowed) and store it as ISBN-13 digits."""

from __future__ import annotations

from audiocity.services.errors import ErrorCode, ServiceError


def _isbn13_check_digit(first12: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def _isbn10_valid(isbn: str) -> bool:
    if not (isbn[:9].isdigit() and (isbn[9].isdigit() or isbn[9] == "X")):
        return False
    total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(isbn))
    return total % 11 == 0


def normalize_isbn(raw: str, field: str = "isbn") -> str:
    """The ISBN-13 for `raw`; a `ServiceError` when it is neither a valid ISBN-10 nor ISBN-13."""
    compact = "".join(c for c in raw.strip().upper() if c not in "- ")
    if len(compact) == 10 and _isbn10_valid(compact):
        body = "978" + compact[:9]
        return body + _isbn13_check_digit(body)
    digits13 = len(compact) == 13 and compact.isdigit() and compact[:3] in ("978", "979")
    if digits13 and _isbn13_check_digit(compact[:12]) == compact[12]:
        return compact
    raise ServiceError(ErrorCode.INVALID, "Not a valid ISBN-10 or ISBN-13 (check digit or length is wrong).", field)
