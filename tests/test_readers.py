"""The readers (rag.corpus.readers): PDF, Word and web pages built here, with known text on known pages; and every bad
input (encrypted, truncated or mislabelled files, zip bombs, too many pages, scans, odd names) gets its one-line
reason naming the file while the rest of the corpus is read."""

from __future__ import annotations

import io
import re
import zipfile

import pypdfium2 as pdfium
import pytest
from checks import without_the_html_library
from documents import make_docx, make_padded_zip_bomb, make_pdf, make_zip_bomb

from rag.corpus import readers
from rag.corpus.documents import original_file, scan_corpus
from rag.corpus.readers import ReadError, ocr, page_range, page_span
from rag.text.cleaning import clean_document

PAGES = [
    ["Le contrôle humain significatif suppose que l'opérateur comprenne le système d'armes et puisse "
     "interrompre une attaque à tout moment, selon les experts réunis à Genève."],
    ["La Convention sur certaines armes classiques examine la question des systèmes d'armes létaux autonomes "
     "depuis 2014 sans être parvenue à un traité contraignant."],
    ["Le registre international des essais recommandé par le rapport recenserait chaque déploiement de drone "
     "armé autonome et chaque incident.",
     "Les États devraient aussi publier leurs doctrines d'emploi avant la prochaine réunion du groupe."],
    ["La conclusion appelle à un moratoire jusqu'à l'adoption d'un instrument juridique sur l'autonomie."],
]
OUTLINE = {0: [(0, "Introduction")], 1: [(0, "Le cadre juridique")], 2: [(1, "Le registre des essais")],
           3: [(0, "Conclusion")]}


def words(s: str) -> str:
    return " ".join(re.sub(r"[-\s]+", " ", s).split())


def write(folder, files: dict[str, bytes | str]):
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return folder


GOOD_MD = "# Note de référence\n\nLe budget de la défense consacré à l'IA atteindra 1,5 milliard d'euros en 2030.\n"


# ----------------------------------------------------------------------------- PDF


def test_pdf_pages_hold_their_text_and_outline_gives_sections():
    data = make_pdf(PAGES, OUTLINE, title="Rapport sur les drones", author="Commission d'essai",
                    header="Rapport sur les drones — version provisoire", numbers=True)
    r = readers.read("rapport.pdf", data)
    assert (r.title, r.author, r.date) == ("Rapport sur les drones", "Commission d'essai", "2024-03-05")
    assert len(r.pages) == 4 and r.pages[0] == 0 and list(r.pages) == sorted(r.pages)
    bounds = list(r.pages) + [len(r.text)]
    for i, paras in enumerate(PAGES):
        page_text = words(r.text[bounds[i]:bounds[i + 1]])
        for para in paras:
            assert words(para) in page_text, f"page {i + 1} lacks its text"
            at = words(r.text).find(words(para))
            assert at >= 0
        # no other page's text on this page
        for j, other in enumerate(PAGES):
            if j != i:
                assert words(other[0])[:40] not in page_text
    # running header and page numbers left out
    assert "version provisoire" not in r.text
    assert not re.search(r"^\s*\d\s*$", r.text, re.MULTILINE)
    clean = clean_document(r.text)
    sections = {clean.text[b.start:b.end][:30]: b.section for b in clean.blocks if b.kind == "text"}
    assert sections[PAGES[0][0][:30]] == ("Introduction",)
    assert sections[PAGES[1][0][:30]] == ("Le cadre juridique",)
    assert sections[PAGES[2][0][:30]] == ("Le cadre juridique", "Le registre des essais")
    assert sections[PAGES[3][0][:30]] == ("Conclusion",)
    # the printed heading line became the heading (not printed twice)
    assert clean.text.count("Le cadre juridique") == 1


def test_pdf_text_matches_pdfium_page_by_page():
    """Independent of the reader's layout: the words of each page span are the words pdfium finds on that page."""
    data = make_pdf(PAGES, OUTLINE)
    r = readers.read("rapport.pdf", data)
    doc = pdfium.PdfDocument(data)
    bounds = list(r.pages) + [len(r.text)]
    for i in range(len(doc)):
        raw = doc[i].get_textpage().get_text_bounded()
        ours = re.sub(r"^#+ |---", "", r.text[bounds[i]:bounds[i + 1]], flags=re.MULTILINE)
        assert words(ours) == words(raw)


def test_running_headers_go_but_lines_that_open_pages_stay():
    pages = [[f"Article {n}", f"Le texte de l'article {n} dispose que les États déclarent leurs essais au registre."]
             for n in (3, 7, 8, 12)]
    for header in ("Convention fictive sur les essais — 2024", ""):
        r = readers.read("c.pdf", make_pdf(pages, header=header, numbers=True))
        for n in (3, 7, 8, 12):
            assert f"Article {n}\n" in r.text
        assert "Convention fictive" not in r.text and "2024" not in r.text
        assert not re.search(r"^\s*\d+\s*$", r.text, re.MULTILINE)
    r = readers.read("c.pdf", make_pdf([[f"Page {n} du rapport", f"Texte {n}."] for n in range(1, 5)]))
    assert "Page" not in r.text  # a page number moving with the page: a running header


def test_page_span_and_labels():
    pages = (0, 100, 250)
    assert page_span(pages, 0, 10) == (1, 0)
    assert page_span(pages, 90, 120) == (1, 2)
    assert page_span(pages, 100, 250) == (2, 0)  # end is exclusive
    assert page_span(pages, 260, 300) == (3, 0)
    assert page_span((), 5, 10) == (0, 0)
    assert page_range([3, 4, 5, 6, 7]) == "p. 3–7"
    assert page_range([2, 5, 6]) == "p. 2, 5–6"


def test_paragraph_cut_by_a_page_break_is_joined_and_spans_two_pages():
    first = ("Le rapport recommande la création d'un registre international qui recenserait les essais et "
             "les déploiements de systèmes autonomes, ainsi que")
    second = "les incidents survenus pendant leur emploi, afin de mesurer les risques."
    r = readers.read("x.pdf", make_pdf([[first], [second]]))
    clean = clean_document(r.text)
    block = next(b for b in clean.blocks if "registre" in clean.text[b.start:b.end])
    assert words(first + " " + second) in words(clean.text[block.start:block.end])
    start, end = clean.to_file(block.start, block.end)
    assert page_span(r.pages, start, end) == (1, 2)


def test_text_reader_keeps_the_file_exactly():
    raw = "# Titre\r\n\r\nUn texte\u00a0avec des fins de ligne Windows.\r\n"
    assert readers.read("a.md", raw.encode()).text == raw
    assert readers.read("a.txt", raw.encode()).pages == ()


# ----------------------------------------------------------------------------- DOCX and HTML


def test_docx_headings_tables_and_metadata():
    data = make_docx([("Title", "Guide des essais"), ("Heading 1", "Principes"),
                      ("Normal", "Chaque essai d'arme autonome est déclaré au registre avant sa réalisation."),
                      ("Heading 2", "Exceptions"),
                      ("Normal", "Les essais de défense antimissile sont déclarés après coup, sous trente jours."),
                      ("table", "Pays|Essais\nFrance|12")],
                     title="Guide des essais", author="Ministère des armées")
    r = readers.read("guide.docx", data)
    assert (r.title, r.author, r.date) == ("Guide des essais", "Ministère des armées", "2023-11-02")
    clean = clean_document(r.text)
    by_text = {clean.text[b.start:b.end][:20]: b.section for b in clean.blocks if b.kind == "text"}
    assert by_text["Chaque essai d'arme "] == ("Guide des essais", "Principes")
    assert by_text["Les essais de défens"] == ("Guide des essais", "Principes", "Exceptions")
    assert "France | 12" in clean.text


def test_html_main_text_with_headings():
    page = """<html><head><title>Le contrôle humain</title><meta name="author" content="Jeanne Martin">
    <meta name="date" content="2024-05-02"></head><body><nav><a href="/">Accueil</a> <a href="/x">Menu</a></nav>
    <article><h1>Le contrôle humain</h1><p>Le contrôle humain significatif est une notion centrale dans les débats
    sur les armes autonomes à Genève depuis 2014.</p><h2>Les positions</h2><p>Plusieurs États défendent un traité
    contraignant, d'autres préfèrent des lignes directrices volontaires et non contraignantes.</p></article>
    <script>document.write("piège")</script><footer>Mentions légales</footer></body></html>"""
    r = readers.read("page.html", page.encode())
    assert (r.title, r.author, r.date) == ("Le contrôle humain", "Jeanne Martin", "2024-05-02")
    assert "piège" not in r.text and "Accueil" not in r.text
    clean = clean_document(r.text)
    sec = next(b.section for b in clean.blocks if clean.text[b.start:b.end].startswith("Plusieurs"))
    assert sec == ("Le contrôle humain", "Les positions")


# ----------------------------------------------------------------------------- bad input


def test_a_reader_whose_library_is_missing_skips_its_files_and_names_the_library(tmp_path, monkeypatch):
    without_the_html_library(monkeypatch)
    (tmp_path / "note.md").write_text("# Note\n\nLe contrôle humain reste requis.\n", encoding="utf-8")
    (tmp_path / "page.html").write_text("<html><body><p>Une page.</p></body></html>", encoding="utf-8")
    docs, skipped = scan_corpus(tmp_path)
    assert [d.doc_id for d in docs] == ["note"]
    assert skipped == [("page.html", "HTML: the reader's library trafilatura is missing here; install it "
                                     "(pip install -r requirements.txt, or pip install trafilatura)")]


def test_every_bad_input_gets_its_reason_and_the_rest_is_read(tmp_path, monkeypatch):
    monkeypatch.setenv("RAG_OCR", "off")
    good_pdf = make_pdf(PAGES[:2], {0: [(0, "Introduction")]})
    corpus = write(tmp_path / "corpus", {
        "note.md": GOOD_MD,
        "rapport.pdf": good_pdf,
        "chiffre.pdf": make_pdf(PAGES[:1], password="secret"),
        "tronque.pdf": good_pdf[:len(good_pdf) // 2],
        "page-web.pdf": b"<!DOCTYPE html><html><body><p>Ceci n'est pas un PDF.</p></body></html>",
        "bombe.docx": make_zip_bomb(),
        "abime.docx": b"PK\x03\x04 ce fichier n'est qu'un debut d'archive",
        "scripts.html": b"<html><head><script>var a = 1;</script></head><body><script>go()</script></body></html>",
        "enorme.pdf": make_pdf([["p"]] * 2000),
        "scan.pdf": make_pdf([["Page scannée numéro un"], ["Page scannée numéro deux"]], images={0, 1}),
        "retour\nligne.md": GOOD_MD,
        "anti\\slash.md": GOOD_MD,
    })
    docs, skipped = scan_corpus(corpus)
    assert [d.doc_id for d in docs] == ["note", "rapport"]
    reasons = dict(skipped)
    assert len(reasons) == len(skipped) == 10, skipped
    assert reasons["chiffre.pdf"].startswith("encrypted PDF (password protected)")
    assert reasons["tronque.pdf"].startswith("corrupted or truncated PDF")
    assert reasons["page-web.pdf"] == "not a PDF: the file is an HTML page (rename it .html to index it)"
    assert re.match(r"zip bomb: the Word file expands to 150,000,\d{3} bytes from \d{2,3},\d{3} ",
                    reasons["bombe.docx"])
    assert reasons["abime.docx"].startswith("corrupted or truncated Word file")
    assert reasons["scripts.html"] == "no main text in this web page (scripts, styles or navigation only)"
    assert reasons["enorme.pdf"] == "2,000 pages; the limit is 500 (RAG_MAX_PAGES)"
    assert reasons["scan.pdf"].startswith("p. 1–2 : pas de couche texte (PDF scanné")
    assert reasons["retour\\nligne.md"] == "file name holds control characters; rename the file"
    assert reasons["anti\\\\slash.md"] == "file name holds a path separator; rename the file"
    for name, why in skipped:  # one line each, naming the file
        assert "\n" not in name + why


def test_page_limit_is_configurable(tmp_path, monkeypatch):
    write(tmp_path, {"a.pdf": make_pdf(PAGES), "note.md": GOOD_MD})
    monkeypatch.setenv("RAG_MAX_PAGES", "3")
    docs, skipped = scan_corpus(tmp_path)
    assert skipped == [("a.pdf", "4 pages; the limit is 3 (RAG_MAX_PAGES)")]
    monkeypatch.setenv("RAG_MAX_PAGES", "4")
    docs, skipped = scan_corpus(tmp_path)
    assert skipped == [] and {d.doc_id for d in docs} == {"a", "note"}
    monkeypatch.setenv("RAG_MAX_PAGES", "beaucoup")
    with pytest.raises(ValueError, match="RAG_MAX_PAGES must be a positive whole number"):
        scan_corpus(tmp_path)


def test_pages_without_text_layer_are_reported_and_the_rest_indexed(tmp_path, monkeypatch):
    monkeypatch.setenv("RAG_OCR", "off")
    pages = [PAGES[0], ["scan"], ["scan"], ["scan"], PAGES[1]]
    write(tmp_path, {"mixte.pdf": make_pdf(pages, images={1, 2, 3})})
    docs, skipped = scan_corpus(tmp_path)
    assert skipped == [("mixte.pdf", "p. 2–4 : pas de couche texte (ignorées ; OCR : turned off (RAG_OCR=off))")]
    doc = docs[0]
    assert len(doc.pages) == 5 and doc.ocr_pages == ()
    assert words(PAGES[1][0]) in words(doc.text[doc.pages[4]:])


def test_zip_bomb_is_refused_before_it_is_expanded(monkeypatch):
    """The check reads the archive's declared sizes: expanding it is never attempted."""
    import docx as python_docx

    def boom(*a, **k):
        raise AssertionError("the bomb was opened")

    monkeypatch.setattr(python_docx, "Document", boom)
    with pytest.raises(ReadError, match="zip bomb"):
        readers.read("b.docx", make_zip_bomb())
    # one part packed a thousandfold, hidden by a stored random part that keeps the archive's overall ratio low
    padded = make_padded_zip_bomb()
    with zipfile.ZipFile(io.BytesIO(padded)) as zf:
        infos = zf.infolist()
    assert sum(i.file_size for i in infos) < 100_000_000 < 100 * sum(i.compress_size for i in infos)
    with pytest.raises(ReadError, match="zip bomb: the part 'word/document.xml'"):
        readers.read("padded.docx", padded)


def test_original_file_refuses_anything_but_a_corpus_file_name(tmp_path):
    corpus = write(tmp_path / "corpus", {"a.pdf": b"%PDF-1.4 x"})
    (tmp_path / "secret.txt").write_text("secret")
    (corpus / "lien.pdf").symlink_to(tmp_path / "secret.txt")
    assert original_file(corpus, "a.pdf") == b"%PDF-1.4 x"
    from rag import CorpusError

    for name in ("../secret.txt", "/etc/passwd", "..", "", "lien.pdf", "a\n.pdf", "absent.pdf"):
        with pytest.raises(CorpusError):
            original_file(corpus, name)


# ----------------------------------------------------------------------------- OCR


def test_scanned_pages_are_read_by_ocr_when_tesseract_is_installed(monkeypatch):
    monkeypatch.delenv("RAG_OCR", raising=False)
    why = ocr.why_unavailable()
    if why:
        print(f"OCR test skipped: {why}")
        pytest.skip(f"OCR unavailable: {why}")
    data = make_pdf([PAGES[0], ["Le moratoire sur les armes autonomes"]], images={1})
    r = readers.read("scan.pdf", data)
    assert r.ocr_pages == (2,)
    assert r.notes == ("p. 2 : pas de couche texte, lues par OCR",)
    page2 = r.text[r.pages[1]:].lower()
    assert "moratoire" in page2 and "autonomes" in page2


# ----------------------------------------------------------------------------- property

VOCAB = ("le contrôle humain des armes autonomes reste une question ouverte pour les États qui négocient un traité "
         "sur la vérification des essais et le registre des déploiements de drones armés selon la commission").split()


def test_every_sentence_cites_pages_that_hold_it():
    """Random PDFs: every sentence of the clean text, cited through its file offsets, lies on pages whose text
    (as pdfium reads it, independently of the reader) holds it."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from rag.text.sentences import sentence_spans

    sentence = st.lists(st.sampled_from(VOCAB), min_size=3, max_size=40).map(lambda ws: " ".join(ws).capitalize() + ".")
    paragraph = st.lists(sentence, min_size=1, max_size=4).map(" ".join)
    page = st.lists(paragraph, min_size=1, max_size=3)

    @settings(max_examples=25, deadline=None)
    @given(pages=st.lists(page, min_size=1, max_size=5),
           outlined=st.sets(st.integers(0, 4)))
    def check(pages, outlined):
        outline = {i: [(0, f"Partie {i + 1}")] for i in outlined if i < len(pages)}
        data = make_pdf(pages, outline)
        r = readers.read("p.pdf", data)
        doc = pdfium.PdfDocument(data)
        raw = [words(doc[i].get_textpage().get_text_bounded()) for i in range(len(doc))]
        clean = clean_document(r.text)
        for b in clean.blocks:
            if b.kind != "text":
                continue
            for a, z in sentence_spans(clean.text, b.start, b.end):
                fs, fe = clean.to_file(a, z)
                first, last = page_span(r.pages, fs, fe)
                assert 1 <= first <= len(pages) and (last == 0 or first < last <= len(pages))
                held = " ".join(raw[first - 1:last or first])
                assert words(clean.text[a:z]) in held

    check()
