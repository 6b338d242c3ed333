"""Passage vectors from the bundled model with its weights in 8 bits, on OpenVINO: the fast path of a build.

The only module that imports ``openvino`` and ``nncf``. The graph exported for ONNX Runtime
(:mod:`rag.embedding.e5_export`) is read by OpenVINO and its weights compressed to 8 bits, per output channel with a
zero point (NNCF's ``compress_weights``, no calibration data: the result depends on the weights alone), once, into
a folder next to the export (``model.xml`` and ``model.bin``, stamped like it: see :mod:`rag.embedding.stamped`).
On 2 cores of an AMD EPYC it embeds corpus passages about 1.7 times as fast as ONNX Runtime in float32
(``python -m eval.bench``), at a cosine of 0.9998 with the exact vectors; an index built so and searched with exact
query vectors loses at most 0.01 of R@5, MRR@10 and the answer figures against the float32 index on either half of
the test set, R@1 0.021 on the held-out half (``python -m eval.int8_gate``).

Queries are never embedded here: :class:`Int8Passages` embeds passages with OpenVINO and hands everything else to
the exact embedder it wraps. Its id (:func:`int8_name`) differs from the exact one, so that an index never mixes the
two kinds of passage vectors: an update embeds with the live build's own kind, or rebuilds.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import logging
import os
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from rag.core.files import sha256_file
from rag.embedding import stamped
from rag.embedding.bundled import PROBES, RuntimeUnavailable, batches, bundled_name, cores, progress_bar
from rag.embedding.e5_export import PREFIX, ExportFeed
from rag.embedding.e5_export import STAMP as EXPORT_STAMP
from rag.embedding.e5_file import ConversionError

log = logging.getLogger("rag")

COMPRESSOR_VERSION = 1
STAMP = "int8.json"
# Cosine with the exact vectors of PROBES under which the compressed model is not used (measured: 0.9998 at worst on
# corpus passages and on the probes).
INT8_COSINE = 0.999
PASSAGE_BATCH = 16
KIND = "int8-"


def int8_name(source_sha: str) -> str:
    """The id of an index whose passages come from the 8-bit weights and whose queries are exact."""
    return bundled_name(source_sha, "int8-passages")


def installed() -> str | None:
    """Why the 8-bit path cannot be used here (openvino or nncf not installed), or None."""
    missing = [name for name in ("openvino", "nncf") if importlib.util.find_spec(name) is None]
    return f"{' and '.join(missing)} not installed" if missing else None


def int8_folder(export: Path) -> Path:
    return export.with_name(f"{KIND}{export.name}-c{COMPRESSOR_VERSION}")


def wanted(export: Path) -> dict:
    """What the compressed folder is made from: the export (by its stamp's checksum) and the compressor's version."""
    return {"compressor": COMPRESSOR_VERSION, "export_stamp_sha256": sha256_file(export / EXPORT_STAMP)}


def ensure_int8(export: Path) -> Path:
    """The 8-bit model of the ``export`` folder, made once when missing or unsound (a few seconds).

    Raises:
        RuntimeUnavailable: openvino or nncf is missing, or the compressed model's vectors are too far from the exact
            ones.
        ConversionError: the folder cannot be written.
    """
    problem = installed()  # checked even when the folder is there: it is run by OpenVINO
    if problem:
        raise RuntimeUnavailable(problem)
    folder = int8_folder(export)
    want = wanted(export)
    if stamped.stamp_problem(folder, STAMP, want, ("reference",)) is None:
        return folder
    try:
        return stamped.ensure_folder(folder, STAMP, want, lambda tmp: _write(export, tmp), need=("reference",),
                                     kind=KIND, announce=f"compressing the bundled model's weights to 8 bits once "
                                                         f"for building: about 22 MB in {folder}, a few seconds")
    except OSError as exc:
        raise ConversionError(f"cannot write the 8-bit model in {folder.parent}: {exc}") from None


def _write(export: Path, folder: Path) -> dict:
    os.environ.setdefault("NNCF_CI", "1")  # NNCF sends no telemetry (nor tries to: the machine may be offline)
    import nncf
    import openvino as ov

    logging.getLogger("nncf").setLevel(logging.ERROR)  # its warnings only (not nncf.set_log_level: it sets
    # the level of every handler on its logger, which may be shared)
    model = ov.Core().read_model(str(export / "model.onnx"))
    with contextlib.redirect_stdout(io.StringIO()):  # NNCF's progress bar and statistics table
        compressed = nncf.compress_weights(model, mode=nncf.CompressWeightsMode.INT8_ASYM)
    for n, op in enumerate(compressed.get_ordered_ops()):  # names from a per-process counter: made the same here
        op.set_friendly_name(f"{op.get_type_name()}_{n}")
    ov.save_model(compressed, str(folder / "model.xml"), compress_to_fp16=False)
    reference = json.loads((export / EXPORT_STAMP).read_text(encoding="utf-8"))["reference"]
    engine = _Engine(folder, ExportFeed(export))
    got = np.stack([engine.encode([PREFIX[kind] + text])[0] for kind, text in PROBES])
    worst = float(np.min(np.sum(np.asarray(reference["vectors"], np.float32) * got, axis=1)))
    if not worst >= INT8_COSINE:
        raise RuntimeUnavailable(f"the 8-bit model's vectors are too far from the exact ones (cosine {worst:.5f} < "
                                 f"{INT8_COSINE})")
    return {"openvino": ov.__version__, "nncf": nncf.__version__, "reference": {
        "texts": [list(p) for p in PROBES], "cosine_with_exact": worst,
        "vectors": [[float(x) for x in v] for v in got]}}


class _Engine:
    """The compressed model compiled for passage batches: one stream per core, batches dealt to them as they free up
    (each stream runs one batch on one thread), never spinning; fed as ONNX Runtime's graph is (``feed``).

    The calling thread waits for a free stream (``get_idle_request_id``) and reads the finished batch's vectors
    itself: no Python callback runs on OpenVINO's threads. (With ``AsyncInferQueue.set_callback``, a callback
    thread still finishing after ``wait_all`` waited for the GIL while the compiled model, dropped with the GIL
    held, joined that thread: the process hung, as a test run did once.)"""

    def __init__(self, folder: Path, feed: ExportFeed) -> None:
        import openvino as ov

        self._ov = ov
        self.streams = cores()
        self._model = ov.Core().compile_model(str(folder / "model.xml"), "CPU", {
            "PERFORMANCE_HINT": "THROUGHPUT", "NUM_STREAMS": self.streams, "INFERENCE_NUM_THREADS": self.streams,
            "INFERENCE_PRECISION_HINT": "f32"})
        self._feed = feed
        self._lock = threading.Lock()  # one passage run at a time uses the streams

    def encode(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Vectors of ``texts`` (prefixes included), in their order; batches of similar token counts."""
        rows = [self._feed.tokens.fed(t) for t in texts]
        order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
        dim = self._feed.dim
        out = np.empty((len(rows), dim), np.float32)
        with self._lock, progress_bar(len(rows), progress, "embedding") as bar:
            queue, running = self._ov.AsyncInferQueue(self._model, self.streams), {}

            def collect(handle: int) -> None:  # a finished batch: keep its vectors
                batch = running.pop(handle)
                out[batch] = np.asarray(queue[handle].get_output_tensor(0).data, np.float32).reshape(-1, dim)
                bar.update(len(batch))

            for batch in batches(order, PASSAGE_BATCH):
                handle = queue.get_idle_request_id()  # waits for a stream to be free: the next start goes to it
                if handle in running:
                    collect(handle)
                queue.start_async(self._feed.inputs(*self._feed.tokens.padded([rows[i] for i in batch])))
                running[handle] = batch
            queue.wait_all()
            for handle in list(running):
                collect(handle)
        return out


class Int8Passages:
    """An exact embedder whose passages are embedded by the 8-bit model (see the module docstring).

    OpenVINO is loaded at the first passage batch: a serving process that never embeds a passage does not hold it.

    Args:
        exact: the exact embedder (ONNX Runtime's); queries, token counts and the rest are its.
        folder: the 8-bit model (:func:`ensure_int8`).
    """

    def __init__(self, exact, folder: Path) -> None:
        self.exact = exact
        self.folder = folder
        self.name = int8_name(exact.source_sha)
        self.runtime = f"{exact.runtime}+int8"
        self.dim = exact.dim
        self._engine: _Engine | None = None
        self._making = threading.Lock()

    def __getattr__(self, name: str):  # queries, token counts, threads, normalisation: the exact embedder's
        return getattr(self.exact, name)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.exact.encode_queries(texts)

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Passage vectors from the 8-bit model, in the order of ``texts``."""
        with self._making:
            if self._engine is None:
                self._engine = _Engine(self.folder, self.exact.feed)
        with self.exact.pass_under_way():  # a question meanwhile takes the exact embedder's one-thread session
            return self._engine.encode([PREFIX["passage"] + t for t in texts], progress)

    def count_tokens(self, text: str) -> int:
        return self.exact.count_tokens(text)
