"""The command line: ``python -m rag build | ask | info | add | remove | embed`` (also installed as ``rag``)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import textwrap
import time

from rag.answering.citation import answer_json, citations, page_label
from rag.answering.explain import describe
from rag.answering.extraction import LEVEL_LABELS
from rag.corpus.documents import CorpusError
from rag.index.ingest import add_documents, remove_document
from rag.retrieval.request import MAX_K, QueryError
from rag.retriever import Retriever
from rag.settings import MODES, Settings
from rag.text.followup import read_with


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--corpus", metavar="DIR", help="corpus folder (default: ./corpus, or RAG_CORPUS_DIR)")
    common.add_argument("--index", metavar="DIR", help="index folder (default: ./.index, or RAG_INDEX_DIR)")
    common.add_argument("--embedder", help="'auto', 'bundled', or a sentence-transformers model id or folder")
    common.add_argument("-v", "--verbose", action="store_true", help="log each step (default: warnings only)")
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bars either")

    p = argparse.ArgumentParser(prog="python -m rag", description="Citation-first search over the corpus.")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", parents=[common], help="build the index (even if a valid one exists)")
    b.add_argument("--if-needed", action="store_true", help="only build when no valid index exists")
    a = sub.add_parser("ask", parents=[common], help="answer a question with quoted passages")
    a.add_argument("question")
    a.add_argument("-k", type=int, default=5, help=f"number of passages (1 to {MAX_K}, default 5)")
    a.add_argument("--mode", default="hybrid", choices=MODES, help="search mode (default hybrid)")
    a.add_argument("--doc", action="append", metavar="ID", help="search only this document (repeatable)")
    a.add_argument("--json", action="store_true", help="print the answer as JSON")
    a.add_argument("--explain", action="store_true",
                   help="say under each passage why it was returned (similarity, words found, answer type)")
    a.add_argument("--after", metavar="QUESTION",
                   help="the previous question: a follow-up (« Et la Chine ? », « And when? ») is read with it")
    i = sub.add_parser("info", parents=[common], help="documents, chunks, embedder and index size")
    i.add_argument("--json", action="store_true", help="print as JSON")
    d = sub.add_parser("add", parents=[common], help="copy files into the corpus and index them (only them)")
    d.add_argument("paths", nargs="+", metavar="PATH")
    d.add_argument("--name", metavar="ID", help="document id of the one file added (default: from its name)")
    d.add_argument("--replace", action="store_true", help="replace a document of the same id")
    r = sub.add_parser("remove", parents=[common], help="delete a document from the corpus and the index")
    r.add_argument("doc_id", metavar="DOC_ID")
    e = sub.add_parser("embed", parents=[common], help="embed one shard of the corpus for a later build (no build)")
    e.add_argument("--shard", required=True, metavar="I/N", help="the shard to embed, e.g. 2/4 (1 to N)")
    return p


def _shard(text: str) -> tuple[int, int]:
    try:
        shard, of = (int(x) for x in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard takes I/N (such as 2/4), got {text!r}") from None
    return shard, of


def _wrap(text: str, indent: str = "    ") -> str:
    return textwrap.fill(" ".join(text.split()), 100, initial_indent=indent, subsequent_indent=indent)


def _print_answer(answer, cited, explain: bool = False) -> None:
    wrap = _wrap
    if answer.abstained:
        print(wrap(answer.message, ""))
        print("\nPassages les plus proches (ils ne répondent pas à la question) :\n")
    else:
        note = f" : {answer.level_note}" if answer.level_note else ""
        print("Réponse extraite (confiance %s%s ; %.2f) :" % (LEVEL_LABELS.get(answer.level, answer.level), note,
                                                              answer.confidence))
        for s in answer.sentences:
            print(wrap(f"« {s.text} » [{s.passage + 1}]"))
            if s.phrases:  # what answers in it: the date, number or name asked for (in bold on the page)
                print(wrap("→ " + " ; ".join(s.text[a:b] for a, b in s.phrases), "      "))
        print()
    for n, (p, c) in enumerate(zip(answer.passages, cited), 1):
        page = page_label(p.page, p.page_end, p.ocr)
        print(f"[{n}] {p.title} — {p.section or '(début du document)'}{' — ' + page if page else ''} "
              f"(score {p.score:.4f})")
        print(wrap(p.text))
        if explain and n <= len(answer.explanations):
            print(wrap(f"Pourquoi ce passage ? {describe(answer.explanations[n - 1])}", "    "))
        print(wrap(f"Référence courte : {c.short}", "    "))
        print("    Référence :")
        for line in c.full.split("\n"):
            print(wrap(line, "      "))
        print()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    for noisy in ("faiss", "bm25s"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = Settings.from_env(corpus_dir=args.corpus, index_dir=args.index, embedder=args.embedder)
        if args.command == "build":
            r = Retriever.from_settings(settings, rebuild=not args.if_needed, progress=not args.quiet)
            info = r.info()
            print(f"index: {info['chunks']} chunks of {info['documents']} documents, {info['embedder']}, "
                  f"{info['bytes'] / 1e6:.1f} MB in {info['index']}")
        elif args.command == "ask":
            r = Retriever.from_settings(settings)
            read = read_with(args.question, args.after)
            answer = r.answer(read or args.question, k=args.k, mode=args.mode, docs=args.doc)
            if args.json:
                out = answer_json(r, answer)
                if read:
                    out["typed"] = args.question  # the question as typed; ``question`` is how it was read
                print(json.dumps(out, ensure_ascii=False, indent=2))
            else:
                if read:
                    print(_wrap(f"Compris comme : {read}", "") + "\n")
                _print_answer(answer, citations(r, answer), args.explain)
        elif args.command == "embed":
            from rag.index.build import embed_shard

            shard, of = _shard(args.shard)
            started = time.perf_counter()
            total, now = embed_shard(settings, shard, of, progress=not args.quiet)
            print(f"shard {shard}/{of}: {total} documents, {now} embedded now, {total - now} already, in "
                  f"{time.perf_counter() - started:.1f} s; their vectors are in {settings.index_dir}/embedded/ "
                  "(copy that folder into the index folder that builds)")
        elif args.command in ("add", "remove"):
            started = time.perf_counter()
            if args.command == "add":
                done = add_documents(settings, args.paths, name=args.name, replace=args.replace,
                                     progress=not args.quiet)
            else:
                done = remove_document(settings, args.doc_id, progress=not args.quiet)
            verb = "added" if args.command == "add" else "removed"
            for doc_id, name in zip(done.doc_ids, done.files):
                print(f"{verb} {doc_id} ({name})")
            print(f"index: {done.embedded_chunks} chunks embedded, {done.reused} documents reused, "
                  f"{time.perf_counter() - started:.1f} s")
            for line in done.refused:
                print(f"error: {line}", file=sys.stderr)
            return 2 if done.refused else 0
        else:
            r = Retriever.from_settings(settings)
            info = r.info()
            info["documents"] = [{"doc_id": d.doc_id, "title": d.title, "chunks": d.chunks, "chars": d.chars}
                                 for d in r.documents]
            if args.json:
                print(json.dumps(info, ensure_ascii=False, indent=2))
            else:
                print(f"index     {info['index']} ({info['bytes'] / 1e6:.1f} MB, built {info['created']})")
                print(f"embedder  {info['embedder']}")
                store = info["store"]
                if store["kind"] == "milvus":
                    print(f"store     {store['uri']}: collection {store['collection']}, generation "
                          f"{store['generation']} (vectors and keyword search)")
                else:
                    print(f"store     {info['vector_index']} FAISS index and bm25s, in the index folder")
                print(f"chunks    {info['chunks']} ({info['sentences']} sentences)")
                print("documents")
                for d in info["documents"]:
                    print(f"  {d['doc_id']:40} {d['chunks']:4} chunks  {d['title'][:70]}")
                for s in info["skipped"]:  # files not indexed, and pages left out of (or OCR'd in) a PDF
                    label = "pages    " if s["reason"].startswith("p. ") else "skipped  "
                    print(f"{label} {s['file']}: {s['reason']}")
    except (QueryError, CorpusError, ValueError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file that cannot be copied or deleted
        print(f"error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
