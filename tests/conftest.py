"""Shared fixtures. Paths to third-party data are read from ../shared, never copied."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SKVM_SHARED", ROOT.parent / "shared"))
FIXTURES = SHARED / "fixtures"
SAMPLE_SKILLS = ROOT / "sample_skills"


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Tests never read or write the user's config and workspace (model cache stays shared)."""
    home = tmp_path_factory.mktemp("skvm-home")
    monkeypatch.setenv("SKVM_HOME", str(home / "workspace"))
    monkeypatch.setenv("SKVM_CONFIG", str(home / "config.toml"))
    # The static compiler unless a test names a synthesis model: synthesis by the embedded
    # 1.5B takes minutes, and its own tests ask for it.
    monkeypatch.setenv("SKVM_SYNTHESIS_MODEL", "none")


SHARED_MISSING = f"needs the third-party fixtures in ../shared/fixtures (not found at {FIXTURES})"


def fixtures_dir() -> Path:
    """Where third-party test data lives. Tests that read it carry the `shared_fixtures`
    marker, so on a clone without ../shared they skip with a reason instead of failing."""
    return FIXTURES


def pytest_collection_modifyitems(config, items):
    if FIXTURES.is_dir():
        return
    skip = pytest.mark.skip(reason=SHARED_MISSING)
    for item in items:
        if item.get_closest_marker("shared_fixtures"):
            item.add_marker(skip)
