"""Follow-up questions: a question without its own subject, read with the question before it.

« Et la Chine ? » after « Quelle est la position de la France sur les SALA ? » asks « Quelle est la position de la
Chine sur les SALA ? »; « Qui l'a adoptée ? » after « Que dit la résolution 79/239 ? » asks « Qui a adopté la
résolution 79/239 ? »; « And when? » after « Where was the REAIM 2026 summit held? » asks « When was the REAIM 2026
summit held? ». :func:`read_with` gives that standalone question, or ``None`` for a question that stands on its own
(most of them: the rules are narrow on purpose, and none of the test set's questions is rewritten after another).

Plain rules on the words, French and English; no model.
"""

from __future__ import annotations

import re

from rag.text.folding import fold

MAX_WORDS = 7  # a follow-up is short: a longer question says what it is about

_WH_FR = ("quand", "où", "qui", "pourquoi", "comment", "combien")
_WH_EN = ("when", "where", "who", "why", "how")
_ADVERBS = ("quand", "ou", "pourquoi", "comment")  # folded: « où » is « ou »
_WH = re.compile(r"^(?:et|and)\s+(quand|où|ou|qui|pourquoi|comment|combien|when|where|who|why|how)\s*\?*\s*$",
                 re.IGNORECASE)
_AND = re.compile(r"^(?:et pour|et qu'en est-il (?:de|du|des|d')|and for|what about|how about|et|and)"
                  r"\s+(.+?)\s*\?*\s*$", re.IGNORECASE)
_YEAR = re.compile(r"\b(?:1[89]|20)\d\d\b")
_TIME = re.compile(r"^(?:(en|in|pour|for)\s+)?((?:1[89]|20)\d\d)$", re.IGNORECASE)
_WORD = re.compile(r"[\w/.\-]+(?:'[\w/.\-]+)?|[^\w\s]", re.UNICODE)

# French articles and the contractions « de » and « à » make with them.
_ARTICLES = ("le", "la", "les", "l'")
_DE = {"le": "du", "les": "des", "la": "de la", "l'": "de l'"}
_A = {"le": "au", "les": "aux", "la": "à la", "l'": "à l'"}

# A pronoun that stands for the previous question's subject.
_CLITIC = re.compile(r"\b(?:l'|les )(a|ont|avait|avaient|aura|auront)\s+(\w+)", re.IGNORECASE)
_INVERTED = re.compile(r"(?:^|\s)((?:s'|se |l'|n')?[\w']+-(?:t-)?(?:il|elle|ils|elles))\b", re.IGNORECASE)
_EN_PRONOUN = re.compile(r"\b(it|its|they|them|their)\b", re.IGNORECASE)
_EN_AUX = ("is", "was", "are", "were", "did", "does", "do", "has", "have", "had", "will", "can")
_EN_STOP = frozenset("is was are were did does do has have had will can be been of in on at for by from with "
                     "about to into under held made done written taken given said signed".split())
_FR_STOP = frozenset("sur dans pour par avec entre contre selon lors à au aux en est sont a ont était étaient sera "
                     "seront fait font peut peuvent doit doivent et ou ?".split())


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def _own_subject(words: list[str]) -> bool:
    """Whether a question names something of its own: a name or an acronym after its first word, a number, or
    (French) an article before a noun that is not a pronoun's verb."""
    for i, w in enumerate(words):
        if any(c.isdigit() for c in w) or (i and w[:1].isupper()):
            return True
        if fold(w) in ("le", "la", "les", "un", "une", "des", "du", "the", "a", "an") and i + 1 < len(words) \
                and words[i + 1][:1].isalpha() and fold(words[i - 1] if i else "") not in ("l'",):
            if not (fold(w) == "les" and _CLITIC.search(" ".join(words[i:i + 3]))):
                return True
    return False


def _english(text: str) -> bool:
    return bool(re.match(r"(?i)^\W*(?:and|what|how|who|when|where|why|which|is|was|did|does)\b", text)) and \
        not re.search(r"[àâçéèêëîïôûù]", text)


def antecedent(previous: str) -> str:
    """What the previous question is about: its first noun phrase opened by an article (« le sommet REAIM 2026 »,
    « the REAIM 2026 summit »), else its first name or symbol (« REAIM », « resolution 79/239 »); empty if none."""
    words = _words(previous.rstrip(" ?"))
    english = _english(previous)
    stop = _EN_STOP if english else _FR_STOP
    articles = ("the",) if english else ("le", "la", "les", "l'", "un", "une")
    start = 1 if fold(" ".join(words[:4])).startswith(("qu'est-ce que", "qu'est-ce qu'")) else 0
    for i in range(start, len(words)):
        if fold(words[i]) in articles and i + 1 < len(words):
            out = [words[i]]
            for w in words[i + 1:i + 7]:
                if fold(w) in stop or "-" in w and re.search(r"-(?:t-)?(?:il|elle|ils|elles|on)$", w) \
                        or not (w[:1].isalnum() or w[:1] == "'"):
                    break
                if fold(w).startswith(("s'", "n'")):
                    break
                out.append(w)
            if len(out) > 1:
                return _join(out)
    for i, w in enumerate(words):
        if i and (w[:1].isupper() or any(c.isdigit() for c in w)):
            j = i
            while j + 1 < len(words) and (words[j + 1][:1].isupper() or any(c.isdigit() for c in words[j + 1])):
                j += 1
            lead = words[i - 1] if i > 1 and words[i - 1][:1].islower() and fold(words[i - 1]) not in stop \
                and not words[i - 1].endswith("ed") and fold(words[i - 1]) not in _WH_EN + _WH_FR else ""
            return _join(([lead] if lead and any(c.isdigit() for c in w) else []) + words[i:j + 1])
    return ""


def _join(words: list[str]) -> str:
    return re.sub(r"(\b[lLdD]') ", r"\1", " ".join(words))


def _with_article(phrase: str, preposition: str) -> str:
    """« la Chine » after « de » or « à »: « de la Chine », « à la Chine »; « le Japon »: « du Japon »."""
    words = phrase.split(" ", 1)
    art = fold(words[0]) if phrase[:2].lower() != "l'" else "l'"
    rest = phrase[2:] if art == "l'" else (words[1] if len(words) > 1 else "")
    table = _DE if preposition == "de" else _A
    if art in table:
        joined = table[art]
        return f"{joined}{rest}" if art == "l'" else f"{joined} {rest}"
    return f"{preposition} {phrase}"


def _replace_name(previous: str, new: str) -> str | None:
    """``previous`` with its name (« la France », « REAIM », « France's ») replaced by ``new``."""
    acronym = re.sub(r"^[lLdD]'", "", new.split()[-1]).isupper()
    names = list(re.finditer(r"(?:\b(?:(du|des|au|aux|de la|de l'|à la|à l'|de|d'|à|le|la|les|l')\s*)?)"
                             r"((?:[A-ZÀ-Ý][\w\-]*)(?:[ \-](?:[A-ZÀ-Ý][\w\-]*))*)", previous))
    names = [m for m in names if m.start(2) > 0 and not re.match(r"(?i)(?:qu|qui|que|quel|quand|où|what|who|when|"
                                                                   r"where|why|how|which)\b", m.group(2))]
    fitting = [m for m in names if m.group(2).isupper() == acronym] or (names if len(names) == 1 else [])
    if not fitting:
        return None
    m = fitting[0]
    lead = fold(m.group(1) or "")
    has_article = bool(re.match(r"(?i)(?:(?:le|la|les)\s|l')", new))
    if lead in ("de", "d'", "du", "des", "de la", "de l'"):
        replacement = _with_article(new, "de") if has_article else \
            f"d'{new}" if fold(new[:1]) in "aeiouy" else f"de {new}"
    elif lead in ("a", "au", "aux", "a la", "a l'"):
        replacement = _with_article(new, "à") if has_article else f"à {new}"
    else:  # no preposition: the new phrase, with its own article or none
        replacement = new
    return previous[:m.start()] + replacement + previous[m.end():]


def _swap_wh(wh: str, previous: str) -> str | None:
    """« Et où ? » after « Quand le sommet s'est-il tenu ? »: the previous question asked with ``wh``."""
    words = previous.split()
    first = fold(words[0]) if words else ""
    english = wh.lower() in _WH_EN
    if english:
        m = re.match(r"(?i)^(when|where|why|how)\s+(" + "|".join(_EN_AUX) + r")\s+(.+)$", previous)
        if m and wh.lower() != "who":
            return f"{wh.capitalize()} {m.group(2)} {m.group(3)}"
        m = re.match(r"(?i)^(who|what)\s+(\w+ed)\s+(.+?)\s*\?*$", previous)
        if m and wh.lower() != "who":  # « Who adopted X? » → « When was X adopted? »
            return f"{wh.capitalize()} was {m.group(3)} {m.group(2)}?"
        return None
    m = re.match(r"(?i)^qui\s+a\s+(\w+é)\s+((le|la|les|l'|un|une)\s*.+?)\s*\?*$", previous)
    if m and fold(wh) in _ADVERBS:  # « Qui a adopté la résolution ? » → « Quand la résolution a-t-elle
        art = fold(m.group(3))                 # été adoptée ? »
        pronoun, ending = {"la": ("elle", "e"), "une": ("elle", "e"), "les": ("ils", "s")}.get(art, ("il", ""))
        return f"{wh.capitalize()} {m.group(2)} a-t-{pronoun} été {m.group(1)}{ending} ?"
    if first in _ADVERBS and fold(wh) in _ADVERBS:  # « Quand … s'est-il tenu ? » → « Où … s'est-il tenu ? »
        return wh.capitalize() + previous[len(words[0]):]
    return None


def read_with(question: str, previous: str | None) -> str | None:
    """``question`` read with the question asked before it, as a standalone question, or ``None`` when it
    stands on its own (or there is no previous question, or no reading is safe).

    Args:
        question: the question as typed.
        previous: the question asked before it in the conversation (as it was understood), or None.
    """
    if not previous or not isinstance(question, str) or not previous.strip():
        return None
    q, previous = " ".join(question.split()), " ".join(previous.split())
    words = _words(q)
    if not q or len([w for w in words if w[:1].isalnum()]) > MAX_WORDS or fold(q) == fold(previous):
        return None
    out = _rewrite(q, words, previous)
    if out is None or fold(out) == fold(previous):
        return None
    return out[:1].upper() + out[1:]


def _rewrite(q: str, words: list[str], previous: str) -> str | None:
    m = _WH.match(q)
    if m:
        return _swap_wh(m.group(1), previous)
    m = _AND.match(q)
    if m:
        subject = m.group(1).strip()
        t = _TIME.match(subject)
        if t:
            year = t.group(2)
            if _YEAR.search(previous):
                return _YEAR.sub(year, previous, count=1)
            return previous.rstrip(" ?") + (f" in {year}?" if _english(previous) else f" en {year} ?")
        if not any(re.sub(r"^[lLdD]'", "", w)[:1].isupper() for w in subject.split()):
            return None  # « Et alors ? », « and then? »: no name to put in its place
        return _replace_name(previous, subject)
    if _own_subject(words):
        return None
    what = antecedent(previous)
    if not what:
        return None
    if _english(q):
        p = _EN_PRONOUN.search(q)
        if not p:
            return None
        said = what + "'s" if p.group(1).lower() in ("its", "their") else what
        return q[:p.start()] + said + q[p.end():]
    c = _CLITIC.search(q)
    if c:  # « Qui l'a adoptée ? » → « Qui a adopté la résolution 79/239 ? »
        participle = re.sub(r"(?<=[éiut])(?:es|e|s)$", "", c.group(2))
        return q[:c.start()] + f"{c.group(1)} {participle} {what}" + q[c.end():]
    inv = _INVERTED.search(q)
    if inv and fold(q).startswith(("que ", "qu'")):  # « Que demande-t-elle ? » → « Que demande la résolution ? »
        verb = re.sub(r"(?i)-(?:t-)?(?:il|elle|ils|elles)$", "", inv.group(1))
        return q[:inv.start(1)] + f"{verb} {what}" + q[inv.end(1):]
    if inv:  # « Quand a-t-elle été adoptée ? » → « Quand la résolution 79/239 a-t-elle été adoptée ? »
        at = inv.start(1)
        return q[:at] + f"{what} " + q[at:]
    return None
