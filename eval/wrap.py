"""``python -m eval.wrap SRC DST``: a hard-wrapped rendering of a corpus folder.

Text extracted from PDF, and plain-text documents in general, break every line
at 60 to 100 columns. This writes a copy of a corpus where each paragraph line
is wrapped at a width drawn between ``--min`` and ``--max`` columns (a list
item's continuation lines are indented under its text, as word processors do);
headings, table rows, blank lines and markdown hard breaks are left as they
are, and so is ``metadata.toml``; with ``--plain`` the heading marks are dropped
too (``# Titre`` becomes ``Titre``), as in text extracted from a PDF. The rendering only turns spaces into line
breaks, so every quote of the original is still in the copy up to white space
(the evaluation's relevance rule folds white space), and the same test set can
be run on both.

    python -m eval.wrap corpus /tmp/wrapped
    RAG_CORPUS_DIR=/tmp/wrapped RAG_INDEX_DIR=/tmp/wrapped-index python -m eval --out /tmp/res
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import sys
import textwrap
from pathlib import Path

ITEM = re.compile(r"^\s*(?:[-*+•▪◦]|\d{1,3}[.)])\s+")
KEEP = re.compile(r"^\s*(?:#|\||$)|\t|  $")
HEADING_MARK = re.compile(r"^#{1,6}\s+")


def wrap_text(text: str, rng: random.Random, low: int = 60, high: int = 100, plain: bool = False) -> str:
    """``text`` with each long line broken at a width drawn from ``low``..``high`` per line
    (``plain``: markdown heading marks dropped first, as in text extracted from a PDF)."""
    out = []
    for line in text.split("\n"):
        if plain:
            line = HEADING_MARK.sub("", line)
        if KEEP.search(line) or len(line) <= low:
            out.append(line)
            continue
        m = ITEM.match(line)
        lead = len(line) - len(line.lstrip())
        indent = " " * (m.end() if m else lead)
        out.extend(textwrap.wrap(line, width=rng.randint(low, high), initial_indent="", subsequent_indent=indent,
                                 break_long_words=False, break_on_hyphens=False, expand_tabs=False,
                                 replace_whitespace=False, drop_whitespace=True) or [line])
    return "\n".join(out)


def wrap_corpus(src: Path, dst: Path, seed: int = 0, low: int = 60, high: int = 100,
                plain: bool = False) -> list[Path]:
    """Write the hard-wrapped rendering of every ``*.md``/``*.txt`` file of ``src`` into ``dst``
    (``plain``: as ``.txt`` files without markdown heading marks)."""
    rng = random.Random(seed)
    dst.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(src.iterdir()):
        if path.is_symlink() or not path.is_file():
            continue
        if path.suffix.lower() in (".md", ".txt"):
            target = dst / (path.stem + ".txt" if plain else path.name)
            target.write_text(wrap_text(path.read_text(encoding="utf-8"), rng, low, high, plain), encoding="utf-8")
            written.append(target)
        elif path.name == "metadata.toml":
            shutil.copyfile(path, dst / path.name)
    return written


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.wrap", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("src", type=Path, help="corpus folder to render")
    p.add_argument("dst", type=Path, help="folder to write (created)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--min", type=int, default=60, dest="low", help="narrowest line (default: %(default)s)")
    p.add_argument("--max", type=int, default=100, dest="high", help="widest line (default: %(default)s)")
    p.add_argument("--plain", action="store_true",
                   help="write .txt files without markdown heading marks (headings must then be found in the text)")
    args = p.parse_args(argv)
    if not args.src.is_dir():
        print(f"error: not a folder: {args.src}", file=sys.stderr)
        return 2
    if not 10 <= args.low <= args.high:
        print("error: need 10 <= --min <= --max", file=sys.stderr)
        return 2
    files = wrap_corpus(args.src, args.dst, args.seed, args.low, args.high, args.plain)
    print(f"wrote {len(files)} files to {args.dst}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
