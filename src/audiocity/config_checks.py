"""Refuse to start on settings that would be unsafe on the open internet, with a message that says why."""

from __future__ import annotations

from audiocity.config import Settings

MIN_SECRET_KEY_LENGTH = 32
# Placeholders people copy from examples; never acceptable in production.
WEAK_SECRET_KEYS = frozenset({"secret", "changeme", "change-me", "change_me", "dev", "development", "test", "default"})


class ConfigError(RuntimeError):
    """Raised at start-up; the CLI prints the message and exits."""


def check_settings(settings: Settings) -> None:
    problems: list[str] = []
    if bool(settings.stripe_api_key) != bool(settings.stripe_webhook_secret):
        problems.append(
            "Stripe is half configured: set both STRIPE_API_KEY and STRIPE_WEBHOOK_SECRET (or neither); "
            "without the webhook secret paid orders would never be fulfilled."
        )
    if settings.production:
        key = settings.secret_key or ""
        if not key:
            problems.append("ENVIRONMENT=production needs SECRET_KEY set explicitly, the same in every process.")
        elif len(key) < MIN_SECRET_KEY_LENGTH or key.strip().lower() in WEAK_SECRET_KEYS:
            problems.append(
                f"SECRET_KEY is too weak for production: use at least {MIN_SECRET_KEY_LENGTH} random characters "
                "(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')."
            )
    if problems:
        raise ConfigError(" ".join(problems))
