"""OCR of PDF pages without a text layer, with the ``tesseract`` command and its French data.

Optional: install it with ``apt-get install tesseract-ocr tesseract-ocr-fra`` (Debian, Ubuntu). Without it,
such pages are skipped and reported. ``RAG_OCR=off`` turns OCR off even when it is installed.
"""

from __future__ import annotations

import functools
import io
import os
import shutil
import subprocess

DPI = 300
LANGUAGES = "fra+eng"
TIMEOUT = 120  # seconds a page


@functools.lru_cache(maxsize=1)
def _languages() -> tuple[str, ...] | str:
    """The languages tesseract knows, or why it cannot run."""
    exe = shutil.which("tesseract")
    if exe is None:
        return "tesseract absent (apt-get install tesseract-ocr tesseract-ocr-fra)"
    try:
        out = subprocess.run([exe, "--list-langs"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"tesseract does not run ({exc.__class__.__name__})"
    langs = tuple(line.strip() for line in (out.stdout + out.stderr).splitlines()[1:] if line.strip())
    if "fra" not in langs:
        return "tesseract without French data (apt-get install tesseract-ocr-fra)"
    return langs


def why_unavailable() -> str:
    """Why OCR cannot run here ("" when it can)."""
    if os.environ.get("RAG_OCR", "").strip().lower() in ("off", "0", "no", "false"):
        return "turned off (RAG_OCR=off)"
    langs = _languages()
    return langs if isinstance(langs, str) else ""


def available() -> bool:
    return not why_unavailable()


def ocr_page(doc, index: int) -> str:
    """The text tesseract reads on page ``index`` of an open ``pypdfium2.PdfDocument`` ("" on failure)."""
    page = doc[index]
    try:
        image = page.render(scale=DPI / 72, grayscale=True).to_pil()
    finally:
        page.close()
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    langs = _languages()
    lang = LANGUAGES if isinstance(langs, tuple) and "eng" in langs else "fra"
    try:
        out = subprocess.run([shutil.which("tesseract") or "tesseract", "stdin", "stdout", "-l", lang],
                             input=buf.getvalue(), capture_output=True, timeout=TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    if out.returncode != 0:
        return ""
    return out.stdout.decode("utf-8", "replace")
