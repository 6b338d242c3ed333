"""Hard-wrapped text: lines joined into paragraphs with exact offsets, real sentences, headings in plain text."""

from __future__ import annotations

import random

from checks import check_invariants
from corpora import ROOT
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rag.corpus.documents import load_corpus
from rag.text.chunking import chunk_document
from rag.text.cleaning import clean_document
from rag.text.sentences import sentence_spans


def words(text: str) -> str:
    return " ".join(text.split())


def sentences(text: str) -> list[str]:
    doc = clean_document(text)
    return [words(doc.text[a:b]) for blk in doc.blocks if blk.kind == "text"
            for a, b in sentence_spans(doc.text, blk.start, blk.end)]


def test_a_hard_wrapped_paragraph_is_one_paragraph_with_exact_offsets():
    text = ("Les drones armés autonomes posent la question du contrôle\n"
            "humain. Un contrôle significatif suppose que l'opérateur\n"
            "comprenne le système et puisse interrompre une attaque.\n")
    doc = clean_document(text)
    assert doc.text == words(text)
    assert [b.kind for b in doc.blocks] == ["text"]
    check_invariants(text)
    # The joining space stands for the file's line break: citing across it gives the file's characters.
    a = doc.text.index("contrôle humain")
    start, end = doc.to_file(a, a + len("contrôle humain"))
    assert text[start:end] == "contrôle\nhumain"
    assert sentences(text) == [
        "Les drones armés autonomes posent la question du contrôle humain.",
        "Un contrôle significatif suppose que l'opérateur comprenne le système et puisse interrompre une attaque."]


def test_list_items_table_rows_and_indented_blocks_keep_their_lines():
    text = ("Le rapport propose deux options :\n"
            "- un moratoire sur les systèmes d'armes létaux\n"
            "  autonomes, le temps d'une négociation ;\n"
            "- un registre international des essais.\n"
            "Option\tCoût\n"
            "Moratoire\tfaible\n"
            "Les options sont décrites par les commandes suivantes :\n"
            "    rag build --corpus DIR\n"
            "Deux variantes :\n"
            "a) première variante ;\n"
            "b) seconde variante.\n")
    doc = clean_document(text)
    check_invariants(text)
    assert "- un moratoire sur les systèmes d'armes létaux autonomes, le temps d'une négociation ;\n" in doc.text
    assert sentences(text) == [
        "Le rapport propose deux options :",
        "- un moratoire sur les systèmes d'armes létaux autonomes, le temps d'une négociation ;",
        "- un registre international des essais.",
        "Option | Coût", "Moratoire | faible",
        "Les options sont décrites par les commandes suivantes :", "rag build --corpus DIR",
        "Deux variantes :", "a) première variante ;", "b) seconde variante."]


def test_a_dash_that_wraps_is_no_list_item_and_a_hyphenated_word_is_mended():
    text = ("La gouvernance de l'IA reste fragmentée entre les forums\n"
            "– ONU, OCDE, G7 – et les initiatives nationales de régu-\n"
            "lation.\n")
    assert sentences(text) == ["La gouvernance de l'IA reste fragmentée entre les forums – ONU, OCDE, G7 – "
                               "et les initiatives nationales de régu-lation."]
    check_invariants(text)


def test_markdown_hard_breaks_and_wrapped_footnotes_stay_as_they_were():
    text = ("Distr. générale  \n31 décembre 2024\n\nLe texte cite une étude<sup>1</sup> récente.\n\n---\n\n"
            "<sup>1</sup> J. Dupont, « Titre », Revue, vol. 3,\nn° 2, 2021.\n\nLa suite du texte.\n")
    doc = clean_document(text)
    assert "Distr. générale\n31 décembre 2024" in doc.text
    # the whole footnote, both lines, is one footnote block after the body
    note = next(b for b in doc.blocks if b.kind == "note")
    assert doc.text[note.start:note.end] == "1 J. Dupont, « Titre », Revue, vol. 3, n° 2, 2021."
    assert "La suite du texte." in doc.text[:doc.notes_start]
    check_invariants(text)


def test_french_abbreviations_and_initials_do_not_end_sentences():
    text = ("Selon M. Dupont et J.-C. Martin (cf. art. 3, p. 12), le n° 5 du rapport est clair. Les drones, "
            "les robots, etc. Le texte cite Mme Durand, p. 4 et suiv. Il conclut ? Oui, sans réserve. "
            "Vol. 3 paru en 2024.")
    assert sentences(text) == [
        "Selon M. Dupont et J.-C. Martin (cf. art. 3, p. 12), le n° 5 du rapport est clair.",
        "Les drones, les robots, etc.", "Le texte cite Mme Durand, p. 4 et suiv.", "Il conclut ?", "Oui, sans réserve.",
        "Vol. 3 paru en 2024."]


def test_one_long_line_is_split_in_linear_time():
    # The former splitter read the whole text back from every full stop: 200 KB took 21 s, 1 MB never ended.
    line = "Le Conseil décide de créer un groupe d'experts sur l'IA militaire, cf. art. 3. " * 13_000  # ~1 MB
    doc = clean_document(line)
    spans = sentence_spans(doc.text)
    assert len(spans) == 13_000 and doc.text[slice(*spans[-1])].endswith("art. 3.")


PLAIN = """RAPPORT SUR LA DÉFENSE AÉRIENNE
Le présent rapport décrit l'état des systèmes de défense aérienne. Il a été
rédigé par M. Dupont, cf. art. 3 de la loi, p. 12 du rapport annuel.

1. Introduction
Les drones armés posent la question du contrôle humain. Selon J. Martin, le
contrôle doit être significatif.
1.1 Contexte historique
Depuis 2014, la Convention examine la question des SALA sans être parvenue à
un traité.
Article 3
Les États publient leurs doctrines d'emploi.
II. CONCLUSION
Le rapport recommande un moratoire.
"""


def test_headings_in_plain_text_become_section_paths():
    doc = clean_document(PLAIN)
    check_invariants(PLAIN)
    heads = [doc.text[b.start:b.end] for b in doc.blocks if b.kind == "heading"]
    assert heads == ["RAPPORT SUR LA DÉFENSE AÉRIENNE", "1. Introduction", "1.1 Contexte historique", "Article 3",
                     "II. CONCLUSION"]
    section = {doc.text[b.start:b.end][:20]: b.section for b in doc.blocks if b.kind == "text"}
    assert section["Depuis 2014, la Conv"] == ("RAPPORT SUR LA DÉFENSE AÉRIENNE", "1. Introduction",
                                             "1.1 Contexte historique")
    assert section["Les États publient l"][-1] == "Article 3"
    assert section["Le rapport recommand"] == ("RAPPORT SUR LA DÉFENSE AÉRIENNE", "II. CONCLUSION")
    chunks = chunk_document("plain", doc, lambda t: len(t.split()), 60, 10)
    assert {c.section[-1] for c in chunks} >= {"1. Introduction", "Article 3", "II. CONCLUSION"}


def test_lines_that_only_look_like_headings_stay_text():
    text = ("Le Conseil de sécurité, rappelant ses résolutions antérieures et en particulier\n"
            "2. Prie le Secrétaire général de présenter à l'Assemblée générale un rapport sur la\n"
            "question des armes autonomes.\n\n"
            "LES ÉTATS MEMBRES\nSONT INVITÉS À COOPÉRER\n\n"
            "3. Décide de rester saisi\nde la question.\n")
    doc = clean_document(text)
    assert [b.kind for b in doc.blocks] == ["text", "text", "text"]


def test_markdown_headings_still_work_and_plain_rules_stay_off_in_markdown():
    text = "# Titre\n\nRÉSUMÉ\nLe texte.\n\n## Partie\n\n1. Introduction\nLa suite.\n"
    doc = clean_document(text)
    assert [doc.text[b.start:b.end] for b in doc.blocks if b.kind == "heading"] == ["Titre", "Partie"]


# ---------------------------------------------------------------- any hard-wrapped rendering
VOCAB = ["les", "drones", "armés", "contrôle", "humain", "significatif", "l'ONU", "États", "M.", "Dupont", "J.",
         "cf.", "art.", "3", "p.", "12", "n°", "5", "etc.", "(SALA)", "«", "»", "traité", "–", "2024,", "IA",
         "résolution", "A/79/239", "l’Assemblée", "générale", "décide", "d'un", "groupe"]
ENDS = [".", " ?", " !", "."]


def prose(draw) -> str:
    paras = []
    for _ in range(draw(st.integers(1, 4))):
        sents = []
        for _ in range(draw(st.integers(1, 4))):
            ws = draw(st.lists(st.sampled_from(VOCAB), min_size=2, max_size=14))
            sents.append(("Le " + " ".join(ws)).rstrip(".") + draw(st.sampled_from(ENDS)))
        paras.append(" ".join(sents))
    return "\n\n".join(paras) + "\n"


@st.composite
def any_wrapping(draw):
    """A document of prose paragraphs, and a hard-wrapped rendering of it: any of its spaces a line break."""
    text = prose(draw)
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    share = draw(st.floats(0.0, 0.6))
    return text, "".join("\n" if ch == " " and rng.random() < share else ch for ch in text)


@st.composite
def column_wrapping(draw):
    """The same, wrapped as a text editor or a PDF extraction does: at 50 to 100 columns."""
    from eval.wrap import wrap_text

    text = prose(draw)
    return text, wrap_text(text, random.Random(draw(st.integers(0, 2**32 - 1))), 50, 100)


@settings(max_examples=200, deadline=None)
@given(any_wrapping())
def test_any_hard_wrapped_rendering_cites_exactly_the_files_characters(pair):
    _, wrapped = pair
    doc = clean_document(wrapped)
    check_invariants(wrapped)
    chunks = chunk_document("d", doc, lambda t: len(t.split()), 24, 4)
    assert words(" ".join(c.text for c in chunks)).count("Le ") >= wrapped.count("Le ")  # nothing lost
    for ch in chunks:
        assert doc.render(ch.start, ch.end) == ch.text
        for a, b in ch.sentences:
            start, end = doc.to_file(a, b)
            assert doc.render(start, end) == doc.text[a:b]
            assert words(wrapped[start:end]) == words(doc.text[a:b])  # the file's own characters


@settings(max_examples=200, deadline=None)
@given(column_wrapping())
@example(("Le les les. Le les les les les les drones résolution M. 3 États ?\n\nLe les les.\n",
          "Le les les. Le les les les les les drones résolution M.\n3 États ?\n\nLe les les.\n"))  # once a heading
@example(("Le les les les drones significatif. Le l'ONU (SALA) ?\n\nLe les les.\n",
          "Le les les les drones significatif.\nLe l'ONU (SALA) ?\n\nLe les les.\n"))  # capitals ending a sentence
def test_wrapping_at_a_column_changes_no_sentence(pair):
    text, wrapped = pair
    assert sentences(wrapped) == sentences(text)


def test_real_corpus_sentence_density_survives_hard_wrapping(tmp_path):
    from eval.wrap import wrap_corpus

    def density(folder) -> tuple[float, int]:
        n = chars = heads = 0
        for d in load_corpus(folder):
            doc = clean_document(d.text)
            chars += len(doc.text)
            n += sum(len(sentence_spans(doc.text, b.start, b.end)) for b in doc.blocks if b.kind == "text")
            heads += sum(b.kind == "heading" for b in doc.blocks)
        return 1000 * n / chars, heads

    real, real_heads = density(ROOT / "corpus")
    for seed in (0, 1):
        wrap_corpus(ROOT / "corpus", tmp_path / str(seed), seed=seed)
        wrapped, heads = density(tmp_path / str(seed))
        assert abs(wrapped - real) <= 0.1 * real, (real, wrapped)
        assert heads == real_heads


def test_a_file_above_the_size_limit_is_skipped_with_its_reason(tmp_path):
    from rag.corpus.documents import MAX_FILE_BYTES, scan_corpus

    (tmp_path / "petit.txt").write_text("Un petit document sur le contrôle humain.\n", encoding="utf-8")
    (tmp_path / "enorme.txt").write_text("Le Conseil décide. " * (5_000_000 // 19), encoding="utf-8")  # 5 MB, one line
    docs, skipped = scan_corpus(tmp_path)
    assert [d.doc_id for d in docs] == ["petit"]
    size = (tmp_path / "enorme.txt").stat().st_size
    assert skipped == [("enorme.txt", f"too large to index ({size:,} bytes; the limit is {MAX_FILE_BYTES:,})")]


def test_a_plain_text_file_takes_its_title_line_as_title(tmp_path):
    (tmp_path / "rapport.txt").write_text(PLAIN, encoding="utf-8")
    (tmp_path / "sans-titre.txt").write_text("Un paragraphe sans titre, qui commence d'emblée\npar le texte.\n",
                                             encoding="utf-8")
    titles = {d.doc_id: d.title for d in load_corpus(tmp_path)}
    assert titles == {"rapport": "RAPPORT SUR LA DÉFENSE AÉRIENNE", "sans-titre": "sans-titre"}


def test_short_question_titles_and_stacked_titles_are_headings():
    text = ("Le contexte\n\nQuel organe de régulation ?\n\nLa question d'un organe international de régulation de "
            "l'IA, sur le modèle de l'Agence internationale de l'énergie atomique, revient à chaque sommet.\n\n"
            "Le reste du texte ?\n")
    doc = clean_document(text)
    assert [doc.text[b.start:b.end] for b in doc.blocks if b.kind == "heading"] == [
        "Le contexte", "Quel organe de régulation ?"]
