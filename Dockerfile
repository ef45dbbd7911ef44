# AudioCity: one image for the API (`audiocity serve`, the default) and the workers (`audiocity worker`).
# Production shape: no embedded PostgreSQL/Redis, no local Whisper weights, no emulator; DATABASE_URL,
# REDIS_URL and OPENAI_API_KEY point at real services. Build: docker build -t audiocity .

# -- build: resolve and install into /app/.venv with uv -------------------------------------------
FROM python:3.11-slim AS build

COPY --from=ghcr.io/astral-sh/uv:0.13.8 /uv /uvx /bin/

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv

WORKDIR /app

# Dependencies first, so code changes do not reinstall them. Only the `tracing` extra: the
# `embedded` and `local-ai` extras stay out of the production image.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --extra tracing --no-install-project

# Then the project itself; migrations and alembic.ini are read from the source tree at run time.
COPY src/ src/
COPY workers/ workers/
COPY migrations/ migrations/
COPY alembic.ini ./
RUN uv sync --frozen --no-dev --extra tracing

# -- runtime: the virtualenv and the source tree; no uv, no build tools ---------------------------
FROM python:3.11-slim AS runtime

RUN useradd --create-home --uid 10001 --user-group audiocity \
    && mkdir -p /app/data /tmp/prometheus \
    && chown audiocity:audiocity /app/data /tmp/prometheus

WORKDIR /app
COPY --from=build /app /app

ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    AUDIOCITY_DATA_DIR=/app/data \
    LOG_FORMAT=json \
    HOST=0.0.0.0 \
    PORT=8000

USER audiocity
EXPOSE 8000 9191

# The API answers /healthz; a worker container overrides this with its metrics port (compose does).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]

# uvicorn stops accepting on SIGTERM and lets requests in flight finish (SHUTDOWN_GRACE_SECONDS).
STOPSIGNAL SIGTERM
CMD ["audiocity", "serve"]
