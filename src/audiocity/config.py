"""Settings from the environment (and `.env`); the names in the table of DESIGN.md are fixed."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything is optional: with nothing set, the service runs on embedded defaults."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    host: str = Field("127.0.0.1", alias="HOST")
    port: int = Field(8000, alias="PORT")
    data_dir: Path = Field(Path("./data"), alias="AUDIOCITY_DATA_DIR")
    database_url: str | None = Field(None, alias="DATABASE_URL")
    redis_url: str | None = Field(None, alias="REDIS_URL")
    secret_key: str | None = Field(None, alias="SECRET_KEY")
    public_url: str | None = Field(
        None, alias="PUBLIC_URL", description="Base URL clients reach; defaults to http://HOST:PORT."
    )

    gcs_bucket: str | None = Field(None, alias="GCS_BUCKET")
    gcs_prefix: str = Field("", alias="GCS_PREFIX")

    openai_api_key: str | None = Field(None, alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(None, alias="OPENAI_BASE_URL")
    openai_transcription_model: str = Field("gpt-4o-transcribe", alias="OPENAI_TRANSCRIPTION_MODEL")
    openai_chat_model: str = Field("gpt-4o-mini", alias="OPENAI_CHAT_MODEL")

    stripe_api_key: str | None = Field(None, alias="STRIPE_API_KEY")
    stripe_webhook_secret: str | None = Field(None, alias="STRIPE_WEBHOOK_SECRET")
    stripe_api_base: str | None = Field(None, alias="STRIPE_API_BASE")

    google_client_id: str | None = Field(None, alias="GOOGLE_CLIENT_ID")
    google_client_secret: str | None = Field(None, alias="GOOGLE_CLIENT_SECRET")
    oidc_discovery_url: str = Field(
        "https://accounts.google.com/.well-known/openid-configuration", alias="OIDC_DISCOVERY_URL"
    )
    smtp_url: str | None = Field(None, alias="SMTP_URL")

    access_token_ttl_seconds: int = Field(900, alias="ACCESS_TOKEN_TTL_SECONDS")
    refresh_token_ttl_seconds: int = Field(30 * 24 * 3600, alias="REFRESH_TOKEN_TTL_SECONDS")
    download_url_ttl_seconds: int = Field(900, alias="DOWNLOAD_URL_TTL_SECONDS")
    max_inline_upload_bytes: int = Field(100 * 1024 * 1024, alias="MAX_INLINE_UPLOAD_BYTES")
    chunk_seconds: int = Field(600, alias="TRANSCRIPTION_CHUNK_SECONDS")
    transcription_concurrency: int = Field(4, alias="TRANSCRIPTION_CONCURRENCY")
    local_whisper_threads: int = Field(2, alias="LOCAL_WHISPER_THREADS")
    worker_threads: int = Field(2, alias="WORKER_THREADS")
    in_process_worker: bool | None = Field(
        None,
        alias="IN_PROCESS_WORKER",
        description="Run actors inside `serve`; defaults to on when REDIS_URL is unset.",
    )
    job_max_retries: int = Field(3, alias="JOB_MAX_RETRIES")
    log_level: str = Field("INFO", alias="LOG_LEVEL")

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def run_in_process_worker(self) -> bool:
        if self.in_process_worker is not None:
            return self.in_process_worker
        return self.redis_url is None

    def resolved_secret_key(self) -> str:
        """The configured key, or one generated once and kept in the data dir so restarts keep tokens valid."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


@lru_cache
def get_settings() -> Settings:
    return Settings()
