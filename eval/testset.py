"""Loading and validating a retrieval test set (JSON Lines, one case per line).

The format is a contract; any file in it must load::

    {"id": "q001", "question": "...", "lang": "fr"|"en", "answerable": true|false,
     "kind": "...", "answers": [{"doc": "<doc id>", "quote": "<exact text of that document>"}],
     "answer": [{"doc": "<doc id>", "quote": "<shortest span that answers>"}], "type": "date"}

``split`` (``tune`` or ``heldout``) is optional; a case without it is held out.
``answer`` (the shortest verbatim spans that answer, any one counts) and
``type`` (the answer type the question asks for, one of ``ANSWER_TYPES``) are
optional; without ``answer`` the answer step is judged on the ``answers`` quotes.
Any problem stops the load with a :class:`TestSetError` naming the line.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .relevance import normalize

log = logging.getLogger("eval")

LANGS = ("fr", "en")
SPLITS = ("tune", "heldout")
KNOWN_KINDS = ("factual", "definition", "keyword", "paraphrase", "multi_doc",
               "unanswerable_on_topic", "unanswerable_off_topic")
ANSWER_TYPES = ("person", "organisation", "place", "date", "number", "list", "definition", "yesno", "reason", "other")
REQUIRED = {"id": str, "question": str, "lang": str, "answerable": bool, "kind": str, "answers": list}


class TestSetError(ValueError):
    """A test set that cannot be used; ``line`` is 1-based (0: the file as a whole)."""

    __test__ = False  # not a pytest test class

    def __init__(self, path: str | Path, line: int, problem: str) -> None:
        where = f"{path}, line {line}" if line else str(path)
        super().__init__(f"{where}: {problem}")
        self.path = str(path)
        self.line = line
        self.problem = problem


@dataclass(frozen=True)
class GoldAnswer:
    doc: str
    quote: str
    quote_norm: str


@dataclass(frozen=True)
class Case:
    id: str
    question: str
    lang: str
    answerable: bool
    kind: str
    split: str
    answers: tuple[GoldAnswer, ...]
    line: int = 0
    spans: tuple[GoldAnswer, ...] = ()  # the shortest answering spans (``answer``)
    type: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False)


def load_testset(path: str | Path, documents: dict[str, str]) -> list[Case]:
    """Read and check every line of a test set against the corpus.

    Args:
        path: the JSON Lines file.
        documents: the corpus, raw file text by document id.

    Raises:
        TestSetError: on the first bad line (not JSON, not an object, a missing
            or mistyped field, a bad value, a duplicate id, an answerable case
            without answers or an unanswerable one with answers, an unknown
            document, a quote that is not in its document), or when the file is
            missing or holds no case.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise TestSetError(path, 0, "file not found") from None
    except UnicodeDecodeError:
        raise TestSetError(path, 0, "not UTF-8 text") from None
    norm_docs: dict[str, str] = {}
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        cases.append(_parse(path, lineno, line, documents, norm_docs, seen))
    if not cases:
        raise TestSetError(path, 0, "the test set is empty (no case found)")
    unknown = Counter(c.kind for c in cases if c.kind not in KNOWN_KINDS)
    if unknown:
        log.info("test set: kinds outside the usual ones: %s", dict(unknown))
    return cases


def _parse(path: Path, lineno: int, line: str, documents: dict[str, str], norm_docs: dict[str, str],
           seen: dict[str, int]) -> Case:
    def fail(problem: str) -> TestSetError:
        return TestSetError(path, lineno, problem)

    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        raise fail(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(raw, dict):
        raise fail(f"a case must be a JSON object, not {type(raw).__name__}")
    for name, kind in REQUIRED.items():
        if name not in raw:
            raise fail(f"missing field {name!r}")
        if not isinstance(raw[name], kind):
            raise fail(f"field {name!r} must be {_type_name(kind)}, not {type(raw[name]).__name__}")
    cid = raw["id"].strip()
    if not cid:
        raise fail("empty id")
    if cid in seen:
        raise fail(f"duplicate id {cid!r} (first on line {seen[cid]})")
    seen[cid] = lineno
    if not raw["question"].strip():
        raise fail(f"{cid}: empty question")
    if raw["lang"] not in LANGS:
        raise fail(f"{cid}: lang must be one of {LANGS}, not {raw['lang']!r}")
    if not raw["kind"].strip():
        raise fail(f"{cid}: empty kind")
    split = raw.get("split", "heldout")
    if split not in SPLITS:
        raise fail(f"{cid}: split must be one of {SPLITS}, not {split!r}")
    if raw["kind"].startswith("unanswerable") and raw["answerable"]:
        raise fail(f"{cid}: kind {raw['kind']!r} but answerable is true")
    answers_raw = raw["answers"]
    if raw["answerable"] and not answers_raw:
        raise fail(f"{cid}: answerable but no answers")
    if not raw["answerable"] and answers_raw:
        raise fail(f"{cid}: unanswerable but has answers")
    answers = _quotes(answers_raw, "answer", cid, documents, norm_docs, fail)
    spans_raw = raw.get("answer", [])
    if not isinstance(spans_raw, list):
        raise fail(f"{cid}: field 'answer' must be a list")
    if spans_raw and not raw["answerable"]:
        raise fail(f"{cid}: unanswerable but has an answer span")
    spans = _quotes(spans_raw, "answer span", cid, documents, norm_docs, fail)
    kind = raw.get("type", "")
    if kind and kind not in ANSWER_TYPES:
        raise fail(f"{cid}: type must be one of {ANSWER_TYPES}, not {kind!r}")
    if raw["kind"] == "multi_doc" and len({a.doc for a in answers}) < 2:
        raise fail(f"{cid}: a multi_doc case needs answers from at least 2 documents")
    extra = {k: v for k, v in raw.items() if k not in REQUIRED and k not in ("split", "answer", "type")}
    return Case(id=cid, question=raw["question"], lang=raw["lang"], answerable=raw["answerable"], kind=raw["kind"],
                split=split, answers=tuple(answers), line=lineno, spans=tuple(spans), type=kind, extra=extra)


def _quotes(items, label: str, cid: str, documents: dict[str, str], norm_docs: dict[str, str],
            fail) -> list[GoldAnswer]:
    """Check a list of ``{"doc", "quote"}`` objects: known document, quote found in it."""
    out = []
    for n, ans in enumerate(items):
        where = f"{cid} {label} {n + 1}"
        if not isinstance(ans, dict):
            raise fail(f"{where}: must be an object with 'doc' and 'quote'")
        for name in ("doc", "quote"):
            if name not in ans:
                raise fail(f"{where}: missing field {name!r}")
            if not isinstance(ans[name], str):
                raise fail(f"{where}: field {name!r} must be a string")
        doc, quote = ans["doc"], ans["quote"]
        if doc not in documents:
            raise fail(f"{where}: unknown document {doc!r} (known: {', '.join(sorted(documents))})")
        quote_norm = normalize(quote)
        if not quote_norm:
            raise fail(f"{where}: empty quote")
        if quote not in documents[doc]:
            if doc not in norm_docs:
                norm_docs[doc] = normalize(documents[doc])
            if quote_norm not in norm_docs[doc]:
                raise fail(f"{where}: quote not found in {doc}: {quote[:80]!r}")
        out.append(GoldAnswer(doc, quote, quote_norm))
    return out


def _type_name(kind: type) -> str:
    return {str: "a string", bool: "true or false", list: "a list"}.get(kind, kind.__name__)


def select(cases: list[Case], split: str) -> list[Case]:
    """The cases of ``split`` (``tune``, ``heldout`` or ``all``)."""
    if split == "all":
        return list(cases)
    return [c for c in cases if c.split == split]


def describe(cases: list[Case]) -> dict:
    """Counts by language, kind, split and answerability."""
    return {
        "cases": len(cases),
        "answerable": sum(c.answerable for c in cases),
        "lang": dict(Counter(c.lang for c in cases)),
        "kind": dict(Counter(c.kind for c in cases)),
        "split": dict(Counter(c.split for c in cases)),
    }
