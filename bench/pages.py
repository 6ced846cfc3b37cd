"""Synthetic Sina article pages for the benchmark, built from a real captured page.

Each page keeps the structure, the boilerplate and the size (about 100 KB) of
shared/fixtures/sina/pages/r3_fin_usstock_2026_detail.html, a server-served 2026 finance page,
with its own doc id, headline, time and body: paragraphs of Chinese words taken from the
captured pages, so that every page, post and search word is distinct.

Word frequencies follow Zipf's law (exponent 1, the usual model of natural text), and each body
draws a fifth of its words from a topic of 20 words of its own, as news articles repeat their
subject's words. Measured on the bigrams the full-text index stores, the distinct share of a
body's bigrams is then 0.68, as on the captured articles (0.70; uniformly random words: 0.96).
"""

from __future__ import annotations

import itertools
import json
import random
import re
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path

TEMPLATE = "r3_fin_usstock_2026_detail.html"
TEMPLATE_ID = "initmeav9622448"
TEMPLATE_TITLE = "财报前夕，美光“超级多头”重申2000美元目标价"
TEMPLATE_TIME = "2026-09-29T00:34:03+08:00"
TEMPLATE_DATELINE = "2026年09月29日 00:34"
HOST = "finance.sina.com.cn"
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
_BODY = re.compile(r"(<!-- 行情图end -->\s*)(.*?)(<!-- news_keyword_pub)", re.S)


class PageFactory:
    """Makes page ``n`` (0-based) on demand: the same bytes for the same ``n`` and seed."""

    def __init__(self, fixtures: Path, seed: int = 20261130) -> None:
        self.fixtures = fixtures
        self.seed = seed
        self.template = (fixtures / "pages" / TEMPLATE).read_text("utf-8")
        if not _BODY.search(self.template):
            raise ValueError(f"{TEMPLATE}: body markers not found")

    @cached_property
    def words(self) -> list[str]:
        """Two- to four-character Chinese words from the captured pages' text."""
        words: set[str] = set()
        for path in sorted((self.fixtures / "pages").glob("*.html")):
            data = path.read_bytes()
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                continue
            for run in _HAN_RUN.findall(text):
                for start in range(0, len(run) - 1, 2):
                    words.add(run[start : start + random.Random(start).choice((2, 2, 3, 4))])
        return sorted(w for w in words if len(w) >= 2)

    @cached_property
    def _zipf(self) -> tuple[list[str], list[float]]:
        """The words in a fixed random rank order, with cumulative Zipf weights (1/rank)."""
        ranked = list(self.words)
        random.Random(self.seed).shuffle(ranked)
        weights = itertools.accumulate(1 / rank for rank in range(1, len(ranked) + 1))
        return ranked, list(weights)

    def doc_id(self, n: int) -> str:
        return f"ibench{n:09d}"

    def url(self, n: int) -> str:
        return f"https://{HOST}/stock/bench/2026-09-29/doc-{self.doc_id(n)}.shtml"

    def published(self, n: int) -> datetime:
        return datetime(2026, 9, 29, tzinfo=UTC) - timedelta(minutes=7 * n)

    def title(self, n: int) -> str:
        rng = random.Random(self.seed * 7 + n)
        return "".join(rng.choice(self.words) for _ in range(6)) + f"（第{n}号）"

    def body(self, n: int) -> str:
        rng = random.Random(self.seed + n)
        ranked, weights = self._zipf

        def word() -> str:
            return rng.choices(ranked, cum_weights=weights)[0]

        topic = [word() for _ in range(20)]
        paragraphs = []
        for _ in range(rng.randint(8, 14)):
            count = rng.randint(25, 60)
            sentence = "".join(
                rng.choice(topic) if rng.random() < 0.2 else word() for _ in range(count)
            )
            paragraphs.append(f"<p>　　{sentence}。</p>")
        return "\n".join(paragraphs) + "\n"

    def page(self, n: int) -> bytes:
        """The HTML bytes of page ``n``."""
        published = self.published(n).astimezone(_BEIJING)
        html = self.template.replace(TEMPLATE_ID, self.doc_id(n))
        html = html.replace(TEMPLATE_TITLE, self.title(n))
        html = html.replace(TEMPLATE_TIME, published.isoformat())
        html = html.replace(TEMPLATE_DATELINE, published.strftime("%Y年%m月%d日 %H:%M"))
        html = _BODY.sub(lambda m: m.group(1) + self.body(n) + m.group(3), html, count=1)
        return html.encode("utf-8")

    def roll(self, first: int, count: int) -> bytes:
        """A roll API response listing pages ``first`` … ``first + count - 1``."""
        data = [
            {
                "docid": f"comos:{self.doc_id(n)[1:]}",
                "url": self.url(n),
                "title": self.title(n),
                "ctime": str(int(self.published(n).timestamp())),
                "mtime": str(int(self.published(n).timestamp())),
                "media_name": "基准测试",
            }
            for n in range(first, first + count)
        ]
        return json.dumps({"result": {"status": {"code": 0}, "data": data}}).encode()


_BEIJING = __import__("archive.paths", fromlist=["BEIJING"]).BEIJING
