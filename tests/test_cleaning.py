"""Cleaning keeps the way back to the file: every clean character renders known file characters."""

from __future__ import annotations

import re

from checks import check_invariants
from corpora import ROOT, TINY
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.corpus.documents import load_corpus
from rag.text.cleaning import clean_document


def plain_words(text: str) -> list[str]:
    """The words of a text, markup tags left out."""
    return re.sub(r"<[^>]+>", " ", text).split()


def test_debris_is_removed_and_page_breaks_are_joined():
    doc = clean_document(TINY["rapport-drones.md"])
    assert "<sup>" not in doc.text and "<b>" not in doc.text
    assert "Scroll to Top" not in doc.text and "---" not in doc.text
    assert "systèmes d'armes létaux autonomes" in doc.text
    # The paragraph cut by the page break and its footnotes reads as one.
    assert ("examine la question des SALA depuis\n2014" in doc.text
            or "examine la question des SALA depuis 2014" in doc.text)
    sections = {b.section for b in doc.blocks if b.kind == "text"}
    assert ("Rapport sur les drones autonomes", "Recommandations") in sections
    body = "\n".join(doc.text[b.start:b.end] for b in doc.blocks if b.kind != "note")
    assert "Croix-Rouge" not in body and "Ibid" not in body


def test_footnotes_are_kept_after_the_body_each_a_block_that_cites_back_to_the_file():
    raw = TINY["rapport-drones.md"]
    doc = clean_document(raw)
    notes = [b for b in doc.blocks if b.kind == "note"]
    assert notes and doc.notes_start is not None and all(b.start > doc.notes_start for b in notes)
    assert all(b.section[-1] == "Notes" for b in notes)
    texts = [doc.text[b.start:b.end] for b in notes]
    assert any("Croix-Rouge" in t for t in texts) and any(t.startswith("2. Ibid") for t in texts), texts
    for b in notes:  # a footnote's clean text renders back from its own place in the file
        start, end = doc.to_file(b.start, b.end)
        assert doc.render(start, end) == doc.text[b.start:b.end]
        assert plain_words(raw[start:end]) == plain_words(doc.text[b.start:b.end])
    # a sentence cut by a page break and a footnote reads as one, and renders back without the footnote
    raw = "Le texte cite une étude<sup>1</sup> qui\n\n---\n\n1. J. Dupont, Revue, 2021.\n\nconclut au contraire.\n"
    doc = clean_document(raw)
    a = doc.text.index("Le texte")
    sentence = "Le texte cite une étude qui conclut au contraire."
    assert doc.text[a:a + len(sentence)] == sentence
    start, end = doc.to_file(a, a + len(sentence))
    assert "Dupont" in raw[start:end] and doc.render(start, end) == sentence
    assert doc.text[doc.notes_start:].strip() == "1. J. Dupont, Revue, 2021."



def test_a_footnote_is_found_and_cited_like_any_passage():
    doc = clean_document(ROOT.joinpath("corpus", "ifri-2025-promesses-artificielles.md").read_text(encoding="utf-8"))
    at = doc.text.index("136. Le Comité consultatif de haut niveau")
    assert at > doc.notes_start
    block = next(b for b in doc.blocks if b.start <= at < b.end)
    assert block.kind == "note" and block.section[-1] == "Notes"
    assert "composé de 39 experts du monde entier" in doc.text[block.start:block.end]


def test_table_of_contents_and_tags():
    text = "# Sommaire\n\n<b>INTRODUCTION .....</b>\t<b>6</b>\n\n# Introduction\n\nLe texte &amp; la <i>note</i>.\n"
    doc = clean_document(text)
    assert "Sommaire" not in doc.text and "....." not in doc.text
    assert "Le texte & la note." in doc.text


def test_real_corpus_offsets_and_debris():
    for d in load_corpus(ROOT / "corpus"):
        check_invariants(d.text)
        doc = clean_document(d.text)
        body = "\n".join(doc.text[b.start:b.end] for b in doc.blocks if b.kind == "text")
        assert "<sup>" not in doc.text and "<b>" not in doc.text and "Scroll to Top" not in doc.text
        assert not re.search(r"\.{5,}", body), d.doc_id  # the table of contents' dotted leaders
        # Footnote lines of the Ifri study ("12. J. Dupont, « Titre »...") are out of the body, among the notes.
        assert not re.search(r"(?m)^\d{1,3}\. [A-Z]\. [A-Z]", body), d.doc_id
        notes = "\n".join(doc.text[b.start:b.end] for b in doc.blocks if b.kind == "note")
        if d.doc_id.startswith("ifri"):
            assert re.search(r"(?m)^\d{1,3}\. [A-Z]\. [A-Z]", notes)


markdownish = st.lists(
    st.one_of(
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40),
        st.sampled_from(["# Titre", "## Section *a*", "---", "1. Note de bas de page", "<sup>1</sup> note",
                         "texte<sup>2</sup> suite", "<b>gras</b>", "**fort**", "[lien](http://x)", "&amp;",
                         "Scroll to Top", "INTRO .....\t6", "\t", "", "- ▀ puce", "l’IA", "\\$4"]),
    ),
    max_size=30,
).map("\n".join)


@settings(max_examples=300, deadline=None)
@given(markdownish)
def test_every_block_renders_back_from_its_file_offsets(text):
    check_invariants(text)


def test_a_megabyte_on_one_line_is_cleaned_and_split_whole():
    """The former splitter was quadratic (21 s for 200 KB on one line, 1 MB never done): this one file,
    at the corpus's size limit, must be split into its sentences with exact spans."""
    from rag.corpus.documents import MAX_FILE_BYTES
    from rag.text.sentences import sentence_spans

    unit = "Le Conseil décide d'agir sur l'art. 3 de la Charte. "
    line = unit * (MAX_FILE_BYTES // len(unit.encode("utf-8")))
    doc = clean_document(line)
    spans = [s for b in doc.blocks if b.kind == "text" for s in sentence_spans(doc.text, b.start, b.end)]
    assert len(spans) == line.count("Charte.")  # « art. » never ends a sentence
    a, b = spans[-1]
    assert doc.text[a:b] == unit.strip()
