#!/usr/bin/env python3
"""Sanity checker for the hand-made retrieval test set (eval/testset.jsonl).

Standard library only. Usage:
    python3 eval/check_testset.py [path/to/testset.jsonl] [--corpus DIR]

Checks: valid JSON on every line, required fields and types, unique ids,
allowed values for lang/kind/split, answerable cases have >= 1 answer and
unanswerable ones have none, every answer doc exists in the corpus folder,
every quote is an exact substring of its document and does not span a line
break. Prints counts by lang, kind, split and answerable; exits 1 on any
problem. Quote lengths outside 40-250 characters are reported as warnings only.
"""
import argparse
import json
import os
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_TESTSET = os.path.join(HERE, "testset.jsonl")
CORPUS_CANDIDATES = [
    os.path.join(os.path.dirname(HERE), "corpus"),  # the project's own copy, if present
    "/work/main/corpus",
    "/work/shared/corpus",
]

REQUIRED = {
    "id": str,
    "question": str,
    "lang": str,
    "answerable": bool,
    "kind": str,
    "split": str,
    "answers": list,
}
LANGS = {"fr", "en"}
KINDS = {
    "factual", "definition", "keyword", "paraphrase", "multi_doc",
    "unanswerable_on_topic", "unanswerable_off_topic",
}
SPLITS = {"tune", "heldout"}
NOT_DOCUMENTS = {"SOURCES"}


def find_corpus(explicit):
    if explicit:
        return explicit
    for cand in CORPUS_CANDIDATES:
        if os.path.isdir(cand):
            return cand
    return None


def load_corpus(folder):
    docs = {}
    for name in sorted(os.listdir(folder)):
        stem, ext = os.path.splitext(name)
        if ext == ".md" and stem not in NOT_DOCUMENTS:
            with open(os.path.join(folder, name), encoding="utf-8") as fh:
                docs[stem] = fh.read()
    return docs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("testset", nargs="?", default=DEFAULT_TESTSET)
    ap.add_argument("--corpus", default=None, help="corpus folder (default: project corpus/ if present, else /work/shared/corpus)")
    args = ap.parse_args()

    errors, warnings = [], []
    corpus_dir = find_corpus(args.corpus)
    if not corpus_dir or not os.path.isdir(corpus_dir):
        print(f"ERROR: corpus folder not found ({corpus_dir})")
        return 1
    docs = load_corpus(corpus_dir)
    if not docs:
        print(f"ERROR: no .md documents in {corpus_dir}")
        return 1

    cases, seen_ids = [], set()
    with open(args.testset, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                errors.append(f"line {lineno}: empty line")
                continue
            try:
                case = json.loads(line)
            except json.JSONDecodeError as exc:
                errors.append(f"line {lineno}: invalid JSON ({exc})")
                continue
            if not isinstance(case, dict):
                errors.append(f"line {lineno}: not a JSON object")
                continue
            where = f"line {lineno} ({case.get('id', '?')})"
            ok = True
            for field, typ in REQUIRED.items():
                if field not in case:
                    errors.append(f"{where}: missing field '{field}'")
                    ok = False
                elif not isinstance(case[field], typ):
                    errors.append(f"{where}: field '{field}' should be {typ.__name__}")
                    ok = False
            if not ok:
                continue
            extra = set(case) - set(REQUIRED)
            if extra:
                warnings.append(f"{where}: unexpected fields {sorted(extra)}")
            if case["id"] in seen_ids:
                errors.append(f"{where}: duplicate id")
            seen_ids.add(case["id"])
            expected_id = f"q{len(cases) + 1:03d}"
            if case["id"] != expected_id:
                warnings.append(f"{where}: id out of sequence (expected {expected_id})")
            if not case["question"].strip():
                errors.append(f"{where}: empty question")
            if case["lang"] not in LANGS:
                errors.append(f"{where}: bad lang {case['lang']!r}")
            if case["kind"] not in KINDS:
                errors.append(f"{where}: bad kind {case['kind']!r}")
            if case["split"] not in SPLITS:
                errors.append(f"{where}: bad split {case['split']!r}")

            answers = case["answers"]
            if case["answerable"]:
                if not answers:
                    errors.append(f"{where}: answerable but no answers")
                if case["kind"].startswith("unanswerable"):
                    errors.append(f"{where}: kind {case['kind']} but answerable=true")
            else:
                if answers:
                    errors.append(f"{where}: unanswerable but has answers")
                if not case["kind"].startswith("unanswerable"):
                    errors.append(f"{where}: answerable=false but kind {case['kind']}")

            answer_docs = set()
            for k, ans in enumerate(answers):
                aw = f"{where} answer {k}"
                if not isinstance(ans, dict) or not isinstance(ans.get("doc"), str) or not isinstance(ans.get("quote"), str):
                    errors.append(f"{aw}: answer must be an object with string 'doc' and 'quote'")
                    continue
                doc, quote = ans["doc"], ans["quote"]
                answer_docs.add(doc)
                if doc not in docs:
                    errors.append(f"{aw}: unknown doc {doc!r}")
                    continue
                if not quote.strip():
                    errors.append(f"{aw}: empty quote")
                elif quote not in docs[doc]:
                    errors.append(f"{aw}: quote not found verbatim in {doc}: {quote[:80]!r}")
                if "\n" in quote:
                    errors.append(f"{aw}: quote spans a line break")
                if not 40 <= len(quote) <= 250:
                    warnings.append(f"{aw}: quote length {len(quote)} outside 40-250")
            if case["kind"] == "multi_doc" and len(answer_docs) < 2:
                errors.append(f"{where}: multi_doc case needs answers from >= 2 documents")
            cases.append(case)

    def show(title, counter):
        print(f"{title}: " + ", ".join(f"{k}={v}" for k, v in sorted(counter.items(), key=lambda kv: str(kv[0]))))

    n = len(cases)
    print(f"testset: {args.testset}")
    print(f"corpus:  {corpus_dir} ({len(docs)} documents)")
    print(f"cases:   {n}")
    show("lang", Counter(c["lang"] for c in cases))
    show("kind", Counter(c["kind"] for c in cases))
    show("split", Counter(c["split"] for c in cases))
    show("answerable", Counter(c["answerable"] for c in cases))
    show("split x lang", Counter(f"{c['split']}/{c['lang']}" for c in cases))
    doc_counter = Counter(a["doc"] for c in cases for a in c["answers"] if isinstance(a, dict) and "doc" in a)
    show("answers per doc", doc_counter)
    if n:
        print(f"english share: {sum(c['lang'] == 'en' for c in cases) / n:.1%}; "
              f"unanswerable share: {sum(not c['answerable'] for c in cases) / n:.1%}")

    for w in warnings:
        print("WARNING:", w)
    for e in errors:
        print("ERROR:", e)
    if errors:
        print(f"FAILED: {len(errors)} error(s)")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
