"""The « À propos » tab: how the engine works, the index, and the evaluation results read from eval/results."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from rag.settings import ROOT
from ui.i18n import DEFAULT, date, number, text
from ui.i18n import size as i18n_size
from ui.render import dec, esc
from ui.strings_about import SUMMARY_EN, SUMMARY_FR, SUMMARY_FR_PARAGRAPHS

log = logging.getLogger("app")

EVAL_RESULTS = ROOT / "eval" / "results"

IMAGE_LINK = re.compile(r"^\s*!\[[^\]]*\]\(([^)\s]+)\)\s*$", re.MULTILINE)


def eval_plots(markdown: str, folder: Path = EVAL_RESULTS) -> list[Path]:
    """The images a summary links to that exist inside ``folder`` (shown with gr.Image, never by path)."""
    found = []
    for link in IMAGE_LINK.findall(markdown):
        for base in (folder, ROOT):
            path = (base / link).resolve()
            if path.is_file() and path.is_relative_to(folder.resolve()) and path not in found:
                found.append(path)
                break
    return found


def load_eval_summary(folder: Path = EVAL_RESULTS) -> tuple[str, str]:
    """('markdown', text) from summary.md (image links removed), ('metrics', html) from metrics.json, or
    ('none', '')."""
    summary, metrics = folder / "summary.md", folder / "metrics.json"
    try:
        if summary.is_file():
            return "markdown", IMAGE_LINK.sub("", summary.read_text(encoding="utf-8"))
        if metrics.is_file():
            data = json.loads(metrics.read_text(encoding="utf-8"))
            rows = []

            def walk(prefix, value):
                if isinstance(value, dict):
                    for k, v in value.items():
                        walk(f"{prefix}.{k}" if prefix else str(k), v)
                elif isinstance(value, (int, float, str, bool)) and len(rows) < 80:
                    shown = f"{value:.3f}" if isinstance(value, float) else str(value)
                    rows.append(f"<tr><td><code>{esc(prefix)}</code></td><td class='num'>{esc(shown)}</td></tr>")

            walk("", data)
            return "metrics", f"<table class='docs'><tbody>{''.join(rows)}</tbody></table>"
    except (OSError, ValueError):
        log.exception("could not read the evaluation results in %s", folder)
    return "none", ""


def summary_in(markdown: str, lang: str = DEFAULT) -> str:
    """The evaluation summary (English, from ``python -m eval``) in ``lang``: for French, its known paragraphs and
    table phrases in French and its decimal points as commas (``ui.strings_about``; a phrase not known stays
    English); for English, the labels' French names in English."""
    if lang != "fr":
        for french, english in SUMMARY_EN.items():
            markdown = markdown.replace(french, english)
        return markdown
    blocks = []
    for block in re.split(r"\n\s*\n", markdown):
        joined = " ".join(line.strip() for line in block.strip().splitlines())
        if joined in SUMMARY_FR_PARAGRAPHS:
            blocks.append(SUMMARY_FR_PARAGRAPHS[joined])
            continue
        lines = []
        for line in block.splitlines():
            for english in sorted(SUMMARY_FR, key=len, reverse=True):
                line = line.replace(english, SUMMARY_FR[english])
            if line.lstrip().startswith("|"):
                line = DECIMAL.sub(r"\1,\2", line)
            lines.append(line)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


DECIMAL = re.compile(r"(?<![\w.])(\d+)\.(\d+)(?![\w.])")


def render_about(info: dict, threshold: float, lang: str = DEFAULT) -> str:
    """How it works and the index, in ``lang``."""
    size = info.get("bytes") or 0
    rows = [("about_embedder", f'<code>{esc(info.get("embedder"))}</code>'),
            ("about_vectors", f'<code>{esc(info.get("vector_index"))}</code>'),
            ("about_built", esc(date(str(info.get("created") or "?"), lang, time=True))),
            ("about_counts", " · ".join(esc(number(int(info.get(k) or 0), lang))
                                        for k in ("documents", "chunks", "sentences"))),
            ("about_size", esc(i18n_size(size, lang, binary=False)))]
    table = "".join(f"<tr><td>{esc(text(key, lang))}</td><td>{value}</td></tr>" for key, value in rows)
    how = text("about_how", lang, documents=esc(info.get("documents")), threshold=dec(threshold, 2, lang))
    return (f'<div class="rag-result about">\n{how}\n<h3 class="sec-title">{esc(text("about_index", lang))}</h3>\n'
            f'<table class="docs"><tbody>\n{table}\n</tbody></table>\n</div>')
