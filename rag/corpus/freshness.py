"""Is the index older than the corpus? A cheap watch on the corpus folder for a running app."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from rag.corpus.documents import corpus_fingerprint, corpus_stat

log = logging.getLogger("rag")

CHECK_SECONDS = 2.0  # how often the folder is looked at (a stat of each file)


class CorpusWatch:
    """The corpus files that differ from those an index was built from.

    Cheap: at most every :data:`CHECK_SECONDS`, one ``stat`` per file; the files are hashed again only when a
    name, size or modification time moved. Thread-safe.

    Args:
        corpus_dir: the corpus folder.
        built: per file name, the fingerprint the index recorded (its manifest's ``corpus``).
    """

    def __init__(self, corpus_dir: str | Path, built: dict[str, str]) -> None:
        self._dir, self._built = corpus_dir, dict(built)
        self._lock = threading.Lock()
        self._checked = time.monotonic()
        self._stat = corpus_stat(corpus_dir)
        self._changed = self._compare()

    def changed(self) -> list[str]:
        now = time.monotonic()
        if now - self._checked < CHECK_SECONDS:
            return self._changed
        with self._lock:
            if now - self._checked >= CHECK_SECONDS:
                stat = corpus_stat(self._dir)
                if stat != self._stat:
                    self._stat = stat
                    self._changed = self._compare()
                self._checked = time.monotonic()
        return self._changed

    def _compare(self) -> list[str]:
        try:
            now = corpus_fingerprint(self._dir)
        except Exception:  # noqa: BLE001 (the folder itself is gone: everything changed)
            now = {}
        changed = sorted(n for n in set(self._built) | set(now) if self._built.get(n) != now.get(n))
        if changed:
            log.warning("corpus: changed since the index was built (%s); serving the index as built",
                        ", ".join(changed[:5]) + (" …" if len(changed) > 5 else ""))
        return changed
