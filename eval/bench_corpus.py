"""``python -m eval.bench --corpus DIR --queries FILE``: the engine on any folder of documents.

Builds an index of the folder (timed; passages, sentences per 1,000 characters, index size and the
sentence vectors' share of it) and runs known-item retrieval (does a passage of the right document come
first, in the top 5, in the top 10?) in each mode, by language when the queries say it.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

from .common import p50_p95_ms


class QueriesError(ValueError):
    """A queries file that cannot be used; the message names the line."""


def load_queries(path: str | Path, doc_ids: set[str]) -> list[dict]:
    """Known-item queries from a JSON Lines file: ``{"question": ..., "doc": "<doc id>"}`` per line
    (``"docs": [...]`` for several acceptable documents, optional ``"lang"``), or lines of the
    evaluation's test-set format, whose ``answers`` give the documents (unanswerable ones are skipped).

    Raises:
        QueriesError: a line that is not such an object, or names an unknown document.
    """
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise QueriesError(f"{path}, line {n}: not JSON ({exc})") from None
        if not isinstance(item, dict) or not isinstance(item.get("question"), str) or not item["question"].strip():
            raise QueriesError(f"{path}, line {n}: needs a \"question\" string")
        docs = item.get("docs") or ([item["doc"]] if "doc" in item else [a.get("doc") for a in item.get("answers", [])
                                                                         if isinstance(a, dict)])
        if not docs:
            if item.get("answerable") is False:
                continue
            raise QueriesError(f"{path}, line {n}: needs \"doc\" (the document that answers)")
        unknown = [d for d in docs if d not in doc_ids]
        if unknown:
            raise QueriesError(f"{path}, line {n}: unknown document {unknown[0]!r}")
        out.append({"question": item["question"], "docs": set(docs), "lang": str(item.get("lang", ""))})
    if not out:
        raise QueriesError(f"{path}: no query")
    return out


def known_item(retriever, queries: list[dict], modes=("keyword", "dense", "hybrid"), k: int = 10) -> dict:
    """Document-level known-item retrieval: for each mode (and language), the share of queries with a
    passage of a right document at rank 1, in the top 5 and in the top 10, MRR@10, and latency."""
    out = {}
    for mode in modes:
        firsts, times = [], []
        for q in queries:
            t = time.perf_counter()
            passages = retriever.search(q["question"], k=k, mode=mode)
            times.append(time.perf_counter() - t)
            firsts.append(next((i + 1 for i, p in enumerate(passages) if p.doc_id in q["docs"]), None))

        def block(idx):
            fs = [firsts[i] for i in idx]
            n = max(1, len(fs))
            return {"queries": len(fs), "recall@1": round(sum(f == 1 for f in fs if f) / n, 4),
                    "recall@5": round(sum(f <= 5 for f in fs if f) / n, 4),
                    "recall@10": round(sum(f is not None for f in fs) / n, 4),
                    "mrr@10": round(sum(1 / f for f in fs if f) / n, 4)}

        res = block(range(len(queries)))
        res["p50_ms"], res["p95_ms"] = (round(v, 2) for v in p50_p95_ms(times))
        res["by_lang"] = {lang: block([i for i, q in enumerate(queries) if q["lang"] == lang])
                          for lang in sorted({q["lang"] for q in queries if q["lang"]})}
        out[mode] = res
    return out


def build_cost(retriever, corpus_dir: str | Path, seconds: float) -> dict:
    """What the index of a corpus cost: time, passages, sentences per 1,000 characters, bytes and the
    share of them taken by sentence vectors."""
    from rag.corpus.documents import load_corpus
    from rag.text.cleaning import clean_document

    docs = load_corpus(corpus_dir)
    chars = sum(len(d.text) for d in docs)
    cleaned = [clean_document(d.text) for d in docs]
    clean = sum(len(c.text) for c in cleaned)
    headings = sum(b.kind == "heading" for c in cleaned for b in c.blocks)
    lines = sum(d.text.count("\n") + 1 for d in docs)
    folder = retriever.index_folder
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    sent_bytes = (folder / "sentences.npy").stat().st_size if (folder / "sentences.npy").exists() else 0
    n_sent = retriever.manifest.get("counts", {}).get("sentences") or 0
    return {"documents": len(docs), "characters": chars, "clean_characters": clean, "lines": lines,
            "chunks": len(retriever.chunks), "sentences": n_sent, "headings": headings,
            "chunks_with_section": sum(bool(c.section) for c in retriever.chunks),
            "sentences_per_1000_chars": round(1000 * n_sent / max(1, clean), 3),
            "build_seconds": round(seconds, 1), "index_bytes": size,
            "sentence_vector_share": round(sent_bytes / max(1, size), 3)}


def bench_corpus(args) -> dict:
    """``--corpus DIR --queries FILE``: build an index of any folder of documents (in ``--index-dir``,
    by default a temporary folder), report its build cost and known-item retrieval."""
    from rag import Retriever, Settings
    from rag.corpus.documents import load_corpus

    index_dir = Path(args.index_dir) if args.index_dir else Path(tempfile.mkdtemp(prefix="rag-bench-"))
    settings = Settings.from_env(corpus_dir=str(args.corpus), index_dir=str(index_dir))
    queries = load_queries(args.queries, {d.doc_id for d in load_corpus(settings.corpus_dir)})
    try:
        t = time.perf_counter()
        r = Retriever.from_settings(settings, rebuild=True)
        cost = build_cost(r, settings.corpus_dir, time.perf_counter() - t)
        result = {"corpus": Path(args.corpus).name, "embedder": r.embedder.name, "build": cost,
                  "known_item": known_item(r, queries)}
        if args.baseline:
            from .evaluate import NaiveBaseline

            t = time.perf_counter()
            base = NaiveBaseline(settings.corpus_dir, r.embedder, None)
            result["baseline"] = {"chunks": len(base.chunks), "build_seconds": round(time.perf_counter() - t, 1),
                                  "bytes": int(base.vectors.nbytes)}
    finally:
        if not args.index_dir:
            shutil.rmtree(index_dir, ignore_errors=True)
    print_corpus(result)
    return result


def print_corpus(res: dict) -> None:
    b = res["build"]
    print(f"\n== corpus {res['corpus']}: {b['documents']} documents, {b['characters']:,} characters in "
          f"{b['lines']:,} lines, embedder {res['embedder']}")
    print(f"build {b['build_seconds']} s: {b['chunks']:,} passages, {b['sentences']:,} sentences "
          f"({b['sentences_per_1000_chars']} per 1,000 clean characters); index {b['index_bytes'] / 2**20:.1f} MB, "
          f"sentence vectors {100 * b['sentence_vector_share']:.0f} %; {b['headings']:,} headings, "
          f"{b['chunks_with_section']:,} passages with a section path")
    if "baseline" in res:
        base = res["baseline"]
        print(f"naive 1000/200 baseline: {base['chunks']:,} chunks, built in {base['build_seconds']} s")
    print("known-item retrieval (a passage of the right document):")
    print("    mode     R@1    R@5    R@10   MRR@10  p50 ms  " + "  ".join(
        f"R@10 {lang}" for lang in next(iter(res["known_item"].values()))["by_lang"]))
    for mode, m in res["known_item"].items():
        langs = "  ".join(f"{v['recall@10']:.3f}  " for v in m["by_lang"].values())
        print(f"  {mode:>8}  {m['recall@1']:.3f}  {m['recall@5']:.3f}  {m['recall@10']:.3f}  {m['mrr@10']:.3f}"
              f"  {m['p50_ms']:>6.1f}  {langs}")
