"""A session's own documents (``rag.index.uploads``, ``ui.sessions``): found, cited exactly, private, limited,
deleted."""

from __future__ import annotations

import time

import pytest
from corpora import MINE
from corpora import MINE_ANSWER as ANSWER

from rag.index.uploads import Collection, UploadError, display_name
from ui.messages import french_upload
from ui.sessions import Sessions

QUESTION = "Combien coûte le projet Héliotrope ?"
def test_an_uploaded_document_is_found_and_cited_exactly(tiny_retriever, upload):
    collection = Collection(tiny_retriever)
    path = upload("rapport.md")
    info = collection.add(path, "rapport.md")
    assert info.doc_id.startswith("mon-document-") and info.title == "Le projet Héliotrope"
    answer = collection.retriever().answer(QUESTION)
    assert answer.status == "answered"
    assert answer.sentences[0].text == ANSWER
    raw = path.read_text(encoding="utf-8")
    for s in answer.sentences:
        p = answer.passages[s.passage]
        assert p.doc_id == info.doc_id and p.body == "Mon document"
        assert raw[s.start:s.end] == s.text  # verbatim, at exact offsets into the stored file
        assert p.text[s.passage_start:s.passage_end] == s.text
        assert collection.retriever().clean_document(p.doc_id).render(p.start, p.end) == p.text
    # the corpus is still searched beside it
    corpus = collection.retriever().answer("Quel budget pour l'intelligence artificielle de défense en 2030 ?")
    assert corpus.passages[0].doc_id == "note-budget"


def test_another_collection_and_the_shared_retriever_never_see_it(tiny_retriever, upload):
    a, b = Collection(tiny_retriever), Collection(tiny_retriever)
    a.add(upload("a.md"), "a.md")
    b.add(upload("b.md", "# Autre chose\n\nLa flotte compte douze frégates de défense aérienne.\n"), "b.md")
    for other in (b.retriever(), tiny_retriever):
        answer = other.answer(QUESTION)
        assert answer.passages  # the nearest passages are shown even when nothing answers
        assert all("Héliotrope" not in p.text for p in answer.passages)
        assert all(p.title != "Le projet Héliotrope" for p in answer.passages)
        assert all(d.title != "Le projet Héliotrope" for d in other.documents)
    assert [d.doc_id for d in tiny_retriever.documents] == ["note-budget", "rapport-drones", "resolution-test"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be-bom", "utf-32"])
def test_utf16_and_utf32_text_with_a_byte_order_mark_is_read_and_cited(tiny_retriever, upload, encoding):
    """A text saved as UTF-16 or UTF-32 (as Windows' Notepad offers), its byte-order mark first: read, found, and
    cited at the offsets of its decoded characters."""
    data = ("\ufeff" + MINE).encode("utf-16-be") if encoding == "utf-16-be-bom" else MINE.encode(encoding)
    collection = Collection(tiny_retriever)
    info = collection.add(upload("notepad.txt", data), "notepad.txt")
    assert info.title == "Le projet Héliotrope"
    answer = collection.retriever().answer(QUESTION)
    assert answer.status == "answered" and answer.sentences[0].text == ANSWER
    s = answer.sentences[0]
    assert MINE[s.start:s.end] == ANSWER  # the file's characters, the mark not counted


@pytest.mark.parametrize("name, content, limits, code, french", [
    ("virus.exe", b"MZ\x90\x00", {}, "bad_type", "type de fichier non pris en charge (.exe)"),
    ("sans-extension", b"bonjour", {}, "bad_type", "sans extension"),
    ("vide.md", b"", {}, "empty", "fichier vide"),
    ("gros.txt", "mot " * 300, {"upload_max_bytes": 1000}, "too_large", "fichier trop lourd"),
    ("faux.pdf", b"<html><body>pas un PDF</body></html>", {}, "not_format", "ne correspond pas à un fichier .pdf"),
    ("faux.docx", b"%PDF-1.4 pas un docx", {}, "not_format", "ne correspond pas à un fichier .docx"),
    ("binaire.txt", b"abc\x00def", {}, "not_format", "ne correspond pas à un fichier .txt"),
    ("latin1.txt", "Défense nationale".encode("latin-1"), {}, "not_utf8", "n'est pas encodé en UTF-8"),
    ("long.md", "# Long\n\n" + "Une phrase sur la défense. " * 100, {"upload_max_chars": 500}, "too_long",
     "texte trop long (500 caractères au plus)"),
    ("blanc.md", "   \n\n  ", {}, "empty", "fichier vide"),
    ("nul-loin.txt", b"a" * 600 + b"\x00", {}, "not_format", "ne correspond pas à un fichier .txt"),
    ("sans-bom.txt", "Défense nationale et drones.".encode("utf-16-le"), {}, "not_utf8",
     "n'est pas encodé en UTF-8"),
    ("tronque.txt", "Défense".encode("utf-16") + b"\x00", {}, "damaged", "fichier endommagé"),
])
def test_bad_files_are_refused_with_a_clear_french_message(tiny_retriever, upload, name, content, limits, code,
                                                           french):
    r = tiny_retriever.replace(settings=tiny_retriever.settings.replace(**limits)) if limits else tiny_retriever
    collection = Collection(r)
    with pytest.raises(UploadError) as info:
        collection.add(upload(name, content), name)
    assert info.value.code == code
    message = french_upload(info.value)
    assert french in message and f"« {name} »" in message
    assert len(collection) == 0 and collection.retriever() is r


PDF_PAGES = [["Le programme Argonaute prépare des essais de drones sous-marins dans la rade de Brest."],
             ["Le projet Argonaute est financé à hauteur de 17 millions d'euros par la marine nationale."]]


def test_an_uploaded_pdf_is_cited_with_its_page(tiny_retriever, upload):
    from documents import make_pdf

    collection = Collection(tiny_retriever)
    info = collection.add(upload("rapport.pdf", make_pdf(PDF_PAGES, title="Rapport Argonaute")), "rapport.pdf")
    assert info.title == "Rapport Argonaute" and len(info.pages) == 2
    answer = collection.retriever().answer("Combien coûte le projet Argonaute ?")
    assert answer.status == "answered" and "17 millions" in answer.sentences[0].text
    from rag.corpus.readers import page_span

    sentence = answer.sentences[0]
    passage = answer.passages[sentence.passage]
    assert passage.doc_id == info.doc_id and (passage.page, passage.page_end) == (1, 2)  # it spans both pages
    assert page_span(info.pages, sentence.start, sentence.end) == (2, 0)  # the quoted sentence is on page 2


@pytest.mark.parametrize("name, make, limits, french", [
    ("chiffre.pdf", lambda: __import__("documents").make_pdf(PDF_PAGES, password="secret"), {},
     "protégé par un mot de passe"),
    ("long.pdf", lambda: __import__("documents").make_pdf(PDF_PAGES * 2), {"upload_max_pages": 3},
     "trop de pages (3 au plus)"),
    ("scan.pdf", lambda: __import__("documents").make_pdf(PDF_PAGES, images={0, 1}), {"ocr": False},
     "pas de couche texte"),
    ("tronque.pdf", lambda: __import__("documents").make_pdf(PDF_PAGES)[:400], {}, "endommagé ou tronqué"),
])
def test_bad_pdfs_are_refused_with_a_clear_french_message(tiny_retriever, upload, monkeypatch, name, make, limits,
                                                         french):
    if limits.pop("ocr", True) is False:
        monkeypatch.setenv("RAG_OCR", "off")
    r = tiny_retriever.replace(settings=tiny_retriever.settings.replace(**limits)) if limits else tiny_retriever
    collection = Collection(r)
    with pytest.raises(UploadError) as info:
        collection.add(upload(name, make()), name)
    message = french_upload(info.value)
    assert french in message and f"« {name} »" in message, message
    assert len(collection) == 0


def test_a_session_holds_at_most_upload_max_files(tiny_retriever, upload):
    r = tiny_retriever.replace(settings=tiny_retriever.settings.replace(upload_max_files=1))
    collection = Collection(r)
    collection.add(upload("un.md"), "un.md")
    with pytest.raises(UploadError) as info:
        collection.add(upload("deux.md"), "deux.md")
    assert info.value.code == "too_many"
    assert "cette session a déjà 1 documents (le maximum)" in french_upload(info.value)


def test_too_large_is_decided_from_the_size_before_reading(tiny_retriever, upload, monkeypatch):
    r = tiny_retriever.replace(settings=tiny_retriever.settings.replace(upload_max_bytes=100))
    path = upload("gros.md", "x" * 101)
    opened = []
    real_open = open
    monkeypatch.setattr("builtins.open", lambda p, *a, **k: opened.append(str(p)) or real_open(p, *a, **k))
    with pytest.raises(UploadError, match="too_large"):
        Collection(r).add(path, "gros.md")
    assert str(path) not in opened


@pytest.mark.parametrize("name, shown", [
    ("../../etc/passwd.md", "passwd.md"),
    ("C:\\Users\\x\\rapport.md", "rapport.md"),
    ("a\x00b\x1b[31m\u202erapport.md", "ab[31mrapport.md"),
    ("", "document"),
    ("x" * 300 + ".md", "x" * 119 + "…"),
])
def test_a_client_name_is_shown_without_path_or_control_characters(name, shown):
    assert display_name(name) == shown


def test_files_are_read_under_generated_names_in_a_private_folder_then_deleted(sessions, upload):
    path, seen = upload("Mon rapport <secret>.md"), []

    def progress(fraction, what):  # told while the file is read: it is on disk then
        seen.extend((p, p.read_text(encoding="utf-8")) for f in sessions.folders() for p in f.iterdir())

    info = sessions.add("session-a", path, "Mon rapport <secret>.md", progress)
    assert not path.exists(), "the upload cache's copy is deleted"
    stored, text = seen[0]
    assert stored.suffix == ".md" and len(stored.stem) == 16 and int(stored.stem, 16) >= 0
    assert "rapport" not in str(stored) and "secret" not in str(stored)
    assert text == MINE
    [folder] = sessions.folders()
    assert folder.stat().st_mode & 0o077 == 0 or sessions.root.stat().st_mode & 0o077 == 0
    assert list(folder.iterdir()) == [], "the stored file is deleted once its text is indexed"
    assert [d.doc_id for d in sessions.documents("session-a")] == [info.doc_id]
    assert ANSWER in sessions.retriever_for("session-a").answer(QUESTION).sentences[0].text
    assert sessions.documents("session-b") == []
    assert sessions.retriever_for("session-b") is sessions.retriever


def test_a_file_from_outside_the_upload_folder_is_refused(sessions, tmp_path):
    outside = tmp_path / "ailleurs.md"
    outside.write_text(MINE, encoding="utf-8")
    with pytest.raises(UploadError) as info:
        sessions.add("session-a", outside, "ailleurs.md")
    assert info.value.code == "unreadable" and outside.exists()
    assert sessions.documents("session-a") == []


def test_ending_a_session_deletes_its_folder_and_documents(sessions, upload):
    sessions.add("session-a", upload("a.md"), "a.md")
    sessions.add("session-b", upload("b.md"), "b.md")
    assert len(sessions.folders()) == 2
    assert sessions.end("session-a") is True
    assert len(sessions.folders()) == 1 and sessions.documents("session-a") == []
    assert sessions.documents("session-b"), "the other session keeps its documents"
    assert sessions.end("session-a") is False


def test_an_idle_session_is_swept_after_its_time_to_live(sessions, upload):
    sessions.add("session-a", upload("a.md"), "a.md")
    assert sessions.sweep() == 0
    assert sessions.sweep(now=time.monotonic() + sessions.settings.upload_ttl + 1) == 1
    assert sessions.folders() == [] and sessions.documents("session-a") == []


def test_the_sweeper_thread_ends_idle_sessions(tiny_retriever, tmp_path, upload):
    s = Sessions(tiny_retriever, tiny_retriever.settings.replace(upload_dir=str(tmp_path / "u"), upload_ttl=1),
                 sweep_every=0.2, upload_folder=upload.cache)
    try:
        s.add("session-a", upload("a.md"), "a.md")
        deadline = time.monotonic() + 30
        while s.folders() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert s.folders() == []
    finally:
        s.close()
    assert not s.root.exists()


def test_the_files_being_read_are_bounded_in_bytes(tiny_retriever, tmp_path, upload):
    size = len(MINE.encode("utf-8"))
    s = Sessions(tiny_retriever, tiny_retriever.settings.replace(upload_dir=str(tmp_path / "u"),
                                                                 upload_budget=size + 10),
                 sweep_every=3600, upload_folder=upload.cache)
    try:
        s.add("session-a", upload("a.md"), "a.md")
        s.add("session-b", upload("b.md"), "b.md")  # a's file was deleted once indexed: the space is free again
        with pytest.raises(UploadError) as info:
            s.add("session-c", upload("c.md", MINE + "Une ligne de plus.\n"), "c.md")
        assert info.value.code == "budget" and "espace réservé" in french_upload(info.value)
    finally:
        s.close()


def test_one_visitor_past_its_sessions_loses_its_own_oldest_never_another_visitors(tiny_retriever, tmp_path, upload):
    settings = tiny_retriever.settings.replace(upload_dir=str(tmp_path / "u"), upload_visitor_sessions=2)
    s = Sessions(tiny_retriever, settings, sweep_every=3600, upload_folder=upload.cache)
    try:
        s.add("other", upload("o.md"), "o.md", visitor="203.0.113.9")
        for n in range(5):  # one address, a fresh session each time (as a script would)
            s.add(f"mine-{n}", upload(f"m{n}.md"), f"m{n}.md", visitor="198.51.100.7")
        assert s.documents("other"), "another visitor's documents stay"
        assert [n for n in range(5) if s.documents(f"mine-{n}")] == [3, 4]
        assert s.held()[0] == 3
        assert s.was_evicted("mine-0") and not s.was_evicted("other")
    finally:
        s.close()


def test_past_the_characters_held_the_least_recently_used_other_sessions_give_way(tiny_retriever, tmp_path, upload):
    settings = tiny_retriever.settings.replace(upload_dir=str(tmp_path / "u"), upload_total_chars=2 * len(MINE) + 10)
    s = Sessions(tiny_retriever, settings, sweep_every=3600, upload_folder=upload.cache)
    try:
        s.add("a", upload("a.md"), "a.md", visitor="203.0.113.1")
        s.add("b", upload("b.md"), "b.md", visitor="203.0.113.2")
        s.documents("a")  # « b » is now the least recently used
        s.add("c", upload("c.md"), "c.md", visitor="203.0.113.3")
        assert s.documents("a") and s.documents("c") and not s.documents("b")
        assert s.held() == (2, 2 * len(MINE))
    finally:
        s.close()


@pytest.mark.slow
def test_150_sessions_with_tiny_uploads_are_held_up_to_the_cap(tiny_retriever, tmp_path, upload):
    """The probe's pattern: a new session with a tiny upload, again and again, from many addresses. What is held
    stays at the cap (the least recently used give way), with their folders; what they held is freed."""
    s = Sessions(tiny_retriever, tiny_retriever.settings.replace(upload_dir=str(tmp_path / "u")),
                 sweep_every=3600, upload_folder=upload.cache)
    try:
        for n in range(150):
            s.add(f"s{n}", upload("t.md", f"# Note {n}\n\nUne note brève numéro {n}.\n"), "t.md",
                  visitor=f"10.0.{n // 250}.{n % 250}")
        cap = tiny_retriever.settings.upload_max_sessions
        assert s.held()[0] == cap and len(s.folders()) == cap
        assert not s.documents("s0") and s.documents("s149")
    finally:
        s.close()


def test_the_panel_shows_a_client_name_escaped_only(tiny_retriever, upload):
    from ui.render import render_my_documents

    name = "rapport <img src=x onerror=alert(1)>.md"
    collection = Collection(tiny_retriever)
    collection.add(upload("a.md"), name)
    with pytest.raises(UploadError) as info:
        collection.add(upload("b.exe", b"MZ"), "x<script>alert(2).exe")
    panel = render_my_documents(collection.documents, [french_upload(info.value)])
    assert "<img" not in panel and "<script>" not in panel
    assert "&lt;img src=x onerror=alert(1)&gt;.md" in panel and "&lt;script&gt;" in panel


def test_the_page_searches_the_session_documents_with_the_ticked_ones_and_only_for_that_session(
        tiny_retriever, sessions, upload):
    import html
    from types import SimpleNamespace

    from ui.handlers import App

    app = App(tiny_retriever, sessions)
    sessions.add("session-a", upload("a.md"), "a.md")
    page = app.ask(QUESTION, 5, "hybrid", ["note-budget"], SimpleNamespace(session_hash="session-a"))
    assert "Mon document" in page and html.escape(ANSWER) in page
    other = app.ask(QUESTION, 5, "hybrid", None, SimpleNamespace(session_hash="session-b"))
    assert "Mon document" not in other and "42 millions" not in other


def test_a_start_sweeps_the_upload_folders_no_running_app_owns(tiny_retriever, tmp_path, upload):
    """Folders left by a crash or a kill: their owner is gone (or, without an owner file, they are older than the
    session time to live). A running app's folder is kept."""
    import os
    import subprocess
    import sys

    base = tmp_path / "uploads"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = base / "rag-uploads-crashed"
    (dead / "s-1").mkdir(parents=True)
    (dead / "s-1" / "a.md").write_text(MINE, encoding="utf-8")
    (dead / "owner.pid").write_text(gone.stdout.strip())
    old = base / "rag-uploads-old"
    old.mkdir()
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    alive = base / "rag-uploads-running"
    alive.mkdir()
    (alive / "owner.pid").write_text(str(os.getppid()))  # a process that runs
    unrelated = base / "other-folder"
    unrelated.mkdir()
    s = Sessions(tiny_retriever, tiny_retriever.settings.replace(upload_dir=str(base), upload_ttl=3600),
                 sweep_every=3600, upload_folder=upload.cache)
    try:
        assert not dead.exists() and not old.exists()
        assert alive.exists() and unrelated.exists()
        assert (s.root / "owner.pid").read_text() == str(os.getpid())
    finally:
        s.close()
    assert not s.root.exists()


def test_past_the_cap_of_sessions_the_least_recently_used_loses_its_documents_and_is_told(tiny_retriever, tmp_path,
                                                                                           upload):
    from ui.handlers import App
    from ui.messages import MSG_EVICTED

    settings = tiny_retriever.settings.replace(upload_dir=str(tmp_path / "uploads"), upload_max_sessions=3)
    s = Sessions(tiny_retriever, settings, sweep_every=3600, upload_folder=upload.cache)
    try:
        for name in ("a", "b", "c"):
            s.add(name, upload(f"{name}.md"), f"{name}.md")
        assert s.documents("a")  # « a » used again: « b » is now the least recently used
        s.add("d", upload("d.md"), "d.md")
        assert s.documents("b") == [] and s.documents("a") and s.documents("c") and s.documents("d")
        assert len(s.folders()) == 3
        app = App(tiny_retriever, s)

        class Request:
            session_hash = "b"

        page = app.ask(QUESTION, 5, "hybrid", None, Request())
        assert MSG_EVICTED.split(" :")[0] in page and "42 millions" not in page
        assert MSG_EVICTED.split(" :")[0] not in app.ask(QUESTION, 5, "hybrid", None, Request())  # said once
    finally:
        s.close()


def test_a_varied_x_forwarded_for_does_not_lift_the_visitor_cap(tiny_retriever, tmp_path, upload):
    """Behind one trusted proxy, the visitor is the address that proxy saw (rightmost), whatever the client writes
    on the left: fresh sessions with forged addresses still count against one visitor."""
    from types import SimpleNamespace

    from ui.handlers import App

    settings = tiny_retriever.settings.replace(upload_dir=str(tmp_path / "u"), upload_visitor_sessions=2)
    s = Sessions(tiny_retriever, settings, sweep_every=3600, upload_folder=upload.cache)
    app = App(tiny_retriever, s, trusted_proxies=1)
    try:
        for n in range(6):
            request = SimpleNamespace(session_hash=f"forged-{n}", client=SimpleNamespace(host="10.0.0.1", port=1),
                                      headers={"X-Forwarded-For": f"192.0.2.{n}, 198.51.100.7"})
            assert "Le projet Héliotrope" in app.upload([str(upload(f"m{n}.md"))], request)[0]
        assert s.held()[0] == 2
        assert [n for n in range(6) if s.documents(f"forged-{n}")] == [4, 5]
    finally:
        s.close()


def test_only_the_most_recently_used_sessions_keep_a_merged_index(tiny_retriever, tmp_path, upload, monkeypatch):
    """A merged index copies the shared vectors: past MERGED_KEPT sessions, the least recently used let theirs go,
    and still answer from their own documents (the index is made again)."""
    import ui.sessions

    monkeypatch.setattr(ui.sessions, "MERGED_KEPT", 2)
    s = Sessions(tiny_retriever, tiny_retriever.settings.replace(upload_dir=str(tmp_path / "u")),
                 sweep_every=3600, upload_folder=upload.cache)
    try:
        for n, name in enumerate("abcd"):
            s.add(name, upload(f"{name}.md"), f"{name}.md", visitor=f"192.0.2.{n}")
        assert [n for n in "abcd" if s.get(n).collection._merged is not None] == ["c", "d"]
        assert ANSWER in s.retriever_for("a").answer(QUESTION).sentences[0].text
        assert [n for n in "abcd" if s.get(n).collection._merged is not None] == ["a", "d"]
    finally:
        s.close()
