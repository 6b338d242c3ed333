"""The countries a question names, and whether a text names them: ISO 3166's names in French and English
(pycountry and its translations), and the French adjectives that name a country by another word.

A country is named by its French or English name (« Brésil », "Brazil") or by a word of its family (« brésilien »,
« chinois », « ukrainienne »), or by an adjective of :data:`ADJECTIVES` (« néerlandais » names the Pays-Bas). A
question names a country by its name only, written with a capital: « la version française » is not about France.
"""

from __future__ import annotations

import functools
import gettext
import re
from typing import Iterable

from rag.text.folding import fold, fold_mapped

# The adjectives (and other names) of a country that are not its French name's family.
ADJECTIVES = {
    "États-Unis": ("américain", "étatsunien", "United States of America", "USA"),
    "Royaume-Uni": ("britannique", "Grande-Bretagne"), "Pays-Bas": ("néerlandais",), "Allemagne": ("allemand",),
    "Espagne": ("espagnol",), "Roumanie": ("roumain",), "Belgique": ("belge",), "Grèce": ("grec", "grecque"),
    "Pologne": ("polonais",), "Turquie": ("turc", "turque"), "Mexique": ("mexicain",), "Danemark": ("danois",),
    "Portugal": ("portugais",), "Hongrie": ("hongrois",), "Inde": ("indien",), "Suisse": ("helvétique",),
    "Chine": ("chinois",), "Corée du Sud": ("coréen", "République de Corée"),
    "Corée du Nord": ("nord-coréen",), "Arabie saoudite": ("saoudien",), "Émirats arabes unis": ("émirien",),
    "Afrique du Sud": ("sud-africain",), "Nouvelle-Zélande": ("néo-zélandais",), "Côte d'Ivoire": ("ivoirien",),
    "Russie": ("russe",),
}
# English ways to name a country in a question that ISO's names do not give.
ENGLISH = {"US": "États-Unis", "U.S.": "États-Unis", "USA": "États-Unis", "America": "États-Unis",
           "UK": "Royaume-Uni", "Britain": "Royaume-Uni", "Great Britain": "Royaume-Uni",
           "Russia": "Russie", "South Korea": "Corée du Sud", "North Korea": "Corée du Nord"}
_SHORT = 4  # a name's family is matched from a stem of at least this many letters


def _short_name(name: str) -> str:
    """« Russie, Fédération de » → « Russie »: ISO's inverted names read as people write them."""
    return name.split(",")[0].split(" (")[0].strip()


@functools.cache
def _names() -> dict[str, tuple[str, ...]]:
    """Per country (its French name), the ways a text names it: names in French and English, adjectives."""
    import pycountry

    french = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["fr"], fallback=True).gettext
    out: dict[str, list[str]] = {}
    for c in pycountry.countries:
        english = [getattr(c, "common_name", None) or c.name, c.name]
        name = _short_name(french(getattr(c, "common_name", None) or c.name))
        out.setdefault(name, []).extend([name, *(_short_name(e) for e in english)])
    for name, others in ADJECTIVES.items():
        out.setdefault(name, [name]).extend(others)
    return {name: tuple(dict.fromkeys(forms)) for name, forms in out.items()}


def _form(word: str) -> str:
    """A regular expression of one way to name a country, on folded text: a one-word name with its family, from
    a stem of at least ``_SHORT`` letters (« chin\\w* » for « Chine »: « chinois »; « ukrain\\w* »), else the
    words themselves (« inde », not « independant »)."""
    folded = fold(word)
    if re.fullmatch(r"[a-z]+", folded):
        stems = [folded[:-len(end)] for end in ("ie", "e") if folded.endswith(end)] or [folded]
        stem = next((s for s in stems if len(s) >= _SHORT), "")
        if stem:
            return re.escape(stem) + r"\w*"
    return re.escape(folded).replace(r"\-", "[- ]").replace(r"\ ", "[- ]")


@functools.cache
def _pattern(country: str) -> re.Pattern:
    """Whether a folded text names ``country``."""
    return re.compile(r"(?<!\w)(?:" + "|".join(_form(f) for f in _names()[country]) + r")(?![\w-])")


@functools.cache
def _question_pattern() -> tuple[re.Pattern, dict[str, str]]:
    """The names (not the adjectives) of every country as they may be written in a question, and the country of
    each folded name."""
    country_of = {}
    for country, forms in _names().items():
        for form in forms:
            if form not in ADJECTIVES.get(country, ()):
                country_of.setdefault(fold(form), country)
    for form, country in ENGLISH.items():
        country_of[fold(form)] = country
    words = sorted(country_of, key=len, reverse=True)
    return re.compile(r"(?<![\w-])(" + "|".join(re.escape(w) for w in words) + r")(?![\w-])"), country_of


def spans(text: str) -> list[tuple[int, int, str]]:
    """Where a question names a country, by a name written with a capital: ``(start, end, country)``, the country
    by its French name."""
    return list(_spans(text))


@functools.lru_cache(maxsize=1024)  # asked of one question by its analysis, its keyword evidence, its names
def _spans(text: str) -> tuple[tuple[int, int, str], ...]:
    pattern, country_of = _question_pattern()
    folded, origin = fold_mapped(text)
    out = []
    for m in pattern.finditer(folded):
        start, end = origin[m.start()], origin[m.end() - 1] + 1
        if text[start].isupper():
            out.append((start, end, country_of[m.group(1)]))
    return tuple(out)


def named_in_question(text: str) -> list[str]:
    """The countries (French names) that a question names, by a name written with a capital."""
    return list(dict.fromkeys(country for _, _, country in spans(text)))


def names(text: str, country: str) -> bool:
    """Whether ``text`` names ``country`` (a French name as :func:`named_in_question` gives it)."""
    return bool(_pattern(country).search(fold(text)))


def unnamed(countries: Iterable[str], text: str) -> list[str]:
    """The ``countries`` (French names) that ``text`` does not name (:func:`names`)."""
    return [c for c in countries if not names(text, c)]
