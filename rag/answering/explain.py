"""« Pourquoi ce passage ? »: the signals that ranked each passage of an answer, as data and in plain words.

Nothing is recomputed here that retrieval already knows: the similarities and their ranks come from the ranker
(``rag.retrieval.ranking.Ranked``), the expected answer type and whether a sentence has it from the answer step's
candidates (``rag.answering.candidates``). What is added is cheap: the question's words the keyword analyser
finds in each passage. :func:`describe` says an :class:`~rag.core.types.Explanation` in French or English.
"""

from __future__ import annotations

from typing import Callable, Sequence

from rag.answering.extraction import CUES, Candidate
from rag.core.types import Explanation
from rag.retrieval.ranking import COUNTRY_WEIGHT, Ranked
from rag.text.analysis import TOKEN
from rag.text.folding import fold
from rag.text.question import TYPED, Query

# Each text shown to a reader, in French and English.
TEXTS = {
    "close": {"fr": "Sens proche de la question", "en": "Meaning close to the question"},
    "far": {"fr": "Sens moins proche de la question", "en": "Meaning less close to the question"},
    "dense_rank": {"fr": "rang {rank} sur {pool} en recherche sémantique, similarité {value}",
                   "en": "rank {rank} of {pool} in semantic search, similarity {value}"},
    "sentence_rank": {"fr": "sa meilleure phrase : rang {rank} sur {pool}",
                      "en": "its best sentence: rank {rank} of {pool}"},
    "no_dense": {"fr": "pas de recherche sémantique", "en": "no semantic search"},
    "words": {"fr": "mots trouvés : {words}", "en": "words found: {words}"},
    "keyword_rank": {"fr": "rang {rank} sur {pool} en recherche par mots-clés",
                     "en": "rank {rank} of {pool} in keyword search"},
    "no_words": {"fr": "aucun mot de la question dans le passage",
                 "en": "none of the question's words in the passage"},
    "fused": {"fr": "rang {rank} sur {pool} après fusion des classements",
              "en": "rank {rank} of {pool} once the rankings are fused"},
    "moved": {"fr": "montré à la place {place} pour varier les documents",
              "en": "shown at place {place} to vary the documents"},
    "answer_first": {"fr": "montré en premier : il contient la phrase citée",
                     "en": "shown first: it holds the quoted sentence"},
    "after_answer": {"fr": "montré à la place {place}, après le passage qui contient la phrase citée",
                     "en": "shown at place {place}, after the passage that holds the quoted sentence"},
    "note": {"fr": "une note de bas de page : son score compte pour {weight} de celui d'un passage du texte",
             "en": "a footnote: its score counts {weight} of a passage of the text's"},
    "unnamed": {"fr": "ne nomme pas {countries} : son score compte pour {weight}",
                "en": "does not name {countries}: its score counts {weight}"},
    "alone": {"fr": "classé par la recherche {mode} seule", "en": "ranked by {mode} search alone"},
    "type_found": {"fr": "type attendu : {type}, présent dans la phrase {which}",
                   "en": "expected answer: {type}, present in the {which} sentence"},
    "type_missing": {"fr": "type attendu : {type}, absent de la phrase {which}",
                     "en": "expected answer: {type}, missing from the {which} sentence"},
    "type_only": {"fr": "type attendu : {type}", "en": "expected answer: {type}"},
    "quoted": {"fr": "citée", "en": "quoted"},
    "shown": {"fr": "surlignée", "en": "highlighted"},
    "docs": {"fr": "documents cherchés : {docs}", "en": "documents searched: {docs}"},
    "all_docs": {"fr": "tous les documents cherchés", "en": "every document searched"},
}
MODES = {"dense": {"fr": "sémantique", "en": "semantic"}, "keyword": {"fr": "par mots-clés", "en": "keyword"}}
TYPE_NAMES = {
    "person": {"fr": "personne", "en": "a person"}, "organisation": {"fr": "organisme", "en": "a body"},
    "place": {"fr": "lieu", "en": "a place"}, "date": {"fr": "date", "en": "a date"},
    "number": {"fr": "nombre", "en": "a number"}, "list": {"fr": "liste", "en": "a list"},
    "definition": {"fr": "définition", "en": "a definition"},
    "yesno": {"fr": "oui ou non", "en": "yes or no"}, "reason": {"fr": "raison", "en": "a reason"},
}


def text(key: str, lang: str = "fr", **values) -> str:
    """The text ``key`` of :data:`TEXTS` in ``lang`` (French for another language), filled with ``values``."""
    entry = TEXTS[key]
    return entry.get(lang, entry["fr"]).format(**values)


def matched_words(analyze: Callable[[str], list[str]], question: str, found: set[str] | frozenset[str]
                  ) -> tuple[str, ...]:
    """The words of ``question`` (as written) whose keyword terms (``analyze``: the keyword index's analyser)
    are among a passage's terms ``found``, in the question's order, each once."""
    return _matched(_word_terms(analyze, question), found)


def _word_terms(analyze: Callable[[str], list[str]], question: str) -> list[tuple[str, list[str]]]:
    """Each word of ``question`` with its keyword terms (once per question, for all its passages)."""
    return [(word, analyze(word)) for word in TOKEN.findall(question)]


def _matched(words: list[tuple[str, list[str]]], found: set[str] | frozenset[str]) -> tuple[str, ...]:
    out: dict[str, str] = {}
    for word, terms in words:
        if terms and any(t in found for t in terms):
            out.setdefault(fold(word), word)
    return tuple(out.values())


def has_type(query: Query, candidate: Candidate | None) -> bool | None:
    """Whether a sentence carries what the question asks for: an expression of a typed question's type, the mark
    of a definition, a reason or a list (``extraction.CUES``); ``None`` for another question or no sentence."""
    if candidate is None:
        return None
    if query.answer_type in TYPED:
        return bool(candidate.features.get("type_found"))
    if query.answer_type in CUES:
        return bool(candidate.features.get("cue"))
    return None


def explanations(query: Query, cands: Sequence[Ranked], indexed: Sequence[set[str] | frozenset[str]],
                 scored: Sequence[Candidate],
                 chosen: Sequence[Candidate], analyze: Callable[[str], list[str]], mode: str,
                 docs: Sequence[str] | None, answer_first: bool = False) -> tuple[Explanation, ...]:
    """One :class:`Explanation` per ranked passage.

    Args:
        query: the analysed question.
        cands: the ranked passages, as the answer returns them.
        indexed: the keyword terms of what keyword search read of each passage (its document's names, section
            path and text).
        scored: the candidate sentences, most likely first; ``chosen`` the quoted ones.
        analyze: the keyword index's analyser.
        mode: the search mode.
        docs: the document filter in force (None: every document).
        answer_first: the passage of the first quoted sentence was moved to the top.
    """
    shown: dict[int, Candidate] = {}
    for c in (*chosen, *scored):  # a passage's quoted sentence, else its most likely one (the highlighted one)
        shown.setdefault(c.passage, c)
    quoted = {c.passage for c in chosen}
    filter_ = tuple(dict.fromkeys(docs)) if docs is not None else ()
    words = _word_terms(analyze, query.keyword_text)
    return tuple(
        Explanation(passage=i, rank=i + 1, fused_rank=c.fused_rank, pool=c.pool, mode=mode,
                    dense=round(c.dense, 4), dense_rank=c.dense_rank, sentence=round(c.sentence, 4),
                    sentence_rank=c.sentence_rank, keyword=round(c.keyword, 4), keyword_rank=c.keyword_rank,
                    words=_matched(words, indexed[i]), answer_type=query.answer_type,
                    has_type=has_type(query, shown.get(i)), quoted=i in quoted, docs=filter_,
                    note_weight=c.note_weight, answer_first=answer_first,
                    unnamed=c.unnamed if mode == "hybrid" else (),
                    country_weight=COUNTRY_WEIGHT if c.unnamed and mode == "hybrid" else 0.0)
        for i, c in enumerate(cands))


def _number(x: float, lang: str) -> str:
    return f"{x:.2f}".replace(".", ",") if lang == "fr" else f"{x:.2f}"


def describe(expl: Explanation, lang: str = "fr") -> str:
    """An explanation in plain words, in French (default) or English: semantic closeness and its rank, the words
    found and the keyword rank, the rank after fusion, the expected answer type and whether the sentence has it,
    the documents searched."""
    lang = lang if lang in ("fr", "en") else "fr"
    parts = []
    if expl.dense_rank:
        close = expl.dense_rank <= max(3, expl.pool // 4)
        detail = text("dense_rank", lang, rank=expl.dense_rank, pool=expl.pool, value=_number(expl.dense, lang))
        if expl.sentence_rank:
            detail += ", " + text("sentence_rank", lang, rank=expl.sentence_rank, pool=expl.pool)
        parts.append(f"{text('close' if close else 'far', lang)} ({detail})")
    else:
        parts.append(text("no_dense", lang))
    if expl.words:
        words = text("words", lang, words=", ".join(expl.words))
        if expl.keyword_rank:
            words += f" ({text('keyword_rank', lang, rank=expl.keyword_rank, pool=expl.pool)})"
        parts.append(words)
    else:
        parts.append(text("no_words", lang))
    if expl.mode == "hybrid":
        fused = text("fused", lang, rank=expl.fused_rank, pool=expl.pool)
        if expl.answer_first and expl.rank == 1:
            fused += f", {text('answer_first', lang)}"
        elif expl.fused_rank != expl.rank:
            fused += f", {text('after_answer' if expl.answer_first else 'moved', lang, place=expl.rank)}"
        parts.append(fused)
        if expl.note_weight:
            parts.append(text("note", lang, weight=_number(expl.note_weight, lang)))
        if expl.country_weight:
            parts.append(text("unnamed", lang, countries=", ".join(expl.unnamed),
                              weight=_number(expl.country_weight, lang)))
    elif expl.mode in MODES:
        parts.append(text("alone", lang, mode=MODES[expl.mode][lang]))
    type_name = TYPE_NAMES.get(expl.answer_type, {}).get(lang)
    if type_name:
        which = text("quoted" if expl.quoted else "shown", lang)
        key = "type_only" if expl.has_type is None else "type_found" if expl.has_type else "type_missing"
        parts.append(text(key, lang, type=type_name, which=which))
    parts.append(text("docs", lang, docs=", ".join(expl.docs)) if expl.docs else text("all_docs", lang))
    out = " ; ".join(parts) if lang == "fr" else "; ".join(parts)
    return out[:1].upper() + out[1:]
