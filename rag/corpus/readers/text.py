"""Markdown and plain text: the file's own characters, exactly as stored (offsets are file offsets)."""

from __future__ import annotations

import codecs

from rag.corpus.readers import ReadError, ReadResult

# Byte-order marks of the Unicode encodings read besides UTF-8 (UTF-32's first: UTF-32 LE starts like UTF-16 LE).
BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"), (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
        (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"), (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"))


def unicode_bom(data: bytes) -> tuple[bytes, str, str] | None:
    """``(mark, codec, name)`` of the UTF-16 or UTF-32 byte-order mark ``data`` starts with, else None."""
    return next((entry for entry in BOMS if data.startswith(entry[0])), None)


def looks_utf16(data: bytes) -> bool:
    """Whether ``data`` (no byte-order mark) looks like UTF-16 text: one byte of two NUL, as Latin letters give."""
    half = len(data) // 2
    return half >= 2 and max(data[0:2 * half:2].count(0), data[1:2 * half:2].count(0)) >= 0.9 * half


def decode(data: bytes) -> str:
    """The file's text, without newline translation: UTF-8, or UTF-16 or UTF-32 with a byte-order mark (the mark
    itself is not text; offsets are then those of the decoded characters).

    Raises:
        ReadError: the file is empty, binary, or in another encoding (the message says which, and what to do).
    """
    bom = unicode_bom(data)
    if bom is not None:
        mark, codec, name = bom
        try:
            text = data[len(mark):].decode(codec)
        except UnicodeDecodeError as exc:
            raise ReadError(f"damaged {name} text (byte {exc.start})") from None
        if not text.strip():
            raise ReadError("empty file")
        return text
    if b"\x00" in data:
        if looks_utf16(data):
            raise ReadError("UTF-16 text without a byte-order mark: save it as UTF-8")
        raise ReadError("binary file (NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReadError(f"not UTF-8 text (byte {exc.start}): save it as UTF-8") from None
    if not text.strip():
        raise ReadError("empty file")
    return text


def read(data: bytes) -> ReadResult:
    """A ``.md`` or ``.txt`` file (its title comes from its first heading, found by ``rag.corpus.documents``)."""
    return ReadResult(decode(data))
