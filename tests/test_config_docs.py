"""docs/configuration.md is generated from the settings class and must not drift from it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from audiocity.config import Settings
from audiocity.config_docs import meaning, render

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def test_every_setting_says_what_it_means() -> None:
    missing = [name for name, field in Settings.model_fields.items() if not meaning(name, field)]
    assert not missing, f"give these settings a description: {missing}"


def test_the_committed_table_matches_the_settings_class() -> None:
    assert DOC.read_text() == render(), "regenerate: audiocity config docs > docs/configuration.md"


def test_the_command_prints_it() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "audiocity.cli", "config", "docs"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == DOC.read_text()
    for name, field in Settings.model_fields.items():
        assert f"| `{field.alias or name.upper()}` |" in result.stdout
