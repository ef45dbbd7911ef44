"""Settings from the environment (and `.env`); the names in the table of DESIGN.md are fixed."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything is optional: with nothing set, the service runs on embedded defaults."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    host: str = Field("127.0.0.1", alias="HOST")
    port: int = Field(8000, alias="PORT")
    data_dir: Path = Field(Path("./data"), alias="AUDIOCITY_DATA_DIR")
    database_url: str | None = Field(None, alias="DATABASE_URL")
    database_read_url: str | None = Field(
        None,
        alias="DATABASE_READ_URL",
        description="A read replica for catalog reads by customers and guests (admins read the primary); "
        "the primary when unset.",
    )
    redis_url: str | None = Field(None, alias="REDIS_URL")
    secret_key: str | None = Field(None, alias="SECRET_KEY")
    public_url: str | None = Field(
        None, alias="PUBLIC_URL", description="Base URL clients reach; defaults to http://HOST:PORT."
    )

    gcs_bucket: str | None = Field(None, alias="GCS_BUCKET")
    gcs_prefix: str = Field("", alias="GCS_PREFIX")
    gcs_signer_email: str | None = Field(
        None,
        alias="GCS_SIGNER_EMAIL",
        description="Service account that signs download links through IAM signBlob; defaults to the credentials' own.",
    )
    gcs_iam_endpoint: str | None = Field(
        None,
        alias="GCS_IAM_ENDPOINT",
        description="Base URL of the IAM Credentials API; defaults to https://iamcredentials.googleapis.com.",
    )
    download_mode: Literal["signed", "proxy"] = Field(
        "signed",
        alias="DOWNLOAD_MODE",
        description="GCS downloads: 'signed' V4 URLs straight to the bucket, or 'proxy' through the app's /files/.",
    )

    openai_api_key: str | None = Field(None, alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(None, alias="OPENAI_BASE_URL")
    openai_transcription_model: str = Field("gpt-4o-transcribe", alias="OPENAI_TRANSCRIPTION_MODEL")
    openai_chat_model: str = Field("gpt-4o-mini", alias="OPENAI_CHAT_MODEL")
    openai_embedding_model: str = Field(
        "text-embedding-3-small",
        alias="OPENAI_EMBEDDING_MODEL",
        description="Embeds summaries, transcript passages and `semantic` queries when OPENAI_API_KEY is set; "
        "asked for 384 dimensions. Changing it re-embeds every book at its next transcription.",
    )

    stripe_api_key: str | None = Field(None, alias="STRIPE_API_KEY")
    stripe_webhook_secret: str | None = Field(None, alias="STRIPE_WEBHOOK_SECRET")
    stripe_api_base: str | None = Field(None, alias="STRIPE_API_BASE")
    test_payments_enabled: bool | None = Field(
        None,
        alias="TEST_PAYMENTS_ENABLED",
        description="Offer the TEST provider (paid at once); by default on only in the all-embedded set-up.",
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
    sign_in_redirect_url: str | None = Field(
        None,
        alias="SIGN_IN_REDIRECT_URL",
        description="Frontend page the Google redirect flow ends at, with `?code=` (or `?error=`); "
        "defaults to PUBLIC_URL/signed-in.",
    )
    sign_in_code_ttl_seconds: int = Field(
        120, alias="SIGN_IN_CODE_TTL_SECONDS", description="How long the one-time code of the redirect flow lives."
    )
    session_cookie_https_only: bool = Field(
        False, alias="SESSION_COOKIE_SECURE", description="Mark the sign-in flow's state cookie Secure (HTTPS)."
    )

    smtp_url: str | None = Field(None, alias="SMTP_URL")
    mail_from: str = Field(
        "AudioCity <no-reply@audiocity.localhost>",
        alias="MAIL_FROM",
        description="The From address of every email the shop sends.",
    )
    mail_max_retries: int = Field(
        10, alias="MAIL_MAX_RETRIES", description="Retries of a message after transient SMTP errors, with backoff."
    )
    password_reset_url: str | None = Field(
        None,
        alias="PASSWORD_RESET_URL",
        description="Link template for reset emails; `{token}` is replaced. Defaults to "
        "PUBLIC_URL/reset-password?token={token}.",
    )
    password_reset_ttl_seconds: int = Field(
        1800, alias="PASSWORD_RESET_TTL_SECONDS", description="How long a password reset link works."
    )
    library_url: str | None = Field(
        None, alias="LIBRARY_URL", description="Linked from receipts; defaults to PUBLIC_URL/library."
    )
    admin_alert_email: str | None = Field(
        None, alias="ADMIN_ALERT_EMAIL", description="Where failed-job alerts go; defaults to every admin."
    )

    access_token_ttl_seconds: int = Field(900, alias="ACCESS_TOKEN_TTL_SECONDS")
    refresh_token_ttl_seconds: int = Field(30 * 24 * 3600, alias="REFRESH_TOKEN_TTL_SECONDS")
    download_url_ttl_seconds: int = Field(900, alias="DOWNLOAD_URL_TTL_SECONDS")
    max_inline_upload_bytes: int = Field(
        100 * 1024 * 1024, alias="MAX_INLINE_UPLOAD_BYTES", description="Cap for uploadAudioFile (multipart)."
    )
    max_upload_bytes: int = Field(4 * 1024**3, alias="MAX_UPLOAD_BYTES", description="Largest audio file accepted.")
    max_files_per_book: int = Field(200, alias="MAX_FILES_PER_BOOK")
    max_cover_bytes: int = Field(
        10 * 1024 * 1024, alias="MAX_COVER_BYTES", description="Largest cover image accepted by uploadCover."
    )
    max_cover_pixels: int = Field(
        40_000_000,
        alias="MAX_COVER_PIXELS",
        description="Largest cover image in pixels (width x height), checked before decoding: no decompression bombs.",
    )
    cover_sizes: str = Field(
        "160,320,640",
        alias="COVER_SIZES",
        description="Widths in pixels of the cover thumbnails (WebP), comma-separated.",
    )
    cover_max_edge: int = Field(
        2000,
        alias="COVER_MAX_EDGE",
        description="The stored full-size cover is scaled down to at most this many pixels a side.",
    )
    cover_url_ttl_seconds: int = Field(
        7 * 24 * 3600,
        alias="COVER_URL_TTL_SECONDS",
        description="Lifetime of signed cover links (at most 7 days on GCS); "
        "a link stays the same for half of it, so caches can keep it.",
    )
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
    preview_seconds: float = Field(
        60.0,
        alias="PREVIEW_SECONDS",
        description="Length of a book's public sample clip when an admin has not chosen a range (`setPreview`); "
        "never more than a quarter of the book.",
    )
    preview_bit_rate: int = Field(
        48_000, alias="PREVIEW_BIT_RATE", description="Bits per second of the sample clip (mono AAC)."
    )
    chapter_min_silence_seconds: float = Field(
        1.5,
        alias="CHAPTER_MIN_SILENCE_SECONDS",
        description="A pause at least this long before a sentence marks a possible chapter start.",
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
    ai_request_max_attempts: int = Field(
        5,
        alias="AI_REQUEST_MAX_ATTEMPTS",
        description="Tries per AI request (chunk or summary) before the job fails; 429/5xx/timeouts are retried.",
    )
    ai_request_min_backoff_ms: int = Field(
        2_000, alias="AI_REQUEST_MIN_BACKOFF_MS", description="Wait after a request's first failure; doubles per try."
    )
    ai_request_max_backoff_ms: int = Field(
        120_000, alias="AI_REQUEST_MAX_BACKOFF_MS", description="The longest wait between two tries of one AI request."
    )
    ai_rate_limit_cooldown_seconds: float = Field(
        60.0,
        alias="AI_RATE_LIMIT_COOLDOWN_SECONDS",
        description="After a 429, concurrency towards the provider stays reduced this long (all workers, via Redis).",
    )
    outbox_relay_interval_seconds: float = Field(
        1.0, alias="OUTBOX_RELAY_INTERVAL_SECONDS", description="How often the relay sends unsent outbox messages."
    )
    job_max_retries: int = Field(
        3, alias="JOB_MAX_RETRIES", description="Redeliveries of a job after a lost database or Redis (not AI errors)."
    )
    job_retry_min_backoff_ms: int = Field(
        5_000, alias="JOB_RETRY_MIN_BACKOFF_MS", description="First retry delay; doubles per retry, with jitter."
    )
    job_retry_max_backoff_ms: int = Field(600_000, alias="JOB_RETRY_MAX_BACKOFF_MS")
    openai_timeout_seconds: float = Field(
        300.0, alias="OPENAI_TIMEOUT_SECONDS", description="Per request; a 10-minute chunk can take a minute or two."
    )
    embedding_batch_size: int = Field(
        64,
        alias="EMBEDDING_BATCH_SIZE",
        description="Transcript passages embedded per request (and per progress update) in the embedding stage.",
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
    cors_origins: str = Field(
        "",
        alias="CORS_ORIGINS",
        description="Comma-separated origins (e.g. https://shop.example) whose pages may call the API; `*` for any.",
    )
    cors_max_age: int = Field(600, alias="CORS_MAX_AGE", description="Seconds browsers may cache a preflight.")
    allowed_operations_only: bool = Field(
        False,
        alias="ALLOWED_OPERATIONS_ONLY",
        description="Run only operations registered with `audiocity operations register` (production frontends).",
    )
    ws_max_sockets_per_client: int = Field(
        20,
        alias="WS_MAX_SOCKETS_PER_CLIENT",
        description="Open subscription sockets per client address, per API process; more are closed with 4429.",
    )
    ws_idle_anonymous_seconds: float = Field(
        30.0,
        alias="WS_IDLE_ANONYMOUS_SECONDS",
        description="An anonymous socket running no operation for this long is closed with 4408.",
    )
    ws_max_subscriptions_per_socket: int = Field(
        20,
        alias="WS_MAX_SUBSCRIPTIONS_PER_SOCKET",
        description="Operations running at once on one socket; another gets a TOO_MANY_SUBSCRIPTIONS error.",
    )
    ws_auth_recheck_seconds: float = Field(
        5.0,
        alias="WS_AUTH_RECHECK_SECONDS",
        description="How often a signed-in socket reads its account again (a demoted admin, a deleted account).",
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
    log_format: str = Field(
        "text", alias="LOG_FORMAT", description="`json` (one object per line; the image's default) or `text`."
    )
    worker_metrics_port: int = Field(
        9191, alias="WORKER_METRICS_PORT", description="Where `audiocity worker` serves /metrics; 0 turns it off."
    )
    worker_metrics_host: str = Field("0.0.0.0", alias="WORKER_METRICS_HOST")
    prometheus_multiproc_dir: Path | None = Field(
        None,
        alias="PROMETHEUS_MULTIPROC_DIR",
        description="Shared metrics files when several processes run on one host (emptied at start).",
    )
    otel_exporter_otlp_endpoint: str | None = Field(
        None,
        alias="OTEL_EXPORTER_OTLP_ENDPOINT",
        description="Export traces over OTLP/HTTP there (e.g. http://collector:4318); off when unset.",
    )
    otel_service_name: str | None = Field(
        None, alias="OTEL_SERVICE_NAME", description="Defaults to audiocity-api / audiocity-worker."
    )
    shutdown_grace_seconds: int = Field(
        25,
        alias="SHUTDOWN_GRACE_SECONDS",
        description="On SIGTERM, how long requests and jobs in flight get to finish.",
    )

    def secret_values(self) -> list[str | None]:
        """What logs must never show (the log filter also scrubs anything shaped like a token)."""
        return [
            self.secret_key,
            self.openai_api_key,
            self.stripe_api_key,
            self.stripe_webhook_secret,
            self.google_client_secret,
        ]

    environment: str = Field(
        "development",
        alias="ENVIRONMENT",
        description="`production` turns off GraphiQL and introspection and insists on a strong SECRET_KEY.",
    )
    introspection_enabled: bool | None = Field(
        None, alias="INTROSPECTION_ENABLED", description="Defaults to on, and off in production."
    )
    metrics_token: str | None = Field(
        None,
        alias="METRICS_TOKEN",
        description="Bearer token for /metrics; in production /metrics answers 404 without one.",
    )
    # Request limits: enforced before any resolver runs.
    max_request_bytes: int = Field(
        1024 * 1024, alias="MAX_REQUEST_BYTES", description="Largest non-multipart request body."
    )
    max_query_tokens: int = Field(
        5_000,
        alias="MAX_QUERY_TOKENS",
        description="Tokens (names, punctuation, values) one GraphQL document may have.",
    )
    max_query_depth: int = Field(
        12, alias="MAX_QUERY_DEPTH", description="How deeply a GraphQL document may nest selections."
    )
    max_query_aliases: int = Field(30, alias="MAX_QUERY_ALIASES", description="Aliases one GraphQL document may use.")
    max_root_fields: int = Field(20, alias="MAX_ROOT_FIELDS", description="Top-level fields per operation.")
    max_query_cost: int = Field(
        1_000,
        alias="MAX_QUERY_COST",
        description="Objects cost 1, scalars 0, a connection 2 plus `first` times its items' cost.",
    )
    parse_in_thread_chars: int = Field(
        2_000,
        alias="PARSE_IN_THREAD_CHARS",
        description="Documents longer than this are parsed and validated off the event loop.",
    )
    catalog_listen: bool = Field(
        True,
        alias="CATALOG_LISTEN",
        description="Keep the catalog version in memory (PostgreSQL LISTEN/NOTIFY), not a query per cached answer.",
    )
    catalog_listen_retry_seconds: float = Field(
        1.0,
        alias="CATALOG_LISTEN_RETRY_SECONDS",
        description="Pause before the catalog listener reconnects; meanwhile each cached answer asks the database.",
    )
    fast_path: bool = Field(
        True,
        alias="FAST_PATH",
        description="Answer plain catalog pages (`audiobooks`) from a compiled plan, not field-by-field execution.",
    )
    document_cache_size: int = Field(
        512, alias="DOCUMENT_CACHE_SIZE", description="Parsed and validated documents kept per process."
    )
    # Rate limits, "N/period" (s, m or h); "0/1" turns one off. Shared by all processes through Redis.
    rate_limit_operations_per_client: str = Field(
        "600/1m",
        alias="RATE_LIMIT_OPERATIONS_PER_CLIENT",
        description='GraphQL operations per client address ("count/window", e.g. 600/1m).',
    )
    rate_limit_cost_per_client: str = Field(
        "50000/1m", alias="RATE_LIMIT_COST_PER_CLIENT", description="Query cost points per client address."
    )
    rate_limit_login_per_account: str = Field(
        "5/5m", alias="RATE_LIMIT_LOGIN_PER_ACCOUNT", description="Sign-in attempts per account."
    )
    rate_limit_login_per_client: str = Field(
        "30/5m", alias="RATE_LIMIT_LOGIN_PER_CLIENT", description="Sign-in attempts per client address."
    )
    rate_limit_register_per_client: str = Field(
        "10/1h", alias="RATE_LIMIT_REGISTER_PER_CLIENT", description="Sign-ups per client address."
    )
    rate_limit_password_reset_per_account: str = Field(
        "3/1h", alias="RATE_LIMIT_PASSWORD_RESET_PER_ACCOUNT", description="Password reset emails per address."
    )
    rate_limit_password_reset_per_client: str = Field(
        "10/1h", alias="RATE_LIMIT_PASSWORD_RESET_PER_CLIENT", description="Password reset requests per client address."
    )
    rate_limit_checkout_per_account: str = Field(
        "10/1m", alias="RATE_LIMIT_CHECKOUT_PER_ACCOUNT", description="Checkouts per account."
    )
    rate_limit_checkout_per_client: str = Field(
        "30/1m", alias="RATE_LIMIT_CHECKOUT_PER_CLIENT", description="Checkouts per client address."
    )
    rate_limit_guest_cart_per_client: str = Field(
        "30/1h", alias="RATE_LIMIT_GUEST_CART_PER_CLIENT", description="Guest carts created per client address."
    )
    trust_forwarded_for: bool = Field(
        False,
        alias="TRUST_FORWARDED_FOR",
        description="Take the client address from X-Forwarded-For (only behind a proxy that sets it).",
    )

    @property
    def production(self) -> bool:
        return self.environment.strip().lower() == "production"

    @property
    def introspection(self) -> bool:
        return self.introspection_enabled if self.introspection_enabled is not None else not self.production

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def google_sign_in_enabled(self) -> bool:
        return bool(self.google_client_id)

    @property
    def resolved_password_reset_url(self) -> str:
        return self.password_reset_url or f"{self.base_url}/reset-password?token={{token}}"

    @property
    def resolved_sign_in_redirect_url(self) -> str:
        return self.sign_in_redirect_url or f"{self.base_url}/signed-in"

    @property
    def resolved_library_url(self) -> str:
        return self.library_url or f"{self.base_url}/library"

    @property
    def run_in_process_worker(self) -> bool:
        if self.in_process_worker is not None:
            return self.in_process_worker
        return self.redis_url is None

    def resolved_secret_key(self) -> str:
        """The configured key, or one generated once and kept in the data dir so restarts keep tokens valid.

        The file is created with mode 0600 and written in one step (a private temp file renamed into
        place), so no other user can read it and no process ever reads a half-written key.
        """
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        tmp = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key)
        try:
            os.link(tmp, path)  # fails if another process won the race: then use its key
        except FileExistsError:
            return path.read_text().strip()
        finally:
            tmp.unlink()
        return key


@lru_cache
def get_settings() -> Settings:
    return Settings()
