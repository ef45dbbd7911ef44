"""An app factory for running under uvicorn directly (`uvicorn audiocity.asgi:app --factory --workers N`).

Each uvicorn worker process calls it: logging (JSON or text, scrubbed) is set up from the settings
first, then the app is built. `audiocity serve` does the same in one process.
"""

from __future__ import annotations

from starlette.applications import Starlette

from audiocity.app import create_app
from audiocity.config import get_settings
from audiocity.logs import setup_logging


def app() -> Starlette:
    settings = get_settings()
    setup_logging(settings.log_level, settings.log_format, settings.secret_values())
    return create_app(settings)
