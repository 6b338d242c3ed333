"""What is indexed for each chunk: the text its vector is made from, the text keyword search reads, and the
texts of its sentences (embedded for the best-sentence ranking).

``TEXTS_VERSION`` is part of what an index records (``rag.index.versions``): raise it whenever these texts
change.
"""

from __future__ import annotations

from rag.corpus.documents import Document
from rag.text.chunking import Chunk

TEXTS_VERSION = 1


def dense_text(doc: Document, section: tuple[str, ...], text: str) -> str:
    """What is embedded for a chunk: where it comes from, then its text."""
    source = f"{doc.title} ({doc.body})" if doc.body else doc.title
    return "\n".join([source, " > ".join(section[-2:]), text]) if section else f"{source}\n{text}"


def keyword_text(doc: Document, section: tuple[str, ...], text: str) -> str:
    """What is keyword-indexed for a chunk: the document's names, its section path, its text."""
    return "\n".join([doc.title, doc.body, doc.keywords, " > ".join(section), text])


def sentence_texts(chunks: list[Chunk], by_id: dict[str, Document]) -> tuple[list[str], list[list[int]]]:
    """The texts to embed for the chunks' sentences, and per chunk its rows among them.

    Sentences shared by overlapping chunks are embedded once; each is embedded under its section's leaf title.
    """
    key_row: dict[tuple[str, int, int], int] = {}
    texts: list[str] = []
    rows_of: list[list[int]] = []
    for ch in chunks:
        rows = []
        for a, b in ch.sentences:
            key = (ch.doc_id, a, b)
            if key not in key_row:
                key_row[key] = len(texts)
                local = ch.text[a - ch.clean_start:b - ch.clean_start]
                leaf = ch.section[-1] if ch.section else by_id[ch.doc_id].title
                texts.append(f"{leaf}\n{local}")
            rows.append(key_row[key])
        rows_of.append(rows)
    return texts, rows_of
