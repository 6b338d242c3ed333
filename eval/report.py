"""Writing the results: metrics.json, report.md, summary.md, failures and the plot."""

from __future__ import annotations

import json
from pathlib import Path

from .evaluate import BASELINE, CURVE_K, HEADLINE

COLUMNS = (*HEADLINE, "unanswerable_abstained", "answerable_wrongly_abstained")
LABELS = {
    "recall@1": "R@1", "recall@5": "R@5", "recall@10": "R@10", "mrr@10": "MRR@10", "ndcg@10": "nDCG@10",
    "unanswerable_abstained": "unans. abstained", "answerable_wrongly_abstained": "ans. wrongly abstained",
    "passage_recall@5": "passage R@5",
}


def _fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def table(summary: dict, split: str, part: str = "overall", columns=COLUMNS) -> str:
    """A markdown table, one row per mode, of ``summary[mode][split][part]``."""
    rows = ["| mode | " + " | ".join(LABELS.get(c, c) for c in columns) + " |",
            "|---|" + "---:|" * len(columns)]
    for mode, by_split in summary.items():
        if split not in by_split:
            continue
        m = by_split[split][part]
        rows.append(f"| {mode} | " + " | ".join(_fmt(m.get(c)) for c in columns) + " |")
    return "\n".join(rows)


def breakdown(summary: dict, split: str, key: str,
              columns=("cases", "answerable", *HEADLINE, "unanswerable_abstained",
                       "answerable_wrongly_abstained")) -> str:
    rows = [f"| mode | {key[3:]} | " + " | ".join(LABELS.get(c, c) for c in columns) + " |",
            "|---|---|" + "---:|" * len(columns)]
    for mode, by_split in summary.items():
        if split not in by_split:
            continue
        for group, m in by_split[split][key].items():
            rows.append(f"| {mode} | {group} | " + " | ".join(_fmt(m.get(c)) for c in columns) + " |")
    return "\n".join(rows)


def metrics_json(summary: dict, split: str) -> dict:
    """``{"<mode>": {"recall@5": ..., ...}}`` for the headline split."""
    out = {}
    for mode, by_split in summary.items():
        if split in by_split:
            out[mode] = {k: v for k, v in by_split[split]["overall"].items()}
    return out


def plot(summary: dict, split: str, path: Path) -> None:
    """Recall@k for k = 1..10 per mode, and the abstention trade-off curves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for mode, by_split in summary.items():
        if split not in by_split:
            continue
        m = by_split[split]["overall"]
        ax1.plot(CURVE_K, [m.get(f"recall@{k}", 0) for k in CURVE_K], marker="o", ms=3, label=mode,
                 linestyle="--" if mode == BASELINE else "-")
        curve = by_split[split]["curve"]
        if curve:
            ax2.plot([c[2] for c in curve], [c[1] for c in curve], label=mode, drawstyle="steps-post")
            thr = m.get("threshold")
            if thr is not None and m.get("answerable_wrongly_abstained") is not None:
                ax2.scatter([m["answerable_wrongly_abstained"]], [m["unanswerable_abstained"]], s=25, zorder=3)
    ax1.set(xlabel="k", ylabel="Recall@k (relevant passage in top k)", title=f"Recall@k ({split})",
            ylim=(0, 1.02), xticks=list(CURVE_K))
    ax1.grid(alpha=0.3)
    ax1.legend()
    ax2.axvline(0.05, color="grey", linestyle=":", linewidth=1)
    ax2.set(xlabel="answerable wrongly abstained", ylabel="unanswerable abstained",
            title=f"Abstention trade-off ({split}; dots: current threshold)", xlim=(-0.02, 1.02), ylim=(-0.02, 1.02))
    ax2.grid(alpha=0.3)
    ax2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def failures_md(failures: list[dict], split: str, modes=("hybrid",)) -> str:
    lines = [f"# Failures ({split} split; modes: {', '.join(modes)})", "",
             "Answerable questions with no relevant passage in the top 5, answerable questions the "
             "engine abstained on, and unanswerable questions it answered. All modes and splits are in "
             "`failures.jsonl`.", ""]
    for f in failures:
        if f["mode"] not in modes or (split != "all" and f["split"] != split):
            continue
        lines.append(f"## {f['id']} [{f['mode']}] ({f['lang']}, {f['kind']}): {', '.join(f['reasons'])}")
        lines.append("")
        lines.append(f"**Question:** {f['question']}  ")
        conf = f"{f['confidence']:.2f}" if f["confidence"] is not None else "–"
        lines.append(f"first relevant rank: {f['first_relevant_rank'] or 'none'}; relevant chunks in index: "
                     f"{f['relevant_in_index'] if f['relevant_in_index'] is not None else '–'}; confidence: {conf}")
        lines.append("")
        for g in f["gold"]:
            lines.append(f"- gold `{g['doc']}`: « {g['quote']} »")
        for i, h in enumerate(f["top3"], 1):
            mark = "✔" if h["relevant"] else "✘"
            lines.append(f"- top {i} {mark} `{h['doc']}` — {h['section'] or '–'}: {h['text'][:200]}…")
        lines.append("")
    return "\n".join(lines) + "\n"


def write_all(result: dict, out: Path, split: str, meta: dict) -> dict[str, Path]:
    """Write every output file into ``out``; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    summary = result["summary"]
    paths = {
        "metrics": out / "metrics.json",
        "details": out / "details.json",
        "report": out / "report.md",
        "summary": out / "summary.md",
        "plot": out / "retrieval.png",
        "failures_md": out / "failures.md",
        "failures_jsonl": out / "failures.jsonl",
        "answers_plot": out / "answers.png",
        "answers_jsonl": out / "answers.jsonl",
    }
    paths["metrics"].write_text(json.dumps(metrics_json(summary, split), indent=2) + "\n", encoding="utf-8")
    details = {"meta": meta, "headline_split": split, "unreachable": result["unreachable"],
               "summary": {m: {s: {k: v for k, v in d.items() if k != "curve"} for s, d in bs.items()}
                           for m, bs in summary.items()},
               "curves": {m: {s: d["curve"] for s, d in bs.items()} for m, bs in summary.items()}}
    paths["details"].write_text(json.dumps(details, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    plot(summary, split, paths["plot"])
    with open(paths["failures_jsonl"], "w", encoding="utf-8") as fh:
        for f in result["failures"]:
            fh.write(json.dumps(f, ensure_ascii=False) + "\n")
    paths["failures_md"].write_text(failures_md(result["failures"], split), encoding="utf-8")
    answers_plot(result["answers"], split, paths["answers_plot"])
    with open(paths["answers_jsonl"], "w", encoding="utf-8") as fh:
        for row in result["answer_details"]:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    paths["report"].write_text(report_md(result, split, meta), encoding="utf-8")
    paths["summary"].write_text(summary_md(summary, split, meta, paths["plot"], result["answers"]), encoding="utf-8")
    return paths


ANSWER_ROWS = (
    ("answer_reachable", "a returned passage holds the answer (answerable; the ceiling of the two below)"),
    ("first_sentence_right", "first quoted sentence holds the answer (answerable)"),
    ("any_sentence_right", "some quoted sentence holds the answer (answerable)"),
    ("answerable_wrongly_declined", "answerable questions wrongly declined"),
    ("on_topic_unanswerable_declined", "on-topic unanswerable questions declined (related or off_topic)"),
    ("off_topic_as_off_topic", "off-topic questions given off_topic"),
    ("first_right_when_answered", "first quoted sentence right, among answered answerable questions"),
    ("ece", "expected calibration error of the answer probability (10 bins)"),
)


def answers_table(answers: dict, split: str) -> str:
    """The answer-step figures of one split, and the outcomes by kind of question."""
    a = answers.get(split)
    if not a:
        return ""
    rows = ["| measure | value |", "|---|---:|"]
    rows += [f"| {label} | {_fmt(a.get(key))} |" for key, label in ANSWER_ROWS]
    for lv, name in (("high", "élevée"), ("medium", "moyenne"), ("low", "faible")):
        d = a["levels"][lv]
        rows.append(f"| answers labelled « {name} »: first sentence right (n) | {_fmt(d['precision'])} ({d['n']}) |")
    rows.append(f"| median answer time, ms (analysis, retrieval, extraction) | {_fmt(a.get('answer_ms_p50'))} |")
    rows.append(f"| question analyser (spaCy) loaded in a fresh process, s | {_fmt(a.get('analysis_load_s'))} |")
    rows += ["", "| questions | cases | answered | related | off_topic |", "|---|---:|---:|---:|---:|"]
    rows += [f"| {kind} | {d['cases']} | {_fmt(d['answered'])} | {_fmt(d['related'])} | {_fmt(d['off_topic'])} |"
             for kind, d in a["outcomes"].items()]
    return "\n".join(rows)


def answers_plot(answers: dict, split: str, path: Path) -> None:
    """Reliability diagram and risk-coverage curve of the answer step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a = answers.get(split) or {}
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    bins = a.get("reliability", [])
    ax1.plot([0, 1], [0, 1], ls="--", c="grey", lw=1)
    if bins:
        ax1.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], marker="o")
        for b in bins:
            ax1.annotate(str(b["n"]), (b["confidence"], b["accuracy"]), fontsize=7, xytext=(3, -9),
                         textcoords="offset points")
    ax1.set(xlabel="answer probability (first quoted sentence)", ylabel="share right", xlim=(0, 1), ylim=(0, 1.02),
            title=f"Reliability ({split}; ECE {_fmt(a.get('ece'))})")
    curve = a.get("risk_coverage", [])
    if curve:
        ax2.plot([c[1] for c in curve], [c[2] for c in curve])
    ax2.set(xlabel="coverage (share of questions answered)", ylabel="risk (share of answers wrong)",
            xlim=(0, 1), ylim=(0, 1), title="Risk-coverage")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _meta_lines(meta: dict) -> list[str]:
    ts = meta.get("testset", {})
    return [
        f"- test set: `{meta.get('testset_path')}` — {ts.get('cases')} cases, {ts.get('answerable')} answerable; "
        f"by split {ts.get('split')}; by language {ts.get('lang')}",
        f"- index: {meta.get('chunks')} chunks, embedder `{meta.get('embedder')}`; baseline: "
        f"{meta.get('baseline_chunks', '–')} chunks of 1000 characters (overlap 200), flat FAISS",
        "- settings: " + ", ".join(f"{k}={meta.get('settings', {}).get(k)}" for k in (
            "chunk_tokens", "chunk_overlap", "dense_weight", "dense_weight_en", "sentence_weight", "rrf_k",
            "topic_threshold", "answer_threshold", "confidence_high")),
    ]


DEFINITIONS = """Definitions. A passage is relevant when it comes from the gold document and contains the gold
quote (after normalising whitespace, apostrophes and markup; a long quote cut by a chunk boundary counts when
half of it is there). R@k: share of answerable questions with a relevant passage in the top k (ranx `hit_rate@k`);
MRR@10 and nDCG@10 from ranx over all relevant chunks of the index. Abstention columns use every question of the
split (the baseline has no abstention)."""


ANSWER_DEFINITIONS = """The answer step (hybrid, 5 passages). A quoted sentence is right when it holds a gold answer
span of the case (the shortest verbatim span that answers it, written by hand from the documents). A question is
declined when its outcome is `related` or `off_topic`; answer probabilities are calibrated on the tune half."""


def summary_md(summary: dict, split: str, meta: dict, plot_path: Path, answers: dict | None = None) -> str:
    split_label = "held-out" if split == "heldout" else split
    answer_part = [f"### Answer step ({split_label} split)", "", answers_table(answers, split), "", ANSWER_DEFINITIONS,
                   "", f"![Reliability and risk-coverage]({plot_path.with_name('answers.png').as_posix()})", ""] \
        if answers and answers.get(split) else []
    return "\n".join([*answer_part,
        f"### Retrieval evaluation ({split_label} split)",
        "",
        table(summary, split),
        "",
        DEFINITIONS,
        "",
        f"![Recall@k and abstention trade-off]({plot_path.as_posix()})",
        "",
        "Reproduce with `python -m eval` (see `eval/README.md`).",
        "",
    ])


def report_md(result: dict, split: str, meta: dict) -> str:
    summary = result["summary"]
    parts = ["# Retrieval evaluation", "", *_meta_lines(meta), "", DEFINITIONS, "",
             f"## Headline: {split} split", "", table(summary, split), ""]
    for name in ("heldout", "tune"):
        if result.get("answers", {}).get(name):
            parts += [f"## Answer step ({name} split)", "", answers_table(result["answers"], name), "",
                      ANSWER_DEFINITIONS, ""]
    parts += ["![Reliability and risk-coverage](answers.png)", "",
              "Every case's outcome and quoted sentences: `answers.jsonl`.", ""]
    for other in ("tune", "heldout", "all"):
        if other != split and any(other in bs for bs in summary.values()):
            parts += [f"## {other} split", "", table(summary, other), ""]
    parts += [f"## By language ({split})", "", breakdown(summary, split, "by_lang"), "",
              f"## By kind ({split})", "", breakdown(summary, split, "by_kind"), "",
              f"## Passage-level recall ({split})", "",
              "Share of all relevant chunks (overlapping chunks can both hold a quote; multi-document "
              "questions have several) found in the top k: ranx `recall@k`.", "",
              table(summary, split, columns=("passage_recall@5", "passage_recall@10")), ""]
    unreach = result["unreachable"]
    if any(unreach.values()):
        parts += ["## Quotes not found in any chunk", "",
                  *(f"- {name}: {', '.join(ids) or 'none'}" for name, ids in unreach.items()), ""]
    parts += ["## Plot", "", "![Recall@k and abstention trade-off](retrieval.png)", "",
              "Failures for error analysis: `failures.md` (hybrid) and `failures.jsonl` (every mode).", ""]
    return "\n".join(parts)
