"""The app's messages in the visitor's language (French by default), and the message for each engine error code (the
engine speaks English); the strings themselves are in ``ui.strings_messages``."""

from __future__ import annotations

import re
from typing import Sequence

from rag import MAX_K, MAX_QUESTION_CHARS, MODES, QueryError
from ui.i18n import DEFAULT, number, size, text

# The French messages under their former names (the API's and the tests' reference wording).
MSG_EMPTY = text("empty")
MSG_EMPTY_API = text("empty_api")
MSG_NO_DOCS = text("no_docs")
MSG_CUT = text("cut")
MSG_EVICTED = text("evicted")
MSG_CLEARED = text("cleared")
MSG_STALE = text("stale")
MSG_INTERNAL = text("internal")
PARAMETER = {"not_text": "question", "empty": "question", "too_long": "question", "bad_k": "k", "bad_mode": "mode"}


def msg_too_long(n: int, lang: str = DEFAULT) -> str:
    return text("too_long", lang, n=n, limit=MAX_QUESTION_CHARS)


def french(exc: QueryError, documents: Sequence[str] = (), lang: str = DEFAULT) -> str:
    """The message for an engine error, by its code (the engine's own message is English), in ``lang`` (French by
    default: the API's messages are French)."""
    code, detail = getattr(exc, "code", ""), getattr(exc, "detail", "")
    if code == "empty":
        return text("empty_api", lang)
    if code == "too_long":
        return msg_too_long(int(detail) if detail.isdigit() else MAX_QUESTION_CHARS + 1, lang)
    key = f"err_{code}"
    if key not in ("err_not_text", "err_bad_k", "err_bad_mode", "err_bad_docs", "err_no_docs", "err_too_many_docs",
                   "err_unknown_docs"):
        return text("err_invalid", lang)
    return text(key, lang, detail=detail, max_k=MAX_K, modes=", ".join(MODES), known=", ".join(documents))


def mb(n: int, lang: str = DEFAULT) -> str:
    """Bytes in megabytes (« 20 Mo », « 0,5 Mo »; « 20 MB » in English)."""
    return size(n, lang)


def thousands(n: int, lang: str = DEFAULT) -> str:
    return number(int(n), lang)


def upload_limits(settings, lang: str = DEFAULT) -> str:
    """What the « Mes documents » panel says of its limits."""
    return text("upload_limits", lang, size=mb(settings.upload_max_bytes, lang), pages=settings.upload_max_pages,
                chars=thousands(settings.upload_max_chars, lang), files=settings.upload_max_files,
                minutes=max(1, round(settings.upload_ttl / 60)))


UPLOAD_CODES = ("bad_type", "empty", "too_large", "not_format", "unreadable", "not_utf8", "encrypted", "zip_bomb",
                "damaged", "no_text_layer", "too_many_pages", "too_long", "no_text", "too_costly", "too_many", "budget",
                "no_session", "internal", "cancelled")


def french_upload(exc, lang: str = DEFAULT) -> str:
    """The one-line reason an upload was refused, naming the file (``rag.index.uploads.UploadError``), in ``lang``."""
    name = f"« {exc.name} »" if lang != "en" else f"“{exc.name}”"
    detail = exc.detail
    if exc.code == "bad_type" and not detail:
        detail = text("no_extension", lang)
    limit = int(detail) if str(detail).isdigit() else 0
    key = f"up_{exc.code}" if exc.code in UPLOAD_CODES else "up_refused"
    return text(key, lang, name=name, detail=detail, limit=limit, size=mb(limit, lang),
                chars=thousands(limit, lang))


EMBEDDING = re.compile(r"^Calcul des plongements de .* \((\d+)/(\d+)\)$")


def upload_progress(what: str, name: str, lang: str = DEFAULT) -> str:
    """What an upload's progress bar says (the engine's French step, ``rag.index.uploads``) in ``lang``; a step
    this function does not know is shown as the engine wrote it."""
    if lang == "fr":
        return what
    shown = f"“{name}”"
    found = EMBEDDING.match(what)
    if found:
        return text("up_embedding", lang, name=shown, done=found.group(1), total=found.group(2))
    if what.startswith("Lecture de "):
        return text("up_reading", lang, name=shown)
    if what.endswith(" indexé"):
        return text("up_indexed", lang, name=shown)
    return what
