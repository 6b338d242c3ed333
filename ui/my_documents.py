"""« Mes documents » in the reader, and « Annuler l'envoi »: the strings and the small pieces the handlers share.

A session's own documents open in the Corpus tab's reader like the corpus's (the card's « Lire dans le document »
and the reader's list, where they are labelled « M · titre (vos documents) »); only the session that uploaded a
document can read it: another gets ``TEXTS["not_yours"]``. An upload under way can be cancelled: its files are
taken back out, so the session's documents are exactly what they were before it (``ui.sessions.Sessions``).
"""

from __future__ import annotations

from rag.index.uploads import DOC_PREFIX
from ui.render import MINE_LETTER

CANCEL_WAIT = 20.0  # seconds « Annuler l'envoi » waits for the upload to have stopped before it answers
CANCEL_GROUP = "cancel"  # its concurrency group: never behind the uploads it cancels

# Every string the visitor reads, in French and English (``text`` picks one).
TEXTS = {
    "mine": {"fr": "{letter} · {title} (vos documents)", "en": "{letter} · {title} (your documents)"},
    "not_yours": {"fr": "Ce document n'est pas disponible : un document envoyé n'est lisible que dans la session "
                        "qui l'a envoyé (il a peut-être été effacé).",
                  "en": "This document is not available: an uploaded document can only be read in the session that "
                        "uploaded it (it may have been deleted)."},
    "cancel": {"fr": "Annuler l'envoi", "en": "Cancel the upload"},
    "cancelled": {"fr": "Envoi annulé : aucun de ses fichiers n'a été gardé ; vos documents sont tels qu'avant "
                        "l'envoi.",
                  "en": "Upload cancelled: none of its files was kept; your documents are as they were before it."},
    "cancelling": {"fr": "Annulation demandée : l'envoi s'arrête à sa prochaine étape, sans rien garder.",
                   "en": "Cancellation requested: the upload stops at its next step and keeps nothing."},
    "none": {"fr": "Aucun envoi en cours.", "en": "No upload under way."},
}


def text(key: str, lang: str = "fr") -> str:
    """One of ``TEXTS`` in ``lang`` (French for any other)."""
    entry = TEXTS[key]
    return entry.get(lang, entry["fr"])


def is_upload_id(doc_id) -> bool:
    return isinstance(doc_id, str) and doc_id.startswith(DOC_PREFIX)


def reader_choices(corpus: list[tuple[str, str]], mine, lang: str = "fr") -> list[tuple[str, str]]:
    """The reader's list: the corpus's documents, then the session's own (``DocumentInfo``), labelled as such."""
    return list(corpus) + [(text("mine", lang).format(letter=MINE_LETTER, title=d.title), d.doc_id) for d in mine]
