"""The app's French messages, and the French message for each engine error code (the engine speaks English)."""

from __future__ import annotations

from typing import Sequence

from rag import MAX_K, MAX_QUESTION_CHARS, MODES, QueryError

MSG_EMPTY = "Posez une question sur la gouvernance de l'IA militaire, par exemple : « Que signifie un contrôle humain significatif ? »"
MSG_EMPTY_API = "La question est vide."
MSG_NO_DOCS = "Sélectionnez au moins un document dans les options de recherche."
MSG_CUT = ("Question longue : seul son début (« {start} ») a été lu, la limite étant de {tokens} unités de texte "
           "(jetons) du modèle.")
MSG_STALE = ("Index plus ancien que le corpus : des fichiers ont changé depuis sa construction. Les passages "
             "cités sont ceux de l'index ; redémarrez l'application pour le reconstruire.")


def msg_too_long(n: int) -> str:
    return f"Question trop longue : {n} caractères. La limite est de {MAX_QUESTION_CHARS} caractères."


MSG_INTERNAL = "La requête n'a pas pu être traitée (erreur interne) ; réessayez ou reformulez la question."
PARAMETER = {"not_text": "question", "empty": "question", "too_long": "question", "bad_k": "k", "bad_mode": "mode"}


def french(exc: QueryError, documents: Sequence[str] = ()) -> str:
    """The French message for an engine error, by its code (the engine's own message is English)."""
    code, detail = getattr(exc, "code", ""), getattr(exc, "detail", "")
    known = ", ".join(documents)
    return {
        "not_text": "La question doit être du texte.",
        "empty": MSG_EMPTY_API,
        "too_long": msg_too_long(int(detail)) if detail.isdigit() else msg_too_long(MAX_QUESTION_CHARS + 1),
        "bad_k": f"k doit être un nombre entier de 1 à {MAX_K} (reçu : {detail}).",
        "bad_mode": f"Mode de recherche inconnu ({detail}) ; modes possibles : {', '.join(MODES)}.",
        "bad_docs": "docs doit être une liste d'identifiants de documents (ou null pour tous les documents).",
        "no_docs": "docs ne nomme aucun document : donnez au moins un identifiant, ou null pour tous les documents.",
        "too_many_docs": f"docs nomme plus de documents que l'index n'en contient ({detail}).",
        "unknown_docs": f"Document(s) inconnu(s) : {detail}. Documents : {known}.",
    }.get(code, "Requête invalide.")
