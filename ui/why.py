"""« Pourquoi ce passage ? » on a card, and « Compris comme : … » above a follow-up's answer: pure rendering.

The signals come from the engine (``Answer.explanations``, said by ``rag.answering.explain.describe``); a follow-up
question is read by ``rag.text.followup.read_with``. Their words, in French and English, are in ``ui.strings``.
"""

from __future__ import annotations

import html

from rag.answering.explain import describe
from rag.core.types import Explanation
from ui.i18n import text


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
    return (f'<details class="why"><summary>{esc(text("why_title", lang))}</summary>'
            f'<p class="why-text">{said}</p></details>')


def render_understood(read: str, lang: str = "fr") -> str:
    """The note above a follow-up's answer: how the question was read (the page's button asks it as typed)."""
    return (f'<div class="rag-result"><p class="understood" role="status"><strong>{esc(text("understood", lang))}'
            f'</strong> <q>{esc(read)}</q> <span class="muted">{esc(text("understood_after", lang))}</span></p></div>')
