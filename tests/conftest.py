"""Shared test fixtures: where the real registry data lives, and scratch databases."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def shared_data_dir() -> Path:
    """../shared/data beside the checkout, or $TRIALMATCH_SHARED_DATA."""
    return Path(os.environ.get("TRIALMATCH_SHARED_DATA") or REPO.parent / "shared" / "data")


def shared_file(*parts: str) -> Path:
    """A file of the real registry data; the test is skipped, saying why, when it is absent."""
    path = shared_data_dir().joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real registry data not available: {path} is missing (set TRIALMATCH_SHARED_DATA)")
    return path


@pytest.fixture
def xml_sample() -> Path:
    return shared_file("ctgov", "AllPublicXML-sample.zip")


@pytest.fixture
def api_v2_dir() -> Path:
    return shared_file("ctgov", "api-v2")


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "trials.db"
