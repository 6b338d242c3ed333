"""``python -m eval.bench_ingest``: the time to add one document to the indexed corpus vs a full rebuild.

On a copy of the real corpus, in temporary folders, with the embedder loaded once (its load time is given
apart): a full build of the corpus; then one generated PDF (``--pages`` pages, written with fpdf2: sentences
of the corpus under chapter headings that are also its outline, in an order of their own) is added and the
index updated incrementally (only its chunks are embedded); then a full rebuild of the corpus with that
document; then the document is removed (an update that embeds nothing). Printed, nothing asserted;
``python -m eval.bench`` runs it too. ``--readme`` puts the table into docs/performance.md between
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

DOC_ID = "document-genere-long"


def corpus_sentences(corpus_dir: Path) -> list[str]:
    """Plain sentences of the corpus's text blocks (60 to 400 characters, no markup)."""
    from rag.corpus.documents import load_corpus
    from rag.text.cleaning import clean_document
    from rag.text.sentences import sentence_spans

    sentences = []
    for doc in load_corpus(corpus_dir):
        clean = clean_document(doc.text)
        for b in clean.blocks:
            if b.kind == "text":
                sentences += [clean.text[a:e] for a, e in sentence_spans(clean.text, b.start, b.end)
                              if 60 <= e - a <= 400 and not re.search(r"[#|*_\[\]<>]", clean.text[a:e])]
    return sentences


def long_pdf(corpus_dir: Path, pages: int, seed: int = 12) -> bytes:
    """A PDF of ``pages`` pages of the corpus's own sentences, a chapter (and outline entry) every 3 pages."""
    from fpdf import FPDF

    sentences = corpus_sentences(corpus_dir)
    rng = random.Random(seed)
    pdf = FPDF()
    pdf.core_fonts_encoding = "cp1252"  # « », — and ’ in the built-in fonts
    pdf.set_title("Document généré pour la mesure d'ajout (bench)")
    pdf.set_auto_page_break(False)
    for page in range(pages):
        pdf.add_page()
        if page % 3 == 0:
            pdf.set_font("Helvetica", style="B", size=13)
            pdf.start_section(f"Chapitre {page // 3 + 1}")
            pdf.cell(0, 9, f"Chapitre {page // 3 + 1}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=10)
        while pdf.get_y() < 200:  # about 4,000 characters a page, as in a UN document
            text = " ".join(rng.choice(sentences) for _ in range(rng.randint(3, 6)))
            pdf.multi_cell(0, 5, text.encode("cp1252", "replace").decode("cp1252"), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
    return bytes(pdf.output())


def bench_ingest(pages: int = 30, settings=None, embedder=None) -> list[dict]:
    """Measure and print; returns the rows of ``python -m eval.bench``'s table."""
    from rag import Settings, build_index
    from rag.embedding.loading import embedder_options, load_embedder
    from rag.index.folder import load_index

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
        data = long_pdf(corpus, pages)
        (corpus / f"{DOC_ID}.pdf").write_bytes(data)
        add_s, added = timed_build(live, True)
        chars = next(d.chars for d in load_index(live).documents if d.doc_id == DOC_ID)
        full_s, full = timed_build(live.replace(index_dir=str(work / "index-full")), False)
        (corpus / f"{DOC_ID}.pdf").unlink()
        remove_s, removed = timed_build(live, True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    up = added["update"]
    n_base, n_full = base["counts"]["chunks"], full["counts"]["chunks"]
    print(f"\n== adding one {pages}-page PDF ({len(data) / 1024:.0f} KB, {chars:,} characters of text) to the "
          f"real corpus ({base['counts']['documents']} documents, {n_base} chunks); "
          f"embedder {embedder.name} (loaded in {load_s:.1f} s, not counted)")
    print(f"full build of the corpus        {base_s:6.1f} s  ({n_base} chunks embedded)")
    print(f"add the document (incremental)  {add_s:6.1f} s  ({up['embedded_chunks']} chunks and "
          f"{up['embedded_sentences']} sentences embedded, {len(up['reused'])} documents reused)")
    print(f"full rebuild with the document  {full_s:6.1f} s  ({n_full} chunks embedded): the update takes "
          f"{add_s / full_s:.0%} of it")
    print(f"remove it again (incremental)   {remove_s:6.1f} s  ({removed['update']['embedded_chunks']} chunks "
          "embedded)")
    what = f"add one {pages}-page PDF"
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
                   help="also put the table into docs/performance.md, between <!-- ingest:start --> and "
                        "<!-- ingest:end -->")
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
