"""The public API on a tiny corpus: citations, filters, modes, answers and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from rag import MAX_QUESTION_CHARS, QueryError, Retriever
from rag.text.cleaning import clean_document


def file_text(settings, doc_id: str) -> str:
    path = next(p for p in Path(settings.corpus_dir).iterdir() if p.stem == doc_id)
    with open(path, encoding="utf-8", newline="") as fh:
        return fh.read()


def assert_cited(settings, passage):
    raw = file_text(settings, passage.doc_id)
    assert 0 <= passage.start < passage.end <= len(raw)
    assert clean_document(raw).render(passage.start, passage.end) == passage.text


@pytest.mark.parametrize("mode", ["hybrid", "dense", "keyword"])
def test_search_returns_cited_passages(tiny_retriever, tiny_settings, mode):
    passages = tiny_retriever.search("contrôle humain significatif des drones", k=3, mode=mode)
    assert 1 <= len(passages) <= 3
    assert passages[0].doc_id == "rapport-drones"
    assert passages[0].title == "Rapport sur les drones autonomes" and passages[0].body == "Commission d'essai"
    for p in passages:
        assert_cited(tiny_settings, p)
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)


def test_a_footnote_is_found_and_counts_note_weight_against_the_body(tiny_retriever, tiny_settings):
    """« 1. Voir la note du Comité international de la Croix-Rouge » is a footnote of the drones report: a passage
    of its own under « Notes », cited to its characters; its hybrid ranking score counts ``note_weight`` of a
    body passage's (a search by one side alone is left as it is)."""
    question = "Comité international de la Croix-Rouge et contrôle humain"
    full = tiny_retriever.replace(settings=tiny_retriever.settings.replace(note_weight=1.0))
    passages = full.search(question, k=5)
    note = next(p for p in passages if "Croix-Rouge" in p.text)
    assert note.section.endswith("Notes") and note.text.startswith("1. Voir la note")
    assert_cited(tiny_settings, note)
    weighed = tiny_retriever.replace(settings=tiny_retriever.settings.replace(note_weight=0.5))
    for mode, factor in (("hybrid", 0.5), ("keyword", 1.0), ("dense", 1.0)):
        a, b = ({p.chunk_id: p.score for p in r.search(question, k=5, mode=mode)} for r in (full, weighed))
        assert b[note.chunk_id] == pytest.approx(factor * a[note.chunk_id], abs=1e-5)  # scores are rounded
        assert all(b[c] == pytest.approx(a[c], abs=1e-5) for c in a if c != note.chunk_id and c in b)


def test_keyword_symbols_and_doc_filter(tiny_retriever):
    assert tiny_retriever.search("A/12/678", k=1, mode="keyword")[0].doc_id == "resolution-test"
    only = tiny_retriever.search("intelligence artificielle", k=5, docs=["note-budget"])
    assert only and {p.doc_id for p in only} == {"note-budget"}


def test_answer_quotes_sentences_verbatim(tiny_settings):
    # Thresholds 0: never decline, so the quoted sentences are always there to check (same index, no rebuild).
    r = Retriever.from_settings(tiny_settings.replace(topic_threshold=0.0, answer_threshold=0.0))
    answer = r.answer("Que suppose un contrôle humain significatif ?", k=3)
    assert answer.passages and 1 <= len(answer.sentences) <= 3 and not answer.abstained
    for s in answer.sentences:
        p = answer.passages[s.passage]
        assert p.text[s.passage_start:s.passage_end] == s.text
        assert clean_document(file_text(tiny_settings, p.doc_id)).render(s.start, s.end) == s.text
        assert p.start <= s.start < s.end <= p.end
    assert any(p.highlights for p in answer.passages)
    for p in answer.passages:
        assert all(0 <= a < b <= len(p.text) for a, b in p.highlights)
        for a, b in p.highlights:
            start, end = r.file_offsets(p, a, b)
            assert clean_document(file_text(tiny_settings, p.doc_id)).render(start, end) == p.text[a:b]
    data = json.loads(json.dumps(answer.to_dict()))
    assert {"abstained", "status", "sentences", "passages"} <= set(data) and data["status"] == "answered"


@pytest.mark.parametrize("kwargs, message", [
    (dict(question=""), "empty"),
    (dict(question="   \n\t "), "empty"),
    (dict(question="\u200b\u200f\ufeff"), "empty"),
    (dict(question="drones", docs=5), "list of document ids"),
    (dict(question="x" * (MAX_QUESTION_CHARS + 1)), "limit"),
    (dict(question=None), "text"),
    (dict(question="drones", mode="magic"), "mode must be one of"),
    (dict(question="drones", k=0), "k must be"),
    (dict(question="drones", k=10_000), "k must be"),
    (dict(question="drones", k="5"), "k must be"),
    (dict(question="drones", docs=["../../etc/passwd"]), "unknown document"),
    (dict(question="drones", docs=[]), "at least one"),
])
def test_bad_input_gets_a_clear_error(tiny_retriever, kwargs, message):
    for call in (tiny_retriever.search, tiny_retriever.answer):
        with pytest.raises(QueryError, match=message):
            call(**kwargs)


@hsettings(max_examples=40, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gives_an_answer_or_a_clear_error(tiny_retriever, text):
    try:
        answer = tiny_retriever.answer(text, k=2)
    except QueryError as exc:
        assert str(exc)
        return
    for s in answer.sentences:
        assert answer.passages[s.passage].text[s.passage_start:s.passage_end] == s.text


def test_save_load_round_trip_gives_identical_results(tiny_retriever, tiny_settings):
    again = Retriever.from_settings(tiny_settings)
    assert again.index_folder == tiny_retriever.index_folder  # loaded, not rebuilt
    for q in ["budget de la défense", "moratoire", "Secrétaire général rapport"]:
        assert again.search(q, k=3) == tiny_retriever.search(q, k=3)


def test_documents_and_info(tiny_retriever):
    ids = {d.doc_id for d in tiny_retriever.documents}
    drones = next(d for d in tiny_retriever.documents if d.doc_id == "rapport-drones")
    assert drones.title == "Rapport sur les drones autonomes" and drones.chunks >= 1
    assert ids == {"rapport-drones", "resolution-test", "note-budget"}
    note = next(d for d in tiny_retriever.documents if d.doc_id == "note-budget")
    assert note.title == "Note sur le budget de la défense"  # no metadata, plain text: its title line
    info = tiny_retriever.info()
    assert info["documents"] == 3 and info["chunks"] >= 3 and info["embedder"].startswith("bundled:")


def test_replace_shares_the_index_and_refuses_index_settings(tiny_retriever):
    """eval/ builds variants through Retriever.replace: same index, other query-time settings or embedder."""
    other = tiny_retriever.replace(settings=tiny_retriever.settings.replace(candidates=7))
    assert other.settings.candidates == 7 and other.embedder is tiny_retriever.embedder
    assert other.chunks == tiny_retriever.chunks and other.index_folder == tiny_retriever.index_folder
    assert [p.chunk_id for p in other.search("drones", k=3, mode="keyword")] == \
        [p.chunk_id for p in tiny_retriever.search("drones", k=3, mode="keyword")]
    with pytest.raises(ValueError, match="chunk_tokens"):
        tiny_retriever.replace(settings=tiny_retriever.settings.replace(chunk_tokens=99))


def test_calibration_is_domain_data_beside_the_corpus(tmp_path):
    """The fitted values come from Settings.calibration_file (corpus/calibration.json by default, not a file of
    the package); a missing file leaves the fallbacks, and a given value wins over the file."""
    import json

    from rag.settings import CALIBRATED, ROOT, Settings

    fitted = json.loads((ROOT / "corpus" / "calibration.json").read_text(encoding="utf-8"))
    assert Settings().answer_threshold == fitted["answer_threshold"]
    assert not (ROOT / "rag" / "abstention.json").exists()
    missing = Settings(calibration_file=str(tmp_path / "none.json"))
    assert missing.answer_threshold == CALIBRATED["answer_threshold"]
    assert missing.answer_model == tuple(tuple(row) for row in CALIBRATED["answer_model"])
    (tmp_path / "mine.json").write_text(json.dumps({"answer_threshold": 0.42}), encoding="utf-8")
    assert Settings(calibration_file=str(tmp_path / "mine.json")).answer_threshold == 0.42
    assert Settings(calibration_file=str(tmp_path / "mine.json"), answer_threshold=0.2).answer_threshold == 0.2
