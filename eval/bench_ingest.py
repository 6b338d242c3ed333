"""``python -m eval.bench_ingest``: the time to add one document to the indexed corpus vs a full rebuild.

On a copy of the real corpus, in temporary folders, with the embedder loaded once (its load time is given
apart): a full build of the corpus; then one generated long document (``--pages`` pages of about 3,000
characters: sentences of the corpus under chapter and section headings, in an order of their own) is added
and the index updated incrementally (only its chunks are embedded); then a full rebuild of the corpus with
that document; then the document is removed (an update that embeds nothing). Printed, nothing asserted;
``python -m eval.bench`` runs it too. ``--readme`` puts the table into README.md between
``<!-- ingest:start -->`` and ``<!-- ingest:end -->``.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

PAGE_CHARS = 3000
DOC_ID = "document-genere-long"


def long_document(corpus_dir: Path, pages: int, seed: int = 12) -> str:
    """A markdown document of about ``pages`` × 3,000 characters made of the corpus's own sentences."""
    from rag.cleaning import clean_document
    from rag.corpus import load_corpus
    from rag.sentences import sentence_spans

    sentences = []
    for doc in load_corpus(corpus_dir):
        clean = clean_document(doc.text)
        for b in clean.blocks:
            if b.kind == "text":
                sentences += [clean.text[a:e] for a, e in sentence_spans(clean.text, b.start, b.end)
                              if 60 <= e - a <= 400 and not re.search(r"[#|*_\[\]<>]", clean.text[a:e])]
    rng = random.Random(seed)
    out, size, chapter = ["# Document généré pour la mesure d'ajout (bench)\n"], 0, 0
    while size < pages * PAGE_CHARS:
        if size // (PAGE_CHARS * 3) >= chapter:  # a chapter every three pages, sections within
            chapter += 1
            out.append(f"\n## Chapitre {chapter}\n")
        out.append(f"\n### Section {chapter}.{len(out) % 7 + 1}\n\n")
        paragraph = " ".join(rng.choice(sentences) for _ in range(rng.randint(3, 7)))
        out.append(paragraph + "\n")
        size += len(paragraph)
    return "".join(out)


def bench_ingest(pages: int = 30, settings=None, embedder=None) -> list[dict]:
    """Measure and print; returns the rows of ``python -m eval.bench``'s table."""
    from rag import Settings, build_index
    from rag.embedding import embedder_options, load_embedder
    from rag.store import load_index

    settings = settings or Settings.from_env()
    t = time.perf_counter()
    embedder = embedder or load_embedder(settings.embedder, settings.model, **embedder_options(settings))
    load_s = time.perf_counter() - t
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        corpus = work / "corpus"
        shutil.copytree(settings.corpus_dir, corpus, symlinks=True)
        live = settings.replace(corpus_dir=str(corpus), index_dir=str(work / "index"))

        def timed_build(s, incremental: bool) -> tuple[float, dict]:
            t = time.perf_counter()
            build_index(s, embedder, incremental=incremental)
            return time.perf_counter() - t, load_index(s).manifest

        base_s, base = timed_build(live, False)
        text = long_document(corpus, pages)
        (corpus / f"{DOC_ID}.md").write_text(text, encoding="utf-8")
        add_s, added = timed_build(live, True)
        full_s, full = timed_build(live.replace(index_dir=str(work / "index-full")), False)
        (corpus / f"{DOC_ID}.md").unlink()
        remove_s, removed = timed_build(live, True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    up = added["update"]
    n_base, n_full = base["counts"]["chunks"], full["counts"]["chunks"]
    print(f"\n== adding one document ({len(text):,} characters, about {len(text) / PAGE_CHARS:.0f} pages of "
          f"{PAGE_CHARS:,}) to the real corpus ({base['counts']['documents']} documents, {n_base} chunks); "
          f"embedder {embedder.name} (loaded in {load_s:.1f} s, not counted)")
    print(f"full build of the corpus        {base_s:6.1f} s  ({n_base} chunks embedded)")
    print(f"add the document (incremental)  {add_s:6.1f} s  ({up['embedded_chunks']} chunks and "
          f"{up['embedded_sentences']} sentences embedded, {len(up['reused'])} documents reused)")
    print(f"full rebuild with the document  {full_s:6.1f} s  ({n_full} chunks embedded): the update takes "
          f"{add_s / full_s:.0%} of it")
    print(f"remove it again (incremental)   {remove_s:6.1f} s  ({removed['update']['embedded_chunks']} chunks "
          "embedded)")
    what = f"add one {len(text) / PAGE_CHARS:.0f}-page document"
    return [{"what": "ingest: full build of the real corpus", "n": n_base, "seconds": round(base_s, 2)},
            {"what": f"ingest: {what} (incremental)", "n": up["embedded_chunks"], "seconds": round(add_s, 2)},
            {"what": "ingest: full rebuild with that document", "n": n_full, "seconds": round(full_s, 2)},
            {"what": "ingest: remove that document (incremental)", "n": 0, "seconds": round(remove_s, 2)}]


def markdown(rows: list[dict]) -> str:
    lines = ["| measure | chunks embedded | time (s) |", "|---|---:|---:|"]
    lines += [f"| {r['what'].removeprefix('ingest: ')} | {r['n']} | {r['seconds']:g} |" for r in rows]
    return "\n".join(lines) + "\n\nRegenerate with `python -m eval.bench_ingest --readme`.\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.bench_ingest", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pages", type=int, default=30, help="pages of the generated document (default: %(default)s)")
    p.add_argument("--json", help="also write the figures to this JSON file")
    p.add_argument("--readme", action="store_true",
                   help="also put the table into README.md, between <!-- ingest:start --> and <!-- ingest:end -->")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    rows = bench_ingest(args.pages)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    if args.readme:
        from .common import update_readme

        update_readme(markdown(rows), "<!-- ingest:start -->", "<!-- ingest:end -->")
    return 0


if __name__ == "__main__":
    sys.exit(main())
