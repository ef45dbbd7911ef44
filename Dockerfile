# AudioCity: one image for the API (`audiocity serve`, the default) and the workers (`audiocity worker`).
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never

RUN pip install --no-cache-dir "uv==0.13.8"

WORKDIR /app

# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project

# Then the project itself. Migrations and alembic.ini are read from the source tree at run time.
COPY src/ src/
COPY workers/ workers/
COPY migrations/ migrations/
COPY alembic.ini ./
RUN uv sync --frozen --no-dev

RUN useradd --create-home --uid 10001 --user-group audiocity \
    && mkdir -p /app/data \
    && chown audiocity:audiocity /app/data
USER audiocity

ENV PATH=/app/.venv/bin:$PATH \
    AUDIOCITY_DATA_DIR=/app/data \
    HOST=0.0.0.0 \
    PORT=8000

EXPOSE 8000
CMD ["audiocity", "serve"]
