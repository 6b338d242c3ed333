"""Would a reader trained on our questions pick better sentences? ``python -m eval.reader_trial`` measures it.

    python -m eval.reader_trial             # the top 2 layers, 2 epochs (about 10 minutes on 2 cores)
    python -m eval.reader_trial --layers 4  # the top 4 layers (about 20 minutes)

A trial, not part of the engine. On the tune half only (the held-out half is not read), the candidate sentences of
every question are taken as the answer step weighs them (``eval.calibrate.sentence_rows``: the first 5 passages).
The top ``--layers`` layers of the bundled e5 (converted checkpoint, torch) are fine-tuned on the questions of 4
folds of 5 (dealt by question) to put a question's vector nearest its right candidate: a softmax over the question's
candidates, the layers below frozen (their states computed once). The question's held-out fold is then scored by
the tuned layers: ``ft_sim``, the cosine of question and sentence, and ``ft_gap``, its gap to the question's best.
Printed, out of fold: how often each similarity alone puts a right sentence first (among the questions that have
one), and the answer model's figures (``eval.calibrate``'s logistic model, refitted by fold, 3 shuffles of the
folds) without and with the two signals: right sentence ranked first, first quoted sentence right at the threshold
``eval.calibrate`` would choose, answerable questions declined, on-topic unanswerable ones declined, English first
sentence right. Needs torch and transformers (``requirements.txt``).
"""

from __future__ import annotations

import argparse
import copy
import logging
import time
from pathlib import Path

import numpy as np

from rag.answering.extraction import SENTENCE_FEATURES

from .calibrate import FOLDS, HERE, answer_figures, tune_candidates

TEMPERATURE = 0.05


class TopLayers:
    """The states of every text below the top ``layers`` layers of the bundled e5, and a pass through copies of
    those layers (mean pooling and normalisation as the embedder does)."""

    def __init__(self, texts: list[str], layers: int) -> None:
        import torch

        from rag.embedding.torch_runtime import ConvertedE5Embedder

        self.torch = torch
        embedder = ConvertedE5Embedder()
        model, tokens = embedder._model, embedder._tokens
        cut = model.config.num_hidden_layers - layers
        self.layers = [model.encoder.layer[i] for i in range(cut, model.config.num_hidden_layers)]
        self.index = {t: i for i, t in enumerate(texts)}
        self.states: list = [None] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with torch.inference_mode():
            for start in range(0, len(order), 64):
                batch = order[start:start + 64]
                ids, mask = (torch.from_numpy(a) for a in tokens.batch([texts[i] for i in batch]))
                states = model(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states[cut]
                for j, i in enumerate(batch):
                    self.states[i] = states[j, :int(mask[j].sum())].clone()

    def copy(self):
        return self.torch.nn.ModuleList([copy.deepcopy(layer) for layer in self.layers])

    def vectors(self, layers, texts: list[str]):
        torch = self.torch
        rows = [self.states[self.index[t]] for t in texts]
        width = max(len(s) for s in rows)
        h = torch.zeros(len(rows), width, rows[0].shape[1])
        mask = torch.zeros(len(rows), width)
        for j, s in enumerate(rows):
            h[j, :len(s)], mask[j, :len(s)] = s, 1
        additive = (1.0 - mask[:, None, None, :]) * torch.finfo(torch.float32).min
        for layer in layers:
            out = layer(h, attention_mask=additive)
            h = out[0] if isinstance(out, tuple) else out
        pooled = (h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        return torch.nn.functional.normalize(pooled, dim=-1)


def tuned_similarity(rows: list[dict], layers: int, epochs: int, lr: float) -> list[dict]:
    """``ft_sim`` and ``ft_gap`` of every row, each from layers tuned without its question (see the docstring)."""
    by_q: dict[str, list[int]] = {}
    for n, x in enumerate(rows):
        by_q.setdefault(x["id"], []).append(n)
    texts = sorted({"passage: " + x["text"] for x in rows} | {"query: " + x["question"] for x in rows})
    top = TopLayers(texts, layers)
    torch = top.torch
    torch.manual_seed(0)
    ids = sorted(by_q)
    shuffle = np.random.RandomState(0)
    dealt = list(ids)
    shuffle.shuffle(dealt)
    fold = {q: n % FOLDS for n, q in enumerate(dealt)}
    out: list[dict] = [{} for _ in rows]

    def pair(q):
        ns = by_q[q]
        return ns, ["query: " + rows[ns[0]]["question"], *("passage: " + rows[n]["text"] for n in ns)]

    for k in range(FOLDS):
        tuned = top.copy()
        tuned.train()
        optimiser = torch.optim.AdamW(tuned.parameters(), lr=lr, weight_decay=0.01)
        train = [q for q in ids if fold[q] != k and any(rows[n]["right"] for n in by_q[q])]
        started = time.perf_counter()
        for epoch in range(epochs):
            shuffle.shuffle(train)
            total = 0.0
            for q in train:
                ns, texts_q = pair(q)
                v = top.vectors(tuned, texts_q)
                logits = (v[1:] @ v[0]) / TEMPERATURE
                right = torch.tensor([rows[n]["right"] for n in ns])
                loss = torch.logsumexp(logits, 0) - torch.logsumexp(logits[right], 0)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                total += loss.item()
            print(f"  fold {k + 1}/{FOLDS}, epoch {epoch + 1}: loss {total / len(train):.3f} "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
        tuned.eval()
        with torch.inference_mode():
            for q in (q for q in ids if fold[q] == k):
                ns, texts_q = pair(q)
                v = top.vectors(tuned, texts_q)
                sims = (v[1:] @ v[0]).numpy()
                for n, s in zip(ns, sims):
                    out[n] = {"ft_sim": float(s), "ft_gap": float(s - sims.max())}
    return out


def alone(rows: list[dict], key: str, lang: str) -> tuple[float, int]:
    """How often the candidate of highest ``key`` is right, among the ``lang`` questions with a right one."""
    by_q: dict[str, list[dict]] = {}
    for x in rows:
        by_q.setdefault(x["id"], []).append(x)
    picks = [max(xs, key=lambda x: x[key])["right"] for xs in by_q.values()
             if xs[0]["lang"] == lang and any(x["right"] for x in xs)]
    return float(np.mean(picks)), len(picks)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m eval.reader_trial", description=__doc__.split("\n\n")[0])
    p.add_argument("--layers", type=int, default=2, help="top layers tuned (default: %(default)s)")
    p.add_argument("--epochs", type=int, default=2, help="(default: %(default)s)")
    p.add_argument("--lr", type=float, default=5e-5, help="learning rate (default: %(default)s)")
    p.add_argument("--cache", default=str(HERE / ".cache"), help="question vectors' cache")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    rows, topic_threshold = tune_candidates(Path(args.cache))
    print(f"tune half: {len({x['id'] for x in rows})} questions, {len(rows)} candidate sentences")
    for row, extra in zip(rows, tuned_similarity(rows, args.layers, args.epochs, args.lr)):
        row.update(extra)
    print("\nright first among the questions with a right candidate, by one similarity alone")
    for key in ("sim", "ft_sim"):
        print(f"  {key:7}" + "".join(f"  {lang} %.3f (n={n})" % share
                                     for lang in ("fr", "en") for share, n in [alone(rows, key, lang)]))
    print("\nanswer model, out of fold | ranked first | first right | declined | unanswerable declined | "
          "English first right")
    for label, names in (("as shipped", list(SENTENCE_FEATURES)),
                         ("+ ft_sim, ft_gap", [*SENTENCE_FEATURES, "ft_sim", "ft_gap"])):
        print(f"  {label:17}" + "".join(f" | {v:.3f}" for v in answer_figures(rows, topic_threshold, names)))


if __name__ == "__main__":
    main()
