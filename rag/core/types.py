"""Result types: plain frozen data that crosses module borders and serialises to JSON."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class Passage:
    """A retrieved passage.

    ``text`` is the cleaned rendering of exactly the file characters
    ``start:end`` of document ``doc_id``. ``highlights`` are the spans of
    ``text`` (offsets into ``text``) of the sentences that best answer the
    question. A passage of a PDF has the (1-based) ``page`` it starts on,
    ``page_end`` when it ends on another one (else 0), and ``ocr`` when one of
    those pages was read by OCR; ``page`` is 0 for other formats. ``status``
    says what the document is (a key of ``rag.corpus.documents.STATUSES``).
    """

    doc_id: str
    title: str
    section: str
    start: int
    end: int
    text: str
    score: float
    chunk_id: str = ""
    body: str = ""
    date: str = ""
    highlights: tuple[tuple[int, int], ...] = ()
    page: int = 0
    page_end: int = 0
    ocr: bool = False
    status: str = ""


@dataclass(frozen=True)
class Sentence:
    """A sentence quoted verbatim from ``passages[passage]``.

    ``start``/``end`` are file offsets; ``passage_start``/``passage_end`` are
    offsets into that passage's ``text``; ``phrases``, offsets into ``text`` of
    what answers in it (the date, number or name asked for: ``rag.answering.phrases``).
    """

    text: str
    passage: int
    start: int
    end: int
    score: float
    passage_start: int = 0
    passage_end: int = 0
    phrases: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Explanation:
    """Why a passage of an answer was returned: the signals that ranked it (``rag.answering.explain``).

    Ranks are 1-based among the ``pool`` candidates the ranker weighed (0: that side did not rank the passage;
    for keywords, no word of the question is in it). ``rank`` is the passage's place in the answer,
    ``fused_rank`` its rank by the fused score before the per-document cap. ``words`` are the question's words
    found in the passage by the keyword analyser. ``has_type`` says whether the sentence shown for the passage (the
    quoted one, else the one highlighted) carries the expected ``answer_type`` (``None``: a type no sentence is
    checked for). ``docs`` is the document filter in force (empty: every document). ``note_weight`` is, for a
    footnote ranked by hybrid search, what its score counted for against a passage of the body (0: not weighed).
    ``answer_first``: the passage holding the first quoted sentence was moved to the top of this answer's passages
    (``rag.answering.shown``), which moved the ones before it down by one. ``unnamed`` are the countries the
    question names that the passage does not, and ``country_weight`` what its score counted for then (0: it names
    them, or the question names none).
    """

    passage: int
    rank: int
    fused_rank: int
    pool: int
    mode: str
    dense: float
    dense_rank: int
    sentence: float
    sentence_rank: int
    keyword: float
    keyword_rank: int
    words: tuple[str, ...] = ()
    answer_type: str = "other"
    has_type: bool | None = None
    quoted: bool = False
    docs: tuple[str, ...] = ()
    note_weight: float = 0.0
    unnamed: tuple[str, ...] = ()
    country_weight: float = 0.0
    answer_first: bool = False


@dataclass(frozen=True)
class Answer:
    """What ``Retriever.answer`` returns: an extractive answer, or an honest decline.

    ``status`` is ``answered`` (``sentences`` quote the answer), ``related`` (the
    passages are about the question's topic but no sentence answers it) or
    ``off_topic`` (nothing in the corpus is close); ``abstained`` is
    ``status != "answered"``. ``confidence`` is the calibrated probability that the
    first quoted sentence (or, when declining, the best candidate) answers;
    ``level`` is its label (``high``, ``medium``, ``low``) and ``level_note`` what the label means (« juste 8 fois
    sur 10 sur nos questions de test »: how often answers so labelled were right); ``topic`` the
    probability that the corpus is about the question. ``message`` is the fixed
    French sentence shown when declining; ``answer_type`` the type the question
    asks for (``rag.text.question.TYPES``); ``explanations`` say, per passage, the signals
    that ranked it (``rag.answering.explain``).
    """

    question: str
    abstained: bool
    confidence: float
    sentences: tuple[Sentence, ...]
    passages: tuple[Passage, ...]
    mode: str = "hybrid"
    status: str = ""
    level: str = "low"
    level_note: str = ""
    topic: float = 0.0
    message: str = ""
    answer_type: str = "other"
    lang: str = "fr"
    explanations: tuple[Explanation, ...] = ()

    def __post_init__(self) -> None:
        if not self.status:
            object.__setattr__(self, "status", "related" if self.abstained else "answered")
        if self.status not in ("answered", "related", "off_topic"):
            raise ValueError(f"status must be answered, related or off_topic, not {self.status!r}")
        if self.abstained != (self.status != "answered"):
            raise ValueError("abstained must be true exactly when status is not 'answered'")

    def to_dict(self) -> dict:
        """As JSON; a passage of a document without pages has no ``page``/``page_end`` (never 0)."""
        out = dataclasses.asdict(self)
        for p in out["passages"]:
            if not p["page"]:
                del p["page"], p["page_end"]
        return out


@dataclass(frozen=True)
class DocumentInfo:
    """A corpus document as the index knows it (``file``: its file name in the corpus folder; ``pages``:
    for a PDF, the offset where each page starts; ``ocr_pages``: the pages read by OCR; ``symbol``, ``status``,
    ``cite_as``: how it is cited, see ``rag.corpus.documents``)."""

    doc_id: str
    title: str
    body: str
    kind: str
    date: str
    notes: str
    keywords: str
    chars: int
    chunks: int
    file: str = ""
    pages: tuple[int, ...] = ()
    ocr_pages: tuple[int, ...] = ()
    symbol: str = ""
    status: str = ""
    cite_as: str = ""

    def __post_init__(self) -> None:
        for name in ("pages", "ocr_pages"):  # JSON gives lists
            object.__setattr__(self, name, tuple(int(x) for x in getattr(self, name)))
