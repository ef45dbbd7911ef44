"""Errors a caller can act on; GraphQL turns them into `UserError`s."""

from __future__ import annotations

import enum


class ErrorCode(enum.StrEnum):
    INVALID = "INVALID"
    NOT_FOUND = "NOT_FOUND"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    WEAK_PASSWORD = "WEAK_PASSWORD"
    INVALID_TOKEN = "INVALID_TOKEN"
    TOKEN_REUSED = "TOKEN_REUSED"
    EMAIL_NOT_VERIFIED = "EMAIL_NOT_VERIFIED"
    IDENTITY_CONFLICT = "IDENTITY_CONFLICT"
    SIGN_IN_UNAVAILABLE = "SIGN_IN_UNAVAILABLE"
    NO_PASSWORD = "NO_PASSWORD"
    NOT_AUDIO = "NOT_AUDIO"
    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    UNSUPPORTED_FORMAT = "UNSUPPORTED_FORMAT"
    TOO_MANY_FILES = "TOO_MANY_FILES"
    SIZE_MISMATCH = "SIZE_MISMATCH"
    CHECKSUM_MISMATCH = "CHECKSUM_MISMATCH"
    UPLOAD_INCOMPLETE = "UPLOAD_INCOMPLETE"
    UPLOAD_EXPIRED = "UPLOAD_EXPIRED"
    UPLOAD_CLOSED = "UPLOAD_CLOSED"
    UPLOAD_NOT_OWNED = "UPLOAD_NOT_OWNED"
    EMPTY_CART = "EMPTY_CART"
    ALREADY_IN_CART = "ALREADY_IN_CART"
    ALREADY_OWNED = "ALREADY_OWNED"
    NOT_PUBLISHED = "NOT_PUBLISHED"
    UNSUPPORTED_PROVIDER = "UNSUPPORTED_PROVIDER"
    PAYMENT_PROVIDER_ERROR = "PAYMENT_PROVIDER_ERROR"
    NOT_REFUNDABLE = "NOT_REFUNDABLE"
    JOB_RUNNING = "JOB_RUNNING"
    NO_AUDIO_FILES = "NO_AUDIO_FILES"
    NOT_OWNED = "NOT_OWNED"
    RATE_LIMITED = "RATE_LIMITED"
    LAST_ADMIN = "LAST_ADMIN"
    CONFIRMATION_REQUIRED = "CONFIRMATION_REQUIRED"
    HAS_ORDERS = "HAS_ORDERS"
    TOO_LONG = "TOO_LONG"
    DUPLICATE = "DUPLICATE"


class ServiceError(Exception):
    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class NotFound(ServiceError):
    def __init__(self, what: str, field: str | None = "id") -> None:
        super().__init__(ErrorCode.NOT_FOUND, f"{what} not found.", field)
