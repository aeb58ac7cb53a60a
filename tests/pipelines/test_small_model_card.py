"""The shipped small model carries its short model card as package data, pointing at the full card."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

from panoworld.pipelines.loading import small_model_folder

ROOT = Path(__file__).resolve().parents[2]


def test_the_short_card_ships_with_the_weights_and_points_at_the_full_card():
    card = small_model_folder() / "README.md"
    text = card.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 60
    assert "docs/small_model.md" in text and "Licence" in text
    assert (ROOT / "docs" / "small_model.md").is_file()
    package = small_model_folder().parents[1]
    relative = card.relative_to(package).as_posix()
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["panoworld"]
    assert any(fnmatch.fnmatchcase(relative, g) and g.count("/") == relative.count("/") for g in globs)
