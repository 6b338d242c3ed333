"""The « À propos » tab: how the engine works, the index, and the evaluation results read from eval/results."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from rag.settings import ROOT
from ui.render import dec, esc

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


def render_about(info: dict, threshold: float) -> str:
    created = str(info.get("created") or "?").replace("T", " ").replace("+0000", " UTC")
    size = info.get("bytes") or 0
    size_text = f"{dec(size / 1e6, 1)} Mo" if size >= 1e6 else f"{dec(size / 1e3, 0)} ko"
    return (f"""<div class="rag-result about">
<h2>Comment ça marche</h2>
<ul>
<li><strong>Aucune génération.</strong> Les réponses sont des phrases citées telles quelles depuis les """
            f"""{esc(info.get("documents"))} documents
du corpus (textes officiels, études, presse) ; l'interface n'ajoute que des libellés fixes.</li>
<li><strong>Recherche hybride.</strong> Chaque passage (≈ 160 jetons) est classé par similarité sémantique (plongements
multilingues : une question en anglais trouve du texte français), par mots-clés (BM25) et par la similarité de sa
meilleure phrase ; les trois classements sont fusionnés (fusion des rangs réciproques).</li>
<li><strong>Lecture de la question.</strong> Langue, type de réponse attendu (personne, """
            f"""organisation, lieu, date, nombre,
définition, raison…) et termes sur lesquels porte la question.</li>
<li><strong>Réponse extraite.</strong> Une phrase des meilleurs passages n'est citée que si un modèle """
            f"""calibré sur des
questions d'essai lui donne une probabilité de répondre d'au moins {dec(threshold)}. Il pèse ses indices : proximité
avec la question, termes de la question qu'elle reprend, et la présence d'une expression du type attendu (une date pour
« quand », un nombre pour « combien », un nom pour « qui », un lieu pour « où »), qui compte sans être exigée. Une
phrase qui renvoie à la précédente (« Ceux-ci désignent… ») est citée avec elle. La confiance affichée (élevée,
moyenne, faible) dit combien de fois sur 10 les réponses ainsi étiquetées étaient justes sur nos questions de test.
Chaque phrase est reliée à son passage et à ses positions exactes dans le fichier source.</li>
<li><strong>Trois issues.</strong> Une réponse citée ; ou « le corpus en parle, mais ne répond pas à cette question »,
avec les passages sur le sujet repliés ; ou « le corpus ne traite pas de cette question » (aussi pour une demande
qui donne des consignes à l'assistant, ou une question ni en français ni en anglais).</li>
</ul>
<h3 class="sec-title">Index</h3>
<table class="docs"><tbody>
<tr><td>Modèle de plongements</td><td><code>{esc(info.get("embedder"))}</code></td></tr>
<tr><td>Index vectoriel</td><td><code>{esc(info.get("vector_index"))}</code></td></tr>
<tr><td>Construit le</td><td>{esc(created)}</td></tr>
<tr><td>Documents · passages · phrases</td><td>"""
            f"""{esc(info.get("documents"))} · {esc(info.get("chunks"))} · {esc(info.get("sentences"))}</td></tr>
<tr><td>Taille sur disque</td><td>{esc(size_text)}</td></tr>
</tbody></table>
</div>""")
