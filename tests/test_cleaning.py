"""Cleaning keeps the way back to the file: every clean character renders known file characters."""

from __future__ import annotations

import re

from checks import check_invariants
from corpora import ROOT, TINY
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.corpus.documents import load_corpus
from rag.text.cleaning import clean_document


def test_debris_is_removed_and_page_breaks_are_joined():
    doc = clean_document(TINY["rapport-drones.md"])
    assert "<sup>" not in doc.text and "<b>" not in doc.text
    assert "Croix-Rouge" not in doc.text and "Ibid" not in doc.text  # the footnote block
    assert "Scroll to Top" not in doc.text and "---" not in doc.text
    assert "systèmes d'armes létaux autonomes" in doc.text
    # The paragraph cut by the page break and its footnotes reads as one.
    assert ("examine la question des SALA depuis\n2014" in doc.text
            or "examine la question des SALA depuis 2014" in doc.text)
    sections = {b.section for b in doc.blocks if b.kind == "text"}
    assert ("Rapport sur les drones autonomes", "Recommandations") in sections


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
        assert "<sup>" not in body and "<b>" not in body and "Scroll to Top" not in body
        assert not re.search(r"\.{5,}", body), d.doc_id  # the table of contents' dotted leaders
        # Footnote lines of the Ifri study ("12. J. Dupont, « Titre »...") are gone.
        assert not re.search(r"(?m)^\d{1,3}\. [A-Z]\. [A-Z]", body), d.doc_id


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
