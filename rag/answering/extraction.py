"""The answer step: which quoted sentences answer the question, and the three outcomes.

Every sentence of the top passages is a candidate: no rule rejects one outright. A calibrated logistic model
weighs its signals and gives the probability that it answers; the sentence answers when that probability is over
``answer_threshold``. The signals are its similarity to the question, the question's focus, relation and anchor
terms it and its passage cover, keyword overlap, passage rank, whether it is a whole statement, the mark of a
definition, a cause or a list, how on-topic the question is, and the evidence of :func:`evidence`: for a typed
question, whether it carries an expression of the expected type (a date for « quand / when », a number counting
what is asked for « combien / how many », a person, role or body for « qui / who », a place for « où / where »;
regular expressions for dates and numbers, spaCy's French NER for names) that the question does not already
hold, whether it is dated to another year than the question's, speaks of the future when the question does, says
one of the question's relation terms; and whether it is only a contact line or a bibliographic reference.

The outcome is ``answered`` (some sentence answers), ``related`` (the passages
are about the question's topic but no sentence answers it) or ``off_topic``
(the topic model, over retrieval signals, finds nothing close). Both models are
fitted on the tuning half of the test set by ``python -m eval --calibrate``. What a decline says is in
:mod:`rag.answering.messages`.
"""

from __future__ import annotations

import functools
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from rag.text.folding import fold
from rag.text.pointers import is_contact, is_reference
from rag.text.question import MONEY, Query, parse

ANSWERED, RELATED, OFF_TOPIC = "answered", "related", "off_topic"
STATUSES = (ANSWERED, RELATED, OFF_TOPIC)
LEVELS = ("high", "medium", "low")
MIN_STATEMENT_WORDS = 8
STATEMENT_END = ".!?;:,…"

# Signals also given relative to the question's best candidate (``<name>_gap``: the value minus the highest among
# the candidates): which sentence says *more* of the question than its neighbours.
GAPS = ("keyword", "focus", "relation", "relation_said", "type_found", "cue", "context")
SENTENCE_FEATURES = ("sim", "sim_gap", "keyword", "focus", "context", "rank", "statement", "typed", "topic",
                     "english", "relation", "relation_context", "anchor_context", "anchor", "cue", "action_said",
                     "sim_order", "sim_passage_gap", "first", "words", "previous_focus", "joined", "label",
                     "label_focus", "type_found", "type_missing", "type_named", "other_year", "future_missing",
                     "relation_said", "contact", "reference", *(f"{name}_gap" for name in GAPS))


def add_gaps(features: list[dict]) -> None:
    """Add the ``<name>_gap`` signals to the candidates of one question (in place)."""
    for name in GAPS:
        top = max((f[name] for f in features), default=0.0)
        for f in features:
            f[f"{name}_gap"] = f[name] - top

_MONTHS = ("janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre "
           "january february march april may june july august september october november december")
_M = "|".join(_MONTHS.split())
DATE = re.compile(
    rf"\b\d{{1,2}}(?:er)?(?: (?:au|et|-) \d{{1,2}}(?:er)?)? (?:{_M})(?: (?:1[89]|20)\d\d)?\b"
    rf"|\b(?:{_M})(?: \d{{1,2}},?)? (?:1[89]|20)\d\d\b|\b(?:1[89]|20)\d\d\b(?![/.]\d)|\b\d{{1,2}}/\d{{1,2}}/\d{{2,4}}\b"
    r"|\b(?:hier|aujourd'hui|demain|yesterday|today|tomorrow)\b|\b[xvi]+e siecle\b"
    rf"|\b(?:en|in|au mois de|debut|fin|mi-) (?:{_M})\b"
    r"|\b\d{1,2} ?h(?: ?[0-5]\d)?\b(?!\))|\b\d{1,2}:[0-5]\d\b|\b\d{1,2}(?::[0-5]\d)? ?[ap]\.?m\b")  # times of day
_NUMBER_WORDS = ("deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze seize vingt trente "
                 "quarante cinquante soixante cent cents mille million millions milliard milliards dizaine dizaines "
                 "centaine centaines douzaine moitie tiers quart unanimite majorite deuxieme troisieme quatrieme "
                 "cinquieme two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty "
                 "hundred hundreds thousand thousands million billion dozen half third unanimously unanimous")
_NW = "|".join(_NUMBER_WORDS.split())
NUMBER = re.compile(r"(?<![/\w])\d+(?:[  .,]\d{3})*(?:,\d+)?(?:\s?%| pour cent| percent)?(?![/\w])"
                    rf"|(?<![\w-])(?:{_NW})(?:-(?:et-)?(?:{_NW}|un|une))*(?![\w-])")
YEAR = re.compile(r"(?<![/\w.])(?:1[89]|20)\d\d(?![/\w])")
_ENUMERATOR = re.compile(r"^\s*(?:\d+|[a-z]|[ivx]+)[.)]\s")
ROLE = re.compile(r"\b(?:secretaire general|secretary-general|president|presidente|presidence|ministre|minister|"
                  r"ambassadeur|ambassadrice|directeur|directrice|rapporteur|rapporteuse|chercheur|chercheuse|"
                  r"professeur|professeure|auteur|autrice|porte-parole|m\.|mme|dr)\b")
INSTITUTION = re.compile(r"\b(?:assemblee generale|conseil de securite|nations unies|premiere commission|commission|"
                         r"comite|conference|union europeenne|union interparlementaire|organisation|agence|institut|"
                         r"gouvernements?|parlements?|groupe d'experts|etats membres|etats-unis|otan|cicr|ong|"
                         r"secretariat|delegation|organe|forum|societe civile|industrie|entreprises)\b")
ACRONYM = re.compile(r"\b(?!(?:II|III|IV|VI|VII|VIII|IX|XI|XX|XXI)\b)[A-Z][A-Z0-9]{1,}\b")
# A sentence that speaks of what is to come: a future tense or a word of the future.
FUTURE = re.compile(r"\b(?:prochain|prochaine|prochains|prochaines|futur|future|futurs|futures|a venir|prevu|prevue|"
                    r"prevus|prevoit|envisage|devrait|devraient|doit|doivent|will|next|upcoming|planned|d'ici)\b|"
                    r"\b[a-z]+(?:eront|iront|dront|era|ira|dra)\b")
ONLINE = re.compile(r"\b(?:en ligne|online|virtuel(?:le)?|en visioconference|a distance)\b")  # where an event is held
PLACE_AFTER = re.compile(r"\b(?:à|au|aux|en|in|at) ((?:[A-Z][\w’'\-]*)(?: (?:de |du |la |le )?[A-Z][\w’'\-]+)*)")


@dataclass(frozen=True)
class Candidate:
    """A sentence of a top passage, with what the answer step knows of it."""

    passage: int  # index of its passage in the answer
    doc_id: str
    a: int  # clean offsets in the document
    b: int
    text: str
    features: dict
    probability: float = 0.0


# ------------------------------------------------------------------ expressions
_NER_CACHE: OrderedDict[str, tuple[tuple[str, str], ...]] = OrderedDict()
_NER_LOCK = threading.Lock()
_NER_MAX = 50_000


def entities(texts: list[str]) -> dict[str, tuple[tuple[str, str], ...]]:
    """spaCy's named entities ``(text, label)`` of each text (cached; labels PER, ORG, LOC, MISC)."""
    with _NER_LOCK:
        known = {t: _NER_CACHE[t] for t in texts if t in _NER_CACHE}
    missing = [t for t in dict.fromkeys(texts) if t not in known]
    if missing:
        found = {t: tuple((e.text, e.label_) for e in doc.ents) for t, doc in zip(missing, parse(missing, True))}
        with _NER_LOCK:
            _NER_CACHE.update(found)
            while len(_NER_CACHE) > _NER_MAX:
                _NER_CACHE.popitem(last=False)
        known.update(found)
    return known


_ARTICLE = re.compile(r"^(?:l'|d'|le |la |les |du |des |de )")  # « L'Ifri » is the question's « Ifri »


def unasked(found: list[str], question: str) -> list[str]:
    """The expressions that are not already in the question (an answer says something new)."""
    q = fold(question)
    return [e for e in found if e.strip() and _ARTICLE.sub("", fold(e).strip(" .,;:")) not in q]


def other_year(text: str, question: str) -> bool:
    """Whether a sentence is dated to another year than the one the question names
    (« REAIM 2026 » asked, « tenus à La Haye en février 2023 » read): it speaks of another event.

    A year inside words copied from the question (« REAIM 2026 ») does not date the sentence."""
    asked = _years(question)
    if not asked:
        return False
    q, folded = fold(question), fold(text)
    asked_words = set(re.findall(r"[\w'-]+", q))
    own = []
    for m in YEAR.finditer(folded):
        before = folded[:m.start()].split()[-1:]
        # « REAIM 2026 » when the question says « REAIM de 2026 »: the question's own name
        if not (before and (f"{before[0]} {m.group(0)}" in q or (before[0] in asked_words and len(before[0]) > 3))):
            own.append(m.group(0))
    return bool(own) and not set(own) & asked


@functools.lru_cache(maxsize=1024)  # asked of one question for each of its candidate sentences
def _years(question: str) -> frozenset[str]:
    return frozenset(YEAR.findall(question))


_ELIDED = re.compile(r"^(?:d|l|qu)'")
_CURRENCY = ("euro", "dollar", "€", "$", "usd", "eur", "million", "milliard", "billion", "livre")


# Nouns that count the same things (stems as ``counted_noun`` gives them): a question on « États » is answered by
# « 34 pays » or « 166 voix pour », one on members by « 193 États »; people asked are counted as participants,
# experts or delegates.
_SAME_COUNT = (("etat", "pay", "nation", "membre", "signatair", "gouvernement", "parlement", "delegation", "voix",
                "vote"),
               ("participant", "expert", "delegue", "representant", "intervenant", "orateur", "dirigeant", "chef"))


def counted_nouns(noun: str) -> tuple[str, ...]:
    """The stems that count what ``noun`` counts: its family of :data:`_SAME_COUNT`, or itself."""
    return next((family for family in _SAME_COUNT if noun in family), (noun,))


def counted(number: str, folded: str, noun: str) -> bool:
    """Whether a number of the sentence counts ``noun`` (a stem, or one of its family, :func:`counted_nouns`;
    ``MONEY``: a currency or an amount): the noun follows within four words."""
    nouns = counted_nouns(noun)
    for m in re.finditer(re.escape(number), folded):
        after = [_ELIDED.sub("", w) for w in folded[m.end():].split()[:4]]  # « millions d'utilisateurs »
        if noun == MONEY:
            if (any(w.startswith(_CURRENCY) for w in after)
                    or folded[max(0, m.start() - 2):m.start()].strip() in ("$", "€")):
                return True
        elif any(w.startswith(nouns) for w in after):
            return True
    return False


def expressions(text: str, kind: str, question: str, ents: tuple[tuple[str, str], ...] = (),
                noun: str = "", personal: bool = False) -> list[str]:
    """Expressions of answer type ``kind`` in ``text`` that the question does not already hold.

    Args:
        text: a sentence of the corpus.
        kind: one of ``rag.text.question.TYPED``.
        question: the question text.
        ents: spaCy entities of ``text`` (needed for person, organisation, place).
        noun: for a number, the stem of what is counted (« combien de pays » → « pays »): the
            number must be followed by it.
        personal: for a person, only a person's name or a role counts (« qui a présidé »),
            not a body.
    """
    folded = fold(text)
    if kind == "date":
        return unasked([m.group(0) for m in DATE.finditer(folded)], question)
    if kind == "number":
        body = _ENUMERATOR.sub(" ", folded)
        nums = [m.group(0) for m in NUMBER.finditer(body) if not YEAR.fullmatch(m.group(0).strip())]
        nums = [n for n in unasked(nums, question) if not noun or counted(n, body, noun)]
        return nums
    orgs = [e for e, label in ents if label == "ORG"] + ACRONYM.findall(text) + \
        [m.group(0) for m in INSTITUTION.finditer(folded)]
    if kind == "organisation":
        return unasked(orgs, question)
    if kind == "person":  # « qui » is answered by a person, a role or a body
        people = [e for e, label in ents if label == "PER"] + [m.group(0) for m in ROLE.finditer(folded)]
        return unasked(people if personal else people + orgs, question)
    if kind == "place":
        places = [e for e, label in ents if label == "LOC"] + [m.group(1) for m in PLACE_AFTER.finditer(text)] + \
            [m.group(0) for m in ONLINE.finditer(folded)]
        return unasked(places, question)
    return []


# ------------------------------------------------------------------ features
def is_statement(text: str) -> bool:
    """A whole sentence of some length (not a fragment cut by a passage's edge, nor a date line)."""
    text = text.strip()
    closed = text.rstrip("»)]\"”’ \u00a0")
    return (len(text.split()) >= MIN_STATEMENT_WORDS and closed[-1:] in tuple(STATEMENT_END)
            and not text[:1].islower())


def coverage(terms: set[str], words: set[str]) -> float:
    return len(terms & words) / len(terms) if terms else 0.0


def same_family(term: str, word: str) -> bool:
    """Whether two stems are of one word family: equal, or one begins the other and either
    differs by at most three letters or shares at least five (« presid » / « president »,
    « ten » / « tenu », « publi » / « public »; not « ten » / « tendanc »)."""
    if term == word:
        return True
    short, long_ = sorted((term, word), key=len)
    return len(short) >= 3 and long_.startswith(short) and (len(long_) - len(short) <= 3 or len(short) >= 5)


def group_coverage(groups: list[tuple[str, ...]], words: set[str]) -> float:
    """Share of ``groups`` (each: stems of which any one counts) that some word of ``words`` covers;
    1.0 when there is no group (nothing to cover)."""
    if not groups:
        return 1.0
    return sum(_covered(g, words) for g in groups) / len(groups)


def _covered(group: tuple[str, ...], words: set[str]) -> bool:
    """Whether some word is of the family of some stem of ``group``: :func:`same_family`, tried only on the
    words that share its first three letters (two stems of one family always do)."""
    if any(t in words for t in group):
        return True
    return any(same_family(t, w) for t in group if len(t) >= 3 for w in words if w[:3] == t[:3])


class Families:
    """:func:`group_coverage` for one question's groups, without scanning every word again: the words met so far
    (:meth:`add`) are sorted once into each group's family, through their first three letters; a group is covered
    by a set of words that meets its family. The same results as :func:`group_coverage` for any words added."""

    def __init__(self, groups: list[tuple[str, ...]]) -> None:
        self._family: dict[tuple[str, ...], set[str]] = {g: set() for g in groups}
        self._exact: dict[str, list[tuple[str, ...]]] = {}
        self._prefix: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for g in self._family:
            for t in g:
                self._exact.setdefault(t, []).append(g)
                if len(t) >= 3:
                    self._prefix.setdefault(t[:3], []).append((g, t))
        self._seen: set[str] = set()

    def add(self, words) -> None:
        """Sort words not met before into the families they belong to."""
        new = set(words) - self._seen
        self._seen |= new
        for w in new:
            for g in self._exact.get(w, ()):
                self._family[g].add(w)
            for g, t in self._prefix.get(w[:3], ()):
                if same_family(t, w):
                    self._family[g].add(w)

    def coverage(self, groups: list[tuple[str, ...]], words: set[str] | frozenset[str]) -> float:
        """:func:`group_coverage` of ``groups`` (among those given at creation) by ``words`` (all added)."""
        if not groups:
            return 1.0
        return sum(not self._family[g].isdisjoint(words) for g in groups) / len(groups)


# How a sentence shows it answers an untyped question: a definition defines, a reason gives a cause,
# a list enumerates (on the folded text).
CUES = {
    "definition": re.compile(r"\b(?:design\w*|consist\w*|signifi\w*|se defini\w*|defini\w* comme|entend par|"
                             r"c'est-a-dire|appel\w*|dit(?:e|s|es)? |renvoi\w* a|qualifi\w*|recouvr\w*|"
                             r"autrement dit|a savoir)"),
    "reason": re.compile(r"\b(?:car|parce qu\w*|en raison|du fait|faute d\w*|afin d\w*|pour que|c'est pourquoi|"
                         r"puisqu\w*|grace a|en effet|ainsi|raison|cause|explique|because|due to|since)\b"),
    "list": re.compile(r":|;|\b(?:notamment|dont|tels? que|telles? que|comme|ainsi que)\b|(?:, [^,]+){2,}"),
}


@functools.lru_cache(maxsize=16384)  # of the same sentences question after question
def cue(text: str, kind: str) -> float:
    """1.0 when the sentence has the mark of an answer of type ``kind`` (see ``CUES``), else 0.0."""
    pattern = CUES.get(kind)
    return float(bool(pattern and pattern.search(fold(text))))


# What only a person does: « qui a présidé / dirigé / écrit… » is not answered by a body.
_PERSONAL = ("presid", "dirig", "represent", "ecri", "redig", "prononc", "interven", "parl", "ouvr", "anim",
             "moder", "fond", "auteur")


def personal_question(query: Query) -> bool:
    """Whether the question asks who did what only a person does (« qui a présidé / écrit … »)."""
    return any(fold(r).startswith(_PERSONAL) for group in query.relations for r in group.split())


NAMED = {"person": "PER", "place": "LOC", "organisation": "ORG"}  # spaCy's label of a name of each type


def evidence(text: str, query: Query, ents: tuple[tuple[str, str], ...], words: set[str],
             relations: list[tuple[str, ...]], actions: list[tuple[str, ...]] = (),
             cover=group_coverage) -> dict[str, float]:
    """What a sentence shows of answering ``query``, as signals to weigh (never a verdict on its own).

    * ``type_found`` / ``type_missing``: for a typed question, whether the sentence carries a new expression of the
      type (both 0 for an untyped question); for « qui a présidé / écrit … », a name in a sentence that does not say
      the action is not one; ``type_named``: whether it names one (a person's name, not « elle » nor a role; a place
      or a body by its name; a date or a number as found);
    * ``other_year``: it is dated to another year than the question's;
    * ``future_missing``: the question asks about what is to come and the sentence does not speak of it
      (« qui accueillera le prochain sommet ? »);
    * ``relation_said``: share of the question's relation terms said (``relations``: stems, in ``words``, the
      stems of the sentence and, for a line that is not a whole statement such as a date line under a title, of
      its passage; 1 when the question has none): « Les organisateurs de REAIM ont ajouté… » names a body but
      does not say who *presided*; ``action_said``: the same for the question's verbs (``actions``); ``cover``
      computes both (:func:`group_coverage`, or a :class:`Families`' ``coverage``);
    * ``contact``: only a way to reach someone (an address, a telephone, a web site); ``reference``: only a
      bibliographic reference (:mod:`rag.text.pointers`).
    """
    action_said = cover(actions, words)
    found = named = 0.0
    personal = query.answer_type == "person" and personal_question(query)
    if query.typed and (action_said or not personal):
        found = float(bool(expressions(text, query.answer_type, query.text, ents, query.counted, personal)))
        label = NAMED.get(query.answer_type)
        named = found if label is None else float(bool(unasked([e for e, lab in ents if lab == label], query.text)))
    return {"type_found": found, "type_missing": float(query.typed) - found, "type_named": named,
            "action_said": action_said,
            "other_year": float(other_year(text, query.text)),
            "future_missing": float(query.future and not FUTURE.search(fold(text))),
            "relation_said": cover(relations, words), "contact": float(is_contact(text)),
            "reference": float(is_reference(text))}


LEVEL_LABELS = {"high": "élevée", "medium": "moyenne", "low": "faible"}  # as the page and the CLI say them


def level(probability: float, high: float, medium: float) -> str:
    """``high``, ``medium`` or ``low``: the label shown beside an answer (of its calibrated probability)."""
    return "high" if probability >= high else "medium" if probability >= medium else "low"


def calibrate_probability(probability: float, points) -> float:
    """How often a first sentence of this answer-model probability was right on the tune questions: the isotonic
    map ``points`` (``(probability, share)``, rising) fitted by ``python -m eval --calibrate``, interpolated;
    ``probability`` itself without a map."""
    if not points:
        return probability
    xs, ys = zip(*points)
    return float(np.interp(probability, xs, ys))


def level_claim(level_name: str, accuracy) -> str:
    """What a label means, in words: « juste 8 fois sur 10 sur nos questions de test » (``accuracy``: the
    ``level_accuracy`` of the settings, high, medium, low); empty when nothing was measured."""
    value = dict(zip(LEVELS, accuracy or ())).get(level_name)
    if value is None:
        return ""
    return f"juste {round(value * 10)} fois sur 10 sur nos questions de test"
