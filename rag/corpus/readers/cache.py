"""What the readers found in a file, kept by the file's bytes: an index update reads again only what changed.

Reading a PDF, a Word file or a web page costs far more than hashing it (a scanned page takes about a second of OCR),
and an incremental update (``rag.index.build``) looks at every file of the corpus. The cache keys a
:class:`~rag.corpus.readers.ReadResult` by the file's format and SHA-256, the readers' version (``READERS_VERSION``),
the page limit and whether OCR can run here, so that any of these changing reads the file again. Entries are written
atomically (a temporary file, then a rename); a damaged entry is read again from the file. Plain text is never cached
(reading it is decoding it).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

from rag.core.files import write_text_atomic
from rag.corpus.readers import READERS_VERSION, ReadError, ReadResult, format_of, max_pages, ocr, read


class ReadCache:
    """Read results under ``folder`` (one JSON file each); ``used`` names the entries of this scan."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.used: set[str] = set()
        self.hits = self.misses = 0

    def _key(self, kind: str, data: bytes, pages_limit: int) -> str:
        parts = [kind, hashlib.sha256(data).hexdigest(), str(READERS_VERSION), str(pages_limit), ocr.why_unavailable()]
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()

    def read(self, name: str, data: bytes, *, pages_limit: int | None = None) -> ReadResult:
        """:func:`rag.corpus.readers.read`, or what it gave for the same bytes before.

        Raises:
            ReadError: the file cannot be read (refusals are not cached: they are read again).
        """
        kind = format_of(name)
        if kind in (None, "text"):
            return read(name, data, pages_limit=pages_limit)
        key = self._key(kind, data, pages_limit or max_pages())
        self.used.add(key)
        entry = self.folder / f"{key}.json"
        try:
            found = ReadResult(**{k: tuple(v) if isinstance(v, list) else v
                                  for k, v in json.loads(entry.read_text(encoding="utf-8")).items()})
            self.hits += 1
            return found
        except (OSError, ValueError, TypeError):
            pass  # not there yet, or damaged: read the file
        found = read(name, data, pages_limit=pages_limit)
        self.misses += 1
        self.folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(entry, json.dumps(dataclasses.asdict(found), ensure_ascii=False))
        return found

    def prune(self) -> int:
        """Remove the entries this scan did not use (files removed or changed since); returns how many."""
        removed = 0
        for p in self.folder.glob("*.json") if self.folder.is_dir() else ():
            if p.stem not in self.used:
                p.unlink(missing_ok=True)
                removed += 1
        return removed


__all__ = ["ReadCache", "ReadError"]
