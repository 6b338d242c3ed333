"""References a diplomat can paste: document symbol, paragraph, page, status, and exactly the characters quoted.

On the real corpus (resolution A/RES/79/239, the draft Security Council text written for a Model-UN simulation)
and on small corpora written here (a note without structure, metadata with a status that does not exist).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from corpora import ROOT, write_corpus

from rag import Retriever, Settings
from rag.answering.citation import answer_json, citations, sentence_citations
from rag.corpus.documents import CorpusError, scan_corpus
from rag.text.cleaning import clean_document
from rag.text.paragraphs import paragraph_label, paragraph_labels

CORPUS = ROOT / "corpus"
INVITE = "Qui le Secrétaire général doit-il inviter à faire part de leurs points de vue ?"
DRAFT = "csnu-projet-resolution-etats-unis"


def file_text(doc_id: str) -> str:
    return (CORPUS / f"{doc_id}.md").read_text(encoding="utf-8")


def label_of(clean, words: str) -> str:
    return paragraph_label(clean, clean.text.index(words))


def test_the_quote_from_79_239_is_cited_a_res_79_239_par_8_from_the_command_line():
    """The issue's own check, as a newcomer runs it: ``python -m rag ask … --json`` on the committed index."""
    done = subprocess.run([sys.executable, "-m", "rag", "ask", INVITE, "--json"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout)
    assert out["status"] == "answered"
    [first, *_] = out["sentence_citations"]
    assert first["doc_id"] == "onu-ag-resolution-79-239" and "inviter les organisations" in first["quote"]
    assert first["symbol"] == "A/RES/79/239" and first["paragraph"] == "par. 8"
    assert first["short"] == "A/RES/79/239, par. 8"
    assert "A/RES/79/239" in first["full"] and "Par. 8." in first["full"] and "texte officiel" in first["full"]
    assert first["status"] == "official" and first["official"] is True
    assert "page" not in first, "a document without pages has no page field"
    assert all("page" not in p for p in out["passages"])
    assert out["references"][out["sentences"][0]["passage"]].startswith(f"« {first['quote'].strip()} »")


def test_the_characters_a_reference_cites_are_exactly_the_words_it_quotes(real_retriever):
    """The file's characters ``start:end``, cleaned of their markdown (``*Prie également*``) as the whole file is,
    are the quote: no word more, no word less."""
    cleaned = {}
    for question in (INVITE, "Que signifie un contrôle humain significatif ?",
                     "What does the draft resolution ask regarding autonomous weapons?",
                     "Quel pays a soumis le projet de résolution au Conseil de sécurité ?"):
        answer = real_retriever.answer(question)
        for c in citations(real_retriever, answer) + sentence_citations(real_retriever, answer):
            clean = cleaned.setdefault(c.doc_id, clean_document(file_text(c.doc_id)))
            assert clean.render(c.start, c.end) == c.quote, (question, c.short)
            assert f"caractères {c.start}–{c.end}" in c.full and c.full.startswith(f"« {c.quote.strip()} »")


def test_every_passage_of_the_draft_says_it_is_an_unofficial_simulation_text(real_retriever):
    from ui.render import render_answer

    answer = real_retriever.answer("Que demande le projet de résolution des États-Unis sur les systèmes "
                                   "d'armement autonomes ?", k=10)
    cited = citations(real_retriever, answer)
    draft = [c for c in cited if c.doc_id == DRAFT]
    assert draft, "the question is about the draft"
    for c in draft:
        assert c.status == "simulation" and c.official is False
        assert "texte non officiel" in c.short and "TEXTE NON OFFICIEL" in c.full
        assert "simulation" in c.status_label
    assert all(c.official for c in cited if c.doc_id == "onu-ag-resolution-79-239")
    out = answer_json(real_retriever, answer)
    assert all(c["status"] == "simulation" and not c["official"] for c in out["citations"] if c["doc_id"] == DRAFT)
    assert all(p["status"] == "simulation" for p in out["passages"] if p["doc_id"] == DRAFT)
    page = render_answer(answer, cited, {})
    cards = [card for card in page.split("<article")[1:] if f'data-doc="{DRAFT}"' in card]
    assert cards and all("Simulation de l&#x27;ONU, texte non officiel" in card for card in cards)


def test_paragraph_labels_of_the_resolution_and_the_draft(real_retriever):
    resolution = real_retriever.clean_document("onu-ag-resolution-79-239")
    assert label_of(resolution, "Affirmant que le droit international") == "préambule, al. 1"
    assert label_of(resolution, "Prenant note du Pacte pour l'avenir") == "préambule, al. 15"
    assert label_of(resolution, "Reconnaissant l'utilité d'un échange") == "préambule, al. 18"
    assert label_of(resolution, "1. Affirme que le droit international") == "par. 1"
    assert label_of(resolution, "le Comité international de la Croix-Rouge") == "par. 8"
    assert label_of(resolution, "Résolution adoptée par l'Assemblée générale") == ""  # a heading
    draft = real_retriever.clean_document(DRAFT)
    assert label_of(draft, "Soulignant l'importance du rapport") == "préambule, al. 2"
    assert label_of(draft, "coopération internationale pour limiter") == "par. 1"  # cut by a page break
    assert label_of(draft, "en établissant des alliances stratégiques") == "par. 2 b)"
    assert label_of(draft, "en refusant la création") == "par. 3 c)"
    assert label_of(draft, "Décide de rester activement saisi") == ""  # unnumbered, after the operative part
    assert label_of(draft, "Forum : Conseil de sécurité") == ""  # before the preamble


def test_a_block_that_goes_on_in_lower_case_keeps_the_paragraph_number():
    clean = clean_document("# Projet\n\nL'Assemblée générale,\n\n*Notant* le rapport,\n\n"
                           "1. *Décide* de poursuivre les travaux ;\n\n"
                           "notamment sur la question des armes autonomes ;\n\na) en consultant les États ;\n\n"
                           "2. *Prie* le Secrétaire général de faire rapport.\n")
    labels = [label for _, _, label in paragraph_labels(clean)]
    assert labels == ["préambule, al. 1", "par. 1", "par. 1", "par. 1 a)", "par. 2"]


def test_a_document_s_labels_are_read_once_and_a_new_text_gets_its_own(monkeypatch):
    """Citations ask for one label each: a document's labels are read once, and kept with that clean text only (a
    document rebuilt with paragraphs renumbered is labelled anew, never from the labels of its old text)."""
    import rag.text.paragraphs as paragraphs

    reads = []
    monkeypatch.setattr(paragraphs, "paragraph_labels", lambda clean: reads.append(1) or paragraph_labels(clean))
    text = "# Projet\n\nL'Assemblée générale,\n\n*Notant* le rapport,\n\n1. *Décide* de poursuivre ;\n\n" \
           "2. *Prie* le Secrétaire général de faire rapport.\n"
    old = clean_document(text)
    assert [label_of(old, w) for w in ("Notant", "Décide", "Prie", "Notant")] == \
        ["préambule, al. 1", "par. 1", "par. 2", "préambule, al. 1"]
    assert len(reads) == 1
    new = clean_document(text.replace("1. *Décide*", "3. *Décide*").replace("2. *Prie*", "4. *Prie*"))
    assert [label_of(new, w) for w in ("Décide", "Prie")] == ["par. 3", "par. 4"] and len(reads) == 2
    assert label_of(old, "Prie") == "par. 2" and len(reads) == 2


def test_a_document_without_structure_is_cited_by_title_section_and_characters(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", {"note-geneve.md": "# Note de Genève\n\n## Les débats\n\n"
                                                "Les délégations ont débattu du contrôle humain des armes "
                                                "autonomes pendant trois jours à Genève.\n"},
                          metadata='["note-geneve"]\nbody = "Mission permanente"\ndate = "mars 2024"\n')
    r = Retriever.from_settings(Settings(corpus_dir=str(corpus), index_dir=str(tmp_path / "index"),
                                         embedder="bundled"))
    answer = r.answer("Combien de jours les délégations ont-elles débattu à Genève ?", k=1)
    [c] = citations(r, answer)
    assert c.paragraph == "" and c.page is None and c.status == "" and c.symbol == ""
    assert c.short == "Mission permanente, 2024, section « Les débats »"
    assert "Note de Genève. Mission permanente, mars 2024. Section : Les débats." in c.full
    assert f"Source : note-geneve, caractères {c.start}–{c.end}." in c.full
    assert "page" not in c.to_dict() and "page" not in answer_json(r, answer)["passages"][0]


@pytest.mark.parametrize("status", ["officiel", "OFFICIAL", "upload", "3"])
def test_metadata_with_an_unknown_status_is_refused_at_build_naming_the_file_and_line(tmp_path, status):
    value = status if status.isdigit() else f'"{status}"'
    corpus = write_corpus(tmp_path / "corpus", {"note.md": "# Note\n\nUne phrase.\n"},
                          metadata=f'["note"]\ntitle = "Note"\nbody = "UIP"\nstatus = {value}\n')
    with pytest.raises(CorpusError) as info:
        scan_corpus(corpus)
    message = str(info.value)
    assert f"{Path(corpus) / 'metadata.toml'}:4:" in message and "[note]" in message
    assert "is not one of official, draft, simulation, press, study" in message


def test_only_the_quoted_sentences_are_marked_on_the_cards(real_retriever):
    from ui.render import render_answer

    answer = real_retriever.answer(INVITE, k=5)
    page = render_answer(answer, citations(real_retriever, answer), {})
    cards = page.split("<article")[1:]
    quoted = {s.passage for s in answer.sentences}
    for i, card in enumerate(cards):
        body = card.split('<blockquote class="passage"', 1)[1].split("</blockquote>", 1)[0]
        assert ("<mark" in body) == (i in quoted), i


def test_the_reader_opens_at_the_quoted_sentence_with_its_paragraph(real_retriever):
    from ui.handlers import App

    app = App(real_retriever)
    answer = real_retriever.answer(INVITE)
    [c] = sentence_citations(real_retriever, answer)[:1]
    span = real_retriever.clean_document(c.doc_id).to_clean(c.start, c.end)
    html = app.reader(c.doc_id, span)
    assert "Passage cité surligné, par. 8" in html and "Texte officiel" in html


def test_the_references_on_screen_export_as_csl_json(real_retriever):
    from rag.answering.citation import csl_items

    answer = real_retriever.answer("Que demande le projet de résolution des États-Unis sur les systèmes "
                                   "d'armement autonomes ?", k=10)
    items = {item["id"]: item for item in csl_items(citations(real_retriever, answer))}
    assert set(items) == {p.doc_id for p in answer.passages}
    draft = items[DRAFT]
    assert draft["type"] == "document" and draft["note"] == "simulation de l'ONU, texte non officiel"
    assert draft["author"] == [{"literal": "Soumis au nom des États-Unis d'Amérique"}]
    assert draft["issued"] == {"date-parts": [[2025]]} and "par. 1" in draft["section"]
    if "onu-ag-resolution-79-239" in items:
        resolution = items["onu-ag-resolution-79-239"]
        assert resolution["type"] == "legislation" and resolution["number"] == "A/RES/79/239"
    assert all("page" not in item for item in items.values())
    assert answer_json(real_retriever, answer)["csl"] == list(items.values())
