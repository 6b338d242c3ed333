"""Files built inside the test run: PDFs with known text on known pages (fpdf2), Word files, web pages.

Test modules import these helpers by name (``from documents import make_pdf``).
"""

from __future__ import annotations

import datetime
import io
import zipfile

from fpdf import FPDF

NL = dict(new_x="LMARGIN", new_y="NEXT")


def make_pdf(pages: list[list[str]], outline: dict[int, list[tuple[int, str]]] | None = None,
             title: str = "", author: str = "", date: datetime.datetime | None = None,
             header: str = "", numbers: bool = False, images: set[int] = frozenset(),
             password: str = "", headings: dict[int, str] | None = None) -> bytes:
    """A PDF whose page ``i`` (0-based) prints the paragraphs ``pages[i]``.

    Args:
        outline: per page index, outline entries ``(level from 0, title)``; each title is also printed on
            top of its page, as a heading would be.
        header: a running header printed on top of every page; ``numbers``: a page number at the bottom.
        headings: per page index, a heading printed in bold on top of it, as in the outline but without an
            outline entry (what many PDFs have).
        images: pages (0-based) that hold only an image (a scan: no text layer), whatever ``pages`` says.
        password: encrypt with this user password.
    """
    pdf = FPDF()
    pdf.core_fonts_encoding = "cp1252"  # « », — and ’ in the built-in fonts (no font file needed)
    pdf.set_auto_page_break(False)
    pdf.set_font("Helvetica", size=11)
    pdf.set_creation_date(date or datetime.datetime(2024, 3, 5, tzinfo=datetime.timezone.utc))
    if title:
        pdf.set_title(title)
    if author:
        pdf.set_author(author)
    for i, paragraphs in enumerate(pages):
        pdf.add_page()
        if i in images:
            pdf.image(_scan_image(" ".join(paragraphs) or "Page scannée"), x=10, y=10, w=190)
            continue
        if header:
            pdf.cell(0, 8, header, **NL)
        if i in (headings or {}):
            pdf.set_font("Helvetica", style="B", size=13)
            pdf.cell(0, 9, headings[i], **NL)
            pdf.set_font("Helvetica", size=11)
        for level, heading in (outline or {}).get(i, []):
            pdf.start_section(heading, level=level)
            pdf.set_font("Helvetica", style="B", size=13)
            pdf.cell(0, 9, heading, **NL)
            pdf.set_font("Helvetica", size=11)
        for para in paragraphs:
            pdf.multi_cell(0, 6, para, **NL)
            pdf.ln(3)
        if numbers:
            pdf.set_y(-18)
            pdf.cell(0, 8, str(i + 1), align="C", **NL)
    if password:
        pdf.set_encryption(owner_password=password + "-owner", user_password=password)
    return bytes(pdf.output())


def _scan_image(text: str):
    """A white page image with ``text`` drawn in large type (what a scanner gives: pixels, no text layer)."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (1700, 900), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=48)
    words, lines, line = text.split(), [], ""
    for w in words:
        if len(line) + len(w) > 45:
            lines.append(line)
            line = ""
        line = f"{line} {w}".strip()
    lines.append(line)
    for n, s in enumerate(lines[:12]):
        draw.text((60, 60 + n * 70), s, fill=0, font=font)
    return image


def make_docx(blocks: list[tuple[str, str]], title: str = "", author: str = "") -> bytes:
    """A Word file of ``(style, text)`` blocks: style ``Heading N``, ``Title``, ``Normal`` or ``table`` (text:
    rows separated by ``\\n``, cells by ``|``)."""
    import docx

    document = docx.Document()
    for style, text in blocks:
        if style == "table":
            rows = [r.split("|") for r in text.split("\n")]
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            for r, row in enumerate(rows):
                for c, cell in enumerate(row):
                    table.cell(r, c).text = cell
        else:
            document.add_paragraph(text, style=style)
    document.core_properties.title = title
    document.core_properties.author = author
    document.core_properties.created = datetime.datetime(2023, 11, 2)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def make_zip_bomb(expanded: int = 150_000_000) -> bytes:
    """A ``.docx``-named archive whose one part expands to ``expanded`` bytes of zeros (a few hundred KB packed)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        with zf.open("word/document.xml", "w", force_zip64=True) as fh:
            block = b"\0" * 1_000_000
            for _ in range(expanded // len(block)):
                fh.write(block)
    return buf.getvalue()


def make_padded_zip_bomb(expanded: int = 93 * 2**20, padding: int = 1_500_000) -> bytes:
    """A ``.docx``-named archive kept under the whole-archive checks: one part of ``expanded`` bytes (well under
    the 100 MB total) packed a thousandfold, beside a stored random part of ``padding`` bytes that brings the
    archive's overall ratio under 100."""
    import os

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        with zf.open("word/document.xml", "w", force_zip64=True) as fh:
            block = b" " * 2**20
            for _ in range(expanded // len(block)):
                fh.write(block)
        zf.writestr(zipfile.ZipInfo("word/media/padding.bin"), os.urandom(padding), compress_type=zipfile.ZIP_STORED)
    return buf.getvalue()
