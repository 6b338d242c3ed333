"""What a question names that the corpus, or a passage, never does: then no sentence of it can answer.

« Quelle est la position du Brésil sur les armes autonomes ? » finds passages on autonomous weapons, and one of their
sentences may look like an answer; but a passage that never names Brazil does not say Brazil's position. Two checks:

* a name of the question (``Query.names``: a French question's proper nouns and acronyms, an English one's glossary
  names such as « NATO » → « OTAN ») that no word of the corpus is of the family of (``same_family``) turns the
  answer into « related » (:func:`absent_names`); other English words are not checked, a French text may write
  them otherwise (« Romania », « roumaine »);
* a country the question names, in French or in English (``Query.countries``, ``rag.text.countries``), is asked of
  each passage by its names and adjectives (« chinois », « néerlandais »; ``Ranker.place``, which ranks a passage
  that does not name it lower): a sentence of such a passage does not answer (``rag.answering.candidates``).

The « related » message then says which name is missing (``rag.answering.messages``).
"""

from __future__ import annotations

from typing import Collection, Sequence

from rag.answering.extraction import same_family
from rag.retrieval.ranking import Ranked
from rag.text import countries
from rag.text.folding import fold
from rag.text.question import Query


def known(stem: str, vocabulary: Collection[str]) -> bool:
    """Whether the corpus has ``stem`` or a word of its family of four letters at least (« chinois » is of the
    family of « chin », not « corogn » of « cor »)."""
    if stem in vocabulary:
        return True
    return len(stem) >= 4 and any(len(w) >= 4 and w[:3] == stem[:3] and same_family(stem, w) for w in vocabulary)


def absent_names(query: Query, keyword) -> list[str]:
    """The question's names of which the corpus holds no word: for each name, none of its analysed terms (a
    glossary name such as « ONU Nations unies » gives several, any one of which names it) is :func:`known`.

    Args:
        query: the analysed question.
        keyword: the index's keyword search: its ``analyze`` (a name as the corpus's terms) and its
            ``vocabulary`` (the terms of every document, private ones included).
    """
    absent = []
    for name in query.names:
        if countries.named_in_question(name) or any(fold(name) in fold(c).split() for c in query.countries):
            continue  # a country, asked of each passage by its names and adjectives (Ranked.unnamed)
        stems = keyword.analyze(name)
        if stems and not any(known(s, keyword.vocabulary) for s in stems):
            absent.append(name)
    return absent


def unnamed_by_all(ranked: Sequence[Ranked]) -> list[str]:
    """The countries the question names that none of the ``ranked`` passages names (each passage's ``unnamed``,
    found by the ranker where it names things, ``Ranker.place``), in the question's order."""
    if not ranked:
        return []
    first, *others = (r.unnamed for r in ranked)
    return [c for c in first if all(c in u for u in others)]
