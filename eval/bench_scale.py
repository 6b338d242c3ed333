"""``python -m eval.bench --scale``: the vector stores at 10k, 100k and 1M chunks, and the real corpus through each
store (about 8 minutes on 2 cores; ``--sizes 10000,100000`` for a quick look).

Synthetic corpora are built from the real index's own chunk and sentence vectors: each synthetic chunk is a real
vector plus Gaussian noise (norm ``--noise``, cosine about 0.9 to its source), renormalised, so the corpus is
clustered the way real passages are (uniform random vectors have no neighbours worth finding). The queries are the
test set's questions, embedded by the index's embedder. For each size: FAISS flat (exact, the ground truth),
FAISS HNSW with the engine's parameters (``rag.stores.faiss_vectors``: M, efConstruction, efSearch) and larger efSearch,
FAISS IVF-Flat (nlist = 4·√n, nprobe swept) and Milvus Lite (exact FLAT; its server as a child process):
build or insert time, query p50/p95 (one query at a time, k=10), recall@10 against exact search, memory (FAISS:
the index's bytes; Milvus: the server process's RSS).

Then the real corpus: hybrid search through the FAISS and the Milvus store (same passages, same offsets?), and
the keyword side: bm25s against Milvus full-text BM25 with Milvus's own French analyser, and the Milvus store's
BM25 over the engine's terms (``rag.stores.milvus_keyword``), by recall@5 on the test set's answerable questions.

    python -m eval.bench --scale [--sizes 10000,100000,1000000] [--queries 100] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _ms(times: list[float]) -> tuple[float, float]:
    a = np.asarray(times) * 1000
    return float(np.percentile(a, 50)), float(np.percentile(a, 95))


def synthetic(pool: np.ndarray, n: int, noise: float, seed: int = 0) -> np.ndarray:
    """``n`` unit vectors, each a random row of ``pool`` plus noise of norm about ``noise``."""
    rng = np.random.default_rng(seed)
    base = pool[rng.integers(0, len(pool), n)]
    x = base + rng.standard_normal(base.shape, dtype=np.float32) * (noise / np.sqrt(pool.shape[1]))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def exact_top(x: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    scores = q @ x.T
    top = np.argpartition(-scores, k, axis=1)[:, :k]
    return np.take_along_axis(top, np.argsort(-np.take_along_axis(scores, top, 1), 1), 1)


def recall_at(found: list[np.ndarray], truth: np.ndarray, k: int) -> float:
    return float(np.mean([len(set(f[:k].tolist()) & set(t[:k].tolist())) / k for f, t in zip(found, truth)]))


def _time_search(store, queries: np.ndarray, k: int) -> tuple[list[np.ndarray], list[float]]:
    found, times = [], []
    store.search(queries[0], k)  # warm
    for q in queries:
        t = time.perf_counter()
        rows, _ = store.search(q, k)
        times.append(time.perf_counter() - t)
        found.append(rows)
    return found, times


def _server_rss_mb(db: str) -> float:
    import psutil

    return sum(p.memory_info().rss for p in psutil.Process().children(recursive=True)
               if p.name() == "milvus" and db in " ".join(p.cmdline())) / 2**20


def bench_sizes(args, pool: np.ndarray, queries: np.ndarray, workdir: Path) -> list[dict]:
    from rag import Settings
    from rag.stores.faiss_vectors import HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH, HNSW_M, VectorIndex
    from rag.stores.milvus import MilvusVectors
    from rag.stores.milvus_connection import connect, disconnect, parse_target

    rows = []
    for n in args.sizes:
        x = synthetic(pool, n, args.noise, seed=n)
        truth = exact_top(x, queries, 10)
        for kind in ("flat", "hnsw"):
            t = time.perf_counter()
            index = VectorIndex.build(x, kind)
            build = time.perf_counter() - t
            path = workdir / f"{kind}-{n}.faiss"
            index.save(path)
            for ef in ((HNSW_EF_SEARCH, *args.ef_search) if kind == "hnsw" else (None,)):
                if ef is not None:
                    index._index.hnsw.efSearch = ef  # search-time only: the same graph
                found, times = _time_search(index, queries, 10)
                p50, p95 = _ms(times)
                params = (f"M={HNSW_M}, efConstruction={HNSW_EF_CONSTRUCTION}, efSearch={ef}"
                          + (" (the engine's)" if ef == HNSW_EF_SEARCH else "") if kind == "hnsw" else "exact")
                rows.append({"store": f"FAISS {kind}", "params": params, "n": n, "build_s": build, "p50_ms": p50,
                             "p95_ms": p95, "recall@10": recall_at(found, truth, 10),
                             "memory_mb": path.stat().st_size / 2**20})
                print(f"  {rows[-1]}", flush=True)
            path.unlink()
        rows += bench_ivf(args, x, queries, truth, n, workdir)
        settings = Settings(store=f"milvus://{workdir}/scale-{n}.db", milvus_collection="scale",
                            milvus_timeout=300.0)  # Milvus Lite takes seconds per batch of inserts
        db = parse_target(settings.store).uri
        t = time.perf_counter()
        connect(settings)
        start = time.perf_counter() - t
        idle = _server_rss_mb(db)
        t = time.perf_counter()
        store = MilvusVectors.create(settings, x, ["synthetic"] * n, [""] * n, "synthetic", batch=args.batch)
        build = time.perf_counter() - t
        found, times = _time_search(store, queries, 10)
        p50, p95 = _ms(times)
        rows.append({"store": "Milvus Lite", "params": f"FLAT, insert batches of {args.batch}", "n": n,
                     "build_s": build, "p50_ms": p50, "p95_ms": p95, "recall@10": recall_at(found, truth, 10),
                     "memory_mb": _server_rss_mb(db), "server_idle_mb": idle, "server_start_s": start})
        print(f"  {rows[-1]}", flush=True)
        disconnect(settings)
    return rows


def bench_ivf(args, x: np.ndarray, queries: np.ndarray, truth: np.ndarray, n: int, workdir: Path) -> list[dict]:
    """FAISS IVF-Flat: ``nlist`` = 4·√n lists trained on a sample of 64 per list, ``nprobe`` swept."""
    import faiss

    nlist = max(16, int(4 * np.sqrt(n)))
    t = time.perf_counter()
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(x.shape[1]), x.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
    sample = x[np.random.default_rng(0).choice(n, min(n, 64 * nlist), replace=False)]
    index.train(sample)
    index.add(x)
    build = time.perf_counter() - t
    path = workdir / f"ivf-{n}.faiss"
    faiss.write_index(index, str(path))
    rows = []
    for nprobe in args.nprobe:
        index.nprobe = nprobe
        found, times = [], []
        index.search(queries[:1], 10)  # warm
        for q in queries:
            t = time.perf_counter()
            _, ids = index.search(q.reshape(1, -1), 10)
            times.append(time.perf_counter() - t)
            found.append(ids[0])
        p50, p95 = _ms(times)
        rows.append({"store": "FAISS ivf", "params": f"IVF-Flat, nlist={nlist}, nprobe={nprobe}", "n": n,
                     "build_s": build, "p50_ms": p50, "p95_ms": p95, "recall@10": recall_at(found, truth, 10),
                     "memory_mb": path.stat().st_size / 2**20})
        print(f"  {rows[-1]}", flush=True)
    path.unlink()
    return rows


def _french_keyword(settings, texts: list[str], analyzer: dict, name: str):
    """A throwaway collection of ``texts`` with Milvus's own analyser, and its top-k BM25 search."""
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    from rag.stores.milvus import BM25
    from rag.stores.milvus_connection import connect

    conn = connect(settings)
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("text", DataType.VARCHAR, max_length=65535, enable_analyzer=True, analyzer_params=analyzer)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["text"],
                                 output_field_names=["sparse"]))
    params = MilvusClient.prepare_index_params()
    params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params=BM25)
    conn.call("create_collection", name, schema=schema, index_params=params, consistency_level="Strong")
    for a in range(0, len(texts), 1000):
        conn.call("insert", name, [{"pk": i, "text": texts[i]} for i in range(a, min(len(texts), a + 1000))])
    conn.call("flush", name)

    def top(q: str, k: int) -> list[int]:
        hits = conn.call("search", name, [q], limit=k, anns_field="sparse", search_params={"metric_type": "BM25"})
        return [int(h["id"]) for h in hits[0]]

    return top


def bench_real(args, testset: Path, workdir: Path) -> dict:
    """Hybrid search through each store on the real corpus, and the keyword engines side by side."""
    from rag import Retriever, Settings
    from rag.corpus.documents import load_corpus
    from rag.index.texts import keyword_text
    from rag.stores.milvus_connection import disconnect
    from rag.stores.milvus_keyword import french_analyzer
    from rag.text.analysis import STOPWORDS

    from .evaluate import engine_qrels
    from .testset import load_testset

    faiss = Retriever.from_settings(Settings.from_env())
    msettings = faiss.settings.replace(store=f"milvus://{workdir}/real.db", index_dir=str(workdir / "index"))
    milvus = Retriever.from_settings(msettings)
    cases = load_testset(testset, {d.doc_id: d.text for d in load_corpus(faiss.settings.corpus_dir)})
    same, times = 0, {"faiss": [], "milvus": []}
    for c in cases:
        out = {}
        for name, r in (("faiss", faiss), ("milvus", milvus)):
            r.search(c.question, k=10)  # the question's vector is cached: the timing is the search itself
            t = time.perf_counter()
            out[name] = [(p.doc_id, p.start, p.end) for p in r.search(c.question, k=10)]
            times[name].append(time.perf_counter() - t)
        same += out["faiss"] == out["milvus"]
    real = {"questions": len(cases), "same_passages_and_offsets": same,
            **{f"{name}_hybrid_p50_ms": _ms(t)[0] for name, t in times.items()},
            **{f"{name}_hybrid_p95_ms": _ms(t)[1] for name, t in times.items()}}

    data = faiss.index
    docs = {d.doc_id: d for d in data.documents}
    texts = [keyword_text(docs[ch.doc_id], ch.section, ch.text) for ch in data.chunks]
    answerable = [c for c in cases if c.answerable]
    qrels = engine_qrels(faiss, answerable)
    ids = [ch.chunk_id for ch in data.chunks]

    def recall5(top_of) -> float:
        return float(np.mean([bool(set(ids[i] for i in top_of(c.question)) & set(qrels[c.id])) for c in answerable]))

    t = time.perf_counter()
    native = _french_keyword(msettings, texts, french_analyzer(STOPWORDS), "kw_french")
    native_s = time.perf_counter() - t
    engine = milvus.index.keyword  # the Milvus store's own: BM25 on the server over the engine's terms
    keyword = {"bm25s_recall@5": recall5(lambda q: data.keyword.search(q, 5).rows.tolist()),
               "milvus_french_recall@5": recall5(lambda q: native(q, 5)),
               "milvus_on_bm25s_terms_recall@5": recall5(lambda q: engine.search(q, 5).rows.tolist()),
               "milvus_french_insert_s": native_s, "answerable": len(answerable)}
    disconnect(msettings)
    return {**real, **keyword}


def markdown(rows: list[dict], real: dict | None) -> str:
    out = ["| store | chunks | build / insert, s | query p50, ms | p95, ms | recall@10 | memory, MB |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r['store']} ({r['params']}) | {r['n']:,} | {r['build_s']:.1f} | {r['p50_ms']:.2f} | "
                   f"{r['p95_ms']:.2f} | {r['recall@10']:.3f} | {r['memory_mb']:.0f} |")
    if real:
        out += ["", f"Real corpus, {real['questions']} test-set questions, hybrid k=10: same passages and offsets "
                f"through both stores for {real['same_passages_and_offsets']}; search p50/p95 "
                f"{real['faiss_hybrid_p50_ms']:.1f}/{real['faiss_hybrid_p95_ms']:.1f} ms (FAISS), "
                f"{real['milvus_hybrid_p50_ms']:.1f}/{real['milvus_hybrid_p95_ms']:.1f} ms (Milvus Lite).",
                "",
                f"Keyword engines alone, recall@5 on {real['answerable']} answerable questions: bm25s "
                f"{real['bm25s_recall@5']:.3f}; Milvus BM25 with its French analyser "
                f"{real['milvus_french_recall@5']:.3f}; Milvus BM25 over bm25s's own terms "
                f"{real['milvus_on_bm25s_terms_recall@5']:.3f}."]
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.bench --scale", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="10000,100000,1000000", help="synthetic corpus sizes (default: %(default)s)")
    p.add_argument("--queries", type=int, default=100, help="test-set questions used as queries")
    p.add_argument("--noise", type=float, default=0.5, help="norm of the noise added to each real vector")
    p.add_argument("--ef-search", default="256,512", help="further HNSW efSearch values to measure")
    p.add_argument("--nprobe", default="8,32,128", help="FAISS IVF nprobe values to measure")
    p.add_argument("--batch", type=int, default=2000, help="Milvus insert batch (rows)")
    p.add_argument("--testset", default=str(HERE / "testset.jsonl"))
    p.add_argument("--skip-real", action="store_true")
    p.add_argument("--json", help="also write the figures to this JSON file")
    p.add_argument("--markdown", help="also write the table to this file")
    args = p.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    args.ef_search = [int(s) for s in args.ef_search.split(",") if s.strip()]
    args.nprobe = [int(s) for s in args.nprobe.split(",") if s.strip()]
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    from rag import Retriever, Settings
    from rag.corpus.documents import load_corpus

    from .testset import load_testset

    started = time.perf_counter()
    r = Retriever.from_settings(Settings.from_env())
    data = r.index
    pool = np.vstack([data.vectors.reconstruct(np.arange(len(data.chunks))), data.sentence_vectors])
    cases = load_testset(args.testset, {d.doc_id: d.text for d in load_corpus(r.settings.corpus_dir)})
    queries = np.asarray(r.embedder.encode_queries([c.question for c in cases][:args.queries]), np.float32)
    print(f"pool: {len(pool)} real vectors ({len(data.chunks)} chunks, {len(data.sentence_vectors)} sentences), "
          f"{len(queries)} queries", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="rag-scale-"))
    try:
        rows = bench_sizes(args, pool, queries, workdir)
        real = None if args.skip_real else bench_real(args, Path(args.testset), workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    table = markdown(rows, real)
    print("\n" + table + f"\nscale bench took {time.perf_counter() - started:.0f} s on {os.cpu_count()} cores")
    if args.json:
        Path(args.json).write_text(json.dumps({"sizes": rows, "real": real}, indent=2) + "\n", encoding="utf-8")
    if args.markdown:
        Path(args.markdown).write_text(table, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
