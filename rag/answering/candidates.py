"""The candidate answers of a question: every sentence of its top passages, with the signals the answer model weighs.

A candidate is a sentence of a passage as the index cut it (a line of a list, a label line such as
« Soumis par : … », a table row or a short title line are sentences too). A sentence that opens by pointing back
(« Ceux-ci désignent… », « Cette pratique consiste… ») is quoted with the sentence before it, which holds what it
points to: a definition whose term and explanation are split over two sentences is quoted whole.

No rule rejects a candidate: what the answer step knows of it becomes signals (see
``rag.answering.extraction.SENTENCE_FEATURES``), weighed by the answer model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

from rag.answering import abstention
from rag.answering import extraction as answering
from rag.index.folder import IndexData
from rag.retrieval.ranking import Ranked
from rag.settings import Settings
from rag.text.question import Query
from rag.text.verb_forms import with_participle

# A sentence that opens by pointing back to the one before it.
ANAPHOR = re.compile(r"^(?:ceux-ci|celles-ci|celui-ci|celle-ci|ceci|cela|ce(?:tte|s|t)? |il |elle |ils |elles |"
                     r"en effet|this |these |it |they |such )", re.IGNORECASE)
# A label line: a short label, a colon, its value (« Soumis par : … », « ISBN : … », « Date : … »).
LABEL = re.compile(r"^\s*([^\W\d][^:\n]{0,40}?)\s*:\s*\S")
LABEL_WORDS = 16


def label_part(text: str) -> str:
    """The label of a label line (« Soumis par » of « Soumis par : les États-Unis »), else empty."""
    m = LABEL.match(text)
    return m.group(1) if m and len(text.split()) <= LABEL_WORDS else ""


@dataclass(frozen=True)
class SentenceFacts:
    """What the answer step reads of one sentence of a passage whatever the question (:func:`sentence_facts`)."""

    a: int  # its clean offsets in the document
    b: int
    text: str
    before: tuple[int, int] | None  # the span of the sentence before it in the passage
    previous: str  # that sentence's text ("" for the first)
    words: frozenset[str]  # keyword terms
    previous_words: frozenset[str]
    statement: bool  # ``answering.is_statement``
    label: str  # ``label_part``
    label_words: frozenset[str]
    joined: bool  # it points back to a whole statement on the same line: quoted with it
    log_words: float  # log(1 + its number of words)


def sentence_facts(data: IndexData, row: int) -> tuple[SentenceFacts, ...]:
    """The :class:`SentenceFacts` of each sentence of chunk ``row``, in order (the retriever keeps them)."""
    ch = data.chunks[row]
    analyze = data.keyword.analyze
    out = []
    for n, (a, b) in enumerate(ch.sentences):
        text = ch.text[a - ch.clean_start:b - ch.clean_start]
        before = ch.sentences[n - 1] if n else None
        previous = ch.text[before[0] - ch.clean_start:before[1] - ch.clean_start] if before else ""
        label = label_part(text)
        # pointing back to a whole statement on the same line (not to a heading or a list's label)
        joined = bool(ANAPHOR.match(text)) and answering.is_statement(previous) and \
            "\n" not in ch.text[before[0] - ch.clean_start:a - ch.clean_start]
        out.append(SentenceFacts(a, b, text, before, previous, frozenset(analyze(text)), frozenset(analyze(previous)),
                                 answering.is_statement(text), label, frozenset(analyze(label)), joined,
                                 float(np.log1p(len(text.split())))))
    return tuple(out)


def sentence_candidates(data: IndexData, query: Query, qv: np.ndarray, cands: list[Ranked], topic: float,
                        settings: Settings, context: Callable[[Ranked], frozenset[str]],
                        answer_from: int, facts: Callable[[int], tuple[SentenceFacts, ...]] | None = None
                        ) -> list[answering.Candidate]:
    """The sentences of the first ``answer_from`` passages that may answer, most likely first.

    Args:
        data: the index the passages come from.
        query: the analysed question; ``qv`` its vector.
        cands: the ranked passages.
        topic: the topic model's probability for the question (a signal).
        settings: the answer model and its settings.
        context: the keyword terms of what situates a passage (its text, section path and document names).
        answer_from: how many of the top passages the sentences come from.
        facts: the :class:`SentenceFacts` of a chunk's sentences by its row (default: :func:`sentence_facts`).
    """
    facts = facts or (lambda row: sentence_facts(data, row))
    keyword = data.keyword
    terms = set(keyword.analyze(query.keyword_text))
    focus = set(keyword.analyze(" ".join(query.focus_terms)))
    # a verb is said by its irregular participle too (« soumettre » by « Soumis par : … »)
    relations = [g for g in (tuple(keyword.analyze(with_participle(r))) for r in query.relations) if g]
    anchors = [g[:1] for g in (tuple(keyword.analyze(a)) for a in query.anchors) if g]
    actions = [g for g in (tuple(keyword.analyze(with_participle(a))) for a in query.actions) if g]
    # per sentence: passage, similarity, its facts
    raw: list[tuple[int, float, SentenceFacts]] = []
    for i, c in enumerate(cands[:answer_from]):
        srows = list(data.sentence_rows[c.row])
        if not srows:
            continue
        sims = data.sentence_vectors[srows] @ qv
        raw.extend((i, float(sim), fact) for fact, sim in zip(facts(c.row), sims))
    if not raw:
        return []
    ents = answering.entities([r[2].text for r in raw]) \
        if query.answer_type in ("person", "organisation", "place") else {}
    top_sim = max(r[1] for r in raw)
    sim_order = {n: k for k, n in enumerate(sorted(range(len(raw)), key=lambda n: -raw[n][1]))}
    passage_top: dict[int, float] = {}
    for i, sim, _ in raw:
        passage_top[i] = max(passage_top.get(i, -1.0), sim)
    contexts = {i: context(cands[i]) for i in passage_top}
    headings = {i: set(keyword.analyze(" ".join(data.chunks[cands[i].row].section))) for i in contexts}
    families = answering.Families(list(dict.fromkeys([*relations, *anchors, *actions])))
    for i in contexts:
        families.add(contexts[i])
        families.add(headings[i])
    cover = families.coverage
    typed = float(query.typed)
    english = float(query.english)
    found, seen = [], set()
    for n, (i, sim, fact) in enumerate(raw):
        doc_id = data.chunks[cands[i].row].doc_id
        if (doc_id, fact.a) in seen:  # the same sentence in two overlapping passages
            continue
        seen.add((doc_id, fact.a))
        text, words = fact.text, fact.words
        families.add(words)
        around = words | contexts[i]
        # A statement says the relation itself or under a heading that does (« Autrice » above « Laure
        # de Roucy-Rochegonde est directrice… »); a fragment such as a date line, anywhere in its passage.
        said = words | headings[i] if fact.statement else around
        f = {"sim": sim, "sim_gap": sim - top_sim, "keyword": answering.coverage(terms, words),
             "focus": answering.coverage(focus, words), "context": answering.coverage(focus, around),
             "rank": float(i), "statement": float(fact.statement), "typed": typed,
             "topic": topic, "english": english,
             "relation": cover(relations, words), "relation_context": cover(relations, around),
             "anchor_context": cover(anchors, around), "anchor": cover(anchors, words),
             "cue": answering.cue(text, query.answer_type),
             "sim_order": float(min(sim_order[n], 10)), "sim_passage_gap": sim - passage_top[i],
             "first": float(fact.before is None), "words": fact.log_words,
             "previous_focus": answering.coverage(focus, fact.previous_words), "joined": float(fact.joined),
             "label": float(bool(fact.label)), "label_focus": answering.coverage(focus, fact.label_words),
             **answering.evidence(text, query, ents.get(text, ()), said, relations, actions, cover)}
        # a joined quote starts with the one before
        found.append((i, doc_id, fact.before[0] if fact.joined else fact.a, fact.b, f))
    answering.add_gaps([f for *_, f in found])
    # a sentence of a passage that does not name a country the question names is not an answer (probability 0:
    # rag.answering.constraints)
    out = [answering.Candidate(i, doc_id, a, b, _text(data, cands[i], a, b), f,
                               0.0 if cands[i].unnamed else
                               abstention.confidence(f, settings.answer_model, settings.answer_bias,
                                                     answering.SENTENCE_FEATURES))
           for i, doc_id, a, b, f in found]
    out.sort(key=lambda c: (-c.probability, c.passage, c.a))
    return out


def _text(data: IndexData, cand: Ranked, a: int, b: int) -> str:
    """The clean text ``[a, b)`` of a passage (clean offsets of its document)."""
    ch = data.chunks[cand.row]
    return ch.text[a - ch.clean_start:b - ch.clean_start]
