"""Checks made once here instead of by Scrapy on every response."""

from __future__ import annotations

import inspect

import pytest
from scrapy import Spider
from scrapy.utils.misc import is_generator_with_return_value

from crawler import settings
from crawler.spiders import feeds, fetch

SPIDERS = [feeds.FeedsSpider, fetch.FetchSpider]


def _generator_methods(spider: type[Spider]) -> list[str]:
    return [
        name
        for name, member in inspect.getmembers(spider, inspect.isfunction)
        if inspect.isgeneratorfunction(member)
    ]


@pytest.mark.parametrize("spider", SPIDERS, ids=lambda s: s.__name__)
def test_no_callback_returns_a_value_from_a_generator(spider: type[Spider]) -> None:
    # WARN_ON_GENERATOR_RETURN_VALUE is off (Scrapy re-read the source per response); a
    # ``return value`` in a generator callback would lose that value silently.
    assert settings.WARN_ON_GENERATOR_RETURN_VALUE is False
    methods = _generator_methods(spider)
    assert {"parse_article", "parse_feed"} <= set(methods) or "parse_any" in methods
    for name in methods:
        assert not is_generator_with_return_value(getattr(spider, name)), name


def test_the_check_finds_a_generator_returning_a_value() -> None:
    class Bad(Spider):
        name = "bad"

        def parse(self, response):  # type: ignore[no-untyped-def]
            yield 1
            return 2

    assert _generator_methods(Bad) == ["parse"]
    assert is_generator_with_return_value(Bad.parse)
