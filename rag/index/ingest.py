"""Add documents to the corpus folder and remove them, updating the index incrementally.

    add_documents(settings, ["~/Téléchargements/Rapport final (v2).md"])   # -> corpus/rapport-final-v2.md
    remove_document(settings, "rapport-final-v2")

A copied file is named from its own name, made safe: accents dropped, lower case, every run of characters
other than letters and digits turned into one hyphen (« Rapport final (v2).MD » → ``rapport-final-v2.md``). A
name with a path separator or a control character is refused, not repaired, and so is a name that would
replace a document already there, unless the caller says to replace it. The suffixes, size limit and reading
rules are ``rag.corpus.documents``'s: a file its reader cannot read is refused with the reader's reason before it is
copied, and one the corpus would still skip is removed again.
Files are written under a hidden temporary name and renamed, so the corpus never holds half a file.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from rag.corpus import documents as corpus
from rag.corpus.readers import ReadError
from rag.corpus.readers.cache import ReadCache
from rag.index.build import build_index
from rag.index.folder import live_folder
from rag.settings import Settings
from rag.text.folding import strip_accents

MAX_NAME_CHARS = 80  # of a generated document id


class IngestError(ValueError):
    """A file that cannot be added, or a document that cannot be removed; the message says which and why."""


@dataclass(frozen=True)
class Update:
    """What an add or a remove did: the corpus files it wrote or deleted and the index update it made."""

    files: tuple[str, ...]  # corpus file names added (or removed)
    doc_ids: tuple[str, ...]
    embedded_chunks: int  # chunks embedded by the update (those of the added documents)
    reused: int  # documents whose chunks and vectors were reused
    refused: tuple[str, ...] = ()  # one line per file not added, with the reason


def _shown(path: Path | str) -> str:
    """A path as one printable line (``repr`` when it holds control characters)."""
    text = str(path)
    return repr(text) if any(unicodedata.category(c).startswith("C") for c in text) else text


def _check_name(name: str, what: str) -> None:
    """Refuse a name with a path separator, a control or format character, or a leading dot."""
    if not name:
        raise IngestError(f"{_shown(what) or '(empty)'}: empty name")
    if "/" in name or "\\" in name or os.sep in name or (os.altsep and os.altsep in name):
        raise IngestError(f"{_shown(what)}: a name must not contain a path separator")
    bad = next((c for c in name if unicodedata.category(c).startswith("C")), None)
    if bad is not None:
        raise IngestError(f"{_shown(what)}: a name must not contain control characters (U+{ord(bad):04X})")
    if name.startswith("."):
        raise IngestError(f"{_shown(what)}: a name must not start with a dot")


def document_id(stem: str) -> str:
    """A safe document id made from a file stem: lower case, no accents, letters and digits joined by hyphens.

    Raises:
        IngestError: nothing usable is left (a stem of punctuation only).
    """
    plain = strip_accents(stem)
    slug = re.sub(r"[\W_]+", "-", plain.lower()).strip("-")[:MAX_NAME_CHARS].strip("-")
    if not slug:
        raise IngestError(f"{_shown(stem)}: no letter or digit to name the document by (give one with --name)")
    return slug


def corpus_name(source: Path, name: str | None = None) -> str:
    """The corpus file name for ``source`` (or for the document id ``name``), validated and made safe."""
    _check_name(source.name, str(source))
    where = _shown(source)
    suffix = source.suffix.lower()
    if suffix not in corpus.SUFFIXES:
        raise IngestError(f"{where}: the corpus reads {', '.join(corpus.SUFFIXES)} files, not {suffix or 'this'}")
    if name is not None:
        _check_name(name, name)
        return document_id(name) + suffix
    return document_id(source.stem) + suffix


def _existing(corpus_dir: Path) -> dict[str, Path]:
    """The corpus's document files by document id."""
    return {p.stem: p for p in corpus.document_paths(corpus_dir)}


def _read_source(source: Path) -> bytes:
    if not source.exists():
        raise IngestError(f"{_shown(source)}: no such file")
    if not source.is_file():
        raise IngestError(f"{_shown(source)}: not a regular file")
    size = source.stat().st_size
    if size > corpus.MAX_FILE_BYTES:
        raise IngestError(f"{_shown(source)}: too large to index ({size:,} bytes; "
                          f"the limit is {corpus.MAX_FILE_BYTES:,})")
    with open(source, "rb") as fh:
        data = fh.read(corpus.MAX_FILE_BYTES + 1)
    if len(data) > corpus.MAX_FILE_BYTES:
        raise IngestError(f"{_shown(source)}: too large to index (more than {corpus.MAX_FILE_BYTES:,} bytes)")
    return data


def _write(corpus_dir: Path, name: str, data: bytes, replace: bool) -> None:
    """Write ``data`` as ``corpus_dir / name`` through a hidden temporary file; never overwrite unless asked."""
    tmp = corpus_dir / f".{name}.{os.getpid()}.{os.urandom(3).hex()}.tmp"
    try:
        with open(tmp, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if replace:
            os.replace(tmp, corpus_dir / name)
        else:
            try:
                os.link(tmp, corpus_dir / name)  # fails if the name exists, even if it appeared just now
            except FileExistsError:
                raise IngestError(f"{name} is already in the corpus (replace it with --replace)") from None
    finally:
        tmp.unlink(missing_ok=True)


def _update(settings: Settings, progress: bool) -> dict:
    build_index(settings, progress=progress, incremental=True)
    return json.loads((live_folder(settings) / "manifest.json").read_text(encoding="utf-8"))


def add_documents(settings: Settings, paths: list[str | Path], name: str | None = None, replace: bool = False,
                  progress: bool = False) -> Update:
    """Copy files into the corpus folder and update the index, embedding only them.

    Args:
        settings: the corpus and index to add to.
        paths: the files to add (any suffix ``rag.corpus.documents`` reads).
        name: the document id to give the one file of ``paths`` (default: made from its file name).
        replace: replace a document of the same id instead of refusing.
        progress: show progress while embedding.

    Returns:
        What was added and embedded; ``refused`` names, with the reason, any file its reader cannot read (it
        is not copied) or that the corpus would not index (it is removed again and the index updated without it).

    Raises:
        IngestError: a bad name, a missing or too large file, a suffix the corpus does not read, a document id
            already taken (without ``replace``); nothing is copied then.
    """
    corpus_dir = Path(settings.corpus_dir)
    if not paths:
        raise IngestError("no file to add")
    if name is not None and len(paths) != 1:
        raise IngestError("--name gives the id of one file; add the files one at a time")
    existing = _existing(corpus_dir)
    plan: list[tuple[Path, str, bytes]] = []
    for raw in paths:
        source = Path(raw).expanduser()
        target = corpus_name(source, name)
        doc_id = Path(target).stem
        if any(doc_id == Path(t).stem for _, t, _ in plan):
            raise IngestError(f"{_shown(source)}: two files would both be document {doc_id!r}")
        old = existing.get(doc_id)
        if old is not None and source.resolve() == old.resolve():
            raise IngestError(f"{_shown(source)}: already the corpus file of document {doc_id!r}")
        if old is not None and not replace:
            raise IngestError(f"{_shown(source)}: document {doc_id!r} is already in the corpus ({old.name}); "
                              "replace it with --replace")
        plan.append((source, target, _read_source(source)))
    unreadable: list[str] = []
    reads = ReadCache(Path(settings.index_dir) / "reads")  # the build that follows finds what was read here
    for source, target, data in list(plan):  # a file the readers refuse is refused before it is copied
        try:
            reads.read(target, data)
        except ReadError as exc:
            unreadable.append(f"{_shown(source)}: {exc}")
            plan.remove((source, target, data))
    if not plan:
        return Update(files=(), doc_ids=(), embedded_chunks=0, reused=0, refused=tuple(unreadable))
    for _, target, data in plan:
        old = existing.get(Path(target).stem)
        _write(corpus_dir, target, data, replace)
        if old is not None and old.name != target:  # replaced by a file of another suffix
            old.unlink()
    manifest = _update(settings, progress)
    skipped = {s["file"]: s["reason"] for s in manifest.get("skipped", [])}
    refused = [(s, t) for s, t, _ in plan if t in skipped]
    if refused:
        for _, target in refused:
            (corpus_dir / target).unlink(missing_ok=True)
        _update(settings, progress)
    update = manifest.get("update", {})
    added = [(s, t) for s, t, _ in plan if t not in skipped]
    return Update(files=tuple(t for _, t in added), doc_ids=tuple(Path(t).stem for _, t in added),
                  embedded_chunks=int(update.get("embedded_chunks", 0)), reused=len(update.get("reused", [])),
                  refused=tuple(unreadable) + tuple(f"{_shown(s)}: {skipped[t]}" for s, t in refused))


def remove_document(settings: Settings, doc_id: str, progress: bool = False) -> Update:
    """Delete a document's file from the corpus folder and update the index without it.

    Raises:
        IngestError: a bad id, no such document, or the last document of the corpus.
    """
    _check_name(doc_id, doc_id)
    existing = _existing(Path(settings.corpus_dir))
    path = existing.get(doc_id)
    if path is None:
        known = ", ".join(sorted(existing)) or "none"
        raise IngestError(f"no document {doc_id!r} in {settings.corpus_dir} (documents: {known})")
    if len(existing) == 1:
        raise IngestError(f"{doc_id!r} is the only document of the corpus; an index needs one")
    path.unlink()
    manifest = _update(settings, progress)
    update = manifest.get("update", {})
    return Update(files=(path.name,), doc_ids=(doc_id,), embedded_chunks=int(update.get("embedded_chunks", 0)),
                  reused=len(update.get("reused", [])))
