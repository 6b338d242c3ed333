"""What the engine says when it does not quote an answer: the « related » message, the off-topic one, and the
refusals of orders to the assistant and of questions in a third language (all in French; the page translates
them, ``ui.declines``)."""

from __future__ import annotations

import re
from typing import Sequence

from rag.text.folding import fold
from rag.text.question import Query

_MISSING = {
    "person": "qui", "organisation": "quel organisme", "place": "où", "date": "quand", "number": "combien",
    "reason": "pourquoi", "definition": "ce que cela signifie", "list": "lesquels", "yesno": "si c'est le cas",
    "other": "ce qui est demandé",
}


ABSENT_NAMES = "Aucun document ne nomme :"
UNNAMED_COUNTRIES = "Aucun des passages trouvés ne nomme :"


def related_message(query: Query, known=None, absent: Sequence[str] = (), unnamed: Sequence[str] = ()) -> str:
    """Plain French built only from fixed text and the question's own words, which it never puts between
    quotation marks (they would read as the corpus's): what is missing, the words searched, what to try. It says
    that no sentence says *clearly* what is asked: the answer model found none likely enough, which is not to say
    that none does (the most likely sentence of each passage is still highlighted below it).

    It says first what the question names and the corpus does not (``rag.answering.constraints``): ``absent``, the
    names no document holds (« Aucun document ne nomme : OTAN. »), else ``unnamed``, the countries the question
    names that none of the passages shown names (« Aucun des passages trouvés ne nomme : Brésil. »;
    ``constraints.unnamed_by_all``).

    The words searched are the focus words that have two letters or digits and, with ``known`` (a word → bool of
    the keyword index), occur in the corpus: not « x > » from markup, nor the words of an instruction the corpus
    never uses. For an English question they are the French words searched for it (the glossary's equivalents and
    its names), not its English words, which the French corpus may hold only by chance of spelling."""
    searched_for = query.focus_terms if query.lang == "en" else query.focus
    words = [w for w in searched_for if sum(c.isalnum() for c in w) >= 2 and (known is None or known(w))]
    searched = f" Mots cherchés, présents dans le corpus : {', '.join(words[:8])}." if words else ""
    lacking = f"{ABSENT_NAMES} {', '.join(absent)}. " if absent else \
        f"{UNNAMED_COUNTRIES} {', '.join(unnamed)}. " if unnamed else ""
    return (f"{lacking}Aucune phrase des passages trouvés ne dit clairement {_MISSING[query.answer_type]}.{searched} "
            "Essayez d'autres mots, la question en français ou en anglais, ou d'autres documents cherchés. Les "
            "passages les plus proches sont repliés ci-dessous.")


OFF_TOPIC_MESSAGE = ("Le corpus ne traite pas de cette question : aucun passage n'en est assez proche. "
                     "Les passages les moins éloignés sont repliés ci-dessous, à titre indicatif.")


# A prompt that gives the assistant orders (to forget its rules or the documents, answer from its own knowledge, play
# a part, write, translate, run markup) rather than asking what the documents say: off topic (on the folded text).
INSTRUCTION = re.compile(
    r"\b(?:ignore[sz]?|oublie[sz]?|disregard|forget|contourne[sz]?|bypass|override)\b.{0,40}\b(?:instructions?|"
    r"consignes?|regles?|rules?|prompts?|directives?|guidelines?)\b"
    r"|\b(?:ignore[sz]?|oublie[sz]?|disregard|forget)\b.{0,20}\b(?:ce qui precede|tout ce qui precede|"
    r"everything (?:above|before)|all (?:of the )?(?:above|previous))"
    r"|^\W*(?:please |s'il te plait,? )?(?:ignore[sz]?|oublie[sz]?|disregard|forget|set aside|laisse[sz]? de cote|"
    r"ne tiens? pas compte d)\b.{0,20}\b(?:documents?|corpus|sources?|textes?|passages?|context(?:e)?)\b"
    r"|\b(?:your own|your general|tes propres|vos propres|tes|vos) (?:knowledge|connaissances)\b|\bsans (?:tenir "
    r"compte|te servir|vous servir|utiliser) d(?:es|u) (?:documents?|corpus|sources?)\b"
    r"|\b(?:system prompt|prompt systeme|jailbreak|developer mode|mode developpeur)\b"
    r"|\b(?:you are now|from now on you|act as|pretend (?:to be|you)|roleplay|tu es maintenant|"
    r"a partir de maintenant,? tu|agis comme|fais comme si|joue le role)\b"
    r"|^\W*(?:ecris|redige|compose|genere|invente|traduis|raconte|write|compose|generate|translate|tell me a "
    r"(?:joke|story)|draft)\b"
    r"|<\s*/?\s*(?:script|img|iframe|svg|object|style)\b|\bjavascript:|\bon(?:error|load)\s*=")


def is_instruction(question: str) -> bool:
    """Whether a question gives the assistant orders instead of asking about the documents."""
    return bool(INSTRUCTION.search(fold(question)))


INSTRUCTION_MESSAGE = ("Cette demande donne des consignes au lieu de poser une question sur les documents : "
                       "l'assistant ne suit aucune consigne et n'écrit rien lui-même, il cite les documents du corpus "
                       "qui répondent à une question sur leur contenu.")
OTHER_LANGUAGE_MESSAGE = ("Je réponds aux questions posées en français ou en anglais. "
                          "I answer questions asked in French or English.")
