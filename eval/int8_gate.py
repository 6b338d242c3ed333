"""Does the 8-bit build path keep the quality? ``python -m eval.int8_gate`` answers with figures.

    python -m eval.int8_gate            # prints the table (about 6 minutes)
    python -m eval.int8_gate --readme   # also writes it into docs/performance.md (<!-- int8:start --> block)

The real corpus is built twice into temporary folders (the committed index is not touched), its passages embedded
exactly (ONNX Runtime, float32) and by the 8-bit weights on OpenVINO (``Settings.int8_passages``), with the same
settings and calibration and the same exact question vectors. Each index is judged as ``python -m eval`` judges the
engine: hybrid retrieval (R@1, R@5, MRR@10) and the answer step, on the tune and the held-out halves of the test set.
The 8-bit path passes when none of R@5, MRR@10, the first and any quoted sentence right and the answerable
questions declined is worse than the exact index's by more than ``TOLERANCE``, on either half (the speed issue's
bar, read as a bar on losses: one question of the held-out half's 186 answerable ones moves a share by 0.0054, so
two that the 8-bit index gets right and the exact one does not would otherwise fail it); R@1 is shown beside
them. The builds' seconds are measured in this process (a fresh ``python -m rag build`` also loads its libraries:
``python -m eval.bench`` has those).
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

from rag import Retriever, Settings
from rag.corpus.documents import load_corpus
from rag.embedding.caching import CachedEmbedder

from . import answers
from .common import update_readme
from .evaluate import engine_qrels, run_engine, summarize
from .testset import load_testset

HERE = Path(__file__).resolve().parent
TOLERANCE = 0.01
# (key, label, gated, higher is better)
RETRIEVAL = (("recall@1", "R@1", False, True), ("recall@5", "R@5", True, True), ("mrr@10", "MRR@10", True, True))
ANSWERS = (("first_sentence_right", "first quoted sentence right", True, True),
           ("any_sentence_right", "some quoted sentence right", True, True),
           ("answerable_wrongly_declined", "answerable questions declined", True, False))
SPLITS = ("tune", "heldout")


def judge(settings: Settings, cases, cache: Path) -> dict:
    """Build the index of ``settings`` and its figures per split (and the build's seconds)."""
    started = time.perf_counter()
    retriever = Retriever.from_settings(settings)
    seconds = time.perf_counter() - started
    embedder = CachedEmbedder(retriever.embedder, cache)
    embedder.prime([c.question for c in cases])
    r = retriever.replace(embedder=embedder)
    run = run_engine(r, cases, "hybrid", 10, engine_qrels(r, cases))
    outcomes = answers.run(r, cases)
    out = {"build_s": round(seconds, 1), "embedder": retriever.manifest["embedder"]}
    for split in SPLITS:
        chosen = [c for c in cases if c.split == split]
        out[split] = {**summarize(run, chosen)["overall"],
                      **answers.summarize([o for o in outcomes if o.case.split == split])}
    return out


def table(exact: dict, int8: dict) -> tuple[str, bool]:
    """The markdown comparison and whether no gated figure is worse by more than ``TOLERANCE``."""
    lines = [f"| measure | split | exact passages | 8-bit passages | difference | gate: no worse than {TOLERANCE} |",
             "|---|---|---:|---:|---:|---|"]
    passed = True
    for key, label, gated, higher_better in RETRIEVAL + ANSWERS:
        for split in SPLITS:
            a, b = exact[split][key], int8[split][key]
            worse = (a - b) if higher_better else (b - a)
            ok = worse <= TOLERANCE + 1e-9
            passed &= ok or not gated
            lines.append(f"| {label} | {split} | {a:.3f} | {b:.3f} | {b - a:+.3f} | "
                         f"{('passes' if ok else '**fails**') if gated else 'not gated'} |")
    lines += ["", f"Real-corpus build in this process: {exact['build_s']} s exact, {int8['build_s']} s 8-bit. "
              f"Indexes `{exact['embedder']}` and `{int8['embedder']}`; "
              f"{exact['tune']['answerable'] + exact['heldout']['answerable']} answerable questions of "
              f"{exact['tune']['cases'] + exact['heldout']['cases']}. "
              f"**No gated figure worse by more than {TOLERANCE} on either half: {'yes' if passed else 'no'}** "
              "(`python -m eval.int8_gate`)."]
    return "\n".join(lines), passed


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.int8_gate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--readme", action="store_true", help="write the table into docs/performance.md")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    base = Settings.from_env()
    cases = load_testset(HERE / "testset.jsonl", {d.doc_id: d.text for d in load_corpus(base.corpus_dir)})
    with tempfile.TemporaryDirectory(prefix="int8-gate-") as tmp:
        figures = {kind: judge(base.replace(index_dir=str(Path(tmp) / kind), shipped_index="off",
                                            int8_passages=kind), cases, HERE / ".cache")
                   for kind in ("off", "auto")}
    if not figures["auto"]["embedder"].endswith(":int8-passages"):
        print("error: the 8-bit path is not available here (see the log line above); nothing to compare")
        return 1
    text, _ = table(figures["off"], figures["auto"])
    print(text)
    if args.readme:
        update_readme(text, "<!-- int8:start -->", "<!-- int8:end -->")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
