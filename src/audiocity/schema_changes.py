"""Breaking-change check: `schema.graphql` against the last released schema, excused only by the changelog.

graphql-core's `find_breaking_changes` lists what would break an existing client (a removed field, a
changed type, a new required argument...). Each one must be named, as `` `Type.field` `` (or
`` `Type` ``), in the `## Unreleased` section of CHANGELOG.md; anything else fails the check. On a
release, copy `schema.graphql` to `schema.released.graphql` and give the Unreleased section a version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from graphql import build_schema, find_breaking_changes

_COORDINATE = re.compile(r"\b([A-Z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\b")
_UNRELEASED = re.compile(r"^## Unreleased\s*$(.*?)(?=^## |\Z)", re.M | re.S)


@dataclass(frozen=True)
class Change:
    coordinate: str
    description: str


def coordinate_of(description: str) -> str:
    """`Job.kind` from "Field Job.kind changed type ...", `Query.me` from "Query.me was removed."."""
    words = [m.group(1) for m in _COORDINATE.finditer(description) if m.group(1) not in {"Field", "Type", "Argument"}]
    dotted = [w for w in words if "." in w]
    return (dotted or words or [description])[0]


def breaking_changes(released_sdl: str, current_sdl: str) -> list[Change]:
    changes = find_breaking_changes(build_schema(released_sdl), build_schema(current_sdl))
    return [Change(coordinate_of(c.description), c.description) for c in changes]


def unreleased_notes(changelog: str) -> str:
    match = _UNRELEASED.search(changelog)
    return match.group(1) if match else ""


def unrecorded(released_sdl: str, current_sdl: str, changelog: str) -> list[Change]:
    """Breaking changes the changelog's Unreleased section does not name."""
    notes = unreleased_notes(changelog)
    return [c for c in breaking_changes(released_sdl, current_sdl) if f"`{c.coordinate}`" not in notes]


def check(root: Path) -> list[str]:
    """Problems to report for the repository at `root`; empty when the schema may be released."""
    missing = unrecorded(
        (root / "schema.released.graphql").read_text(),
        (root / "schema.graphql").read_text(),
        (root / "CHANGELOG.md").read_text() if (root / "CHANGELOG.md").exists() else "",
    )
    return [f"{c.description} Record `{c.coordinate}` under ## Unreleased in CHANGELOG.md." for c in missing]
