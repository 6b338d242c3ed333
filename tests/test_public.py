"""Safe to put on a public Space: bounded cost per question, corpus hygiene, the index as the only source of what
is shown. The HTTP side (queue, sizes, headers, contract) is in ``test_public_http.py``.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from wrapping import WrappedEmbedder

from rag import Retriever
from rag.retrieval.request import MAX_QUESTION_CHARS, QUESTION_TOKENS, fit_question

HOSTILE_QUESTIONS = {
    "emoji": "💥" * MAX_QUESTION_CHARS,
    "cjk": "中" * MAX_QUESTION_CHARS,
    "accents": "é" * MAX_QUESTION_CHARS,
    "a-dot": ("a. " * MAX_QUESTION_CHARS)[:MAX_QUESTION_CHARS],
    "mixed": ("drones 💥 中文 a. é " * 200)[:MAX_QUESTION_CHARS],
    "long-french": ("Que signifie un contrôle humain significatif des drones ? " * 40)[:MAX_QUESTION_CHARS],
}


class Recording(WrappedEmbedder):
    """The real embedder, recording the texts it is asked to embed as queries (it embeds them all)."""

    def __init__(self, inner) -> None:
        super().__init__(inner)
        self.queries: list[str] = []

    def on_queries(self, texts) -> None:
        self.queries.extend(texts)


@pytest.fixture(scope="module")
def recorded(tiny_retriever):
    embedder = Recording(tiny_retriever.embedder)
    return tiny_retriever.replace(embedder=embedder), embedder


# --------------------------------------------------------------------------- cost per question: the token budget
@pytest.mark.parametrize("kind", sorted(HOSTILE_QUESTIONS))
def test_the_embedder_never_sees_more_than_the_token_budget(recorded, kind):
    r, embedder = recorded
    question = HOSTILE_QUESTIONS[kind]
    assert embedder.count_tokens(question) > 3 * QUESTION_TOKENS  # the question really is over budget
    for call in (r.answer, r.search):
        embedder.queries.clear()
        result = call(question, k=3)
        (sent,) = embedder.queries
        assert embedder.count_tokens(sent) <= QUESTION_TOKENS
        assert question.startswith(sent) and len(sent) >= 20
        if call == r.answer:
            assert result.question == sent  # what was answered is what the caller is shown


@pytest.mark.parametrize("kind", sorted(HOSTILE_QUESTIONS))
def test_keyword_analysis_reads_only_the_cut_question(recorded, kind):
    r, embedder = recorded
    query, *_ = r.candidates(HOSTILE_QUESTIONS[kind], k=3)
    assert embedder.count_tokens(query.text) <= QUESTION_TOKENS
    assert len(query.keyword_text) <= 4 * len(query.text) + 200  # an English question adds its glossary terms


def test_a_normal_question_is_not_cut(recorded):
    r, embedder = recorded
    q = "Que suppose un contrôle humain significatif des drones ?"
    embedder.queries.clear()
    assert r.answer(q).question == q and embedder.queries == [q]


@hsettings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(min_size=1, max_size=MAX_QUESTION_CHARS), budget=st.integers(8, 200))
def test_fit_question_is_a_prefix_within_budget(tiny_retriever, text, budget):
    count = tiny_retriever.embedder.count_tokens
    cut = fit_question(text, count, budget)
    assert text.startswith(cut) and cut
    if count(text) <= budget:
        assert cut == text
    else:
        assert count(cut) <= budget or len(cut) == 1


# --------------------------------------------------------------------------- corpus faults (library and CLI)
def build(tmp_path, files: dict[str, str | bytes], caplog=None, **kw):
    import logging

    from rag import Settings

    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    for name, content in files.items():
        if isinstance(content, bytes):
            (corpus / name).write_bytes(content)
        else:
            (corpus / name).write_text(content, encoding="utf-8")
    if caplog is not None:
        caplog.set_level(logging.INFO, logger="rag")
    settings = Settings(corpus_dir=str(corpus), index_dir=str(tmp_path / "index"), embedder="bundled", **kw)
    return corpus, settings


BASE = {"base.md": "# Base\n\nLes drones armés posent la question du contrôle humain significatif.\n"}


def warnings_of(caplog) -> list[str]:
    import logging

    return [r.getMessage() for r in caplog.records if r.name == "rag" and r.levelno >= logging.WARNING]


def test_a_symlink_in_the_corpus_is_never_read(tmp_path, caplog):
    outside = tmp_path / "secret.txt"
    outside.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    corpus, settings = build(tmp_path, BASE, caplog)
    (corpus / "passwd.md").symlink_to("/etc/passwd")
    (corpus / "secret.md").symlink_to(outside)
    (corpus / "inside.md").symlink_to(corpus / "base.md")  # even one that stays in the folder
    r = Retriever.from_settings(settings)
    assert [d.doc_id for d in r.documents] == ["base"]
    lines = warnings_of(caplog)
    for name in ("passwd.md", "secret.md", "inside.md"):
        assert any(name in line and "symbolic link" in line for line in lines), (name, lines)
    for mode in ("keyword", "hybrid"):
        assert all("root:" not in p.text for p in r.search("root x 0 bin bash passwd", k=10, mode=mode))
    assert {s["file"] for s in r.info()["skipped"]} == {"passwd.md", "secret.md", "inside.md"}


def test_a_symlinked_metadata_file_is_not_read(tmp_path, caplog):
    outside = tmp_path / "meta.toml"
    outside.write_text('[base]\ntitle = "Titre venu d\'ailleurs"\n', encoding="utf-8")
    corpus, settings = build(tmp_path, BASE, caplog)
    (corpus / "metadata.toml").symlink_to(outside)
    r = Retriever.from_settings(settings)
    assert r.documents[0].title == "Base"
    assert any("metadata.toml" in line and "symbolic link" in line for line in warnings_of(caplog))


def test_a_file_too_large_is_skipped_and_the_rest_is_indexed(tmp_path, caplog):
    import subprocess
    import sys

    from rag.corpus.documents import MAX_FILE_BYTES

    big = "mot " * (5 * 1024 * 1024 // 4)  # 5 MB on a single line
    assert len(big) > MAX_FILE_BYTES
    corpus, settings = build(tmp_path, {**BASE, "enorme.md": big}, caplog)
    r = Retriever.from_settings(settings)
    assert [d.doc_id for d in r.documents] == ["base"]
    assert any("enorme.md" in line and "too large to index" in line for line in warnings_of(caplog))
    assert r.search("contrôle humain", k=1)[0].doc_id == "base"
    out = subprocess.run([sys.executable, "-m", "rag", "info", "--corpus", str(corpus), "--index",
                          settings.index_dir, "--embedder", "bundled", "-q"], capture_output=True, text=True,
                         timeout=240, env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"})
    assert out.returncode == 0, out.stderr[-1000:]
    assert "skipped   enorme.md: too large to index" in out.stdout


def test_a_chunk_never_exceeds_the_token_budget_whatever_the_headings(tmp_path):
    from rag.embedding.bundled import BundledEmbedder
    from rag.text.chunking import MAX_CHUNK_TOKENS, chunk_document
    from rag.text.cleaning import clean_document

    count = BundledEmbedder().count_tokens
    text = "".join(f"## Titre numéro {i} de la longue table\n\n" for i in range(3000)) + "Enfin un paragraphe.\n"
    chunks = chunk_document("titres", clean_document(text), count, 160, 32)
    assert len(chunks) > 20
    assert max(count(c.text) for c in chunks) <= MAX_CHUNK_TOKENS
    assert max(len(c.text) for c in chunks) < 6 * MAX_CHUNK_TOKENS  # was one chunk of 34,904 characters
    # the usual case is unchanged: a heading still opens the passage after it
    small = chunk_document("d", clean_document("# Titre\n\n## Section\n\nUn paragraphe de texte.\n"), count, 160, 32)
    assert len(small) == 1 and small[0].text.startswith("Titre")


def test_a_build_of_many_headings_keeps_every_chunk_within_the_token_budget(tmp_path):
    from rag.text.chunking import MAX_CHUNK_TOKENS

    text = "".join(f"### Rubrique {i}\n\n" for i in range(600)) + "Un paragraphe final sur les drones.\n"
    _, settings = build(tmp_path, {**BASE, "titres.md": text})
    r = Retriever.from_settings(settings)
    assert max(r.embedder.count_tokens(c.text) for c in r.index.chunks) <= MAX_CHUNK_TOKENS


def test_doc_lists_are_capped_and_echoed_short(tiny_retriever):
    from rag import QueryError

    with pytest.raises(QueryError) as info:
        tiny_retriever.search("drones", docs=["x" * 1000] * 2_000_000)
    assert info.value.code == "too_many_docs" and len(str(info.value)) < 200
    with pytest.raises(QueryError) as info:
        tiny_retriever.search("drones", docs=["inconnu" * 200, "autre" * 200])
    assert info.value.code == "unknown_docs" and len(str(info.value)) < 300


def test_the_index_alone_says_what_is_cited_when_files_change(tmp_path, monkeypatch):
    """The library side (the app's is in test_public_http): truncated, deleted and edited files never reach a passage
    or the reader."""
    from corpora import TINY

    import rag.corpus.freshness

    monkeypatch.setattr(rag.corpus.freshness, "CHECK_SECONDS", 0.0)
    corpus, settings = build(tmp_path, TINY)
    r = Retriever.from_settings(settings)
    q = "Que suppose un contrôle humain significatif des drones ?"
    before = r.answer(q, k=5)
    clean_before = {d.doc_id: r.clean_document(d.doc_id).text for d in r.documents}
    assert r.corpus_changed() == []
    (corpus / "rapport-drones.md").write_text("# R\n\nx\n", encoding="utf-8")
    (corpus / "note-budget.txt").unlink()
    path = corpus / "resolution-test.md"
    path.write_bytes(path.read_bytes()[:10])
    assert r.corpus_changed() == ["note-budget.txt", "rapport-drones.md", "resolution-test.md"]
    after = r.answer(q, k=5)
    assert after.passages == before.passages and after.sentences == before.sentences
    assert {d.doc_id: r.clean_document(d.doc_id).text for d in r.documents} == clean_before
    passages = r.search("budget défense milliard 2030", k=5, mode="keyword")
    assert passages
    for p in passages:
        doc = r.clean_document(p.doc_id)
        assert doc.render(p.start, p.end) == p.text
        assert doc.to_file(*doc.to_clean(p.start, p.end)) == (p.start, p.end)  # offsets valid in the index's own map
    # a fresh start rebuilds from what is there now
    fresh = Retriever.from_settings(settings)
    assert {d.doc_id for d in fresh.documents} == {"rapport-drones", "resolution-test"} and fresh.corpus_changed() == []


@pytest.mark.parametrize("forwarded, trusted, expected", [
    ("", 0, "10.0.0.9"),  # no proxy: the socket's peer
    ("1.2.3.4", 0, "10.0.0.9"),  # a header the client wrote, no proxy trusted: ignored
    ("1.2.3.4, 5.6.7.8", 1, "5.6.7.8"),  # one trusted proxy: the address it saw, not what the client wrote
    ("spoof, 1.2.3.4, 5.6.7.8", 2, "1.2.3.4"),  # two trusted proxies
    ("5.6.7.8", 2, "10.0.0.9"),  # fewer addresses than trusted proxies: the peer
])
def test_the_client_address_is_read_from_the_right_of_the_trusted_proxies(forwarded, trusted, expected):
    from ui.guard import client_ip

    headers = {"x-forwarded-for": forwarded} if forwarded else {}
    assert client_ip(headers, ("10.0.0.9", 5555), trusted) == expected


def test_a_space_trusts_its_own_proxy_and_the_operator_decides_elsewhere():
    from rag import AppSettings

    assert AppSettings.from_env({}).trusted_proxies == 0
    assert AppSettings.from_env({"SPACE_ID": "owner/name"}).trusted_proxies == 1
    assert AppSettings.from_env({"SPACE_ID": "owner/name", "RAG_APP_TRUSTED_PROXIES": "0"}).trusted_proxies == 0
    assert AppSettings.from_env({"RAG_APP_TRUSTED_PROXIES": "2"}).trusted_proxies == 2
    with pytest.raises(ValueError, match="RAG_APP_TRUSTED_PROXIES"):
        AppSettings.from_env({"RAG_APP_TRUSTED_PROXIES": "-1"})
