"""``python -m eval``: evaluate retrieval on a test set; see eval/README.md.

    python -m eval                              # all modes + baseline, headline split heldout
    python -m eval --testset other.jsonl --out /tmp/res --split all
    python -m eval --calibrate [--write]        # fit abstention on the tune split (--write: store it)
    python -m eval --tune                       # fusion settings grid on the tune split

The engine's settings come from ``RAG_*`` environment variables (for example
``RAG_CORPUS_DIR``, ``RAG_INDEX_DIR``, ``RAG_EMBEDDER``). Exit status: 0 on
success, 2 on a bad test set or bad options.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

from rag.settings import ROOT

from .common import marked_page, update_readme

HERE = Path(__file__).resolve().parent
DEFAULT_TESTSET = HERE / "testset.jsonl"
DEFAULT_OUT = HERE / "results"
DEFAULT_CACHE = HERE / ".cache"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m eval", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--testset", default=str(DEFAULT_TESTSET), help="JSON Lines test set (default: %(default)s)")
    p.add_argument("--modes", default="keyword,dense,hybrid,baseline",
                   help="comma-separated modes among keyword, dense, hybrid, baseline (default: %(default)s)")
    p.add_argument("--k", type=int, default=10, help="passages retrieved per question (>= 10; default: %(default)s)")
    p.add_argument("--out", default=str(DEFAULT_OUT), help="output folder (default: %(default)s)")
    p.add_argument("--split", default="heldout", choices=("tune", "heldout", "all"),
                   help="split of the headline table and metrics.json (all splits are computed; default: %(default)s)")
    p.add_argument("--cache", default=str(DEFAULT_CACHE),
                   help="cache of question and baseline vectors (default: %(default)s)")
    p.add_argument("--calibrate", action="store_true", help="fit the abstention model and threshold on tune")
    p.add_argument("--write", action="store_true",
                   help="with --calibrate: store the result in corpus/calibration.json (Settings.calibration_file)")
    p.add_argument("--tune", action="store_true", help="grid of dense_weight, sentence_weight, rrf_k on tune")
    p.add_argument("--readme", action="store_true",
                   help="also put the summary into docs/evaluation.md, between <!-- eval:start --> and "
                        "<!-- eval:end -->")
    p.add_argument("--store", default=None,
                   help="vector store (RAG_STORE): faiss, milvus://PATH.db, milvus://host:port, https://…; a Milvus "
                        "store keeps its build folders in .index-milvus/ unless RAG_INDEX_DIR is set")
    p.add_argument("--quiet", action="store_true", help="log warnings only")
    return p


class _BadInput(Exception):
    """Bad options, corpus or test set: the message is printed and the exit status is 2."""


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(name)s: %(message)s")
    from rag import Retriever, Settings

    from .evaluate import evaluate_all

    try:
        settings = _settings(args, Settings)
        modes, cases = _inputs(args, settings)
    except _BadInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    retriever = Retriever.from_settings(settings)
    load_seconds = time.perf_counter() - started
    if args.calibrate or args.tune:
        _fit(args, retriever, cases)
        return 0
    result = evaluate_all(retriever, cases, modes, k=args.k, cache_dir=args.cache)
    _report(args, retriever, cases, modes, result, load_seconds)
    return 0


def _settings(args, settings_class):
    """The settings from the environment, with ``--store``; a Milvus store never replaces the committed FAISS
    index (its build folders go to .index-milvus/ unless RAG_INDEX_DIR is set).

    Raises:
        _BadInput: a bad ``--store``.
    """
    try:
        settings = settings_class.from_env(store=args.store)
    except ValueError as exc:
        raise _BadInput(str(exc)) from None
    if settings.store != "faiss" and "RAG_INDEX_DIR" not in os.environ:
        settings = settings.replace(index_dir=str(ROOT / ".index-milvus"))
    return settings


def _inputs(args, settings) -> tuple[list[str], list]:
    """The modes and the test-set cases, all checked before any computing (``args.split`` falls back to all).

    Raises:
        _BadInput: bad ``--modes`` or ``--k``, an unreadable corpus or a bad test set.
    """
    from rag.corpus.documents import CorpusError, load_corpus

    from .evaluate import ALL_MODES
    from .testset import TestSetError, load_testset

    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    bad = [m for m in modes if m not in ALL_MODES]
    if bad or not modes:
        raise _BadInput(f"--modes must name some of {', '.join(ALL_MODES)}; got {args.modes!r}")
    if not 10 <= args.k <= 50:
        raise _BadInput("--k must be between 10 and 50")
    try:
        documents = {d.doc_id: d.text for d in load_corpus(settings.corpus_dir)}
    except CorpusError as exc:
        raise _BadInput(str(exc)) from None
    try:
        cases = load_testset(args.testset, documents)
    except TestSetError as exc:
        raise _BadInput(f"bad test set: {exc}") from None
    if args.split != "all" and not any(c.split == args.split for c in cases):
        print(f"note: no case in split {args.split!r}; the headline uses all cases", file=sys.stderr)
        args.split = "all"
    return modes, cases


def _fit(args, retriever, cases) -> None:
    """``--calibrate`` (``--write``: into Settings.calibration_file) and ``--tune``."""
    from .calibrate import calibrate, tune_fusion

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.calibrate:
        res = calibrate(retriever, cases, args.cache)
        (out / "calibration.json").write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
        print_calibration(res)
        if args.write:
            from rag.settings import CALIBRATED

            keep = {k: res[k] for k in CALIBRATED}
            target = Path(retriever.settings.calibration_file)
            target.write_text(json.dumps(keep, indent=2) + "\n", encoding="utf-8")
            print(f"wrote {target}")
    if args.tune:
        res = tune_fusion(retriever, cases, args.cache)
        (out / "tuning.json").write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
        print_tuning(res)


def _report(args, retriever, cases, modes: list[str], result: dict, load_seconds: float) -> None:
    """Write eval/results (or ``--out``), print the headline tables, and refresh docs/evaluation.md (``--readme``)."""
    from . import report
    from .evaluate import BASELINE
    from .testset import describe

    meta = {
        "testset_path": _relative(Path(args.testset)).as_posix(),
        "testset": describe(cases),
        "modes": modes,
        "k": result["k"],
        "embedder": retriever.embedder.name,
        "chunks": len(retriever.chunks),
        "baseline_chunks": result["runs"][BASELINE].extra["chunks"] if BASELINE in result["runs"] else None,
        "settings": {**json.loads(retriever.settings.to_json()),  # folders relative: no machine paths in results
                     **{k: _relative(Path(getattr(retriever.settings, k))).as_posix()
                        for k in PATH_SETTINGS if getattr(retriever.settings, k)}},
        "index_load_seconds": round(load_seconds, 2),
        "seconds": {m: round(run.seconds, 2) for m, run in result["runs"].items()},
    }
    paths = report.write_all(result, Path(args.out), args.split, meta)
    page = marked_page("<!-- eval:start -->", "<!-- eval:end -->") if args.readme else None
    # the summary's image links, relative to the page that shows them (docs/evaluation.md)
    plot_rel = Path(os.path.relpath(paths["plot"].resolve(), (page or ROOT / "README.md").parent))
    paths["summary"].write_text(report.summary_md(result["summary"], args.split, meta, plot_rel, result["answers"]),
                                encoding="utf-8")
    print(f"\n{args.split} split — {sum(c.split == args.split or args.split == 'all' for c in cases)} cases\n")
    print(report.table(result["summary"], args.split))
    print("\n" + report.answers_table(result["answers"], args.split))
    if result["unreachable"]["engine"]:
        print(f"\nnote: quotes of {', '.join(result['unreachable']['engine'])} are in no indexed chunk")
    print("\nwrote " + ", ".join(str(p) for p in paths.values()))
    if args.readme:
        update_readme(paths["summary"].read_text(encoding="utf-8"))


PATH_SETTINGS = ("corpus_dir", "index_dir", "shipped_index", "embed_cache", "upload_dir", "calibration_file",
                 "glossary_file")


def _relative(path: Path) -> Path:
    """``path`` from the repository, or from the home folder (``~/…``): never a machine's absolute path."""
    path = path.expanduser().resolve()
    for base, shown in ((ROOT, Path()), (Path.home(), Path("~"))):
        if path.is_relative_to(base):
            return shown / path.relative_to(base)
    return Path(path.name)


def print_calibration(res: dict) -> None:
    n = res["n_tune"]
    print(f"\nCalibration on tune ({n['answerable']} answerable, {n['unanswerable']} unanswerable questions; "
          f"{n['sentences']} candidate sentences, {n['right_sentences']} holding a gold answer)\n")
    print("AUC on tune (topic: on- vs off-topic questions; answer: right vs other candidate sentences):")
    for name, v in sorted(res["auc"].items(), key=lambda kv: (kv[0].split(":")[0], -kv[1])):
        print(f"  {v:.3f}  {name}")
    print(f"\ntopic_threshold = {res['topic_threshold']}, answer_threshold = {res['answer_threshold']}, "
          f"confidence_high = {res['confidence_high']}")
    for split in ("tune", "heldout"):
        if split in res:
            print(f"{split:8} " + ", ".join(f"{k} {v:.3f}" for k, v in res[split].items()))


def print_tuning(res: dict) -> None:
    print("\nFusion grid on tune (hybrid), best by MRR@10 + Recall@5 (top 10):")
    print("  dense_w  sent_w  rrf_k   R@1    R@5   MRR@10")
    for g in res["grid"][:10]:
        print(f"  {g['dense_weight']:>7}  {g['sentence_weight']:>6}  {g['rrf_k']:>5}  {g['tune_recall@1']:.3f}"
              f"  {g['tune_recall@5']:.3f}  {g['tune_mrr@10']:.3f}")
    cur = res["current"]
    if "tune_mrr@10" in cur:
        print(f"current ({cur['dense_weight']}, {cur['sentence_weight']}, {cur['rrf_k']}): "
              f"R@1 {cur['tune_recall@1']:.3f}"
              f"  R@5 {cur['tune_recall@5']:.3f}  MRR@10 {cur['tune_mrr@10']:.3f}")
    b = res["best"]
    print(f"\nbest: dense_weight = {b['dense_weight']}, sentence_weight = {b['sentence_weight']}, rrf_k = {b['rrf_k']}")
    if "heldout_best" in res:
        print(f"heldout with best:    {res['heldout_best']}")
        print(f"heldout with current: {res['heldout_current']}")


if __name__ == "__main__":
    sys.exit(main())
