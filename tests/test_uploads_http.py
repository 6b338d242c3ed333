"""Upload isolation through HTTP: two browser sessions against the app launched here.

Session A uploads a document through Gradio's own routes (``/gradio_api/upload``, then the panel's event on
``/gradio_api/queue/join``), as the page does; session B (raw HTTP and ``gradio_client``) never sees it; A's
private folder is removed when A's session ends (its heartbeat stream closes, as when the tab is closed).
"""

from __future__ import annotations

import html
import json
import threading
import time
from pathlib import Path

import httpx
import pytest
from corpora import APP_DOCS
from gradio_client import Client

from docs.screenshot import free_port

QUESTION = "Combien coûte le projet Héliotrope ?"
ANSWER = "Le projet Héliotrope de drones sous-marins est financé à hauteur de 42 millions d'euros par la marine."
MINE = f"# Le projet Héliotrope\n\n## Financement\n\n{ANSWER}\n\nSa livraison est prévue en 2031.\n"
CLIENT_NAME = "R&D rapport <img src=x onerror=alert(1)>.md"


@pytest.fixture(scope="module")
def uploads_app(app_retriever, tmp_path_factory):
    from ui import layout

    root = tmp_path_factory.mktemp("uploads")
    r = app_retriever.replace(settings=app_retriever.settings.replace(upload_dir=str(root)))
    demo = layout.build_app(r)
    port = free_port()
    layout.launch(demo, prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    try:
        yield {"url": f"http://127.0.0.1:{port}/", "demo": demo, "sessions": demo.upload_sessions}
    finally:
        demo.close()


def fn_index(demo, name: str) -> int:
    return next(i for i, f in demo.fns.items() if getattr(f.fn, "__name__", "") == name)


def run(url: str, fn: int, data: list, session: str) -> list:
    """Queue one event for ``session`` and return its output data (read from the session's event stream)."""
    body = {"data": data, "fn_index": fn, "session_hash": session, "event_data": None, "trigger_id": None}
    r = httpx.post(url + "gradio_api/queue/join", json=body, timeout=30)
    assert r.status_code == 200, r.text[:300]
    event = r.json()["event_id"]
    with httpx.stream("GET", url + f"gradio_api/queue/data?session_hash={session}", timeout=300) as s:
        for line in s.iter_lines():
            if line.startswith("data:"):
                msg = json.loads(line[5:])
                if msg.get("msg") == "process_completed" and msg.get("event_id") == event:
                    assert msg.get("success"), msg
                    return msg["output"]["data"]
    raise AssertionError("no completion")


def upload(url: str, session: str, demo, name: str, content: bytes) -> str:
    r = httpx.post(url + "gradio_api/upload", files={"files": (name, content)}, timeout=30)
    assert r.status_code == 200, r.text[:300]
    [path] = r.json()
    files = [{"path": path, "orig_name": name, "meta": {"_type": "gradio.FileData"}}]
    return run(url, fn_index(demo, "upload"), [files], session)[0]


def ask(url: str, demo, session: str, question: str = QUESTION) -> str:
    every = sorted(APP_DOCS)  # the page sends the ticked documents: all of them
    return run(url, fn_index(demo, "ask_turn"), [question, 5, "hybrid", every, None], session)[0]


def test_session_b_never_sees_session_a_document_and_a_folder_goes_when_a_ends(uploads_app):
    url, demo, sessions = uploads_app["url"], uploads_app["demo"], uploads_app["sessions"]
    a, b = "session-a-12345", "session-b-67890"

    panel = upload(url, a, demo, CLIENT_NAME, MINE.encode("utf-8"))
    assert "Le projet Héliotrope" in panel
    assert "<img" not in panel and "R&amp;D" in panel  # the client's name, shown escaped only
    [folder] = sessions.folders()
    assert list(folder.iterdir()) == [], "the stored file is deleted once its text is indexed"
    stored = folder / "0123456789abcdef.md"  # what a file being read looks like there
    stored.write_text(ANSWER, encoding="utf-8")

    mine = ask(url, demo, a)
    assert "Mon document" in mine and html.escape(ANSWER) in mine

    theirs = ask(url, demo, b)
    assert "42 millions" not in theirs and "Mon document" not in theirs and "mon-document-" not in theirs
    api = Client(url, verbose=False).predict(QUESTION, 5, "hybrid", None, api_name="/search")
    assert api["passages"] and all("Héliotrope" not in p["text"] and not p["doc_id"].startswith("mon-document-")
               for p in api["passages"])
    # the session's folder is never served, to B or anyone
    for route in ("gradio_api/file=", "file="):
        r = httpx.get(url + route + str(stored), timeout=10)
        assert r.status_code in (403, 404) and ANSWER not in r.text

    # A's tab closes: its heartbeat stream ends, the page's unload event deletes its documents and folder
    opened = threading.Event()

    def heartbeat():
        with httpx.stream("GET", url + f"gradio_api/heartbeat/{a}", timeout=30) as s:
            for _ in s.iter_lines():
                opened.set()
                return

    worker = threading.Thread(target=heartbeat)
    worker.start()
    worker.join(60)
    assert opened.is_set()
    deadline = time.monotonic() + 60
    while sessions.folders() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sessions.folders() == [] and not folder.exists()
    after = ask(url, demo, a)
    assert "42 millions" not in after and "Mon document" not in after


def test_refused_files_get_a_french_line_naming_them(uploads_app):
    url, demo = uploads_app["url"], uploads_app["demo"]
    panel = upload(url, "session-c-13579", demo, "outil.exe", b"MZ\x90\x00binaire")
    assert "« outil.exe » : type de fichier non pris en charge (.exe)" in html.unescape(panel)
    panel = upload(url, "session-c-13579", demo, "faux.pdf", b"<html>pas un PDF</html>")
    assert "ne correspond pas à un fichier .pdf" in html.unescape(panel)
    assert uploads_app["sessions"].documents("session-c-13579") == []


def test_the_pdf_bomb_and_the_padded_word_file_are_refused_by_the_app_within_30_s_keeping_its_memory(uploads_app):
    """The probe's files, generated here, through the app's own routes: each refused with its French line within
    30 s, the app (this process) keeping less than 300 MB more than before them (it kept 1.6 GB for the PDF, read in
    its own process before), the session holding nothing."""
    import gc
    import resource

    import psutil

    from eval.hostile_files import padded_word, pdf_bomb

    url, demo = uploads_app["url"], uploads_app["demo"]
    files = (("piege.pdf", pdf_bomb(), "trop de mémoire ou de temps"),
             ("piege.docx", padded_word(), "contenu décompressé serait démesuré"))  # made before the measure
    gc.collect()
    kept, peak = psutil.Process().memory_info().rss / 2**20, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for name, data, reason in files:
        started = time.perf_counter()
        panel = html.unescape(upload(url, "session-d-24680", demo, name, data))
        assert time.perf_counter() - started < 30, name
        assert f"« {name} »" in panel and reason in panel, panel[-400:]
    gc.collect()
    assert psutil.Process().memory_info().rss / 2**20 - kept < 300
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - peak < 300
    assert uploads_app["sessions"].documents("session-d-24680") == []


def test_the_upload_folder_of_gradio_keeps_no_copy(uploads_app):
    import gradio as gr

    url, demo = uploads_app["url"], uploads_app["demo"]
    r = httpx.post(url + "gradio_api/upload", files={"files": ("note.md", MINE.encode())}, timeout=30)
    [path] = r.json()
    assert Path(path).exists()
    files = [{"path": path, "orig_name": "note.md", "meta": {"_type": "gradio.FileData"}}]
    run(url, fn_index(demo, "upload"), [files], "session-d-24680")
    assert not Path(path).exists() and Path(path).resolve().is_relative_to(Path(gr.utils.get_upload_folder()).resolve())
    uploads_app["sessions"].end("session-d-24680")


def test_uploads_off_hides_the_panel(app_retriever):
    from ui import layout

    demo = layout.build_app(app_retriever.replace(settings=app_retriever.settings.replace(uploads="off")))
    assert demo.upload_sessions is None
    assert not [f for f in demo.fns.values() if getattr(f.fn, "__name__", "") in ("upload", "end_session")]
    assert "upload-files" not in json.dumps(demo.config, default=str)  # a gr.State's config holds a function


def test_more_files_than_a_session_may_hold_are_refused_before_queueing(uploads_app):
    url, demo = uploads_app["url"], uploads_app["demo"]
    files = [{"path": f"/tmp/x{i}.md", "orig_name": f"x{i}.md", "meta": {"_type": "gradio.FileData"}}
             for i in range(11)]
    body = {"data": [files], "fn_index": fn_index(demo, "upload"), "session_hash": "session-e-11111",
            "event_data": None, "trigger_id": None}
    r = httpx.post(url + "gradio_api/queue/join", json=body, timeout=30)
    assert r.status_code == 422 and "Au plus 10 fichiers par session." in r.text
    assert uploads_app["sessions"].documents("session-e-11111") == []


def test_sigterm_deletes_every_uploaded_file(tmp_path):
    """``python app.py`` stopped as a Space or a service manager stops it: nothing uploaded stays on disk."""
    import os
    import signal
    import subprocess
    import sys

    from corpora import ROOT

    base = tmp_path / "uploads"
    port = free_port()
    env = dict(os.environ, RAG_UPLOAD_DIR=str(base), GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port),
               GRADIO_ANALYTICS_ENABLED="False", RAG_INDEX_DIR=str(tmp_path / "index"))
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, "the app did not start"
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        client = Client(url, verbose=False)
        session = client.session_hash
        [root] = list(base.glob("rag-uploads-*"))
        upload_url = url + "gradio_api/upload"
        r = httpx.post(upload_url, files={"files": ("note.md", MINE.encode("utf-8"))}, timeout=30)
        assert r.status_code == 200
        config = httpx.get(url + "config", timeout=10).json()
        fn = next(i for i, d in enumerate(config["dependencies"]) if d.get("api_name") == "upload")
        files = [{"path": r.json()[0], "orig_name": "note.md", "meta": {"_type": "gradio.FileData"}}]
        out = run(url, fn, [files], session)
        assert "Le projet Héliotrope" in out[0], out
        assert [p for p in root.iterdir() if p.is_dir()]  # the session's folder is on disk (its file went once read)
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        assert not root.exists() and not list(base.glob("rag-uploads-*"))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)


class PassageGate:
    """The real embedder; while the gate is closed, embedding passages (an upload's) waits."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.open, self.waiting = threading.Event(), threading.Event()

    def encode_queries(self, texts):
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts, progress=False):
        self.waiting.set()
        assert self.open.wait(120), "the gate was never opened"
        return self.inner.encode_passages(texts, progress)

    def count_tokens(self, text):
        return self.inner.count_tokens(text)


def test_a_question_is_answered_at_once_while_four_uploads_run(app_retriever, tmp_path):
    """Uploads have their own lane: four visitors' uploads, held while they embed, leave every answer slot free."""
    from rag import AppSettings
    from ui import layout

    gate = PassageGate(app_retriever.embedder)
    r = app_retriever.replace(embedder=gate, settings=app_retriever.settings.replace(upload_dir=str(tmp_path)))
    demo = layout.build_app(r, AppSettings(concurrency=4, upload_concurrency=1, per_ip=0))
    port = free_port()
    layout.launch(demo, prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        for n in range(4):
            sent = httpx.post(url + "gradio_api/upload", files={"files": (f"n{n}.md", MINE.encode("utf-8"))},
                              timeout=30)
            files = [{"path": sent.json()[0], "orig_name": f"n{n}.md", "meta": {"_type": "gradio.FileData"}}]
            body = {"data": [files], "fn_index": fn_index(demo, "upload"), "session_hash": f"uploader-{n}",
                    "event_data": None, "trigger_id": None}
            assert httpx.post(url + "gradio_api/queue/join", json=body, timeout=30).status_code == 200
        assert gate.waiting.wait(60), "no upload started embedding"
        started = time.monotonic()
        answer = Client(url, verbose=False).predict(QUESTION, 5, "hybrid", None, api_name="/search")
        elapsed = time.monotonic() - started
        assert answer["passages"] and elapsed <= 5, elapsed
        uploads = [e for e in demo._queue.event_ids_to_events.values() if e.concurrency_id == "uploads"]
        assert len(uploads) == 4  # all still there: one embedding (held), three waiting in their lane
    finally:
        gate.open.set()
        demo.close()
