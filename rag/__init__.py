"""Citation-first retrieval over a corpus of documents on the governance of military AI.

    from rag import Retriever
    r = Retriever.from_settings()
    answer = r.answer("Que signifie un contrôle humain significatif ?")
"""

import importlib

# Where each public name lives: imported on first use, so that a light part of the package (a reader run in a
# worker process, the settings) does not load the index, the stores and the embedder's libraries.
_HOMES = {
    "Answer": "rag.core.types", "DocumentInfo": "rag.core.types", "Passage": "rag.core.types",
    "Sentence": "rag.core.types", "Explanation": "rag.core.types", "CorpusError": "rag.corpus.documents",
    "build_index": "rag.index.build",
    "MAX_K": "rag.retrieval.request", "MAX_QUESTION_CHARS": "rag.retrieval.request",
    "QueryError": "rag.retrieval.request", "Retriever": "rag.retriever", "MODES": "rag.settings",
    "AppSettings": "rag.settings", "Settings": "rag.settings", "IndexProblem": "rag.stores.base",
}


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")


__all__ = sorted(_HOMES)
