"""The breaking-change check: removals fail unless the changelog records them, additions pass."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from audiocity.schema_changes import check, unrecorded

ROOT = Path(__file__).resolve().parents[1]
RELEASED = '"Q" type Query { "a" a: Int "b" b: String }'
CHANGELOG = "# Changelog\n\n## Unreleased\n- nothing yet\n\n## 1.0.0\n- `Query.b` removed long ago\n"


def test_the_repository_schema_has_no_unrecorded_breaking_change() -> None:
    assert check(ROOT) == []


def test_a_removed_field_fails() -> None:
    missing = unrecorded(RELEASED, '"Q" type Query { "a" a: Int }', CHANGELOG)
    assert [c.coordinate for c in missing] == ["Query.b"]
    assert "was removed" in missing[0].description


def test_an_added_field_passes() -> None:
    assert unrecorded(RELEASED, '"Q" type Query { "a" a: Int "b" b: String "c" c: Float }', CHANGELOG) == []


def test_a_removal_recorded_under_unreleased_passes() -> None:
    changelog = CHANGELOG.replace("- nothing yet", "- `Query.b` removed: use `a`.")
    assert unrecorded(RELEASED, '"Q" type Query { "a" a: Int }', changelog) == []


def test_a_changed_type_fails_until_recorded() -> None:
    current = '"Q" type Query { "a" a: Int "b" b: Int }'
    assert [c.coordinate for c in unrecorded(RELEASED, current, CHANGELOG)] == ["Query.b"]


def test_the_command_fails_on_a_removed_field(tmp_path: Path) -> None:
    (tmp_path / "schema.released.graphql").write_text(RELEASED)
    (tmp_path / "schema.graphql").write_text('"Q" type Query { "a" a: Int }')
    (tmp_path / "CHANGELOG.md").write_text(CHANGELOG)
    cli = [sys.executable, "-m", "audiocity.cli", "check-schema"]
    failed = subprocess.run(cli, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert failed.returncode == 1 and "Query.b" in failed.stderr
    (tmp_path / "schema.graphql").write_text('"Q" type Query { "a" a: Int "b" b: String "c" c: Int }')
    assert subprocess.run(cli, cwd=tmp_path, capture_output=True, timeout=60).returncode == 0
