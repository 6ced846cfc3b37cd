"""Atomic writes: unchanged content is not rewritten; errors leave nothing behind."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from archive.errors import ArchiveError
from archive.post import Post
from archive.writer import TEMP_PREFIX, write_atomic, write_post


def post(body: str = "<p>正文</p>") -> Post:
    return Post(title="标题", date=datetime(2021, 1, 2, tzinfo=UTC), body=body, id="iabc123")


def test_write_post_then_unchanged(tmp_path: Path):
    first = write_post(tmp_path, post())
    assert first.changed and first.relpath == "posts/2021/01/02/iabc123.md"
    path = tmp_path / first.relpath
    stamp = path.stat().st_mtime_ns
    second = write_post(tmp_path, post())
    assert not second.changed and second.sha256 == first.sha256
    assert path.stat().st_mtime_ns == stamp
    third = write_post(tmp_path, post("<p>改过</p>"))
    assert third.changed and third.sha256 != first.sha256
    assert "改过" in path.read_text("utf-8")


def test_no_temp_files_left(tmp_path: Path):
    write_post(tmp_path, post())
    leftovers = [p for p in tmp_path.rglob("*") if p.name.startswith(TEMP_PREFIX)]
    assert leftovers == []


def test_write_error_keeps_old_file_and_names_path(tmp_path: Path, monkeypatch):
    target = tmp_path / "a.md"
    target.write_bytes(b"old")

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(ArchiveError, match="No space left") as info:
        write_atomic(target, b"new")
    assert str(target) in str(info.value)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.md"]
