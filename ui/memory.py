"""The app process's memory habits: what a small Space needs and a library must not decide for its callers.

Measured with ``python -m eval.load_test --hostile 0.5`` (the load table of docs/performance.md): each of these
takes tens to a hundred MB off the app's resident memory, at the same latency.
"""

from __future__ import annotations

import ctypes
import sys

_M_ARENA_MAX = -8  # malloc.h


def _libc():
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def skip_numba() -> None:
    """Keep numba (and LLVM, about 60 MB) out of the process: bm25s imports it when it is installed (the
    evaluation's ranx needs it), and the app's keyword search runs on bm25s's NumPy backend. Call before
    ``rag`` is imported."""
    sys.modules.setdefault("numba", None)  # a None entry makes ``import numba`` raise ImportError


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas: by default each of the server's threads may get its own, and under load
    their free space adds up. False where the C library is not glibc."""
    libc = _libc()
    return bool(libc and hasattr(libc, "mallopt") and libc.mallopt(_M_ARENA_MAX, arenas))


def release_free_memory() -> bool:
    """Give the heap's free pages back to the system (``malloc_trim``), e.g. after loading the models, whose
    files are parsed into short-lived objects. False where the C library is not glibc."""
    libc = _libc()
    return bool(libc and hasattr(libc, "malloc_trim") and libc.malloc_trim(0))
