"""What an index's contents depend on besides the corpus, the settings and the embedder: the version of each
stage that shapes what is stored, declared by the stage itself.

Each stage raises its version when its output changes: the readers (``READERS_VERSION``), the document fields
(``DOCUMENTS_VERSION``), cleaning (``CLEANING_VERSION``), sentences (``SENTENCES_VERSION``), chunking
(``CHUNKING_VERSION``), the keyword analyser (``ANALYSIS_VERSION``) and the indexed texts (``TEXTS_VERSION``).
A build records them in its manifest; a build of other versions is not served (nor reused by an update). The
embedder is named by its own id (``rag.embedding``), and the files of a build by ``FORMAT_VERSION``
(``rag.index.folder``). Moving or editing code that changes nothing stored changes nothing here:
``tests/test_index_versions.py`` keeps a golden record of the stages' output on fixed documents and fails when
the output changes while these versions do not.
"""

from __future__ import annotations

from rag.corpus.documents import DOCUMENTS_VERSION
from rag.corpus.readers import READERS_VERSION
from rag.index.texts import TEXTS_VERSION
from rag.text.analysis import ANALYSIS_VERSION
from rag.text.chunking import CHUNKING_VERSION
from rag.text.cleaning import CLEANING_VERSION
from rag.text.sentences import SENTENCES_VERSION


def index_versions() -> dict[str, int]:
    """The versions of the stages that shape what an index stores, by stage."""
    return {"readers": READERS_VERSION, "documents": DOCUMENTS_VERSION, "cleaning": CLEANING_VERSION,
            "sentences": SENTENCES_VERSION, "chunking": CHUNKING_VERSION, "keyword_analysis": ANALYSIS_VERSION,
            "indexed_texts": TEXTS_VERSION}


def version_changes(recorded: object) -> list[str]:
    """What differs between ``recorded`` (a manifest's ``versions``) and this code's, as « stage 1 → 2 »."""
    recorded = recorded if isinstance(recorded, dict) else {}
    return [f"{stage} {recorded.get(stage, 'none')} → {version}" for stage, version in index_versions().items()
            if recorded.get(stage) != version]
