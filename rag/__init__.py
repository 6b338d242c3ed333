"""Citation-first retrieval over a corpus of documents on the governance of military AI.

    from rag import Retriever
    r = Retriever.from_settings()
    answer = r.answer("Que signifie un contrôle humain significatif ?")
"""

from rag.core.types import Answer, DocumentInfo, Passage, Sentence
from rag.corpus.documents import CorpusError
from rag.index.build import build_index
from rag.retrieval.request import MAX_K, MAX_QUESTION_CHARS, QueryError
from rag.retriever import Retriever
from rag.settings import MODES, AppSettings, Settings
from rag.stores.base import IndexProblem

__all__ = [
    "Answer", "AppSettings", "CorpusError", "DocumentInfo", "IndexProblem", "MAX_K", "MAX_QUESTION_CHARS", "MODES",
    "Passage", "QueryError", "Retriever", "Sentence", "Settings", "build_index",
]
