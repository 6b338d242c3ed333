"""What the page says when it declines, and what a confidence label means, in the visitor's language.

The engine (``rag.answering.extraction``) writes these in French; an English page says the same from the same
facts: the fixed messages by identity, the « related » message from the answer's type and the words it searched
(read back from the engine's fixed French sentence), the label's note from its « N fois sur 10 ». None of them
quotes the visitor's question as if the corpus said it.
"""

from __future__ import annotations

import dataclasses
import html
import re
from typing import Sequence

from rag import Answer
from rag.answering.messages import (
    ABSENT_NAMES,
    INSTRUCTION_MESSAGE,
    OFF_TOPIC_MESSAGE,
    OTHER_LANGUAGE_MESSAGE,
    UNNAMED_COUNTRIES,
)
from ui.i18n import DEFAULT, text

FIXED = {OFF_TOPIC_MESSAGE: "off_topic", INSTRUCTION_MESSAGE: "instruction", OTHER_LANGUAGE_MESSAGE: "other_language"}
SEARCHED = re.compile(r"Mots cherchés, présents dans le corpus : (.+?)\. Essayez")
TIMES = re.compile(r"juste (\d+) fois sur 10")
LACKING = re.compile(rf"({re.escape(ABSENT_NAMES)}|{re.escape(UNNAMED_COUNTRIES)}) (.+?)\. (?=Aucune phrase)")


def decline_message(answer: Answer, lang: str = DEFAULT) -> str:
    """The engine's decline message in ``lang`` as HTML, escaped (French: as the engine wrote it; English: the words
    searched, the corpus's, marked ``lang="fr"``). A message this module does not know is shown as written."""
    message = answer.message or ""
    if lang == "fr":
        return html.escape(message)
    if message in FIXED:
        return html.escape(text(FIXED[message], lang))
    lacking = LACKING.match(message) if answer.status == "related" else None
    if lacking:  # what the question names and the corpus or the passages do not, then the usual message
        key = "related_absent" if lacking.group(1) == ABSENT_NAMES else "related_unnamed"
        names = f'<span lang="fr">{html.escape(lacking.group(2))}</span>'
        rest = dataclasses.replace(answer, message=message[lacking.end():])
        return html.escape(text(key, lang, names="\0")).replace("\0", names) + " " + decline_message(rest, lang)
    if answer.status == "related" and message.startswith("Aucune phrase des passages trouvés ne dit"):
        missing = answer.answer_type if f"missing_{answer.answer_type}" in _MISSING_KEYS else "other"
        found = SEARCHED.search(message)
        words = f'<span lang="fr">{html.escape(found.group(1))}</span>' if found else ""
        searched = " " + html.escape(text("related_searched", lang, words="\0")).replace("\0", words) if found else ""
        return (html.escape(text("related_missing", lang, what=text(f"missing_{missing}", lang))) + searched + " "
                + html.escape(text("related_try", lang)))
    return html.escape(message)


_MISSING_KEYS = {f"missing_{t}" for t in ("person", "organisation", "place", "date", "number", "reason",
                                          "definition", "list", "yesno", "other")}


def level_note(note: str, lang: str = DEFAULT) -> str:
    """What a confidence label means (« juste 8 fois sur 10 sur nos questions de test ») in ``lang``."""
    found = TIMES.search(note or "")
    if lang == "fr" or not found:
        return note or ""
    return text("level_note", lang, n=found.group(1))


def documents_searched(titles: Sequence[str] | None, lang: str = DEFAULT) -> str:
    """« Documents cherchés : … » as HTML (escaped; the titles, in the corpus's language, marked ``lang="fr"`` on
    an English page): ``titles`` None means every document."""
    if titles is None:
        shown = html.escape(text("all_documents", lang))
    else:
        mark = ' lang="fr"' if lang != "fr" else ""
        shown = ", ".join(f"<span{mark}>{html.escape(t)}</span>" for t in titles)
    label = html.escape(text("in_documents", lang, docs="\0")).replace("\0", shown)
    return f' <span class="searched-docs">{label}</span>'
