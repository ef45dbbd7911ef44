"""Unsafe settings refuse to start; the generated secret key is private from the start."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from audiocity.config import Settings
from audiocity.config_checks import ConfigError, check_settings
from audiocity.payments import builtin_test_provider_enabled


@pytest.fixture(autouse=True)
def embedded_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks read the environment too: a suite run against external servers (DATABASE_URL,
    REDIS_URL) must not change what "the defaults" are here."""
    for name in ("DATABASE_URL", "DATABASE_READ_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_half_configured_stripe_refuses_to_start() -> None:
    with pytest.raises(ConfigError, match="STRIPE_WEBHOOK_SECRET"):
        check_settings(settings(STRIPE_API_KEY="sk_test_x"))
    check_settings(settings(STRIPE_API_KEY="sk_test_x", STRIPE_WEBHOOK_SECRET="whsec_x"))


@pytest.mark.parametrize("key", [None, "short", "changeme"])
def test_production_needs_a_strong_secret_key(key: str | None) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        check_settings(settings(ENVIRONMENT="production", SECRET_KEY=key))


def test_production_switches() -> None:
    prod = settings(ENVIRONMENT="production", SECRET_KEY="k" * 48, DATABASE_URL="postgresql://db/x")
    check_settings(prod)
    assert not prod.introspection and not builtin_test_provider_enabled(prod)
    assert settings(ENVIRONMENT="production", INTROSPECTION_ENABLED=True).introspection
    assert builtin_test_provider_enabled(settings())  # the all-embedded default
    assert not builtin_test_provider_enabled(settings(DATABASE_URL="postgresql://db/x"))
    assert builtin_test_provider_enabled(settings(DATABASE_URL="postgresql://db/x", TEST_PAYMENTS_ENABLED=True))


def test_generated_secret_key_is_private_and_stable(tmp_path: Path) -> None:
    first = settings(AUDIOCITY_DATA_DIR=tmp_path).resolved_secret_key()
    path = tmp_path / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert settings(AUDIOCITY_DATA_DIR=tmp_path).resolved_secret_key() == first
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temp file left behind
