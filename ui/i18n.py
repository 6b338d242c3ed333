"""The interface's two languages, French (the default) and English: ``text(key, lang)``, the visitor's language
(``request_lang``) and numbers, sizes and dates written the way each language writes them.

Every interface string is a ``{"fr": ..., "en": ...}`` pair under a key in ``ui.strings.STRINGS``; the corpus's
own words (quotes, titles, sections) are never translated: they stay in the document's language, marked
``lang="fr"`` on an English page.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ui.strings import STRINGS

LANGS = ("fr", "en")
DEFAULT = "fr"
NNBSP = "\u202f"  # the French thousands separator (a narrow no-break space)
NBSP = "\u00a0"  # between a number and its unit

MONTHS = {
    "fr": ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}


def lang_or_default(lang) -> str:
    """``lang`` when it is one of ``LANGS``, else French."""
    return lang if lang in LANGS else DEFAULT


def text(key: str, lang: str = DEFAULT, **values: Any) -> str:
    """The interface string ``key`` in ``lang`` (French for an unknown language), its ``{fields}`` filled from
    ``values``. Raises KeyError for an unknown key (a typo must fail in the tests, not show a key to a visitor)."""
    template = STRINGS[key][lang_or_default(lang)]
    return template.format(**values) if values else template


def pair(key: str) -> dict[str, str]:
    """Both languages of ``key`` (for the page's script, which relabels without a round trip)."""
    return dict(STRINGS[key])


# --------------------------------------------------------------------------- numbers, sizes, dates
def number(value: float, lang: str = DEFAULT, digits: int = 0) -> str:
    """« 6 000 », « 0,85 » in French (narrow no-break space, decimal comma); « 6,000 », « 0.85 » in English."""
    shown = f"{value:,.{digits}f}"
    if lang_or_default(lang) == "fr":
        shown = shown.replace(",", NNBSP).replace(".", ",")
    return shown


def ms(value: float, lang: str = DEFAULT) -> str:
    """« 6 000 ms » / « 6,000 ms »."""
    return number(round(value), lang) + NBSP + "ms"


def size(n_bytes: int | float, lang: str = DEFAULT, binary: bool = True) -> str:
    """A size in megabytes (kilobytes under one): « 20 Mo », « 0,5 Mo », « 850 ko » in French; « 20 MB »,
    « 0.5 MB », « 850 kB » in English. ``binary``: 1 MB is 1,048,576 bytes (as the upload limits are set)."""
    unit = 1024 if binary else 1000
    fr = lang_or_default(lang) == "fr"
    value, name = float(n_bytes) / unit ** 2, "Mo" if fr else "MB"
    if value < 1 and n_bytes >= unit:
        value, name = float(n_bytes) / unit, "ko" if fr else "kB"
    digits = 0 if value >= 10 or value.is_integer() else 1
    return number(value, lang, digits) + NBSP + name


def date(value, lang: str = DEFAULT, time: bool = False) -> str:
    """« 6 déc. 2026 » / « 6 Dec 2026 » (with ``time``, « , 14:03 UTC » after it) from a date, a datetime or an ISO
    string (``2026-12-06T14:03:00+0000``); a string that is no date comes back as it was."""
    if isinstance(value, str):
        raw = value.strip()
        try:
            value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            try:
                value = dt.datetime.strptime(raw, "%Y-%m-%dT%H:%M:%S%z")
            except ValueError:
                return raw
    if not isinstance(value, dt.date):
        return str(value)
    shown = f"{value.day} {MONTHS[lang_or_default(lang)][value.month - 1]} {value.year}"
    if time and isinstance(value, dt.datetime):
        zone = " UTC" if value.utcoffset() == dt.timedelta(0) else ""
        shown += f", {value:%H:%M}{zone}"
    return shown


# --------------------------------------------------------------------------- the visitor's language
def accept_language(header: str | None) -> str:
    """The first of French and English in an ``Accept-Language`` header, by its q values (ties: the header's
    order); French when it names neither (an unknown locale), or is missing or malformed."""
    ranked = []
    for i, part in enumerate((header or "").split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, val = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(val)
                except ValueError:
                    q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGS and q > 0:
            ranked.append((-q, i, primary))
    return min(ranked)[2] if ranked else DEFAULT


def _get(mapping, name: str):
    try:
        return mapping.get(name) if mapping is not None else None
    except Exception:  # noqa: BLE001 (a request object of another shape: no value)
        return None


def query_lang(url: str | None) -> str | None:
    """``fr`` or ``en`` from a URL's ``?lang=``; None when it has none or another value."""
    if not url:
        return None
    values = parse_qs(urlsplit(url).query).get("lang") or []
    return values[0] if values and values[0] in LANGS else None


def request_lang(request) -> str:
    """The visitor's language for a Gradio request (``gr.Request``) or a Starlette one: ``?lang=fr|en`` of the page
    (the request's own query, or the page's address in its ``Referer`` for the queue's requests), else the
    browser's ``Accept-Language``, else French."""
    if request is None:
        return DEFAULT
    chosen = _get(getattr(request, "query_params", None), "lang")
    if chosen in LANGS:
        return chosen
    headers = getattr(request, "headers", None)
    chosen = query_lang(_get(headers, "referer"))
    if chosen:
        return chosen
    return accept_language(_get(headers, "accept-language"))
