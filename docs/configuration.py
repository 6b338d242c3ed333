"""Write docs/configuration.md: every environment variable the project reads, with its default and meaning.

    python -m docs.configuration            # rewrite docs/configuration.md
    python -m docs.configuration --check    # exit 1 when the committed page is not what the code gives now

Names and defaults come from the fields of ``rag.settings.Settings`` (``RAG_<FIELD>``) and ``AppSettings``
(``RAG_APP_<FIELD>``), meanings from the first sentence of each field's entry in the ``Attributes:`` section of the
class docstring. The few variables read outside the two dataclasses are declared in ``OTHERS`` below.
tests/test_configuration.py checks that the page is current and that every variable read in ``rag/``, ``ui/`` and
``app.py`` is in it.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import sys
from pathlib import Path

from rag.corpus.readers import MAX_PAGES
from rag.settings import CALIBRATED, ROOT, AppSettings, Settings
from rag.stores.base import TOKEN_ENV

PAGE = Path(__file__).resolve().parent / "configuration.md"

# Variables read where they are used, not through a dataclass: (name, default, meaning, files that read it).
OTHERS = (
    ("RAG_OCR", "(unset: on)", "`off` (or `0`, `no`, `false`) turns off OCR of scanned PDF pages (tesseract).",
     ("rag/corpus/readers/ocr.py",)),
    ("RAG_MAX_PAGES", f"`{MAX_PAGES}`", "pages read from one PDF at most (a positive whole number).",
     ("rag/corpus/readers/__init__.py",)),
    (TOKEN_ENV, "(empty: none)", "token of a Milvus server (`user:password` or an API key); a secret, read from the "
     "environment only, never a setting, never written to the index.", ("rag/stores/milvus_connection.py",)),
    ("XDG_CACHE_HOME", "`~/.cache`", "the user cache folder, home of builds (`rag-assistant/index/…`) and converted "
     "checkpoints (`rag-assistant/embedders`) unless `RAG_INDEX_DIR` or `RAG_EMBED_CACHE` says otherwise.",
     ("rag/embedding/bundled.py", "rag/settings.py")),
    ("SPACE_ID", "(unset)", "set by Hugging Face on a Space: `RAG_APP_TRUSTED_PROXIES` is then 1 unless set "
     "(the Space's proxy; the client's address for `RAG_APP_PER_IP` is the one it saw, the last of "
     "`X-Forwarded-For`).", ("rag/settings.py",)),
    ("FORWARDED_ALLOW_IPS", "(empty)", "uvicorn's own trust of `X-Forwarded-For`: left empty by the app (unless "
     "set), so that `RAG_APP_TRUSTED_PROXIES` alone decides.", ("ui/guard.py",)),
    ("GRADIO_SERVER_NAME", "`127.0.0.1`", "address the app listens on (Gradio's variable; `0.0.0.0` on a Space).",
     ("app.py",)),
    ("GRADIO_SERVER_PORT", "`7860`", "port the app listens on (Gradio's variable).", ("app.py",)),
    ("NNCF_CI", "`1` (set if unset)", "NNCF's own variable, set by the engine before it compresses the bundled "
     "model's weights to 8 bits (`RAG_INT8_PASSAGES`): NNCF then sends no telemetry, nor tries to.",
     ("rag/embedding/openvino_int8.py",)),
)

HEADER = """# Configuration

<!-- Written by `python -m docs.configuration` from rag/settings.py and docs/configuration.py: do not edit. -->

Every environment variable the project reads. The engine's settings are the fields of `Settings`
(`rag/settings.py`), each read from `RAG_<FIELD>` by `Settings.from_env` (lists as JSON); the command line's
`--corpus`, `--index` and `--embedder` override theirs. The web app's own settings are the fields of
`AppSettings`, read from `RAG_APP_<FIELD>` once when `python app.py` starts. Values are checked when the settings
are made: a bad one stops the command or the app with one line naming it (`error: RAG_APP_CONCURRENCY='abc' is not a
whole number`). The last rows are read where they are used. Each meaning is the first sentence of the field's
entry in its class's docstring, which says more.

| variable | default | meaning | read by |
|---|---|---|---|
"""


def attributes(cls) -> dict[str, str]:
    """Field name -> the first sentence of its entry in the ``Attributes:`` section of ``cls``'s docstring (an
    entry may name several fields: ``a, b: text``; continuation lines are indented deeper)."""
    lines = inspect.cleandoc(cls.__doc__).split("Attributes:\n", 1)[1].splitlines()
    entries: dict[str, str] = {}
    names: list[str] = []
    for line in lines:
        start = re.match(r"    (\w+(?:, \w+)*): (.*)", line)
        if start:
            names = start.group(1).split(", ")
            entries.update({name: start.group(2) for name in names})
        elif line.startswith("        ") and names:
            entries.update({name: entries[name] + " " + line.strip() for name in names})
        else:
            break
    return {name: first_sentence(text) for name, text in entries.items()}


def first_sentence(text: str) -> str:
    """Up to the first full stop outside brackets, with reStructuredText's literals and roles as Markdown's."""
    depth = 0
    for i, c in enumerate(text):
        depth += (c in "([") - (c in ")]")
        if c == "." and depth == 0 and (i + 1 == len(text) or text[i + 1] == " "):
            text = text[:i + 1]
            break
    text = re.sub(r":\w+:`([^`]+)`", r"`\1`", text)
    return text.replace("``", "`")


def shown(name: str, value) -> str:
    """A default as the page shows it: paths inside the checkout relative to it, what empty and fitted mean."""
    if value is None and name in CALIBRATED:
        return "fitted (`calibration_file`)"
    if value == "":
        return "(empty)"
    text = str(value)
    if isinstance(value, str) and text.startswith(str(ROOT)):
        text = "<repository>" + text[len(str(ROOT)):]
    if isinstance(value, int) and any(w in name for w in ("bytes", "budget", "body")) and value % 1024 == 0:
        size = f"{value >> 20} MiB" if value % (1 << 20) == 0 else f"{value >> 10} KiB"
        return f"`{text}` ({size})"
    return f"`{text}`"


def rows() -> list[tuple[str, str, str, str]]:
    """``(variable, default, meaning, read by)`` for every variable, in the order of the page.

    Raises:
        ValueError: a field without an entry in its class's docstring.
    """
    out = []
    for cls, prefix in ((Settings, "RAG_"), (AppSettings, "RAG_APP_")):
        meanings = attributes(cls)
        for f in dataclasses.fields(cls):
            if f.name not in meanings:
                raise ValueError(f"{cls.__name__}.{f.name} has no entry in the Attributes: section of its docstring")
            out.append((prefix + f.name.upper(), shown(f.name, f.default), meanings[f.name],
                        f"`{cls.__name__}.{f.name}`"))
    for name, default, meaning, files in OTHERS:
        out.append((name, default, meaning, ", ".join(f"`{p}`" for p in files)))
    return out


def render() -> str:
    """The Markdown of docs/configuration.md (a ``|`` in a cell escaped)."""
    return HEADER + "".join("| " + " | ".join([f"`{name}`", *(c.replace("|", "\\|") for c in rest)]) + " |\n"
                            for name, *rest in rows())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether the committed page is current")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = PAGE.exists() and PAGE.read_text(encoding="utf-8") == text
        print(f"{PAGE.name} is {'current' if current else 'out of date: run python -m docs.configuration'}")
        return 0 if current else 1
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
