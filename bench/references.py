"""The two references the crawl is measured against, each run as its own process:

- ``floor DIR OUT``: parse every page file in DIR with lxml and write the same bytes to OUT,
  without Scrapy: the least work any archiver must do;
- ``alternative ORIGIN N OUT``: the script many people write: ``requests`` fetches each page,
  BeautifulSoup with ``html.parser`` parses the whole page, the page is written to OUT;
- ``scrapy ORIGIN N [SETTING=VALUE ...]``: Scrapy alone: a spider that fetches each page with
  the crawl's engine settings, downloader middlewares and collection threshold, and does
  nothing with it (what the crawl pays Scrapy and Twisted before any work of its own; no
  robots.txt and no HTTP cache, which the crawl uses for its one feed).
"""

from __future__ import annotations

import sys
from pathlib import Path


def floor(pages: Path, out: Path) -> int:
    import lxml.html

    count = 0
    for path in sorted(pages.glob("*.html")):
        data = path.read_bytes()
        lxml.html.document_fromstring(data)
        (out / path.name).write_bytes(data)
        count += 1
    return count


def alternative(origin: str, count: int, out: Path) -> int:
    import requests
    from bs4 import BeautifulSoup

    from bench.pages import HOST

    session = requests.Session()
    for n in range(count):
        path = f"/stock/bench/2026-09-29/doc-ibench{n:09d}.shtml"
        response = session.get(origin + path, headers={"Host": HOST}, timeout=30)
        soup = BeautifulSoup(response.text, "html.parser")
        title = soup.find("h1")
        body = soup.find(id="artibody")
        text = (title.get_text() if title else "") + "\n" + (body.get_text() if body else "")
        (out / f"{n}.txt").write_text(text, encoding="utf-8")
    return count


def scrapy_fetch(origin: str, count: int, overrides: list[str]) -> int:
    import scrapy
    from scrapy.crawler import CrawlerProcess

    from bench.pages import HOST
    from crawler import settings as project
    from crawler.run import collect_young_less_often, drop_records_below

    fetched = []

    class FetchOnly(scrapy.Spider):
        name = "fetch-only"

        async def start(self):  # type: ignore[no-untyped-def]
            for n in range(count):
                path = f"/stock/bench/2026-09-29/doc-ibench{n:09d}.shtml"
                yield scrapy.Request(origin + path, headers={"Host": HOST})

        def parse(self, response):  # type: ignore[no-untyped-def]
            fetched.append(len(response.body))

    settings = {
        name: getattr(project, name)
        for name in (
            "USER_AGENT",
            "CONCURRENT_ITEMS",
            "COOKIES_ENABLED",
            "WARN_ON_GENERATOR_RETURN_VALUE",
            "TELNETCONSOLE_ENABLED",
            "REMOTE_CONTROL_ENABLED",
            "DOWNLOADER_MIDDLEWARES",
        )
    }
    settings["LOG_LEVEL"] = "ERROR"
    collect_young_less_often()  # as `crawl` does
    for item in overrides:
        name, value = item.split("=", 1)
        settings[name] = value
    process = CrawlerProcess(settings)
    drop_records_below("ERROR")  # as `crawl` does: no "Crawled" record made per page
    process.crawl(FetchOnly)
    process.start()
    if len(fetched) != count:
        raise SystemExit(f"fetched {len(fetched)} of {count} pages")
    return count


if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "floor":
        print(floor(Path(sys.argv[2]), Path(sys.argv[3])))
    elif kind == "alternative":
        print(alternative(sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])))
    elif kind == "scrapy":
        print(scrapy_fetch(sys.argv[2], int(sys.argv[3]), sys.argv[4:]))
    else:
        raise SystemExit(f"unknown reference {kind!r}")
