"""The benchmark program runs end to end on a few pages and reports what README "Benchmark"
says it reports (a smoke test of bench/: its figures are not checked here, only its shape and
the behaviour it counts)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_bench_runs_small_and_reports_every_figure(tmp_path: Path, fixtures: Path):
    out = tmp_path / "latest.json"
    args = [sys.executable, "-m", "bench.run", "--pages", "8", "--memory-pages", "16"]
    args += ["--posts", "30", "--rounds", "1", "--out", str(out)]
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}  # loopback only
    env.update(SINA_FIXTURES=str(fixtures), TMPDIR=str(tmp_path))
    done = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text("utf-8"))
    crawl = results["crawl"]
    assert crawl["pages"] == 8
    assert set(crawl["cpu_ms_per_article_by_stage"]) == {"extract", "write", "index", "download"}
    # "other": the robots.txt of the feed's host and of the pages' host (404 both)
    assert crawl["requests_first"] == {"other": 2, "feed": 1, "page": 8}
    assert crawl["recrawl"]["requests"] == {"other": 1, "feed_304": 1}  # no page: none is new
    for key in ("floor", "alternative", "scrapy_alone"):  # 8 pages: start-up noise, any sign
        assert math.isfinite(crawl[f"{key}_cpu_ms_per_article"])
    assert [m["pages"] for m in results["crawl_memory"]] == [8, 16]
    (scale,) = results["scale"]
    assert scale["posts"] == 30 and scale["check_code"] == 0
    assert scale["list_day_posts"] > 0
    assert "crawl / floor" in done.stdout and "archive of 30 posts" in done.stdout
    assert not list(tmp_path.glob("sina-bench-*"))  # the work folder is removed (no --keep)
