"""Safe to put on a public Space, through HTTP against the running app on 127.0.0.1.

Most tests use the session's app over the fixture corpus
(``app_url``); the queue tests use a second app, launched here, whose engine can be held at a gate (the real
embedder behind a ``threading.Event``) so that what is queued, refused and served in which order does not
depend on timing.
"""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
import threading
import time
import uuid

import httpx
import pytest
from corpora import ROOT
from gradio_client import Client
from wrapping import WrappedEmbedder

from docs.screenshot import free_port
from rag import MAX_QUESTION_CHARS

QUESTION = "Que signifie un contrôle humain significatif ?"


def join(url: str, fn_index: int, data: list, session: str, headers: dict | None = None, **kw) -> httpx.Response:
    body = {"data": data, "fn_index": fn_index, "session_hash": session, "event_data": None, "trigger_id": None}
    return httpx.post(url + "gradio_api/queue/join", content=json.dumps(body, allow_nan=True),
                      headers={"content-type": "application/json", **(headers or {})}, timeout=30, **kw)


def completed(url: str, session: str, event_id: str, timeout: float = 60) -> dict:
    """The process_completed message of ``event_id`` (read from the session's event stream)."""
    with httpx.stream("GET", url + f"gradio_api/queue/data?session_hash={session}", timeout=timeout) as r:
        for line in r.iter_lines():
            if line.startswith("data:"):
                msg = json.loads(line[5:])
                if msg.get("msg") == "process_completed" and msg.get("event_id") == event_id:
                    return msg
    raise AssertionError("no completion")


def fn_index(demo, name: str) -> int:
    return next(i for i, f in demo.fns.items() if f.api_name == name or getattr(f.fn, "__name__", "") == name)


# --------------------------------------------------------------------------- a second app, with a gate
class Gate(WrappedEmbedder):
    """The real embedder; while the gate is closed, embedding a question waits (the engine is busy)."""

    def __init__(self, inner) -> None:
        super().__init__(inner)
        self.open = threading.Event()
        self.open.set()
        self.seen: list[str] = []
        self._lock = threading.Lock()

    def on_queries(self, texts) -> None:
        with self._lock:
            self.seen.extend(texts)
        assert self.open.wait(120), "the gate was never opened"


@pytest.fixture(scope="module")
def gated(app_retriever):
    from ui import guard
    from ui.layout import build_app, launch

    gate = Gate(app_retriever.embedder)
    r = app_retriever.replace(embedder=gate)
    demo = build_app(r, concurrency=1)
    port = free_port()
    launch(demo, limits=guard.Limits(temp_budget=1), prevent_thread_lock=True, server_name="127.0.0.1",
               server_port=port, quiet=True)
    try:
        yield {"url": f"http://127.0.0.1:{port}/", "demo": demo, "gate": gate}
    finally:
        gate.open.set()
        demo.close()


def wait_idle(demo, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while demo._queue.event_ids_to_events and time.time() < deadline:
        time.sleep(0.05)
    assert not demo._queue.event_ids_to_events, "the queue did not drain"


def wait_seen(gate, text: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while text not in gate.seen and time.time() < deadline:
        time.sleep(0.02)
    assert text in gate.seen


# --------------------------------------------------------------------------- the queue: fairness between clients
def test_one_client_holds_at_most_two_places_in_the_queue_and_others_go_first(gated):
    url, demo, gate = gated["url"], gated["demo"], gated["gate"]
    search = fn_index(demo, "search")
    wait_idle(demo)
    gate.seen.clear()
    gate.open.clear()
    try:
        a, b = "session-a-" + uuid.uuid4().hex[:6], "session-b-" + uuid.uuid4().hex[:6]
        assert join(url, search, ["question A1 contrôle", 5, "hybrid", None], a).status_code == 200
        wait_seen(gate, "question A1 contrôle")  # A1 is running (held at the gate)
        assert join(url, search, ["question A2 contrôle", 5, "hybrid", None], a).status_code == 200
        refused = join(url, search, ["question A3 contrôle", 5, "hybrid", None], a)
        assert refused.status_code == 429
        assert "Trop de requêtes en attente" in refused.json()["detail"]
        # another visitor is not refused while A floods, and is served before A's second question
        assert join(url, search, ["question B1 contrôle", 5, "hybrid", None], b).status_code == 200
        # per address: 8 runs from 127.0.0.1 at most (A: 2, B: 1, then C, D: 2 each, E: 1)
        for s in ("c", "d"):
            for n in (1, 2):
                joined = join(url, search, [f"question {s}{n} contrôle", 5, "hybrid", None], f"session-{s}")
                assert joined.status_code == 200
        assert join(url, search, ["question E1 contrôle", 5, "hybrid", None], "session-e").status_code == 200
        over = join(url, search, ["question F1 contrôle", 5, "hybrid", None], "session-f")
        assert over.status_code == 429 and "Trop de requêtes en attente" in over.json()["detail"]
        # an X-Forwarded-For the client writes itself lifts nothing (no proxy is trusted here)
        for n in range(5):
            spoofed = join(url, search, [f"question G{n} contrôle", 5, "hybrid", None], f"session-g{n}",
                           headers={"x-forwarded-for": f"203.0.113.{n}, 198.51.100.{n}"})
            assert spoofed.status_code == 429, n
    finally:
        gate.open.set()
    wait_idle(demo)
    order = [t.split()[1] for t in gate.seen]
    assert order[0] == "A1" and order.index("B1") < order.index("A2"), order
    assert "A3" not in order and "F1" not in order and not [t for t in order if t.startswith("G")]
    assert sorted(order) == sorted(["A1", "A2", "B1", "c1", "c2", "d1", "d2", "E1"])


def test_invalid_input_is_refused_before_queueing(gated):
    url, demo, gate = gated["url"], gated["demo"], gated["gate"]
    wait_idle(demo)
    gate.seen.clear()
    r = join(url, fn_index(demo, "search"), ["", 5, "hybrid", None], "session-v")
    assert r.status_code == 422
    assert r.json()["detail"][0] == {"__type__": "validate", "is_valid": False, "message": "La question est vide.",
                                     "parameter_name": "question"}
    assert not demo._queue.event_ids_to_events and not gate.seen  # nothing was queued, nothing embedded


# --------------------------------------------------------------------------- the engine runs only through the queue
@pytest.mark.parametrize("route", ["gradio_api/run/search", "gradio_api/api/search", "run/search"])
def test_the_direct_run_route_is_closed(app_url, route):
    r = httpx.post(app_url + route, json={"data": [QUESTION, 5, "hybrid", None]}, timeout=30)
    assert r.status_code in (404, 405), (r.status_code, r.text[:200])
    assert "passages" not in r.text


def test_every_route_that_runs_the_engine_is_queued(gated):
    demo = gated["demo"]
    engine = [f for f in demo.fns.values() if f.concurrency_id in ("engine", "uploads")]
    assert {(getattr(f.fn, "__name__", ""), f.concurrency_id) for f in engine} == {
        ("ask_turn", "engine"), ("ask_alone", "engine"), ("search", "engine"),
        ("upload", "uploads")}  # upload embeds, in its own lane
    assert all(f.queue is not False for f in engine) and demo._queue.max_size
    assert not demo.api_open if hasattr(demo, "api_open") else True


# --------------------------------------------------------------------------- uploads and temporary files
def test_uploads_and_temporary_files_are_bounded(app_url, gated):
    import ui.layout

    limit = ui.layout.app_limits().max_upload  # the app's: its settings read from the environment
    big = httpx.post(app_url + "gradio_api/upload", files={"files": ("big.bin", b"0" * (limit + 1))}, timeout=30)
    assert big.status_code == 413
    small = httpx.post(app_url + "gradio_api/upload", files={"files": ("small.txt", b"bonjour")}, timeout=30)
    assert small.status_code == 200
    # the gated app's temp budget is 1 byte: its temp folder is "full"
    full = httpx.post(gated["url"] + "gradio_api/upload", files={"files": ("small.txt", b"bonjour")}, timeout=30)
    assert full.status_code == 507 and "temporaire" in full.json()["detail"]
    config = httpx.get(app_url + "config", timeout=10).json()
    assert config["max_file_size"] == limit
    assert gated["demo"].delete_cache == ui.layout.DELETE_CACHE


def test_one_visitor_cannot_fill_the_temp_folder_for_the_others(app_retriever):
    """Raw posts to Gradio's upload route, no event using them: one address gets its share of the temp folder (a
    quarter), whatever it writes on the left of X-Forwarded-For; another address still uploads; the share comes
    back when the files go (an upload event deletes them, the cache sweeps the rest)."""
    import os

    from ui import guard
    from ui.layout import build_app, launch

    demo = build_app(app_retriever)
    port = free_port()
    limits = guard.Limits(max_upload=1024 * 1024, temp_budget=8 * 1024 * 1024, trusted_proxies=1)
    launch(demo, limits=limits, prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    url, part = f"http://127.0.0.1:{port}/gradio_api/upload", os.urandom(800_000)

    def post(n: int, visitor: str) -> httpx.Response:
        return httpx.post(url, files={"files": (f"f{n}.bin", part)}, timeout=30,
                          headers={"X-Forwarded-For": f"192.0.2.{n}, {visitor}"})

    try:
        mine = [post(n, "198.51.100.7") for n in range(2)]
        assert [r.status_code for r in mine] == [200, 200]
        refused = post(2, "198.51.100.7")
        assert refused.status_code == 429 and "votre part du dossier temporaire" in refused.json()["detail"]
        assert post(3, "203.0.113.5").status_code == 200, "another visitor is not locked out"
        for r in mine:  # what an upload event does with Gradio's copies
            os.unlink(r.json()[0])
        assert post(4, "198.51.100.7").status_code == 200
    finally:
        demo.close()


def test_a_streamed_upload_without_length_is_refused(app_url):
    def body():
        for _ in range(200):
            yield b"0" * 65536

    r = httpx.post(app_url + "gradio_api/upload", content=body(),
                   headers={"content-type": "multipart/form-data; boundary=x"}, timeout=30)
    assert r.status_code in (411, 413)


# --------------------------------------------------------------------------- request size
def raw_post(url: str, path: str, body: bytes, chunked: bool = False) -> tuple[int, int, bytes]:
    """POST ``body`` piece by piece, stopping as soon as the server answers; returns the status, how many
    bytes of the body had been sent by then, and the answer's body."""
    u = httpx.URL(url)
    with socket.create_connection((u.host, u.port), timeout=30) as s:
        head = (f"POST {path} HTTP/1.1\r\nHost: {u.host}\r\nContent-Type: application/json\r\n"
                + ("Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {len(body)}\r\n")
                + "Connection: close\r\n\r\n").encode()
        s.sendall(head)
        sent, data = 0, b""
        s.settimeout(0.2)
        for i in range(0, len(body) + 1, 65536):
            try:
                data = s.recv(65536)
            except TimeoutError:
                data = b""
            if data:
                break
            part = body[i:i + 65536]
            try:
                s.sendall(f"{len(part):x}\r\n".encode() + part + b"\r\n" if chunked else part)
            except OSError:
                break
            sent += len(part)
        s.settimeout(30)
        try:
            while chunk := s.recv(65536):
                data += chunk
        except OSError:
            pass
    status = int(data.split(b" ", 2)[1])
    return status, sent, data.split(b"\r\n\r\n", 1)[-1]


def test_a_56_mb_body_is_refused_early(app_url):
    ids = json.dumps({"data": [QUESTION, 5, "hybrid", ["x" * 26] * 2_000_000], "fn_index": 0,
                      "session_hash": "big"}).encode()
    assert len(ids) > 50_000_000
    status, sent, body = raw_post(app_url, "/gradio_api/queue/join", ids)
    assert status == 413 and "Requête trop grande" in body.decode("utf-8", "replace")
    assert sent < 1_000_000  # refused from its Content-Length, not after reading it
    status, sent, _ = raw_post(app_url, "/gradio_api/queue/join", ids[:5_000_000], chunked=True)
    assert status == 413 and sent < 1_000_000  # no length given: refused once 64 KB have been read


def test_unknown_ids_are_echoed_by_a_short_prefix(app_url):
    client = Client(app_url, verbose=False)
    with pytest.raises(Exception) as info:
        client.predict(QUESTION, 5, "hybrid", ["inconnu-" + "y" * 1000, "autre-" + "z" * 1000], api_name="/search")
    text = str(info.value)
    assert "Document(s) inconnu(s)" in text and len(text) < 400, text[:500]
    with pytest.raises(Exception) as info:
        client.predict(QUESTION, 5, "hybrid", ["x"] * 1000, api_name="/search")
    assert "plus de documents que l'index n'en contient" in str(info.value) and len(str(info.value)) < 300


# --------------------------------------------------------------------------- odd values: a 4xx, never a 500
def test_private_handlers_refuse_odd_values_with_4xx(gated):
    url, demo = gated["url"], gated["demo"]
    wait_idle(demo)
    ask = fn_index(demo, "ask_turn")
    for data in ([QUESTION, 5, "hybrid", None, {"a": 1}],
                 [QUESTION, 5, "hybrid", None, "x" * (2 * MAX_QUESTION_CHARS + 1)],
                 [QUESTION, 5, "hybrid", None, ["Et la Chine ?"]],  # the previous question: text or nothing
                 [QUESTION, float("inf"), "hybrid", None], [{"a": 1}, 5, "hybrid", None], [QUESTION, 5, ["x"], None],
                 [QUESTION, 5, "hybrid", [["deep"]]], [QUESTION, 1e308 * 10, "hybrid", None],
                 [QUESTION, "5", "hybrid", None]):
        r = join(url, ask, data, "session-odd")
        assert r.status_code == 422, (data, r.status_code, r.text[:200])
        assert r.json()["detail"][0]["__type__"] == "validate"
    deep = b'{"data": ' + b"[" * 20000 + b"]" * 20000 + b', "fn_index": 0, "session_hash": "s"}'
    assert httpx.post(url + "gradio_api/queue/join", content=deep, timeout=30).status_code == 400
    assert httpx.post(url + "gradio_api/queue/join", content=b"{not json", timeout=30).status_code == 400
    assert not demo._queue.event_ids_to_events


@pytest.mark.parametrize("request_", ['{"doc": "note-technique", "start": Infinity, "end": 3}',
                                      '{"doc": "note-technique", "start": 1e400, "end": 3}',
                                      "[" * 450 + "]" * 450, "x" * 2000, '{"doc": {"a": 1}, "start": 0, "end": 3}'])
def test_the_reader_request_from_the_page_completes_over_http(gated, request_):
    url, demo = gated["url"], gated["demo"]
    session = "session-reader-" + uuid.uuid4().hex[:6]
    r = join(url, fn_index(demo, "open_reader"), [request_], session)
    if len(request_) > 1000:  # longer than any the page sends: refused before queueing
        assert r.status_code == 422
        return
    assert r.status_code == 200, r.text[:200]
    assert completed(url, session, r.json()["event_id"])["success"] is True


# --------------------------------------------------------------------------- docs, messages and long questions
def test_empty_docs_is_refused_everywhere(app_url, app_retriever):
    import ui.handlers
    import ui.messages
    from rag import QueryError

    client = Client(app_url, verbose=False)
    with pytest.raises(Exception) as info:
        client.predict(QUESTION, 5, "hybrid", [], api_name="/search")
    assert "docs ne nomme aucun document" in str(info.value)
    with pytest.raises(QueryError) as engine:
        app_retriever.answer(QUESTION, docs=[])
    assert engine.value.code == "no_docs"
    assert ui.messages.MSG_NO_DOCS in ui.handlers.App(app_retriever).ask(QUESTION, 5, "hybrid", [])
    assert client.predict(QUESTION, 5, "hybrid", None, api_name="/search")["passages"]  # None: every document


def test_every_engine_error_code_has_a_french_message():
    import ui.messages
    from rag import QueryError

    for code in QueryError.CODES:
        message = ui.messages.french(QueryError("english text", code, "'x'"), ["a", "b"])
        assert message != "Requête invalide." and "english" not in message, code


def test_a_long_question_is_answered_cut_with_a_note(app_url):
    client = Client(app_url, verbose=False)
    result = client.predict("中" * 2000, 5, "hybrid", None, api_name="/search")
    assert 0 < len(result["question"]) < 100
    assert any("seul son début" in n for n in result["notes"])
    normal = client.predict(QUESTION, 5, "hybrid", None, api_name="/search")
    assert normal["question"] == QUESTION and normal["notes"] == []


# --------------------------------------------------------------------------- headers and /config
@pytest.mark.parametrize("path", ["", "config", "gradio_api/info", "gradio_api/file=/etc/passwd", "no-such-page"])
def test_every_page_carries_the_security_headers(app_url, path):
    r = httpx.get(app_url + path, timeout=10)
    csp = r.headers.get("content-security-policy", "")
    assert "default-src 'self'" in csp and "object-src 'none'" in csp
    assert "frame-ancestors 'self' https://huggingface.co" in csp and "*.hf.space" in csp
    assert r.headers.get("x-content-type-options") == "nosniff"


def test_config_shows_no_server_path_and_run_history_is_off(app_url, app_corpus, app_retriever):
    text = httpx.get(app_url + "config", timeout=10).text
    config = json.loads(text)
    assert config["run_history"] is False
    for path in (str(ROOT), str(ROOT.parent), str(app_corpus), str(app_retriever.settings.index_dir),
                 tempfile.gettempdir()):
        assert path not in text, path


def test_the_queue_keeps_no_traffic_history_and_monitoring_is_off(app_served):
    """Gradio rebuilt a pandas table of its last 10,000 events after every event, for a monitoring page the public
    app has no use for (3 to 9 ms of the GIL per answer as events pile up): the page is off and the table is
    never rebuilt, however many questions come."""
    demo, url = app_served
    for n in range(3):
        r = httpx.post(url + "gradio_api/call/search", json={"data": [f"{QUESTION} ({n})", 3, "hybrid", None]},
                       timeout=30)
        with httpx.stream("GET", url + f"gradio_api/call/search/{r.json()['event_id']}", timeout=60) as s:
            assert "event: complete" in "".join(s.iter_text())
    queue = demo._queue
    assert queue.events_recorded >= 3
    assert queue.event_count_at_last_cache == 0  # the summary was never recomputed
    assert len(queue.event_analytics) <= 1
    for path in ("monitoring", "monitoring/summary"):
        assert httpx.get(url + path, timeout=10).status_code == 403, path


# --------------------------------------------------------------------------- a corpus changed while running
@pytest.fixture(scope="module")
def changing(tmp_path_factory, app_corpus):
    """The app over a copy of the fixture corpus, which the test then edits, truncates and deletes."""
    import rag.corpus.freshness
    import ui.handlers
    from rag import Retriever, Settings
    from ui.layout import build_app, launch

    root = tmp_path_factory.mktemp("changing")
    corpus = root / "corpus"
    shutil.copytree(app_corpus, corpus)
    r = Retriever.from_settings(Settings(corpus_dir=str(corpus), index_dir=str(root / "index"), embedder="bundled"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rag.corpus.freshness, "CHECK_SECONDS", 0.0)  # look at the folder on every question
        demo = build_app(r)
        port = free_port()
        launch(demo, prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
        try:
            yield {"url": f"http://127.0.0.1:{port}/", "corpus": corpus, "retriever": r, "ui": ui.handlers.App(r)}
        finally:
            demo.close()


def test_a_corpus_changed_while_running_is_shown_and_never_mixed(changing):
    url, corpus, r = changing["url"], changing["corpus"], changing["retriever"]
    client = Client(url, verbose=False)
    questions = [(QUESTION, None), ("Quand l'Assemblée générale a-t-elle adopté la résolution ?", ["resolution-onu"]),
                 ("Que doivent faire les développeurs ?", ["note-technique"])]
    before = [client.predict(q, 5, "hybrid", d, api_name="/search") for q, d in questions]
    assert all(not b["index_older_than_corpus"] for b in before)
    reader_before = changing["ui"].reader("resolution-onu")

    (corpus / "controle-humain.md").write_text("# Court\n\nTexte remplacé.\n", encoding="utf-8")  # edited
    path = corpus / "resolution-onu.md"
    path.write_bytes(path.read_bytes()[:40])  # truncated
    (corpus / "note-technique.md").unlink()  # deleted
    assert r.corpus_changed() == ["controle-humain.md", "note-technique.md", "resolution-onu.md"]

    after = [client.predict(q, 5, "hybrid", d, api_name="/search") for q, d in questions]
    for b, a in zip(before, after):
        assert a["index_older_than_corpus"] is True and any("Index plus ancien que le corpus" in n for n in a["notes"])
        assert a["passages"]
        assert a["passages"] == b["passages"] and a["sentences"] == b["sentences"]  # the index's text, unchanged
        for p in a["passages"]:
            doc = r.clean_document(p["doc_id"])
            assert doc.render(p["start"], p["end"]) == p["text"]
    assert changing["ui"].reader("resolution-onu") == reader_before
    page = changing["ui"].ask(QUESTION, 5, "hybrid", None)
    assert "Index plus ancien que le corpus" in page and "notice-error" not in page
    out = changing["ui"].open_reader(json.dumps({"doc": "note-technique", "start": 0, "end": 30}))
    assert "reader-hit" in out[2]


@pytest.mark.parametrize("route, body", [
    ("gradio_api/call/search", {"data": ["", 5, "hybrid", None]}),
    ("gradio_api/call/v2/search", {"question": "", "k": 5}),
    ("gradio_api/call/search", {"data": [QUESTION, 5, "hybrid", []]}),
])
def test_the_call_routes_refuse_invalid_input_before_queueing(app_url, route, body):
    r = httpx.post(app_url + route, json=body, timeout=30)
    assert r.status_code == 422, (r.status_code, r.text[:200])
    (problem,) = [d for d in r.json()["detail"] if not d["is_valid"]]
    assert problem["message"] in ("La question est vide.", "docs ne nomme aucun document : donnez au moins un "
                                  "identifiant, ou null pour tous les documents.")


def test_the_call_route_still_answers(app_url):
    r = httpx.post(app_url + "gradio_api/call/search", json={"data": [QUESTION, 3, "hybrid", None]}, timeout=30)
    assert r.status_code == 200
    event = r.json()["event_id"]
    with httpx.stream("GET", app_url + f"gradio_api/call/search/{event}", timeout=60) as s:
        text = "".join(s.iter_text())
    assert "event: complete" in text and "passages" in text
