"""Helpers shared by the evaluation scripts (python -m eval, eval.bench, eval/load_app.py, eval/load_test.py)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def update_readme(summary: str, start: str = "<!-- eval:start -->", end: str = "<!-- eval:end -->") -> None:
    """Replace the README's block between the ``start`` and ``end`` markers with ``summary``."""
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    if start not in text or end not in text:
        print(f"note: {readme} has no {start} ... {end} block; not updated", file=sys.stderr)
        return
    head, rest = text.split(start, 1)
    tail = rest.split(end, 1)[1]
    readme.write_text(f"{head}{start}\n{summary.strip()}\n{end}{tail}", encoding="utf-8")
    print(f"updated {readme}")
