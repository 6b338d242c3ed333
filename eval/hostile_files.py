"""Hostile upload files, generated (nothing of the kind is committed): the probe's PDF and Word files.

Used by tests/test_isolated_reader.py and ``python -m eval.load_uploads``.
"""

from __future__ import annotations

import io
import os
import random
import zipfile
import zlib


def one_page_pdf(content: bytes) -> bytes:
    """A PDF of one page whose content stream is ``content``, deflated (a few hundred KB for tens of MB)."""
    stream = zlib.compress(content, 9)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def pdf_bomb() -> bytes:
    """117 KB on disk, one page of 60 MB of drawing operators (read in the app's process: 20 s and 1.6 GB)."""
    return one_page_pdf(b"0 0 1 1 re f\n" * (60_000_000 // 13))


W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
TYPES = ('<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
         '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
         '<Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" '
         'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
RELS = ('<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="word/document.xml"/></Relationships>')


def word_file(paragraphs: list[bytes], padding: int = 0) -> bytes:
    """A .docx whose body is ``paragraphs``, with ``padding`` random bytes stored beside it (which keeps the
    archive-wide expansion ratio low)."""
    body = b"".join(b"<w:p><w:r><w:t>" + p + b"</w:t></w:r></w:p>" for p in paragraphs)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", TYPES)
        z.writestr("_rels/.rels", RELS)
        z.writestr("word/document.xml", f"<w:document {W}><w:body>".encode() + body + b"</w:body></w:document>")
        if padding:
            z.writestr(zipfile.ZipInfo("word/media/pad.bin"), os.urandom(padding), compress_type=zipfile.ZIP_STORED)
    return out.getvalue()


def padded_word() -> bytes:
    """The probe's Word file: 1.7 MB holding 93 MiB of ``word/document.xml`` beside a stored random part (parsed
    in the app's process it took 388 s and 2.7 GB)."""
    return word_file([b"Le sommet adopte une declaration finale."] * 1_300_000, padding=1_400_000)


def long_word() -> bytes:
    """A 19 MB Word file of 56 MB of varied text: under every archive ratio and the size limit, far past the
    character cap."""
    rnd = random.Random(7)
    words = [bytes(rnd.choices(b"abcdefghijklmnopqrstuvwxyz", k=rnd.randint(3, 9))) for _ in range(50_000)]
    return word_file([b" ".join(rnd.choices(words, k=12)) for _ in range(350_000)])
