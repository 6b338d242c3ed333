"""Hostile and odd input: the Python API, the CLI, the app's HTTP API and HTML, file routes.

Every call must give a valid answer or a clear error, the app must stay up, nothing from the user or the
corpus may reach the page as HTML, and no file outside the app's own assets may be served.
"""

from __future__ import annotations

import html.parser
import http.client
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from corpora import APP_DOCS, ROOT
from gradio_client import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from rag import MAX_K, MAX_QUESTION_CHARS, MODES, QueryError
from rag.text.cleaning import clean_document

FEW = hsettings(max_examples=12, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

PAYLOADS = [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<svg/onload=alert(1)>", "\"><b>gras</b>",
    "[cliquez](javascript:alert(1))", "![x](http://127.0.0.1:1/x.png)", "**gras** _it_ `code` # Titre\n---",
    "<a href=javascript:alert(1)>x</a>", "../../etc/passwd", "..\\..\\windows\\win.ini", "/etc/passwd",
    "file:///etc/passwd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "\x00", "\x00\x00 contrôle", "\u202e\u200fمرحبا\u202c",
    "\u200b\ufeff", "\ud800", "e\u0301", "𝕏💥", "{{7*7}} ${7*7}", "'; DROP TABLE docs; --", "\r\n\t", "\x1b[31m",
    "contrôle humain significatif", "drones", "budget 2030",
]


def long_text(n: int, unit: str) -> str:
    return (unit * (n // len(unit) + 1))[:n]


QUESTION = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=200),
    st.lists(st.sampled_from(PAYLOADS), min_size=1, max_size=6).map(" ".join),
    st.builds(long_text, st.sampled_from([0, 1, MAX_QUESTION_CHARS, MAX_QUESTION_CHARS + 1, 1500, 3000, 100_000,
                                          1_000_000]),
              st.sampled_from(["a", "contrôle ", "\x00", "<b>", "\u200f", "💥", " "])),
)
K = st.one_of(st.integers(-3, MAX_K + 3), st.sampled_from([None, 3.0, 2.5, "5", True, float("nan"), 10**30, [], -0.0]))
MODE = st.one_of(st.sampled_from(MODES), st.sampled_from(["", "HYBRID", "../../etc/passwd", None, 1, ["dense"]]))


def docs_strategy(known: list[str]):
    weird = ["../../etc/passwd", "", "metadata", "x.md", "<script>", "\x00", known[0] + ".md"]
    odd = [known[0], "../../etc/passwd", "", {"a": 1}, [None], [1, 2], [["x"]], 5, 2.5, True]
    return st.one_of(st.none(), st.lists(st.sampled_from(known + weird), max_size=3), st.sampled_from(odd))


def file_text(corpus: Path, doc_id: str) -> str:
    path = next(p for p in corpus.iterdir() if p.stem == doc_id)
    with open(path, encoding="utf-8", newline="") as fh:
        return fh.read()


def check_passages(corpus: Path, passages) -> None:
    for p in passages:
        raw = file_text(corpus, p["doc_id"] if isinstance(p, dict) else p.doc_id)
        p = p if isinstance(p, dict) else p.__dict__
        assert 0 <= p["start"] < p["end"] <= len(raw)
        assert clean_document(raw).render(p["start"], p["end"]) == p["text"]
        assert all(0 <= a < b <= len(p["text"]) for a, b in p["highlights"])


def check_answer(corpus: Path, answer: dict) -> None:
    assert set(answer) >= {"question", "abstained", "confidence", "sentences", "passages"}
    assert isinstance(answer["question"], str) and 0 < len(answer["question"]) <= MAX_QUESTION_CHARS
    check_passages(corpus, answer["passages"])
    for s in answer["sentences"]:
        assert answer["passages"][s["passage"]]["text"][s["passage_start"]:s["passage_end"]] == s["text"]


def clear(message: str) -> None:
    assert message and len(message) < 2000, message[:300]
    assert "Traceback" not in message and "has not enabled verbose error reporting" not in message, message


# --------------------------------------------------------------------------- the Python API
@FEW
@given(data=st.data(), question=QUESTION, k=K, mode=MODE)
def test_python_api_answers_or_refuses_clearly(tiny_retriever, tiny_corpus, data, question, k, mode):
    known = [d.doc_id for d in tiny_retriever.documents]
    docs = data.draw(docs_strategy(known))
    call = data.draw(st.sampled_from(["search", "answer"]))
    try:
        result = getattr(tiny_retriever, call)(question, k=k, mode=mode, docs=docs)
    except QueryError as exc:
        clear(str(exc))
        return
    if call == "search":
        assert len(result) <= k
        check_passages(tiny_corpus, result)
    else:
        check_answer(tiny_corpus, json.loads(json.dumps(result.to_dict())))


@pytest.mark.parametrize("docs", [5, 2.5, True])
def test_python_api_non_iterable_docs_is_a_query_error(tiny_retriever, docs):
    with pytest.raises(QueryError, match="docs"):
        tiny_retriever.search("drones", mode="keyword", docs=docs)


# --------------------------------------------------------------------------- the command line
@pytest.fixture(scope="module")
def tiny_env(tiny_settings):
    """The CLI has no chunk options: the tiny index's settings go through RAG_* variables."""
    env = {"RAG_CHUNK_TOKENS": str(tiny_settings.chunk_tokens), "RAG_CHUNK_OVERLAP": str(tiny_settings.chunk_overlap),
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        yield dict(os.environ)


@hsettings(FEW, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
@given(question=QUESTION, k=st.integers(-2, MAX_K + 2), mode=st.sampled_from(list(MODES) + ["magic"]),
       doc=st.sampled_from([None, "rapport-drones", "../../etc/passwd", "<script>"]))
def test_cli_answers_or_refuses_clearly(tiny_settings, tiny_retriever, tiny_env, capsys, question, k, mode, doc):
    from rag.__main__ import main

    argv = ["ask", "--corpus", tiny_settings.corpus_dir, "--index", tiny_settings.index_dir, "--embedder", "bundled",
            "-q", "--json", "-k", str(k), "--mode", mode] + (["--doc", doc] if doc else []) + ["--", question]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse: usage error
        code = exc.code
    out, err = capsys.readouterr()
    if code == 0:
        check_answer(Path(tiny_settings.corpus_dir), json.loads(out))
    else:
        assert code == 2 and not out
        assert err.startswith(("error: ", "usage: ")), err[:300]
        clear(err)


def test_cli_in_a_real_process(tiny_settings, tiny_retriever, tiny_env):
    """The real command line, side by side: the answer escapes nothing it should not, errors exit 2 with a line."""
    base = [sys.executable, "-m", "rag", "ask", "--corpus", tiny_settings.corpus_dir, "--index",
            tiny_settings.index_dir, "--embedder", "bundled", "-q"]
    env = tiny_env
    cases = {
        "ok": (base + ["--json", "--", "<script>alert(1)</script> \u202e drones ../../etc/passwd"], 0, None),
        "long": (base + ["x" * 3000], 2, "2,000"),
        "empty": (base + [" \t\n"], 2, "empty"),
        "k": (base + ["-k", "0", "drones"], 2, "k must be"),
        "doc": (base + ["--doc", "../../etc/passwd", "drones"], 2, "unknown document id"),
        "mode": (base + ["--mode", "magic", "drones"], 2, "invalid choice"),
    }
    procs = {name: subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name, (argv, _, _) in cases.items()}
    try:
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=120)
            _, code, message = cases[name]
            assert proc.returncode == code, (name, out[-500:], err[-1500:])
            if code == 0:
                answer = json.loads(out)
                assert answer["question"].startswith("<script>alert(1)</script>")  # JSON carries text, not markup
                check_answer(Path(tiny_settings.corpus_dir), answer)
            else:
                assert message in err and "Traceback" not in err, (name, err[-1500:])
    finally:
        for proc in procs.values():  # none left running after a failure
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)


# --------------------------------------------------------------------------- the app's HTTP API and HTML
@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


@FEW
@given(data=st.data(), question=QUESTION, k=K, mode=MODE)
def test_http_api_answers_or_refuses_clearly(client, app_corpus, data, question, k, mode):
    docs = data.draw(docs_strategy(list(APP_DOCS)))
    if isinstance(k, float) and k != k:
        k = None  # NaN is not JSON
    try:
        result = client.predict(question, k, mode, docs, api_name="/search")
    except Exception as exc:  # noqa: BLE001 (gradio_client raises AppError with the app's message)
        clear(str(exc))
        return
    check_answer(app_corpus, result)


def test_http_app_stays_up(client, app_url, app_corpus):
    for q in ["", "\x00" * 10, "x" * 1_000_000, "<script>alert(1)</script>", "\ud800\udfff?"]:
        try:
            client.predict(q, 5, "hybrid", None, api_name="/search")
        except Exception as exc:  # noqa: BLE001
            clear(str(exc))
    assert httpx.get(app_url, timeout=10).status_code == 200
    check_answer(app_corpus, client.predict("Que signifie un contrôle humain significatif ?", 3, "hybrid", None,
                                            api_name="/search"))


@pytest.mark.parametrize("docs", [5, [["x"]], {"a": 1}, [None], "../../etc/passwd"])
def test_http_api_odd_docs_get_a_clear_error(client, docs):
    with pytest.raises(Exception) as info:
        client.predict("contrôle humain", 5, "hybrid", docs, api_name="/search")
    clear(str(info.value))


SAFE_TAGS = {"div", "span", "q", "section", "h2", "h3", "ol", "ul", "li", "a", "p", "article", "header", "blockquote",
             "mark", "footer", "button", "details", "summary", "pre", "strong", "table", "thead", "tbody", "tr", "th",
             "td", "code", "h4", "h5", "h6"}


class TagAudit(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in SAFE_TAGS:
            self.problems.append(f"tag <{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name in ("src", "style") and "url(" in (value or ""):
                self.problems.append(f"attribute {name}={value!r}")
            if name == "href" and not (value or "").startswith("#passage-"):
                self.problems.append(f"href {value!r}")


def audit(page: str) -> None:
    parser = TagAudit()
    parser.feed(page)
    parser.close()
    assert not parser.problems, parser.problems[:5]
    low = page.lower()
    assert "<script" not in low and "<img" not in low and "<svg" not in low


@pytest.fixture(scope="module")
def ui(app_retriever):
    from ui.handlers import App

    return App(app_retriever)


@hsettings(FEW, max_examples=6)
@given(question=QUESTION, k=st.integers(1, 8), mode=st.sampled_from(MODES))
def test_rendered_html_never_carries_markup(ui, question, k, mode):
    page = ui.ask(question, k, mode, None)
    audit(page)


def test_script_in_the_question_is_escaped(ui):
    page = ui.ask("Que signifie <script>alert(1)</script> un contrôle humain significatif ?", 5, "hybrid", None)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script" not in page
    audit(page)


def test_corpus_markup_is_escaped_in_answers_and_reader(ui):
    page = ui.ask("texte fourni par un document affiché comme du simple texte", 5, "hybrid", ["note-technique"])
    assert "&lt;img src=x onerror=alert(1)&gt;" in page or "&lt;script&gt;" in page
    audit(page)
    audit(ui.reader("note-technique"))


@pytest.mark.parametrize("request_", [
    "", "{", "[]", "null", '{"doc": "../../etc/passwd", "start": 0, "end": 5}',
    '{"doc": "note-technique", "start": -5, "end": 1000000000}', '{"doc": "note-technique", "start": 50, "end": 10}',
    '{"doc": "note-technique", "start": "a", "end": 3}', '{"doc": ["x"], "start": 0, "end": 3}',
])
def test_reader_request_from_the_page_never_breaks(ui, request_):
    out = ui.open_reader(request_)
    for part in out:
        if isinstance(part, str):
            audit(part)


# --------------------------------------------------------------------------- files and paths
def raw_get(url: str, path: str) -> tuple[int, str]:
    """GET ``path`` exactly as written (no client-side normalisation of ../ or %2e)."""
    u = httpx.URL(url)
    conn = http.client.HTTPConnection(u.host, u.port, timeout=10)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read(200_000).decode("utf-8", "replace")
    finally:
        conn.close()


def secrets_of(app_corpus, app_retriever) -> dict[str, str]:
    """Files that must never be served, and a string only their content has."""
    folder = app_retriever.index_folder
    return {
        "/etc/passwd": "root:",
        "/proc/self/environ": "PATH=",
        "/proc/self/cmdline": "python\x00",
        str(ROOT / "app.py"): "from ui.layout import",
        str(ROOT / "ui" / "layout.py"): "import gradio",
        str(ROOT / "rag" / "index" / "folder.py"): "def load_index",
        str(ROOT / "tests" / "conftest.py"): "def tiny_corpus",
        str(ROOT / ".gitignore"): "__pycache__",
        # a clone's .git is a folder; a worktree's (git worktree add) a file naming it
        **({str(ROOT / ".git" / "HEAD"): "ref: refs/"} if (ROOT / ".git").is_dir() else
           {str(ROOT / ".git"): "gitdir:"} if (ROOT / ".git").is_file() else {}),
        str(ROOT / "requirements.txt"): "gradio==",
        str(Path(app_retriever.settings.index_dir) / "CURRENT"): "build-",
        str(folder / "manifest.json"): "format_version",
        str(folder / "chunks.jsonl"): "chunk_id",
        str(app_corpus / "metadata.toml"): "[\"resolution-onu\"]",
        str(app_corpus / "controle-humain.md"): "## Mise en œuvre",
    }


ENCODINGS = {
    "plain": lambda p: p,
    "dotdot": lambda p: "../../../../../../../.." + p,
    "pct-dots": lambda p: "%2e%2e/" * 8 + p.lstrip("/"),
    "pct-all": lambda p: "%2e%2e%2f" * 8 + quote(p.lstrip("/"), safe=""),
    "pct-slash": lambda p: "..%2f" * 8 + p.lstrip("/").replace("/", "%2f"),
    "double": lambda p: "%252e%252e%252f" * 8 + p.lstrip("/"),
    "backslash": lambda p: "..%5c" * 8 + p.lstrip("/").replace("/", "%5c"),
    "abs-encoded": lambda p: quote(p, safe=""),
    "dot-segments": lambda p: "./" + "/./".join(p.strip("/").split("/")),
    "overlong-utf8": lambda p: "%c0%ae%c0%ae%c0%af" * 8 + p.lstrip("/"),
}
ROUTES = ["/file={}", "/gradio_api/file={}", "/gradio_api/file={}?download=1", "/file/{}", "/gradio_api/file/{}",
          "/static/{}", "/assets/{}", "/gradio_api/static/{}", "/favicon.ico/../{}", "/gradio_api/proxy={}"]


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_file_routes_refuse_encoded_paths(app_url, app_corpus, app_retriever, encoding):
    secrets = secrets_of(app_corpus, app_retriever)
    for target, marker in secrets.items():  # a file that moved, or lost its marker, would be « never served » for free
        if not target.startswith("/proc/"):  # what /proc holds depends on how the run was started
            assert marker in Path(target).read_text(encoding="utf-8", errors="replace"), target
    served = []
    for target, marker in secrets.items():
        for route in ROUTES:
            path = route.format(ENCODINGS[encoding](target))
            status, body = raw_get(app_url, path)
            if marker in body or status == 200 and "build-" in body and target.endswith("CURRENT"):
                served.append((path, status, body[:80]))
            elif status not in (400, 403, 404, 405, 422):
                served.append((path, status, body[:80]))
    assert not served, served[:5]
