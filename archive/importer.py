"""Import an existing Hexo ``_posts`` tree in the reference format into an archive.

The reference archive (shared/fixtures/sina/posts/, from a public Hexo site fed by RSSHub)
starts files with a blank line, names files after titles, escapes braces, keeps the QR-code
block and the 责任编辑 line in the body, and uses the QR code as ``headimg`` when the article had
no image. An imported post keeps its title exactly; its body is cleaned by the rules of
FORMAT.md (so the QR block goes and the editor line becomes ``editor``); ``headimg`` is the
first real image of the body, else ``''``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from archive.body import NOT_LEAD_IMAGE, clean_fragment
from archive.errors import ArchiveError, PostFormatError
from archive.index import Index
from archive.paths import ID_PATTERN, article_id
from archive.post import Post, fold_line_breaks
from archive.reader import BrokenPost, read_post
from archive.store import store_post

#: Feed name written to imported posts that name none.
IMPORT_FEED = "import"
#: Base URL for relative links of imported bodies (the reference posts are from finance.sina).
IMPORT_BASE = "https://finance.sina.com.cn/"
_CANONICAL = re.compile(
    r"""<(?:link[^>]+rel=["']canonical["'][^>]*href|meta[^>]+property=["']og:url["'][^>]*content)"""
    r"""=["'](https?://[^"']+)""",
    re.I,
)


@dataclass
class ImportReport:
    """What an import did: posts written, posts already there unchanged, broken files."""

    imported: int = 0
    unchanged: int = 0
    broken: list[BrokenPost] = field(default_factory=list)


def recover_link(post: Post) -> str:
    """The article's URL: the front matter's ``link`` when present, else a canonical URL the
    body names (``<link rel=canonical>``/``og:url``), else ``""``."""
    if post.link:
        return post.link
    match = _CANONICAL.search(post.body)
    return match.group(1) if match else ""


def imported_post(source: Post) -> Post:
    """Return the post as this archive stores it: body cleaned, QR ``headimg`` dropped,
    editor taken out of the body, link recovered, a stable id."""
    link = recover_link(source)
    body, lead, editor = clean_fragment(source.body, link or IMPORT_BASE)
    headimg = lead
    if not headimg and source.headimg and not NOT_LEAD_IMAGE.search(source.headimg):
        if source.headimg in source.body and source.headimg not in _qr_images(source.body):
            headimg = source.headimg
    if link:
        post_id = article_id(link)
    elif source.id and ID_PATTERN.match(source.id):
        post_id = source.id
    else:  # no URL to go by: the title and date identify the article
        key = f"{fold_line_breaks(source.title)}\n{source.date.isoformat()}"
        post_id = hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]
    return Post(
        title=source.title,
        date=source.date,
        body=body,
        link=link,
        id=post_id,
        categories=source.categories,
        headimg=headimg,
        author=source.author or "新浪财经",
        comments=source.comments,
        source=source.source,
        editor=source.editor or editor,
        tags=source.tags,
        updated=source.updated,
        feed=source.feed or IMPORT_FEED,
    )


def _qr_images(body: str) -> set[str]:
    block = re.search(r"appendQr_wrap.*?</div>\s*</div>", body, re.S)
    return set(re.findall(r"src=[\"']([^\"']+)", block.group(0))) if block else set()


def import_tree(
    source: Path,
    root: Path,
    *,
    progress: Callable[[Sequence[Path]], Iterable[Path]] = list,
) -> ImportReport:
    """Import every ``*.md`` file under ``source`` (recursively) into the archive at ``root``.

    Idempotent: importing the same tree again writes nothing. A file that is not a post is
    reported in the result and skipped. Raises ArchiveError when ``source`` is not a folder.
    """
    source, root = Path(source), Path(root)
    if not source.is_dir():
        raise ArchiveError(f"cannot import {source}: not a folder")
    report = ImportReport()
    with Index.for_root(root) as index:
        for path in progress(sorted(p for p in source.rglob("*.md") if p.is_file())):
            name = path.relative_to(source).as_posix()
            try:
                post = imported_post(read_post(path))
            except (PostFormatError, ArchiveError) as exc:
                report.broken.append(BrokenPost(name, str(exc)))
                continue
            result = store_post(root, index, post)
            if result.status in ("unchanged", "healed"):
                report.unchanged += 1
                continue
            report.imported += 1
    return report
