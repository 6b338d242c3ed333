"""Structure-aware chunking: sections of a clean document cut to the embedder's size.

Chunks never cross a heading: each section's paragraphs are split with
langchain's ``RecursiveCharacterTextSplitter`` (paragraphs, then lines, then
sentences, then words), sized in the embedder's own tokens. A chunk's id is
derived from its document and file offsets, so it is stable across rebuilds
of an unchanged corpus.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Callable

from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.text.cleaning import CleanDoc
from rag.text.sentences import sentence_spans, strip_span

# Where chunks are cut and what they hold; raise it whenever that changes (an index records it:
# rag.index.versions).
CHUNKING_VERSION = 1

SEPARATORS = [r"\n\n", r"\n", r"(?<=[.!?…»;])\s+", r"(?<=,)\s+", r"\s+", ""]
# No chunk is longer than this many tokens, whatever its headings: e5 reads 512. (Headings folded into the
# passage after them may take a chunk past ``chunk_tokens``, never past this.)
MAX_CHUNK_TOKENS = 512


@dataclass(frozen=True)
class Chunk:
    """A passage of the corpus as stored in the index."""

    chunk_id: str
    doc_id: str
    section: tuple[str, ...]
    clean_start: int  # offsets into the document's clean text
    clean_end: int
    start: int  # offsets into the document file
    end: int
    text: str
    sentences: tuple[tuple[int, int], ...]  # clean-text spans of its sentences


def _sections(doc: CleanDoc) -> list[tuple[tuple[str, ...], int, int]]:
    """Each heading (with the headings right above it) and the paragraphs under it, as clean ranges."""
    runs: list[tuple[tuple[str, ...], int, int]] = []
    open_heading = False  # the last run holds headings only, so far
    for block in doc.blocks:
        if block.kind == "heading":
            if runs and open_heading:
                runs[-1] = (block.section, runs[-1][1], block.end)
            else:
                runs.append((block.section, block.start, block.end))
            open_heading = True
        elif runs and (open_heading or runs[-1][0] == block.section):
            runs[-1] = (runs[-1][0], runs[-1][1], block.end)
            open_heading = False
        else:
            runs.append((block.section, block.start, block.end))
            open_heading = False
    return runs


def _overlapping(doc: CleanDoc, ends: list[int], start: int, end: int):
    """The blocks of ``doc`` that overlap the clean range ``start:end`` (``ends``: each block's end,
    ascending), found by bisection so that a document of many blocks costs no more per chunk."""
    for i in range(bisect.bisect_right(ends, start), len(doc.blocks)):
        block = doc.blocks[i]
        if block.start >= end:
            break
        if block.end > start:
            yield block


def _text_sentences(doc: CleanDoc, start: int, end: int, ends: list[int]) -> list[tuple[int, int]]:
    """Sentences of ``start:end``: each heading is one (« Résolution adoptée … le 24 décembre 2024 » can
    answer a date question; the answer step decides when a short line may be quoted), then the
    sentences of the paragraphs."""
    spans = []
    for block in _overlapping(doc, ends, start, end):
        a, b = max(start, block.start), min(end, block.end)
        if block.kind == "heading":
            a, b = strip_span(doc.text, a, b)
            spans.extend([(a, b)] if b > a else [])
        else:  # a paragraph or a footnote
            spans.extend(sentence_spans(doc.text, a, b))
    return spans


def _attach_headings(doc: CleanDoc, pieces: list[tuple[int, int]], ends: list[int],
                     count_tokens: Callable[[str], int], limit: int = MAX_CHUNK_TOKENS) -> list[tuple[int, int]]:
    """Fold a piece that holds only headings into the piece after it (a title alone is no passage), as long
    as the result stays within ``limit`` tokens; headings that would not fit stay a chunk of their own (a
    document of 3,000 headings gives many short chunks, not one of 35,000 characters)."""
    out: list[tuple[int, int]] = []
    pending: tuple[int, int] | None = None
    for cs, ce in pieces:
        if pending is not None:
            if count_tokens(doc.text[pending[0]:ce]) <= limit:
                cs = pending[0]
            else:
                out.append(pending)
            pending = None
        has_text = any(b.kind != "heading" for b in _overlapping(doc, ends, cs, ce))
        if not has_text:
            pending = (cs, ce)
            continue
        out.append((cs, ce))
    if pending is not None:
        out.append(pending)
    return out


def chunk_document(doc_id: str, doc: CleanDoc, count_tokens: Callable[[str], int],
                   chunk_tokens: int, chunk_overlap: int) -> list[Chunk]:
    """Cut one clean document into chunks of at most ``chunk_tokens`` tokens."""
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_tokens,
        chunk_overlap=chunk_overlap,
        length_function=count_tokens,
        separators=SEPARATORS,
        is_separator_regex=True,
        keep_separator="end",
        strip_whitespace=True,
    )
    chunks: list[Chunk] = []
    ends = [b.end for b in doc.blocks]
    for section, a, b in _sections(doc):
        body = doc.text[a:b]
        pieces: list[tuple[int, int]] = []
        cursor = 0
        for piece in splitter.split_text(body):
            at = body.find(piece, cursor)
            if at < 0:  # the splitter always returns substrings; be safe anyway
                at = body.find(piece)
            cursor = at + 1
            pieces.append((a + at, a + at + len(piece)))
        for cs, ce in _attach_headings(doc, pieces, ends, count_tokens):
            start, end = doc.to_file(cs, ce)
            chunks.append(Chunk(
                chunk_id=f"{doc_id}@{start}-{end}",
                doc_id=doc_id,
                section=section,
                clean_start=cs,
                clean_end=ce,
                start=start,
                end=end,
                text=doc.text[cs:ce],
                sentences=tuple(_text_sentences(doc, cs, ce, ends)),
            ))
    return chunks
