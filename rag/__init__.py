"""Citation-first retrieval over a corpus of documents on the governance of military AI.

    from rag import Retriever
    r = Retriever.from_settings()
    answer = r.answer("Que signifie un contrôle humain significatif ?")
"""

from .corpus import CorpusError
from .request import MAX_K, MAX_QUESTION_CHARS, QueryError
from .retriever import Retriever
from .settings import MODES, Settings
from .pipeline import build_index
from .store import IndexProblem
from .types import Answer, DocumentInfo, Passage, Sentence

__all__ = [
    "Answer", "CorpusError", "DocumentInfo", "IndexProblem", "MAX_K", "MAX_QUESTION_CHARS", "MODES", "Passage",
    "QueryError", "Retriever", "Sentence", "Settings", "build_index",
]
