"""The app's API, through gradio_client, against the app launched in-process on the fixture corpus."""

from __future__ import annotations

import httpx
import pytest
from corpora import APP_DOCS, ROOT
from gradio_client import Client

QUESTION = "Que signifie un contrôle humain significatif ?"


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def search(client, question, k=5, mode="hybrid", docs=None):
    return client.predict(question, k, mode, docs, api_name="/search")


def test_search_returns_valid_citations(client, app_retriever, app_corpus):
    result = search(client, QUESTION)
    assert result["question"] == QUESTION
    assert result["abstained"] is False
    assert result["passages"], "no passage returned"
    assert 1 <= len(result["sentences"]) <= 3
    files = {d: (app_corpus / f"{d}.md").read_text(encoding="utf-8") for d in APP_DOCS}
    assert any(p["highlights"] for p in result["passages"])
    for p in result["passages"]:
        assert p["doc_id"] in files
        doc = app_retriever.clean_document(p["doc_id"])
        assert doc.render(p["start"], p["end"]) == p["text"]
        raw = files[p["doc_id"]][p["start"]:p["end"]]
        for word in p["text"].split():
            assert word in raw
        for a, b in p["highlights"]:
            assert 0 <= a < b <= len(p["text"])
        assert p["title"] and p["body"] and p["date"]
    for s in result["sentences"]:
        p = result["passages"][s["passage"]]
        assert p["text"][s["passage_start"]:s["passage_end"]] == s["text"]
        assert app_retriever.clean_document(p["doc_id"]).render(s["start"], s["end"]) == s["text"]
    # the best sentence answers the question, from the document about human control
    top = result["passages"][result["sentences"][0]["passage"]]
    assert top["doc_id"] == "controle-humain"
    assert "contrôle humain significatif" in result["sentences"][0]["text"]


def test_search_options(client):
    result = search(client, QUESTION, k=2, mode="keyword", docs=["resolution-onu"])
    assert result["mode"] == "keyword"
    assert len(result["passages"]) <= 2
    assert {p["doc_id"] for p in result["passages"]} <= {"resolution-onu"}
    dense = search(client, "What does meaningful human control mean?", k=3, mode="dense")
    assert len(dense["passages"]) == 3


def test_search_abstains_off_topic(client):
    result = search(client, "Comment faire une pâte à crêpes ?")
    assert result["abstained"] is True and result["status"] == "off_topic"
    assert result["sentences"] == [] and "ne traite pas" in result["message"]


@pytest.mark.parametrize("question, words", [
    # the resolution is in the corpus, its vote is not: a number that counts States is needed
    ("Combien d'États ont voté pour la résolution de l'Assemblée générale ?", ("États", "résolution", "Assemblée")),
    # the Assembly is there, nobody who presided it: a person is needed, not a body
    ("Qui a présidé la séance de l'Assemblée générale ?", ("Assemblée", "générale")),
])
def test_search_says_related_when_the_corpus_talks_about_it_but_does_not_answer(client, question, words):
    result = search(client, question)
    assert result["status"] == "related" and result["abstained"] is True
    assert result["sentences"] == [], "a related outcome quotes nothing as an answer"
    assert result["passages"], "the passages on the topic are still returned"
    assert {p["doc_id"] for p in result["passages"][:2]} & {"resolution-onu"}
    message = result["message"]
    assert message.startswith("Aucune phrase des passages trouvés ne dit") and "«" not in message
    assert all(w in message for w in words), message  # the question's own words the corpus has, as searched
    # and the question it does answer is answered, with its date
    dated = search(client, "Quand la résolution a-t-elle été adoptée ?")
    assert dated["status"] == "answered" and "24 décembre 2024" in dated["sentences"][0]["text"]


@pytest.mark.parametrize("kwargs, message", [
    (dict(question=""), "vide"),
    (dict(question="   \n\t "), "vide"),
    (dict(question="x" * 2001), "2000"),
    (dict(question=QUESTION, mode="magic"), "Mode de recherche inconnu ('magic')"),
    (dict(question=QUESTION, docs=["no-such-doc"]), "Document(s) inconnu(s) : 'no-such-doc'"),
    (dict(question=QUESTION, docs=[]), "docs ne nomme aucun document"),
    (dict(question=QUESTION, k=0), "k doit être un nombre entier de 1 à 50"),
    (dict(question=QUESTION, k=51), "k doit être un nombre entier de 1 à 50"),
])
def test_bad_input_gets_a_clear_error(client, kwargs, message):
    with pytest.raises(Exception) as info:
        search(client, **kwargs)
    text = str(info.value)
    assert message in text
    assert "Traceback" not in text


def test_question_at_the_limit_is_accepted(client):
    result = search(client, ("contrôle humain " * 200)[:2000])
    assert "passages" in result


@pytest.mark.parametrize("target", [
    "/etc/passwd",
    "{corpus}/metadata.toml",
    "{corpus}/controle-humain.md",
    str(ROOT / "app.py"),
    str(ROOT / ".index" / "CURRENT"),
    "{index}/CURRENT",
])
@pytest.mark.parametrize("route", ["file={}", "gradio_api/file={}", "gradio_api/file={}?download=1", "file/{}"])
def test_file_routes_refuse_files_outside_the_app(app_url, app_corpus, app_retriever, route, target):
    path = target.format(corpus=app_corpus, index=app_retriever.settings.index_dir)
    for candidate in (path, path.lstrip("/"), "../../../../../../.." + path):
        r = httpx.get(app_url + route.format(candidate), follow_redirects=True, timeout=10)
        body = r.text
        assert r.status_code in (400, 403, 404, 405), (route, candidate, r.status_code, body[:200])
        assert "root:" not in body and "import gradio" not in body and "build-" not in body
        assert "[\"resolution-onu\"]" not in body


def test_home_page_serves(app_url):
    r = httpx.get(app_url, timeout=10)
    assert r.status_code == 200


def test_one_citation_formatter_for_the_card_the_api_and_the_cli(client, app_retriever, capsys):
    """The card's « Copier la référence » (and « … courte »), the API's references (and citations) and the command
    line print the same text."""
    import html as html_lib
    import re

    from rag.__main__ import main
    from ui.handlers import App

    result = search(client, QUESTION)
    refs = result["references"]
    assert len(refs) == len(result["passages"]) and refs[0].startswith("« ")
    assert all(f"Source : {p['doc_id']}, caractères" in r for p, r in zip(result["passages"], refs))
    page = App(app_retriever).ask(QUESTION, 5, "hybrid", None)
    assert [html_lib.unescape(x) for x in re.findall(r'class="act copy-ref" data-ref="([^"]*)"', page)] == refs
    shorts = [html_lib.unescape(x) for x in re.findall(r'class="act copy-ref copy-short" data-ref="([^"]*)"', page)]
    assert shorts == [c["short"] for c in result["citations"]] and all(shorts)
    assert [c["full"] for c in result["citations"]] == refs
    s = app_retriever.settings
    assert main(["ask", "--corpus", s.corpus_dir, "--index", s.index_dir, "--embedder", "bundled", "-q", "--json",
                 QUESTION]) == 0
    import json

    assert json.loads(capsys.readouterr().out)["references"] == refs


@pytest.mark.parametrize("blank", ["\u200b", " \u2060\u200b "])
def test_invisible_question_gets_the_french_empty_message(client, app_retriever, blank):
    from ui.handlers import App
    from ui.messages import MSG_EMPTY, MSG_EMPTY_API

    assert MSG_EMPTY.replace("'", "&#x27;") in App(app_retriever).ask(blank, 5, "hybrid", None)
    with pytest.raises(Exception) as info:
        search(client, blank)
    assert MSG_EMPTY_API in str(info.value)
