"""The benchmark: ``python -m bench.run [--pages N] [--memory-pages N] [--posts N,N] [--rounds N]
[--out F] [--keep]``.

In one run on this machine it measures, as ratios and medians rather than absolute claims:

1. the real ``sina-archive crawl`` of N synthetic ~100 KB pages served on loopback: articles
   per second end to end, CPU milliseconds per article by stage (download and Scrapy, extract,
   write, index), peak RSS, bytes on disk per article (the crawl and each reference run
   ``--rounds`` times, 3 by default; their figures are those of the run with the median CPU);
2. the floor (lxml parse + write the same bytes) and the common alternative (requests +
   BeautifulSoup html.parser + write) on the same pages, and Scrapy alone (a spider that
   fetches the pages with the crawl's engine settings and does nothing else);
3. a second crawl of the unchanged feed (requests made, time);
4. crawl peak RSS at a second, larger N (memory must stay flat);
5. ``reindex``, ``search`` (median, p95), ``list --since`` one day and ``check`` on archives of
   each size in ``--posts``; index size against posts size.

It prints a table and writes JSON (default ``bench/results/latest.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from archive.api import Archive
from archive.paths import BEIJING
from archive.post import Post
from bench.pages import PageFactory
from bench.server import BenchServer

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(os.environ.get("SINA_FIXTURES", REPO.parent / "shared" / "fixtures" / "sina"))
#: The benchmark's crawl settings: no politeness delays (loopback), more concurrency.
CRAWL_SETTINGS = [
    "-s", "AUTOTHROTTLE_ENABLED=false",
    "-s", "DOWNLOAD_DELAY=0",
    "-s", "CONCURRENT_REQUESTS=32",
    "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=32",
    "-s", "ARCHIVE_FEED_STALE_AFTER=0",
]  # fmt: skip
QUERIES_TWO = ["市场", "央行", "美元", "银行", "中国", "投资", "经济", "公司", "股市", "新闻"]
QUERIES_LONG = ["全球股市", "人民币汇率", "互联网", "上市公司", "央行 降准", "A股", "5G", "2026"]


def run_measured(args: list[str], cwd: Path = REPO) -> dict:
    """Run a command; return wall seconds, CPU seconds (user + system) and peak RSS (MB) of
    the child, and its exit code and output."""
    started = time.monotonic()
    process = subprocess.Popen(
        args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    out_lines: list[str] = []
    err_lines: list[str] = []
    readers = [
        threading.Thread(target=lambda: out_lines.extend(process.stdout)),  # type: ignore[arg-type]
        threading.Thread(target=lambda: err_lines.extend(process.stderr)),  # type: ignore[arg-type]
    ]
    for reader in readers:
        reader.start()
    _, status, usage = os.wait4(process.pid, 0)
    for reader in readers:
        reader.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    return {
        "wall": time.monotonic() - started,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,
        "code": process.returncode,
        "stdout": "".join(out_lines),
        "stderr": "".join(err_lines)[-3000:],
    }


@contextmanager
def serve(factory: PageFactory, pages: int):
    server = BenchServer(factory, pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def crawl(server: BenchServer, root: Path, pages: int, stats_file: Path) -> dict:
    feed = f"https://feed.mix.sina.com.cn/api/roll/get?pageid=1&lid=9999&num={pages}"
    args = [sys.executable, "-m", "crawler.cli", "crawl", "--feed", feed, "--root", str(root)]
    args += ["--connect-to", server.origin, "--stats-json", str(stats_file), "-q"]
    args += CRAWL_SETTINGS
    result = run_measured(args)
    if result["code"] != 0:
        raise SystemExit(f"crawl failed ({result['code']}): {result['stderr']}")
    result["stats"] = json.loads(stats_file.read_text("utf-8"))
    return result


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _checked(result: dict) -> dict:
    if result["code"] != 0:
        raise SystemExit(f"reference failed ({result['code']}): {result['stderr']}")
    return result


#: The crawl and the references each run this many times (``--rounds``); their figures are
#: those of the run with the median CPU time (one run's CPU varies by about a tenth here).
ROUNDS = 3


def _median_run(runs: list[dict]) -> dict:
    """The run whose CPU time is the median of ``runs``."""
    return sorted(runs, key=lambda run: run["cpu"])[len(runs) // 2]


def measure_crawl(factory: PageFactory, pages: int, work: Path, rounds: int = ROUNDS) -> dict:
    """Crawl (median of ``rounds`` crawls into fresh roots), recrawl, floor, alternative and
    Scrapy alone (each ``rounds`` times) on the same ``pages`` pages."""
    with serve(factory, pages) as server:
        empties, firsts = [], []
        for round_ in range(rounds):
            empty_root = work / f"empty-{round_}"
            empties.append(crawl(server, empty_root, 0, work / f"empty-{round_}.json"))  # start-up
            root = work / f"crawl-{pages}-{round_}"
            server.counts.clear()
            firsts.append(crawl(server, root, pages, work / f"first-{round_}.json"))
            fetched = dict(server.counts)
        empty, first = _median_run(empties), _median_run(firsts)
        server.counts.clear()
        second = crawl(server, root, pages, work / "second.json")  # the last round's root
        refetched = dict(server.counts)
        pages_dir = work / "pages"
        pages_dir.mkdir(exist_ok=True)
        for n in range(pages):
            (pages_dir / f"{n:09d}.html").write_bytes(factory.page(n))
        out = work / "floor-out"
        out.mkdir(exist_ok=True)
        floor_args = [sys.executable, "-m", "bench.references", "floor", str(pages_dir), str(out)]
        floor = _median_run([_checked(run_measured(floor_args)) for _ in range(rounds)])
        alt_out = work / "alt-out"
        alt_out.mkdir(exist_ok=True)
        alt_args = [sys.executable, "-m", "bench.references", "alternative", server.origin]
        alt_args += [str(pages), str(alt_out)]
        alternative = _median_run([_checked(run_measured(alt_args)) for _ in range(rounds)])
        fetch_args = [sys.executable, "-m", "bench.references", "scrapy", server.origin]
        settings = [item for item in CRAWL_SETTINGS if item != "-s"]
        fetch_only = _median_run(
            [_checked(run_measured([*fetch_args, str(pages), *settings])) for _ in range(rounds)]
        )
        startup_fetch = _median_run(
            [_checked(run_measured([*fetch_args, "0", *settings])) for _ in range(rounds)]
        )
        startup_floor = _median_run(
            [run_measured([sys.executable, "-c", "import lxml.html"]) for _ in range(rounds)]
        )
        startup_alt = _median_run(
            [run_measured([sys.executable, "-c", "import requests, bs4"]) for _ in range(rounds)]
        )
    stats = first["stats"]
    work_cpu = first["cpu"] - empty["cpu"]
    stages = {k: stats.get(f"cpu/{k}", 0.0) for k in ("extract", "write", "index")}
    stages["download"] = work_cpu - sum(stages.values())
    per = 1000 / pages
    floor_cpu = (floor["cpu"] - startup_floor["cpu"]) * per
    alt_cpu = (alternative["cpu"] - startup_alt["cpu"]) * per
    fetch_cpu = (fetch_only["cpu"] - startup_fetch["cpu"]) * per
    crawl_cpu = work_cpu * per
    posts = folder_bytes(root / "posts")
    index = (root / "index.db").stat().st_size
    return {
        "pages": pages,
        "articles_per_s": pages / (first["wall"] - empty["wall"]),
        "wall_s": first["wall"],
        "startup_wall_s": empty["wall"],
        "cpu_ms_per_article": crawl_cpu,
        "cpu_ms_per_article_by_stage": {k: v * per for k, v in stages.items()},
        "peak_rss_mb": first["rss_mb"],
        "posts_bytes_per_article": posts / pages,
        "index_bytes_per_article": index / pages,
        "floor_cpu_ms_per_article": floor_cpu,
        "alternative_cpu_ms_per_article": alt_cpu,
        "scrapy_alone_cpu_ms_per_article": fetch_cpu,
        "crawl_vs_floor": crawl_cpu / floor_cpu,
        "alternative_vs_crawl": alt_cpu / crawl_cpu,
        "requests_first": fetched,
        "recrawl": {
            "requests": refetched,
            "wall_s": second["wall"],
            "summary": second["stdout"].strip(),
        },
    }


def build_archive(factory: PageFactory, count: int, root: Path) -> None:
    """Write ``count`` posts straight to disk (setup, not measured): one per synthetic page,
    published 7 minutes apart."""
    for n in range(count):
        post = Post(
            title=factory.title(n),
            date=factory.published(n),
            body=factory.body(n),
            link=factory.url(n),
            id=factory.doc_id(n),
            categories=["金融", "新浪财经", "基准"],
            source="基准测试",
            feed="bench",
        )
        path = root / "posts" / post.date.astimezone(BEIJING).strftime("%Y/%m/%d")
        path.mkdir(parents=True, exist_ok=True)
        (path / f"{post.id}.md").write_text(post.to_text(), encoding="utf-8")


def measure_scale(factory: PageFactory, count: int, work: Path) -> dict:
    root = work / f"archive-{count}"
    started = time.monotonic()
    build_archive(factory, count, root)
    built = time.monotonic() - started
    cli = [sys.executable, "-m", "crawler.cli"]
    reindex = run_measured([*cli, "reindex", "--root", str(root)])
    if reindex["code"] != 0:
        raise SystemExit(f"reindex failed: {reindex['stderr']}")
    timings: dict[str, list[float]] = {"two": [], "long": []}
    with Archive(root) as archive:
        for kind, queries in (("two", QUERIES_TWO), ("long", QUERIES_LONG)):
            for _ in range(3):
                for query in queries:
                    began = time.perf_counter()
                    archive.search(query, limit=20)
                    timings[kind].append((time.perf_counter() - began) * 1000)
        newest = factory.published(0).astimezone(BEIJING).replace(hour=0, minute=0, second=0)
        span = (factory.published(0) - factory.published(count - 1)).days  # whole days covered
        lists, counts = [], []
        # full days inside the archive (the newest, partial day for an archive of under two)
        for offset in range(1, min(6, span)) or [0]:
            since = newest - timedelta(days=offset)
            began = time.perf_counter()
            counts.append(len(list(archive.posts(since=since, until=since + timedelta(days=1)))))
            lists.append((time.perf_counter() - began) * 1000)
        listed = int(statistics.median(counts))
    check = run_measured([*cli, "check", "--root", str(root)])
    everything = timings["two"] + timings["long"]
    posts = folder_bytes(root / "posts")
    index = (root / "index.db").stat().st_size
    return {
        "posts": count,
        "build_s": built,
        "reindex_s": reindex["wall"],
        "reindex_posts_per_s": count / reindex["wall"],
        "reindex_peak_rss_mb": reindex["rss_mb"],
        "search_ms_median": statistics.median(everything),
        "search_ms_p95": statistics.quantiles(everything, n=20)[18],
        "search_ms_median_two_chars": statistics.median(timings["two"]),
        "list_day_ms_median": statistics.median(lists),
        "list_day_posts": listed,
        "check_s": check["wall"],
        "check_code": check["code"],
        "posts_bytes": posts,
        "index_bytes": index,
        "index_vs_posts": index / posts,
    }


def table(results: dict) -> str:
    crawl = results["crawl"]
    lines = [
        f"sina-archive benchmark — {results['date']} — {results['machine']}",
        "",
        f"crawl of {crawl['pages']} pages (~100 KB) on loopback       target",
        f"  articles/s end to end            {crawl['articles_per_s']:8.1f}   >= 150",
        f"  CPU ms/article                   {crawl['cpu_ms_per_article']:8.2f}",
    ]
    for stage, value in crawl["cpu_ms_per_article_by_stage"].items():
        lines.append(f"    {stage:<30} {value:8.2f}")
    lines += [
        f"  floor (lxml + write) CPU ms      {crawl['floor_cpu_ms_per_article']:8.2f}",
        f"  alternative (requests+bs4) ms    {crawl['alternative_cpu_ms_per_article']:8.2f}",
        f"  Scrapy alone (fetch only) ms     {crawl['scrapy_alone_cpu_ms_per_article']:8.2f}",
        f"  crawl / floor                    {crawl['crawl_vs_floor']:8.2f}x  <= 4x",
        f"  alternative / crawl              {crawl['alternative_vs_crawl']:8.2f}x  >= 4x",
        f"  peak RSS MB                      {crawl['peak_rss_mb']:8.1f}   <= 300",
        f"  post bytes/article               {crawl['posts_bytes_per_article']:8.0f}",
        f"  index bytes/article              {crawl['index_bytes_per_article']:8.0f}",
        f"  recrawl requests                 {json.dumps(crawl['recrawl']['requests'])}"
        "   feed only",
        f"  recrawl wall s                   {crawl['recrawl']['wall_s']:8.2f}",
    ]
    for memory in results["crawl_memory"]:
        lines.append(
            f"  crawl peak RSS MB at N={memory['pages']:<7}   {memory['peak_rss_mb']:8.1f}"
        )
    for scale in results["scale"]:
        lines += [
            "",
            f"archive of {scale['posts']} posts",
            f"  reindex posts/s                  {scale['reindex_posts_per_s']:8.0f}   >= 2000",
            f"  reindex peak RSS MB              {scale['reindex_peak_rss_mb']:8.1f}   <= 300",
            f"  search ms median / p95           {scale['search_ms_median']:8.1f} / "
            f"{scale['search_ms_p95']:.1f}   p95 <= 50",
            f"  list --since one day ms          {scale['list_day_ms_median']:8.1f}   <= 100"
            f"  ({scale['list_day_posts']} posts)",
            f"  check s                          {scale['check_s']:8.1f}",
            f"  index / posts size               {scale['index_vs_posts']:8.2f}   <= 1",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Measure the crawl (speed, CPU by stage, memory) against the floor, a common "
        "alternative and Scrapy alone, then reindex/search/list/check at scale (README "
        '"Benchmark"). The targets are for the default sizes: small runs measure mostly '
        "start-up.",
    )
    parser.add_argument("--pages", type=int, default=1000, help="pages crawled (default 1000)")
    parser.add_argument(
        "--memory-pages", type=int, default=10000, help="the larger crawl for memory (10000)"
    )
    parser.add_argument(
        "--posts",
        default="10000,100000",
        help="archive sizes for the scale runs, comma-separated (default 10000,100000; "
        "an empty value: none)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO / "bench" / "results" / "latest.json",
        help="JSON results (default bench/results/latest.json, kept in the repository)",
    )
    parser.add_argument(
        "--rounds", type=int, default=ROUNDS, help="runs of the crawl and of each reference (3)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder (in $TMPDIR)")
    args = parser.parse_args()
    if args.rounds < 1 or args.pages < 1:
        parser.error("--rounds and --pages must be at least 1")
    sizes = [n for n in args.posts.split(",") if n]
    if not all(n.isdecimal() and n.isascii() and int(n) > 0 for n in sizes):
        parser.error(f"--posts takes sizes above 0 separated by commas, not {args.posts!r}")
    factory = PageFactory(FIXTURES)
    work = Path(tempfile.mkdtemp(prefix="sina-bench-"))
    try:
        results: dict = {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, {platform.platform()}",
            "commit": subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
            ).stdout.strip(),
        }
        results["crawl"] = measure_crawl(factory, args.pages, work / "a", args.rounds)
        results["crawl_memory"] = [
            {"pages": args.pages, "peak_rss_mb": results["crawl"]["peak_rss_mb"]}
        ]
        if args.memory_pages and args.memory_pages != args.pages:
            big = measure_crawl_memory(factory, args.memory_pages, work / "b")
            results["crawl_memory"].append(big)
        results["scale"] = [measure_scale(factory, int(n), work / "s") for n in sizes]
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False), "utf-8")
        print(table(results))
        print(f"\nJSON: {args.out}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def measure_crawl_memory(factory: PageFactory, pages: int, work: Path) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    with serve(factory, pages) as server:
        result = crawl(server, work / "root", pages, work / "stats.json")
    return {
        "pages": pages,
        "peak_rss_mb": result["rss_mb"],
        "articles_per_s": pages / result["wall"],
    }


if __name__ == "__main__":
    main()
