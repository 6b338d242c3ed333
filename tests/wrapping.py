"""An embedder that wraps the real one, for tests that must see (or hold back) the questions it embeds."""

from __future__ import annotations


class WrappedEmbedder:
    """Delegates everything to ``inner``; ``on_queries`` runs before each query batch is embedded."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim

    def on_queries(self, texts) -> None:
        """Override: see the texts about to be embedded as queries."""

    def encode_queries(self, texts):
        self.on_queries(texts)
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts, progress=False):
        return self.inner.encode_passages(texts, progress)

    def count_tokens(self, text):
        return self.inner.count_tokens(text)
