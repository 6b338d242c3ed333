"""« Pourquoi ce passage ? » on a card, and « Compris comme : … » above a follow-up's answer: pure rendering.

The signals come from the engine (``Answer.explanations``, said by ``rag.answering.explain.describe``); a follow-up
question is read by ``rag.text.followup.read_with``. Every text of the page is here in French and English.
"""

from __future__ import annotations

import html

from rag.answering.explain import describe
from rag.core.types import Explanation

TEXTS = {
    "why": {"fr": "Pourquoi ce passage ?", "en": "Why this passage?"},
    "understood": {"fr": "Compris comme :", "en": "Understood as:"},
    "after": {"fr": "(lu avec la question précédente)", "en": "(read with the previous question)"},
    "alone": {"fr": "Poser la question seule", "en": "Ask the question on its own"},
}


def text(key: str, lang: str = "fr") -> str:
    """The page's text ``key`` in ``lang`` (French for another language)."""
    entry = TEXTS[key]
    return entry.get(lang, entry["fr"])


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def render_why(expl: Explanation | None, lang: str = "fr") -> str:
    """A card's native, keyboard-operable « Pourquoi ce passage ? » disclosure (no script); empty without an
    explanation."""
    if expl is None:
        return ""
    said = esc(describe(expl, lang))
    if lang != "fr" and expl.words:  # the words found are the corpus's (French): marked so on an English page
        found = esc(", ".join(expl.words))
        said = said.replace(found, f'<span lang="fr">{found}</span>', 1)
    return (f'<details class="why"><summary>{esc(text("why", lang))}</summary>'
            f'<p class="why-text">{said}</p></details>')


def render_understood(read: str, lang: str = "fr") -> str:
    """The note above a follow-up's answer: how the question was read (the page's button asks it as typed)."""
    return (f'<div class="rag-result"><p class="understood" role="status"><strong>{esc(text("understood", lang))}'
            f'</strong> <q>{esc(read)}</q> <span class="muted">{esc(text("after", lang))}</span></p></div>')
