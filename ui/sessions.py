"""Each browser session's own documents: a private folder, a private collection, deleted when the session ends.

:class:`Sessions` keeps, per Gradio ``session_hash``, a :class:`rag.index.uploads.Collection` and a folder of its
own under one root folder (``Settings.upload_dir``, else the system's temp folder) that Gradio never serves.
An uploaded file is copied there under a generated name (``<random hex><extension>``), never the name the
client chose, and Gradio's own copy in its upload cache is deleted at once; the copy is deleted as soon as its
text is indexed (only the text is needed). A session's folder and collection are deleted when the session ends
(``end``: the page's ``unload`` event, when the browser tab closes), or when they have not been used for
``upload_ttl`` seconds (``sweep``, run by a background thread), or when the app closes (``close``).

What all sessions hold is bounded, and no visitor (client address) can take it all: the files being read by
``upload_budget`` bytes; the sessions by ``upload_max_sessions``, of which one visitor holds at most
``upload_visitor_sessions`` (past it, that visitor's own least recently used session gives way); the text held,
hence the passages and vectors, by ``upload_total_chars`` characters (past it, the least recently used other
sessions give way). A session that lost its documents is told at its next upload or question. The index a
session answers from (the shared one and its own documents, merged: a copy of the shared vectors, a few MB) is
kept for the ``MERGED_KEPT`` most recently used sessions only, and made again in a fraction of a second for
another.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from rag.index.uploads import Collection, UploadError, check_file, display_name, suffix_of
from ui.memory import release_free_memory

log = logging.getLogger("app")


def session_of(request) -> str | None:
    """The browser session's id Gradio gives a handler (None outside a request)."""
    value = getattr(request, "session_hash", None) if request is not None else None
    return value if isinstance(value, str) and value else None


@dataclass
class Upload:
    """One upload event under way in a session: ``cancel`` asks it to stop, ``done`` says it has."""

    cancel: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)


@dataclass
class Session:
    """One browser session's folder and collection."""

    folder: Path
    collection: Collection
    visitor: str = ""  # the client address that made it
    used: float = field(default_factory=time.monotonic)
    stored: int = 0  # bytes of this session's files on disk (being read)
    chars: int = 0  # characters of text its documents hold


class Sessions:
    """The registry of sessions that uploaded something. Thread-safe."""

    def __init__(self, retriever, settings=None, sweep_every: float | None = None,
                 upload_folder: str | Path | None = None) -> None:
        """Args:
            retriever: the shared corpus's retriever.
            settings: the upload limits (default: the retriever's settings).
            sweep_every: seconds between two sweeps of idle sessions (default: a quarter of ``upload_ttl``,
                at most a minute).
            upload_folder: where uploaded files arrive (default: Gradio's upload cache); a file from anywhere
                else is refused.
        """
        self.retriever = retriever
        self.upload_folder = Path(upload_folder) if upload_folder else None
        self.settings = settings or retriever.settings
        base = Path(self.settings.upload_dir) if self.settings.upload_dir else Path(tempfile.gettempdir())
        base.mkdir(parents=True, exist_ok=True)
        sweep_stale(base, self.settings.upload_ttl)
        self.root = Path(tempfile.mkdtemp(prefix=ROOT_PREFIX, dir=base))  # mode 0700
        (self.root / OWNER).write_text(str(os.getpid()), encoding="ascii")
        self._sessions: dict[str, Session] = {}
        self._evicted: OrderedDict[str, None] = OrderedDict()  # sessions that lost their documents, to tell them
        self._uploads: dict[str, Upload] = {}  # session -> its upload under way (« Annuler l'envoi » stops it)
        self._cancel_next: dict[str, float] = {}  # session -> when it cancelled an upload still waiting in the queue
        self._lock = threading.Lock()
        self._stop = threading.Event()
        every = sweep_every if sweep_every is not None else max(1.0, min(60.0, self.settings.upload_ttl / 4))
        self._sweeper = threading.Thread(target=self._sweep_loop, args=(every,), name="upload-sweep", daemon=True)
        self._sweeper.start()

    # ------------------------------------------------------------- lookups
    def get(self, session: str | None) -> Session | None:
        if not session:
            return None
        with self._lock:
            s = self._sessions.get(session)
            if s is not None:
                s.used = time.monotonic()
            return s

    def retriever_for(self, session: str | None):
        """The retriever that answers this session: the shared one, with its own documents when it has some."""
        s = self.get(session)
        if s is None:
            return self.retriever
        merged = s.collection.retriever()
        self._release_merged()
        return merged

    def _release_merged(self) -> None:
        """Past ``MERGED_KEPT`` sessions holding a merged index, the least recently used ones let theirs go."""
        with self._lock:
            holding = sorted((s for s in self._sessions.values() if s.collection.merged),
                             key=lambda s: s.used, reverse=True)
        if sum(s.collection.release() for s in holding[MERGED_KEPT:]):
            release_free_memory()

    def documents(self, session: str | None) -> list:
        s = self.get(session)
        return list(s.collection.documents) if s is not None else []

    def folders(self) -> list[Path]:
        """The sessions' private folders (for tests and for the operator)."""
        return sorted(p for p in self.root.iterdir() if p.is_dir())

    # ------------------------------------------------------------- adding
    def _session(self, session: str, visitor: str) -> Session:
        evicted = []
        with self._lock:
            s = self._sessions.get(session)
            if s is None:
                own = [k for k, v in self._sessions.items() if v.visitor == visitor]
                while len(own) >= self.settings.upload_visitor_sessions:  # this visitor's own oldest goes
                    oldest = min(own, key=lambda k: self._sessions[k].used)
                    own.remove(oldest)
                    evicted.append(self._evict_locked(oldest))
                while len(self._sessions) >= self.settings.upload_max_sessions:  # the least recently used goes
                    evicted.append(self._evict_locked(min(self._sessions, key=lambda k: self._sessions[k].used)))
                self._evicted.pop(session, None)
                folder = Path(tempfile.mkdtemp(prefix="s-", dir=self.root))
                s = self._sessions[session] = Session(folder, Collection(self.retriever), visitor)
            s.used = time.monotonic()
        self._drop(evicted)
        return s

    def _evict_locked(self, key: str) -> Session:
        """Take ``key``'s session out, remembering to tell it why (the caller holds the lock)."""
        self._evicted[key] = None
        while len(self._evicted) > EVICTED_KEPT:
            self._evicted.popitem(last=False)
        return self._sessions.pop(key)

    def _drop(self, evicted: list[Session]) -> None:
        for old in evicted:
            shutil.rmtree(old.folder, ignore_errors=True)
            log.info("uploads: a session gave way to another (caps: %d sessions, %d per visitor, %d characters); "
                     "it lost its %d document(s)", self.settings.upload_max_sessions,
                     self.settings.upload_visitor_sessions, self.settings.upload_total_chars, len(old.collection))
        if evicted:
            release_free_memory()

    def _make_room(self, keep: str) -> None:
        """Past ``upload_total_chars``, the least recently used sessions other than ``keep`` give way."""
        evicted = []
        with self._lock:
            others = sorted((k for k in self._sessions if k != keep), key=lambda k: self._sessions[k].used)
            while others and sum(v.chars for v in self._sessions.values()) > self.settings.upload_total_chars:
                evicted.append(self._evict_locked(others.pop(0)))
        self._drop(evicted)

    def was_evicted(self, session: str | None) -> bool:
        """Whether ``session`` lost its documents to make room for another (said once, then forgotten)."""
        if not session:
            return False
        with self._lock:
            if session not in self._evicted:
                return False
            del self._evicted[session]
            return True

    def _stored(self) -> int:
        with self._lock:
            return sum(s.stored for s in self._sessions.values())

    def held(self) -> tuple[int, int]:
        """The sessions holding documents and the characters of text they hold (for tests and the operator)."""
        with self._lock:
            return len(self._sessions), sum(s.chars for s in self._sessions.values())

    def add(self, session: str, path: str | Path, name: str, progress=None, visitor: str = "", cancelled=None):
        """Store one uploaded file for ``session`` of ``visitor`` (its client address), index it, delete the
        stored file. Returns its ``DocumentInfo``.

        ``path`` is Gradio's copy in its upload cache; it is deleted whatever happens. ``cancelled``: see
        ``Collection.add``.

        Raises:
            UploadError: the file is refused (see ``rag.index.uploads``), or ``budget``: the server's space for
                files being read is full, or ``cancelled``.
        """
        try:
            if not session:
                raise UploadError("no_session", display_name(name))
            s = self._session(session, visitor)
            if len(s.collection) >= self.settings.upload_max_files:
                raise UploadError("too_many", display_name(name), str(self.settings.upload_max_files))
            if not _inside(path, self.upload_folder or _gradio_uploads()):
                raise UploadError("unreadable", display_name(name), "not an upload")
            try:
                check_file(path, name, self.settings)  # type, size, leading bytes: before it is copied
                size = os.lstat(path).st_size
                if self._stored() + size > self.settings.upload_budget:
                    raise UploadError("budget", display_name(name))
                stored = s.folder / f"{os.urandom(8).hex()}{suffix_of(name)}"
                shutil.copyfile(path, stored, follow_symlinks=False)
            except OSError as exc:
                raise UploadError("unreadable", display_name(name), exc.strerror or type(exc).__name__) from None
            s.stored += size
            try:
                info = s.collection.add(stored, name, progress, cancelled)
            finally:  # only the text is needed from now on
                stored.unlink(missing_ok=True)
                s.stored -= size
            s.chars += info.chars
            self._make_room(keep=session)
            self.retriever_for(session)  # merged now, not at the session's next question
            return info
        finally:
            _discard_upload(path, self.upload_folder or _gradio_uploads())

    def remove(self, session: str | None, doc_ids) -> int:
        """Take some of a session's documents out (an upload cancelled after some of its files were in). Returns
        how many went."""
        s = self.get(session)
        if s is None:
            return 0
        removed = s.collection.remove(doc_ids)
        s.chars -= sum(d.chars for d in removed)
        self.retriever_for(session)
        return len(removed)

    def discard(self, path) -> None:
        """Delete Gradio's copy of an uploaded file that will not be read (an upload cancelled before it)."""
        _discard_upload(path, self.upload_folder or _gradio_uploads())

    # ------------------------------------------------------------- cancelling
    def begin_upload(self, session: str) -> Upload:
        """Register an upload under way for ``session`` (its ``cancel`` event is what « Annuler l'envoi » sets)."""
        job = Upload()
        with self._lock:
            self._uploads[session] = job
            asked = self._cancel_next.pop(session, None)
        if asked is not None and time.monotonic() - asked < CANCEL_KEPT:  # cancelled while it waited its turn
            job.cancel.set()
        return job

    def end_upload(self, session: str, job: Upload) -> None:
        with self._lock:
            if self._uploads.get(session) is job:
                del self._uploads[session]
        job.done.set()

    def cancel_upload(self, session: str | None, wait: float = 0.0, waiting: bool = False) -> bool | None:
        """Ask ``session``'s upload under way to stop, and wait up to ``wait`` seconds for it to have stopped
        (its files taken back out). Returns whether it has stopped; None when no upload was under way.

        ``waiting``: the session has an upload waiting in the queue, not started: it will stop as it starts (if
        within ``CANCEL_KEPT`` seconds), reading none of its files; returns False."""
        with self._lock:
            job = self._uploads.get(session) if session else None
            if job is None and waiting and session:
                self._cancel_next[session] = time.monotonic()
                while len(self._cancel_next) > EVICTED_KEPT:
                    self._cancel_next.pop(next(iter(self._cancel_next)))
                return False
        if job is None:
            return None
        job.cancel.set()
        return job.done.wait(wait)

    # ------------------------------------------------------------- ending
    def end(self, session: str | None) -> bool:
        """Forget a session: its collection and its folder. True when it had one."""
        if not session:
            return False
        with self._lock:
            s = self._sessions.pop(session, None)
        if s is None:
            return False
        shutil.rmtree(s.folder, ignore_errors=True)
        log.info("uploads: session ended, %d document(s) deleted", len(s.collection))
        release_free_memory()
        return True

    def sweep(self, now: float | None = None) -> int:
        """End the sessions unused for ``upload_ttl`` seconds. Returns how many."""
        now = time.monotonic() if now is None else now
        with self._lock:
            idle = [k for k, s in self._sessions.items() if now - s.used > self.settings.upload_ttl]
        return sum(self.end(k) for k in idle)

    def _sweep_loop(self, every: float) -> None:
        while not self._stop.wait(every):
            try:
                self.sweep()
            except Exception:  # noqa: BLE001 (the sweeper must outlive one failure; the log has it)
                log.exception("uploads: sweep failed")

    def close(self) -> None:
        """End every session and remove the root folder (the app is closing)."""
        self._stop.set()
        for k in list(self._sessions):
            self.end(k)
        shutil.rmtree(self.root, ignore_errors=True)


ROOT_PREFIX = "rag-uploads-"
EVICTED_KEPT = 10_000  # evicted sessions remembered (to tell them why their documents are gone)
CANCEL_KEPT = 600.0  # seconds a cancelled upload still waiting in the queue stays cancelled
MERGED_KEPT = 8  # sessions whose merged index is kept (each a copy of the shared vectors, a few MB)
OWNER = "owner.pid"  # the pid of the app whose root folder this is


def sweep_stale(base: Path, ttl: float) -> list[Path]:
    """Remove the upload roots in ``base`` that no running app owns (left by a crash or a kill): those whose owner
    process is gone, and, without an owner file (older apps), those untouched for ``ttl`` seconds. Returns them."""
    removed = []
    for root in base.glob(ROOT_PREFIX + "*"):
        try:
            if not root.is_dir() or root.is_symlink():
                continue
            try:
                owner = int((root / OWNER).read_text(encoding="ascii").strip())
            except (OSError, ValueError):
                owner = None
            if owner is not None and _alive(owner):
                continue
            if owner is None and time.time() - root.stat().st_mtime < ttl:
                continue
        except OSError:
            continue
        shutil.rmtree(root, ignore_errors=True)
        removed.append(root)
    if removed:
        log.info("uploads: removed %d folder(s) left by an app that is no longer running", len(removed))
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _gradio_uploads() -> Path:
    import gradio as gr

    return Path(gr.utils.get_upload_folder())


def _inside(path, folder: Path) -> bool:
    try:
        p, root = Path(path).resolve(), folder.resolve()
    except (OSError, RuntimeError, TypeError, ValueError):
        return False
    return p != root and p.is_relative_to(root)


def _discard_upload(path, folder: Path) -> None:
    """Delete the upload cache's copy of a file (and its folder, then empty): only the session's copy stays."""
    if not _inside(path, folder):
        return
    p = Path(path).resolve()
    try:
        p.unlink(missing_ok=True)
        if p.parent != folder.resolve():
            p.parent.rmdir()
    except OSError:  # a folder another upload still uses
        pass
