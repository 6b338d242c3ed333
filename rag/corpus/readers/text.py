"""Markdown and plain text: the file's own characters, exactly as stored (offsets are file offsets)."""

from __future__ import annotations

from rag.corpus.readers import ReadError, ReadResult


def decode(data: bytes) -> str:
    """The file's text, without newline translation.

    Raises:
        ReadError: the file is empty, binary or not UTF-8 (the message says which).
    """
    if b"\x00" in data:
        raise ReadError("binary file (NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReadError(f"not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise ReadError("empty file")
    return text


def read(data: bytes) -> ReadResult:
    """A ``.md`` or ``.txt`` file (its title comes from its first heading, found by ``rag.corpus.documents``)."""
    return ReadResult(decode(data))
