"""The Scrapy project of sina-archive: feeds → entries → pages → articles (fetching only).

It writes through :mod:`archive`, which never imports Scrapy.
"""

__version__ = "0.5.2"
