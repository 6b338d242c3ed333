"""Uploads are read in a worker process with a memory and a time limit: a crafted file costs the worker, not the
app, and holds no lock other visitors' files wait on. The hostile files are generated here."""

from __future__ import annotations

import resource
import threading
import time

import pytest

from eval.hostile_files import long_word, one_page_pdf, padded_word, pdf_bomb
from rag.corpus.readers import ReadError, read
from rag.corpus.readers.isolated import TooCostly, TooLong, read_isolated
from rag.index.uploads import Collection, UploadError
from ui.messages import french_upload

LIMITS = {"pages_limit": 500, "max_chars": 100_000, "memory": 1 << 30, "seconds": 30}


SMALL = one_page_pdf(b"BT /F1 12 Tf 72 712 Td (Le sommet adopte une declaration finale.) Tj ET\n")
BOMB = pdf_bomb()


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_a_file_reads_the_same_in_the_worker():
    assert read_isolated("a.pdf", SMALL, **LIMITS) == read("a.pdf", SMALL)
    text = "Une note.\n\nDeux paragraphes, accentués : é, à, œ.\n".encode()
    assert read_isolated("a.md", text, **LIMITS) == read("a.md", text)


def test_the_readers_own_refusals_come_back_as_they_are():
    with pytest.raises(Exception) as worker:
        read_isolated("a.pdf", SMALL[:300], **LIMITS)
    with pytest.raises(Exception) as here:
        read("a.pdf", SMALL[:300])
    assert str(worker.value) == str(here.value) and not isinstance(worker.value, TooCostly)


def test_a_pdf_inflating_to_60_mb_is_stopped_in_its_worker_and_the_app_keeps_its_memory():
    before = peak_mb()
    started = time.perf_counter()
    with pytest.raises(TooCostly) as info:
        read_isolated("piege.pdf", BOMB, **LIMITS)
    assert time.perf_counter() - started < 30
    assert "1,024 MB" in str(info.value)
    assert peak_mb() - before < 300, "the file was parsed in the test's own process"


def test_a_word_file_padded_to_93_mib_of_xml_is_refused_at_once():
    """The probe's file: 1.7 MB holding 93 MiB of ``word/document.xml`` beside a stored random part (parsed in the
    app it took 388 s and 2.7 GB)."""
    padded = padded_word()
    before, started = peak_mb(), time.perf_counter()
    with pytest.raises(ReadError) as info:
        read_isolated("piege.docx", padded, **LIMITS)
    assert time.perf_counter() - started < 30
    assert "zip bomb" in str(info.value) and "word/document.xml" in str(info.value)
    assert peak_mb() - before < 300


def test_a_word_file_of_56_mb_of_varied_text_stops_at_the_character_cap():
    """Under every archive ratio (19 MB on disk), too long to index: the reader stops at the cap instead of
    walking the whole document (which the worker's 30 s would cut: it took that long before)."""
    honest = long_word()
    assert len(honest) < 20_000_000
    started = time.perf_counter()
    with pytest.raises(TooLong):
        read_isolated("long.docx", honest, **LIMITS)
    assert time.perf_counter() - started < 15


def test_a_worker_past_its_time_is_stopped():
    started = time.perf_counter()
    with pytest.raises(TooCostly) as info:
        read_isolated("piege.pdf", BOMB, **{**LIMITS, "memory": 8 << 30, "seconds": 1})
    assert time.perf_counter() - started < 10
    assert "1 s" in str(info.value)


def test_a_text_past_the_character_cap_is_refused_by_the_worker():
    with pytest.raises(TooLong):
        read_isolated("long.md", ("Une phrase du document. " * 5000).encode(), **{**LIMITS, "max_chars": 1000})


def test_another_visitors_small_pdf_does_not_wait_for_the_bomb():
    """No lock one file holds for everyone: while the bomb is read, a small PDF is read in its own worker."""
    bomb = threading.Thread(target=lambda: pytest.raises(TooCostly, read_isolated, "piege.pdf", BOMB, **LIMITS))
    bomb.start()
    time.sleep(0.3)
    started = time.perf_counter()
    assert "declaration finale" in read_isolated("a.pdf", SMALL, **LIMITS).text
    waited = time.perf_counter() - started
    bomb.join()
    assert waited < 3.0, f"the small PDF waited {waited:.1f} s"


def test_an_upload_that_costs_too_much_is_refused_with_a_clear_french_message(tiny_retriever, tmp_path):
    path = tmp_path / "piege.pdf"
    path.write_bytes(BOMB)
    collection = Collection(tiny_retriever)
    with pytest.raises(UploadError) as info:
        collection.add(path, "piege.pdf")
    assert info.value.code == "too_costly"
    message = french_upload(info.value)
    assert "« piege.pdf »" in message and "trop de mémoire ou de temps" in message, message
    assert len(collection) == 0
