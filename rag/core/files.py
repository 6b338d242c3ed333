"""Files written whole or not at all, and their hashes: what every stage that writes to disk shares.

A file is written under a hidden temporary name in its own folder, then renamed over the target: a reader
sees the old file or the new one, never half of one, and a crash leaves at most a ``.tmp`` file behind.
"""

from __future__ import annotations

import hashlib
import os
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def temporary_name(path: str | Path, suffix: str = ".tmp") -> Path:
    """A hidden name beside ``path``, unique to this process and call (``suffix`` keeps a format's ending)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(3).hex()}{suffix}")


@contextmanager
def atomic_file(path: str | Path, mode: str = "wb", *, durable: bool = False,
                encoding: str | None = None) -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing; on a clean exit it replaces ``path`` (after an
    ``fsync`` when ``durable``), on an error it is removed and ``path`` is left as it was."""
    path = Path(path)
    tmp = temporary_name(path)
    try:
        with open(tmp, mode, encoding=encoding) as fh:
            yield fh
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: str | Path, text: str, *, durable: bool = False) -> None:
    """Replace ``path`` by ``text`` (UTF-8) in one rename."""
    with atomic_file(path, "w", durable=durable, encoding="utf-8") as fh:
        fh.write(text)
