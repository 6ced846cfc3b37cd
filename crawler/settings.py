"""Scrapy settings of sina-archive: polite defaults for the live site.

Every setting has its unit and default in a comment. The CLI (``sina-archive crawl``) sets the
``ARCHIVE_*`` settings from its options; ``scrapy crawl feeds -s ARCHIVE_ROOT=DIR`` works too.
Reference: https://docs.scrapy.org/en/latest/topics/settings.html
"""

from crawler import __version__

BOT_NAME = "sina-archive"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# --- the archive ---------------------------------------------------------------------------------
ARCHIVE_ROOT = "data"  # folder of the archive (posts/ and index.db); relative to the cwd
ARCHIVE_FEEDS_FILE = None  # feeds file (TOML); None: crawler/feeds.toml shipped with the package
ARCHIVE_FEEDS = []  # names or URLs of the feeds to crawl; []: every feed of the feeds file
ARCHIVE_FETCH_URLS = []  # URLs for the `fetch` spider (article pages or feeds)
ARCHIVE_DEFAULT_CATEGORIES = ["新浪财经"]  # categories of a page fetched by hand (no feed)
ARCHIVE_CONNECT_TO = ""  # origin (http://127.0.0.1:8000) to send every request to, Host kept;
# for a captured copy served on loopback: URLs, the archive and robots.txt stay the real ones
ARCHIVE_REFRESH = False  # True: fetch every listed article again, archived or not (--refresh)
ARCHIVE_LOCK_HELD = False  # True when the caller (the CLI) already holds <root>/.lock
ARCHIVE_RETRY_MAX_ATTEMPTS = 5  # runs that may try a failed article URL before it is given up
ARCHIVE_RETRY_BACKOFF = 3600  # seconds before a failed URL (404, no article …) is tried again;
# doubles with each failed attempt
ARCHIVE_RETRY_BACKOFF_TRANSIENT = 300  # the same for transient failures (5xx, 429, timeouts)
ARCHIVE_FEED_STALE_AFTER = 86400  # seconds; a feed whose newest entry is older is reported stale
# (0: never)
ARCHIVE_SCHEDULE_CHUNK = 500  # article requests handed to Scrapy at a time (memory stays flat)
ARCHIVE_COMMIT_EVERY = 50  # index rows committed together (posts are on disk before their rows)
ARCHIVE_COMMIT_SECONDS = 2.0  # seconds; a batch of rows is committed at least this often
ARCHIVE_ALLOWED_DOMAINS = [  # article pages are followed only on these domains (and subdomains)
    "sina.com.cn",
    "sina.cn",
    "sina.com",
]

# --- politeness ----------------------------------------------------------------------------------
USER_AGENT = f"sina-archive/{__version__} (feed archiver; +Scrapy)"
ROBOTSTXT_OBEY = True  # robots.txt is obeyed; -s ROBOTSTXT_OBEY=False turns it off
AUTOTHROTTLE_ENABLED = True  # adapt the delay to the server's latency
AUTOTHROTTLE_START_DELAY = 1.0  # seconds
AUTOTHROTTLE_MAX_DELAY = 30.0  # seconds
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0  # requests in parallel per remote site, on average
DOWNLOAD_DELAY = 0.25  # seconds; the least delay between requests to one site
CONCURRENT_REQUESTS = 8  # requests in flight in all
CONCURRENT_REQUESTS_PER_DOMAIN = 4  # requests in flight per host
DOWNLOAD_TIMEOUT = 30  # seconds per request
DOWNLOAD_MAXSIZE = 20 * 1024 * 1024  # bytes; larger responses are dropped
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024  # bytes; larger responses are logged
RETRY_ENABLED = True
RETRY_TIMES = 2  # extra tries of a request that failed transiently (5xx, 429, timeouts)
RETRY_GIVE_UP_LOG_LEVEL = "DEBUG"  # the spider reports each failure itself, once (WARNING)
ARCHIVE_RETRY_BACKOFF_BASE = 1.0  # seconds before the first retry within a run; doubles each time
ARCHIVE_RETRY_BACKOFF_MAX = 30.0  # seconds; the longest wait before a retry within a run
ARCHIVE_RETRY_AFTER_MAX = 60.0  # seconds; a longer Retry-After is left to a later run
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.BackoffRetryMiddleware": 550,  # retries wait (Retry-After, backoff)
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.middlewares.MetaRefreshMiddleware": 580,  # decodes only pages that may refresh
}
# Items (and requests) a callback yields, handled at once. The pipelines are synchronous, so
# more buys nothing, and Scrapy starts this many asyncio tasks for every response: the default
# 100 cost about 1.3 ms of CPU per article (a fifth of the crawl; see README "Benchmark").
CONCURRENT_ITEMS = 1
# Scrapy reads the source of a generator callback (inspect + ast) to warn about ``return
# value``; its cache is keyed by the bound method of each request, so it parsed the source
# again for every page: 0.2 ms of CPU per article. tests/test_crawler_spiders.py checks our
# callbacks once instead.
WARN_ON_GENERATOR_RETURN_VALUE = False
COOKIES_ENABLED = False  # articles and feeds need no cookies: none are kept or sent
HTTPPROXY_ENABLED = True  # http_proxy / https_proxy / no_proxy from the environment are honoured

# --- conditional GET of feeds (HTTP cache, RFC 2616 rules) ---------------------------------------
# Feed responses are cached under <root>/.cache/http (set by the spider) and revalidated with
# If-None-Match / If-Modified-Since; article pages are never cached (the index is their memory).
HTTPCACHE_ENABLED = True
HTTPCACHE_POLICY = "scrapy.extensions.httpcache.RFC2616Policy"
HTTPCACHE_STORAGE = "scrapy.extensions.httpcache.FilesystemCacheStorage"
HTTPCACHE_DIR = ""  # empty: <root>/.cache/http
HTTPCACHE_EXPIRATION_SECS = 0  # 0: entries never expire on their own; RFC 2616 rules decide

# --- the pipeline --------------------------------------------------------------------------------
ITEM_PIPELINES = {
    "crawler.pipelines.PostPipeline": 300,
    "crawler.pipelines.StoragePipeline": 800,
}
TELNETCONSOLE_ENABLED = False  # no listening console on a cron machine
REMOTE_CONTROL_ENABLED = False  # no listening control server either

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
