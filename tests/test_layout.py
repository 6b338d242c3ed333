"""The library's layout: a pipeline of stage packages a newcomer can read, with no import cycle, no module over
400 lines, nothing reaching into the retriever's private index data, and no list of file names to fingerprint."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from corpora import ROOT

RAG = ROOT / "rag"


def rag_modules() -> dict[str, Path]:
    """Every module of the library by dotted name (a package by its ``__init__``)."""
    out = {}
    for path in sorted(RAG.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The library's modules that ``name`` imports anywhere in its file (functions included)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in known:  # ``import rag.index.build`` names rag.index.build
                t = t.rpartition(".")[0]
            if t and t != name and t != "rag":
                found.add(t)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = rag_modules()
    return {name: imported(name, path, set(modules)) for name, path in modules.items()}


def a_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of ``graph`` (empty when there is none)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[node] = 2
        stack.pop()
        return []

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def test_the_cycle_finder_finds_a_cycle():
    assert a_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert a_cycle({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_in_the_library():
    graph = import_graph()
    assert len(graph) > 40 and sum(map(len, graph.values())) > 80  # the graph was read
    assert a_cycle(graph) == []


def test_the_top_level_shows_the_pipeline_in_at_most_twelve_names():
    names = sorted(p.name for p in RAG.iterdir() if p.name != "__pycache__")
    assert len(names) <= 12, names
    for stage in ("text", "corpus", "embedding", "stores", "index", "retrieval", "answering"):
        assert (RAG / stage / "__init__.py").is_file(), stage


def test_no_module_is_over_400_lines():
    lengths = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in rag_modules().items()}
    assert lengths and {name: n for name, n in lengths.items() if n > 400} == {}


def test_nothing_outside_the_library_reaches_into_private_index_data():
    files = [p for folder in ("ui", "eval", "tests") for p in (ROOT / folder).rglob("*.py")] + [ROOT / "app.py"]
    assert len(files) > 30
    offenders = [f"{p.relative_to(ROOT)}:{n}" for p in files if p.name != "test_layout.py"
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if "._data" in line]
    assert offenders == []


def test_no_module_lists_the_file_names_of_others():
    """What an index depends on is declared by versions (rag.index.versions), never by listing source files."""
    pattern = re.compile(r"""["'][\w/]+\.py["']""")
    modules = rag_modules()
    assert modules
    offenders = [f"{name}: {m.group(0)}" for name, path in modules.items()
                 for m in pattern.finditer(path.read_text(encoding="utf-8"))]
    assert offenders == []


def test_ruff_finds_nothing_under_the_projects_configuration():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-1000:]
