"""Visitors' verdicts (the app's feedback file, ``RAG_FEEDBACK_FILE``) turned into candidate test cases, for review.

    python -m eval.feedback FEEDBACK.jsonl                 # the candidates, as JSON lines, on stdout
    python -m eval.feedback FEEDBACK.jsonl -o cand.jsonl   # written to a file (never the test set itself)

Each candidate has the fields of ``eval/testset.jsonl`` (id, question, lang, answerable, kind, answers) and a
``review`` field saying what a person must check before moving it into the test set by hand:

* « Juste »: the quoted sentences answer: ``answers`` holds them; check that they do.
* « Faux » on an answer: the quote shown is not the answer: ``answers`` is empty, ``not_answers`` holds the wrong
  quotes; find the passage that answers (or make the case unanswerable).
* « Faux » on a decline: the corpus does answer, the visitor says: find the passage (or confirm the decline).
* « Il manque quelque chose »: the expected answer is missing: ``answers`` holds what was shown; add the
  passage that completes it.

Lines that say the same (same question once folded, same verdict, same quotes) are merged into one candidate, their
comments kept (``comments``, ``count``); a question already in the test set is said (``in_testset``). Quotes of
a visitor's own uploaded document (no text in the file) are left out, and a line that quoted only such documents
gives no candidate. Unreadable lines are skipped and counted on stderr.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from pathlib import Path

from rag.text.analysis import looks_english

TESTSET = Path(__file__).resolve().parent / "testset.jsonl"
VERDICTS = ("right", "wrong", "missing")

REVIEW = {
    ("right", True): "Juste : vérifier que les phrases de « answers » répondent bien à la question.",
    ("right", False): "Juste sur un refus : vérifier que le corpus ne répond pas (cas non répondable).",
    ("wrong", True): "Faux : la citation affichée (« not_answers ») ne répond pas ; trouver dans le corpus le "
                     "passage qui répond et le mettre dans « answers », ou marquer le cas non répondable.",
    ("wrong", False): "Faux sur un refus : le corpus répondrait ; trouver le passage qui répond et le mettre dans "
                      "« answers », ou confirmer le refus (answerable false).",
    ("missing", True): "Il manque quelque chose : la réponse attendue manque ; compléter « answers » avec le "
                       "passage qui manque (les phrases affichées y sont déjà).",
    ("missing", False): "Il manque quelque chose sur un refus : la réponse attendue manque ; trouver le passage qui "
                        "répond et le mettre dans « answers ».",
}


def fold(question: str) -> str:
    """A question as compared: accents, case, punctuation and spacing folded away."""
    text = unicodedata.normalize("NFKD", question.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.findall(r"\w+", text))


def corpus_quotes(line: dict) -> list[dict]:
    """The quotes of a feedback line that come from the corpus (a visitor's own document has no text there)."""
    return [{"doc": q["doc"], "quote": q["text"]} for q in line.get("quotes") or []
            if isinstance(q, dict) and isinstance(q.get("doc"), str) and isinstance(q.get("text"), str)
            and q["text"].strip() and not q.get("upload")]


def readable(line) -> bool:
    return (isinstance(line, dict) and isinstance(line.get("question"), str) and line["question"].strip() != ""
            and line.get("verdict") in VERDICTS)


def candidates(lines: list[dict], known: dict[str, str] | None = None) -> tuple[list[dict], dict[str, int]]:
    """Candidate test cases from feedback ``lines`` (merged when they say the same), and counts of what was left
    out. ``known``: folded question → id of the test set's cases."""
    known = known or {}
    merged: dict[tuple, dict] = {}
    counts = {"lines": 0, "unreadable": 0, "uploads_only": 0}
    for line in lines:
        counts["lines"] += 1
        if not readable(line):
            counts["unreadable"] += 1
            continue
        quotes = corpus_quotes(line)
        shown_any = bool(line.get("quotes"))
        if shown_any and not quotes:
            counts["uploads_only"] += 1
            continue
        answered = line.get("outcome") == "answered" and bool(quotes)
        verdict = line["verdict"]
        key = (fold(line["question"]), verdict, tuple((q["doc"], q["quote"]) for q in quotes))
        if key in merged:
            case = merged[key]
            case["count"] += 1
        else:
            question = line["question"].strip()
            case = merged[key] = {
                "id": "", "question": question, "lang": "en" if looks_english(question) else "fr",
                "answerable": not (verdict == "right" and not answered),
                "kind": "factual" if verdict != "right" or answered else "unanswerable_on_topic",
                "answers": quotes if verdict in ("right", "missing") and answered else [],
                "review": REVIEW[(verdict, answered)], "verdict": verdict, "outcome": line.get("outcome"),
                "mode": line.get("mode"), "docs": line.get("docs"), "comments": [], "count": 1}
            if verdict == "wrong" and quotes:
                case["not_answers"] = quotes
            if fold(question) in known:
                case["in_testset"] = known[fold(question)]
        comment = line.get("comment")
        if isinstance(comment, str) and comment.strip() and comment.strip() not in case["comments"]:
            case["comments"].append(comment.strip())
    out = list(merged.values())
    for i, case in enumerate(out, 1):
        case["id"] = f"fb{i:03d}"
    return out, counts


def read_lines(path: Path) -> list:
    """The JSON values of a feedback file, one per non-blank line (an unreadable line gives None)."""
    out = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for raw in fh:
            if not raw.strip():
                continue
            try:
                out.append(json.loads(raw))
            except ValueError:
                out.append(None)
    return out


def known_questions(path: Path) -> dict[str, str]:
    """Folded question → id, for the cases of a test set (none when it cannot be read)."""
    try:
        rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    except (OSError, ValueError):
        return {}
    return {fold(r["question"]): r["id"] for r in rows if isinstance(r, dict) and isinstance(r.get("question"), str)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.feedback", description=__doc__.split("\n\n")[0])
    parser.add_argument("feedback", type=Path, help="the app's feedback file (JSON lines)")
    parser.add_argument("-o", "--out", type=Path, help="write the candidates there (default: stdout)")
    parser.add_argument("--testset", type=Path, default=TESTSET, help="the test set whose questions are flagged")
    args = parser.parse_args(argv)
    if args.out is not None and args.out.resolve() == args.testset.resolve():
        print("refused: the candidates are for review; they are never written into the test set itself",
              file=sys.stderr)
        return 2
    try:
        lines = read_lines(args.feedback)
    except OSError as exc:
        print(f"{args.feedback}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    found, counts = candidates(lines, known_questions(args.testset))
    text = "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in found)
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
    print(f"{len(found)} candidate(s) from {counts['lines']} line(s); {counts['unreadable']} unreadable, "
          f"{counts['uploads_only']} about a visitor's own documents only", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
