"""Folders of files derived once from the bundled model (a converted checkpoint, an exported graph), kept in the
user's cache and trusted only through their stamp.

A stamp (a JSON file in the folder) records what the folder was made from (the keys a caller wants, such as the
source's SHA-256 and the maker's version) and the SHA-256 of every other file in it. :func:`stamp_problem` says why
a folder cannot be used (missing, made from something else, a file changed, added or missing);
:func:`ensure_folder` makes it again in that case, atomically (a crash leaves the old folder or none, never half of
one), one process at a time per cache folder, and removes the folders of the same kind made from other sources.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Callable

from rag.core.files import sha256_file

log = logging.getLogger("rag")


def write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def stamped_files(folder: Path, stamp: str) -> list[Path]:
    """Every file of ``folder`` but its stamp, in a stable order."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != stamp)


def stamp_problem(folder: Path, stamp: str, want: dict, need: tuple[str, ...] = ()) -> str | None:
    """Why ``folder`` cannot be used, or None when its stamp holds ``want`` and the keys ``need`` and every file
    checksum in it matches."""
    try:
        record = json.loads((folder / stamp).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "not made yet"
    except (OSError, ValueError) as exc:
        return f"{stamp} unreadable ({exc.__class__.__name__})"
    if not isinstance(record, dict):
        return f"{stamp} is not a JSON object"
    for key, value in want.items():
        if record.get(key) != value:
            return f"{key} is {record.get(key)!r}, now {value!r}"
    for key in need:
        if not isinstance(record.get(key), dict):
            return f"no {key} recorded"
    files = record.get("files") if isinstance(record.get("files"), dict) else {}
    present = {str(p.relative_to(folder)) for p in stamped_files(folder, stamp)}
    for name in sorted(set(files) | present):
        if name not in files:
            return f"{name} is not in {stamp}"
        if name not in present:
            return f"{name} is missing"
        if sha256_file(folder / name) != files[name]:
            return f"{name}: checksum mismatch"
    return None


def read_stamp(folder: Path, stamp: str) -> dict:
    """The stamp of ``folder`` (call after :func:`stamp_problem` returned None)."""
    return json.loads((folder / stamp).read_text(encoding="utf-8"))


def ensure_folder(folder: Path, stamp: str, want: dict, make: Callable[[Path], dict], *, need: tuple[str, ...] = (),
                  kind: str, announce: str) -> Path:
    """``folder``, made by ``make`` when :func:`stamp_problem` finds it unusable.

    Args:
        folder: where the files live; its parent is the cache folder (created if needed).
        stamp: the stamp's file name.
        want: what the stamp must record (written into it with the files' checksums).
        make: writes the files into the folder it is given and returns more to record (e.g. reference vectors).
        need: keys ``make`` must have recorded.
        kind: the name prefix shared by the folders of this kind; the others in the cache folder are removed.
        announce: logged (with the reason) before a make: what happens, its size and time.

    Raises:
        OSError: the folder cannot be written.
    """
    if stamp_problem(folder, stamp, want, need) is None:
        return folder
    cache = folder.parent
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        problem = stamp_problem(folder, stamp, want, need)  # another process may have just made it
        if problem is None:
            return folder
        log.warning("embedder: %s (%s)", announce, problem)
        started = time.perf_counter()
        tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            tmp.mkdir(parents=True)
            extra = make(tmp)
            record = {**want, **extra, "files": {str(p.relative_to(tmp)): sha256_file(p)
                                                  for p in stamped_files(tmp, stamp)}}
            write_json(tmp / stamp, record)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        old = folder.with_name(f"{folder.name}.old-{os.getpid()}")
        if folder.exists():
            os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)
        log.warning("embedder: done in %.0f s", time.perf_counter() - started)
        for p in cache.iterdir():  # the same kind of folder made from another source or version
            if p.name.startswith(kind) and p.name != folder.name:
                shutil.rmtree(p, ignore_errors=True)
    return folder
