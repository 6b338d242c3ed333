"""The answering phrase inside a quoted sentence: the date a « quand » asks for, the number of a « combien », the
name of a « qui », « où » or « quelle organisation ».

The page shows it in bold inside the quote (« … a adopté le 24 décembre 2024 … »), so a reader sees at once what
answers and can check it against the question. Only what the answer step counts as an expression of the expected
type (``rag.answering.extraction``) and the question does not already hold: a date or a number, found by the same
regular expressions (a number counting what is asked, « 28 recommandations » for « combien de recommandations »);
a person's or a body's name by spaCy's French NER, a place's too or after « à » (« à PALEXCO »). Other questions
have no phrase.
"""

from __future__ import annotations

import re

from rag.answering.extraction import NAMED, entities, expressions, personal_question, unasked
from rag.text.folding import fold, fold_mapped
from rag.text.question import Query

MAX_PHRASES = 3  # a list of dates or names is a list, not an answer phrase


def answer_phrases(text: str, query: Query) -> tuple[tuple[int, int], ...]:
    """Spans (offsets into ``text``) of the expressions of ``query``'s expected type that ``text`` holds and the
    question does not, in order; empty for an untyped question or when there are more than ``MAX_PHRASES``."""
    kind = query.answer_type
    if kind not in ("date", "number", *NAMED):
        return ()
    ents = entities([text]).get(text, ()) if kind in NAMED else ()
    if kind in ("date", "number", "place"):  # a place by its name or after « à » (« à PALEXCO »), or « en ligne »
        found = expressions(text, kind, query.text, ents, noun=query.counted)
    else:  # « qui »: a person, or a body too unless only a person does what is asked (« qui a présidé »)
        labels = {NAMED[kind]} | ({"ORG"} if kind == "person" and not personal_question(query) else set())
        found = unasked([e for e, lab in ents if lab in labels], query.text)
    spans = spans_of(text, found)
    if kind in NAMED:  # a name among others (« …, le Comité international de la Croix-Rouge, la société civile… »)
        spans = tuple((a, b) for a, b in spans if not in_list(text, a, b))  # is part of the answer, not all of it
    return spans if len(spans) <= MAX_PHRASES else ()


def in_list(text: str, a: int, b: int) -> bool:
    """Whether ``text[a:b]`` is an item of an enumeration: a comma just before it (an article between) and a comma
    or « et » / « and » just after."""
    before = re.search(r",\s*(?:(?:le|la|les|l'|l’|du|des|de|the)\s*)?$", text[max(0, a - 8):a])
    return bool(before and re.match(r"\s*(?:,|et\b|and\b)", text[b:]))


def spans_of(text: str, expressions_: list[str]) -> tuple[tuple[int, int], ...]:
    """Where in ``text`` each expression occurs, compared folded (« decembre » finds « décembre »), as whole words;
    overlapping spans merged."""
    haystack, index = fold_mapped(text)
    spans = []
    for e in dict.fromkeys(fold(x).strip(" .,;:") for x in expressions_):
        if e:
            spans += [(index[m.start()], index[m.end() - 1] + 1)
                      for m in re.finditer(rf"(?<!\w){re.escape(e)}(?!\w)", haystack)]
    merged: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return tuple(merged)
