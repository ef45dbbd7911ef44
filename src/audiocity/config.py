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
    test_payments_enabled: bool | None = Field(
        None,
        alias="TEST_PAYMENTS_ENABLED",
        description="Offer the TEST provider (paid at once); defaults to on only while Stripe is not configured.",
    )
    checkout_success_url: str | None = Field(
        None, alias="CHECKOUT_SUCCESS_URL", description="Where Stripe Checkout returns after payment."
    )
    checkout_cancel_url: str | None = Field(
        None, alias="CHECKOUT_CANCEL_URL", description="Where Stripe Checkout returns when the buyer gives up."
    )
    order_pending_ttl_seconds: int = Field(
        3600, alias="ORDER_PENDING_TTL_SECONDS", description="Unpaid orders are cancelled after this long."
    )

    google_client_id: str | None = Field(None, alias="GOOGLE_CLIENT_ID")
    google_client_secret: str | None = Field(None, alias="GOOGLE_CLIENT_SECRET")
    oidc_discovery_url: str = Field(
        "https://accounts.google.com/.well-known/openid-configuration", alias="OIDC_DISCOVERY_URL"
    )
    smtp_url: str | None = Field(None, alias="SMTP_URL")

    access_token_ttl_seconds: int = Field(900, alias="ACCESS_TOKEN_TTL_SECONDS")
    refresh_token_ttl_seconds: int = Field(30 * 24 * 3600, alias="REFRESH_TOKEN_TTL_SECONDS")
    download_url_ttl_seconds: int = Field(900, alias="DOWNLOAD_URL_TTL_SECONDS")
    max_inline_upload_bytes: int = Field(
        100 * 1024 * 1024, alias="MAX_INLINE_UPLOAD_BYTES", description="Cap for uploadAudioFile (multipart)."
    )
    max_upload_bytes: int = Field(4 * 1024**3, alias="MAX_UPLOAD_BYTES", description="Largest audio file accepted.")
    max_files_per_book: int = Field(200, alias="MAX_FILES_PER_BOOK")
    allowed_audio_containers: str = Field(
        "mp3,mp4,m4a,ogg,flac,wav,aac,webm,matroska",
        alias="ALLOWED_AUDIO_CONTAINERS",
        description="Comma-separated ffmpeg demuxer names.",
    )
    allowed_audio_codecs: str = Field(
        "mp3,aac,opus,vorbis,flac,alac,pcm_s16le,pcm_s24le,pcm_s32le,pcm_f32le",
        alias="ALLOWED_AUDIO_CODECS",
        description="Comma-separated ffmpeg codec names.",
    )
    upload_session_ttl_seconds: int = Field(
        24 * 3600, alias="UPLOAD_SESSION_TTL_SECONDS", description="startUpload sessions expire after this long."
    )
    upload_chunk_bytes: int = Field(
        8 * 1024 * 1024, alias="UPLOAD_CHUNK_BYTES", description="Suggested chunk size (a multiple of 256 KiB)."
    )
    upload_cleanup_interval_seconds: int = Field(
        300, alias="UPLOAD_CLEANUP_INTERVAL_SECONDS", description="How often workers expire abandoned uploads."
    )
    upload_retention_seconds: int = Field(
        7 * 24 * 3600,
        alias="UPLOAD_RETENTION_SECONDS",
        description="Closed upload sessions are kept this long after expiry (GCS session URLs live a week).",
    )
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
    job_retry_min_backoff_ms: int = Field(
        5_000, alias="JOB_RETRY_MIN_BACKOFF_MS", description="First retry delay; doubles per retry, with jitter."
    )
    job_retry_max_backoff_ms: int = Field(600_000, alias="JOB_RETRY_MAX_BACKOFF_MS")
    openai_timeout_seconds: float = Field(
        300.0, alias="OPENAI_TIMEOUT_SECONDS", description="Per request; a 10-minute chunk can take a minute or two."
    )
    summary_section_chars: int = Field(
        12_000, alias="SUMMARY_SECTION_CHARS", description="The summary and tags come from this much of the opening."
    )
    dramatiq_heartbeat_timeout_ms: int = Field(
        60_000,
        alias="DRAMATIQ_HEARTBEAT_TIMEOUT_MS",
        description="A worker silent this long is dead: its unacknowledged messages go back to the queue.",
    )
    dramatiq_maintenance_chance: int = Field(
        10_000,
        alias="DRAMATIQ_MAINTENANCE_CHANCE",
        description="Per million broker calls, how often to look for dead workers' messages (1% by default).",
    )
    ws_keep_alive_seconds: float = Field(
        15.0,
        alias="WS_KEEP_ALIVE_SECONDS",
        description="Protocol-level pings on subscription sockets; 0 turns them off.",
    )
    subscription_queue_size: int = Field(
        256,
        alias="SUBSCRIPTION_QUEUE_SIZE",
        description="Events buffered per subscriber before it is dropped as too slow.",
    )
    web_concurrency: int = Field(
        1, alias="WEB_CONCURRENCY", description="uvicorn worker processes for `serve` (`--workers` overrides)."
    )
    response_cache: bool = Field(
        True,
        alias="RESPONSE_CACHE",
        description="Cache anonymous catalog answers in-process and in Redis, keyed by the catalog version.",
    )
    response_cache_entries: int = Field(512, alias="RESPONSE_CACHE_ENTRIES", description="Answers kept per process.")
    response_cache_ttl_seconds: int = Field(
        3600, alias="RESPONSE_CACHE_TTL_SECONDS", description="How long Redis keeps a cached answer or persisted query."
    )
    public_max_age_seconds: int = Field(
        0,
        alias="PUBLIC_MAX_AGE_SECONDS",
        description="`Cache-Control: max-age` on cacheable GET answers; 0 makes CDNs revalidate (ETag, 304).",
    )
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
