"""Web pages (``.html``, ``.htm``): the main text (trafilatura), as markdown with its headings.

Menus, footers, scripts and styles are left out. A page with no main text (scripts only, an empty shell
filled by JavaScript) is refused with that reason.
"""

from __future__ import annotations

import trafilatura

from rag.corpus.readers import ReadError, ReadResult


def _decode(data: bytes) -> str:
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def read(data: bytes) -> ReadResult:
    """Read a web page (see the module docstring).

    Raises:
        ReadError: the page has no main text.
    """
    page = _decode(data)
    if not page.strip():
        raise ReadError("empty file")
    text = trafilatura.extract(page, output_format="markdown", include_formatting=True, include_tables=True,
                               include_comments=False, include_images=False, favor_recall=True, deduplicate=False)
    if not text or not text.strip():
        raise ReadError("no main text in this web page (scripts, styles or navigation only)")
    meta = trafilatura.extract_metadata(page)
    title = (meta.title or "") if meta else ""
    author = (meta.author or "") if meta else ""
    date = (meta.date or "") if meta else ""
    return ReadResult(text=text.strip() + "\n", title=title.strip(), author=author.strip(), date=date)
