"""The French and English interface without a browser: every string in both languages, each language's number and
date formats, the visitor's language from a request, and pages rendered in English with no French interface text
(the corpus's words marked lang="fr")."""

from __future__ import annotations

import datetime as dt
import html
import re
import string
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest

from rag import Answer, Passage, Sentence
from rag.answering.extraction import level_claim
from rag.answering.messages import (
    INSTRUCTION_MESSAGE,
    OFF_TOPIC_MESSAGE,
    OTHER_LANGUAGE_MESSAGE,
    related_message,
)
from rag.corpus.documents import STATUSES
from rag.index.uploads import UploadError
from rag.text.question import TYPES
from ui.declines import decline_message, documents_searched, level_note
from ui.i18n import LANGS, STRINGS, accept_language, date, ms, number, request_lang, size, text
from ui.messages import UPLOAD_CODES, french_upload, upload_limits

ACCENTED = re.compile(r"[éèêàçùûôî«»]")
FRENCH_ONLY = sorted({v["fr"] for v in STRINGS.values() if v["fr"] != v["en"] and len(v["fr"]) > 3}, key=len)


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


# --------------------------------------------------------------------------- the strings
def test_every_key_has_both_languages_with_the_same_fields():
    assert len(STRINGS) > 120
    for key, value in STRINGS.items():
        assert set(value) == set(LANGS), key
        assert value["fr"].strip() and value["en"].strip(), key
        assert fields(value["fr"]) == fields(value["en"]), key


def test_each_language_writes_its_own_quotation_marks():
    for key, value in STRINGS.items():
        assert "“" not in value["fr"] and "”" not in value["fr"], key
        assert "«" not in value["en"], key


def test_text_fills_fields_falls_back_to_french_and_refuses_an_unknown_key():
    assert text("passages", "en", n=3) == "Passages (3)"
    assert text("ask_button", "de") == text("ask_button", "fr") == "Rechercher"
    with pytest.raises(KeyError):
        text("no-such-key", "en")


def test_every_status_type_and_upload_code_has_its_words():
    assert {f"status_{s}" for s in STATUSES} <= set(STRINGS)
    assert {f"missing_{t}" for t in TYPES} <= set(STRINGS)
    source = (Path(__file__).resolve().parent.parent / "rag" / "index" / "uploads.py").read_text(encoding="utf-8")
    raised = set(re.findall(r'UploadError\(\s*"(\w+)"', source))
    assert raised and raised <= set(UPLOAD_CODES), raised - set(UPLOAD_CODES)
    for code in UPLOAD_CODES:
        fr, en = (french_upload(UploadError(code, "note.pdf", "3"), lang) for lang in LANGS)
        assert "« note.pdf »" in fr and "“note.pdf”" in en and fr != en


def test_an_upload_s_progress_in_english():
    from ui.messages import upload_progress

    source = (Path(__file__).resolve().parent.parent / "rag" / "index" / "uploads.py").read_text(encoding="utf-8")
    steps = re.findall(r'(?:tell|told)\([^,]+, f"([^"]+)"\)', source)
    assert len(steps) == 3, steps
    for step in steps:  # each step the engine reports, as it writes it, is said in English
        french = step.replace("{shown}", "a.md").replace("{i}", "2").replace("{len(texts)}", "5")
        english = upload_progress(french, "a.md", "en")
        assert english != french and "“a.md”" in english and not ACCENTED.search(english), (french, english)
        assert upload_progress(french, "a.md", "fr") == french
    assert upload_progress("Calcul des plongements de a.md (2/5)", "a.md", "en") == "Embedding “a.md” (2/5)"


# --------------------------------------------------------------------------- formats
def test_numbers_sizes_and_dates_each_language_s_way():
    assert number(6000, "fr") == "6\u202f000" and number(6000, "en") == "6,000"
    assert number(0.85, "fr", 2) == "0,85" and number(0.85, "en", 2) == "0.85"
    assert ms(6000, "fr") == "6\u202f000\u00a0ms" and ms(6000, "en") == "6,000\u00a0ms"
    assert size(20 * 1024 * 1024, "fr") == "20\u00a0Mo" and size(20 * 1024 * 1024, "en") == "20\u00a0MB"
    assert size(512 * 1024, "fr") == "512\u00a0ko" and size(1.5 * 1024 * 1024, "en") == "1.5\u00a0MB"
    assert size(1_500_000, "fr", binary=False) == "1,5\u00a0Mo"
    assert date(dt.date(2026, 12, 6), "fr") == "6 déc. 2026" and date(dt.date(2026, 12, 6), "en") == "6 Dec 2026"
    assert date("2026-12-06T14:03:00+0000", "fr", time=True) == "6 déc. 2026, 14:03 UTC"
    assert date("2026-08-01", "en") == "1 Aug 2026"
    assert date("not a date", "en") == "not a date"
    settings = SimpleNamespace(upload_max_bytes=20 * 1024 * 1024, upload_max_pages=500, upload_max_chars=100_000,
                               upload_max_files=10, upload_ttl=3600)
    assert "100\u202f000 caractères" in upload_limits(settings, "fr")
    assert "100,000 characters" in upload_limits(settings, "en")


# --------------------------------------------------------------------------- the visitor's language
def request(query=None, **headers):
    return SimpleNamespace(query_params=query or {}, headers={k.replace("_", "-"): v for k, v in headers.items()})


@pytest.mark.parametrize("header, lang", [
    ("en-US,en;q=0.9,fr;q=0.8", "en"),
    ("fr-FR,fr;q=0.9,en;q=0.8", "fr"),
    ("de-DE,de;q=0.9,en;q=0.5,fr;q=0.6", "fr"),  # by q, not by order
    ("de-DE,de;q=0.9,en;q=0.7", "en"),
    ("fr;q=0.5, en;q=0.5", "fr"),  # a tie: the header's order
    ("en;q=0, fr;q=0.1", "fr"),  # q=0 means « not this one »
    ("de-DE,de;q=0.9", "fr"),  # an unknown locale: French
    ("ja", "fr"), ("", "fr"), (None, "fr"), ("en;q=abc,,;;", "fr"), ("*", "fr"),
])
def test_accept_language(header, lang):
    assert accept_language(header) == lang


def test_request_lang_query_then_page_address_then_header_then_french():
    assert request_lang(None) == "fr"
    assert request_lang(request({"lang": "en"}, accept_language="fr-FR")) == "en"
    assert request_lang(request({"lang": "fr"}, accept_language="en-US")) == "fr"
    assert request_lang(request({"lang": "de"}, accept_language="en-US")) == "en"  # not a language of the page
    assert request_lang(request(referer="http://x/?lang=en", accept_language="fr-FR")) == "en"
    assert request_lang(request(referer="http://x/?lang=xx", accept_language="en-GB")) == "en"
    assert request_lang(request(accept_language="de-CH")) == "fr"
    assert request_lang(SimpleNamespace()) == "fr"  # a request of another shape


# --------------------------------------------------------------------------- declines and labels in English
def test_the_engine_s_declines_and_label_notes_read_in_english():
    for message, key in ((OFF_TOPIC_MESSAGE, "off_topic"), (INSTRUCTION_MESSAGE, "instruction"),
                         (OTHER_LANGUAGE_MESSAGE, "other_language")):
        answer = Answer("?", True, 0.0, (), (), status="off_topic", message=message)
        assert decline_message(answer, "fr") == html.escape(message)
        assert decline_message(answer, "en") == html.escape(text(key, "en"))
    query = SimpleNamespace(focus=("présider", "sommet", "REAIM"), answer_type="person", lang="fr")
    french = related_message(query)
    answer = Answer("Who chaired the REAIM summit?", True, 0.1, (), (), status="related", message=french,
                    answer_type="person")
    english = decline_message(answer, "en")
    assert english.startswith("No sentence of the passages found clearly says who.")
    assert 'Words searched, found in the corpus: <span lang="fr">présider, sommet, REAIM</span>.' in english
    assert "Try other words" in english and "Mots cherchés" not in english
    assert level_note(level_claim("high", [0.8, 0.6, 0.3]), "en") == "right 8 times out of 10 on our test questions"
    assert level_note(level_claim("high", [0.8, 0.6, 0.3]), "fr") == level_claim("high", [0.8, 0.6, 0.3])
    shown = documents_searched(["Résolution <79/239>"], "en")
    assert 'lang="fr"' in shown and "&lt;79/239&gt;" in shown and "Documents searched:" in shown
    assert "tous les documents du corpus" in documents_searched(None, "fr")


class Visible(HTMLParser):
    """The text of an HTML fragment outside elements marked lang="fr", and the values of its title and aria-label
    attributes (what a visitor reads or hears)."""

    VOID = {"br", "img", "input", "meta", "link", "hr"}

    def __init__(self):
        super().__init__()
        self.stack, self.parts = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        french = attrs.get("lang") == "fr" or (self.stack and self.stack[-1])
        if not french:  # a copy button's title is the reference it copies, in the document's language
            said = ("aria-label",) if "copy-ref" in (attrs.get("class") or "") else ("title", "aria-label")
            self.parts += [attrs[a] for a in said if attrs.get(a)]
        if tag not in self.VOID:
            self.stack.append(bool(french))

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]):
            self.parts.append(data)


def visible(html: str) -> str:
    parser = Visible()
    parser.feed(html)
    return " ".join(parser.parts)


def french_left(html: str) -> list[str]:
    shown = visible(html)
    return [s for s in FRENCH_ONLY if s.split("{")[0] and s.split("{")[0] in shown]


def test_a_page_rendered_in_english_shows_no_french_interface_text():
    from rag.answering.citation import Excerpt, cite
    from rag.text.cleaning import clean_document
    from ui.render import render_answer, render_reader

    text_fr = "Le contrôle humain significatif désigne la supervision d'un opérateur. Une autre phrase."
    passage = Passage(doc_id="doc-a", title="Le contrôle humain", section="Définition", start=0, end=len(text_fr),
                      text=text_fr, score=0.9, chunk_id="doc-a#0", body="Institut", date="janvier 2025",
                      status="simulation")
    end = text_fr.index(".") + 1
    sentence = Sentence(text=text_fr[:end], passage=0, start=0, end=end, score=0.9, passage_start=0, passage_end=end)
    reference = cite(passage, Excerpt(sentence.text, 0, end))
    answered = Answer("What is meaningful human control?", False, 0.7, (sentence,), (passage,), level="medium",
                      level_note=level_claim("medium", [0.9, 0.6, 0.3]))
    related = Answer("Who?", True, 0.1, (), (passage,), status="related", answer_type="person",
                     message=related_message(SimpleNamespace(focus=("présider",), answer_type="person", lang="fr")))
    off = Answer("Pancakes?", True, 0.0, (), (passage,), status="off_topic", message=OFF_TOPIC_MESSAGE)
    for answer in (answered, related, off):
        fr_page = render_answer(answer, [reference], {"doc-a": "A"}, lang="fr")
        en_page = render_answer(answer, [reference], {"doc-a": "A"}, lang="en", searched=["Le contrôle humain"])
        assert french_left(fr_page), "the French page shows French (else this test checks nothing)"
        assert french_left(en_page) == [], answer.status
        assert not ACCENTED.search(visible(en_page)), visible(en_page)
    doc = clean_document(text_fr)
    info = SimpleNamespace(title="Le contrôle humain", body="Institut", kind="étude", date="2025", status="study")
    page = render_reader(doc, info, (0, 20), "A", "en")
    assert french_left(page) == [] and "Quoted passage highlighted" in page
