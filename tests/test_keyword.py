from __future__ import annotations

import numpy as np

from rag.stores.bm25 import KeywordIndex
from rag.text.analysis import Analyzer, looks_english


def test_french_analysis():
    a = Analyzer()
    assert a("l’IA d'armes qu'il") == ["ia", "arme"]
    assert a("Contrôles") == a("contrôle") == a("controle")
    assert "sala" in a("SALA") and "ccac" in a("CCAC")
    terms = a("le rapport A/79/408 et la résolution 79/239")
    assert {"a/79/408", "79/239", "79", "239", "408"} <= set(terms)
    assert "le" not in terms and "et" not in terms


def test_language_guess():
    assert looks_english("What does meaningful human control mean?")
    assert not looks_english("Que signifie un contrôle humain significatif ?")


def test_symbols_and_acronyms_are_found():
    texts = ["La résolution 79/239 sur la base du rapport A/79/408.",
             "Les SALA sont examinés dans le cadre de la CCAC.",
             "Le sommet REAIM s'est tenu à A Coruña.",
             "Un texte sans rapport avec la question."]
    index = KeywordIndex.build(texts)
    for query, want in [("79/239", 0), ("A/79/408", 0), ("SALA", 1), ("CCAC", 1), ("REAIM", 2)]:
        scores = index.scores(query)
        assert int(np.argmax(scores)) == want and scores[want] > 0, query
    assert not index.scores("zzzz inconnu").any()


def test_cached_terms_are_the_terms_and_a_fresh_list():
    """The analyser keeps the terms of short texts: a caller changing the list it got does not change what the
    next caller gets, and a long text (not cached) gives what the same words give in short pieces."""
    a = Analyzer(cached_texts=2)
    first = a("Le contrôle humain significatif des armes.")
    first.append("poison")
    assert a("Le contrôle humain significatif des armes.") == ["control", "humain", "signif", "arme"]
    long_text = "Le contrôle humain des armes. " * 60
    assert len(long_text) > Analyzer.CACHED_CHARS
    assert a(long_text) == ["control", "humain", "arme"] * 60
