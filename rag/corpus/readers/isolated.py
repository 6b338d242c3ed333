"""Reading an untrusted file in a worker process that cannot take the app down with it.

    result = read_isolated("rapport.pdf", data, max_chars=100_000, memory=1 << 30, seconds=30)

A visitor's upload is read by :func:`rag.corpus.readers.read` in a child Python process, with its address space
capped (``RLIMIT_AS``) and a wall-clock limit: a PDF whose content stream inflates to gigabytes, or a Word file
whose XML is padded to hundreds of megabytes, costs that child its memory and is killed; the app keeps its own,
and other visitors' files are read in their own processes meanwhile (no lock one file can hold for everyone).
The file comes in on the child's standard input and the result goes out as JSON on its standard output; a text
longer than ``max_chars`` is refused by the child, which stops there instead of sending it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from rag.corpus.readers import ReadError, ReadResult, TooLong, max_pages, read

__all__ = ["TooCostly", "TooLong", "read_isolated"]


class TooCostly(ReadError):
    """Reading the file took more memory or time than allowed; the worker was stopped."""


def _limit(memory: int, seconds: int):
    def apply() -> None:  # in the child, before it runs Python
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CPU, (seconds + 1, seconds + 1))
    return apply


def read_isolated(name: str, data: bytes, *, pages_limit: int | None = None, max_chars: int, memory: int,
                  seconds: int) -> ReadResult:
    """:func:`rag.corpus.readers.read` of ``data`` in a child process limited to ``memory`` bytes of address space
    and ``seconds`` of time (``pages_limit``: as for ``read``).

    Raises:
        ReadError: what the reader says of the file; :class:`TooLong` past ``max_chars`` characters;
            :class:`TooCostly` when the child ran out of memory or time (it is killed).
    """
    command = [sys.executable, "-m", "rag.corpus.readers.isolated", name, str(pages_limit or max_pages()),
               str(max_chars)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    try:
        done = subprocess.run(command, input=data, capture_output=True, timeout=seconds, env=env,
                              preexec_fn=_limit(memory, seconds) if os.name == "posix" else None)
    except subprocess.TimeoutExpired:
        raise TooCostly(f"reading it took more than {seconds} s (the limit for one file); it was stopped") from None
    if done.returncode != 0 or not done.stdout:
        raise TooCostly(f"reading it needed more than {memory // (1 << 20):,} MB of memory or {seconds} s of "
                        "time (the limits for one file); it was stopped")
    out = json.loads(done.stdout)
    if "too_long" in out:
        raise TooLong(f"more than {max_chars:,} characters of text")
    if "error" in out:
        raise ReadError(out["error"])
    return ReadResult(text=out["text"], pages=tuple(out["pages"]), ocr_pages=tuple(out["ocr_pages"]),
                      title=out["title"], author=out["author"], date=out["date"], notes=tuple(out["notes"]))


def _main(argv: list[str]) -> int:
    """The child: the file on standard input, one JSON object on standard output."""
    name, pages_limit, max_chars = argv[0], int(argv[1]), int(argv[2])
    data = sys.stdin.buffer.read()
    try:
        found = read(name, data, pages_limit=pages_limit, max_chars=max_chars)
    except TooLong:
        out: dict = {"too_long": max_chars}
    except ReadError as exc:
        out = {"error": str(exc)}
    except MemoryError:
        return 3  # the parent says the file needed too much memory
    else:
        out = {"text": found.text, "pages": list(found.pages), "ocr_pages": list(found.ocr_pages),
               "title": found.title, "author": found.author, "date": found.date, "notes": list(found.notes)}
    sys.stdout.write(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
