"""Lines that only point elsewhere: how to reach someone, or where a text was published.

An e-mail address, a telephone, a postal address (:func:`is_contact`), a bibliographic reference in a note
(:func:`is_reference`: « 60. L. Egan et P. Kine, « Biden's Final Meeting with Xi Jinping… », Politico, 16 novembre
2024. ») rarely answer a question on what the documents say, yet their words often match it: an English article
title in a note is the closest sentence to an English question. Both are signals the answer model weighs, not
vetoes: a note's title is sometimes the corpus's only words on a fact (« Stability AI CEO Resigns to "Pursue
Decentralized AI" »)."""

from __future__ import annotations

import functools
import re

_CONTACT = re.compile(r"@|https?://|\bwww\.|\b\w+\.(?:org|com|fr|int|net)\b|\bt[ée]l\s*[.:]|\bfax\b|\bcedex\b|"
                      r"^\s*\d{1,4},? (?:rue|avenue|boulevard|place|quai)\b|\bsite internet\b|\be-mail\b",
                      re.IGNORECASE)


@functools.lru_cache(maxsize=16384)  # the answer step asks it of the same sentences question after question
def is_contact(text: str) -> bool:
    """An e-mail address, a web address, a telephone or a postal address line."""
    return bool(_CONTACT.search(text))


# A title between quotes (a sentence may end inside one: « K. Roose, « A.I. » is cut at « A.I. »).
_TITLE = re.compile(r"«[^»]*(?:»|$)|“[^”]*(?:”|$)")
# Where it was published, outside its title: a year, « op. cit. », « ibid. », a web address.
_SOURCE = re.compile(r"\bop\.\s?cit\b|\bibid\b|\bdisponible sur\b|\bavailable at\b|\b(?:1[89]|20)\d\d\b",
                     re.IGNORECASE)
_NOTE = re.compile(r"^\s*\d{1,3}\.\s")  # « 111. » of a note
_READ = re.compile(r"^\s*(?:Lire|Voir|See|Cf\.)\s")
# Authors by their initials (« J.-R. de Maistre », « L. Egan et P. Kine »), or a document symbol (« A/HRC/56/68 »).
_AUTHOR = re.compile(r"^\s*(?:\d{1,3}\.\s+)?(?:(?:Lire|Voir|See|Cf\.)\s+)?"
                     r"(?:(?:[A-Z]\.(?:-[A-Z]\.)?\s?)+(?:(?:de|du|van|von|del|da|le|la) )?[A-Z]|[A-Z]+(?:/[\w.]+)+,)")
AUTHOR_WORDS = 45  # at most, outside the titles, after the authors (several works of one note)
POINTER_WORDS = 14  # at most, outside the title, after a note's number or « Lire »


@functools.lru_cache(maxsize=16384)
def is_reference(text: str) -> bool:
    """Only a bibliographic reference: authors or a note's number, a title in quotes, where and when it was
    published (« 60. L. Egan et P. Kine, « Biden's Final Meeting… », Politico, 16 novembre 2024. »). A sentence
    that quotes someone (« « Une part de moi-même regrette… », confiait-il ») or cites a work within what it says
    (« 143. Sur les accusations américaines…, lire M. Velliet, « … » ») is not one."""
    if not _TITLE.search(text):
        return False
    author = _AUTHOR.match(text)
    outside = _TITLE.sub(" ", text)
    unclosed = text.count("«") > text.count("»")
    if not (_SOURCE.search(outside) or author and unclosed):
        return False
    words = len(outside.split())
    return bool(author and words <= AUTHOR_WORDS or (_NOTE.match(text) or _READ.match(text)) and words <= POINTER_WORDS)
