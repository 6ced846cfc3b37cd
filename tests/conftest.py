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


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path = REPO):
    """Run ``sina-archive ARGS`` in a subprocess (no proxy variables from the environment)."""
    import subprocess
    import sys

    environment = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=240,
    )


#: Scrapy settings for crawls of the loopback fixture server: no politeness delays.
FAST = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0"]


@pytest.fixture(scope="session")
def real_archive(tmp_path_factory) -> Path:
    """An archive crawled from the real fixtures (26 posts); tests must not change it."""
    from tests.fixture_server import serving

    root = tmp_path_factory.mktemp("real-archive")
    feeds = REPO / "tests" / "data" / "fixture_feeds.toml"
    with serving() as server:
        args = ["crawl", "--root", str(root), "--feeds", str(feeds), "--connect-to", server.origin]
        result = run_cli(*args, *FAST)
    assert result.returncode == 1, result.stderr[-3000:]  # the 49 uncaptured pages of the roll
    return root
