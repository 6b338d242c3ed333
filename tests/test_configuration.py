"""Configuration: ``AppSettings`` (the app's ``RAG_APP_*`` variables, read once at start) and docs/configuration.md,
the table of every environment variable, written from the code by ``python -m docs.configuration``."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from docs import configuration
from rag import AppSettings, Settings

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024


# --------------------------------------------------------------------------- docs/configuration.md
def test_the_committed_page_is_what_the_code_gives_now():
    committed = configuration.PAGE.read_text(encoding="utf-8")
    assert committed == configuration.render(), "docs/configuration.md is out of date: run python -m docs.configuration"


def test_every_field_of_both_dataclasses_has_a_row_and_a_meaning():
    rows = {name: (default, meaning) for name, default, meaning, _ in configuration.rows()}
    for cls, prefix in ((Settings, "RAG_"), (AppSettings, "RAG_APP_")):
        for name in cls.__dataclass_fields__:
            default, meaning = rows[prefix + name.upper()]
            assert default and meaning.endswith("."), (name, meaning)
    assert len(rows) == len(configuration.rows())  # no variable twice


def test_a_field_without_an_entry_in_the_docstring_is_refused(monkeypatch):
    monkeypatch.setattr(AppSettings, "__doc__", AppSettings.__doc__.replace("        per_ip:", "        per_address:"))
    with pytest.raises(ValueError, match="AppSettings.per_ip has no entry"):
        configuration.rows()


def test_meanings_are_the_first_sentence_in_markdown():
    class Example:
        """Example.

        Attributes:
            a, b: two fields (one sentence. not two) described together, see :func:`f` and ``g.h``. More.
            c: a field whose entry
                goes on. And on.
        """

    assert configuration.attributes(Example) == {
        "a": "two fields (one sentence. not two) described together, see `f` and `g.h`.",
        "b": "two fields (one sentence. not two) described together, see `f` and `g.h`.",
        "c": "a field whose entry goes on.",
    }


# --------------------------------------------------------------------------- every variable read is in the table
SOURCES = sorted([*(ROOT / "rag").rglob("*.py"), *(ROOT / "ui").rglob("*.py"), ROOT / "app.py"])
# The two dataclasses read their fields' variables by a name made from the field: ``RAG_<FIELD>``, ``RAG_APP_<FIELD>``.
PATTERNS = {"rag/settings.py": {"RAG_*", "RAG_APP_*"}}


def _is_environ(node: ast.AST) -> bool:
    """``os.environ``, or a mapping named ``environ`` (a function's ``environ=None`` argument, defaulting to it)."""
    return (isinstance(node, ast.Attribute) and node.attr == "environ" and isinstance(node.value, ast.Name)
            and node.value.id == "os") or (isinstance(node, ast.Name) and node.id == "environ")


def _keys(tree: ast.AST):
    """The key expression of every read of the environment in ``tree``: ``os.environ.get(k)``, ``os.environ[k]``,
    ``k in os.environ``, ``os.getenv(k)`` (and the same on a mapping named ``environ``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            f = node.func
            if isinstance(f, ast.Attribute) and f.attr in ("get", "pop", "setdefault") and _is_environ(f.value):
                yield node.args[0]
            elif isinstance(f, ast.Attribute) and f.attr == "getenv" and isinstance(f.value, ast.Name) \
                    and f.value.id == "os":
                yield node.args[0]
        elif isinstance(node, ast.Subscript) and _is_environ(node.value):
            yield node.slice
        elif isinstance(node, ast.Compare) and any(_is_environ(c) for c in node.comparators):
            yield node.left


def _constants() -> dict[str, str]:
    """Module-level ``NAME = "text"`` of every source, when no two modules give the name different texts (how a
    variable's name is kept in a constant, such as ``TOKEN_ENV``)."""
    found: dict[str, set[str]] = {}
    for path in SOURCES:
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                    and isinstance(node.value.value, str):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        found.setdefault(target.id, set()).add(node.value.value)
    return {name: values.pop() for name, values in found.items() if len(values) == 1}


def environment_reads() -> dict[str, set[str]]:
    """Variable name (or ``PREFIX*`` for a name built by an f-string) -> the files of rag/, ui/ and app.py reading it.

    Raises:
        AssertionError: a read whose variable cannot be told from the source.
    """
    constants, reads, unknown = _constants(), {}, []
    for path in SOURCES:
        rel = path.relative_to(ROOT).as_posix()
        for key in _keys(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                name = key.value
            elif isinstance(key, ast.Name) and key.id in constants:
                name = constants[key.id]
            elif isinstance(key, ast.JoinedStr) and key.values and isinstance(key.values[0], ast.Constant):
                name = key.values[0].value + "*"
            else:
                unknown.append(f"{rel}:{key.lineno}: {ast.unparse(key)}")
                continue
            reads.setdefault(name, set()).add(rel)
    assert not unknown, f"environment reads whose variable the source does not name: {unknown}"
    return reads


def test_every_variable_read_in_the_code_is_in_the_table():
    reads = environment_reads()
    table = {row[0] for row in configuration.rows()}
    assert {"RAG_OCR", "RAG_MAX_PAGES", "RAG_MILVUS_TOKEN", "SPACE_ID", "GRADIO_SERVER_PORT"} <= set(reads)
    patterns = {name: files for name, files in reads.items() if name.endswith("*")}
    for name, files in patterns.items():
        assert all(name in PATTERNS.get(f, ()) for f in files), (name, files)
    missing = {name: sorted(files) for name, files in reads.items() if name not in table and name not in patterns}
    assert missing == {}, f"read but not in docs/configuration.md (declare them in docs/configuration.py): {missing}"


def test_the_variables_read_outside_the_dataclasses_are_read_where_the_table_says():
    reads = environment_reads()
    for name, _, _, files in configuration.OTHERS:
        assert reads.get(name) == set(files), (name, reads.get(name), files)


def test_the_milvus_token_stays_a_secret_of_the_environment():
    assert "milvus_token" not in Settings.__dataclass_fields__
    assert any(name == "RAG_MILVUS_TOKEN" and "secret" in meaning for name, _, meaning, _ in configuration.rows())


@pytest.mark.slow  # a fresh interpreter imports the app
def test_importing_the_page_reads_no_variable():
    """ui.layout builds nothing from the environment when imported: bad values there do not matter until start."""
    assert not list(_keys(ast.parse((ROOT / "ui" / "layout.py").read_text(encoding="utf-8"))))
    env = dict(os.environ, RAG_APP_CONCURRENCY="abc", RAG_UPLOAD_MAX_BYTES="abc", GRADIO_ANALYTICS_ENABLED="False")
    done = subprocess.run([sys.executable, "-c", "import ui.layout, app"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]


# --------------------------------------------------------------------------- AppSettings
def test_app_settings_defaults_are_the_app_s_limits():
    s = AppSettings()
    assert (s.concurrency, s.queue_size, s.max_body, s.max_upload, s.temp_budget, s.per_session, s.per_ip) == (
        4, 128, 64 * 1024, 0, 256 * MIB, 2, 8)
    assert s.upload_request(Settings()) == Settings().upload_max_bytes + MIB  # one file of « Mes documents »
    assert s.upload_request(Settings(uploads="off")) == MIB
    assert AppSettings(max_upload=5000).upload_request(Settings()) == 5000


def test_app_settings_from_the_environment_then_overrides():
    env = {"RAG_APP_CONCURRENCY": "2", "RAG_APP_QUEUE_SIZE": " 16 ", "RAG_APP_PER_IP": "0", "RAG_APP_OTHER": "x",
           "RAG_CONCURRENCY": "9"}
    s = AppSettings.from_env(env, per_session=0, max_body=None)
    assert (s.concurrency, s.queue_size, s.per_ip, s.per_session, s.max_body) == (2, 16, 0, 0, 64 * 1024)
    assert AppSettings.from_env({}) == AppSettings()


@pytest.mark.parametrize("name, raw, message", [
    ("RAG_APP_CONCURRENCY", "abc", "RAG_APP_CONCURRENCY='abc' is not a whole number"),
    ("RAG_APP_CONCURRENCY", "0", "concurrency (RAG_APP_CONCURRENCY) must be a whole number of at least 1, got 0"),
    ("RAG_APP_QUEUE_SIZE", "2.5", "RAG_APP_QUEUE_SIZE='2.5' is not a whole number"),
    ("RAG_APP_MAX_BODY", "", "RAG_APP_MAX_BODY='' is not a whole number"),
    ("RAG_APP_TEMP_BUDGET", "0", "temp_budget (RAG_APP_TEMP_BUDGET) must be a whole number of at least 1, got 0"),
    ("RAG_APP_PER_IP", "-1", "per_ip (RAG_APP_PER_IP) must be a whole number >= 0, got -1"),
    ("RAG_APP_MAX_UPLOAD", "-5", "max_upload (RAG_APP_MAX_UPLOAD) must be a whole number >= 0, got -5"),
])
def test_a_bad_value_names_its_variable(name, raw, message):
    with pytest.raises(ValueError) as info:
        AppSettings.from_env({name: raw})
    assert str(info.value) == message


@pytest.mark.parametrize("value", [True, 2.0, "4", None])
def test_a_field_of_another_type_is_refused(value):
    with pytest.raises(ValueError, match="concurrency"):
        AppSettings(concurrency=value)


# --------------------------------------------------------------------------- the app reads them once, at start
@pytest.mark.parametrize("env, message", [
    ({"RAG_APP_CONCURRENCY": "abc"}, "error: RAG_APP_CONCURRENCY='abc' is not a whole number"),
    ({"RAG_APP_CONCURRENCY": "0"}, "error: concurrency (RAG_APP_CONCURRENCY) must be a whole number of at least 1"),
    ({"RAG_APP_PER_SESSION": "-2"}, "error: per_session (RAG_APP_PER_SESSION) must be a whole number >= 0"),
    ({"RAG_CHUNK_TOKENS": "many"}, "error: RAG_CHUNK_TOKENS='many' is not a valid int"),
    ({"GRADIO_SERVER_PORT": "http"}, "error: GRADIO_SERVER_PORT='http' is not a port number"),
])
def test_the_app_stops_at_start_with_one_line_naming_the_variable(monkeypatch, capsys, env, message):
    import app

    loaded = []
    monkeypatch.setattr(app.Retriever, "from_settings", lambda *a, **k: loaded.append(a))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as info:
        app.main()
    err = capsys.readouterr().err
    assert info.value.code == 2 and not loaded  # before the index is loaded
    assert err.startswith(message) and err.count("\n") == 1 and "Traceback" not in err, err


@pytest.mark.slow
def test_the_real_app_process_stops_with_one_line():
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", RAG_APP_CONCURRENCY="abc")
    done = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.endswith("\nerror: RAG_APP_CONCURRENCY='abc' is not a whole number\n") or \
        done.stderr == "error: RAG_APP_CONCURRENCY='abc' is not a whole number\n", done.stderr[-2000:]
    assert "Traceback" not in done.stderr


def test_an_index_that_fails_to_load_in_its_thread_stops_the_app_with_that_error(monkeypatch):
    """``serve`` loads the index in a thread while Gradio is imported: what goes wrong there is raised in the main
    thread, as when the index loaded first, and nothing is served."""
    import app

    def fail(*args, **kwargs):
        raise OSError("the index folder is not readable")

    monkeypatch.setattr(app.Retriever, "from_settings", fail)
    served = []
    monkeypatch.setattr("ui.layout.launch", lambda *a, **k: served.append(a))
    with pytest.raises(OSError, match="not readable"):
        app.serve(Settings(), AppSettings(), {})
    assert not served


def test_read_settings_reads_the_address_too():
    import app

    settings, app_settings, address = app.read_settings({"GRADIO_SERVER_NAME": "0.0.0.0", "GRADIO_SERVER_PORT": "7861",
                                                         "RAG_APP_QUEUE_SIZE": "3", "RAG_UPLOADS": "off"})
    assert settings.uploads == "off" and app_settings.queue_size == 3
    assert address == {"server_name": "0.0.0.0", "server_port": 7861}
    assert app.read_settings({})[2] == {"server_name": None, "server_port": None}


@pytest.mark.slow  # builds the tiny index
def test_build_app_and_launch_take_the_app_settings(tiny_retriever, monkeypatch):
    from ui import guard, layout

    demo = layout.build_app(tiny_retriever, AppSettings(concurrency=3, queue_size=7, max_body=1000, per_ip=0))
    assert demo._queue.default_concurrency_limit == 3 and demo._queue.max_size == 7
    seen = {}
    monkeypatch.setattr(demo, "launch", lambda **kw: seen.update(kw))
    layout.launch(demo, server_name="127.0.0.1")
    limits = seen["app_kwargs"]["middleware"][-1].kwargs["limits"]
    upload = tiny_retriever.settings.upload_max_bytes + MIB  # from the retriever's settings
    assert limits == guard.Limits(max_body=1000, max_upload=upload, temp_budget=256 * MIB, per_session=2, per_ip=0)
    assert seen["max_file_size"] == upload
    # launch's own app settings, or its limits, come first
    layout.launch(demo, app_settings=AppSettings(max_upload=12345))
    assert seen["max_file_size"] == 12345
    layout.launch(demo, limits=guard.Limits(max_upload=99))
    assert seen["max_file_size"] == 99
    # without app settings, build_app reads them when called; its keyword arguments override them
    monkeypatch.setenv("RAG_APP_QUEUE_SIZE", "5")
    other = layout.build_app(tiny_retriever, concurrency=1)
    assert other._queue.default_concurrency_limit == 1 and other._queue.max_size == 5
    assert other.app_settings == AppSettings(concurrency=1, queue_size=5)


def test_the_readme_limits_are_the_code_defaults():
    """The README's table of a public Space's limits says the defaults the code has."""
    import re

    from corpora import ROOT

    rows = re.findall(r"^\| `(RAG_[A-Z_]+)` \| (\d+) \|", (ROOT / "README.md").read_text(encoding="utf-8"), re.M)
    assert len(rows) >= 15
    engine, app = Settings(), AppSettings()
    for variable, value in rows:
        if variable.startswith("RAG_APP_"):
            assert getattr(app, variable[len("RAG_APP_"):].lower()) == int(value), variable
        else:
            assert getattr(engine, variable[len("RAG_"):].lower()) == int(value), variable
