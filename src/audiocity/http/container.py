"""How a plain route reaches the application container the app's lifespan built."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from audiocity.resources import AppResources


class NotReady(Exception):
    """The app has not finished starting (or has already stopped)."""


def resources(conn: HTTPConnection) -> AppResources:
    found: AppResources | None = getattr(conn.app.state, "resources", None)
    if found is None:
        raise NotReady
    return found
