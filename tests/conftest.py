"""Shared test helpers: where the real fixtures are, and how to read them."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
#: The captured Sina pages, feeds, API responses and posts (read-only, outside the repo).
FIXTURES = Path(os.environ.get("SINA_FIXTURES", REPO.parent / "shared" / "fixtures" / "sina"))


def manifest() -> dict[str, dict[str, str]]:
    """Return MANIFEST.tsv as {local_name: row}."""
    with open(FIXTURES / "MANIFEST.tsv", encoding="utf-8", newline="") as handle:
        return {row["local_name"]: row for row in csv.DictReader(handle, delimiter="\t")}


def original_url(name: str) -> str:
    """Return the URL a fixture page was captured from (MANIFEST's ``url``, first word)."""
    return manifest()[name]["url"].split(" ")[0]


@pytest.fixture(scope="session")
def fixtures() -> Path:
    if not FIXTURES.is_dir():
        pytest.fail(f"real fixtures not found at {FIXTURES}: set SINA_FIXTURES")
    return FIXTURES
